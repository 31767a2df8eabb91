/* SPDX-License-Identifier: MIT */
/*
 * The control socket, mcp-proxyctl's way in: a second UNIX socket with the
 * same connections and wire as the fronts' (conn.c), for root and the admin
 * group only, checked by SO_PEERCRED. On it, besides what a front may send
 * (an admin may act as any client id, for `mcp-proxyctl call`), the "ctl"
 * envelope runs one command: status, sessions, session-kill, tools,
 * reload, restart. Answers are one "json" line: 200 {"ok":true,...},
 * 400 or 404 {"ok":false,"error":"..."}. The state comes from the same
 * renderer as /health (state.c).
 */
#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hub/hub.h"
#include "json.h"
#include "log.h"
#include "mcp-limits.h"
#include "socket-util.h"

#define CONTROL_SOCKET_DEFAULT "/run/mcp-proxy-hub/control.sock"
#define ADMIN_GROUP_DEFAULT    "mcp-proxy-admin"

/* ---------------------------------------------------------------- who may connect */

bool control_peer_allowed(struct hub *h, int fd, const struct ucred *cred)
{
        if (cred->uid == 0)
                return true;
        /* Our own user only when everything runs as one user (the hub socket is ours): when
         * fronts run as another, our user is also every stdio server's. */
        if (cred->uid == geteuid())
                return !h->socket_known || h->socket_uid == geteuid();
        return h->admin_gid_known && peer_in_group(fd, cred, h->admin_gid);
}

int control_setup(struct hub *h)
{
        const char *p = getenv("MCP_CONTROL_SOCKET"), *g = getenv("MCP_ADMIN_GROUP");
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -EBADF;
        struct group *gr;
        struct stat st;
        mode_t old;
        int r;

        h->control_fd = -EBADF;
        if (p && !*p) {
                log_info("MCP_CONTROL_SOCKET is empty: no control socket");
                return 0;
        }
        if (!p)
                p = CONTROL_SOCKET_DEFAULT;
        if (!g || !*g)
                g = ADMIN_GROUP_DEFAULT;
        gr = getgrnam(g);
        if (gr) {
                h->admin_gid = gr->gr_gid;
                h->admin_gid_known = true;
        }
        if (strlen(p) >= sizeof(sa.sun_path))
                return log_warning_errno(ENAMETOOLONG, "control socket path '%s' is too long", p);
        strcpy(sa.sun_path, p);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return log_warning_errno(errno, "socket(): %m");
        if (lstat(p, &st) == 0 && S_ISSOCK(st.st_mode)) {
                _cleanup_close_ int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0)
                        return log_warning_errno(EADDRINUSE,
                                                 "another hub has the control socket '%s'", p);
                (void)unlink(p);
        }
        /* Anyone may connect at the file's level; who is served is decided by the peer's
         * credentials (control_peer_allowed()), so the admin group needs no say in the
         * file's group. */
        old = umask(0111);
        r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
        umask(old);
        if (r < 0)
                return log_warning_errno(errno, "cannot bind the control socket '%s': %m", p);
        if (listen(fd, 16) < 0)
                return log_warning_errno(errno, "listen(): %m");
        h->control_path = strdup(p);
        if (!h->control_path) {
                (void)unlink(p);
                return -ENOMEM;
        }
        h->control_fd = TAKE_FD(fd);
        log_info("control socket '%s' for root%s%s%s", p, h->admin_gid_known ? " and group '" : "",
                 h->admin_gid_known ? g : "", h->admin_gid_known ? "'" : "");
        return 0;
}

void control_done(struct hub *h)
{
        h->control_source = sd_event_source_disable_unref(h->control_source);
        if (h->control_fd >= 0) {
                (void)unlink(h->control_path);
                safe_close(h->control_fd);
                h->control_fd = -EBADF;
        }
        free(h->control_path);
        h->control_path = NULL;
}

/* ---------------------------------------------------------------- commands */

