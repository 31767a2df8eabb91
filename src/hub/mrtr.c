/* SPDX-License-Identifier: MIT */
/*
 * input_required: multi round-trip requests (2026-07-28 basic/patterns/mrtr) bridged onto
 * 2025-era upstreams. A 2025 server asks its client things in the middle of a call
 * (elicitation/create, sampling/createMessage, roots/list); a modern client cannot be asked,
 * it is answered. So when a server asks during a modern request's tools/call, prompts/get
 * or resources/read, the hub collects what it asks for a short window
 * (MRTR_COLLECT_MS), then ends that round with
 *
 *   {"resultType":"input_required","inputRequests":{"<key>":{method,params}},
 *    "requestState":"<sealed>"}
 *
 * and keeps the call suspended, with its session, in a continuation. The client's retry
 * (same params, new id, "inputResponses" and the "requestState") is checked, its answers go
 * to the server's waiting requests, and the call goes on on the retry's exchange: to its
 * answer, or to another round. The key of a request is the one the server hints at in
 * params._meta["io.modelcontextprotocol/inputKey"], else elicit-N, sample-N, roots-N.
 *
 * requestState is "1." + hex(continuation id, round, expiry, client digest, params digest)
 * + "." + hex(HMAC-SHA256 under a key random to this process): a restart forgets every
 * continuation, and every state with them. It binds the client, the params (method, name or
 * URI, arguments) and an expiry (MCP_INPUT_TIMEOUT); a continuation nobody resumes by then
 * expires: its server's requests are answered (elicitation with "cancel", the others with
 * an error) and its call cancelled.
 *
 * What the client did not declare (_meta's clientCapabilities) is never asked: the server
 * gets an error at once, and when a round has nothing else to ask the client gets -32021
 * with data.requiredCapabilities (HTTP 400 while nothing was streamed yet).
 * inputResponses on a first request answer what the server asks with those keys at once;
 * keys nothing asks for are ignored.
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
#include "random-util.h"
#include "sha256.h"

#define MRTR_HINT "io.modelcontextprotocol/inputKey"

struct mrtr_pending {
        char *key;
        char *method;
        cJSON *params;     /* as the client sees them (the hint taken out) */
        uint64_t instance; /* that asked */
        cJSON *upstream_id;
        const char *refused; /* the capability the client did not declare: never asked */
        struct mrtr_pending *next;
};

struct mrtr {
        uint64_t id;
        struct hub *hub;
        char session[65];
        uint32_t round;
        bool suspended;
        uint64_t expires_ms; /* wall clock, as in the state */
        struct mrtr_pending *pending;
        unsigned n_auto;
        cJSON *answer;          /* the server's answer, come while suspended */
        sd_event_source *timer; /* the collection window, then the expiry */
};

struct state_fields {
        uint64_t id;
        uint32_t round;
        uint64_t expires_ms;
        uint8_t client[16];
        uint8_t digest[SHA256_DIGEST_SIZE];
};

#define STATE_BYTES (8 + 4 + 8 + 16 + SHA256_DIGEST_SIZE)

/* ---------------------------------------------------------------- requestState */

static const uint8_t *state_key(struct hub *h)
{
        if (!h->mrtr_key_set) {
                if (random_bytes(h->mrtr_key, sizeof(h->mrtr_key)) < 0)
                        return NULL;
                h->mrtr_key_set = true;
        }
        return h->mrtr_key;
}

static void put_u64(uint8_t *p, uint64_t v)
{
        for (int i = 7; i >= 0; i--, v >>= 8)
                p[i] = (uint8_t)v;
}

static uint64_t get_u64(const uint8_t *p)
{
        uint64_t v = 0;
        for (int i = 0; i < 8; i++)
                v = v << 8 | p[i];
        return v;
}

static void client_digest(const char *client, uint8_t out[16])
{
        uint8_t d[SHA256_DIGEST_SIZE];
        sha256(client, strlen(client), d);
        memcpy(out, d, 16);
}

