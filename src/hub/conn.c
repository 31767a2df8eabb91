/* SPDX-License-Identifier: MIT */
/*
 * Front connections: the listener and one struct conn per exchange. A
 * conn reads the envelope line (and, for a POST, the message line), hands
 * them to the router, and writes wire lines back; it closes after the final
 * line is flushed or when the front goes away. Nothing here blocks.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hub/hub.h"
#include "socket-util.h"
#include "json.h"
#include "mcp-limits.h"
#include "log.h"
#include "proto/jsonrpc.h"
#include "proto/wire.h"

static int conn_update_events(struct conn *c)
{
        uint32_t ev = 0;

        if (!c->read_eof && buf_avail(&c->in) < c->in.max)
                ev |= EPOLLIN;
        /* Congested: EPOLLOUT until it is seen drained, even when a send already emptied the
         * queue, so that what its stream held back goes out (conn_io_cb). */
        if (buf_avail(&c->out) > 0 || c->congested)
                ev |= EPOLLOUT;
        if (ev == 0)
                return sd_event_source_set_enabled(c->source, SD_EVENT_OFF);
        (void)sd_event_source_set_io_events(c->source, ev);
        return sd_event_source_set_enabled(c->source, SD_EVENT_ON);
}

struct conn *hub_conn_get(struct hub *h, uint64_t id)
{
        return id ? hmap_get(&h->conns, id) : NULL;
}

/* Frees c alone: its loop sources, fd and buffers (no table, no stream). */
void conn_free(struct conn *c)
{
        sd_event_source_disable_unref(c->source);
        sd_event_source_disable_unref(c->defer);
        safe_close(c->fd);
        buf_done(&c->in);
        buf_done(&c->out);
        cJSON_Delete(c->envelope_json);
        free(c);
}

void hub_conn_close(struct conn *c)
{
        struct hub *h;
        char session[65] = "";

        if (!c)
                return;
        h = c->hub;
        if (c->congested)
                snprintf(session, sizeof(session), "%s", c->session);
        hmap_remove(&h->conns, c->id);
        modern_exchange_end(h, c, true);
        stream_detach_conn(h, c);
        h->n_conns--;
        conn_free(c);
        /* Its session's servers were held back for it: go on. */
        if (session[0])
                memory_backpressure(h, session);
}

static int conn_flush(struct conn *c)
{
        int r = buf_flush_fd(&c->out, c->fd, true);

        if (r < 0)
                return r;
        buf_shrink(&c->out, BUF_SHRINK_ABOVE);
        if (buf_avail(&c->out) == 0 && c->finished)
                return 1; /* done */
        return conn_update_events(c);
}

static int conn_defer_cb(sd_event_source *s, void *userdata);

/*
 * The exchange is over: the front may send the next one on this connection
 * (one at a time, so no tagging is needed). The conn gets a new id, so a
 * late message for the old exchange finds nothing rather than the new one.
 */
static void conn_exchange_done(struct conn *c)
{
        struct hub *h = c->hub;

        modern_exchange_end(h, c, false);
        if (c->read_eof || c->close_after || h->shutting_down) {
                hub_conn_close(c);
                return;
        }
        stream_detach_conn(h, c);
        if (c->congested) {
                c->congested = false;
                memory_backpressure(h, c->session);
        }
        hmap_remove(&h->conns, c->id);
        c->id = ++h->next_conn_id;
        if (hmap_put(&h->conns, c->id, c) < 0) {
                h->n_conns--;
                conn_free(c);
                return;
        }
        cJSON_Delete(c->envelope_json);
        c->envelope_json = NULL;
        buf_shrink(&c->in, BUF_SHRINK_ABOVE);
        c->env = (struct wire_envelope){};
        c->have_envelope = c->dispatched = c->streaming = c->finished = false;
        c->parked = c->taken = false;
        c->session[0] = 0;
        c->stream = 0;
        /* Bytes of the next exchange already read: handle them from the loop. */
        if (buf_avail(&c->in) > 0) {
                if (!c->defer && sd_event_add_defer(h->event, &c->defer, conn_defer_cb, c) < 0) {
                        hub_conn_close(c);
                        return;
                }
                (void)sd_event_source_set_enabled(c->defer, SD_EVENT_ONESHOT);
        }
        (void)conn_update_events(c);
}

