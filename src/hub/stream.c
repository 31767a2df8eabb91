/* SPDX-License-Identifier: MIT */
/*
 * SSE streams of a session. Every message that goes to a client as an SSE
 * event gets an id "<stream>-<seq>", unique in the session, and is kept in
 * a bounded ring so that a client whose stream dropped can come back with
 * GET + Last-Event-ID and miss nothing: the events after that id are
 * replayed and the stream goes on on the new connection. A POST's stream
 * lives on after its connection drops until its answer is in (then it is
 * finished); a GET's stream lives as long as the session.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/hub.h"
#include "json.h"
#include "log.h"
#include "mcp-limits.h"
#include "proto/jsonrpc.h"

int stream_parse_event_id(const char *s, uint32_t *ret_stream, uint32_t *ret_seq)
{
        unsigned long a, b;
        char *end;

        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        a = strtoul(s, &end, 10);
        if (errno || *end != '-' || a == 0 || a > UINT32_MAX || end[1] < '0' || end[1] > '9')
                return -EINVAL;
        b = strtoul(end + 1, &end, 10);
        if (errno || *end || b > UINT32_MAX)
                return -EINVAL;
        *ret_stream = (uint32_t)a;
        *ret_seq = (uint32_t)b;
        return 0;
}

void stream_free(struct sse_stream *st)
{
        for (size_t i = 0; i < st->ring_n; i++)
                free(st->ring[(st->ring_start + i) % SSE_REPLAY_EVENTS].data);
        free(st->request_id);
        free(st->lost_final);
        free(st->ring);
        free(st);
}

static void stream_destroy(struct hub *h, struct session *s, struct sse_stream *st)
{
        s->stream_bytes -= st->bytes;
        h->replay_bytes -= st->bytes;
        (void)access_buffered(h, s->client, -(ssize_t)st->bytes);
        stream_free(st);
}

/* The answer a client gets for a request whose response the hub could not keep: an error
 * for its id, so that a client resuming the stream is not left waiting. */
static void stream_lose_final(struct sse_stream *st, uint32_t seq, size_t len, const char *why)
{
        char *text = NULL;

        if (!st->request_id || st->lost_final)
                return;
        if (asprintf(&text,
                     "{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":%d,\"message\":"
                     "\"the response (%zu bytes) was %s; send the request again\",\"data\":{"
                     "\"limit\":\"memory\"}}}",
                     st->request_id, MCP_PROXY_ERROR_LIMITED, len, why) < 0)
                return;
        st->lost_final = text;
        st->lost_seq = seq;
}

/* Drops st's oldest event; its bytes leave the session's, the client's and the hub's count.
 * Returns them. A response not sent yet leaves an error in its place (stream_lose_final). */
static size_t stream_drop_oldest(struct hub *h, struct session *s, struct sse_stream *st)
{
        struct sse_event *old = &st->ring[st->ring_start];
        size_t len = old->len;

        if (old->final && old->seq > st->sent_seq)
                stream_lose_final(st, old->seq, len,
                                  "dropped before it was read, to keep within memory limits");
        st->bytes -= len;
        s->stream_bytes -= len;
        h->replay_bytes -= len;
        (void)access_buffered(h, s->client, -(ssize_t)len);
        free(old->data);
        *old = (struct sse_event){};
        st->ring_start = (st->ring_start + 1) % SSE_REPLAY_EVENTS;
        st->ring_n--;
        return len;
}

struct sse_stream *stream_find(struct session *s, uint32_t id)
{
        for (struct sse_stream *st = s ? s->streams : NULL; st; st = st->next)
                if (st->id == id)
                        return st;
        return NULL;
}

static struct sse_stream *stream_find_origin(struct session *s, uint64_t conn_id)
{
        for (struct sse_stream *st = s ? s->streams : NULL; st; st = st->next)
                if (st->origin_conn == conn_id && !st->is_get)
                        return st;
        return NULL;
}