/* The digest of what a retry must repeat: the method, the name or URI, the arguments. */
void mrtr_params_digest(const char *method, const cJSON *params, uint8_t out[SHA256_DIGEST_SIZE])
{
        struct buf b;
        const char *name = NULL;
        _cleanup_cjson_str_ char *args = NULL;
        const cJSON *a;

        if (cJSON_IsObject(params)) {
                name = json_get_string(params, "name");
                if (!name)
                        name = json_get_string(params, "uri");
                a = json_get(params, "arguments");
                args = a ? cJSON_PrintUnformatted(a) : NULL;
        }
        buf_init(&b, 16 * 1024 * 1024);
        (void)buf_printf(&b, "%s\n%s\n%s", method ? method : "", name ? name : "",
                         args ? args : "");
        sha256(b.data ? b.data : "", b.len, out);
        buf_done(&b);
}

static int state_make(struct hub *h, const struct mrtr *m, const char *client,
                      const uint8_t digest[SHA256_DIGEST_SIZE], char *out, size_t outlen)
{
        const uint8_t *key = state_key(h);
        uint8_t raw[STATE_BYTES], mac[SHA256_DIGEST_SIZE];
        char hraw[2 * STATE_BYTES + 1], hmac[2 * SHA256_DIGEST_SIZE + 1];

        if (!key)
                return -EIO;
        put_u64(raw, m->id);
        raw[8] = (uint8_t)(m->round >> 24);
        raw[9] = (uint8_t)(m->round >> 16);
        raw[10] = (uint8_t)(m->round >> 8);
        raw[11] = (uint8_t)m->round;
        put_u64(raw + 12, m->expires_ms);
        client_digest(client, raw + 20);
        memcpy(raw + 36, digest, SHA256_DIGEST_SIZE);
        hmac_sha256(key, sizeof(h->mrtr_key), raw, sizeof(raw), mac);
        hex_encode(raw, sizeof(raw), hraw);
        hex_encode(mac, sizeof(mac), hmac);
        if ((size_t)snprintf(out, outlen, "1.%s.%s", hraw, hmac) >= outlen)
                return -ENOBUFS;
        return 0;
}

static int state_open(struct hub *h, const char *s, struct state_fields *ret)
{
        const uint8_t *key = h->mrtr_key_set ? h->mrtr_key : NULL;
        uint8_t raw[STATE_BYTES], mac[SHA256_DIGEST_SIZE], want[SHA256_DIGEST_SIZE];
        const char *dot;

        if (!key || strncmp(s, "1.", 2) != 0 || !(dot = strchr(s + 2, '.')) ||
            (size_t)(dot - (s + 2)) != 2 * STATE_BYTES || strlen(dot + 1) != 2 * sizeof(mac) ||
            hex_decode(s + 2, STATE_BYTES, raw) < 0 || hex_decode(dot + 1, sizeof(mac), mac) < 0)
                return -EINVAL;
        hmac_sha256(key, sizeof(h->mrtr_key), raw, sizeof(raw), want);
        if (!memeq_consttime(want, mac, sizeof(mac)))
                return -EPERM;
        ret->id = get_u64(raw);
        ret->round =
            (uint32_t)raw[8] << 24 | (uint32_t)raw[9] << 16 | (uint32_t)raw[10] << 8 | raw[11];
        ret->expires_ms = get_u64(raw + 12);
        memcpy(ret->client, raw + 20, 16);
        memcpy(ret->digest, raw + 36, SHA256_DIGEST_SIZE);
        return 0;
}

/* ---------------------------------------------------------------- continuations */

static void pending_free(struct mrtr_pending *p)
{
        if (!p)
                return;
        free(p->key);
        free(p->method);
        cJSON_Delete(p->params);
        cJSON_Delete(p->upstream_id);
        free(p);
}

static void pending_answer_error(struct hub *h, struct mrtr_pending *p, const char *why)
{
        struct instance *i = hmap_get(&h->instances, p->instance);

        if (i && i->u)
                instance_answer_error(i, p->upstream_id, JSONRPC_INVALID_REQUEST, why);
}

