/* SPDX-License-Identifier: MIT */
/*
 * Streamable HTTP transport (MCP 2025-03-26 and later): every message is
 * its own POST to the server's URL, answered with one JSON body or an SSE
 * stream (related notifications and server requests, then the response),
 * or 202 for notifications and responses. The Mcp-Session-Id of the
 * initialize answer and the negotiated MCP-Protocol-Version go on every
 * later request. After initialization a GET stream carries the server's
 * own messages; it is reopened with Last-Event-ID when it drops (405: the
 * server has none). A 404 to a request that carried our session means the
 * server lost it: we initialize a new session ourselves and send the
 * request again, once. Stop DELETEs the session.
 *
 * The first POST is server/discover (2026-07-28 headers and _meta). A
 * server that lists 2026-07-28 there is used statelessly ("modern"): this
 * transport answers upstream.c's initialize from the discover result, every
 * request carries the 2026-07-28 _meta and headers and no session, a
 * subscriptions/listen stream stands in for the GET stream, closing a POST
 * is cancellation, and an input_required answer becomes server requests to
 * the client whose answers go back with the request's retry (struct
 * ir_call). Any other answer to discover: a 2025 session, as above.
 *
 * With no "transport" in the config (TRANSPORT_AUTO), the answer to the
 * initialize POST decides, as the spec's backwards-compatibility section
 * says: 400, 404 or 405 hands over to the legacy HTTP+SSE transport
 * (upstream-sse.c), which then stays for restarts.
 *
 * What counts as the server being down (upstream_transport_down(): pending
 * requests fail at once, restart with backoff): no connection (refused,
 * DNS, TLS, connect timeout), a connection that broke before any answer,
 * 502/503/504. Anything else fails only the request it concerns, with a
 * JSON-RPC error naming the server.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "log.h"
#include "mcp-limits.h"
#include "proto/jsonrpc.h"
#include "proto/mcp-header.h"
#include "upstream/remote.h"
#include "upstream/upstream.h"

enum http_kind {
        HTTP_POST,     /* a message of upstream.c's */
        HTTP_REINIT,   /* our own initialize after a lost session */
        HTTP_STREAM,   /* the GET stream */
        HTTP_DELETE,   /* the end of the session, on stop */
        HTTP_DISCOVER, /* server/discover before initialize: does it speak 2026-07-28? */
        HTTP_LISTEN,   /* 2026-07-28: the subscriptions/listen stream (list changes) */
};

enum stream_state {
        STREAM_NONE,        /* not opened yet (before initialization, or re-initializing) */
        STREAM_OPEN,        /* requested or open */
        STREAM_WAITING,     /* dropped; reopening after a delay */
        STREAM_UNSUPPORTED, /* 405, or not an event stream: never again this session */
};

static const char *const stream_state_table[] = {
    [STREAM_NONE] = "none",
    [STREAM_OPEN] = "open",
    [STREAM_WAITING] = "reconnecting",
    [STREAM_UNSUPPORTED] = "unsupported",
};

struct http_transport {
        struct remote r; /* first: the base */
        char *session_id;
        char *protocol_version;
        bool auto_detect;  /* TRANSPORT_AUTO, until initialize succeeds */
        bool have_init_id; /* upstream.c's initialize is in flight with init_id */
        int64_t init_id;
        bool initialized; /* notifications/initialized went through: the GET stream may open */
        /* the GET stream (r.stream) */
        enum stream_state stream_state;
        sd_event_source *stream_timer;
        char *last_event_id;
        uint64_t stream_opened_usec;
        uint64_t stream_delay_usec;
        long stream_retry_ms; /* the server's "retry:", -1 none */
        /* a lost session */
        bool reinit;
        bool reinit_ok;
        unsigned reinits;
        unsigned probes;
        char reinit_id[48]; /* r.held: the messages waiting for the new session */
        /* 2026-07-28 ("modern"): server/discover listed it, so no session at all */
        bool modern;
        cJSON *discovered; /* the discover result (until initialize is answered from it) */
        cJSON *synth;      /* answers made here (initialize, ping), delivered by synth_src */
        sd_event_source *synth_src;
        unsigned listens;    /* subscriptions/listen requests sent (r.stream: the open one) */
        bool listen_wanted;  /* "initialized": the listen stream should be open */
        bool listen_refused; /* the server has none: not asked again this time */
        sd_event_source *listen_timer;
        uint64_t listen_opened_usec;
        uint64_t listen_delay_usec;
        /* input_required answers being asked of the client, one per request */
        struct ir_call *ir_calls;
        unsigned ir_asked; /* server requests made so far (their ids) */
};

/* A request the server answered with input_required: each of its inputRequests went
 * to upstream.c as a server request of ours ("mcp-proxy-ir-N"), so the hub asks the
 * client as it asks for any server's request (a 2025 session directly, a 2026-07-28
 * client through its own input_required); when every answer is in, the request goes
 * again with inputResponses and the server's requestState (basic/patterns/mrtr). */
struct ir_call {
        struct ir_call *next;
        int64_t id;       /* upstream.c's request id */
        cJSON *request;   /* the request as sent (its _meta is made again) */
        cJSON *state;     /* the server's requestState, or NULL */
        cJSON *keys;      /* "mcp-proxy-ir-N" -> the inputRequests key */
        cJSON *responses; /* key -> the client's result */
        unsigned waiting; /* answers still to come */
        unsigned rounds;
};

static struct http_transport *T(struct upstream *u)
{
        return u->transport;
}

static void http_free(struct upstream *u);
static int post_message(struct http_transport *t, const char *data, size_t len, bool retried);
static void open_stream(struct http_transport *t);
static cJSON *modern_answer(struct http_transport *t, struct remote_xfer *x, cJSON *ev);
static void open_listen(struct http_transport *t);

/* A session id or protocol version is sent back in a header: visible ASCII only. */
static bool header_token_ok(const char *s, size_t max)
{
        size_t n = 0;

        if (!s || !*s)
                return false;
        for (; s[n]; n++)
                if ((unsigned char)s[n] < 0x21 || (unsigned char)s[n] > 0x7e || n >= max)
                        return false;
        return true;
}

/* The answer to an initialize: keep its session and the negotiated version. */
static void adopt_session(struct http_transport *t, struct remote_xfer *x, const cJSON *result)
{
        struct upstream *u = t->r.u;
        const char *v = json_get_string(result, "protocolVersion");

        free(t->session_id);
        t->session_id = NULL;
        if (x->session_id) {
                if (header_token_ok(x->session_id, 256))
                        t->session_id = strdup(x->session_id);
                else
                        upstream_log(u, LOG_WARNING,
                                     "Mcp-Session-Id is not visible ASCII (or too long), ignoring");
        }
        if (header_token_ok(v, 64)) {
                free(t->protocol_version);
                t->protocol_version = strdup(v);
        }
        upstream_log(u, LOG_DEBUG, "initialized%s, protocol %s",
                     t->session_id ? " with a session" : " without a session",
                     t->protocol_version ? t->protocol_version : "?");
}

