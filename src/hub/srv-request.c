/* SPDX-License-Identifier: MIT */
/*
 * Requests from a server to a client (sampling, elicitation, roots) and
 * their answers. Each goes to the one session it belongs to: the session
 * with requests in flight on that instance, or the instance's only session
 * (instance_attribute()). What cannot be attributed is refused, logged, and
 * sent to nobody: never to "some" session.
 *
 * roots/list is the operator's: the hub answers it from the server's
 * "roots" unless the server forwards client roots ("forwardRoots", only on
 * an instance of one client or session).
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

struct srv_request {
        uint64_t id;       /* what the client sees */
        uint64_t instance; /* the instance that asked */
        cJSON *upstream_id;
        char session[65];
        struct target target;
        char *method;
        char *elicitation_id; /* URL-mode elicitation, for notifications/elicitation/complete */
        bool answered;        /* kept only to route its elicitation/complete */
        uint64_t created_usec;
};

static void srv_request_free(struct srv_request *r)
{
        if (!r)
                return;
        cJSON_Delete(r->upstream_id);
        free(r->method);
        free(r->elicitation_id);
        free(r);
}

void instance_answer_error(struct instance *i, const cJSON *id, int code, const char *msg)
{
        cJSON *e = jsonrpc_error_new(id, code, msg, NULL);
        if (e)
                (void)upstream_send(i->u, e);
}

/* roots/list answered by the hub: the server's configured roots. */
static void answer_roots(struct instance *i, const cJSON *id)
{
        const struct server_config *cfg = &i->srv->cfg;
        _cleanup_json_ cJSON *result = cJSON_CreateObject();
        cJSON *arr = result ? cJSON_AddArrayToObject(result, "roots") : NULL, *ans;

        for (size_t k = 0; arr && cfg->roots && cfg->roots[k]; k++) {
                cJSON *o = cJSON_CreateObject();
                if (!o || !cJSON_AddStringToObject(o, "uri", cfg->roots[k]) ||
                    (cfg->root_names[k][0] &&
                     !cJSON_AddStringToObject(o, "name", cfg->root_names[k]))) {
                        cJSON_Delete(o);
                        instance_answer_error(i, id, JSONRPC_INTERNAL_ERROR,
                                              "Out of memory in mcp-proxy");
                        return;
                }
                cJSON_AddItemToArray(arr, o);
        }
        if (!arr) {
                instance_answer_error(i, id, JSONRPC_INTERNAL_ERROR, "Out of memory in mcp-proxy");
                return;
        }
        ans = jsonrpc_result_new(id, TAKE_PTR(result));
        if (ans)
                (void)upstream_send(i->u, ans);
}

