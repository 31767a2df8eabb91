/* SPDX-License-Identifier: MIT */
/*
 * One exchange with the hub: connect, send the envelope (and message),
 * turn the hub's wire lines into the HTTP response: one JSON body, 202, or
 * an SSE stream of events. While waiting it watches the client: a client
 * that goes away ends the exchange (the hub drops the answer).
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "front/front.h"
#include "json.h"
#include "mcp-limits.h"
#include "log.h"
#include "proto/jsonrpc.h"
#include "proto/wire.h"
#include "socket-util.h"

static enum wire_op relay_wire_op(enum relay_op op)
{
        switch (op) {
        case RELAY_POST:
        case RELAY_LEGACY_POST:
                return WIRE_OP_POST;
        case RELAY_GET:
                return WIRE_OP_GET;
        case RELAY_DELETE:
                return WIRE_OP_DELETE;
        case RELAY_HEALTH:
                return WIRE_OP_HEALTH;
        case RELAY_METRICS:
                return WIRE_OP_METRICS;
        case RELAY_SSE:
                return WIRE_OP_SSE;
        }
        return _WIRE_OP_INVALID;
}

static int send_envelope(int fd, struct front_request *r, enum relay_op op, const char *message)
{
        const struct http_header *h;
        char session[256] = "", proto[64] = "", lei[256] = "";
        struct wire_envelope e = {
            .op = relay_wire_op(op),
            .client = r->client ? r->client : "anonymous",
        };
        _cleanup_json_ cJSON *j = NULL, *hparams = NULL;
        _cleanup_cjson_str_ char *line = NULL;
        size_t len;
        int ret;

        /* A message may reach a server: the hub says when ("taken"), so that we know
         * whether sending it again after a broken connection is safe. */
        e.ack = op == RELAY_POST || op == RELAY_LEGACY_POST;
        e.modern = r->modern;
        if (r->modern) {
                /* No session, no resumption: its own _meta, and the Mcp-Param headers. */
                for (size_t i = 0; i < r->http.num_headers; i++) {
                        const struct http_header *x = &r->http.headers[i];
                        char name[128];
                        if (x->name_len <= 10 || x->name_len - 10 >= sizeof(name) ||
                            strncasecmp(x->name, "mcp-param-", 10) != 0)
                                continue;
                        for (size_t k = 10; k < x->name_len; k++)
                                name[k - 10] = (char)tolower((unsigned char)x->name[k]);
                        name[x->name_len - 10] = 0;
                        _cleanup_free_ char *value = strndup(x->value, x->value_len);
                        if (!value || (!hparams && !(hparams = cJSON_CreateObject())))
                                return -ENOMEM;
                        /* Given twice: the first is compared (and a second one may differ:
                         * the hub sees the first only). */
                        if (!json_get(hparams, name) &&
                            !cJSON_AddStringToObject(hparams, name, value))
                                return -ENOMEM;
                }
                e.hparams = hparams;
        } else if (op == RELAY_LEGACY_POST) {
                e.session = r->legacy_session;
                e.legacy = true;
        } else if ((h = http_find_header(&r->http, "mcp-session-id")) &&
                   h->value_len < sizeof(session)) {
                memcpy(session, h->value, h->value_len);
                session[h->value_len] = 0;
                e.session = session;
        }
        if ((h = http_find_header(&r->http, "mcp-protocol-version")) &&
            h->value_len < sizeof(proto)) {
                memcpy(proto, h->value, h->value_len);
                proto[h->value_len] = 0;
                e.proto = proto;
        }
        if (!r->modern && (h = http_find_header(&r->http, "last-event-id")) &&
            h->value_len < sizeof(lei)) {
                memcpy(lei, h->value, h->value_len);
                lei[h->value_len] = 0;
                e.last_event_id = lei;
        }
        h = http_find_header(&r->http, "accept");
        e.sse = h && http_accepts(h->value, h->value_len, "text/event-stream");
        j = wire_envelope_to_json(&e);
        if (!j)
                return -ENOMEM;
        line = wire_print_line(j, &len);
        if (!line)
                return -ENOMEM;
        {
                struct iovec iov[3] = {
                    {.iov_base = line, .iov_len = len},
                    {.iov_base = (void *)(uintptr_t)(message ? message : ""),
                     .iov_len = message ? strlen(message) : 0},
                    {.iov_base = (void *)(uintptr_t) "\n", .iov_len = message ? 1 : 0},
                };
                ret = front_writev_all(fd, iov, 3, HTTP_WRITE_TIMEOUT_MS);
        }
        return ret;
}