/* Keep at most SSE_STREAMS_MAX: drop the oldest detached ones. */
static void streams_trim(struct hub *h, struct session *s)
{
        while (s->n_streams > SSE_STREAMS_MAX) {
                struct sse_stream **pp, **victim = NULL;
                for (pp = &s->streams; *pp; pp = &(*pp)->next)
                        if (!hub_conn_get(h, (*pp)->conn_id) && (*pp)->id != s->get_stream)
                                victim = pp;
                if (!victim)
                        return;
                {
                        struct sse_stream *st = *victim;
                        *victim = st->next;
                        s->n_streams--;
                        stream_destroy(h, s, st);
                }
        }
}

struct sse_stream *stream_new(struct hub *h, struct session *s, uint64_t origin_conn, bool is_get)
{
        struct sse_stream *st = calloc(1, sizeof(*st));

        if (!st)
                return NULL;
        st->ring = calloc(SSE_REPLAY_EVENTS, sizeof(*st->ring));
        if (!st->ring) {
                free(st);
                return NULL;
        }
        st->id = ++s->next_stream_id;
        st->serial = ++h->n_streams_made;
        st->origin_conn = origin_conn;
        st->is_get = is_get;
        st->next = s->streams;
        s->streams = st;
        s->n_streams++;
        streams_trim(h, s);
        return st;
}

void streams_free(struct hub *h, struct session *s)
{
        while (s->streams) {
                struct sse_stream *st = s->streams;
                struct conn *c = hub_conn_get(h, st->conn_id);
                s->streams = st->next;
                if (c) {
                        c->stream = 0;
                        (void)conn_send_simple(c, WIRE_REPLY_END);
                }
                stream_destroy(h, s, st);
        }
        s->n_streams = 0;
        s->get_stream = 0;
}

static int send_event(struct conn *c, uint32_t stream, uint32_t seq, const char *data, size_t len,
                      bool legacy)
{
        cJSON *line = wire_reply_new(WIRE_REPLY_EVENT);
        char id[32];

        if (!line)
                return -ENOMEM;
        if (!legacy) {
                snprintf(id, sizeof(id), "%" PRIu32 "-%" PRIu32, stream, seq);
                cJSON_AddStringToObject(line, "id", id);
        }
        /* The data goes as its own line, as recorded: no parse, no print. */
        return conn_send_payload(c, line, data, len, false);
}

static void stream_detach(struct sse_stream *st, struct conn *c)
{
        if (c && c->stream == st->id)
                c->stream = 0;
        st->conn_id = 0;
}

enum shed_pass {
        SHED_SENT,     /* streams a connection reads: their events are only kept for replay */
        SHED_FINISHED, /* answered exchanges no one is reading */
        SHED_ANY,      /* the rest: events not delivered yet */
        _SHED_PASS_MAX,
};

enum shed_scope {
        SHED_SESSION, /* its streams (SSE_SESSION_BYTES_MAX) */
        SHED_CLIENT,  /* its client's sessions' (max_buffer_mib) */
        SHED_HUB,     /* everyone's (MCP_MEMORY_MAX_MIB) */
};

static bool shed_in_pass(struct hub *h, const struct sse_stream *st, enum shed_pass pass)
{
        bool attached = hub_conn_get(h, st->conn_id) != NULL;

        switch (pass) {
        case SHED_SENT:
                return attached && st->ring_n > 0 && st->ring[st->ring_start].seq <= st->sent_seq;
        case SHED_FINISHED:
                return !attached && st->finished;
        default:
                return true;
        }
}

/* The oldest stream (by when it was made) in scope and in this pass with an event to give
 * up: any but cur's newest. */
static struct sse_stream *shed_next(struct hub *h, struct session *s, enum shed_scope scope,
                                    enum shed_pass pass, const struct sse_stream *cur,
                                    struct session **ret_s)
{
        struct sse_stream *best = NULL;
        size_t k = 0;
        void *v;

        while (scope == SHED_SESSION ? k++ == 0 : hmap_next(&h->sessions, &k, NULL, &v)) {
                struct session *o = scope == SHED_SESSION ? s : v;

                if (scope == SHED_CLIENT && strcmp(o->client, s->client) != 0)
                        continue;
                for (struct sse_stream *st = o->streams; st; st = st->next)
                        if (st->ring_n > (st == cur ? 1u : 0u) && shed_in_pass(h, st, pass) &&
                            (!best || st->serial < best->serial)) {
                                best = st;
                                *ret_s = o;
                        }
        }
        return best;
}

