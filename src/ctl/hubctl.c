/* SPDX-License-Identifier: MIT */
/* mcp-proxyctl's verbs that ask the running hub, over its control socket. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "ctl/ctl.h"
#include "json.h"
#include "mcp-limits.h"
#include "proto/wire.h"
#include "socket-util.h"

#define CTL_TIMEOUT_MS 60000

static int write_all(int fd, const char *p, size_t n)
{
        while (n > 0) {
                ssize_t w = write(fd, p, n);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += w;
                n -= (size_t)w;
        }
        return 0;
}

struct link {
        int fd;
        struct buf in;
};

/* One line from the hub (without its '\n'), malloc'd into *ret. */
static int read_line(struct link *l, char **ret)
{
        for (;;) {
                long n = wire_find_line(buf_head(&l->in), buf_avail(&l->in), HUB_MAX_LINE);
                struct pollfd p = {.fd = l->fd, .events = POLLIN};
                char *b;
                ssize_t k;

                if (n < 0)
                        return -E2BIG;
                if (n > 0) {
                        *ret = strndup(buf_head(&l->in), (size_t)n - 1);
                        buf_consume(&l->in, (size_t)n);
                        return *ret ? 0 : -ENOMEM;
                }
                k = poll(&p, 1, CTL_TIMEOUT_MS);
                if (k == 0)
                        return -ETIMEDOUT;
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                b = buf_reserve(&l->in, 65536);
                if (!b)
                        return -E2BIG;
                k = read(l->fd, b, 65536);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -ECONNRESET;
                buf_commit(&l->in, (size_t)k);
        }
}

/* One exchange: the envelope (takes env) and an optional message line; the final reply's
 * header in *ret_header and its payload (parsed) in *ret_body. Event lines are skipped up
 * to the end of a stream (their last payload is kept as the body). */
static int exchange(struct link *l, cJSON *env, const char *message, cJSON **ret_header,
                    cJSON **ret_body)
{
        _cleanup_json_ cJSON *e = env;
        _cleanup_free_ char *line = NULL;
        size_t len;
        int r;

        *ret_header = *ret_body = NULL;
        line = e ? wire_print_line(e, &len) : NULL;
        if (!line)
                return -ENOMEM;
        r = write_all(l->fd, line, len);
        if (r >= 0 && message) {
                r = write_all(l->fd, message, strlen(message));
                if (r >= 0)
                        r = write_all(l->fd, "\n", 1);
        }
        if (r < 0)
                return r;
        for (;;) {
                _cleanup_free_ char *h = NULL, *p = NULL;
                cJSON *hj;
                enum wire_reply t;

                r = read_line(l, &h);
                if (r < 0)
                        return r;
                hj = cJSON_Parse(h);
                if (!hj)
                        return -EBADMSG;
                if (cJSON_IsTrue(json_get(hj, "body"))) {
                        r = read_line(l, &p);
                        if (r < 0) {
                                cJSON_Delete(hj);
                                return r;
                        }
                        cJSON_Delete(*ret_body);
                        *ret_body = cJSON_Parse(p);
                }
                t = wire_reply_from_string(json_get_string(hj, "t"));
                if (t == WIRE_REPLY_SSE || t == WIRE_REPLY_EVENT || t == WIRE_REPLY_TAKEN ||
                    t == WIRE_REPLY_ENDPOINT) {
                        cJSON_Delete(hj);
                        continue;
                }
                cJSON_Delete(*ret_header);
                *ret_header = hj;
                return t < 0 ? -EBADMSG : 0;
        }
}

static cJSON *envelope(const char *op, const char *client, const char *session)
{
        cJSON *e = cJSON_CreateObject();

        if (!e)
                return NULL;
        cJSON_AddNumberToObject(e, "v", WIRE_VERSION);
        cJSON_AddStringToObject(e, "op", op);
        cJSON_AddStringToObject(e, "client", client ? client : "mcp-proxyctl");
        if (session)
                cJSON_AddStringToObject(e, "session", session);
        cJSON_AddFalseToObject(e, "sse");
        return e;
}

static int link_open(const struct ctl *x, struct link *l)
{
        l->fd = unix_connect(x->socket_path);
        if (l->fd < 0) {
                errno = -l->fd;
                return ctl_error("cannot reach mcp-proxy-hub at '%s': %m (is it running? root "
                                 "or the group mcp-proxy-admin may use it)",
                                 x->socket_path);
        }
        buf_init(&l->in, HUB_MAX_LINE + 65536);
        return EXIT_OK;
}