/* The server's request answered: with result, or (NULL) as nobody will answer it. */
static void pending_answer(struct hub *h, struct mrtr_pending *p, cJSON *result, const char *why)
{
        struct instance *i = hmap_get(&h->instances, p->instance);
        cJSON *msg;

        if (!i || !i->u) {
                cJSON_Delete(result);
                return;
        }
        if (result)
                msg = jsonrpc_result_new(p->upstream_id, result);
        else if (strcmp(p->method, "elicitation/create") == 0) {
                /* Nobody came back to answer: the user dismissed it. */
                cJSON *r = cJSON_CreateObject();
                if (r)
                        cJSON_AddStringToObject(r, "action", "cancel");
                msg = jsonrpc_result_new(p->upstream_id, r);
        } else
                msg = jsonrpc_error_new(p->upstream_id, JSONRPC_INTERNAL_ERROR, why, NULL);
        if (msg)
                (void)upstream_send(i->u, msg);
}

static size_t pending_count(const struct mrtr *m)
{
        size_t n = 0;

        for (const struct mrtr_pending *p = m->pending; p; p = p->next)
                n++;
        return n;
}

void mrtr_free(struct mrtr *m)
{
        if (!m)
                return;
        while (m->pending) {
                struct mrtr_pending *p = m->pending;
                m->pending = p->next;
                pending_free(p);
        }
        sd_event_source_disable_unref(m->timer);
        hmap_remove(&m->hub->mrtrs, m->id);
        cJSON_Delete(m->answer);
        free(m);
}

void mrtr_session_ending(struct hub *h, struct session *s)
{
        struct mrtr *m = s->mrtr;

        if (!m)
                return;
        for (struct mrtr_pending *p = m->pending; p; p = p->next)
                pending_answer(h, p, NULL, "The client did not answer (its request ended)");
        s->mrtr = NULL;
        mrtr_free(m);
}

bool mrtr_suspended(const struct session *s)
{
        return s->mrtr && s->mrtr->suspended;
}

static int timer_cb(sd_event_source *es, uint64_t usec, void *userdata);

static int arm(struct mrtr *m, uint64_t after_usec)
{
        struct hub *h = m->hub;

        if (m->timer) {
                (void)sd_event_source_set_time_relative(m->timer, after_usec);
                return sd_event_source_set_enabled(m->timer, SD_EVENT_ONESHOT);
        }
        return sd_event_add_time_relative(h->event, &m->timer, CLOCK_MONOTONIC, after_usec,
                                          USEC_PER_MSEC, timer_cb, m);
}

static struct mrtr *mrtr_of(struct hub *h, struct session *s)
{
        struct mrtr *m = s->mrtr;

        if (m)
                return m;
        m = calloc(1, sizeof(*m));
        if (!m)
                return NULL;
        m->hub = h;
        m->id = ++h->next_mrtr_id;
        snprintf(m->session, sizeof(m->session), "%s", s->id);
        if (hmap_put(&h->mrtrs, m->id, m) < 0) {
                free(m);
                return NULL;
        }
        s->mrtr = m;
        return m;
}

/* ---------------------------------------------------------------- checks of answers */

/* Is v a result of the kind method asks for (the shape the spec gives)? */
static bool answer_valid(const char *method, const cJSON *v)
{
        if (!cJSON_IsObject(v))
                return false;
        if (strcmp(method, "elicitation/create") == 0) {
                const char *a = json_get_string(v, "action");
                return a && (strcmp(a, "accept") == 0 || strcmp(a, "decline") == 0 ||
                             strcmp(a, "cancel") == 0);
        }
        if (strcmp(method, "sampling/createMessage") == 0)
                return json_get_string(v, "role") && json_get(v, "content") &&
                       json_get_string(v, "model");
        if (strcmp(method, "roots/list") == 0)
                return cJSON_IsArray(json_get(v, "roots"));
        return false;
}

