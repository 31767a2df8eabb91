/* SPDX-License-Identifier: MIT */
/*
 * mcp-load: an HTTP/1.1 MCP Streamable HTTP load client.
 *
 * --mode call|list|ping: each of --conns connections (one thread each) opens one
 * keep-alive TCP connection, POSTs initialize (capturing Mcp-Session-Id),
 * sends notifications/initialized, then --warmup untimed and --requests
 * timed sequential requests (both PER CONNECTION) of tools/call (--tool,
 * --args), tools/list or ping, with MCP-Protocol-Version and Mcp-Session-Id.
 * Responses are read as application/json or text/event-stream (events until
 * the one whose id matches), framed by Content-Length, chunked or close; each
 * must be a result for the right id, else it counts as a failure.
 *
 * --mode health-cold: every request opens a new TCP connection for GET
 * /health (under socket activation: one exec of the front per request) and
 * also reports the time to the first response byte (ttfb_*).
 *
 * Output, one line per run:
 *   RESULT name=.. mode=.. conns=.. n=.. ok=.. fail=.. p50_us=.. p90_us=.. p99_us=..
 *          max_us=.. mean_us=.. rps=.. ...
 * rps counts successful timed requests over all connections per second of
 * the timed phase (all connections start it together, after their warm-up).
 *
 * --protocol 2026-07-28 speaks the stateless revision instead: no initialize and no
 * session; every request carries _meta (protocol version, no client capabilities) and the
 * Mcp-Method (and for tools/call Mcp-Name) headers.
 *
 * --hold-ms keeps the connections open that long after the RESULT line (so a
 * caller can sample the processes serving them), then DELETEs the sessions.
 *
 * --transport sse speaks the legacy HTTP+SSE transport (protocol 2024-11-05)
 * instead: each connection first GETs --path (default /sse) and keeps that
 * stream open, takes the endpoint event, then POSTs every message there on a
 * second keep-alive connection; the POST answers 2xx and the response arrives
 * as an event on the stream (latency: from the POST to that event).
 *
 * Exit status: 0 no failures, 1 failures or a runtime error, 2 usage.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "json.h"

#define CONN_BUF_SIZE    (64 * 1024)        /* read buffer; a header line must fit */
#define BODY_MAX         (16 * 1024 * 1024) /* one response body */
#define REQ_BODY_MAX     8192
#define REQ_MAX          (REQ_BODY_MAX + 2048)
#define SESSION_ID_MAX   256
#define PROTO_MAX        32
#define LINGER_MS        1000 /* an SSE body still open this long after its response */
#define MAX_CONNS        1024
#define MAX_ERRORS_SHOWN 5
#define ENDPOINT_MAX     1024
#define EVENT_NAME_MAX   64

enum transport {
        TRANSPORT_HTTP, /* Streamable HTTP */
        TRANSPORT_SSE,  /* legacy HTTP+SSE: GET stream + POST endpoint */
};

enum mode {
        MODE_CALL,
        MODE_LIST,
        MODE_PING,
        MODE_HEALTH_COLD,
};

static const char *arg_host = "127.0.0.1";
static uint64_t arg_port = 8080;
static const char *arg_path = NULL; /* default /mcp, or /sse with --transport sse */
static enum transport arg_transport = TRANSPORT_HTTP;
static const char *arg_health_path = "/health";
static const char *arg_key = NULL;
static uint64_t arg_conns = 1;
static uint64_t arg_requests = 1000;
static uint64_t arg_warmup = 100;
static uint64_t arg_timeout_ms = 10000;
static uint64_t arg_hold_ms = 0;
static const char *arg_tool = "echo";
static const char *arg_args = "{\"message\":\"hello\"}";
static const char *arg_protocol = "2025-11-25";
static const char *arg_name = NULL;
static enum mode arg_mode = MODE_CALL;
static bool arg_print_body = false;
static bool arg_no_delete = false;

static struct sockaddr_in dest;
static pthread_barrier_t start_barrier;
static atomic_int errors_shown;

/* Bounded growable byte buffer. */
struct dbuf {
        char *p;
        size_t n, cap;
};

static int dbuf_append(struct dbuf *b, const char *p, size_t n)
{
        if (b->n + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 4096;
                char *q;
                while (cap < b->n + n + 1)
                        cap *= 2;
                if (cap > BODY_MAX)
                        return -E2BIG;
                q = realloc(b->p, cap);
                if (!q)
                        return -ENOMEM;
                b->p = q;
                b->cap = cap;
        }
        memcpy(b->p + b->n, p, n);
        b->n += n;
        b->p[b->n] = '\0';
        return 0;
}

static void dbuf_done(struct dbuf *b)
{
        free(b->p);
        *b = (struct dbuf){};
}

struct conn {
        int fd;
        char buf[CONN_BUF_SIZE];
        size_t start, end;
        uint64_t t_first_byte; /* 0 until a read returns data, after conn_mark() */
        int poll_ms;           /* > 0: wait at most this long for data, else -ETIME */
        char session[SESSION_ID_MAX];
        char proto[PROTO_MAX];
};

enum framing {
        FRAMING_NONE, /* no body: 1xx, 204, 304 */
        FRAMING_LENGTH,
        FRAMING_CHUNKED,
        FRAMING_CLOSE,
        _FRAMING_MAX,
};

static const char *const framing_names[_FRAMING_MAX] = {"none", "cl", "chunked", "close"};

enum chunk_state {
        CHUNK_SIZE,
        CHUNK_DATA,
        CHUNK_DATA_END,
        CHUNK_TRAILER,
        CHUNK_DONE,
};

struct response {
        int status;
        enum framing framing;
        bool close;
        bool sse;
        bool json;
        uint64_t remaining; /* FRAMING_LENGTH: body left; chunked: chunk left */
        enum chunk_state chunk;
        bool done;
        char session[SESSION_ID_MAX];
};

/* What one exchange produced. */
struct outcome {
        int status;
        bool matched; /* a response with the awaited id arrived */
        bool good;    /* ... and it was a result of the expected shape */
        bool lingered;
        uint64_t t_match;
        cJSON *msg; /* the matched message, when requested */
        char note[160];
};