/* Drops events in scope until need bytes are gone: those already sent first, then those of
 * answered exchanges no one reads, then the rest, each time from the oldest stream; never
 * cur's newest (the event just recorded). Returns the bytes dropped, *ret_n the events. */
static size_t shed(struct hub *h, struct session *s, enum shed_scope scope, size_t need,
                   const struct sse_stream *cur, uint64_t *ret_n)
{
        size_t dropped = 0;

        for (int pass = 0; pass < _SHED_PASS_MAX && dropped < need; pass++) {
                struct session *o = NULL;
                struct sse_stream *st;

                while (dropped < need && (st = shed_next(h, s, scope, pass, cur, &o)))
                        while (st->ring_n > (st == cur ? 1u : 0u) && dropped < need &&
                               shed_in_pass(h, st, pass)) {
                                dropped += stream_drop_oldest(h, o, st);
                                (*ret_n)++;
                        }
        }
        return dropped;
}

size_t streams_shed_hub(struct hub *h, size_t need)
{
        uint64_t n = 0;
        size_t dropped = shed(h, NULL, SHED_HUB, need, NULL, &n);

        h->n_dropped_memory += n;
        return dropped;
}

/*
 * After an event is recorded in cur: the session's streams keep at most SSE_SESSION_BYTES_MAX,
 * the client's sessions' its budget (max_buffer_mib), the hub's its own (memory.c). Drops
 * are logged and audited (outcome limited) at most every HUB_BUFFER_NOTE_MS a client.
 */
static void stream_limits(struct hub *h, struct session *s, struct sse_stream *cur)
{
        const char *client = s->client;
        size_t budget = access_buffer_budget(h, client);
        size_t total;
        uint64_t n = 0, told;
        const char *limit = NULL;

        if (s->stream_bytes > SSE_SESSION_BYTES_MAX) {
                (void)shed(h, s, SHED_SESSION, s->stream_bytes - SSE_SESSION_BYTES_MAX, cur, &n);
                limit = "session";
        }
        total = access_buffered(h, client, 0);
        if (total > budget) {
                (void)shed(h, s, SHED_CLIENT, total - budget, cur, &n);
                limit = "max_buffer_mib";
        }
        memory_check(h);
        if (n == 0 || !access_note_dropped(h, client, n, &told))
                return;
        log_warning("client '%s': its %s streams held more than %zu bytes: dropped the %" PRIu64
                    " oldest event(s) (%s)",
                    client, strcmp(limit, "session") == 0 ? "session's" : "sessions'",
                    strcmp(limit, "session") == 0 ? (size_t)SSE_SESSION_BYTES_MAX : budget, told,
                    limit);
        hub_record(h, &(struct record){.client = client,
                                       .session = s->id,
                                       .method = "buffer",
                                       .outcome = RECORD_LIMITED,
                                       .detail = "events dropped over the buffer budget",
                                       .limit = limit,
                                       .not_request = true});
}

/*
 * Send st's events after sent_seq to c, its lost response in its place, and the end of the
 * exchange once it is finished and everything went out. While c is congested (more than
 * HUB_CONN_OUT_HIGH queued) the rest waits in the ring, unless force. Returns 0, or
 * -ENOTCONN when c went away (it is freed then).
 */