/* ---------------------------------------------------------------- a server asks */

static const char *capability_of(const char *method, const cJSON *params, const char **ret_sub)
{
        *ret_sub = NULL;
        if (strcmp(method, "sampling/createMessage") == 0)
                return "sampling";
        if (strcmp(method, "roots/list") == 0)
                return "roots";
        if (strcmp(method, "elicitation/create") == 0) {
                const char *mode = cJSON_IsObject(params) ? json_get_string(params, "mode") : NULL;
                if (mode && strcmp(mode, "url") == 0)
                        *ret_sub = "url";
                return "elicitation";
        }
        return NULL;
}

void mrtr_upstream_request(struct hub *h, struct instance *inst, struct session *s, cJSON *msg)
{
        _cleanup_json_ cJSON *m = msg;
        const char *method = json_get_string(m, "method");
        const cJSON *id = json_get(m, "id");
        cJSON *params = json_get(m, "params"), *meta, *given;
        const char *cap, *sub, *hint;
        struct mrtr_pending *p, **tail;
        struct mrtr *mt;
        char key[128], label[256];

        instance_label(inst, label, sizeof(label));
        cap = capability_of(method, params, &sub);
        mt = mrtr_of(h, s);
        if (!cap || !mt) {
                instance_answer_error(inst, id, JSONRPC_METHOD_NOT_FOUND,
                                      "Method not supported by mcp-proxy");
                return;
        }
        meta = cJSON_IsObject(params) ? json_get(params, "_meta") : NULL;
        hint = cJSON_IsObject(meta) ? json_get_string(meta, MRTR_HINT) : NULL;
        if (hint && *hint && strlen(hint) < sizeof(key))
                snprintf(key, sizeof(key), "%s", hint);
        else
                snprintf(key, sizeof(key), "%s-%u",
                         strcmp(cap, "sampling") == 0 ? "sample"
                         : strcmp(cap, "roots") == 0  ? "roots"
                                                      : "elicit",
                         ++mt->n_auto);
        if (cJSON_IsObject(meta)) {
                cJSON_DeleteItemFromObjectCaseSensitive(meta, MRTR_HINT);
                if (!meta->child)
                        cJSON_DeleteItemFromObjectCaseSensitive(params, "_meta");
        }
        /* Answered already by the request's own inputResponses (a first request may carry
         * them): at once, and only once. */
        given = s->input_responses ? json_get(s->input_responses, key) : NULL;
        if (given && answer_valid(method, given) && session_has_capability(s, cap, sub)) {
                cJSON *r = cJSON_DetachItemFromObjectCaseSensitive(s->input_responses, key);
                cJSON *ans = jsonrpc_result_new(id, r);
                log_debug("upstream '%s': %s '%s' answered from the request's inputResponses",
                          label, method, key);
                if (ans)
                        (void)upstream_send(inst->u, ans);
                return;
        }
        if (pending_count(mt) >= MRTR_MAX_INPUTS) {
                /* What one round may ask is bounded; a server asking on is refused. */
                log_notice("upstream '%s': %s for client '%s' refused: %d inputs wait already",
                           label, method, s->client, MRTR_MAX_INPUTS);
                instance_answer_error(inst, id, JSONRPC_INTERNAL_ERROR,
                                      "Too many requests for one client round in mcp-proxy");
                return;
        }
        p = calloc(1, sizeof(*p));
        if (!p || !(p->key = strdup(key)) || !(p->method = strdup(method)) ||
            !(p->upstream_id = cJSON_Duplicate(id, true)) ||
            !(p->params = params ? cJSON_Duplicate(params, true) : cJSON_CreateObject())) {
                pending_free(p);
                instance_answer_error(inst, id, JSONRPC_INTERNAL_ERROR,
                                      "Out of memory in mcp-proxy");
                return;
        }
        p->instance = inst->id;
        if (!session_has_capability(s, cap, sub)) {
                /* Held, not asked: if the round has nothing else, this is the client's error;
                 * else the server hears it cannot have it. */
                p->refused = cap;
                log_info("upstream '%s': %s for a %s request of client '%s', which did not "
                         "declare the %s capability",
                         label, method, MCP_PROTOCOL_MODERN, s->client, cap);
        }
        for (tail = &mt->pending; *tail; tail = &(*tail)->next)
                if (strcmp((*tail)->key, key) == 0) {
                        /* The same key twice: the older one cannot be told apart. */
                        struct mrtr_pending *old = *tail;
                        *tail = old->next;
                        pending_answer(h, old, NULL, "Superseded by another request with its key");
                        pending_free(old);
                        if (!*tail)
                                break;
                }
        for (tail = &mt->pending; *tail; tail = &(*tail)->next)
                ;
        *tail = p;
        log_debug("upstream '%s': %s for client '%s' collected as input '%s'", label, method,
                  s->client, key);
        if (!mt->suspended)
                (void)arm(mt, MRTR_COLLECT_MS * USEC_PER_MSEC);
}