static void link_close(struct link *l)
{
        if (l->fd >= 0)
                close(l->fd);
        buf_done(&l->in);
}

int hub_command(const struct ctl *x, const char *cmd, cJSON *args, cJSON **ret)
{
        _cleanup_json_ cJSON *a = args, *header = NULL, *body = NULL;
        struct link l;
        cJSON *e;
        int r;

        *ret = NULL;
        if (link_open(x, &l) != EXIT_OK)
                return EXIT_FAIL;
        e = envelope("ctl", NULL, NULL);
        if (!e) {
                link_close(&l);
                return ctl_error("out of memory");
        }
        cJSON_AddStringToObject(e, "cmd", cmd);
        if (a)
                cJSON_AddItemToObject(e, "args", TAKE_PTR(a));
        r = exchange(&l, e, NULL, &header, &body);
        link_close(&l);
        if (r == -ECONNRESET || r == -EPIPE)
                return ctl_error("mcp-proxy-hub closed the connection (this user may not use the "
                                 "control socket: root or the group mcp-proxy-admin)");
        if (r < 0) {
                errno = -r;
                return ctl_error("talking to mcp-proxy-hub: %m");
        }
        if (!cJSON_IsTrue(json_get(body, "ok")))
                return ctl_error("%s", json_get_string(body, "error")
                                           ? json_get_string(body, "error")
                                           : "the hub refused the command");
        *ret = TAKE_PTR(body);
        return EXIT_OK;
}

/* ---------------------------------------------------------------- status, servers */