struct worker {
        int idx;
        struct conn c;
        pthread_t thread;
        struct lat lat, ttfb;
        uint64_t ok, fail, init_ns, t_start, t_end;
        uint64_t reconnects, lingers, resp_sse, resp_json, other;
        uint64_t framing[_FRAMING_MAX];
        bool dead;
        struct dbuf body, data;
        struct dbuf last_body; /* --print-body */
        int64_t next_id;
        /* --transport sse: the GET stream, its unparsed bytes and the event being read */
        struct conn s;
        struct response sresp;
        struct dbuf sbuf, sdata;
        size_t spos;
        char sevent[EVENT_NAME_MAX];
        char endpoint[ENDPOINT_MAX]; /* path and query the messages are POSTed to */
};

static void report_error(struct worker *w, const char *what, const char *detail)
{
        if (atomic_fetch_add(&errors_shown, 1) < MAX_ERRORS_SHOWN)
                fprintf(stderr, "mcp-load: conn %d: %s%s%s\n", w->idx, what, detail ? ": " : "",
                        detail ? detail : "");
}

static void conn_close(struct conn *c)
{
        c->fd = safe_close(c->fd);
        c->start = c->end = 0;
}

static int conn_open(struct conn *c)
{
        struct timeval tv = {.tv_sec = (time_t)(arg_timeout_ms / 1000),
                             .tv_usec = (suseconds_t)(arg_timeout_ms % 1000) * 1000};
        int one = 1, fd;

        conn_close(c);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, (const struct sockaddr *)&dest, sizeof(dest)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        c->fd = fd;
        return 0;
}

/* Reads more into the buffer. Returns bytes read, 0 at EOF, -errno. */
static int conn_fill(struct conn *c)
{
        ssize_t k;

        if (c->fd < 0)
                return -ENOTCONN;
        if (c->start == c->end)
                c->start = c->end = 0;
        if (c->end == sizeof(c->buf)) {
                if (c->start == 0)
                        return -ENOBUFS;
                memmove(c->buf, c->buf + c->start, c->end - c->start);
                c->end -= c->start;
                c->start = 0;
        }
        if (c->poll_ms > 0) {
                struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
                int r = poll(&pfd, 1, c->poll_ms);
                if (r < 0)
                        return -errno;
                if (r == 0)
                        return -ETIME;
        }
        do
                k = read(c->fd, c->buf + c->end, sizeof(c->buf) - c->end);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return errno == EAGAIN ? -ETIMEDOUT : -errno;
        if (k > 0 && c->t_first_byte == 0)
                c->t_first_byte = now_ns();
        c->end += (size_t)k;
        return (int)k;
}

/* Returns the next line without its CRLF (or LF), borrowed from the buffer. */
static int conn_line(struct conn *c, char **ret, size_t *ret_len)
{
        size_t scanned = 0;

        for (;;) {
                char *nl = memchr(c->buf + c->start + scanned, '\n', c->end - c->start - scanned);
                if (nl) {
                        char *line = c->buf + c->start;
                        size_t len = (size_t)(nl - line);
                        c->start += len + 1;
                        if (len > 0 && line[len - 1] == '\r')
                                len--;
                        line[len] = '\0';
                        *ret = line;
                        *ret_len = len;
                        return 0;
                }
                scanned = c->end - c->start;
                int r = conn_fill(c);
                if (r < 0)
                        return r;
                if (r == 0)
                        return -EPIPE;
                /* conn_fill may have moved the data to the front; scanned stays valid */
        }
}

static bool header_is(const char *line, size_t len, const char *name, const char **ret_value)
{
        size_t n = strlen(name);
        const char *v;

        if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
                return false;
        v = line + n + 1;
        while (*v == ' ' || *v == '\t')
                v++;
        *ret_value = v;
        return true;
}

/* Reads a status line and headers, skipping 1xx responses. */
static int read_head(struct conn *c, struct response *resp, bool head_request)
{
        for (;;) {
                char *line;
                size_t len;
                int major, minor, status, r;
                bool have_length = false, chunked = false, keep_alive = false;

                *resp = (struct response){};
                r = conn_line(c, &line, &len);
                if (r < 0)
                        return r;
                if (sscanf(line, "HTTP/%d.%d %d", &major, &minor, &status) != 3 || status < 100 ||
                    status > 999)
                        return -EBADMSG;
                resp->status = status;
                for (;;) {
                        const char *v;
                        r = conn_line(c, &line, &len);
                        if (r < 0)
                                return r;
                        if (len == 0)
                                break;
                        if (header_is(line, len, "content-length", &v)) {
                                char *end;
                                errno = 0;
                                resp->remaining = strtoull(v, &end, 10);
                                if (errno || end == v)
                                        return -EBADMSG;
                                have_length = true;
                        } else if (header_is(line, len, "transfer-encoding", &v)) {
                                if (strcasestr(v, "chunked"))
                                        chunked = true;
                        } else if (header_is(line, len, "connection", &v)) {
                                if (strcasestr(v, "close"))
                                        resp->close = true;
                                if (strcasestr(v, "keep-alive"))
                                        keep_alive = true;
                        } else if (header_is(line, len, "content-type", &v)) {
                                if (strncasecmp(v, "text/event-stream", 17) == 0)
                                        resp->sse = true;
                                else if (strncasecmp(v, "application/json", 16) == 0)
                                        resp->json = true;
                        } else if (header_is(line, len, "mcp-session-id", &v)) {
                                snprintf(resp->session, sizeof(resp->session), "%s", v);
                        }
                }
                if (status >= 100 && status < 200)
                        continue; /* 100 Continue and friends: the real head follows */
                if (major == 1 && minor == 0 && !keep_alive)
                        resp->close = true;
                if (head_request || status == 204 || status == 304)
                        resp->framing = FRAMING_NONE;
                else if (chunked)
                        resp->framing = FRAMING_CHUNKED;
                else if (have_length)
                        resp->framing = FRAMING_LENGTH;
                else {
                        resp->framing = FRAMING_CLOSE;
                        resp->close = true;
                }
                resp->chunk = CHUNK_SIZE;
                resp->done = resp->framing == FRAMING_NONE ||
                             (resp->framing == FRAMING_LENGTH && resp->remaining == 0);
                return 0;
        }
}

/* Makes sure some body bytes are buffered. Returns > 0, 0 at EOF, -errno. */
static int conn_need(struct conn *c)
{
        if (c->end > c->start)
                return 1;
        return conn_fill(c);
}