struct relay {
        struct front_conn *c;
        struct front_request *r;
        enum relay_op op;
        bool sse_started;
        bool got_line;   /* the hub answered something: the exchange happened */
        bool taken;      /* the hub sent the request on to a server */
        char *session;   /* from the hub */
        char **ret_body; /* RELAY_HEALTH, RELAY_METRICS: the answer goes there, not out */
        cJSON *header;   /* a header line whose payload line comes next */
};

/* Format one SSE event ("id: ..\ndata: <json>\n\n") and send it. An event without data
 * is the priming event ("id: ..\ndata:\n\n"). Legacy streams name every event "message". */
static int relay_event(struct relay *x, const char *id, const char *data, size_t dlen)
{
        struct buf ev;
        int r;

        if (!x->sse_started) {
                r = front_sse_start(x->c, x->r, x->session);
                if (r < 0)
                        return r;
                x->sse_started = true;
        }
        buf_init(&ev, dlen + 1024);
        if (x->op == RELAY_SSE)
                (void)buf_append_str(&ev, "event: message\n");
        if (id && x->op != RELAY_SSE)
                (void)buf_printf(&ev, "id: %s\n", id);
        if (data) {
                (void)buf_append_str(&ev, "data: ");
                (void)buf_append(&ev, data, dlen);
                (void)buf_append_str(&ev, "\n\n");
        } else
                (void)buf_append_str(&ev, "data:\n\n");
        r = front_sse_write(x->c, x->r, ev.data, ev.len);
        buf_done(&ev);
        return r;
}

/* One complete hub line (a header, with its payload line if it has one).
 * Returns 1 when the exchange is complete, 0 to go on, -errno to abort. */
