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

static void stream_destroy(struct hub *h, struct session *s, struct sse_stream *st)
{
        for (size_t i = 0; i < st->ring_n; i++)
                free(st->ring[(st->ring_start + i) % SSE_REPLAY_EVENTS].data);
        s->stream_bytes -= st->bytes;
        (void)access_buffered(h, s->client, -(ssize_t)st->bytes);
        free(st->ring);
        free(st);
}

/* Drops st's oldest event; its bytes leave the session's and the client's count. Returns
 * them. */
static size_t stream_drop_oldest(struct hub *h, struct session *s, struct sse_stream *st)
{
        struct sse_event *old = &st->ring[st->ring_start];
        size_t len = old->len;

        st->bytes -= len;
        s->stream_bytes -= len;
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

static bool shed_in_pass(struct hub *h, const struct sse_stream *st, enum shed_pass pass)
{
        bool attached = hub_conn_get(h, st->conn_id) != NULL;

        switch (pass) {
        case SHED_SENT:
                return attached;
        case SHED_FINISHED:
                return !attached && st->finished;
        default:
                return !attached && !st->finished;
        }
}

/* The oldest stream of the client's (by when it was made) in this pass with an event to
 * give up: any but cur's newest. */
static struct sse_stream *shed_next(struct hub *h, const char *client, enum shed_pass pass,
                                    const struct sse_stream *cur, struct session **ret_s)
{
        struct sse_stream *best = NULL;
        size_t k = 0;
        void *v;

        while (hmap_next(&h->sessions, &k, NULL, &v)) {
                struct session *o = v;

                if (strcmp(o->client, client) != 0)
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

/*
 * The streams of s's client hold more than its budget (max_buffer_mib): drop their oldest
 * events until they fit, those already sent first, then those of answered exchanges no one
 * reads, then the rest, each time from the client's oldest stream; never cur's newest (the
 * event just recorded). Logged and audited (outcome limited, limit max_buffer_mib) at most
 * every HUB_BUFFER_NOTE_MS a client.
 */
static void client_shed(struct hub *h, struct session *s, struct sse_stream *cur)
{
        const char *client = s->client;
        size_t budget = access_buffer_budget(h, client);
        size_t total = access_buffered(h, client, 0), n = 0;
        uint64_t told;

        if (total <= budget)
                return;
        for (int pass = 0; pass < _SHED_PASS_MAX && total > budget; pass++) {
                struct session *o = NULL;
                struct sse_stream *st;

                while (total > budget && (st = shed_next(h, client, pass, cur, &o)))
                        while (st->ring_n > (st == cur ? 1u : 0u) && total > budget) {
                                total -= stream_drop_oldest(h, o, st);
                                n++;
                        }
        }
        if (n == 0 || !access_note_dropped(h, client, n, &told))
                return;
        log_warning(
            "client '%s': its sessions' streams held more than %zu bytes: dropped the %" PRIu64
            " oldest event(s) (max_buffer_mib)",
            client, budget, told);
        hub_record(h, &(struct record){.client = client,
                                       .session = s->id,
                                       .method = "buffer",
                                       .outcome = RECORD_LIMITED,
                                       .detail = "events dropped over the client's buffer budget",
                                       .limit = "max_buffer_mib",
                                       .not_request = true});
}

/* Record one event (takes data, compact JSON, len bytes) and send it to the attached
 * connection. */
static int stream_push(struct hub *h, struct session *s, struct sse_stream *st, char *data,
                       size_t len, bool final)
{
        struct conn *c = hub_conn_get(h, st->conn_id);
        struct sse_event *ev;

        /* Make room: the ring holds SSE_REPLAY_EVENTS and SSE_STREAM_BYTES_MAX. */
        while (st->ring_n > 0 &&
               (st->ring_n == SSE_REPLAY_EVENTS || st->bytes + len > SSE_STREAM_BYTES_MAX))
                (void)stream_drop_oldest(h, s, st);
        ev = &st->ring[(st->ring_start + st->ring_n) % SSE_REPLAY_EVENTS];
        *ev = (struct sse_event){.seq = ++st->next_seq, .data = data, .len = len};
        st->ring_n++;
        st->bytes += len;
        s->stream_bytes += len;
        (void)access_buffered(h, s->client, (ssize_t)len);
        client_shed(h, s, st);
        if (c) {
                if (send_event(c, st->id, ev->seq, data, len, s->legacy || s->modern) < 0)
                        c = NULL; /* closed: the event waits in the ring */
        }
        if (final) {
                st->finished = true;
                c = hub_conn_get(h, st->conn_id);
                if (c) {
                        stream_detach(st, c);
                        (void)conn_send_simple(c, WIRE_REPLY_END);
                }
        }
        return 0;
}

int stream_attach(struct hub *h, struct session *s, struct sse_stream *st, struct conn *c,
                  uint32_t after_seq, bool prime)
{
        cJSON *head = wire_reply_new(WIRE_REPLY_SSE);
        uint64_t cid = c->id;

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
        if (st->ring_n > 0) {
                const struct sse_event *first = &st->ring[st->ring_start];
                if (after_seq + 1 < first->seq && after_seq > 0)
                        log_warning("session %.8s...: stream %" PRIu32
                                    " resumed after event %" PRIu32
                                    " but the oldest kept is %" PRIu32 ": events lost",
                                    s->id, st->id, after_seq, first->seq);
        }
        for (size_t i = 0; i < st->ring_n; i++) {
                const struct sse_event *ev = &st->ring[(st->ring_start + i) % SSE_REPLAY_EVENTS];
                if (ev->seq <= after_seq)
                        continue;
                if (!hub_conn_get(h, cid) ||
                    send_event(c, st->id, ev->seq, ev->data, ev->len, s->legacy || s->modern) < 0)
                        return -ENOTCONN;
        }
        if (st->finished && hub_conn_get(h, cid)) {
                stream_detach(st, c);
                (void)conn_send_simple(c, WIRE_REPLY_END);
        }
        return 0;
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
        struct conn *c;
        struct sse_stream *st;
        size_t len;

        *ret_bytes = 0;
        if (!msg)
                return -ENOMEM;
        if (s && s->modern)
                modern_outgoing(h, s, msg);
        text = cJSON_PrintUnformatted(msg);
        cJSON_Delete(msg);
        if (!text)
                return -ENOMEM;
        *ret_bytes = len = strlen(text);
        if (t->stream) {
                st = stream_find(s, t->stream);
                if (!st)
                        return -ENOTCONN;
                /* Only a POST's own stream ends with its answer. */
                return stream_push(h, s, st, TAKE_PTR(text), len, final && !st->is_get);
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
                return stream_push(h, s, st, TAKE_PTR(text), len, final);
        }
        /* The connection is gone: keep it for a resuming GET if it had a stream. */
        st = stream_find_origin(s, t->conn_id);
        if (!st)
                return -ENOTCONN;
        return stream_push(h, s, st, TAKE_PTR(text), len, final);
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
                st->finished = true;
                if (c) {
                        stream_detach(st, c);
                        return conn_send_simple(c, WIRE_REPLY_END);
                }
        } else if (c)
                return conn_send_simple(c, WIRE_REPLY_END);
        return 0;
}