/* The next piece of decoded body, borrowed from the buffer: 1, or 0 at its end, or -errno. */
static int body_next(struct conn *c, struct response *resp, const char **ret, size_t *ret_len)
{
        for (;;) {
                char *line;
                size_t len, avail;
                int r;

                if (resp->done)
                        return 0;
                switch (resp->framing) {
                case FRAMING_NONE:
                        resp->done = true;
                        return 0;
                case FRAMING_LENGTH:
                        r = conn_need(c);
                        if (r < 0)
                                return r;
                        if (r == 0)
                                return -EPIPE;
                        avail = MIN(c->end - c->start, resp->remaining);
                        *ret = c->buf + c->start;
                        *ret_len = avail;
                        c->start += avail;
                        resp->remaining -= avail;
                        if (resp->remaining == 0)
                                resp->done = true;
                        return 1;
                case FRAMING_CLOSE:
                        r = conn_need(c);
                        if (r < 0)
                                return r;
                        if (r == 0) {
                                resp->done = true;
                                return 0;
                        }
                        *ret = c->buf + c->start;
                        *ret_len = c->end - c->start;
                        c->start = c->end;
                        return 1;
                case FRAMING_CHUNKED:
                        switch (resp->chunk) {
                        case CHUNK_SIZE: {
                                char *end;
                                r = conn_line(c, &line, &len);
                                if (r < 0)
                                        return r;
                                if (!isxdigit((unsigned char)line[0]))
                                        return -EBADMSG;
                                errno = 0;
                                resp->remaining = strtoull(line, &end, 16);
                                if (errno || (*end && *end != ';' && *end != ' '))
                                        return -EBADMSG;
                                resp->chunk = resp->remaining ? CHUNK_DATA : CHUNK_TRAILER;
                                continue;
                        }
                        case CHUNK_DATA:
                                r = conn_need(c);
                                if (r < 0)
                                        return r;
                                if (r == 0)
                                        return -EPIPE;
                                avail = MIN(c->end - c->start, resp->remaining);
                                *ret = c->buf + c->start;
                                *ret_len = avail;
                                c->start += avail;
                                resp->remaining -= avail;
                                if (resp->remaining == 0)
                                        resp->chunk = CHUNK_DATA_END;
                                return 1;
                        case CHUNK_DATA_END:
                                r = conn_line(c, &line, &len);
                                if (r < 0)
                                        return r;
                                if (len != 0)
                                        return -EBADMSG;
                                resp->chunk = CHUNK_SIZE;
                                continue;
                        case CHUNK_TRAILER:
                                r = conn_line(c, &line, &len);
                                if (r < 0)
                                        return r;
                                if (len == 0) {
                                        resp->chunk = CHUNK_DONE;
                                        resp->done = true;
                                        return 0;
                                }
                                continue;
                        case CHUNK_DONE:
                                resp->done = true;
                                return 0;
                        }
                        return -EBADMSG;
                case _FRAMING_MAX:
                        break;
                }
                return -EBADMSG;
        }
}

/*
 * Checks one JSON-RPC message against the awaited id. Sets o->matched/good when it is the
 * response; other messages (notifications, server requests, other ids) are counted.
 */
static void check_message(struct worker *w, const char *p, size_t n, int64_t expect_id,
                          enum mode mode, struct outcome *o)
{
        _cleanup_json_ cJSON *m = cJSON_ParseWithLength(p, n);
        cJSON *id, *res;

        if (!m) {
                snprintf(o->note, sizeof(o->note), "unparsable JSON message");
                w->other++;
                return;
        }
        id = json_get(m, "id");
        if (json_get(m, "method") || !cJSON_IsNumber(id) || (int64_t)id->valuedouble != expect_id) {
                w->other++;
                return;
        }
        o->matched = true;
        o->t_match = now_ns();
        res = json_get(m, "result");
        if (!cJSON_IsObject(res)) {
                cJSON *err = json_get(m, "error");
                const char *msg = cJSON_IsObject(err) ? json_get_string(err, "message") : NULL;
                snprintf(o->note, sizeof(o->note), "error response: %s", msg ? msg : "(no result)");
        } else if (mode == MODE_CALL && cJSON_IsTrue(json_get(res, "isError")))
                snprintf(o->note, sizeof(o->note), "tool result isError=true");
        else if (mode == MODE_LIST && !cJSON_IsArray(json_get(res, "tools")))
                snprintf(o->note, sizeof(o->note), "tools/list result without tools");
        else
                o->good = true;
        if (o->good && !o->msg)
                o->msg = TAKE_PTR(m);
}

/* Feeds complete SSE lines of w->body from *pos: dispatches "data" at each blank line. */
static void sse_scan(struct worker *w, size_t *pos, bool final, int64_t expect_id, enum mode mode,
                     struct outcome *o)
{
        if (!w->body.p)
                return;
        for (;;) {
                char *line = w->body.p + *pos, *nl;
                size_t len;

                nl = memchr(line, '\n', w->body.n - *pos);
                if (!nl) {
                        if (!final)
                                return;
                        len = w->body.n - *pos; /* a last line without its newline */
                        *pos = w->body.n;
                } else {
                        len = (size_t)(nl - line);
                        *pos += len + 1;
                }
                if (len > 0 && line[len - 1] == '\r')
                        len--;
                if (len == 0) {
                        if (w->data.n > 0 && !o->matched)
                                check_message(w, w->data.p, w->data.n, expect_id, mode, o);
                        w->data.n = 0;
                        if (!nl)
                                return;
                        continue;
                }
                if (len >= 5 && memcmp(line, "data:", 5) == 0) {
                        const char *v = line + 5;
                        size_t vlen = len - 5;
                        if (vlen > 0 && *v == ' ')
                                v++, vlen--;
                        if (w->data.n > 0)
                                (void)dbuf_append(&w->data, "\n", 1);
                        (void)dbuf_append(&w->data, v, vlen);
                } /* event:, id:, retry: and ":" comments carry nothing we check */
                if (!nl) {
                        if (w->data.n > 0 && !o->matched)
                                check_message(w, w->data.p, w->data.n, expect_id, mode, o);
                        w->data.n = 0;
                        return;
                }
        }
}

/*
 * Sends one request and reads its response to the end of the body. expect_id < 0: a
 * notification (any 2xx, no message awaited). Returns 0 when the HTTP exchange completed
 * (o says how it went), -errno when the connection failed (it is closed then).
 */
static int exchange(struct worker *w, const char *req, size_t req_len, int64_t expect_id,
                    enum mode mode, bool want_msg, bool head_request, struct outcome *o)
{
        struct conn *c = &w->c;
        struct response resp;
        size_t pos = 0;
        const char *piece;
        size_t n;
        int r;