static void reply(struct conn *c, int status, cJSON *body)
{
        if (!body) {
                (void)conn_send_json(c, 500, NULL,
                                     cJSON_Parse("{\"ok\":false,\"error\":\"out of memory\"}"));
                return;
        }
        (void)conn_send_json(c, status, NULL, body);
}

static void reply_error(struct conn *c, int status, const char *fmt, ...) _printf_(3, 4);
static void reply_error(struct conn *c, int status, const char *fmt, ...)
{
        cJSON *o = cJSON_CreateObject();
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        log_info("control: %s", msg);
        cJSON_AddFalseToObject(o, "ok");
        cJSON_AddStringToObject(o, "error", msg);
        reply(c, status, o);
}

static cJSON *ok_object(void)
{
        cJSON *o = cJSON_CreateObject();
        if (o)
                cJSON_AddTrueToObject(o, "ok");
        return o;
}

static cJSON *session_json(struct hub *h, const struct session *s, uint64_t now)
{
        cJSON *o = cJSON_CreateObject();
        size_t streams = 0;
        bool connected = false;

        if (!o)
                return NULL;
        for (const struct sse_stream *st = s->streams; st; st = st->next) {
                streams++;
                if (hub_conn_get(h, st->conn_id))
                        connected = true;
        }
        cJSON_AddStringToObject(o, "id", s->id);
        cJSON_AddStringToObject(o, "client", s->client);
        cJSON_AddStringToObject(o, "protocol", s->protocol_version);
        if (s->client_info && json_get_string(s->client_info, "name"))
                cJSON_AddStringToObject(o, "client_name", json_get_string(s->client_info, "name"));
        cJSON_AddNumberToObject(o, "age_seconds",
                                (double)((now - MIN(s->created_usec, now)) / USEC_PER_SEC));
        cJSON_AddNumberToObject(o, "idle_seconds",
                                (double)((now - MIN(s->last_used_usec, now)) / USEC_PER_SEC));
        cJSON_AddNumberToObject(o, "streams", (double)streams);
        cJSON_AddBoolToObject(o, "stream_connected", connected);
        cJSON_AddNumberToObject(o, "subscriptions", (double)s->n_subs);
        cJSON_AddBoolToObject(o, "legacy", s->legacy);
        cJSON_AddBoolToObject(o, "resumed", s->resumed);
        return o;
}

static void cmd_sessions(struct conn *c, const cJSON *args)
{
        struct hub *h = c->hub;
        const char *client = json_get_string(args, "client");
        cJSON *o = ok_object(), *arr = o ? cJSON_AddArrayToObject(o, "sessions") : NULL;
        uint64_t now = now_usec();
        size_t i = 0;
        void *v;

        while (arr && hmap_next(&h->sessions, &i, NULL, &v)) {
                const struct session *s = v;
                /* A 2026-07-28 request's own is no session a client holds. */
                if (s->modern || (client && strcmp(client, s->client) != 0))
                        continue;
                cJSON_AddItemToArray(arr, session_json(h, s, now));
        }
        reply(c, 200, o);
}

/* A whole id, or a prefix of at least 8 characters that names one session. */
static void cmd_session_kill(struct conn *c, const cJSON *args)
{
        struct hub *h = c->hub;
        const char *id = json_get_string(args, "id");
        struct session *found = NULL;
        size_t n = 0, i = 0, len;
        void *v;

        if (!id || (len = strlen(id)) < 8) {
                reply_error(c, 400, "a session id, or at least its first 8 characters, is needed");
                return;
        }
        while (hmap_next(&h->sessions, &i, NULL, &v)) {
                struct session *s = v;
                if (!s->modern && strncmp(s->id, id, len) == 0) {
                        found = s;
                        n++;
                }
        }
        if (n != 1) {
                reply_error(c, n ? 400 : 404,
                            n ? "'%.64s' names %zu sessions: give more of the id"
                              : "no session '%.64s'",
                            id, n);
                return;
        }
        log_notice("control: ending session %.8s... of client '%s' as asked", found->id,
                   found->client);
        {
                cJSON *o = ok_object();
                cJSON_AddItemToObject(o, "session", session_json(h, found, now_usec()));
                session_free(h, found);
                reply(c, 200, o);
        }
}