static cJSON *http_on_event(struct remote *r, struct remote_xfer *x, cJSON *ev)
{
        struct http_transport *t = (struct http_transport *)r;
        const cJSON *id, *result;
        _cleanup_free_ char *sid = NULL;
        bool is_response;
        int64_t n;

        if (!cJSON_IsObject(ev)) {
                cJSON_Delete(ev); /* an "endpoint" event: not in this transport */
                return NULL;
        }
        id = json_get(ev, "id");
        result = json_get(ev, "result");
        is_response = !json_get(ev, "method") && (result || json_get(ev, "error"));
        if (x->kind == HTTP_DISCOVER) {
                if (is_response && cJSON_IsObject(result) && !t->discovered)
                        t->discovered = cJSON_DetachItemFromObject(ev, "result");
                x->got_response = is_response;
                cJSON_Delete(ev);
                return NULL;
        }
        if (x->kind == HTTP_LISTEN) {
                /* The acknowledgement, the graceful end: ours. List changes go on. */
                const char *m = json_get_string(ev, "method");
                if (!m || strcmp(m, "notifications/subscriptions/acknowledged") == 0) {
                        if (m)
                                upstream_log(r->u, LOG_DEBUG, "subscriptions/listen acknowledged");
                        x->got_response = is_response;
                        cJSON_Delete(ev);
                        return NULL;
                }
                return ev;
        }
        if (t->modern && is_response)
                return modern_answer(t, x, ev);
        sid = is_response ? jsonrpc_id_strdup(id) : NULL;
        if (x->kind == HTTP_REINIT && sid && strcmp(sid, t->reinit_id) == 0) {
                /* Ours: swallowed. */
                if (cJSON_IsObject(result)) {
                        adopt_session(t, x, result);
                        t->reinit_ok = true;
                }
                x->got_response = true;
                cJSON_Delete(ev);
                return NULL;
        }
        if (sid && strncmp(sid, "mcp-proxy-", 10) == 0) {
                /* The answer to a probe of ours (or a late one to an old initialize). */
                x->got_response = true;
                cJSON_Delete(ev);
                return NULL;
        }
        if (x->kind == HTTP_POST && is_response && t->have_init_id && json_int64(id, &n) &&
            n == t->init_id) {
                t->have_init_id = false;
                if (cJSON_IsObject(result)) {
                        adopt_session(t, x, result);
                        t->auto_detect = false;
                }
        }
        return ev;
}

static int add_post_headers(struct http_transport *t, struct remote_xfer *x, bool initialize)
{
        int k;

        if ((k = remote_xfer_header(x, "Accept: application/json, text/event-stream")) < 0 ||
            (k = remote_xfer_header(x, "Content-Type: application/json")) < 0 ||
            (k = remote_xfer_header(x, "Expect:")) < 0)
                return k;
        if (t->session_id && !initialize) {
                if ((k = remote_xfer_header(x, "Mcp-Session-Id: %s", t->session_id)) < 0)
                        return k;
                x->session_sent = strdup(t->session_id);
                if (!x->session_sent)
                        return -ENOMEM;
        }
        if (t->protocol_version && !initialize &&
            (k = remote_xfer_header(x, "MCP-Protocol-Version: %s", t->protocol_version)) < 0)
                return k;
        return 0;
}

/* ---------------------------------------------------------------- 2026-07-28 */

/* params._meta gets the protocol version and the client capabilities every 2026-07-28
 * request carries (basic/index §1.2.3); clientInfo too. */
static int modern_meta(struct upstream *u, cJSON *msg)
{
        cJSON *params = json_get(msg, "params"), *meta, *caps, *info;

        if (!params) {
                params = cJSON_AddObjectToObject(msg, "params");
                if (!params)
                        return -ENOMEM;
        }
        if (!cJSON_IsObject(params))
                return -EINVAL;
        meta = json_get(params, "_meta");
        if (!meta && !(meta = cJSON_AddObjectToObject(params, "_meta")))
                return -ENOMEM;
        if (!cJSON_IsObject(meta))
                return -EINVAL;
        cJSON_DeleteItemFromObjectCaseSensitive(meta, MCP_META_PROTOCOL_VERSION);
        cJSON_DeleteItemFromObjectCaseSensitive(meta, MCP_META_CLIENT_CAPS);
        cJSON_DeleteItemFromObjectCaseSensitive(meta, MCP_META_CLIENT_INFO);
        caps = u->client_capabilities ? cJSON_Duplicate(u->client_capabilities, true)
                                      : cJSON_CreateObject();
        if (!caps || !cJSON_AddItemToObject(meta, MCP_META_CLIENT_CAPS, caps)) {
                cJSON_Delete(caps);
                return -ENOMEM;
        }
        info = cJSON_AddObjectToObject(meta, MCP_META_CLIENT_INFO);
        if (!cJSON_AddStringToObject(meta, MCP_META_PROTOCOL_VERSION, MCP_PROTOCOL_MODERN) ||
            !info || !cJSON_AddStringToObject(info, "name", "mcp-proxy") ||
            !cJSON_AddStringToObject(info, "version", VERSION))
                return -ENOMEM;
        return 0;
}

/* The headers of a 2026-07-28 request: its version, Mcp-Method, and Mcp-Name where the
 * method names a tool, prompt or resource (streamable-http §6). */
static int modern_headers(struct remote_xfer *x, const cJSON *msg)
{
        const char *method = json_get_string(msg, "method");
        const cJSON *params = json_get(msg, "params");
        const char *name = NULL;
        _cleanup_free_ char *m = NULL, *n = NULL;
        int k;

        if ((k = remote_xfer_header(x, "Accept: application/json, text/event-stream")) < 0 ||
            (k = remote_xfer_header(x, "Content-Type: application/json")) < 0 ||
            (k = remote_xfer_header(x, "Expect:")) < 0 ||
            (k = remote_xfer_header(x, "MCP-Protocol-Version: %s", MCP_PROTOCOL_MODERN)) < 0)
                return k;
        if (!method)
                return 0;
        if ((k = mcp_header_value_encode(method, &m)) < 0 ||
            (k = remote_xfer_header(x, "Mcp-Method: %s", m)) < 0)
                return k;
        if (strcmp(method, "tools/call") == 0 || strcmp(method, "prompts/get") == 0)
                name = json_get_string(params, "name");
        else if (strcmp(method, "resources/read") == 0)
                name = json_get_string(params, "uri");
        if (name && ((k = mcp_header_value_encode(name, &n)) < 0 ||
                     (k = remote_xfer_header(x, "Mcp-Name: %s", n)) < 0))
                return k;
        return 0;
}

/* x's body and headers for a 2026-07-28 server: data with the request _meta. */
static int modern_prepare(struct http_transport *t, struct remote_xfer *x, const char *data,
                          size_t len)
{
        _cleanup_json_ cJSON *msg = jsonrpc_parse(data, len, NULL);
        _cleanup_cjson_str_ char *s = NULL;
        int k;

        if (!msg)
                return -EINVAL;
        if (jsonrpc_classify(msg) == JSONRPC_REQUEST && (k = modern_meta(t->r.u, msg)) < 0)
                return k;
        s = cJSON_PrintUnformatted(msg);
        if (!s)
                return -ENOMEM;
        k = remote_xfer_body(x, s, strlen(s));
        if (k < 0)
                return k;
        return modern_headers(x, msg);
}

static struct ir_call *ir_call_free(struct ir_call *c)
{
        if (!c)
                return NULL;
        cJSON_Delete(c->request);
        cJSON_Delete(c->state);
        cJSON_Delete(c->keys);
        cJSON_Delete(c->responses);
        free(c);
        return NULL;
}

static struct ir_call *ir_call_take(struct http_transport *t, int64_t id)
{
        for (struct ir_call **p = &t->ir_calls; *p; p = &(*p)->next)
                if ((*p)->id == id) {
                        struct ir_call *c = *p;
                        *p = c->next;
                        c->next = NULL;
                        return c;
                }
        return NULL;
}

/* Forgets the calls upstream.c no longer waits for (timed out, failed in transit). */
static void ir_prune(struct http_transport *t)
{
        for (struct ir_call **p = &t->ir_calls; *p;) {
                struct ir_call *c = *p;

                if (hmap_get(&t->r.u->pending, (uint64_t)c->id)) {
                        p = &c->next;
                        continue;
                }
                *p = c->next;
                ir_call_free(c);
        }
}