static int relay_message(struct relay *x, const cJSON *j, const char *payload, size_t plen)
{
        const char *name = json_get_string(j, "t");
        enum wire_reply t = wire_reply_from_string(name);
        const cJSON *st = json_get(j, "status");
        int64_t n;
        int status = json_int64(st, &n) && n >= 100 && n <= 599 ? (int)n : 200;

        if (json_get_string(j, "session")) {
                free(x->session);
                x->session = strdup(json_get_string(j, "session"));
        }
        switch (t) {
        case WIRE_REPLY_TAKEN:
                x->taken = true;
                return 0;
        case WIRE_REPLY_HEALTH:
        case WIRE_REPLY_METRICS:
                if (!x->ret_body || (t == WIRE_REPLY_METRICS) != (x->op == RELAY_METRICS))
                        break; /* not an answer to this exchange */
                *x->ret_body = payload ? strndup(payload, plen) : NULL;
                return 1;
        case WIRE_REPLY_JSON:
        case WIRE_REPLY_ERROR: {
                const cJSON *ra = json_get(j, "retry_after");
                char retry[48] = "";
                if (x->ret_body)
                        return 1; /* a refusal: the caller answers (no body) */
                struct front_response resp = {
                    .status = status,
                    .content_type = "application/json",
                    .body = payload ? payload : "null",
                    .body_len = payload ? plen : 4,
                    .session_id = x->session,
                };
                if (cJSON_IsNumber(ra) && ra->valuedouble >= 0 && ra->valuedouble < 1e6) {
                        snprintf(retry, sizeof(retry), "Retry-After: %u\r\n",
                                 (unsigned)ra->valuedouble);
                        resp.extra_headers = retry;
                }
                if (x->sse_started) {
                        /* Already streaming: the answer becomes the last event. */
                        if (relay_event(x, NULL, resp.body, resp.body_len) < 0)
                                return -EPIPE;
                        return front_sse_end(x->c, x->r) < 0 ? -EPIPE : 1;
                }
                return front_respond(x->c, x->r, &resp) < 0 ? -EPIPE : 1;
        }
        case WIRE_REPLY_ACCEPTED:
        case WIRE_REPLY_OK: {
                struct front_response resp = {.status = t == WIRE_REPLY_ACCEPTED ? 202 : 200};
                return front_respond(x->c, x->r, &resp) < 0 ? -EPIPE : 1;
        }
        case WIRE_REPLY_SSE:
                if (!x->sse_started) {
                        if (front_sse_start(x->c, x->r, x->session) < 0)
                                return -EPIPE;
                        x->sse_started = true;
                }
                return 0;
        case WIRE_REPLY_ENDPOINT: {
                /* Legacy transport: where to POST, relative to this server. */
                char ev[512];
                int w;

                if (!x->sse_started) {
                        log_error("hub sent an endpoint line outside a stream, aborting");
                        return -EBADMSG;
                }
                w = snprintf(ev, sizeof(ev), "event: endpoint\ndata: %s?sessionId=%s\n\n",
                             x->c->set->messages_path, x->session ? x->session : "");
                if (w < 0 || (size_t)w >= sizeof(ev))
                        return -EINVAL;
                return front_sse_write(x->c, x->r, ev, (size_t)w) < 0 ? -EPIPE : 0;
        }
        case WIRE_REPLY_EVENT:
                return relay_event(x, json_get_string(j, "id"), payload, plen) < 0 ? -EPIPE : 0;
        case WIRE_REPLY_END:
                if (x->sse_started)
                        return front_sse_end(x->c, x->r) < 0 ? -EPIPE : 1;
                return 1;
        case _WIRE_REPLY_MAX:
        case _WIRE_REPLY_INVALID:
                break;
        }
        log_error("hub sent an unknown or unexpected line type '%s', aborting the exchange", name);
        return -EBADMSG;
}

static int relay_line(struct relay *x, const char *s, size_t n)
{
        cJSON *j;
        int r;

        x->got_line = true;
        if (x->header) {
                /* The payload of the header before: passed on as it is. */
                j = x->header;
                x->header = NULL;
                r = relay_message(x, j, s, n);
                cJSON_Delete(j);
                return r;
        }
        j = cJSON_ParseWithLength(s, n);
        if (!j || !json_get_string(j, "t")) {
                cJSON_Delete(j);
                log_error("hub sent an unreadable line, aborting the exchange");
                return -EBADMSG;
        }
        if (cJSON_IsTrue(json_get(j, "body"))) {
                x->header = j;
                return 0;
        }
        r = relay_message(x, j, NULL, 0);
        cJSON_Delete(j);
        return r;
}

/*
 * The hub went away in the middle of an exchange (it crashed, or stopped while a server
 * worked on the request). A request gets its JSON-RPC error, on its stream if one was
 * open, so the client never waits for an answer that cannot come; the rest get a 502.
 */
static void hub_gone(struct relay *x)
{
        static const char msg[] = "mcp-proxy-hub stopped before the request was answered; "
                                  "the server may have carried it out";
        const cJSON *id = x->r->rpc_id;

        log_error("mcp-proxy-hub closed the exchange early%s",
                  x->taken ? ", after sending the request on" : "");
        if (id && (x->op == RELAY_POST || x->op == RELAY_LEGACY_POST)) {
                _cleanup_json_ cJSON *e = jsonrpc_error_new(id, JSONRPC_INTERNAL_ERROR, msg, NULL);
                _cleanup_cjson_str_ char *body = e ? cJSON_PrintUnformatted(e) : NULL;

                if (body && x->sse_started) {
                        if (relay_event(x, NULL, body, strlen(body)) >= 0)
                                (void)front_sse_end(x->c, x->r);
                        return;
                }
                if (body && x->op == RELAY_POST) {
                        struct front_response resp = {
                            .status = 200,
                            .content_type = "application/json",
                            .body = body,
                            .body_len = strlen(body),
                            .session_id = x->session,
                        };
                        (void)front_respond(x->c, x->r, &resp);
                        return;
                }
        }
        if (x->sse_started)
                (void)front_sse_end(x->c, x->r);
        else if (!x->ret_body)
                (void)front_respond_rpc_error(x->c, x->r, 502, MCP_ERROR_CONNECTION_CLOSED,
                                              "Bad gateway: mcp-proxy-hub closed the connection",
                                              NULL);
}