        *o = (struct outcome){};
        w->body.n = 0;
        w->data.n = 0;
        c->poll_ms = 0;
        for (size_t off = 0; off < req_len;) {
                ssize_t k = send(c->fd, req + off, req_len - off, MSG_NOSIGNAL);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto fail;
                }
                off += (size_t)k;
        }
        r = read_head(c, &resp, head_request);
        if (r < 0)
                goto fail;
        o->status = resp.status;
        w->framing[resp.framing]++;
        if (resp.session[0])
                memcpy(c->session, resp.session, sizeof(c->session));
        if (resp.sse)
                w->resp_sse++;
        else if (resp.json)
                w->resp_json++;

        for (;;) {
                r = body_next(c, &resp, &piece, &n);
                if (r == -ETIME) {
                        /* the stream stayed open after its response: drop the connection */
                        o->lingered = true;
                        w->lingers++;
                        conn_close(c);
                        break;
                }
                if (r < 0)
                        goto fail;
                if (r == 0)
                        break;
                r = dbuf_append(&w->body, piece, n);
                if (r < 0)
                        goto fail;
                if (resp.sse && expect_id >= 0 && resp.status == 200) {
                        sse_scan(w, &pos, false, expect_id, mode, o);
                        if (o->matched)
                                c->poll_ms = LINGER_MS;
                        if (pos == w->body.n) { /* all consumed: keep the buffer small */
                                w->body.n = 0;
                                pos = 0;
                        }
                }
        }
        c->poll_ms = 0;
        if (expect_id >= 0 && resp.status == 200 && !o->matched) {
                if (resp.sse)
                        sse_scan(w, &pos, true, expect_id, mode, o);
                else if (w->body.n > 0)
                        check_message(w, w->body.p, w->body.n, expect_id, mode, o);
                if (!o->matched && !o->note[0])
                        snprintf(o->note, sizeof(o->note), "no response with id %lld in the body",
                                 (long long)expect_id);
        } else if (expect_id < 0 && resp.status >= 200 && resp.status < 300) {
                o->matched = o->good = true;
                o->t_match = now_ns();
        } else if (resp.status != 200 && !o->note[0]) {
                snprintf(o->note, sizeof(o->note), "HTTP %d: %.120s", resp.status,
                         w->body.p ? w->body.p : "");
        }
        if (want_msg && !o->good) {
                cJSON_Delete(o->msg);
                o->msg = NULL;
        }
        if (!want_msg && o->msg) {
                cJSON_Delete(o->msg);
                o->msg = NULL;
        }
        if (resp.close && c->fd >= 0)
                conn_close(c);
        return 0;
fail:
        conn_close(c);
        return r;
}

static bool modern(void)
{
        return strcmp(arg_protocol, "2026-07-28") == 0;
}

static int format_post(struct worker *w, char *buf, size_t size, const char *body,
                       const char *extra)
{
        struct conn *c = &w->c;
        size_t blen = strlen(body);
        int n = snprintf(
            buf, size,
            "POST %s HTTP/1.1\r\n"
            "Host: %s:%u\r\n"
            "%s"
            "%s%s%s"
            "Accept: application/json, text/event-stream\r\n"
            "Content-Type: application/json\r\n"
            "%s%s%s"
            "%s%s%s"
            "Content-Length: %zu\r\n"
            "\r\n"
            "%s",
            arg_transport == TRANSPORT_SSE ? w->endpoint : arg_path, arg_host, (unsigned)arg_port,
            extra ? extra : "", arg_key ? "Authorization: Bearer " : "", arg_key ?: "",
            arg_key ? "\r\n" : "", c->proto[0] ? "MCP-Protocol-Version: " : "", c->proto,
            c->proto[0] ? "\r\n" : "", c->session[0] ? "Mcp-Session-Id: " : "", c->session,
            c->session[0] ? "\r\n" : "", blen, body);
        if (n < 0 || (size_t)n >= size)
                return -E2BIG;
        return n;
}

static int format_rpc(enum mode mode, int64_t id, char *buf, size_t size)
{
        int n;

        if (mode == MODE_PING)
                n = snprintf(buf, size, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":\"ping\"}",
                             (long long)id);
        else if (mode == MODE_LIST)
                n = snprintf(buf, size,
                             "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":\"tools/list\","
                             "\"params\":{}}",
                             (long long)id);
        else
                n = snprintf(buf, size,
                             "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"method\":\"tools/call\","
                             "\"params\":{\"name\":\"%s\",\"arguments\":%s}}",
                             (long long)id, arg_tool, arg_args);
        if (n < 0 || (size_t)n >= size)
                return -E2BIG;
        return n;
}

/*
 * --transport sse: reads the GET stream up to the end of the next event that carries data.
 * Returns 0 with w->sevent (its type, "message" when it names none) and w->sdata, or -errno
 * (-EPIPE when the stream ended); the stream connection is closed on an error.
 */
static int stream_event(struct worker *w)
{
        int r;

        w->sevent[0] = '\0';
        w->sdata.n = 0;
        for (;;) {
                const char *piece;
                size_t n;
                char *nl;

                while (w->sbuf.n > w->spos &&
                       (nl = memchr(w->sbuf.p + w->spos, '\n', w->sbuf.n - w->spos))) {
                        char *line = w->sbuf.p + w->spos;
                        size_t len = (size_t)(nl - line);

                        w->spos += len + 1;
                        if (len > 0 && line[len - 1] == '\r')
                                len--;
                        if (len == 0) {
                                if (w->sdata.n > 0) {
                                        if (!w->sevent[0])
                                                snprintf(w->sevent, sizeof(w->sevent), "message");
                                        return 0;
                                }
                                w->sevent[0] = '\0';
                                continue;
                        }
                        if (len >= 5 && memcmp(line, "data:", 5) == 0) {
                                const char *v = line + 5;
                                size_t vlen = len - 5;
                                if (vlen > 0 && *v == ' ')
                                        v++, vlen--;
                                r = w->sdata.n > 0 ? dbuf_append(&w->sdata, "\n", 1) : 0;
                                if (r >= 0)
                                        r = dbuf_append(&w->sdata, v, vlen);
                                if (r < 0)
                                        goto fail;
                        } else if (len >= 6 && memcmp(line, "event:", 6) == 0) {
                                const char *v = line + 6;
                                size_t vlen = len - 6;
                                if (vlen > 0 && *v == ' ')
                                        v++, vlen--;
                                snprintf(w->sevent, sizeof(w->sevent), "%.*s", (int)vlen, v);
                        } /* id:, retry: and ":" comments carry nothing we use */
                }
                if (w->spos > 0) { /* keep only the unparsed tail */
                        memmove(w->sbuf.p, w->sbuf.p + w->spos, w->sbuf.n - w->spos);
                        w->sbuf.n -= w->spos;
                        w->spos = 0;
                }
                r = body_next(&w->s, &w->sresp, &piece, &n);
                if (r == 0)
                        r = -EPIPE;
                if (r >= 0)
                        r = dbuf_append(&w->sbuf, piece, n);
                if (r < 0)
                        goto fail;
        }
fail:
        conn_close(&w->s);
        w->sbuf.n = w->spos = 0;
        return r;
}