/* ---------------------------------------------------------------- rounds */

static void expire(struct hub *h, struct session *s, const char *why)
{
        log_info("client '%s': %s %s: %s, cancelled", s->client, s->modern_method,
                 s->request_name ? s->request_name : "", why);
        hub_cancel_session_calls(h, s, why);
        session_free(h, s);
}

/* At most MRTR_MAX_PER_CLIENT calls of one client wait for input: the oldest gives way. */
static void make_room(struct hub *h, const char *client)
{
        struct session *oldest = NULL;
        size_t n = 0, k = 0;
        void *v;

        while (hmap_next(&h->sessions, &k, NULL, &v)) {
                struct session *o = v;
                if (!mrtr_suspended(o) || strcmp(o->client, client) != 0)
                        continue;
                n++;
                if (!oldest || o->mrtr->id < oldest->mrtr->id)
                        oldest = o;
        }
        if (n >= MRTR_MAX_PER_CLIENT && oldest)
                expire(h, oldest, "too many of the client's calls wait for input");
}

/* Suspend m's call: its round was answered with input_required. */
static void suspend(struct hub *h, struct mrtr *m, struct session *s)
{
        make_room(h, s->client);
        m->suspended = true;
        s->modern_conn = 0;
        /* Until the retry, answers and progress of the call have nowhere to go. */
        hub_retarget_session_calls(h, s, 0, NULL);
        /* Waiting on its client, it lets others use the server meanwhile. */
        hub_session_calls_turn(h, s, false);
        (void)arm(m, h->mrtr_ttl_usec);
}

/* The refused requests are answered with an error and forgotten. */
static void drop_refused(struct hub *h, struct mrtr *m)
{
        for (struct mrtr_pending **pp = &m->pending; *pp;) {
                struct mrtr_pending *p = *pp;
                char err[200];
                if (!p->refused) {
                        pp = &p->next;
                        continue;
                }
                *pp = p->next;
                snprintf(err, sizeof(err), "The client did not declare the %s capability",
                         p->refused);
                pending_answer_error(h, p, err);
                pending_free(p);
        }
}