static void cmd_tools(struct conn *c, const cJSON *args)
{
        struct hub *h = c->hub;
        cJSON *o = ok_object(), *arr = o ? cJSON_AddArrayToObject(o, "tools") : NULL;
        size_t n = catalogue_count(h, LIST_TOOLS);

        const char *client = json_get_string(args, "client");

        for (size_t k = 0; arr && k < n; k++) {
                const struct catalogue_entry *e = catalogue_at(h, LIST_TOOLS, k);
                const char *d = json_get_string(e->obj, "description");
                cJSON *t;
                /* What that client sees: the access rules of the users file. */
                if (client && !access_allow(h, client, USERS_TOOLS, e->server->name, e->key))
                        continue;
                t = cJSON_CreateObject();
                if (!t)
                        break;
                cJSON_AddStringToObject(t, "name", e->key);
                cJSON_AddStringToObject(t, "server", e->server->name);
                if (d)
                        cJSON_AddStringToObject(t, "description", d);
                cJSON_AddItemToArray(arr, t);
        }
        if (client)
                cJSON_AddStringToObject(o, "client", client);
        reply(c, 200, o);
}

static void cmd_reload(struct conn *c)
{
        struct hub *h = c->hub;
        uint64_t id = c->id;
        int r;

        log_notice("control: reload asked");
        r = hub_reload(h);
        if (!(c = hub_conn_get(h, id)))
                return;
        if (r < 0) {
                reply_error(c, 400, "reload failed, the running configuration stays: %s",
                            h->reload_error ? h->reload_error : "unknown error");
                return;
        }
        reply(c, 200, ok_object());
}

static void cmd_restart(struct conn *c, const cJSON *args)
{
        struct hub *h = c->hub;
        const char *name = json_get_string(args, "server");
        uint64_t id = c->id;
        int r;

        if (!name) {
                reply_error(c, 400, "a server name is needed");
                return;
        }
        r = hub_restart_server(h, name);
        if (!(c = hub_conn_get(h, id)))
                return;
        if (r == -ENOENT)
                reply_error(c, 404, "no server '%.200s' in the running configuration", name);
        else if (r < 0)
                reply_error(c, 500, "cannot restart '%.200s': %s", name, strerror(-r));
        else
                reply(c, 200, ok_object());
}

void control_command(struct conn *c)
{
        const char *cmd = json_get_string(c->envelope_json, "cmd");
        const cJSON *args = json_get(c->envelope_json, "args");

        if (!c->control) {
                log_warning("front connection %llu: a control command on the fronts' socket, "
                            "refusing",
                            (unsigned long long)c->id);
                c->close_after = true;
                reply_error(c, 400, "control commands are taken on the control socket only");
                return;
        }
        if (!cmd) {
                reply_error(c, 400, "no command");
                return;
        }
        log_debug("control: %s", cmd);
        if (strcmp(cmd, "status") == 0) {
                cJSON *o = hub_state_json(c->hub, NULL);
                if (o) {
                        cJSON_AddTrueToObject(o, "ok");
                        cJSON_AddNumberToObject(o, "pid", (double)getpid());
                }
                reply(c, 200, o);
        } else if (strcmp(cmd, "sessions") == 0)
                cmd_sessions(c, args);
        else if (strcmp(cmd, "session-kill") == 0)
                cmd_session_kill(c, args);
        else if (strcmp(cmd, "tools") == 0)
                cmd_tools(c, args);
        else if (strcmp(cmd, "reload") == 0)
                cmd_reload(c);
        else if (strcmp(cmd, "restart") == 0)
                cmd_restart(c, args);
        else
                reply_error(c, 400, "unknown command '%.64s'", cmd);
}