/* --transport sse: waits on the stream for the response with expect_id (sets o like exchange). */
static int stream_wait(struct worker *w, int64_t expect_id, enum mode mode, bool want_msg,
                       struct outcome *o)
{
        *o = (struct outcome){.status = 200};
        while (!o->matched) {
                int r = stream_event(w);
                if (r < 0)
                        return r;
                if (strcmp(w->sevent, "message") == 0)
                        check_message(w, w->sdata.p, w->sdata.n, expect_id, mode, o);
                else
                        w->other++;
        }
        if (o->good)
                w->resp_sse++;
        if (o->msg && (!want_msg || !o->good)) {
                cJSON_Delete(o->msg);
                o->msg = NULL;
        }
        return 0;
}

/*
 * --transport sse: opens the GET stream and reads its endpoint event into w->endpoint (a
 * relative URL is resolved against the stream's path; an absolute one must name our host).
 */
static int stream_open(struct worker *w)
{
        char req[REQ_MAX];
        const char *e;
        int n, r;

        r = conn_open(&w->s);
        if (r < 0)
                return r;
        w->sbuf.n = w->spos = 0;
        n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: %s:%u\r\n%s%s%sAccept: text/event-stream\r\n\r\n",
                     arg_path, arg_host, (unsigned)arg_port,
                     arg_key ? "Authorization: Bearer " : "", arg_key ?: "", arg_key ? "\r\n" : "");
        if (n < 0 || (size_t)n >= sizeof(req))
                return -E2BIG;
        for (size_t off = 0; off < (size_t)n;) {
                ssize_t k = send(w->s.fd, req + off, (size_t)n - off, MSG_NOSIGNAL);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = -errno;
                        conn_close(&w->s);
                        return r;
                }
                off += (size_t)k;
        }
        r = read_head(&w->s, &w->sresp, false);
        if (r < 0) {
                conn_close(&w->s);
                return r;
        }
        w->framing[w->sresp.framing]++;
        if (w->sresp.status != 200 || !w->sresp.sse) {
                char note[96];
                snprintf(note, sizeof(note), "GET %s: HTTP %d%s", arg_path, w->sresp.status,
                         w->sresp.sse ? "" : ", not text/event-stream");
                report_error(w, "stream", note);
                conn_close(&w->s);
                return -EPROTO;
        }
        do {
                r = stream_event(w);
                if (r < 0)
                        return r;
        } while (strcmp(w->sevent, "endpoint") != 0);

        e = w->sdata.p;
        if (strncmp(e, "http://", 7) == 0 || strncmp(e, "https://", 8) == 0) {
                /* scheme://host[:port]/path: only our own host and port make sense here */
                const char *hp = strstr(e, "://") + 3, *slash = strchr(hp, '/');
                char want[128];
                snprintf(want, sizeof(want), "%s:%u", arg_host, (unsigned)arg_port);
                if (!slash || (size_t)(slash - hp) != strlen(want) ||
                    strncmp(hp, want, strlen(want)) != 0) {
                        report_error(w, "endpoint on another host", e);
                        return -EPROTO;
                }
                e = slash;
        }
        if (e[0] == '/')
                n = snprintf(w->endpoint, sizeof(w->endpoint), "%s", e);
        else { /* relative to the stream's directory */
                const char *last = strrchr(arg_path, '/');
                n = snprintf(w->endpoint, sizeof(w->endpoint), "%.*s/%s",
                             last ? (int)(last - arg_path) : 0, arg_path, e);
        }
        if (n < 0 || (size_t)n >= sizeof(w->endpoint) || strpbrk(w->endpoint, " \r\n")) {
                report_error(w, "endpoint unusable", e);
                return -EPROTO;
        }
        return 0;
}

/*
 * Sends one JSON-RPC message and gets its response, over either transport: with sse the POST
 * only has to be accepted (2xx) and the response with id comes on the stream. Returns like
 * exchange(); a broken stream is -errno too.
 */
static int rpc_exchange(struct worker *w, const char *req, size_t req_len, int64_t id,
                        enum mode mode, bool want_msg, struct outcome *o)
{
        int r;

        if (arg_transport == TRANSPORT_HTTP)
                return exchange(w, req, req_len, id, mode, want_msg, false, o);
        r = exchange(w, req, req_len, -1, mode, false, false, o);
        if (r < 0 || !o->good || id < 0)
                return r;
        return stream_wait(w, id, mode, want_msg, o);
}