int conn_send_payload(struct conn *c, cJSON *header, const char *payload, size_t plen, bool final)
{
        _cleanup_json_ cJSON *m = header;
        _cleanup_cjson_str_ char *line = NULL;
        size_t len;
        int r;

        if (!m)
                return -ENOMEM;
        if (c->finished)
                return -EPIPE;
        if (payload && !cJSON_AddTrueToObject(m, "body"))
                return -ENOMEM;
        line = wire_print_line(m, &len);
        if (!line)
                return -ENOMEM;
        r = buf_append(&c->out, line, len);
        if (r >= 0 && payload) {
                r = buf_append(&c->out, payload, plen);
                if (r >= 0)
                        r = buf_append(&c->out, "\n", 1);
        }
        if (r < 0) {
                log_warning("front connection %llu: output queue full, closing",
                            (unsigned long long)c->id);
                hub_conn_close(c);
                return r;
        }
        if (final)
                c->finished = true;
        r = conn_flush(c);
        if (r < 0) {
                /* The front went away. */
                hub_conn_close(c);
                return r;
        }
        if (!c->congested && buf_avail(&c->out) > HUB_CONN_OUT_HIGH) {
                /* The front reads slower than this comes: hold back (memory.c). */
                c->congested = true;
                c->congested_usec = now_usec();
                memory_backpressure(c->hub, c->session);
                (void)conn_update_events(c);
        }
        if (r == 1)
                conn_exchange_done(c);
        return 0;
}

int conn_send(struct conn *c, cJSON *msg, bool final)
{
        return conn_send_payload(c, msg, NULL, 0, final);
}

/* A header line {"t":t,"status":..,"session":..,"retry_after":..,"body":true} and the body on
 * its own line; retry_after < 0: none. */
static int send_with_body(struct conn *c, enum wire_reply t, int status, const char *session,
                          long retry_after, cJSON *body)
{
        _cleanup_json_ cJSON *b = body;
        _cleanup_cjson_str_ char *text = b ? cJSON_PrintUnformatted(b) : NULL;
        cJSON *m = wire_reply_new(t);

        if (!m || !text) {
                cJSON_Delete(m);
                hub_conn_close(c);
                return -ENOMEM;
        }
        if (status)
                cJSON_AddNumberToObject(m, "status", status);
        if (session)
                cJSON_AddStringToObject(m, "session", session);
        if (retry_after >= 0)
                cJSON_AddNumberToObject(m, "retry_after", (double)retry_after);
        return conn_send_payload(c, m, text, strlen(text), true);
}

int conn_send_json(struct conn *c, int status, const char *session, cJSON *body)
{
        return send_with_body(c, WIRE_REPLY_JSON, status, session, -1, body);
}

int conn_send_error(struct conn *c, int status, cJSON *body)
{
        return send_with_body(c, WIRE_REPLY_ERROR, status, NULL, -1, body);
}

int conn_send_limited(struct conn *c, cJSON *body, unsigned retry_after)
{
        return send_with_body(c, WIRE_REPLY_ERROR, 429, NULL, (long)retry_after, body);
}

int conn_send_busy(struct conn *c, cJSON *body, unsigned retry_after)
{
        return send_with_body(c, WIRE_REPLY_ERROR, 503, NULL, (long)retry_after, body);
}

int conn_send_health(struct conn *c, cJSON *body)
{
        return send_with_body(c, WIRE_REPLY_HEALTH, 0, NULL, -1, body);
}