static void end_round(struct hub *h, struct mrtr *m, struct session *s)
{
        struct target t = {.conn_id = s->modern_conn};
        struct conn *c = hub_conn_get(h, s->modern_conn);
        _cleanup_json_ cJSON *result = NULL;
        cJSON *reqs;
        size_t askable = 0;
        char state[2 * STATE_BYTES + 2 * SHA256_DIGEST_SIZE + 8];

        if (!c)
                return; /* the exchange is gone: the session ends with it */
        snprintf(t.session, sizeof(t.session), "%s", s->id);
        for (struct mrtr_pending *p = m->pending; p; p = p->next)
                if (!p->refused)
                        askable++;
        if (askable == 0) {
                /* Nothing the client can answer: what it lacks is the error. */
                cJSON *data = cJSON_CreateObject(), *rc, *e;
                char err[200];

                rc = data ? cJSON_AddObjectToObject(data, "requiredCapabilities") : NULL;
                for (struct mrtr_pending *p = m->pending; rc && p; p = p->next)
                        if (!json_get(rc, p->refused))
                                cJSON_AddObjectToObject(rc, p->refused);
                snprintf(err, sizeof(err),
                         "Missing required client capability: the server needs '%s', which "
                         "the request's clientCapabilities do not declare",
                         m->pending ? m->pending->refused : "?");
                log_notice("client '%s': %s", s->client, err);
                e = jsonrpc_error_new(s->request_id, MCP_ERROR_MISSING_CAPABILITY, err, data);
                hub_cancel_session_calls(h, s, "the client lacks a capability the server needs");
                drop_refused(h, m);
                h->n_errors++;
                if (c->streaming)
                        (void)hub_deliver(h, &t, e, true);
                else
                        (void)conn_send_error(c, 400, e);
                return;
        }
        /* Asking the rest: the server hears at once it cannot have what is refused. */
        drop_refused(h, m);
        m->round++;
        m->expires_ms = now_realtime_msec() + h->mrtr_ttl_usec / USEC_PER_MSEC;
        result = cJSON_CreateObject();
        if (!result || state_make(h, m, s->client, s->request_digest, state, sizeof(state)) < 0 ||
            !cJSON_AddStringToObject(result, "resultType", "input_required") ||
            !(reqs = cJSON_AddObjectToObject(result, "inputRequests")))
                return;
        for (struct mrtr_pending *p = m->pending; p; p = p->next) {
                cJSON *r = cJSON_CreateObject();
                if (!r || !cJSON_AddStringToObject(r, "method", p->method) ||
                    !cJSON_AddItemToObject(r, "params", cJSON_Duplicate(p->params, true))) {
                        cJSON_Delete(r);
                        return;
                }
                cJSON_AddItemToObject(reqs, p->key, r);
        }
        cJSON_AddStringToObject(result, "requestState", state);
        log_info("client '%s': %s %s needs input (round %u, %d request(s))", s->client,
                 s->modern_method, s->request_name ? s->request_name : "", (unsigned)m->round,
                 cJSON_GetArraySize(reqs));
        suspend(h, m, s);
        (void)hub_deliver(h, &t, jsonrpc_result_new(s->request_id, TAKE_PTR(result)), true);
}

static int timer_cb(sd_event_source *es, uint64_t usec, void *userdata)
{
        struct mrtr *m = userdata;
        struct hub *h = m->hub;
        struct session *s = session_get(h, m->session);

        if (!s)
                return 0;
        if (!m->suspended) {
                end_round(h, m, s);
                return 0;
        }
        /* Nobody came back in time. */
        expire(h, s, "the client did not give the input asked for in time");
        return 0;
}

/* ---------------------------------------------------------------- the retry */

static void refuse(struct conn *c, const cJSON *id, const char *why)
{
        c->hub->n_errors++;
        log_notice("client '%s': %s retry refused: %s", c->env.client, MCP_PROTOCOL_MODERN, why);
        (void)conn_send_json(c, 200, NULL,
                             jsonrpc_error_new(id, JSONRPC_INVALID_PARAMS, why, NULL));
}

