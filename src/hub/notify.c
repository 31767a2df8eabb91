/* SPDX-License-Identifier: MIT */
/*
 * What flows between servers and clients outside request/answer pairs:
 * server-to-client requests (sampling, elicitation, roots) routed to the
 * one session that caused them, their answers routed back; notifications
 * (logging, resource updates, cancellation, list changes) delivered only to
 * the sessions they concern; resource subscriptions shared per upstream;
 * the log level asked of the shared upstream sessions; URIs in results
 * renamed for the client. Nothing is ever broadcast to every session.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "hub/hub.h"
#include "json.h"
#include "log.h"
#include "mcp-limits.h"
#include "proto/jsonrpc.h"
#include "upstream/upstream.h"

#define LOG_DEFAULT_LEVEL LOG_INFO

/* ---------------------------------------------------------------- log levels */

static const char *const mcp_levels[] = {
    [LOG_EMERG] = "emergency", [LOG_ALERT] = "alert",     [LOG_CRIT] = "critical",
    [LOG_ERR] = "error",       [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
    [LOG_INFO] = "info",       [LOG_DEBUG] = "debug",
};

static int mcp_level_from_string(const char *s)
{
        for (int i = 0; s && i <= LOG_DEBUG; i++)
                if (strcmp(s, mcp_levels[i]) == 0)
                        return i;
        return -EINVAL;
}

static void apply_upstream_log_level(struct hub *h, struct upstream *u)
{
        cJSON *params;

        if (h->upstream_log_level < 0 || !u->has_logging || u->state != UPSTREAM_READY)
                return;
        params = cJSON_CreateObject();
        if (!params)
                return;
        cJSON_AddStringToObject(params, "level", mcp_levels[h->upstream_log_level]);
        (void)upstream_request_internal(u, "logging/setLevel", params);
}

/*
 * The shared upstream sessions log at the most verbose level any client needs; each client
 * then gets only what its own level lets through. A client that never set a level counts as
 * LOG_DEFAULT_LEVEL (info) once any client has set one: the hub cannot give each client the
 * server's own default, since the server has one level for all.
 */
static void recompute_log_level(struct hub *h, const struct session *leaving)
{
        int level = -1;
        bool unset = false;
        size_t i = 0;
        void *v;

        while (hmap_next(&h->sessions, &i, NULL, &v)) {
                const struct session *s = v;
                if (s == leaving)
                        continue;
                if (s->log_level < 0)
                        unset = true;
                else if (s->log_level > level)
                        level = s->log_level;
        }
        if (h->upstream_log_level < 0 && level < 0)
                return; /* nobody ever asked: the servers keep their own default */
        if (level < 0 || (unset && level < LOG_DEFAULT_LEVEL))
                level = LOG_DEFAULT_LEVEL;
        if (level == h->upstream_log_level)
                return;
        h->upstream_log_level = level;
        for (size_t k = 0; k < h->n_upstreams; k++)
                apply_upstream_log_level(h, h->upstreams[k]);
}

/* The level a session lets through (LOG_DEFAULT_LEVEL when it never set one). */
static int session_log_level(const struct session *s)
{
        return s->log_level >= 0 ? s->log_level : LOG_DEFAULT_LEVEL;
}

cJSON *hub_set_log_level(struct hub *h, struct session *s, cJSON *msg)
{
        const cJSON *id = json_get(msg, "id");
        const cJSON *params = json_get(msg, "params");
        int level = mcp_level_from_string(params ? json_get_string(params, "level") : NULL);

        if (level < 0)
                return jsonrpc_error_new(id, JSONRPC_INVALID_PARAMS,
                                         "params.level must be one of debug, info, notice, "
                                         "warning, error, critical, alert, emergency",
                                         NULL);
        s->log_level = level;
        recompute_log_level(h, NULL);
        return jsonrpc_result_new(id, cJSON_CreateObject());
}

/* ---------------------------------------------------------------- subscriptions */

struct subscription {
        char *upstream;
        char *uri; /* as the upstream knows it */
        unsigned refs;
};

static uint64_t sub_key(const char *upstream, const char *uri)
{
        uint64_t a = hash_string(upstream), b = hash_string(uri);
        uint64_t k = a * 1099511628211ULL ^ b;
        return k ? k : 1;
}

static struct subscription *sub_get(struct hub *h, const char *upstream, const char *uri)
{
        struct subscription *sub = hmap_get(&h->subs, sub_key(upstream, uri));

        if (sub && strcmp(sub->upstream, upstream) == 0 && strcmp(sub->uri, uri) == 0)
                return sub;
        return NULL;
}

unsigned hub_sub_ref(struct hub *h, struct upstream *u, const char *uri)
{
        struct subscription *sub = sub_get(h, u->name, uri);

        if (!sub) {
                sub = calloc(1, sizeof(*sub));
                if (!sub)
                        return 0;
                sub->upstream = strdup(u->name);
                sub->uri = strdup(uri);
                if (!sub->upstream || !sub->uri ||
                    hmap_put(&h->subs, sub_key(u->name, uri), sub) < 0) {
                        free(sub->upstream);
                        free(sub->uri);
                        free(sub);
                        return 0;
                }
        }
        return ++sub->refs;
}

unsigned hub_sub_unref(struct hub *h, struct upstream *u, const char *uri)
{
        struct subscription *sub = sub_get(h, u->name, uri);

        if (!sub)
                return 0;
        if (--sub->refs > 0)
                return sub->refs;
        hmap_remove(&h->subs, sub_key(u->name, uri));
        free(sub->upstream);
        free(sub->uri);
        free(sub);
        return 0;
}

void subs_free_all(struct hub *h)
{
        size_t i = 0;
        void *v;

        while (hmap_next(&h->subs, &i, NULL, &v)) {
                struct subscription *sub = v;
                free(sub->upstream);
                free(sub->uri);
                free(sub);
        }
        hmap_done(&h->subs);
}

/* After a (re)start the server knows nothing of our subscriptions: make them again. */
static void resubscribe(struct hub *h, struct upstream *u)
{
        size_t i = 0;
        void *v;

        while (hmap_next(&h->subs, &i, NULL, &v)) {
                struct subscription *sub = v;
                cJSON *params;
                if (strcmp(sub->upstream, u->name) != 0 || !u->can_subscribe)
                        continue;
                params = cJSON_CreateObject();
                if (params && cJSON_AddStringToObject(params, "uri", sub->uri))
                        (void)upstream_request_internal(u, "resources/subscribe", params);
                else
                        cJSON_Delete(params);
        }
}

static bool session_subscribed(const struct session *s, const char *uri)
{
        for (size_t i = 0; i < s->n_subs; i++)
                if (strcmp(s->subs[i], uri) == 0)
                        return true;
        return false;
}

static void resource_updated(struct hub *h, struct upstream *u, cJSON *msg)
{
        cJSON *params = json_get(msg, "params");
        const char *uri = cJSON_IsObject(params) ? json_get_string(params, "uri") : NULL;
        _cleanup_free_ char *client_uri = uri ? catalogue_uri_out(h, u, uri) : NULL;
        size_t i = 0, n = 0;
        void *v;

        if (!client_uri)
                return;
        while (hmap_next(&h->sessions, &i, NULL, &v)) {
                struct session *s = v;
                struct target t;
                cJSON *out;

                if (!session_subscribed(s, client_uri))
                        continue;
                out = cJSON_Duplicate(msg, true);
                if (!out ||
                    !json_set(json_get(out, "params"), "uri", cJSON_CreateString(client_uri))) {
                        cJSON_Delete(out);
                        continue;
                }
                target_for_get(&t, s);
                if (hub_deliver(h, &t, out, false) == 0)
                        n++;
        }
        log_debug("upstream '%s': resource '%s' updated, told %zu session(s)", u->name, client_uri,
                  n);
}

/* ---------------------------------------------------------------- server -> client requests */

struct srv_request {
        uint64_t id; /* what the client sees */
        char *upstream;
        cJSON *upstream_id;
        char session[65];
        struct target target;
        char *method;
        char *elicitation_id; /* URL-mode elicitation, for notifications/elicitation/complete */
        uint64_t created_usec;
};

static void srv_request_free(struct srv_request *r)
{
        if (!r)
                return;
        free(r->upstream);
        cJSON_Delete(r->upstream_id);
        free(r->method);
        free(r->elicitation_id);
        free(r);
}

static struct upstream *upstream_by_name(struct hub *h, const char *name)
{
        for (size_t i = 0; i < h->n_upstreams; i++)
                if (strcmp(h->upstreams[i]->name, name) == 0)
                        return h->upstreams[i];
        return NULL;
}

static void answer_upstream_error(struct upstream *u, const cJSON *id, int code, const char *msg)
{
        cJSON *e = jsonrpc_error_new(id, code, msg, NULL);
        if (e)
                (void)upstream_notify(u, e);
}

struct cap_need {
        struct hub *h;
        const char *cap;
        const char *sub;
};

static bool pending_session_capable(const struct pending *p, void *userdata)
{
        const struct cap_need *need = userdata;
        const struct session *s = session_get(need->h, p->target.session);
        return s && session_has_capability(s, need->cap, need->sub);
}

static size_t sessions_in_flight(struct upstream *u)
{
        const char *first = NULL;
        size_t i = 0;
        void *v;

        while (hmap_next(&u->pending, &i, NULL, &v)) {
                const struct pending *p = v;
                if (p->kind != PENDING_CLIENT)
                        continue;
                if (!first)
                        first = p->target.session;
                else if (strcmp(first, p->target.session) != 0)
                        return 2;
        }
        return first ? 1 : 0;
}

/* No request in flight to pin it on: the most recently active session that can answer and
 * has a stream to receive it. */
static struct session *fallback_session(struct hub *h, const struct cap_need *need)
{
        struct session *best = NULL;
        size_t i = 0;
        void *v;

        while (hmap_next(&h->sessions, &i, NULL, &v)) {
                struct session *s = v;
                if (!s->get_stream || !session_has_capability(s, need->cap, need->sub))
                        continue;
                if (!best || s->last_used_usec > best->last_used_usec)
                        best = s;
        }
        return best;
}

void hub_upstream_request(struct hub *h, struct upstream *u, cJSON *msg)
{
        _cleanup_json_ cJSON *m = msg;
        const char *method = m ? json_get_string(m, "method") : NULL;
        const cJSON *id = m ? json_get(m, "id") : NULL;
        const cJSON *params = m ? json_get(m, "params") : NULL;
        struct cap_need need = {.h = h};
        const struct pending *p;
        struct srv_request *r;
        struct session *s = NULL;
        struct target t;
        cJSON *out;
        char err[256];

        if (!method)
                return;
        if (strcmp(method, "sampling/createMessage") == 0)
                need.cap = "sampling";
        else if (strcmp(method, "elicitation/create") == 0) {
                const char *mode = cJSON_IsObject(params) ? json_get_string(params, "mode") : NULL;
                need.cap = "elicitation";
                /* URL mode needs the client to have said so; form is what {} means. */
                if (mode && strcmp(mode, "url") == 0)
                        need.sub = "url";
        } else if (strcmp(method, "roots/list") == 0)
                need.cap = "roots";
        else {
                upstream_log(u, LOG_NOTICE,
                             "server request '%s' has no route to a client, refusing", method);
                answer_upstream_error(u, id, JSONRPC_METHOD_NOT_FOUND,
                                      "Method not supported by mcp-proxy");
                return;
        }
        /* The session whose request is in flight on this server caused it. If requests of
         * several sessions are in flight (they were sent before the server showed it asks
         * clients), nobody can tell which: refuse rather than ask the wrong client. */
        if (sessions_in_flight(u) > 1) {
                upstream_log(u, LOG_WARNING,
                             "%s while requests of several sessions are in flight: cannot tell "
                             "which client it is for, refusing",
                             method);
                answer_upstream_error(u, id, JSONRPC_INTERNAL_ERROR,
                                      "mcp-proxy cannot tell which client this request is for");
                return;
        }
        p = upstream_latest_client_request(u, NULL, NULL);
        if (p) {
                t = p->target;
                s = session_get(h, t.session);
                /* The session that caused it cannot answer: the server hears so; nobody else
                 * is asked in its place. */
                if (s && !pending_session_capable(p, &need)) {
                        snprintf(err, sizeof(err), "The client session has no %s%s%s capability",
                                 need.cap, need.sub ? "." : "", need.sub ? need.sub : "");
                        upstream_log(u, LOG_INFO, "%s for session %.8s...: %s", method, s->id, err);
                        answer_upstream_error(u, id, JSONRPC_INVALID_REQUEST, err);
                        return;
                }
        } else {
                s = fallback_session(h, &need);
                if (s)
                        target_for_get(&t, s);
        }
        if (!s) {
                snprintf(err, sizeof(err),
                         "No client session with the %s%s%s capability to send "
                         "%s to",
                         need.cap, need.sub ? "." : "", need.sub ? need.sub : "", method);
                upstream_log(u, LOG_NOTICE, "%s", err);
                answer_upstream_error(u, id, JSONRPC_INTERNAL_ERROR, err);
                return;
        }
        r = calloc(1, sizeof(*r));
        if (!r)
                return;
        r->id = ++h->next_srv_request_id;
        r->upstream = strdup(u->name);
        r->upstream_id = cJSON_Duplicate(id, true);
        r->method = strdup(method);
        r->target = t;
        r->created_usec = now_usec();
        snprintf(r->session, sizeof(r->session), "%s", s->id);
        if (cJSON_IsObject(params) && json_get_string(params, "elicitationId"))
                r->elicitation_id = strdup(json_get_string(params, "elicitationId"));
        out = cJSON_Duplicate(m, true);
        if (!r->upstream || !r->upstream_id || !r->method || !out ||
            !json_set(out, "id", cJSON_CreateNumber((double)r->id)) ||
            hmap_put(&h->srv_requests, r->id, r) < 0) {
                cJSON_Delete(out);
                srv_request_free(r);
                answer_upstream_error(u, id, JSONRPC_INTERNAL_ERROR, "Out of memory in mcp-proxy");
                return;
        }
        if (hub_deliver(h, &t, out, false) < 0) {
                /* The exchange it was pinned on is gone: try the session's GET stream. */
                struct target g;
                target_for_get(&g, s);
                out = cJSON_Duplicate(m, true);
                if (out)
                        json_set(out, "id", cJSON_CreateNumber((double)r->id));
                if (!g.stream || !out || hub_deliver(h, &g, out, false) < 0) {
                        hmap_remove(&h->srv_requests, r->id);
                        srv_request_free(r);
                        answer_upstream_error(u, id, JSONRPC_INTERNAL_ERROR,
                                              "The client session has no open stream");
                        return;
                }
                r->target = g;
        }
        upstream_log(u, LOG_DEBUG, "%s routed to session %.8s... as request %" PRIu64, method,
                     s->id, r->id);
}

void hub_client_response(struct hub *h, struct session *s, cJSON *msg)
{
        const cJSON *id = json_get(msg, "id");
        struct srv_request *r;
        struct upstream *u;
        cJSON *out;

        if (!cJSON_IsNumber(id) || !(r = hmap_get(&h->srv_requests, (uint64_t)id->valuedouble)) ||
            strcmp(r->session, s->id) != 0) {
                log_debug("client '%s': response to a request we did not send, ignoring",
                          s->client);
                return;
        }
        hmap_remove(&h->srv_requests, r->id);
        u = upstream_by_name(h, r->upstream);
        out = cJSON_Duplicate(msg, true);
        if (u && out && json_set(out, "id", cJSON_Duplicate(r->upstream_id, true)))
                (void)upstream_notify(u, out);
        else
                cJSON_Delete(out);
        srv_request_free(r);
}

static void forward_cancel_to_client(struct hub *h, struct upstream *u, cJSON *msg)
{
        cJSON *params = json_get(msg, "params");
        const cJSON *rid = cJSON_IsObject(params) ? json_get(params, "requestId") : NULL;
        size_t i = 0;
        uint64_t k;
        void *v;

        while (rid && hmap_next(&h->srv_requests, &i, &k, &v)) {
                struct srv_request *r = v;
                cJSON *out;
                bool same = cJSON_IsNumber(rid) && cJSON_IsNumber(r->upstream_id)
                                ? rid->valuedouble == r->upstream_id->valuedouble
                                : cJSON_IsString(rid) && cJSON_IsString(r->upstream_id) &&
                                      strcmp(rid->valuestring, r->upstream_id->valuestring) == 0;
                if (!same || strcmp(r->upstream, u->name) != 0)
                        continue;
                out = cJSON_Duplicate(msg, true);
                if (out && json_set(json_get(out, "params"), "requestId",
                                    cJSON_CreateNumber((double)r->id)))
                        (void)hub_deliver(h, &r->target, out, false);
                else
                        cJSON_Delete(out);
                hmap_remove(&h->srv_requests, k);
                srv_request_free(r);
                return;
        }
}

void srv_requests_sweep(struct hub *h)
{
        uint64_t now = now_usec();
        bool again = true;

        while (again) {
                size_t i = 0;
                uint64_t k;
                void *v;
                again = false;
                while (hmap_next(&h->srv_requests, &i, &k, &v)) {
                        struct srv_request *r = v;
                        if (now - r->created_usec < SRV_REQUEST_MAX_AGE_MS * 1000ULL)
                                continue;
                        hmap_remove(&h->srv_requests, k);
                        srv_request_free(r);
                        again = true;
                        break;
                }
        }
}

void srv_requests_free_all(struct hub *h)
{
        size_t i = 0;
        void *v;

        while (hmap_next(&h->srv_requests, &i, NULL, &v))
                srv_request_free(v);
        hmap_done(&h->srv_requests);
}

/* ---------------------------------------------------------------- notifications */

static void forward_log_message(struct hub *h, struct upstream *u, cJSON *msg)
{
        const cJSON *params = json_get(msg, "params");
        int level =
            mcp_level_from_string(cJSON_IsObject(params) ? json_get_string(params, "level") : NULL);
        const struct pending *latest = upstream_latest_client_request(u, NULL, NULL);
        size_t i = 0;
        void *v;

        if (level < 0)
                level = LOG_INFO;
        while (hmap_next(&h->sessions, &i, NULL, &v)) {
                struct session *s = v;
                bool related = latest && strcmp(latest->target.session, s->id) == 0;
                struct target t;
                cJSON *out;

                /* A client that set a level gets what it lets through; one that did not gets
                 * what its own request in flight here causes, at the default level. */
                if (s->log_level >= 0
                        ? level > s->log_level
                        : !related || (h->upstream_log_level >= 0 && level > session_log_level(s)))
                        continue;
                if (related && (!s->get_stream || s->log_level < 0))
                        t = latest->target;
                else
                        target_for_get(&t, s);
                out = cJSON_Duplicate(msg, true);
                if (!out)
                        continue;
                if (h->prefix_names && cJSON_IsObject(json_get(out, "params"))) {
                        /* Say which server it comes from. */
                        const char *logger = json_get_string(json_get(out, "params"), "logger");
                        char *l = NULL;
                        if (asprintf(&l, "%s%s%s", u->name, logger ? "/" : "",
                                     logger ? logger : "") >= 0) {
                                json_set(json_get(out, "params"), "logger", cJSON_CreateString(l));
                                free(l);
                        }
                }
                (void)hub_deliver(h, &t, out, false);
        }
}

static void forward_elicitation_complete(struct hub *h, struct upstream *u, cJSON *msg)
{
        const cJSON *params = json_get(msg, "params");
        const char *eid = cJSON_IsObject(params) ? json_get_string(params, "elicitationId") : NULL;
        size_t i = 0;
        void *v;

        while (eid && hmap_next(&h->srv_requests, &i, NULL, &v)) {
                struct srv_request *r = v;
                struct session *s;
                struct target t;
                if (!r->elicitation_id || strcmp(r->elicitation_id, eid) != 0 ||
                    strcmp(r->upstream, u->name) != 0 || !(s = session_get(h, r->session)))
                        continue;
                target_for_get(&t, s);
                (void)hub_deliver(h, &t, cJSON_Duplicate(msg, true), false);
                return;
        }
        /* The elicitation request was answered already (the usual case): look among the
         * sessions that could have asked. */
        upstream_log(u, LOG_DEBUG, "elicitation complete for an unknown id, ignoring");
}

void hub_upstream_notification(struct hub *h, struct upstream *u, cJSON *msg)
{
        _cleanup_json_ cJSON *m = msg;
        const char *method = m ? json_get_string(m, "method") : NULL;

        if (!method)
                return;
        if (strcmp(method, "notifications/message") == 0)
                forward_log_message(h, u, m);
        else if (strcmp(method, "notifications/resources/updated") == 0)
                resource_updated(h, u, m);
        else if (strcmp(method, "notifications/cancelled") == 0)
                forward_cancel_to_client(h, u, m);
        else if (strcmp(method, "notifications/elicitation/complete") == 0)
                forward_elicitation_complete(h, u, m);
        else
                upstream_log(u, LOG_DEBUG, "notification '%s' is not for any client, dropping",
                             method);
}

void hub_client_notification(struct hub *h, struct session *s, cJSON *msg)
{
        const char *method = json_get_string(msg, "method");
        const cJSON *params = json_get(msg, "params");

        if (strcmp(method, "notifications/initialized") == 0)
                s->initialized = true;
        else if (strcmp(method, "notifications/cancelled") == 0) {
                const cJSON *rid = cJSON_IsObject(params) ? json_get(params, "requestId") : NULL;
                const char *reason =
                    cJSON_IsObject(params) ? json_get_string(params, "reason") : NULL;
                for (size_t i = 0; rid && i < h->n_upstreams; i++)
                        if (upstream_cancel(h->upstreams[i], s->id, rid, reason) > 0)
                                return;
                log_debug("client '%s': cancel for a request not in flight, ignoring", s->client);
        } else if (strcmp(method, "notifications/roots/list_changed") == 0) {
                /* Roots belong to clients; the servers ask again and get the asker's. */
                for (size_t i = 0; i < h->n_upstreams; i++) {
                        struct upstream *u = h->upstreams[i];
                        if (u->state == UPSTREAM_READY)
                                (void)upstream_notify(u, cJSON_Duplicate(msg, true));
                }
        } else
                log_debug("client '%s': notification '%s'", s->client, method);
}

/* ---------------------------------------------------------------- sessions, catalogue */

void hub_session_ending(struct hub *h, struct session *s)
{
        size_t i = 0;
        uint64_t k;
        void *v;
        bool again = true;

        for (size_t n = 0; n < s->n_subs; n++) {
                struct upstream *u;
                _cleanup_free_ char *orig = NULL;
                if (catalogue_uri_in(h, s->subs[n], &u, &orig) < 0)
                        continue;
                if (hub_sub_unref(h, u, orig) == 0 && u->state == UPSTREAM_READY) {
                        cJSON *params = cJSON_CreateObject();
                        if (params && cJSON_AddStringToObject(params, "uri", orig))
                                (void)upstream_request_internal(u, "resources/unsubscribe", params);
                        else
                                cJSON_Delete(params);
                }
        }
        /* Requests waiting for this session's answer: the servers hear it will not come. */
        while (again) {
                again = false;
                i = 0;
                while (hmap_next(&h->srv_requests, &i, &k, &v)) {
                        struct srv_request *r = v;
                        struct upstream *u;
                        if (strcmp(r->session, s->id) != 0)
                                continue;
                        u = upstream_by_name(h, r->upstream);
                        if (u)
                                answer_upstream_error(u, r->upstream_id, JSONRPC_INTERNAL_ERROR,
                                                      "The client session ended");
                        hmap_remove(&h->srv_requests, k);
                        srv_request_free(r);
                        again = true;
                        break;
                }
        }
        recompute_log_level(h, s);
}

void hub_upstream_ready(struct hub *h, struct upstream *u)
{
        resubscribe(h, u);
        apply_upstream_log_level(h, u);
}

void hub_upstream_catalogue_changed(struct hub *h, struct upstream *u)
{
        bool changed[_LIST_KIND_MAX] = {};
        static const char *const notes[_LIST_KIND_MAX] = {
            "notifications/tools/list_changed", "notifications/prompts/list_changed",
            "notifications/resources/list_changed", "notifications/resources/list_changed"};
        size_t i = 0;
        void *v;

        if (catalogue_rebuild(h, changed) < 0) {
                log_error("out of memory rebuilding the catalogue");
                return;
        }
        changed[LIST_RESOURCES] = changed[LIST_RESOURCES] || changed[LIST_TEMPLATES];
        changed[LIST_TEMPLATES] = false;
        /* Every session with a GET stream hears of it: the list is theirs too. */
        while (hmap_next(&h->sessions, &i, NULL, &v)) {
                struct session *s = v;
                struct target t;
                if (!s->get_stream)
                        continue;
                target_for_get(&t, s);
                for (int k = 0; k < _LIST_KIND_MAX; k++)
                        if (changed[k])
                                (void)hub_deliver(h, &t, jsonrpc_notification_new(notes[k], NULL),
                                                  false);
        }
}

/* ---------------------------------------------------------------- results */

static void rewrite_block(struct hub *h, struct upstream *u, cJSON *block)
{
        const char *type = cJSON_IsObject(block) ? json_get_string(block, "type") : NULL;
        cJSON *target = NULL;
        const char *uri;
        char *mapped;

        if (!type)
                return;
        if (strcmp(type, "resource_link") == 0)
                target = block;
        else if (strcmp(type, "resource") == 0)
                target = json_get(block, "resource");
        uri = cJSON_IsObject(target) ? json_get_string(target, "uri") : NULL;
        if (!uri)
                return;
        mapped = catalogue_uri_out(h, u, uri);
        if (mapped)
                json_set(target, "uri", cJSON_CreateString(mapped));
        free(mapped);
}

void hub_result_for_client(struct hub *h, struct upstream *u, const char *method, cJSON *msg)
{
        cJSON *result = json_get(msg, "result"), *x;

        if (!h->prefix_names || !cJSON_IsObject(result) || !method)
                return;
        if (strcmp(method, "tools/call") == 0) {
                cJSON_ArrayForEach(x, json_get(result, "content")) rewrite_block(h, u, x);
        } else if (strcmp(method, "prompts/get") == 0) {
                cJSON_ArrayForEach(x, json_get(result, "messages"))
                    rewrite_block(h, u, json_get(x, "content"));
        } else if (strcmp(method, "resources/read") == 0) {
                cJSON_ArrayForEach(x, json_get(result, "contents"))
                {
                        const char *uri = json_get_string(x, "uri");
                        char *mapped = uri ? catalogue_uri_out(h, u, uri) : NULL;
                        if (mapped)
                                json_set(x, "uri", cJSON_CreateString(mapped));
                        free(mapped);
                }
        }
}