/* Opens the connection and runs initialize + notifications/initialized on it. */
static int session_start(struct worker *w)
{
        char body[REQ_BODY_MAX], req[REQ_MAX];
        struct outcome o;
        uint64_t t0;
        int n, r;

        if (arg_transport == TRANSPORT_SSE) {
                r = stream_open(w);
                if (r < 0) {
                        report_error(w, "stream", strerror(-r));
                        return r;
                }
        }
        r = conn_open(&w->c);
        if (r < 0) {
                report_error(w, "connect", strerror(-r));
                return r;
        }
        w->c.session[0] = '\0';
        w->c.proto[0] = '\0';
        if (modern()) {
                /* Stateless: nothing to open but the connection. */
                snprintf(w->c.proto, sizeof(w->c.proto), "%s", arg_protocol);
                return 0;
        }
        n = snprintf(body, sizeof(body),
                     "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
                     "\"protocolVersion\":\"%s\",\"capabilities\":{},"
                     "\"clientInfo\":{\"name\":\"mcp-load\",\"version\":\"0.1\"}}}",
                     arg_protocol);
        if (n < 0 || (size_t)n >= sizeof(body))
                return -E2BIG;
        n = format_post(w, req, sizeof(req), body, NULL);
        if (n < 0)
                return n;
        t0 = now_ns();
        r = rpc_exchange(w, req, (size_t)n, 0, MODE_CALL, true, &o);
        if (r < 0) {
                report_error(w, "initialize", strerror(-r));
                return r;
        }
        if (!o.good) {
                report_error(w, "initialize", o.note);
                cJSON_Delete(o.msg);
                return -EPROTO;
        }
        w->init_ns = o.t_match - t0;
        const char *pv = json_get_string(json_get(o.msg, "result"), "protocolVersion");
        /* legacy SSE has no MCP-Protocol-Version header and no Mcp-Session-Id */
        if (arg_transport == TRANSPORT_HTTP)
                snprintf(w->c.proto, sizeof(w->c.proto), "%s", pv ? pv : arg_protocol);
        cJSON_Delete(o.msg);
        if (!w->c.session[0] && arg_transport == TRANSPORT_HTTP)
                report_error(w, "initialize", "no Mcp-Session-Id header, going on without one");

        if (w->c.fd < 0) {
                r = conn_open(&w->c);
                if (r < 0)
                        return r;
                w->reconnects++;
        }
        n = format_post(w, req, sizeof(req),
                        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", NULL);
        if (n < 0)
                return n;
        r = rpc_exchange(w, req, (size_t)n, -1, MODE_CALL, false, &o);
        if (r < 0) {
                report_error(w, "notifications/initialized", strerror(-r));
                return r;
        }
        if (!o.good) {
                report_error(w, "notifications/initialized", o.note);
                return -EPROTO;
        }
        return 0;
}

/* One request on the session's connection, reconnecting first if the last one closed it. */
static int session_request(struct worker *w, bool timed)
{
        char body[REQ_BODY_MAX], req[REQ_MAX], extra[512] = "";
        struct outcome o;
        int64_t id = w->next_id++;
        uint64_t t0;
        int n, r;

        if (w->c.fd < 0) {
                r = conn_open(&w->c);
                if (r < 0) {
                        report_error(w, "reconnect", strerror(-r));
                        return r;
                }
                w->reconnects++;
        }
        n = format_rpc(arg_mode, id, body, sizeof(body));
        if (n < 0)
                return n;
        if (modern()) {
                /* _meta goes in params (every mode's body ends with "}}" but ping's). */
                static const char meta[] =
                    ",\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
                    "\"io.modelcontextprotocol/clientCapabilities\":{}}}}";
                if (arg_mode == MODE_PING || (size_t)n + sizeof(meta) > sizeof(body))
                        return -EINVAL;
                snprintf(body + n - 2, sizeof(body) - (size_t)n + 2, "%s", meta);
                if (body[n - 3] == '{') /* "params":{} */
                        memmove(body + n - 2, body + n - 1, strlen(body + n - 1) + 1);
                snprintf(extra, sizeof(extra), "Mcp-Method: %s\r\n%s%s%s",
                         arg_mode == MODE_LIST ? "tools/list" : "tools/call",
                         arg_mode == MODE_LIST ? "" : "Mcp-Name: ",
                         arg_mode == MODE_LIST ? "" : arg_tool,
                         arg_mode == MODE_LIST ? "" : "\r\n");
        }
        n = format_post(w, req, sizeof(req), body, extra[0] ? extra : NULL);
        if (n < 0)
                return n;
        t0 = now_ns();
        r = rpc_exchange(w, req, (size_t)n, id, arg_mode, false, &o);
        if (r < 0) {
                report_error(w, "request", strerror(-r));
                if (timed)
                        w->fail++;
                return 0; /* the connection is closed; the next request reconnects */
        }
        if (!timed)
                return 0;
        if (o.good) {
                w->ok++;
                return lat_add(&w->lat, o.t_match - t0);
        }
        w->fail++;
        report_error(w, "request", o.note);
        return 0;
}

static int health_once(struct worker *w, bool timed)
{
        char req[REQ_MAX];
        struct outcome o;
        uint64_t t0;
        int n, r;

        n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: %s:%u\r\n%s%s%sConnection: close\r\n\r\n",
                     arg_health_path, arg_host, (unsigned)arg_port,
                     arg_key ? "Authorization: Bearer " : "", arg_key ?: "", arg_key ? "\r\n" : "");
        if (n < 0 || (size_t)n >= sizeof(req))
                return -E2BIG;
        t0 = now_ns();
        w->c.t_first_byte = 0;
        r = conn_open(&w->c);
        if (r < 0) {
                report_error(w, "connect", strerror(-r));
                if (timed)
                        w->fail++;
                return 0;
        }
        r = exchange(w, req, (size_t)n, -1, MODE_HEALTH_COLD, false, false, &o);
        uint64_t t1 = now_ns();
        conn_close(&w->c);
        if (arg_print_body) {
                w->last_body.n = 0;
                if (w->body.n)
                        (void)dbuf_append(&w->last_body, w->body.p, w->body.n);
        }
        if (r < 0) {
                report_error(w, "GET /health", strerror(-r));
                if (timed)
                        w->fail++;
                return 0;
        }
        if (!timed)
                return 0;
        if (o.status != 200) {
                char note[64];
                snprintf(note, sizeof(note), "HTTP %d", o.status);
                report_error(w, "GET /health", note);
                w->fail++;
                return 0;
        }
        w->ok++;
        r = lat_add(&w->lat, t1 - t0);
        if (r < 0)
                return r;
        return lat_add(&w->ttfb, w->c.t_first_byte ? w->c.t_first_byte - t0 : t1 - t0);
}

static void *worker_run(void *userdata)
{
        struct worker *w = userdata;
        int r = 0;

        if (arg_mode != MODE_HEALTH_COLD) {
                r = session_start(w);
                for (uint64_t i = 0; r >= 0 && i < arg_warmup; i++)
                        r = session_request(w, false);
        } else
                for (uint64_t i = 0; r >= 0 && i < arg_warmup; i++)
                        r = health_once(w, false);
        if (r < 0)
                w->dead = true;
        pthread_barrier_wait(&start_barrier);
        w->t_start = now_ns();
        if (w->dead) {
                w->fail += arg_requests;
                w->t_end = w->t_start;
                return NULL;
        }
        for (uint64_t i = 0; i < arg_requests; i++) {
                r = arg_mode == MODE_HEALTH_COLD ? health_once(w, true) : session_request(w, true);
                if (r < 0) {
                        w->fail += arg_requests - i;
                        w->dead = true;
                        break;
                }
        }
        w->t_end = now_ns();
        return NULL;
}