int conn_send_simple(struct conn *c, enum wire_reply t)
{
        cJSON *m = wire_reply_new(t);
        bool final = t != WIRE_REPLY_SSE;

        if (!m) {
                hub_conn_close(c);
                return -ENOMEM;
        }
        if (!final)
                c->streaming = true;
        return conn_send(c, m, final);
}

static void conn_protocol_error(struct conn *c, const char *what)
{
        /* What follows on this connection cannot be trusted to be framed right. */
        c->close_after = true;
        log_error("front connection %llu: %s, closing", (unsigned long long)c->id, what);
        (void)conn_send_error(c, 400, jsonrpc_error_new(NULL, JSONRPC_INVALID_REQUEST, what, NULL));
}

static void conn_dispatch_post(struct conn *c, const char *line, size_t len)
{
        cJSON *msg = jsonrpc_parse(line, len, NULL);

        if (!msg) {
                conn_protocol_error(c, "message line is not JSON");
                return;
        }
        c->msg_bytes = len;
        hub_route_message(c, msg);
}

/* An exchange whose envelope is read, other than a POST: dispatched at once. */
static void conn_dispatch_op(struct conn *c)
{
        c->dispatched = true;
        switch (c->env.op) {
        case WIRE_OP_GET:
                hub_route_get(c);
                break;
        case WIRE_OP_DELETE:
                hub_route_delete(c);
                break;
        case WIRE_OP_SSE:
                hub_route_legacy_open(c);
                break;
        case WIRE_OP_HEALTH:
                (void)conn_send_health(c, hub_state_json(c->hub, c->env.client));
                break;
        case WIRE_OP_CTL:
                control_command(c);
                break;
        case WIRE_OP_METRICS:
                metrics_answer(c);
                break;
        default:
                break;
        }
}

/* Returns 0 to keep reading, or 1 when c was closed (or may have been). */
static int conn_process_input(struct conn *c)
{
        struct hub *h = c->hub;

        for (;;) {
                long n;
                const char *line;

                if (c->dispatched || c->parked)
                        return 0;
                if (h->shutting_down) {
                        /* Not dispatched, so nothing happened: closing without a word tells
                         * the front to send it again, to the next hub. */
                        hub_conn_close(c);
                        return 1;
                }
                n = wire_find_line(buf_head(&c->in), buf_avail(&c->in), HUB_MAX_LINE);
                if (n == 0 && !(c->have_envelope && c->env.op != WIRE_OP_POST))
                        return 0;
                if (n < 0) {
                        conn_protocol_error(c, "wire line too long");
                        return 1;
                }
                line = buf_head(&c->in);
                if (!c->have_envelope) {
                        int r;
                        c->envelope_json = cJSON_ParseWithLength(line, (size_t)n - 1);
                        buf_consume(&c->in, (size_t)n);
                        r = c->envelope_json ? wire_envelope_from_json(c->envelope_json, &c->env)
                                             : -EINVAL;
                        if (r < 0) {
                                conn_protocol_error(c, r == -EPROTO ? "unsupported wire version"
                                                                    : "invalid envelope");
                                return 1;
                        }
                        c->have_envelope = true;
                        if (h->starting && c->env.op != WIRE_OP_HEALTH &&
                            c->env.op != WIRE_OP_CTL && c->env.op != WIRE_OP_METRICS) {
                                /* Until the servers are up the catalogue is not whole: wait
                                 * (conns_unpark()). */
                                c->parked = true;
                                return 0;
                        }
                        continue;
                }
                if (c->env.op != WIRE_OP_POST) {
                        conn_dispatch_op(c);
                        return 1; /* c may be gone: stop touching it */
                }
                c->dispatched = true;
                {
                        /* Copy out: routing may close c and free its buffer. */
                        size_t len = (size_t)n - 1;
                        char *copy = malloc(len + 1);
                        if (!copy) {
                                hub_conn_close(c);
                                return 1;
                        }
                        memcpy(copy, line, len);
                        copy[len] = 0;
                        buf_consume(&c->in, (size_t)n);
                        /* A large message's buffer is not kept while its request runs. */
                        buf_shrink(&c->in, BUF_SHRINK_ABOVE);
                        conn_dispatch_post(c, copy, len);
                        free(copy);
                }
                return 1;
        }
}