void hub_instance_request(struct hub *h, struct instance *inst, cJSON *msg)
{
        _cleanup_json_ cJSON *m = msg;
        const char *method = json_get_string(m, "method");
        const cJSON *id = json_get(m, "id");
        const cJSON *params = json_get(m, "params");
        const char *cap = NULL, *sub = NULL;
        struct call *call;
        struct srv_request *r;
        struct session *s;
        struct target t, g;
        bool ambiguous;
        char err[256], label[256];
        uint64_t rid;
        cJSON *out;

        instance_label(inst, label, sizeof(label));
        if (strcmp(method, "roots/list") == 0) {
                if (!inst->srv->cfg.forward_roots || inst->hub_own) {
                        answer_roots(inst, id);
                        return;
                }
                cap = "roots";
        } else if (strcmp(method, "sampling/createMessage") == 0)
                cap = "sampling";
        else if (strcmp(method, "elicitation/create") == 0) {
                const char *mode = cJSON_IsObject(params) ? json_get_string(params, "mode") : NULL;
                cap = "elicitation";
                /* URL mode needs the client to have said so; form is what {} means. */
                if (mode && strcmp(mode, "url") == 0)
                        sub = "url";
        } else {
                log_notice("upstream '%s': server request '%s' has no route to a client, refusing",
                           label, method);
                instance_answer_error(inst, id, JSONRPC_METHOD_NOT_FOUND,
                                      "Method not supported by mcp-proxy");
                return;
        }
        /* From now on the requests of different sessions on this instance take turns, so
         * that whatever it asks belongs to the one session in flight. */
        if (inst->serves_all || (!inst->hub_own && !inst->session[0]))
                upstream_take_turns(inst->u, method);

        s = instance_attribute(inst, &call, &ambiguous);
        if (s && s->modern && !call && !instance_session_call(inst, s)) {
                /* A modern request is asked only by a server working on it: the client's one
                 * modern request to another server, or its listen stream, is not this. */
                log_notice("upstream '%s': %s while no request is in flight on it, refusing", label,
                           method);
                instance_answer_error(inst, id, JSONRPC_INTERNAL_ERROR,
                                      "mcp-proxy cannot ask a client outside its request");
                return;
        }
        if (s && s->modern) {
                /* A modern client is not asked: its request ends with input_required. */
                mrtr_upstream_request(h, inst, s, TAKE_PTR(m));
                return;
        }
        if (!s) {
                snprintf(err, sizeof(err), "mcp-proxy cannot tell which client %s is for", method);
                log_notice("upstream '%s': %s not attributable to one session (%s), refusing",
                           label, method,
                           ambiguous ? "requests of several sessions in flight"
                                     : "no request in flight and not one session of its own");
                instance_answer_error(inst, id, JSONRPC_INTERNAL_ERROR, err);
                return;
        }
        if (!session_has_capability(s, cap, sub)) {
                /* The session it belongs to cannot answer: the server hears so; nobody else is
                 * asked in its place. */
                snprintf(err, sizeof(err), "The client session has no %s%s%s capability", cap,
                         sub ? "." : "", sub ? sub : "");
                log_info("upstream '%s': %s for session %.8s...: %s", label, method, s->id, err);
                instance_answer_error(inst, id, JSONRPC_INVALID_REQUEST, err);
                return;
        }
        if (call)
                t = call->target;
        else
                target_for_get(&t, s);
        r = calloc(1, sizeof(*r));
        if (!r) {
                instance_answer_error(inst, id, JSONRPC_INTERNAL_ERROR,
                                      "Out of memory in mcp-proxy");
                return;
        }
        /* The key hint for 2026-07-28 rounds (mrtr.c) is the hub's own business. */
        {
                cJSON *p = json_get(m, "params");
                cJSON *meta = cJSON_IsObject(p) ? json_get(p, "_meta") : NULL;
                if (cJSON_IsObject(meta)) {
                        cJSON_DeleteItemFromObjectCaseSensitive(meta,
                                                                "io.modelcontextprotocol/inputKey");
                        if (!meta->child)
                                cJSON_DeleteItemFromObjectCaseSensitive(p, "_meta");
                }
        }
        r->id = ++h->next_srv_request_id;
        r->instance = inst->id;
        r->upstream_id = cJSON_Duplicate(id, true);
        r->method = strdup(method);
        r->target = t;
        r->created_usec = now_usec();
        snprintf(r->session, sizeof(r->session), "%s", s->id);
        if (cJSON_IsObject(params) && json_get_string(params, "elicitationId"))
                r->elicitation_id = strdup(json_get_string(params, "elicitationId"));
        if (!r->upstream_id || !r->method ||
            !json_set(m, "id", cJSON_CreateNumber((double)r->id)) ||
            hmap_put(&h->srv_requests, r->id, r) < 0) {
                srv_request_free(r);
                instance_answer_error(inst, id, JSONRPC_INTERNAL_ERROR,
                                      "Out of memory in mcp-proxy");
                return;
        }
        log_debug("upstream '%s': %s routed to session %.8s... as request %" PRIu64, label, method,
                  s->id, r->id);
        rid = r->id;
        out = cJSON_Duplicate(m, true); /* kept for a second try on the GET stream */
        /* Delivering may end the session (a legacy one whose stream is gone), and with it
         * r: from here on, r is looked up again. */
        target_for_get(&g, s);
        if (hub_deliver(h, &t, TAKE_PTR(m), false) >= 0) {
                cJSON_Delete(out);
                return;
        }
        /* The exchange it was pinned on is gone: try the session's GET stream. */
        if (g.stream && out && hmap_get(&h->srv_requests, rid) &&
            hub_deliver(h, &g, TAKE_PTR(out), false) >= 0) {
                if ((r = hmap_get(&h->srv_requests, rid)))
                        r->target = g;
                return;
        }
        cJSON_Delete(out);
        if ((r = hmap_remove(&h->srv_requests, rid))) {
                instance_answer_error(inst, r->upstream_id, JSONRPC_INTERNAL_ERROR,
                                      "The client session has no open stream");
                srv_request_free(r);
        }
}

void hub_client_response(struct hub *h, struct session *s, cJSON *msg)
{
        struct srv_request *r;
        struct instance *i;
        int64_t n;

        /* Our ids are 1, 2, ...: anything else the client chose (1.5, -1, 1e300, a string)
         * answers nothing of ours. */
        if (!json_int64(json_get(msg, "id"), &n) || n < 1 ||
            !(r = hmap_get(&h->srv_requests, (uint64_t)n)) || r->answered ||
            strcmp(r->session, s->id) != 0) {
                log_debug("client '%s': response to a request we did not send, ignoring",
                          s->client);
                return;
        }
        i = instance_by_id(h, r->instance);
        if (i && json_set(msg, "id", cJSON_Duplicate(r->upstream_id, true)))
                (void)upstream_send(i->u, cJSON_Duplicate(msg, true));
        /* A URL elicitation completes later: remember whose it was until then. */
        if (r->elicitation_id) {
                r->answered = true;
                return;
        }
        hmap_remove(&h->srv_requests, r->id);
        srv_request_free(r);
}