/* Ends a session with DELETE on its connection; failures are only reported. */
static void session_delete(struct worker *w)
{
        char req[REQ_MAX];
        struct outcome o;
        int n;

        if (!w->c.session[0])
                return;
        if (w->c.fd < 0 && conn_open(&w->c) < 0)
                return;
        n = snprintf(req, sizeof(req),
                     "DELETE %s HTTP/1.1\r\nHost: %s:%u\r\n%s%s%sMCP-Protocol-Version: %s\r\n"
                     "Mcp-Session-Id: %s\r\nContent-Length: 0\r\n\r\n",
                     arg_path, arg_host, (unsigned)arg_port,
                     arg_key ? "Authorization: Bearer " : "", arg_key ?: "", arg_key ? "\r\n" : "",
                     w->c.proto, w->c.session);
        if (n < 0 || (size_t)n >= sizeof(req))
                return;
        if (exchange(w, req, (size_t)n, -1, MODE_CALL, false, false, &o) == 0 && !o.good)
                report_error(w, "DELETE (ignored)", o.note);
}

static void help(void)
{
        printf("Usage: mcp-load [OPTIONS]\n"
               "  --host ADDR         IPv4 address (default 127.0.0.1)\n"
               "  --port N            (default 8080)\n"
               "  --path PATH         MCP endpoint (default /mcp; /sse with --transport sse)\n"
               "  --transport T       http (Streamable HTTP) or sse (legacy HTTP+SSE: GET the\n"
               "                      stream at --path, POST to its endpoint) (default http)\n"
               "  --health-path PATH  for --mode health-cold (default /health)\n"
               "  --key KEY           sent as Authorization: Bearer KEY\n"
               "  --conns C           concurrent connections, one thread each (default 1)\n"
               "  --requests N        timed requests PER CONNECTION (default 1000)\n"
               "  --warmup W          untimed requests per connection first (default 100)\n"
               "  --mode M            call (tools/call), list (tools/list), ping, health-cold\n"
               "                      (new TCP connection per GET /health) (default call)\n"
               "  --tool NAME         tool for call (default echo)\n"
               "  --args JSON         its arguments (default {\"message\":\"hello\"})\n"
               "  --protocol VER      protocolVersion offered (default 2025-11-25)\n"
               "  --name NAME         RESULT name (default proxy-<mode>)\n"
               "  --timeout-ms MS     per read/write (default 10000)\n"
               "  --hold-ms MS        keep connections open this long after RESULT\n"
               "  --no-delete         do not DELETE the sessions at the end\n"
               "  --print-body        health-cold: print the last response body\n");
}