static int synth_push(struct http_transport *t, cJSON *msg);

/* The call ends with an error of ours (delivered on the next loop iteration). */
static void ir_fail(struct http_transport *t, int64_t id, const char *fmt, ...) _printf_(3, 4);
static void ir_fail(struct http_transport *t, int64_t id, const char *fmt, ...)
{
        _cleanup_json_ cJSON *rid = cJSON_CreateNumber((double)id);
        char msg[512], full[640];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        snprintf(full, sizeof(full), "Upstream '%s': %s", t->r.u->name, msg);
        upstream_log(t->r.u, LOG_INFO, "%s", msg);
        (void)synth_push(t, jsonrpc_error_new(rid, JSONRPC_INTERNAL_ERROR, full, NULL));
}

/* ev is an input_required answer to x's request: ask the client, answer nothing yet. */
static cJSON *ir_begin(struct http_transport *t, struct remote_xfer *x, cJSON *ev)
{
        _cleanup_json_ cJSON *m = ev;
        const cJSON *result = json_get(m, "result");
        const cJSON *reqs = json_get(result, "inputRequests"), *e;
        struct ir_call *c;
        int64_t id = x->num_id;
        unsigned n = 0;

        x->got_response = true; /* the call goes on, under the same id */
        if (!x->has_num_id)
                return NULL;
        ir_prune(t);
        c = ir_call_take(t, id);
        if (!c) {
                c = calloc(1, sizeof(*c));
                if (!c) {
                        ir_fail(t, id, "out of memory");
                        return NULL;
                }
                c->id = id;
                c->request = jsonrpc_parse(x->body, x->body_len, NULL);
        }
        cJSON_Delete(c->state);
        c->state = cJSON_Duplicate(json_get(result, "requestState"), true);
        cJSON_Delete(c->keys);
        c->keys = cJSON_CreateObject();
        cJSON_Delete(c->responses);
        c->responses = cJSON_CreateObject();
        c->waiting = 0;
        c->next = t->ir_calls;
        t->ir_calls = c;
        if (!c->request || !c->keys || !c->responses) {
                ir_call_free(ir_call_take(t, id));
                ir_fail(t, id, "out of memory");
                return NULL;
        }
        if (++c->rounds > MRTR_MAX_ROUNDS) {
                ir_call_free(ir_call_take(t, id));
                ir_fail(t, id, "input_required more than %d times in a row, giving up",
                        MRTR_MAX_ROUNDS);
                return NULL;
        }
        cJSON_ArrayForEach(e, reqs) n++;
        if (!cJSON_IsObject(reqs) || n == 0 || n > MRTR_MAX_INPUTS) {
                ir_call_free(ir_call_take(t, id));
                ir_fail(t, id, "input_required with %s inputRequests",
                        n > MRTR_MAX_INPUTS ? "too many" : "no usable");
                return NULL;
        }
        cJSON_ArrayForEach(e, reqs)
        {
                const char *method = json_get_string(e, "method");
                cJSON *req, *params, *meta;
                char rid[48];

                if (!method) {
                        ir_call_free(ir_call_take(t, id));
                        ir_fail(t, id, "input_required: inputRequests '%s' has no method",
                                e->string);
                        return NULL;
                }
                snprintf(rid, sizeof(rid), "mcp-proxy-ir-%u", ++t->ir_asked);
                req = cJSON_CreateObject();
                params = cJSON_IsObject(json_get(e, "params"))
                             ? cJSON_Duplicate(json_get(e, "params"), true)
                             : cJSON_CreateObject();
                /* The server's own key, as the hint a 2026-07-28 client's round is keyed by
                 * (mrtr.c takes it out again). */
                meta = params ? json_get(params, "_meta") : NULL;
                if (params && !cJSON_IsObject(meta)) {
                        cJSON_DeleteItemFromObjectCaseSensitive(params, "_meta");
                        meta = cJSON_AddObjectToObject(params, "_meta");
                }
                if (!req || !params || !meta ||
                    !cJSON_AddStringToObject(meta, "io.modelcontextprotocol/inputKey", e->string) ||
                    !cJSON_AddStringToObject(req, "jsonrpc", "2.0") ||
                    !cJSON_AddStringToObject(req, "id", rid) ||
                    !cJSON_AddStringToObject(req, "method", method) ||
                    !cJSON_AddItemToObject(req, "params", TAKE_PTR(params)) ||
                    !cJSON_AddStringToObject(c->keys, rid, e->string) || synth_push(t, req) < 0) {
                        cJSON_Delete(req);
                        cJSON_Delete(params);
                        ir_call_free(ir_call_take(t, id));
                        ir_fail(t, id, "out of memory");
                        return NULL;
                }
                c->waiting++;
        }
        upstream_log(t->r.u, LOG_DEBUG,
                     "request %" PRId64 ": input_required, asking the client %u thing(s)", id,
                     c->waiting);
        return NULL;
}

/* A response of the server on its way to upstream.c: era-pure for 2025 clients (no
 * resultType, ttlMs, cacheScope or serverInfo; the hub dresses what modern clients get
 * itself). input_required becomes requests to the client (struct ir_call). */
static cJSON *modern_answer(struct http_transport *t, struct remote_xfer *x, cJSON *ev)
{
        cJSON *result = json_get(ev, "result"), *meta;
        const char *rt = cJSON_IsObject(result) ? json_get_string(result, "resultType") : NULL;

        if (rt && strcmp(rt, "input_required") == 0)
                return ir_begin(t, x, ev);
        if (x->has_num_id) /* its last answer: no more rounds */
                ir_call_free(ir_call_take(t, x->num_id));
        if (!cJSON_IsObject(result))
                return ev;
        cJSON_DeleteItemFromObjectCaseSensitive(result, "resultType");
        cJSON_DeleteItemFromObjectCaseSensitive(result, "ttlMs");
        cJSON_DeleteItemFromObjectCaseSensitive(result, "cacheScope");
        meta = json_get(result, "_meta");
        if (cJSON_IsObject(meta)) {
                cJSON_DeleteItemFromObjectCaseSensitive(meta, MCP_META_SERVER_INFO);
                if (!meta->child)
                        cJSON_DeleteItemFromObjectCaseSensitive(result, "_meta");
        }
        return ev;
}