static int stream_pump(struct hub *h, struct session *s, struct sse_stream *st, struct conn *c,
                       bool force)
{
        bool legacy = s->legacy || s->modern;

        for (size_t i = 0; i < st->ring_n; i++) {
                const struct sse_event *ev = &st->ring[(st->ring_start + i) % SSE_REPLAY_EVENTS];

                if (ev->seq <= st->sent_seq)
                        continue;
                if (st->lost_final && st->lost_seq > st->sent_seq && st->lost_seq < ev->seq)
                        break; /* the lost response comes first */
                if (c->congested && !force)
                        return 0;
                if (send_event(c, st->id, ev->seq, ev->data, ev->len, legacy) < 0)
                        return -ENOTCONN;
                st->sent_seq = ev->seq;
        }
        if (st->lost_final && st->lost_seq > st->sent_seq) {
                if (c->congested && !force)
                        return 0;
                if (send_event(c, st->id, st->lost_seq, st->lost_final, strlen(st->lost_final),
                               legacy) < 0)
                        return -ENOTCONN;
                st->sent_seq = st->lost_seq;
                return stream_pump(h, s, st, c, force); /* what came after it, if anything */
        }
        if (st->sent_seq < st->next_seq)
                st->sent_seq = st->next_seq; /* dropped before they were sent */
        if (st->finished) {
                st->end_sent = true;
                st->done_usec = now_usec();
                stream_detach(st, c);
                (void)conn_send_simple(c, WIRE_REPLY_END);
        }
        return 0;
}

/* Record one event (takes data, compact JSON, len bytes) and send it to the attached
 * connection. */
static int stream_push(struct hub *h, struct session *s, struct sse_stream *st, char *data,
                       size_t len, bool final, const char *request_id)
{
        struct conn *c = hub_conn_get(h, st->conn_id);
        uint32_t seq, stream_id = st->id;
        struct sse_event *ev;
        char sid[sizeof(s->id)];

        /* Sending may close the connection, and with it end the session (a legacy one, a
         * 2026-07-28 request's): s and st are looked up again after it. */
        snprintf(sid, sizeof(sid), "%s", s->id);
#define STREAM_AGAIN() ((s = session_get(h, sid)) && (st = stream_find(s, stream_id)))
        if (final && request_id && !st->request_id)
                st->request_id = strdup(request_id);
        if (len > SSE_STREAM_BYTES_MAX) {
                /* Too large to keep: delivered live to a connection that reads, when nothing
                 * waits before it; else lost (its request answered with an error). Never
                 * forced onto a congested connection. */
                bool sent = false;

                if (c && !c->congested && !st->finished) {
                        (void)stream_pump(h, s, st, c, false);
                        if (!STREAM_AGAIN()) {
                                free(data);
                                memory_check(h);
                                return 0;
                        }
                        c = hub_conn_get(h, st->conn_id);
                }
                seq = ++st->next_seq;
                if (c && !c->congested && st->sent_seq + 1 == seq && !st->lost_final) {
                        sent = send_event(c, st->id, seq, data, len, s->legacy || s->modern) >= 0;
                        if (!STREAM_AGAIN()) {
                                free(data);
                                memory_check(h);
                                return 0;
                        }
                        if (sent)
                                st->sent_seq = seq;
                }
                if (final) {
                        st->finished = true;
                        st->finished_usec = now_usec();
                }
                if (!sent) {
                        log_notice("session %.8s...: an event of %zu bytes, over the %d a stream "
                                   "keeps, found no connection to read it: lost",
                                   s->id, len, SSE_STREAM_BYTES_MAX);
                        if (final)
                                stream_lose_final(st, seq, len,
                                                  "too large to keep for a stream no one read");
                }
                free(data);
        } else {
                /* Make room: the ring holds SSE_REPLAY_EVENTS and SSE_STREAM_BYTES_MAX. */
                while (st->ring_n > 0 &&
                       (st->ring_n == SSE_REPLAY_EVENTS || st->bytes + len > SSE_STREAM_BYTES_MAX))
                        (void)stream_drop_oldest(h, s, st);
                seq = ++st->next_seq;
                if (final) {
                        st->finished = true;
                        st->finished_usec = now_usec();
                }
                ev = &st->ring[(st->ring_start + st->ring_n) % SSE_REPLAY_EVENTS];
                *ev = (struct sse_event){
                    .seq = seq, .data = data, .len = len, .at_usec = now_usec(), .final = final};
                st->ring_n++;
                st->bytes += len;
                s->stream_bytes += len;
                h->replay_bytes += len;
                (void)access_buffered(h, s->client, (ssize_t)len);
        }
        c = hub_conn_get(h, st->conn_id);
        if (c) {
                (void)stream_pump(h, s, st, c, false);
                if (!STREAM_AGAIN()) {
                        memory_check(h);
                        return 0;
                }
        }
        stream_limits(h, s, st);
        return 0;
#undef STREAM_AGAIN
}