bool mrtr_resume(struct conn *c, cJSON *msg, const cJSON *caps, int log_level)
{
        struct hub *h = c->hub;
        const char *method = json_get_string(msg, "method");
        const cJSON *id = json_get(msg, "id");
        cJSON *params = json_get(msg, "params");
        const cJSON *st = cJSON_IsObject(params) ? json_get(params, "requestState") : NULL;
        const cJSON *responses = cJSON_IsObject(params) ? json_get(params, "inputResponses") : NULL;
        uint8_t digest[SHA256_DIGEST_SIZE], who[16];
        struct state_fields f;
        struct session *s;
        struct mrtr *m;
        cJSON *held;

        if (!st)
                return false;
        if (!cJSON_IsString(st) || state_open(h, st->valuestring, &f) < 0) {
                refuse(c, id, "Invalid params: requestState is not one this server issued");
                return true;
        }
        client_digest(c->env.client, who);
        mrtr_params_digest(method, params, digest);
        m = hmap_get(&h->mrtrs, f.id);
        s = m ? session_get(h, m->session) : NULL;
        if (memcmp(who, f.client, sizeof(who)) != 0 || !m || !s ||
            strcmp(s->client, c->env.client) != 0) {
                refuse(c, id, "Invalid params: requestState is unknown or has expired");
                return true;
        }
        if (f.expires_ms < now_realtime_msec() || f.round != m->round || !m->suspended) {
                refuse(c, id,
                       "Invalid params: requestState is stale (expired, of an earlier round, or "
                       "already being resumed)");
                return true;
        }
        if (memcmp(digest, f.digest, sizeof(digest)) != 0) {
                refuse(c, id, "Invalid params: the retry's params differ from the request's");
                return true;
        }
        if (responses && !cJSON_IsObject(responses)) {
                refuse(c, id, "Invalid params: inputResponses must be an object");
                return true;
        }
        for (struct mrtr_pending *p = m->pending; p; p = p->next) {
                const cJSON *v = responses ? json_get(responses, p->key) : NULL;
                if (v && !answer_valid(p->method, v)) {
                        char err[300];
                        snprintf(err, sizeof(err),
                                 "Invalid params: inputResponses['%.100s'] is not a result of "
                                 "%s",
                                 p->key, p->method);
                        refuse(c, id, err);
                        return true;
                }
        }
        /* The call goes on on this exchange. */
        if (conn_taken(c) < 0)
                return true;
        m->suspended = false;
        (void)sd_event_source_set_enabled(m->timer, SD_EVENT_OFF);
        s->modern_conn = c->id;
        cJSON_Delete(s->request_id);
        s->request_id = cJSON_Duplicate(id, true);
        cJSON_Delete(s->client_capabilities);
        s->client_capabilities = cJSON_Duplicate(caps, true);
        s->log_level = log_level;
        snprintf(c->modern, sizeof(c->modern), "%s", s->id);
        c->env.session = c->modern;
        hub_retarget_session_calls(h, s, c->id, id);
        hub_session_calls_turn(h, s, true);
        /* Progress, dropped between rounds, goes under the retry's own token. */
        hub_session_calls_progress(h, s, json_get(json_get(params, "_meta"), "progressToken"));
        log_info("client '%s': %s %s resumed (round %u)", s->client, s->modern_method,
                 s->request_name ? s->request_name : "", (unsigned)m->round);
        /* Answers for what was asked; what is still missing is asked again. */
        for (struct mrtr_pending **pp = &m->pending; *pp;) {
                struct mrtr_pending *p = *pp;
                cJSON *v = responses ? json_get(responses, p->key) : NULL;
                if (!v) {
                        pp = &p->next;
                        continue;
                }
                *pp = p->next;
                pending_answer(h, p, cJSON_Duplicate(v, true), NULL);
                pending_free(p);
        }
        held = TAKE_PTR(m->answer);
        if (held) {
                struct target t = {.conn_id = c->id};
                snprintf(t.session, sizeof(t.session), "%s", s->id);
                json_set(held, "id", cJSON_Duplicate(id, true));
                (void)hub_deliver(h, &t, held, true);
                return true;
        }
        if (m->pending)
                (void)arm(m, 0);
        return true;
}

bool mrtr_hold_answer(struct hub *h, const struct target *t, cJSON *msg)
{
        struct session *s = t->session[0] ? session_get(h, t->session) : NULL;

        if (!s || !mrtr_suspended(s))
                return false;
        cJSON_Delete(s->mrtr->answer);
        s->mrtr->answer = msg;
        return true;
}

void mrtrs_free_all(struct hub *h)
{
        hmap_done(&h->mrtrs);
}