static double num(const cJSON *o, const char *k)
{
        const cJSON *v = json_get(o, k);
        return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *numstr(const cJSON *o, const char *k, char *buf, size_t len)
{
        const cJSON *v = json_get(o, k);
        if (!cJSON_IsNumber(v))
                return NULL;
        snprintf(buf, len, "%.0f", v->valuedouble);
        return buf;
}

static void servers_table(struct ctl *x, const cJSON *ups)
{
        static const char *const hdr[] = {"SERVER",   "TRANSPORT", "ISOLATION", "STATE",     "PID",
                                          "RESTARTS", "TOOLS",     "INSTANCES", "LAST ERROR"};
        struct table *t = table_new(x, hdr, 9);
        const cJSON *u;

        cJSON_ArrayForEach(u, ups)
        {
                char pid[24], rs[24], tools[24], inst[24] = "", err[81] = "";
                const char *le = json_get_string(u, "last_error");
                const cJSON *arr = json_get(u, "instances");
                if (cJSON_IsArray(arr))
                        snprintf(inst, sizeof(inst), "%d", cJSON_GetArraySize(arr));
                if (le)
                        snprintf(err, sizeof(err), "%s", le);
                const char *cells[] = {json_get_string(u, "name"),
                                       json_get_string(u, "transport"),
                                       json_get_string(u, "isolation"),
                                       json_get_string(u, "state"),
                                       numstr(u, "pid", pid, sizeof(pid)),
                                       numstr(u, "restarts", rs, sizeof(rs)),
                                       numstr(u, "tools", tools, sizeof(tools)),
                                       inst,
                                       err};
                table_row(t, cells, 3);
        }
        table_print(t);
        table_free(t);
}

int verb_status(struct ctl *x)
{
        _cleanup_json_ cJSON *s = NULL;
        const cJSON *rl;
        char up[32], ago[32];

        if (x->n_args > 0)
                return ctl_usage_error("status takes no argument");
        if (hub_command(x, "status", NULL, &s) != EXIT_OK)
                return EXIT_FAIL;
        if (x->json) {
                cJSON_DeleteItemFromObject(s, "ok");
                ctl_print_json(s);
                return EXIT_OK;
        }
        printf("%s%s %s%s (pid %.0f), up %s\n", color_on(x, "\033[1m"),
               json_get_string(s, "service"), json_get_string(s, "version"), color_off(x),
               num(s, "pid"), format_duration(num(s, "uptime_seconds"), up, sizeof(up)));
        printf("config:    %s\n",
               json_get_string(s, "config") ? json_get_string(s, "config") : "-");
        rl = json_get(s, "reload");
        if (!rl)
                printf("reload:    none since the start\n");
        else if (cJSON_IsTrue(json_get(rl, "ok")))
                printf("reload:    %sok%s, %s ago\n", color_on(x, "\033[32m"), color_off(x),
                       format_duration(num(rl, "seconds_ago"), ago, sizeof(ago)));
        else
                printf("reload:    %sfailed%s %s ago, the previous configuration serves: %s\n",
                       color_on(x, "\033[31m"), color_off(x),
                       format_duration(num(rl, "seconds_ago"), ago, sizeof(ago)),
                       json_get_string(rl, "error") ? json_get_string(rl, "error") : "");
        printf("clients:   %.0f session(s), %.0f instance(s), %.0f connection(s)\n",
               num(s, "sessions"), num(s, "instances"), num(s, "connections"));
        printf("catalogue: %.0f tool(s), %.0f prompt(s), %.0f resource(s), %.0f template(s)\n",
               num(s, "tools"), num(s, "prompts"), num(s, "resources"),
               num(s, "resource_templates"));
        printf("requests:  %.0f (%.0f error(s))\n", num(s, "requests"), num(s, "errors"));
        if (cJSON_GetArraySize(json_get(s, "collisions")) > 0)
                printf("collisions: %d name(s) offered by two servers, see --json\n",
                       cJSON_GetArraySize(json_get(s, "collisions")));
        putchar('\n');
        servers_table(x, json_get(s, "upstreams"));
        return EXIT_OK;
}

int verb_servers(struct ctl *x)
{
        _cleanup_json_ cJSON *s = NULL;

        if (x->n_args > 0)
                return ctl_usage_error("servers takes no argument");
        if (hub_command(x, "status", NULL, &s) != EXIT_OK)
                return EXIT_FAIL;
        if (x->json)
                ctl_print_json(json_get(s, "upstreams"));
        else
                servers_table(x, json_get(s, "upstreams"));
        return EXIT_OK;
}

int verb_instances(struct ctl *x)
{
        static const char *const hdr[] = {"SERVER", "ID",  "CLIENT", "SESSION",
                                          "STATE",  "PID", "IDLE",   "SESSIONS"};
        _cleanup_json_ cJSON *s = NULL, *out = NULL;
        const char *want = x->n_args > 0 ? x->args[0] : NULL;
        struct table *t;
        const cJSON *u, *i;
        bool found = !want;

        if (x->n_args > 1)
                return ctl_usage_error("instances takes at most one server name");
        if (hub_command(x, "status", NULL, &s) != EXIT_OK)
                return EXIT_FAIL;
        out = cJSON_CreateArray();
        t = x->json ? NULL : table_new(x, hdr, 8);
        cJSON_ArrayForEach(u, json_get(s, "upstreams"))
        {
                const char *name = json_get_string(u, "name");
                if (want && (!name || strcmp(want, name) != 0))
                        continue;
                found = true;
                cJSON_ArrayForEach(i, json_get(u, "instances"))
                {
                        char id[24], pid[24], idle[32], n[24];
                        if (x->json) {
                                cJSON *d = cJSON_Duplicate(i, true);
                                cJSON_AddStringToObject(d, "server", name);
                                cJSON_AddItemToArray(out, d);
                                continue;
                        }
                        const char *cells[] = {
                            name,
                            numstr(i, "id", id, sizeof(id)),
                            json_get_string(i, "client"),
                            json_get_string(i, "session"),
                            json_get_string(i, "state"),
                            numstr(i, "pid", pid, sizeof(pid)),
                            format_duration(num(i, "idle_seconds"), idle, sizeof(idle)),
                            numstr(i, "sessions", n, sizeof(n))};
                        table_row(t, cells, 4);
                }
        }
        if (!found) {
                table_free(t);
                return ctl_error("no server '%s' in the running configuration", want);
        }
        if (x->json)
                ctl_print_json(out);
        else
                table_print(t);
        table_free(t);
        return EXIT_OK;
}

/* ---------------------------------------------------------------- sessions, tools */

int verb_sessions(struct ctl *x)
{
        static const char *const hdr[] = {"SESSION", "CLIENT", "PROTOCOL",    "AGE",
                                          "IDLE",    "STREAM", "CLIENT NAME", "FLAGS"};
        _cleanup_json_ cJSON *s = NULL;
        struct table *t;
        const cJSON *e;
        cJSON *args;

        if (x->n_args >= 1 && strcmp(x->args[0], "kill") == 0) {
                if (x->n_args != 2)
                        return ctl_usage_error("sessions kill takes one session id");
                args = cJSON_CreateObject();
                cJSON_AddStringToObject(args, "id", x->args[1]);
                if (hub_command(x, "session-kill", args, &s) != EXIT_OK)
                        return EXIT_FAIL;
                if (x->json)
                        ctl_print_json(json_get(s, "session"));
                else
                        printf("ended session %s of client '%s'\n",
                               json_get_string(json_get(s, "session"), "id"),
                               json_get_string(json_get(s, "session"), "client"));
                return EXIT_OK;
        }
        if (x->n_args > 0)
                return ctl_usage_error("unknown sessions argument '%s' (sessions [--client ID], "
                                       "sessions kill ID)",
                                       x->args[0]);
        args = cJSON_CreateObject();
        if (x->client)
                cJSON_AddStringToObject(args, "client", x->client);
        if (hub_command(x, "sessions", args, &s) != EXIT_OK)
                return EXIT_FAIL;
        if (x->json) {
                ctl_print_json(json_get(s, "sessions"));
                return EXIT_OK;
        }
        t = table_new(x, hdr, 8);
        cJSON_ArrayForEach(e, json_get(s, "sessions"))
        {
                char id[24], age[32], idle[32], flags[32] = "";
                snprintf(id, sizeof(id), "%.16s", json_get_string(e, "id"));
                if (cJSON_IsTrue(json_get(e, "legacy")))
                        strcat(flags, "legacy ");
                if (cJSON_IsTrue(json_get(e, "resumed")))
                        strcat(flags, "resumed");
                const char *cells[] = {id,
                                       json_get_string(e, "client"),
                                       json_get_string(e, "protocol"),
                                       format_duration(num(e, "age_seconds"), age, sizeof(age)),
                                       format_duration(num(e, "idle_seconds"), idle, sizeof(idle)),
                                       cJSON_IsTrue(json_get(e, "stream_connected")) ? "connected"
                                                                                     : NULL,
                                       json_get_string(e, "client_name"),
                                       flags};
                table_row(t, cells, 5);
        }
        table_print(t);
        table_free(t);
        return EXIT_OK;
}

int verb_tools(struct ctl *x)
{
        static const char *const hdr[] = {"TOOL", "SERVER", "DESCRIPTION"};
        _cleanup_json_ cJSON *s = NULL;
        struct table *t;
        const cJSON *e;
        cJSON *args;

        if (x->n_args > 0)
                return ctl_usage_error("tools takes no argument (tools [--client ID])");
        args = cJSON_CreateObject();
        if (x->client)
                cJSON_AddStringToObject(args, "client", x->client);
        if (hub_command(x, "tools", args, &s) != EXIT_OK)
                return EXIT_FAIL;
        if (x->json) {
                ctl_print_json(json_get(s, "tools"));
                return EXIT_OK;
        }
        t = table_new(x, hdr, 3);
        cJSON_ArrayForEach(e, json_get(s, "tools"))
        {
                char d[73] = "";
                const char *desc = json_get_string(e, "description");
                if (desc) {
                        snprintf(d, sizeof(d), "%s", desc);
                        for (char *p = d; *p; p++)
                                if (*p == '\n' || *p == '\t')
                                        *p = ' ';
                        if (strlen(desc) > 72)
                                memcpy(d + 69, "...", 4);
                }
                const char *cells[] = {json_get_string(e, "name"), json_get_string(e, "server"), d};
                table_row(t, cells, -1);
        }
        table_print(t);
        table_free(t);
        return EXIT_OK;
}

/* ---------------------------------------------------------------- reload, restart */

int verb_reload(struct ctl *x)
{
        _cleanup_json_ cJSON *s = NULL;

        if (x->n_args > 0)
                return ctl_usage_error("reload takes no argument");
        if (hub_command(x, "reload", NULL, &s) != EXIT_OK)
                return EXIT_FAIL;
        if (x->json)
                ctl_print_json(s);
        else
                printf("reloaded\n");
        return EXIT_OK;
}

int verb_restart(struct ctl *x)
{
        _cleanup_json_ cJSON *s = NULL;
        cJSON *args;

        if (x->n_args != 1)
                return ctl_usage_error("restart takes one server name");
        args = cJSON_CreateObject();
        cJSON_AddStringToObject(args, "server", x->args[0]);
        if (hub_command(x, "restart", args, &s) != EXIT_OK)
                return EXIT_FAIL;
        if (x->json)
                ctl_print_json(s);
        else
                printf("restarting %s\n", x->args[0]);
        return EXIT_OK;
}

/* ---------------------------------------------------------------- call */

static int post(struct link *l, const char *client, const char *session, const char *msg,
                cJSON **ret_header, cJSON **ret_body)
{
        return exchange(l, envelope("post", client, session), msg, ret_header, ret_body);
}

int verb_call(struct ctl *x)
{
        _cleanup_json_ cJSON *args = NULL, *h = NULL, *b = NULL, *req = NULL;
        _cleanup_free_ char *session = NULL, *msg = NULL;
        const char *client = x->client ? x->client : "mcp-proxyctl";
        const cJSON *err, *res;
        struct link l;
        int r, ret = EXIT_FAIL;

        if (x->n_args < 1 || x->n_args > 2)
                return ctl_usage_error("call takes a tool name and its arguments as JSON");
        args = x->n_args == 2 ? cJSON_Parse(x->args[1]) : cJSON_CreateObject();
        if (!cJSON_IsObject(args))
                return ctl_usage_error("the arguments must be a JSON object, like '{\"a\": 1}'");
        if (link_open(x, &l) != EXIT_OK)
                return EXIT_FAIL;
        r = post(&l, client, NULL,
                 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
                 "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{"
                 "\"name\":\"mcp-proxyctl\",\"version\":\"" VERSION "\"}}}",
                 &h, &b);
        if (r < 0 || !json_get_string(h, "session")) {
                errno = r < 0 ? -r : EPROTO;
                ret = ctl_error("initialize through the hub failed: %s",
                                r == -ECONNRESET || r == -EPIPE
                                    ? "the hub closed the connection (root or the "
                                      "group mcp-proxy-admin may use it)"
                                    : strerror(errno));
                goto out;
        }
        session = strdup(json_get_string(h, "session"));
        cJSON_Delete(h);
        cJSON_Delete(b);
        h = b = NULL;
        (void)post(&l, client, session,
                   "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", &h, &b);
        cJSON_Delete(h);
        cJSON_Delete(b);
        h = b = NULL;
        req = cJSON_CreateObject();
        cJSON_AddStringToObject(req, "jsonrpc", "2.0");
        cJSON_AddNumberToObject(req, "id", 2);
        cJSON_AddStringToObject(req, "method", "tools/call");
        {
                cJSON *p = cJSON_AddObjectToObject(req, "params");
                cJSON_AddStringToObject(p, "name", x->args[0]);
                cJSON_AddItemToObject(p, "arguments", TAKE_PTR(args));
        }
        msg = cJSON_PrintUnformatted(req);
        r = msg ? post(&l, client, session, msg, &h, &b) : -ENOMEM;
        if (r < 0) {
                errno = -r;
                ret = ctl_error("tools/call through the hub: %m");
                goto out;
        }
        err = json_get(b, "error");
        res = json_get(b, "result");
        if (x->json)
                ctl_print_json(b);
        if (err) {
                ret = ctl_error("%s failed: %s (%.0f)", x->args[0],
                                json_get_string(err, "message") ? json_get_string(err, "message")
                                                                : "error",
                                num(err, "code"));
                goto out;
        }
        if (!x->json) {
                const cJSON *c;
                cJSON_ArrayForEach(c, json_get(res, "content"))
                {
                        if (json_get_string(c, "type") &&
                            !strcmp(json_get_string(c, "type"), "text"))
                                printf("%s\n", json_get_string(c, "text"));
                        else
                                ctl_print_json(c);
                }
        }
        ret = cJSON_IsTrue(json_get(res, "isError")) ? EXIT_FAIL : EXIT_OK;
        if (ret != EXIT_OK)
                ctl_error("%s returned an error result", x->args[0]);
out:
        if (session) {
                cJSON *hh = NULL, *bb = NULL;
                (void)exchange(&l, envelope("delete", client, session), NULL, &hh, &bb);
                cJSON_Delete(hh);
                cJSON_Delete(bb);
        }
        link_close(&l);
        return ret;
}