int stream_attach(struct hub *h, struct session *s, struct sse_stream *st, struct conn *c,
                  uint32_t after_seq, bool prime)
{
        cJSON *head = wire_reply_new(WIRE_REPLY_SSE);

        if (!head)
                return -ENOMEM;
        /* A modern request's session is the hub's own: no Mcp-Session-Id for it. */
        if (!s->modern)
                cJSON_AddStringToObject(head, "session", s->id);
        if (conn_send(c, head, false) < 0)
                return -ENOTCONN;
        c->streaming = true;
        c->stream = st->id;
        snprintf(c->session, sizeof(c->session), "%s", s->id);
        st->conn_id = c->id;
        /* Prime the stream: an id the client can come back with, before anything else. */
        if (prime && !s->legacy && !s->modern && send_event(c, st->id, 0, NULL, 0, false) < 0)
                return -ENOTCONN;
        if (after_seq > st->next_seq)
                after_seq = st->next_seq;
        if (st->ring_n > 0 && after_seq > 0) {
                const struct sse_event *first = &st->ring[st->ring_start];
                if (after_seq + 1 < first->seq &&
                    !(st->lost_final && st->lost_seq == after_seq + 1))
                        log_warning("session %.8s...: stream %" PRIu32
                                    " resumed after event %" PRIu32
                                    " but the oldest kept is %" PRIu32 ": events lost",
                                    s->id, st->id, after_seq, first->seq);
        }
        st->sent_seq = after_seq;
        return stream_pump(h, s, st, c, false);
}

void stream_conn_drained(struct hub *h, struct conn *c)
{
        struct session *s = c->stream ? session_get(h, c->session) : NULL;
        struct sse_stream *st = stream_find(s, c->stream);

        if (st && st->conn_id == c->id)
                (void)stream_pump(h, s, st, c, false);
}

/* Unlinks and frees st from s. */
static void stream_unlink(struct hub *h, struct session *s, struct sse_stream *st)
{
        for (struct sse_stream **pp = &s->streams; *pp; pp = &(*pp)->next)
                if (*pp == st) {
                        *pp = st->next;
                        s->n_streams--;
                        stream_destroy(h, s, st);
                        return;
                }
}

void streams_sweep(struct hub *h, uint64_t now)
{
        uint64_t max_age = (uint64_t)SSE_REPLAY_MAX_AGE_MS * USEC_PER_MSEC;
        uint64_t linger = (uint64_t)SSE_FINISHED_LINGER_MS * USEC_PER_MSEC;
        size_t k = 0;
        void *v;

        while (hmap_next(&h->sessions, &k, NULL, &v)) {
                struct session *s = v;
                struct sse_stream *st = s->streams, *next;

                for (; st; st = next) {
                        bool attached = hub_conn_get(h, st->conn_id) != NULL;

                        next = st->next;
                        /* Those a connection still waits for stay: backpressure ends them. */
                        while (st->ring_n > 0 && now - st->ring[st->ring_start].at_usec > max_age &&
                               !(attached && st->ring[st->ring_start].seq > st->sent_seq))
                                (void)stream_drop_oldest(h, s, st);
                        if (attached || !st->finished || st->id == s->get_stream)
                                continue;
                        if ((st->end_sent && now - st->done_usec > linger) ||
                            now - st->finished_usec > max_age)
                                stream_unlink(h, s, st);
                }
        }
}

void stream_detach_conn(struct hub *h, struct conn *c)
{
        struct session *s;
        struct sse_stream *st;

        if (!c->stream)
                return;
        s = session_get(h, c->session);
        st = stream_find(s, c->stream);
        c->stream = 0;
        if (!st || st->conn_id != c->id)
                return;
        st->conn_id = 0;
        /* A legacy session is its SSE connection: it ends with it. */
        if (s->legacy && st->id == s->get_stream) {
                log_info("client '%s': legacy SSE session %.8s... closed", s->client, s->id);
                session_free(h, s);
        }
}