void conns_unpark(struct hub *h)
{
        size_t i = 0;
        void *v;

        while (hmap_next(&h->conns, &i, NULL, &v)) {
                struct conn *c = v;
                if (!c->parked)
                        continue;
                c->parked = false;
                if (!c->defer && sd_event_add_defer(h->event, &c->defer, conn_defer_cb, c) < 0) {
                        /* Closed without an answer, nothing done: the front sends it again. */
                        log_warning("front connection %llu: cannot resume it, closing",
                                    (unsigned long long)c->id);
                        c->resume_failed = true;
                        continue;
                }
                (void)sd_event_source_set_enabled(c->defer, SD_EVENT_ONESHOT);
        }
        /* Those that could not be resumed (closing reshuffles the table: start over). */
        for (bool again = true; again;) {
                again = false;
                i = 0;
                while (hmap_next(&h->conns, &i, NULL, &v)) {
                        struct conn *c = v;
                        if (c->resume_failed) {
                                hub_conn_close(c);
                                again = true;
                                break;
                        }
                }
        }
}

int conn_taken(struct conn *c)
{
        if (!c->env.ack || c->taken)
                return 0;
        c->taken = true;
        return conn_send(c, wire_reply_new(WIRE_REPLY_TAKEN), false);
}

static int conn_defer_cb(sd_event_source *s, void *userdata)
{
        struct conn *c = userdata;
        struct hub *h = c->hub;
        uint64_t id = c->id;

        if (conn_process_input(c) == 1 || !hub_conn_get(h, id))
                return 0;
        (void)conn_update_events(c);
        return 0;
}

static int conn_io_cb(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct conn *c = userdata;
        struct hub *h = c->hub;
        uint64_t id = c->id;

        if (revents & EPOLLOUT) {
                int r = conn_flush(c);
                if (r < 0) {
                        hub_conn_close(c);
                        return 0;
                }
                if (r == 1) {
                        conn_exchange_done(c);
                        if (!hub_conn_get(h, c->id))
                                return 0;
                        id = c->id;
                } else if (c->congested && buf_avail(&c->out) <= HUB_CONN_OUT_LOW) {
                        /* Drained: what waited in the stream's ring goes now. */
                        c->congested = false;
                        (void)conn_update_events(c);
                        memory_backpressure(h, c->session);
                        stream_conn_drained(h, c);
                        if (!hub_conn_get(h, id))
                                return 0;
                }
        }
        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                for (;;) {
                        char *p = buf_reserve(&c->in, HUB_READ_CHUNK);
                        ssize_t n;
                        if (!p) {
                                if (!c->have_envelope || !c->dispatched) {
                                        conn_protocol_error(c, "wire line too long");
                                        return 0;
                                }
                                /* Dispatched: ignore anything more the front sends. */
                                buf_reset(&c->in);
                                continue;
                        }
                        n = recv(fd, p, HUB_READ_CHUNK, 0);
                        if (n > 0) {
                                buf_commit(&c->in, (size_t)n);
                                if (c->dispatched)
                                        buf_reset(&c->in);
                                if (n < HUB_READ_CHUNK)
                                        break;
                                continue;
                        }
                        if (n == 0) {
                                c->read_eof = true;
                                break;
                        }
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        c->read_eof = true;
                        break;
                }
                if (conn_process_input(c) == 1 || !hub_conn_get(h, id))
                        return 0;
                if (c->read_eof) {
                        /* The front went away: a pending answer for it is dropped on arrival. */
                        log_debug("front connection %llu closed by the front",
                                  (unsigned long long)c->id);
                        hub_conn_close(c);
                        return 0;
                }
        }
        (void)conn_update_events(c);
        return 0;
}