static int parse_argv(int argc, char **argv)
{
        enum {
                ARG_HOST = 0x100,
                ARG_PORT,
                ARG_PATH,
                ARG_TRANSPORT,
                ARG_HEALTH_PATH,
                ARG_KEY,
                ARG_CONNS,
                ARG_REQUESTS,
                ARG_WARMUP,
                ARG_MODE,
                ARG_TOOL,
                ARG_ARGS,
                ARG_PROTOCOL,
                ARG_NAME,
                ARG_TIMEOUT,
                ARG_HOLD,
                ARG_NO_DELETE,
                ARG_PRINT_BODY,
        };
        static const struct option options[] = {
            {"help", no_argument, NULL, 'h'},
            {"host", required_argument, NULL, ARG_HOST},
            {"port", required_argument, NULL, ARG_PORT},
            {"path", required_argument, NULL, ARG_PATH},
            {"transport", required_argument, NULL, ARG_TRANSPORT},
            {"health-path", required_argument, NULL, ARG_HEALTH_PATH},
            {"key", required_argument, NULL, ARG_KEY},
            {"conns", required_argument, NULL, ARG_CONNS},
            {"requests", required_argument, NULL, ARG_REQUESTS},
            {"warmup", required_argument, NULL, ARG_WARMUP},
            {"mode", required_argument, NULL, ARG_MODE},
            {"tool", required_argument, NULL, ARG_TOOL},
            {"args", required_argument, NULL, ARG_ARGS},
            {"protocol", required_argument, NULL, ARG_PROTOCOL},
            {"name", required_argument, NULL, ARG_NAME},
            {"timeout-ms", required_argument, NULL, ARG_TIMEOUT},
            {"hold-ms", required_argument, NULL, ARG_HOLD},
            {"no-delete", no_argument, NULL, ARG_NO_DELETE},
            {"print-body", no_argument, NULL, ARG_PRINT_BODY},
            {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                int r = 0;
                switch (c) {
                case 'h':
                        help();
                        exit(0);
                case ARG_HOST:
                        arg_host = optarg;
                        break;
                case ARG_PORT:
                        r = parse_u64(optarg, &arg_port);
                        if (r == 0 && (arg_port == 0 || arg_port > 65535))
                                r = -EINVAL;
                        break;
                case ARG_PATH:
                        arg_path = optarg;
                        break;
                case ARG_TRANSPORT:
                        if (strcmp(optarg, "http") == 0 || strcmp(optarg, "streamable-http") == 0)
                                arg_transport = TRANSPORT_HTTP;
                        else if (strcmp(optarg, "sse") == 0)
                                arg_transport = TRANSPORT_SSE;
                        else
                                r = -EINVAL;
                        break;
                case ARG_HEALTH_PATH:
                        arg_health_path = optarg;
                        break;
                case ARG_KEY:
                        arg_key = optarg;
                        break;
                case ARG_CONNS:
                        r = parse_u64(optarg, &arg_conns);
                        if (r == 0 && (arg_conns == 0 || arg_conns > MAX_CONNS))
                                r = -EINVAL;
                        break;
                case ARG_REQUESTS:
                        r = parse_u64(optarg, &arg_requests);
                        break;
                case ARG_WARMUP:
                        r = parse_u64(optarg, &arg_warmup);
                        break;
                case ARG_MODE:
                        if (strcmp(optarg, "call") == 0)
                                arg_mode = MODE_CALL;
                        else if (strcmp(optarg, "list") == 0)
                                arg_mode = MODE_LIST;
                        else if (strcmp(optarg, "ping") == 0)
                                arg_mode = MODE_PING;
                        else if (strcmp(optarg, "health-cold") == 0)
                                arg_mode = MODE_HEALTH_COLD;
                        else
                                r = -EINVAL;
                        break;
                case ARG_TOOL:
                        arg_tool = optarg;
                        break;
                case ARG_ARGS:
                        arg_args = optarg;
                        break;
                case ARG_PROTOCOL:
                        arg_protocol = optarg;
                        break;
                case ARG_NAME:
                        arg_name = optarg;
                        break;
                case ARG_TIMEOUT:
                        r = parse_u64(optarg, &arg_timeout_ms);
                        if (r == 0 && arg_timeout_ms == 0)
                                r = -EINVAL;
                        break;
                case ARG_HOLD:
                        r = parse_u64(optarg, &arg_hold_ms);
                        break;
                case ARG_NO_DELETE:
                        arg_no_delete = true;
                        break;
                case ARG_PRINT_BODY:
                        arg_print_body = true;
                        break;
                default:
                        return -EINVAL;
                }
                if (r < 0) {
                        fprintf(stderr, "mcp-load: invalid value '%s' for option\n", optarg);
                        return r;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "mcp-load: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        if (!arg_path)
                arg_path = arg_transport == TRANSPORT_SSE ? "/sse" : "/mcp";
        if (strlen(arg_args) > REQ_BODY_MAX / 2 || strlen(arg_tool) > 256 ||
            (arg_key && strlen(arg_key) > 512) || strlen(arg_path) > 512) {
                fprintf(stderr, "mcp-load: an option value is too long\n");
                return -EINVAL;
        }
        if (inet_pton(AF_INET, arg_host, &dest.sin_addr) != 1) {
                fprintf(stderr, "mcp-load: --host '%s' is not an IPv4 address\n", arg_host);
                return -EINVAL;
        }
        dest.sin_family = AF_INET;
        dest.sin_port = htons((uint16_t)arg_port);
        return 0;
}

static const char *mode_name(enum mode m)
{
        static const char *const names[] = {"call", "list", "ping", "health-cold"};
        return names[m];
}

int main(int argc, char **argv)
{
        _cleanup_free_ struct worker *w = NULL;
        struct lat all = {}, ttfb = {}, init = {};
        uint64_t ok = 0, fail = 0, t_start = UINT64_MAX, t_end = 0;
        uint64_t reconnects = 0, lingers = 0, sse = 0, json = 0, other = 0;
        uint64_t framing[_FRAMING_MAX] = {};
        char name[128];
        int r;

        if (parse_argv(argc, argv) < 0)
                return 2;
        signal(SIGPIPE, SIG_IGN);
        snprintf(name, sizeof(name), "%s", arg_name ?: "");
        if (!arg_name)
                snprintf(name, sizeof(name), "proxy-%s", mode_name(arg_mode));

        w = calloc(arg_conns, sizeof(*w));
        if (!w) {
                fprintf(stderr, "mcp-load: out of memory\n");
                return 1;
        }
        r = pthread_barrier_init(&start_barrier, NULL, (unsigned)arg_conns);
        if (r != 0) {
                fprintf(stderr, "mcp-load: pthread_barrier_init: %s\n", strerror(r));
                return 1;
        }
        for (uint64_t i = 0; i < arg_conns; i++) {
                w[i].idx = (int)i;
                w[i].c.fd = -EBADF;
                w[i].s.fd = -EBADF;
                w[i].next_id = 1;
                r = lat_reserve(&w[i].lat, arg_requests ? arg_requests : 1);
                if (r < 0) {
                        fprintf(stderr, "mcp-load: out of memory\n");
                        return 1;
                }
        }
        for (uint64_t i = 0; i < arg_conns; i++) {
                r = pthread_create(&w[i].thread, NULL, worker_run, &w[i]);
                if (r != 0) {
                        /* the barrier counts every thread: without one, the others would wait */
                        fprintf(stderr, "mcp-load: pthread_create: %s\n", strerror(r));
                        _exit(1);
                }
        }
        for (uint64_t i = 0; i < arg_conns; i++) {
                struct worker *x = &w[i];
                pthread_join(x->thread, NULL);
                ok += x->ok;
                fail += x->fail;
                t_start = MIN(t_start, x->t_start);
                t_end = MAX(t_end, x->t_end);
                reconnects += x->reconnects;
                lingers += x->lingers;
                sse += x->resp_sse;
                json += x->resp_json;
                other += x->other;
                for (int f = 0; f < _FRAMING_MAX; f++)
                        framing[f] += x->framing[f];
                if (lat_merge(&all, &x->lat) < 0 || lat_merge(&ttfb, &x->ttfb) < 0 ||
                    (x->init_ns && lat_add(&init, x->init_ns) < 0)) {
                        fprintf(stderr, "mcp-load: out of memory\n");
                        return 1;
                }
        }
        lat_sort(&all);
        lat_sort(&ttfb);
        lat_sort(&init);

        uint64_t elapsed = t_end > t_start ? t_end - t_start : 0;
        printf("RESULT name=%s mode=%s transport=%s conns=%" PRIu64 " n=%" PRIu64 " ok=%" PRIu64
               " fail=%" PRIu64,
               name, mode_name(arg_mode), arg_transport == TRANSPORT_SSE ? "sse" : "http",
               arg_conns, ok + fail, ok, fail);
        lat_print(stdout, "", &all);
        printf(" rps=%.0f elapsed_s=%.3f", elapsed ? (double)ok * 1e9 / (double)elapsed : 0,
               elapsed / 1e9);
        if (arg_mode == MODE_HEALTH_COLD)
                lat_print(stdout, "ttfb_", &ttfb);
        else
                printf(" init_p50_us=%.1f", lat_pct_us(&init, 50));
        printf(" reconnects=%" PRIu64 " lingers=%" PRIu64 " resp_json=%" PRIu64 " resp_sse=%" PRIu64
               " other_msgs=%" PRIu64,
               reconnects, lingers, json, sse, other);
        for (int f = 0; f < _FRAMING_MAX; f++)
                printf(" framing_%s=%" PRIu64, framing_names[f], framing[f]);
        printf("\n");
        if (arg_print_body && w[0].last_body.n)
                printf("%s\n", w[0].last_body.p);
        fflush(stdout);

        if (arg_hold_ms > 0)
                usleep((useconds_t)MIN(arg_hold_ms, 600000ULL) * 1000);
        for (uint64_t i = 0; i < arg_conns; i++) {
                if (arg_mode != MODE_HEALTH_COLD && !arg_no_delete)
                        session_delete(&w[i]);
                conn_close(&w[i].c);
                conn_close(&w[i].s);
                dbuf_done(&w[i].sbuf);
                dbuf_done(&w[i].sdata);
                lat_done(&w[i].lat);
                lat_done(&w[i].ttfb);
                dbuf_done(&w[i].body);
                dbuf_done(&w[i].data);
                dbuf_done(&w[i].last_body);
        }
        lat_done(&all);
        lat_done(&ttfb);
        lat_done(&init);
        pthread_barrier_destroy(&start_barrier);
        return fail > 0 || ok == 0 ? 1 : 0;
}