void target_for_get(struct target *t, const struct session *s)
{
        *t = (struct target){.stream = s->get_stream};
        snprintf(t->session, sizeof(t->session), "%s", s->id);
}

int hub_deliver(struct hub *h, const struct target *t, cJSON *msg, bool final)
{
        size_t bytes;

        return hub_deliver_sized(h, t, msg, final, &bytes);
}

int hub_deliver_sized(struct hub *h, const struct target *t, cJSON *msg, bool final,
                      size_t *ret_bytes)
{
        struct session *s = t->session[0] ? session_get(h, t->session) : NULL;
        /* Printed once, whichever way it goes. */
        _cleanup_cjson_str_ char *text = NULL;
        /* A response's id, for the error that stands in for it if it is lost. */
        _cleanup_cjson_str_ char *id = NULL;
        struct conn *c;
        struct sse_stream *st;
        size_t len;

        *ret_bytes = 0;
        if (!msg)
                return -ENOMEM;
        if (s && s->modern)
                modern_outgoing(h, s, msg);
        text = cJSON_PrintUnformatted(msg);
        if (final && s && json_get(msg, "id"))
                id = cJSON_PrintUnformatted(json_get(msg, "id"));
        cJSON_Delete(msg);
        if (!text)
                return -ENOMEM;
        *ret_bytes = len = strlen(text);
        if (t->stream) {
                st = stream_find(s, t->stream);
                if (!st)
                        return -ENOTCONN;
                /* Only a POST's own stream ends with its answer. */
                return stream_push(h, s, st, TAKE_PTR(text), len, final && !st->is_get, id);
        }
        c = hub_conn_get(h, t->conn_id);
        if (c) {
                if (!c->stream && !c->streaming && final) {
                        cJSON *line = wire_reply_new(WIRE_REPLY_JSON);
                        if (!line || !cJSON_AddNumberToObject(line, "status", 200)) {
                                cJSON_Delete(line);
                                hub_conn_close(c);
                                return -ENOMEM;
                        }
                        return conn_send_payload(c, line, text, len, true);
                }
                if (!c->stream) {
                        if (!s) {
                                /* No session (cannot happen after initialize): plain events. */
                                cJSON *line = wire_reply_new(WIRE_REPLY_EVENT);
                                if (!line)
                                        return -ENOMEM;
                                if (conn_send_payload(c, line, text, len, false) < 0)
                                        return -ENOTCONN;
                                return final ? conn_send_simple(c, WIRE_REPLY_END) : 0;
                        }
                        st = stream_new(h, s, c->id, false);
                        if (!st || stream_attach(h, s, st, c, 0, true) < 0)
                                return -ENOTCONN;
                }
                st = stream_find(s, c->stream);
                if (!st)
                        return -ENOTCONN;
                return stream_push(h, s, st, TAKE_PTR(text), len, final, id);
        }
        /* The connection is gone: keep it for a resuming GET if it had a stream. */
        st = stream_find_origin(s, t->conn_id);
        if (!st)
                return -ENOTCONN;
        return stream_push(h, s, st, TAKE_PTR(text), len, final, id);
}

int hub_deliver_end(struct hub *h, const struct target *t)
{
        struct session *s = t->session[0] ? session_get(h, t->session) : NULL;
        struct conn *c = hub_conn_get(h, t->conn_id);
        struct sse_stream *st = NULL;

        if (t->stream)
                return 0; /* a GET stream does not end with one request */
        if (c && !c->stream && !c->streaming)
                return conn_send_simple(c, WIRE_REPLY_ACCEPTED);
        if (c && c->stream)
                st = stream_find(s, c->stream);
        else if (!c)
                st = stream_find_origin(s, t->conn_id);
        if (st) {
                if (!st->finished) {
                        st->finished = true;
                        st->finished_usec = now_usec();
                }
                if (c)
                        return stream_pump(h, s, st, c, false);
        } else if (c)
                return conn_send_simple(c, WIRE_REPLY_END);
        return 0;
}