/*
 * The hub believes the client id a front sends, so only fronts may talk to
 * it: root, the socket file's owner or group (e.g. systemd's SocketUser= and
 * SocketGroup=), or anyone when the admin made the socket world-writable.
 * Our own user only when the socket is ours too (one user for everything,
 * as without systemd): when the fronts run as another user, the hub's own
 * children (any stdio upstream) must not be able to speak as a front.
 */
static bool peer_allowed(struct hub *h, int fd, const struct ucred *cred)
{
        if (cred->uid == 0)
                return true;
        if (cred->uid == geteuid())
                return !h->socket_known || h->socket_uid == geteuid();
        if (!h->socket_known)
                return false;
        if ((h->socket_mode & 0006) == 0006)
                return true;
        if (cred->uid == h->socket_uid && (h->socket_mode & 0600) == 0600)
                return true;
        if ((h->socket_mode & 0060) != 0060)
                return false;
        return peer_in_group(fd, cred, h->socket_gid);
}

static int accept_conns(struct hub *h, int fd, bool control)
{
        for (int i = 0; i < 64; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                struct conn *c;
                struct ucred cred;
                socklen_t l = sizeof(cred);

                if (cfd < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                            errno == ENOMEM) {
                                log_warning_errno(errno, "accept() on the %s socket: %m",
                                                  control ? "control" : "hub");
                                return 0;
                        }
                        log_debug_errno(errno, "accept(): %m, ignoring");
                        return 0;
                }
                if (h->n_conns >= HUB_MAX_CONNECTIONS || h->shutting_down) {
                        log_warning("too many front connections (%zu), refusing one", h->n_conns);
                        safe_close(cfd);
                        continue;
                }
                if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &l) < 0 ||
                    !(control ? control_peer_allowed(h, cfd, &cred)
                              : peer_allowed(h, cfd, &cred))) {
                        log_warning("refusing a connection from pid %d uid %u gid %u: %s",
                                    (int)cred.pid, (unsigned)cred.uid, (unsigned)cred.gid,
                                    control ? "not root nor in the admin group"
                                            : "not the hub socket's owner or group");
                        safe_close(cfd);
                        continue;
                }
                c = calloc(1, sizeof(*c));
                if (!c) {
                        safe_close(cfd);
                        continue;
                }
                c->hub = h;
                c->fd = cfd;
                c->control = control;
                c->id = ++h->next_conn_id;
                buf_init(&c->in, HUB_MAX_LINE + HUB_READ_CHUNK);
                buf_init(&c->out, HUB_CONN_OUT_MAX);
                if (sd_event_add_io(h->event, &c->source, cfd, EPOLLIN, conn_io_cb, c) < 0 ||
                    hmap_put(&h->conns, c->id, c) < 0) {
                        sd_event_source_disable_unref(c->source);
                        safe_close(cfd);
                        free(c);
                        continue;
                }
                h->n_conns++;
        }
        return 0;
}

static int listen_cb(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        return accept_conns(userdata, fd, false);
}

static int control_cb(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        return accept_conns(userdata, fd, true);
}

int hub_listen_start(struct hub *h)
{
        struct sockaddr_un sa = {};
        socklen_t l = sizeof(sa);
        struct stat st;

        /* The file behind the socket, bound by us or by the service manager. */
        if (getsockname(h->listen_fd, (struct sockaddr *)&sa, &l) == 0 && sa.sun_path[0] &&
            l > offsetof(struct sockaddr_un, sun_path) && stat(sa.sun_path, &st) == 0) {
                h->socket_known = true;
                h->socket_uid = st.st_uid;
                h->socket_gid = st.st_gid;
                h->socket_mode = st.st_mode & 07777;
        }
        if (h->control_fd >= 0 && sd_event_add_io(h->event, &h->control_source, h->control_fd,
                                                  EPOLLIN, control_cb, h) < 0)
                log_warning("cannot watch the control socket, going on without it");
        return sd_event_add_io(h->event, &h->listen_source, h->listen_fd, EPOLLIN, listen_cb, h);
}