/* Notice the client leaving without consuming what it sends meanwhile (a
 * pipelined request stays in the socket for the next round). */
static bool client_paused;

static void watch_client(struct front_conn *c)
{
        char b;
        ssize_t n = recv(c->in_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

        if (n == 0)
                c->client_eof = true;
        else if (n > 0)
                client_paused = true; /* data waiting: stop polling until we are done */
        else if (errno == ENOTSOCK)
                client_paused = true;
        else if (errno != EAGAIN && errno != EINTR)
                c->client_eof = true;
}

/*
 * One hub connection per front process, reused by every exchange of the
 * client's keep-alive connection (one at a time): a connect() and the hub's
 * accept per request cost more than the whole relay otherwise.
 */
static int hub_fd = -EBADF;

static void hub_drop(void)
{
        if (hub_fd >= 0)
                close(hub_fd);
        hub_fd = -EBADF;
}

/* The connection to use, fresh or kept; *ret_reused tells which. */
static int hub_get(const char *path, bool *ret_reused)
{
        *ret_reused = false;
        if (hub_fd >= 0) {
                /* Between exchanges the hub sends nothing: anything readable means it closed. */
                struct pollfd p = {.fd = hub_fd, .events = POLLIN};
                if (poll(&p, 1, 0) != 0)
                        hub_drop();
        }
        if (hub_fd >= 0) {
                *ret_reused = true;
                return hub_fd;
        }
        hub_fd = unix_connect(path);
        return hub_fd;
}

int front_relay(struct front_conn *c, struct front_request *r, enum relay_op op,
                const char *message, char **ret_body)
{
        struct relay x = {.c = c, .r = r, .op = op, .ret_body = ret_body};
        struct buf in;
        uint64_t last_write = front_now_usec();
        bool reused, completed = false, retried = false;
        int fd, ret = 0;

        client_paused = false;
        fd = hub_get(c->set->hub_socket, &reused);
        if (fd < 0) {
                log_error_errno(fd, "cannot reach mcp-proxy-hub at '%s': %m", c->set->hub_socket);
                if (ret_body)
                        return fd;
                return front_respond_rpc_error(c, r, 503, MCP_ERROR_CONNECTION_CLOSED,
                                               "Service unavailable: mcp-proxy-hub is not running",
                                               "Retry-After: 1\r\n") < 0
                           ? -EPIPE
                           : 0;
        }
        ret = send_envelope(fd, r, op, message);
        if (ret < 0 && reused) {
                /* The kept connection died under us (a hub restart): once more, fresh. */
                hub_drop();
                fd = hub_get(c->set->hub_socket, &reused);
                ret = fd < 0 ? fd : send_envelope(fd, r, op, message);
        }
        if (ret < 0) {
                hub_drop();
                log_error_errno(ret, "cannot write to mcp-proxy-hub: %m");
                return front_respond_rpc_error(c, r, 502, MCP_ERROR_CONNECTION_CLOSED,
                                               "Bad gateway: mcp-proxy-hub closed the connection",
                                               NULL) < 0
                           ? -EPIPE
                           : 0;
        }
        buf_init(&in, HUB_MAX_LINE + 65536);
        for (;;) {
                struct pollfd p[2] = {
                    {.fd = fd, .events = POLLIN},
                    {.fd = c->in_fd, .events = (c->client_eof || client_paused) ? 0 : POLLIN},
                };
                int timeout = x.sse_started ? HTTP_SSE_KEEPALIVE_MS : -1;
                int k = poll(p, 2, timeout);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        ret = -errno;
                        break;
                }
                if (k == 0) {
                        /* Idle stream: a comment keeps proxies and the client's timers happy,
                         * and tells us if the client is gone. */
                        if (front_now_usec() - last_write >= HTTP_SSE_KEEPALIVE_MS * 1000ULL &&
                            front_sse_write(c, r, ": keep-alive\n\n", 14) < 0) {
                                ret = -EPIPE;
                                break;
                        }
                        last_write = front_now_usec();
                        continue;
                }
                if (p[1].revents) {
                        watch_client(c);
                        if (c->client_eof &&
                            (op == RELAY_GET || op == RELAY_SSE || x.sse_started)) {
                                /* A stream's client has gone: nothing left to deliver to. */
                                ret = -ECONNRESET;
                                break;
                        }
                }
                if (p[0].revents) {
                        char *b = buf_reserve(&in, 65536);
                        ssize_t n;
                        if (!b) {
                                log_error("hub line too long, aborting the exchange");
                                ret = -E2BIG;
                                break;
                        }
                        n = read(fd, b, 65536);
                        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                                continue;
                        if (n < 0 && errno != ECONNRESET && errno != EPIPE) {
                                ret = -errno;
                                break;
                        }
                        if (n <= 0 && !x.got_line && buf_avail(&in) == 0 && !retried) {
                                /* Closed before it answered anything (not a byte), so before
                                 * the request went anywhere (a hub restarting): once more, to
                                 * the next hub, which the service manager's socket holds us
                                 * for. */
                                log_notice("mcp-proxy-hub closed the connection before taking "
                                           "the exchange, sending it again");
                                retried = true;
                                hub_drop();
                                buf_reset(&in);
                                fd = hub_get(c->set->hub_socket, &reused);
                                ret = fd < 0 ? fd : send_envelope(fd, r, op, message);
                                if (ret >= 0)
                                        continue;
                                log_error_errno(ret, "cannot reach mcp-proxy-hub again: %m");
                                if (ret_body)
                                        break;
                                (void)front_respond_rpc_error(
                                    c, r, 503, MCP_ERROR_CONNECTION_CLOSED,
                                    "Service unavailable: mcp-proxy-hub is restarting",
                                    "Retry-After: 1\r\n");
                                ret = 0;
                                c->close_after = true;
                                break;
                        }
                        if (n <= 0) {
                                /* The hub went away mid-exchange. */
                                hub_gone(&x);
                                ret = ret_body ? -ECONNRESET : 0;
                                c->close_after = true;
                                break;
                        }
                        buf_commit(&in, (size_t)n);
                        for (;;) {
                                long l =
                                    wire_find_line(buf_head(&in), buf_avail(&in), HUB_MAX_LINE);
                                int q;
                                if (l == 0)
                                        break;
                                if (l < 0) {
                                        ret = -E2BIG;
                                        goto done;
                                }
                                q = relay_line(&x, buf_head(&in), (size_t)l - 1);
                                buf_consume(&in, (size_t)l);
                                last_write = front_now_usec();
                                if (q != 0) {
                                        ret = q < 0 ? q : 0;
                                        completed = q > 0;
                                        goto done;
                                }
                        }
                }
        }
done:
        if (ret < 0 && !x.sse_started && !ret_body && ret != -EPIPE && ret != -ECONNRESET)
                (void)front_respond_rpc_error(c, r, 502, MCP_ERROR_CONNECTION_CLOSED,
                                              "Bad gateway: invalid answer from mcp-proxy-hub",
                                              NULL);
        if (ret < 0 && x.sse_started)
                c->close_after = true;
        /* Keep the connection only after a complete exchange with nothing left over. */
        if (!completed || buf_avail(&in) > 0)
                hub_drop();
        buf_done(&in);
        free(x.session);
        cJSON_Delete(x.header);
        return ret == -ECONNRESET || ret == -EPIPE ? ret : 0;
}