/* notifications/cancelled from a server: for one of its requests to a client. */
void srv_requests_cancelled(struct hub *h, struct instance *inst, cJSON *msg)
{
        _cleanup_json_ cJSON *m = msg;
        cJSON *params = json_get(m, "params");
        const cJSON *rid = cJSON_IsObject(params) ? json_get(params, "requestId") : NULL;
        size_t i = 0;
        uint64_t k;
        void *v;

        while (rid && hmap_next(&h->srv_requests, &i, &k, &v)) {
                struct srv_request *r = v;
                if (!jsonrpc_id_equal(rid, r->upstream_id) || r->instance != inst->id ||
                    r->answered)
                        continue;
                struct target t = r->target;
                /* Forgotten first: delivering may end the session, and r with it. */
                hmap_remove(&h->srv_requests, k);
                if (json_set(params, "requestId", cJSON_CreateNumber((double)r->id)))
                        (void)hub_deliver(h, &t, TAKE_PTR(m), false);
                srv_request_free(r);
                return;
        }
}

/* notifications/elicitation/complete: to the session its elicitation went to. */
void srv_requests_elicitation_complete(struct hub *h, struct instance *inst, cJSON *msg)
{
        _cleanup_json_ cJSON *m = msg;
        const cJSON *params = json_get(m, "params");
        const char *eid = cJSON_IsObject(params) ? json_get_string(params, "elicitationId") : NULL;
        struct call *call;
        struct session *s = NULL;
        struct target t;
        bool ambiguous;
        size_t i = 0;
        void *v;

        uint64_t k;

        while (eid && hmap_next(&h->srv_requests, &i, &k, &v)) {
                struct srv_request *r = v;
                if (r->elicitation_id && strcmp(r->elicitation_id, eid) == 0 &&
                    r->instance == inst->id) {
                        s = session_get(h, r->session);
                        if (r->answered) {
                                hmap_remove(&h->srv_requests, k);
                                srv_request_free(r);
                        }
                        break;
                }
        }
        /* Answered already (the usual case): the session the instance's messages belong to. */
        if (!s)
                s = instance_attribute(inst, &call, &ambiguous);
        if (!s) {
                char label[256];
                log_info("upstream '%s': elicitation complete not attributable to one session, "
                         "dropping it",
                         instance_label(inst, label, sizeof(label)));
                return;
        }
        target_for_get(&t, s);
        (void)hub_deliver(h, &t, TAKE_PTR(m), false);
}

struct drop {
        struct hub *h;
        const void *x;
        const char *why; /* the servers hear it, or NULL */
        bool (*match)(const struct srv_request *r, const void *x);
};

static int drop_match(void *v, const void *userdata)
{
        const struct drop *d = userdata;
        return d->match(v, d->x);
}

static void drop_done(void *v, const void *userdata)
{
        const struct drop *d = userdata;
        struct srv_request *r = v;
        struct instance *inst = d->why && !r->answered ? instance_by_id(d->h, r->instance) : NULL;

        if (inst)
                instance_answer_error(inst, r->upstream_id, JSONRPC_INTERNAL_ERROR, d->why);
        srv_request_free(r);
}

static void drop_where(struct hub *h, bool (*match)(const struct srv_request *r, const void *x),
                       const void *x, const char *why)
{
        struct drop d = {.h = h, .x = x, .why = why, .match = match};
        (void)hmap_remove_if(&h->srv_requests, drop_match, drop_done, &d);
}

static bool of_session(const struct srv_request *r, const void *x)
{
        return strcmp(r->session, ((const struct session *)x)->id) == 0;
}

static bool of_instance(const struct srv_request *r, const void *x)
{
        return r->instance == ((const struct instance *)x)->id;
}

static bool too_old(const struct srv_request *r, const void *x)
{
        return *(const uint64_t *)x - r->created_usec >= SRV_REQUEST_MAX_AGE_MS * 1000ULL;
}

/* Requests waiting for this session's answer: the servers hear it will not come. */
void srv_requests_session_ending(struct hub *h, struct session *s)
{
        drop_where(h, of_session, s, "The client session ended");
}

void srv_requests_instance_gone(struct hub *h, struct instance *i)
{
        drop_where(h, of_instance, i, NULL);
}

void srv_requests_sweep(struct hub *h)
{
        uint64_t now = now_usec();
        drop_where(h, too_old, &now, NULL);
}

void srv_requests_free_all(struct hub *h)
{
        size_t i = 0;
        void *v;

        while (hmap_next(&h->srv_requests, &i, NULL, &v))
                srv_request_free(v);
        hmap_done(&h->srv_requests);
}