/* Every answer is in: the request goes again with them and the server's state. */
static void ir_retry(struct http_transport *t, struct ir_call *c)
{
        _cleanup_cjson_str_ char *s = NULL;
        cJSON *params = json_get(c->request, "params");
        int k;

        if (!cJSON_IsObject(params)) {
                ir_fail(t, c->id, "cannot send the request again");
                ir_call_free(ir_call_take(t, c->id));
                return;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(params, "inputResponses");
        cJSON_DeleteItemFromObjectCaseSensitive(params, "requestState");
        if (!cJSON_AddItemToObject(params, "inputResponses", c->responses)) {
                ir_fail(t, c->id, "out of memory");
                ir_call_free(ir_call_take(t, c->id));
                return;
        }
        c->responses = NULL;
        if (c->state && !cJSON_AddItemToObject(params, "requestState", TAKE_PTR(c->state))) {
                ir_fail(t, c->id, "out of memory");
                ir_call_free(ir_call_take(t, c->id));
                return;
        }
        s = cJSON_PrintUnformatted(c->request);
        k = s ? post_message(t, s, strlen(s), false) : -ENOMEM;
        if (k < 0) {
                ir_fail(t, c->id, "cannot send the request again: %s", strerror(-k));
                ir_call_free(ir_call_take(t, c->id));
                return;
        }
        upstream_log(t->r.u, LOG_DEBUG, "request %" PRId64 " sent again with its inputResponses",
                     c->id);
}

/* The client's answer (through the hub) to one of our "mcp-proxy-ir-N" requests. */
static void ir_answer(struct http_transport *t, cJSON *msg)
{
        const cJSON *id = json_get(msg, "id");
        const cJSON *result = json_get(msg, "result");
        const cJSON *err = json_get(msg, "error");
        _cleanup_free_ char *sid = jsonrpc_id_strdup(id);

        if (!sid)
                return;
        for (struct ir_call *c = t->ir_calls; c; c = c->next) {
                cJSON *key = json_get(c->keys, sid);

                if (!cJSON_IsString(key))
                        continue;
                if (!cJSON_IsObject(result)) {
                        const char *em =
                            cJSON_IsObject(err) ? json_get_string(err, "message") : NULL;
                        int64_t cid = c->id;
                        ir_call_free(ir_call_take(t, cid));
                        ir_fail(t, cid, "the client could not answer what the server asked: %s",
                                em ? em : "(no message)");
                        return;
                }
                if (!cJSON_AddItemToObject(c->responses, key->valuestring,
                                           cJSON_Duplicate(result, true))) {
                        int64_t cid = c->id;
                        ir_call_free(ir_call_take(t, cid));
                        ir_fail(t, cid, "out of memory");
                        return;
                }
                cJSON_DeleteItemFromObjectCaseSensitive(c->keys, sid);
                if (--c->waiting == 0)
                        ir_retry(t, c);
                return;
        }
}

static int synth_cb(sd_event_source *s, void *userdata)
{
        struct http_transport *t = userdata;
        cJSON *m;

        while (!t->r.stopping && t->synth && (m = cJSON_DetachItemFromArray(t->synth, 0)))
                upstream_transport_message(t->r.u, m);
        return 0;
}

/* An answer made here, delivered on the next loop iteration (never from inside send()). */
static int synth_push(struct http_transport *t, cJSON *msg)
{
        int k;

        if (!msg)
                return -ENOMEM;
        if (!t->synth && !(t->synth = cJSON_CreateArray())) {
                cJSON_Delete(msg);
                return -ENOMEM;
        }
        if (!cJSON_AddItemToArray(t->synth, msg)) {
                cJSON_Delete(msg);
                return -ENOMEM;
        }
        if (!t->synth_src) {
                k = sd_event_add_defer(t->r.u->env->event, &t->synth_src, synth_cb, t);
                if (k < 0)
                        return k;
        }
        return sd_event_source_set_enabled(t->synth_src, SD_EVENT_ONESHOT);
}

/* What upstream.c expects of an initialize result, made from the discover result: the
 * capabilities without what 2026-07-28 removed (logging/setLevel, resources/subscribe),
 * serverInfo from its _meta, its instructions. */
static cJSON *modern_initialize_result(struct http_transport *t)
{
        _cleanup_json_ cJSON *res = cJSON_CreateObject();
        const cJSON *d = t->discovered;
        const cJSON *caps = json_get(d, "capabilities");
        const cJSON *info = json_get(json_get(d, "_meta"), MCP_META_SERVER_INFO);
        const char *instr = json_get_string(d, "instructions");
        cJSON *c;

        if (!res || !cJSON_AddStringToObject(res, "protocolVersion", MCP_PROTOCOL_MODERN))
                return NULL;
        c = cJSON_IsObject(caps) ? cJSON_Duplicate(caps, true) : cJSON_CreateObject();
        if (!c || !cJSON_AddItemToObject(res, "capabilities", c)) {
                cJSON_Delete(c);
                return NULL;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(c, "logging");
        cJSON_DeleteItemFromObjectCaseSensitive(c, "tasks");
        if (cJSON_IsObject(json_get(c, "resources")))
                cJSON_DeleteItemFromObjectCaseSensitive(json_get(c, "resources"), "subscribe");
        c = cJSON_IsObject(info) ? cJSON_Duplicate(info, true) : cJSON_CreateObject();
        if (!c || !cJSON_AddItemToObject(res, "serverInfo", c)) {
                cJSON_Delete(c);
                return NULL;
        }
        if (instr && !cJSON_AddStringToObject(res, "instructions", instr))
                return NULL;
        return TAKE_PTR(res);
}

/* One message of upstream.c's to a 2026-07-28 server. The handshake is answered here from
 * the discover result; notifications have no place in a stateless server, except that
 * notifications/initialized opens the listen stream and notifications/cancelled aborts
 * the request's transfer (closing a stream is cancellation: streamable-http §5). */
static int modern_send(struct http_transport *t, const char *data, size_t len)
{
        _cleanup_json_ cJSON *msg = jsonrpc_parse(data, len, NULL);
        const char *method = msg ? json_get_string(msg, "method") : NULL;
        const cJSON *id;

        if (!msg)
                return -EINVAL;
        switch (jsonrpc_classify(msg)) {
        case JSONRPC_REQUEST:
                id = json_get(msg, "id");
                if (strcmp(method, "initialize") == 0)
                        return synth_push(t, jsonrpc_result_new(id, modern_initialize_result(t)));
                if (strcmp(method, "ping") == 0)
                        return synth_push(t, jsonrpc_result_new(id, cJSON_CreateObject()));
                return post_message(t, data, len, false);
        case JSONRPC_NOTIFICATION:
                if (strcmp(method, "notifications/initialized") == 0) {
                        cJSON_Delete(t->discovered);
                        t->discovered = NULL;
                        t->listen_wanted = true;
                        open_listen(t);
                } else if (strcmp(method, "notifications/cancelled") == 0) {
                        const cJSON *rid = json_get(json_get(msg, "params"), "requestId");
                        int64_t n;
                        if (json_int64(rid, &n)) {
                                remote_xfer_free(remote_xfer_find(&t->r, HTTP_POST, n));
                                ir_call_free(ir_call_take(t, n));
                        }
                }
                return 0;
        case JSONRPC_RESPONSE:
                ir_answer(t, msg); /* to a question of input_required's */
                return 0;
        default:
                return 0;
        }
}

/* POSTs one message. Returns 0 or -errno (nothing was sent). */
static int post_message(struct http_transport *t, const char *data, size_t len, bool retried)
{
        struct upstream *u = t->r.u;
        struct remote_xfer *x;
        bool initialize;
        long timeout;
        int k;

        x = remote_xfer_new(&t->r, HTTP_POST, "POST", u->cfg.url, 0);
        if (!x)
                return -ENOMEM;
        if (t->modern) {
                k = modern_prepare(t, x, data, len);
                if (k < 0)
                        goto fail;
                data = x->body;
                len = x->body_len;
        } else
                k = remote_xfer_body(x, data, len);
        if (k < 0)
                goto fail;
        x->retried = retried;
        initialize = x->is_request && x->method && strcmp(x->method, "initialize") == 0;
        /* A request may stream for as long as upstream.c lets it (its timeout, extended by
         * progress up to maxTimeout), which fails it first; this only bounds a hang. */
        timeout =
            x->is_request ? (long)u->cfg.max_request_timeout_ms + 1000 : remote_post_timeout_ms(u);
        if (curl_easy_setopt(x->glue.easy, CURLOPT_TIMEOUT_MS, timeout) != CURLE_OK) {
                k = -EINVAL;
                goto fail;
        }
        if (!t->modern) {
                k = add_post_headers(t, x, initialize);
                if (k < 0)
                        goto fail;
        }
        k = remote_xfer_start(x);
        if (k < 0)
                goto fail;
        if (initialize && x->has_num_id) {
                t->have_init_id = true;
                t->init_id = x->num_id;
        }
        if (!x->is_request && x->method && strcmp(x->method, "notifications/cancelled") == 0) {
                /* The request is over for upstream.c: stop its transfer too. */
                _cleanup_json_ cJSON *m = jsonrpc_parse(data, len, NULL);
                const cJSON *p = m ? json_get(m, "params") : NULL;
                const cJSON *rid = p ? json_get(p, "requestId") : NULL;
                int64_t n;
                if (json_int64(rid, &n))
                        remote_xfer_free(remote_xfer_find(&t->r, HTTP_POST, n));
        }
        return 0;
fail:
        remote_xfer_free(x);
        return k;
}

/* A message that could not be sent again: its request gets an error. */
static void fail_held(struct http_transport *t, struct remote_held *m, const char *why)
{
        _cleanup_json_ cJSON *j = jsonrpc_parse(m->data, m->len, NULL);
        char msg[512];
        cJSON *err;

        if (!j || jsonrpc_classify(j) != JSONRPC_REQUEST)
                return;
        snprintf(msg, sizeof(msg), "Upstream '%s': %s", t->r.u->name, why);
        err = jsonrpc_error_new(json_get(j, "id"), MCP_ERROR_CONNECTION_CLOSED, msg, NULL);
        if (err)
                upstream_transport_message(t->r.u, err);
}

static void close_stream(struct http_transport *t)
{
        t->r.stream = remote_xfer_free(t->r.stream);
        t->stream_timer = sd_event_source_disable_unref(t->stream_timer);
        if (t->stream_state != STREAM_UNSUPPORTED)
                t->stream_state = STREAM_NONE;
}

/* A request of ours, {"jsonrpc":"2.0","id":"mcp-proxy-...","method":...}, printed. */
static char *own_request(const char *id, const char *method, cJSON *params)
{
        _cleanup_json_ cJSON *msg = cJSON_CreateObject();

        if (!msg || !cJSON_AddStringToObject(msg, "jsonrpc", "2.0") ||
            !cJSON_AddStringToObject(msg, "id", id) ||
            !cJSON_AddStringToObject(msg, "method", method)) {
                cJSON_Delete(params);
                return NULL;
        }
        if (params && !cJSON_AddItemToObject(msg, "params", params)) {
                cJSON_Delete(params);
                return NULL;
        }
        return cJSON_PrintUnformatted(msg);
}

static void start_reinit(struct http_transport *t)
{
        struct upstream *u = t->r.u;
        _cleanup_cjson_str_ char *s = NULL;
        struct remote_xfer *x = NULL;
        int k = -ENOMEM;

        if (t->reinit)
                return;
        t->reinit = true;
        t->reinit_ok = false;
        t->initialized = false;
        free(t->session_id);
        t->session_id = NULL;
        free(t->last_event_id);
        t->last_event_id = NULL;
        close_stream(t);
        t->stream_state = STREAM_NONE; /* a new session may have one */
        snprintf(t->reinit_id, sizeof(t->reinit_id), "mcp-proxy-reinit-%u", ++t->reinits);
        upstream_log(u, LOG_NOTICE, "the server lost our session, initializing a new one");
        s = own_request(t->reinit_id, "initialize", upstream_initialize_params(u));
        x = s ? remote_xfer_new(&t->r, HTTP_REINIT, "POST", u->cfg.url, 0) : NULL;
        if (!x)
                goto fail;
        k = remote_xfer_body(x, s, strlen(s));
        if (k >= 0 && curl_easy_setopt(x->glue.easy, CURLOPT_TIMEOUT_MS,
                                       (long)MIN(u->cfg.startup_timeout_ms,
                                                 (int64_t)REQUEST_MAX_TIMEOUT_MS)) != CURLE_OK)
                k = -EINVAL;
        if (k >= 0)
                k = add_post_headers(t, x, true);
        if (k >= 0)
                k = remote_xfer_start(x);
        if (k < 0)
                goto fail;
        return;
fail:
        remote_xfer_free(x);
        remote_held_free_all(&t->r);
        remote_down(&t->r, "lost our session and cannot initialize a new one: %s", strerror(-k));
}

/* The GET stream was refused as if our session were unknown. A ping with the session
 * tells: refused too, and the usual path initializes a new session; answered, and this
 * server just has no stream at its URL. */
static void probe_session(struct http_transport *t)
{
        _cleanup_cjson_str_ char *s = NULL;
        char id[48];

        snprintf(id, sizeof(id), "mcp-proxy-probe-%u", ++t->probes);
        s = own_request(id, "ping", NULL);
        if (!s || post_message(t, s, strlen(s), false) < 0) {
                t->stream_state = STREAM_UNSUPPORTED;
                return;
        }
        if (t->r.xfers && t->r.xfers->kind == HTTP_POST)
                t->r.xfers->probe = true; /* just started: at the head of the list */
}

static void reinit_done(struct http_transport *t, struct remote_xfer *x, CURLcode rc)
{
        static const char initialized[] =
            "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";
        struct upstream *u = t->r.u;
        struct remote_held *m;
        char why[512] = "";
        unsigned n = 0;

        if (rc != CURLE_OK)
                snprintf(why, sizeof(why), "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
        else if (x->status < 200 || x->status >= 300)
                remote_status_text(x, why, sizeof(why));
        else if (!t->reinit_ok)
                snprintf(why, sizeof(why), "no result to initialize");
        remote_xfer_free(x);
        if (rc != CURLE_OK || !t->reinit_ok) {
                remote_held_free_all(&t->r);
                remote_down(&t->r, "lost our session and could not initialize a new one: %s", why);
                return;
        }
        t->reinit = false;
        if (post_message(t, initialized, sizeof(initialized) - 1, true) < 0) {
                remote_held_free_all(&t->r);
                remote_down(&t->r, "lost our session and cannot send notifications/initialized");
                return;
        }
        while ((m = remote_held_pop(&t->r))) {
                if (post_message(t, m->data, m->len, true) < 0)
                        fail_held(t, m, "cannot send the request again in the new session");
                else
                        n++;
                free(m->data);
                free(m);
                if (t->r.stopping)
                        break;
        }
        upstream_log(u, LOG_NOTICE, "new session%s, %u message(s) sent again",
                     t->session_id ? "" : " (the server gave no id)", n);
}

/* 502, 503, 504 (why: remote_status_text()): the server is down for us; x is freed.
 * False, x untouched, for any other status. */
static bool down_if_unavailable(struct http_transport *t, struct remote_xfer *x, const char *why)
{
        if (!remote_status_unavailable(x->status))
                return false;
        remote_xfer_free(x);
        remote_down(&t->r, "is unavailable at %s (%s)", t->r.url_shown, why);
        return true;
}

/* Whether the server answered a message with our session as if it did not know it: 404
 * as the spec says, or the 400 "No valid session ID" of some SDK-based servers. */
static bool session_lost(struct remote_xfer *x)
{
        char text[512];

        if (!x->session_sent)
                return false;
        if (x->status == 404)
                return true;
        if (x->status != 400)
                return false;
        remote_status_text(x, text, sizeof(text));
        return strcasestr(text, "session") != NULL;
}

static void fallback_to_sse(struct http_transport *t, struct remote_xfer *x)
{
        struct upstream *u = t->r.u;
        long status = x->status;
        size_t len;
        char *body = remote_xfer_take_body(x, &len);
        int k;

        remote_xfer_free(x);
        upstream_log(u, LOG_NOTICE,
                     "POST initialize answered HTTP %ld: trying the legacy HTTP+SSE transport",
                     status);
        /* Nothing else is in flight before initialize: hand over. */
        http_free(u);
        k = body ? upstream_sse_adopt(u, body, len) : -ENOMEM;
        if (k < 0) {
                free(body);
                u->ops = &upstream_http_ops;
                upstream_transport_down(u, "answered neither Streamable HTTP nor legacy SSE");
        }
}

/* A whole JSON answer (one message, or an array of them) joins the transfer's queue. */
static void queue_json_answer(struct http_transport *t, struct remote_xfer *x)
{
        cJSON *j = jsonrpc_parse(buf_head(&x->in), buf_avail(&x->in), NULL), *e;

        if (!cJSON_IsArray(j) && !cJSON_IsObject(j)) {
                cJSON_Delete(j);
                upstream_log(t->r.u, LOG_WARNING, "answer to '%s' is not JSON",
                             x->method ? x->method : "?");
                return;
        }
        if (!x->queue)
                x->queue = cJSON_CreateArray();
        if (!x->queue) {
                cJSON_Delete(j);
                return;
        }
        if (cJSON_IsObject(j)) {
                if (!cJSON_AddItemToArray(x->queue, j))
                        cJSON_Delete(j);
                return;
        }
        while ((e = cJSON_DetachItemFromArray(j, 0)))
                if (!cJSON_AddItemToArray(x->queue, e))
                        cJSON_Delete(e);
        cJSON_Delete(j);
}

static void post_done(struct http_transport *t, struct remote_xfer *x, CURLcode rc)
{
        struct upstream *u = t->r.u;
        char why[512];
        long status;

        /* What came on its event stream goes first, in order. */
        if (!remote_deliver(&t->r, x)) {
                remote_xfer_free(x);
                return;
        }
        if (rc != CURLE_OK) {
                if (x->overflow)
                        remote_fail_request(&t->r, x, JSONRPC_INTERNAL_ERROR,
                                            "answer over %d bytes", REMOTE_MAX_MESSAGE);
                else if (remote_unreachable(x, rc, why, sizeof(why))) {
                        remote_xfer_free(x);
                        remote_down(&t->r, "cannot be reached at %s: %s", t->r.url_shown, why);
                        return;
                } else if (rc == CURLE_OPERATION_TIMEDOUT)
                        remote_fail_request(&t->r, x, MCP_ERROR_REQUEST_TIMEOUT, "no answer: %s",
                                            why);
                else
                        remote_fail_request(&t->r, x, MCP_ERROR_CONNECTION_CLOSED,
                                            "the answer broke off: %s", why);
                remote_maybe_lost(&t->r, x, why);
                return;
        }

        status = x->status;
        if (status >= 200 && status < 300) {
                bool opens_stream = !x->is_request && x->method &&
                                    strcmp(x->method, "notifications/initialized") == 0;

                if (x->probe && !t->reinit && !t->r.stream && t->stream_state != STREAM_OPEN) {
                        upstream_log(u, LOG_INFO,
                                     "the session is fine but GET is refused: going without "
                                     "the GET stream");
                        close_stream(t);
                        t->stream_state = STREAM_UNSUPPORTED;
                }

                if (x->answer == ANSWER_JSON) {
                        queue_json_answer(t, x);
                        if (!remote_deliver(&t->r, x)) {
                                remote_xfer_free(x);
                                return;
                        }
                }
                if (x->is_request && !x->got_response) {
                        if (x->answer == ANSWER_NONE || status == 202)
                                upstream_log(u, LOG_DEBUG,
                                             "'%s' accepted (HTTP %ld): its answer comes on the "
                                             "GET stream",
                                             x->method ? x->method : "?", status);
                        else
                                remote_fail_request(&t->r, x, MCP_ERROR_CONNECTION_CLOSED,
                                                    "the answer to '%s' ended without a response",
                                                    x->method ? x->method : "?");
                }
                remote_xfer_free(x);
                if (opens_stream && !t->r.stopping) {
                        t->initialized = true;
                        open_stream(t);
                }
                return;
        }

        if (t->auto_detect && x->is_request && x->method && strcmp(x->method, "initialize") == 0 &&
            (status == 400 || status == 404 || status == 405)) {
                fallback_to_sse(t, x);
                return;
        }
        if (session_lost(x)) {
                size_t len;
                char *body;

                if (x->retried) {
                        remote_fail_request(&t->r, x, MCP_ERROR_CONNECTION_CLOSED,
                                            "lost our session again (HTTP %ld)", status);
                        remote_xfer_free(x);
                        return;
                }
                body = remote_xfer_take_body(x, &len);
                if (!t->reinit && t->session_id && strcmp(x->session_sent, t->session_id) != 0) {
                        /* Sent with an older session; the new one is up: send it again. */
                        if (post_message(t, body, len, true) < 0)
                                remote_fail_request(&t->r, x, MCP_ERROR_CONNECTION_CLOSED,
                                                    "cannot send the request again");
                        free(body);
                        remote_xfer_free(x);
                        return;
                }
                if (remote_hold(&t->r, body, len, true) < 0) {
                        free(body);
                        remote_fail_request(&t->r, x, MCP_ERROR_CONNECTION_CLOSED,
                                            "lost our session (HTTP %ld), too much waiting",
                                            status);
                }
                remote_xfer_free(x);
                start_reinit(t);
                return;
        }
        remote_status_text(x, why, sizeof(why));
        if (down_if_unavailable(t, x, why))
                return;
        if (status >= 300 && status < 400) {
                char *loc = NULL;
                _cleanup_free_ char *shown = NULL;
                (void)curl_easy_getinfo(x->glue.easy, CURLINFO_REDIRECT_URL, &loc);
                shown = loc ? remote_url_shown(loc) : NULL;
                snprintf(why + strlen(why), sizeof(why) - strlen(why),
                         " (redirects are not followed: fix the url%s%s)", shown ? ", to " : "",
                         shown ? shown : "");
        }
        remote_refused(&t->r, x, why);
}

/* ---------------------------------------------------------------- the GET stream */

static int stream_timer_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct http_transport *t = userdata;

        t->stream_timer = sd_event_source_disable_unref(t->stream_timer);
        open_stream(t);
        return 0;
}

static void stream_retry(struct http_transport *t, uint64_t delay)
{
        t->stream_state = STREAM_WAITING;
        t->stream_timer = sd_event_source_disable_unref(t->stream_timer);
        if (sd_event_add_time_relative(t->r.u->env->event, &t->stream_timer, CLOCK_MONOTONIC, delay,
                                       USEC_PER_MSEC, stream_timer_cb, t) < 0)
                upstream_log(t->r.u, LOG_WARNING, "cannot schedule the GET stream, going without");
}

static void open_stream(struct http_transport *t)
{
        struct upstream *u = t->r.u;
        struct remote_xfer *x;

        if (t->r.stopping || t->r.stream || t->reinit || !t->initialized ||
            t->stream_state == STREAM_UNSUPPORTED)
                return;
        x = remote_xfer_new(&t->r, HTTP_STREAM, "GET", u->cfg.url, 0);
        if (!x || remote_xfer_header(x, "Accept: text/event-stream") < 0 ||
            (t->session_id && remote_xfer_header(x, "Mcp-Session-Id: %s", t->session_id) < 0) ||
            (t->protocol_version &&
             remote_xfer_header(x, "MCP-Protocol-Version: %s", t->protocol_version) < 0) ||
            (t->last_event_id && remote_xfer_header(x, "Last-Event-ID: %s", t->last_event_id) < 0))
                goto fail;
        if (t->session_id && !(x->session_sent = strdup(t->session_id)))
                goto fail;
        if (remote_xfer_start(x) < 0)
                goto fail;
        t->r.stream = x;
        t->stream_state = STREAM_OPEN;
        t->stream_opened_usec = now_usec();
        upstream_log(u, LOG_DEBUG, "GET stream requested%s%s",
                     t->last_event_id ? ", resuming after event " : "",
                     t->last_event_id ? t->last_event_id : "");
        return;
fail:
        remote_xfer_free(x);
        stream_retry(t, t->stream_delay_usec);
}

static void stream_done(struct http_transport *t, struct remote_xfer *x, CURLcode rc)
{
        struct upstream *u = t->r.u;
        uint64_t lived = now_usec() - t->stream_opened_usec, delay;
        char why[512];
        long status;

        if (!remote_deliver(&t->r, x)) {
                remote_xfer_free(x);
                return;
        }
        if (x->last_event_id) {
                free(t->last_event_id);
                t->last_event_id = TAKE_PTR(x->last_event_id);
        }
        if (x->retry_ms >= 0)
                t->stream_retry_ms = x->retry_ms;
        status = x->status;
        if (rc != CURLE_OK && remote_unreachable(x, rc, why, sizeof(why))) {
                remote_xfer_free(x);
                remote_down(&t->r, "cannot be reached at %s: %s", t->r.url_shown, why);
                return;
        }
        if (status == 405) {
                upstream_log(u, LOG_INFO,
                             "no GET stream (HTTP 405): server messages come only with answers");
                t->stream_state = STREAM_UNSUPPORTED;
                remote_xfer_free(x);
                return;
        }
        if (session_lost(x)) {
                remote_xfer_free(x);
                t->stream_state = STREAM_WAITING;
                probe_session(t);
                return;
        }
        remote_status_text(x, why, sizeof(why));
        if (down_if_unavailable(t, x, why))
                return;
        if (status >= 200 && status < 300 && x->answer != ANSWER_SSE) {
                upstream_log(u, LOG_WARNING,
                             "GET answered HTTP %ld without an event stream: going without",
                             status);
                t->stream_state = STREAM_UNSUPPORTED;
                remote_xfer_free(x);
                return;
        }
        remote_xfer_free(x);
        if (status >= 200 && status < 300 && lived >= 1000 * USEC_PER_MSEC)
                t->stream_delay_usec = REMOTE_STREAM_RETRY_MS * USEC_PER_MSEC;
        else
                t->stream_delay_usec = MIN(t->stream_delay_usec * 2,
                                           (uint64_t)REMOTE_STREAM_RETRY_MAX_MS * USEC_PER_MSEC);
        delay = t->stream_retry_ms >= 0
                    ? MAX((uint64_t)t->stream_retry_ms * USEC_PER_MSEC, t->stream_delay_usec / 2)
                    : t->stream_delay_usec;
        if (status >= 200 && status < 300)
                upstream_log(u, LOG_DEBUG, "GET stream ended (%s), reopening in %.1f s",
                             rc == CURLE_OK ? "closed by the server" : curl_easy_strerror(rc),
                             (double)delay / 1e6);
        else
                upstream_log(u, LOG_WARNING, "GET stream refused (%s), trying again in %.1f s", why,
                             (double)delay / 1e6);
        stream_retry(t, delay);
}

/* ---------------------------------------------------------------- server/discover */

/* A request of ours to a 2026-07-28 server (kind, string id) with its _meta and
 * headers, started; timeout_ms 0 = none. NULL on failure. */
static struct remote_xfer *modern_own_request(struct http_transport *t, int kind, const char *id,
                                              const char *method, cJSON *params, long timeout_ms)
{
        struct upstream *u = t->r.u;
        _cleanup_json_ cJSON *msg = cJSON_CreateObject();
        _cleanup_cjson_str_ char *s = NULL;
        struct remote_xfer *x;

        if (!msg || !cJSON_AddStringToObject(msg, "jsonrpc", "2.0") ||
            !cJSON_AddStringToObject(msg, "id", id) ||
            !cJSON_AddStringToObject(msg, "method", method) ||
            !cJSON_AddItemToObject(msg, "params", params ? params : cJSON_CreateObject()) ||
            modern_meta(u, msg) < 0 || !(s = cJSON_PrintUnformatted(msg)))
                return NULL;
        x = remote_xfer_new(&t->r, kind, "POST", u->cfg.url, timeout_ms);
        if (!x || remote_xfer_body(x, s, strlen(s)) < 0 || modern_headers(x, msg) < 0 ||
            remote_xfer_start(x) < 0)
                return remote_xfer_free(x);
        return x;
}

/* Before initialize: a server that lists 2026-07-28 in server/discover is used
 * statelessly (a dual-era one too); anything else gets a 2025 session. */
static void start_discover(struct http_transport *t)
{
        struct upstream *u = t->r.u;

        if (!modern_own_request(
                t, HTTP_DISCOVER, "mcp-proxy-discover", "server/discover", NULL,
                (long)MIN(u->cfg.startup_timeout_ms, (int64_t)REQUEST_MAX_TIMEOUT_MS))) {
                upstream_log(u, LOG_WARNING, "cannot send server/discover, initializing");
                upstream_transport_up(u);
        }
}

static bool lists_modern(const cJSON *discovered)
{
        const cJSON *v;

        cJSON_ArrayForEach(
            v, json_get(discovered, "supportedVersions")) if (cJSON_IsString(v) &&
                                                              strcmp(v->valuestring,
                                                                     MCP_PROTOCOL_MODERN) ==
                                                                  0) return true;
        return false;
}

static void discover_done(struct http_transport *t, struct remote_xfer *x, CURLcode rc)
{
        struct upstream *u = t->r.u;
        char why[512] = "";

        if (rc == CURLE_OK && x->answer == ANSWER_JSON)
                queue_json_answer(t, x);
        if (remote_done_gone(&t->r, x, rc, why, sizeof(why)))
                return;
        if (rc != CURLE_OK)
                snprintf(why, sizeof(why), "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
        else if (x->status < 200 || x->status >= 300)
                remote_status_text(x, why, sizeof(why));
        else if (!t->discovered)
                snprintf(why, sizeof(why), "no result");
        else
                snprintf(why, sizeof(why), "2026-07-28 not among its versions");
        remote_xfer_free(x);
        if (lists_modern(t->discovered)) {
                t->modern = true;
                t->auto_detect = false;
                upstream_log(u, LOG_INFO,
                             "server/discover lists %s: stateless requests, no session",
                             MCP_PROTOCOL_MODERN);
        } else {
                cJSON_Delete(t->discovered);
                t->discovered = NULL;
                upstream_log(u, LOG_DEBUG, "server/discover: %s; initializing a session", why);
        }
        upstream_transport_up(u);
}

/* ---------------------------------------------------------------- subscriptions/listen */

static int listen_timer_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct http_transport *t = userdata;

        t->listen_timer = sd_event_source_disable_unref(t->listen_timer);
        open_listen(t);
        return 0;
}

static void listen_retry(struct http_transport *t, uint64_t delay)
{
        t->listen_timer = sd_event_source_disable_unref(t->listen_timer);
        if (sd_event_add_time_relative(t->r.u->env->event, &t->listen_timer, CLOCK_MONOTONIC, delay,
                                       USEC_PER_MSEC, listen_timer_cb, t) < 0)
                upstream_log(t->r.u, LOG_WARNING,
                             "cannot schedule subscriptions/listen, going without");
}

/* The stream that carries the server's list changes (basic/patterns/subscriptions),
 * for each list the server has. */
static void open_listen(struct http_transport *t)
{
        struct upstream *u = t->r.u;
        cJSON *params, *n;
        char id[48];

        if (!t->modern || !t->listen_wanted || t->listen_refused || t->r.stopping || t->r.stream ||
            t->listen_timer)
                return;
        if (!u->supports[LIST_TOOLS] && !u->supports[LIST_PROMPTS] && !u->supports[LIST_RESOURCES])
                return;
        params = cJSON_CreateObject();
        n = params ? cJSON_AddObjectToObject(params, "notifications") : NULL;
        if (!n || (u->supports[LIST_TOOLS] && !cJSON_AddTrueToObject(n, "toolsListChanged")) ||
            (u->supports[LIST_PROMPTS] && !cJSON_AddTrueToObject(n, "promptsListChanged")) ||
            (u->supports[LIST_RESOURCES] && !cJSON_AddTrueToObject(n, "resourcesListChanged"))) {
                cJSON_Delete(params);
                listen_retry(t, t->listen_delay_usec);
                return;
        }
        snprintf(id, sizeof(id), "mcp-proxy-listen-%u", ++t->listens);
        t->r.stream = modern_own_request(t, HTTP_LISTEN, id, "subscriptions/listen", params, 0);
        if (!t->r.stream) {
                listen_retry(t, t->listen_delay_usec);
                return;
        }
        t->listen_opened_usec = now_usec();
        upstream_log(u, LOG_DEBUG, "subscriptions/listen requested");
}

static void listen_done(struct http_transport *t, struct remote_xfer *x, CURLcode rc)
{
        struct upstream *u = t->r.u;
        uint64_t lived = now_usec() - t->listen_opened_usec;
        long status = x->status;
        char why[512];

        if (remote_done_gone(&t->r, x, rc, why, sizeof(why)))
                return;
        remote_status_text(x, why, sizeof(why));
        if (down_if_unavailable(t, x, why))
                return;
        remote_xfer_free(x);
        if (status >= 400 && status < 500) {
                upstream_log(u, LOG_WARNING,
                             "subscriptions/listen refused (%s): its list changes go unseen", why);
                t->listen_refused = true;
                return;
        }
        if (status >= 200 && status < 300 && lived >= 1000 * USEC_PER_MSEC)
                t->listen_delay_usec = REMOTE_STREAM_RETRY_MS * USEC_PER_MSEC;
        else
                t->listen_delay_usec = MIN(t->listen_delay_usec * 2,
                                           (uint64_t)REMOTE_STREAM_RETRY_MAX_MS * USEC_PER_MSEC);
        upstream_log(u, LOG_DEBUG, "subscriptions/listen ended (%s), again in %.1f s",
                     rc == CURLE_OK ? "closed by the server" : curl_easy_strerror(rc),
                     (double)t->listen_delay_usec / 1e6);
        listen_retry(t, t->listen_delay_usec);
}

/* ---------------------------------------------------------------- ops */

static void http_xfer_done(struct remote *r, struct remote_xfer *x, CURLcode rc)
{
        struct http_transport *t = (struct http_transport *)r;

        switch (x->kind) {
        case HTTP_POST:
                post_done(t, x, rc);
                break;
        case HTTP_REINIT:
                if (rc == CURLE_OK && x->answer == ANSWER_JSON)
                        queue_json_answer(t, x);
                if (!remote_deliver(r, x)) {
                        remote_xfer_free(x);
                        break;
                }
                reinit_done(t, x, rc);
                break;
        case HTTP_STREAM:
                stream_done(t, x, rc);
                break;
        case HTTP_DISCOVER:
                discover_done(t, x, rc);
                break;
        case HTTP_LISTEN:
                listen_done(t, x, rc);
                break;
        case HTTP_DELETE:
                upstream_log(r->u, LOG_DEBUG, "DELETE of the session: %s",
                             rc != CURLE_OK                        ? curl_easy_strerror(rc)
                             : x->status >= 200 && x->status < 300 ? "done"
                                                                   : "refused");
                remote_xfer_free(x);
                remote_finish_now(r);
                break;
        default:
                remote_xfer_free(x);
        }
}

static int http_start(struct upstream *u)
{
        struct http_transport *t;
        int k;

        k = remote_new(u, sizeof(*t), http_xfer_done, http_on_event);
        if (k < 0)
                return k;
        t = T(u);
        t->stream_retry_ms = -1;
        t->stream_delay_usec = REMOTE_STREAM_RETRY_MS * USEC_PER_MSEC;
        t->listen_delay_usec = REMOTE_STREAM_RETRY_MS * USEC_PER_MSEC;
        t->auto_detect = u->cfg.transport == TRANSPORT_AUTO;
        upstream_log(u, LOG_INFO, "connecting to %s%s", t->r.url_shown,
                     t->auto_detect ? " (Streamable HTTP, or legacy SSE if it answers so)" : "");
        /* Nothing to connect first: server/discover is the first POST, then initialize
         * (answered here for a 2026-07-28 server). */
        start_discover(t);
        return 0;
}

static int http_send(struct upstream *u, const char *data, size_t len)
{
        struct http_transport *t = T(u);

        if (!t || t->r.stopping)
                return -ENOTCONN;
        if (t->modern)
                return modern_send(t, data, len);
        if (!t->reinit)
                return post_message(t, data, len, false);
        /* A new session is on its way: the message waits for it. */
        return remote_hold_copy(&t->r, data, len);
}

static void http_stop(struct upstream *u)
{
        struct http_transport *t = T(u);
        struct remote_xfer *x;

        if (!remote_stop_begin(u))
                return;
        t->stream_timer = sd_event_source_disable_unref(t->stream_timer);
        t->listen_timer = sd_event_source_disable_unref(t->listen_timer);
        if (t->session_id && !u->transport_lost) {
                /* End the session on the server, briefly: a dead server must not hold us. */
                x = remote_xfer_new(&t->r, HTTP_DELETE, "DELETE", u->cfg.url,
                                    REMOTE_DELETE_TIMEOUT_MS);
                if (x && remote_xfer_header(x, "Mcp-Session-Id: %s", t->session_id) >= 0 &&
                    (!t->protocol_version ||
                     remote_xfer_header(x, "MCP-Protocol-Version: %s", t->protocol_version) >= 0) &&
                    curl_easy_setopt(x->glue.easy, CURLOPT_CONNECTTIMEOUT_MS,
                                     (long)REMOTE_DELETE_TIMEOUT_MS) == CURLE_OK &&
                    remote_xfer_start(x) >= 0)
                        return;
                remote_xfer_free(x);
        }
        remote_finish_later(&t->r);
}

static void http_free(struct upstream *u)
{
        struct http_transport *t = T(u);

        if (!t)
                return;
        remote_done(&t->r);
        t->stream_timer = sd_event_source_disable_unref(t->stream_timer);
        t->listen_timer = sd_event_source_disable_unref(t->listen_timer);
        t->synth_src = sd_event_source_disable_unref(t->synth_src);
        cJSON_Delete(t->synth);
        cJSON_Delete(t->discovered);
        while (t->ir_calls)
                ir_call_free(ir_call_take(t, t->ir_calls->id));
        free(t->session_id);
        free(t->protocol_version);
        free(t->last_event_id);
        free(t);
        u->transport = NULL;
}

static void http_describe(struct upstream *u, cJSON *o)
{
        struct http_transport *t = T(u);

        if (!t)
                return;
        remote_describe(&t->r, o, t->auto_detect ? "not yet" : "streamable-http");
        cJSON_AddBoolToObject(o, "session", t->session_id != NULL);
        if (t->modern) {
                cJSON_AddBoolToObject(o, "stateless", true);
                cJSON_AddStringToObject(o, "listen_stream",
                                        t->r.stream         ? "open"
                                        : t->listen_refused ? "unsupported"
                                        : t->listen_timer   ? "reconnecting"
                                                            : "none");
        } else
                cJSON_AddStringToObject(o, "get_stream", stream_state_table[t->stream_state]);
        cJSON_AddNumberToObject(o, "http_transfers", t->r.n_xfers);
        if (t->reinits)
                cJSON_AddNumberToObject(o, "new_sessions", t->reinits);
}

const struct upstream_ops upstream_http_ops = {
    .name = "streamable-http",
    .start = http_start,
    .send = http_send,
    .stop = http_stop,
    .free = http_free,
    .describe = http_describe,
    .buffered = remote_ops_buffered,
    .pause = remote_ops_pause,
};
