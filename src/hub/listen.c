/* SPDX-License-Identifier: MIT */
/*
 * subscriptions/listen, the 2026-07-28 way to hear of changes (basic/patterns/subscriptions;
 * reference/mcp-2026-bridging.md 1.5 and 2.4). A listen request is a modern request whose
 * answer is an SSE stream that stays open: first notifications/subscriptions/acknowledged
 * with the filter honoured, then only the notifications the filter opted into, each tagged
 * with the request's id in _meta["io.modelcontextprotocol/subscriptionId"]. It lives on the
 * session modern.c gives a modern request (whose stream carries it) and ends with it: when
 * the front closes the connection, or at shutdown after the graceful final result.
 *
 * List changes come from the catalogue (the hub's own instances, diffed after a refetch:
 * hub_lists_changed()) and, for a client's own instances (isolation "client" or
 * "session"), from their list_changed notifications, which reach only the listen streams
 * they serve. Bursts are coalesced per stream and kind (LISTEN_COALESCE_MS). Resource
 * subscriptions are the upstream ones of subs.c, counted with the 2025 sessions': a URI is
 * honoured when its server supports subscribe, the access rules let the client read it and
 * an instance could take it; updates of it, or of a resource under it, go to the stream
 * while the rules still let the client read that URI. No progress or log message ever goes
 * on a listen stream: nothing but this file delivers there.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "hub/hub.h"
#include "json.h"
#include "log.h"
#include "mcp-limits.h"
#include "proto/jsonrpc.h"

struct listen_sub {
        uint64_t instance; /* where the upstream subscription is counted (subs.c) */
        char *uri;         /* as the client named it */
        char *orig;        /* as the server knows it */
};

struct listen_stream {
        char session[65]; /* the modern session whose stream carries it */
        uint64_t conn_id; /* the front exchange */
        char *client;
        cJSON *id;          /* the listen request's id: the subscription id */
        unsigned kinds;     /* LISTEN_* of the lists it listens to */
        unsigned pending;   /* list changes held back, coalescing */
        uint64_t last_usec; /* when a list change last went */
        bool ended;         /* the final result is out */
        struct listen_sub *subs;
        size_t n_subs;
        struct listen_stream *next;
};

static const char *const list_note[_LISTEN_KIND_MAX] = {
    [LISTEN_TOOLS] = "notifications/tools/list_changed",
    [LISTEN_PROMPTS] = "notifications/prompts/list_changed",
    [LISTEN_RESOURCES] = "notifications/resources/list_changed",
};
static const char *const list_flag[_LISTEN_KIND_MAX] = {
    [LISTEN_TOOLS] = "toolsListChanged",
    [LISTEN_PROMPTS] = "promptsListChanged",
    [LISTEN_RESOURCES] = "resourcesListChanged",
};

static struct listen_stream *listen_find(struct hub *h, const char *session)
{
        for (struct listen_stream *l = h->listen_streams; l; l = l->next)
                if (strcmp(l->session, session) == 0)
                        return l;
        return NULL;
}

static size_t listen_count(struct hub *h, const char *client)
{
        size_t n = 0;

        for (struct listen_stream *l = h->listen_streams; l; l = l->next)
                if (strcmp(l->client, client) == 0)
                        n++;
        return n;
}

static void listen_free(struct listen_stream *l)
{
        for (size_t i = 0; i < l->n_subs; i++) {
                free(l->subs[i].uri);
                free(l->subs[i].orig);
        }
        free(l->subs);
        free(l->client);
        cJSON_Delete(l->id);
        free(l);
}

/* Sends one message (takes msg) on l's stream; final: the result that ends it. l may be gone
 * afterwards (the front went away): look it up again. */
static int listen_send(struct hub *h, struct listen_stream *l, cJSON *msg, bool final)
{
        struct target t = {.conn_id = l->conn_id};

        if (l->ended) {
                cJSON_Delete(msg);
                return -EPIPE;
        }
        if (final)
                l->ended = true;
        snprintf(t.session, sizeof(t.session), "%s", l->session);
        return hub_deliver(h, &t, msg, final);
}

/* params (taken; NULL: none) with the subscription id in its _meta. */
static cJSON *tag(const struct listen_stream *l, cJSON *params)
{
        cJSON *p = params ? params : cJSON_CreateObject(), *meta;

        if (!p)
                return NULL;
        meta = json_get(p, "_meta");
        if (!cJSON_IsObject(meta)) {
                cJSON_DeleteItemFromObjectCaseSensitive(p, "_meta");
                meta = cJSON_AddObjectToObject(p, "_meta");
        }
        if (!meta || !json_set(meta, MCP_META_SUBSCRIPTION_ID, cJSON_Duplicate(l->id, true))) {
                cJSON_Delete(p);
                return NULL;
        }
        return p;
}

static cJSON *tagged_note(const struct listen_stream *l, const char *method, cJSON *params)
{
        cJSON *p = tag(l, params);
        cJSON *m = p ? jsonrpc_notification_new(method, p) : NULL;

        if (p && !m)
                cJSON_Delete(p);
        return m;
}

/* The session ids of the streams want() accepts: delivering to one may end it (and change
 * the list), so each is looked up again. *ret is malloc'd. */
typedef char listen_id[65];
static int listen_collect(struct hub *h, bool (*want)(const struct listen_stream *l, const void *u),
                          const void *userdata, listen_id **ret, size_t *ret_n)
{
        size_t n = 0, cap = 0;
        listen_id *ids = NULL;

        for (struct listen_stream *l = h->listen_streams; l; l = l->next)
                cap++;
        *ret = NULL;
        *ret_n = 0;
        if (cap == 0)
                return 0;
        ids = calloc(cap, sizeof(*ids));
        if (!ids)
                return -ENOMEM;
        for (struct listen_stream *l = h->listen_streams; l; l = l->next)
                if (!l->ended && (!want || want(l, userdata)))
                        memcpy(ids[n++], l->session, sizeof(listen_id));
        *ret = ids;
        *ret_n = n;
        return 0;
}

/* ---------------------------------------------------------------- list changes */

static void listen_arm_timer(struct hub *h);

/* Sends l the list changes of kinds now. l may be gone afterwards. */
static void listen_send_lists(struct hub *h, struct listen_stream *l, unsigned kinds)
{
        char session[65];

        snprintf(session, sizeof(session), "%s", l->session);
        l->last_usec = now_usec();
        l->pending &= ~kinds;
        for (int k = 0; k < _LISTEN_KIND_MAX; k++) {
                if (!(kinds & (1u << k)))
                        continue;
                l = listen_find(h, session);
                if (!l)
                        return;
                (void)listen_send(h, l, tagged_note(l, list_note[k], NULL), false);
        }
}

/* kinds changed for the stream of this session: now, or once LISTEN_COALESCE_MS have passed
 * since the last it was told. */
static void listen_note_lists(struct hub *h, const char *session, unsigned kinds)
{
        struct listen_stream *l = listen_find(h, session);

        if (!l || !(kinds &= l->kinds))
                return;
        if (now_usec() >= l->last_usec + LISTEN_COALESCE_MS * USEC_PER_MSEC) {
                listen_send_lists(h, l, kinds | l->pending);
                return;
        }
        l->pending |= kinds;
        listen_arm_timer(h);
}

static bool listen_due(const struct listen_stream *l, const void *userdata)
{
        const uint64_t *now = userdata;
        return l->pending && *now >= l->last_usec + LISTEN_COALESCE_MS * USEC_PER_MSEC;
}

static int listen_timer_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct hub *h = userdata;
        _cleanup_free_ listen_id *ids = NULL;
        uint64_t now = now_usec();
        size_t n = 0;

        if (listen_collect(h, listen_due, &now, &ids, &n) < 0)
                log_error("out of memory telling listen streams of list changes");
        for (size_t i = 0; i < n; i++) {
                struct listen_stream *l = listen_find(h, ids[i]);
                if (l)
                        listen_send_lists(h, l, l->pending);
        }
        listen_arm_timer(h);
        return 0;
}

/* The timer fires when the first held-back change is due (off when none is). */
static void listen_arm_timer(struct hub *h)
{
        uint64_t due = UINT64_MAX;

        for (struct listen_stream *l = h->listen_streams; l; l = l->next)
                if (l->pending && !l->ended)
                        due = MIN(due, l->last_usec + LISTEN_COALESCE_MS * USEC_PER_MSEC);
        if (!h->listen_timer) {
                if (due == UINT64_MAX)
                        return;
                if (sd_event_add_time(h->event, &h->listen_timer, CLOCK_MONOTONIC, due,
                                      USEC_PER_MSEC, listen_timer_cb, h) < 0) {
                        log_error("cannot arm the listen streams' timer: list changes are lost");
                        return;
                }
        } else if (due != UINT64_MAX)
                (void)sd_event_source_set_time(h->listen_timer, due);
        (void)sd_event_source_set_enabled(h->listen_timer,
                                          due == UINT64_MAX ? SD_EVENT_OFF : SD_EVENT_ONESHOT);
}

void listen_lists_changed(struct hub *h, unsigned kinds)
{
        _cleanup_free_ listen_id *ids = NULL;
        size_t n = 0;

        if (!kinds)
                return;
        if (listen_collect(h, NULL, NULL, &ids, &n) < 0) {
                log_error("out of memory telling listen streams of list changes");
                return;
        }
        for (size_t i = 0; i < n; i++)
                listen_note_lists(h, ids[i], kinds);
}

static bool listen_served_by(const struct listen_stream *l, const void *userdata)
{
        const struct instance *inst = userdata;
        struct session *s = session_get(inst->srv->hub, l->session);
        return s && instance_has_session(inst, s);
}

bool listen_instance_note(struct hub *h, struct instance *inst, cJSON *msg)
{
        const char *method = json_get_string(msg, "method");
        _cleanup_free_ listen_id *ids = NULL;
        char label[256];
        unsigned kinds = 0;
        size_t n = 0;
        int kind = -1;

        for (int k = 0; k < _LISTEN_KIND_MAX; k++)
                if (method && strcmp(method, list_note[k]) == 0)
                        kind = k;
        if (kind < 0)
                return false;
        kinds = 1u << kind;
        cJSON_Delete(msg); /* method with it: list_note[kind] from here on */
        /* The hub's own instances make the catalogue: their changes come diffed from it. */
        if (inst->hub_own)
                return true;
        if (listen_collect(h, listen_served_by, inst, &ids, &n) < 0)
                return true;
        log_debug("upstream '%s': %s, telling %zu listen stream(s)",
                  instance_label(inst, label, sizeof(label)), list_note[kind], n);
        for (size_t i = 0; i < n; i++)
                listen_note_lists(h, ids[i], kinds);
        return true;
}

/* ---------------------------------------------------------------- resources */

/* uri is sub, or a resource under it ("file:///a/" and "file:///a" cover "file:///a/b"). */
static bool uri_covers(const char *sub, const char *uri)
{
        size_t n = strlen(sub);

        if (strncmp(sub, uri, n) != 0)
                return false;
        return uri[n] == 0 || (n > 0 && sub[n - 1] == '/') || strchr("/?#", uri[n]);
}

struct updated {
        struct hub *hub;
        const struct instance *inst;
        const char *uri; /* as the client knows it */
};

static bool listen_wants_update(const struct listen_stream *l, const void *userdata)
{
        const struct updated *u = userdata;

        for (size_t i = 0; i < l->n_subs; i++)
                if (l->subs[i].instance == u->inst->id && uri_covers(l->subs[i].uri, u->uri))
                        /* The rules of now: a reload may have taken the resource away. */
                        return access_allow(u->hub, l->client, USERS_RESOURCES, u->inst->srv->name,
                                            u->uri);
        return false;
}

void listen_resource_updated(struct hub *h, struct instance *inst, const char *uri,
                             const cJSON *msg)
{
        const cJSON *params = json_get(msg, "params");
        _cleanup_free_ listen_id *ids = NULL;
        size_t n = 0, told = 0;

        if (listen_collect(h, listen_wants_update, &(struct updated){h, inst, uri}, &ids, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                struct listen_stream *l = listen_find(h, ids[i]);
                cJSON *p = cJSON_IsObject(params) ? cJSON_Duplicate(params, true) : NULL;
                if (l && listen_send(h, l, tagged_note(l, "notifications/resources/updated", p),
                                     false) == 0)
                        told++;
        }
        if (n > 0)
                log_debug("resource '%s' updated, told %zu listen stream(s)", uri, told);
}

/* Subscribes l to uri upstream (counted with everyone's, subs.c); false if it cannot be
 * honoured. */
static bool listen_subscribe(struct hub *h, struct listen_stream *l, struct session *s,
                             const char *uri)
{
        _cleanup_free_ char *orig = NULL;
        struct listen_sub *grown, *sub;
        struct server *srv;
        struct instance *inst;
        unsigned refs;

        for (size_t i = 0; i < l->n_subs; i++)
                if (strcmp(l->subs[i].uri, uri) == 0)
                        return true; /* named twice */
        if (catalogue_uri_in(h, uri, &srv, &orig) < 0) {
                log_debug("client '%s': listen: no server has '%s'", l->client, uri);
                return false;
        }
        if (!srv->hub_inst->u->can_subscribe) {
                log_debug("client '%s': listen: upstream '%s' does not support resource "
                          "subscriptions",
                          l->client, srv->name);
                return false;
        }
        if (!access_allow(h, l->client, USERS_RESOURCES, srv->name, uri)) {
                log_notice("client '%s': listen: not subscribed to '%s': the access rules deny it",
                           l->client, uri);
                return false;
        }
        inst = server_instance_for(srv, s);
        if (!inst) {
                log_warning("client '%s': listen: no instance of upstream '%s' for '%s' (%s)",
                            l->client, srv->name, uri,
                            errno == EUSERS ? "maxInstances reached" : "out of memory");
                return false;
        }
        grown = realloc(l->subs, (l->n_subs + 1) * sizeof(*l->subs));
        if (!grown)
                return false;
        l->subs = grown;
        sub = &l->subs[l->n_subs];
        *sub =
            (struct listen_sub){.instance = inst->id, .uri = strdup(uri), .orig = TAKE_PTR(orig)};
        if (!sub->uri || (refs = hub_sub_ref(h, inst, sub->orig)) == 0) {
                free(sub->uri);
                free(sub->orig);
                return false;
        }
        l->n_subs++;
        /* The first on this instance asks the server: now if it is up, else once it is
         * (listen_instance_ready()). */
        if (refs == 1 && inst->u->state == UPSTREAM_READY)
                subs_upstream_request(inst, true, sub->orig);
        log_info("client '%s': listen stream subscribed to '%s'", l->client, uri);
        return true;
}

void listen_instance_ready(struct hub *h, struct instance *inst)
{
        for (struct listen_stream *l = h->listen_streams; l; l = l->next)
                for (size_t i = 0; i < l->n_subs; i++)
                        if (l->subs[i].instance == inst->id)
                                subs_upstream_request(inst, true, l->subs[i].orig);
}

/* ---------------------------------------------------------------- the request */

static void listen_refuse(struct conn *c, int status, const cJSON *id, int code,
                          const char *message)
{
        c->hub->n_errors++;
        log_notice("client '%s': subscriptions/listen refused: %s", c->env.client, message);
        (void)conn_send_error(c, status, jsonrpc_error_new(id, code, message, NULL));
}

/* The filter asked for, checked; NULL after answering. */
static const cJSON *listen_filter(struct conn *c, const cJSON *id, const cJSON *params)
{
        const cJSON *f = cJSON_IsObject(params) ? json_get(params, "notifications") : NULL;
        const cJSON *uris, *u;

        if (!cJSON_IsObject(f)) {
                listen_refuse(c, 400, id, JSONRPC_INVALID_PARAMS,
                              "Invalid params: subscriptions/listen needs a notifications object");
                return NULL;
        }
        for (int k = 0; k < _LISTEN_KIND_MAX; k++) {
                const cJSON *v = json_get(f, list_flag[k]);
                if (v && !cJSON_IsBool(v)) {
                        listen_refuse(c, 400, id, JSONRPC_INVALID_PARAMS,
                                      "Invalid params: a notifications flag is not a boolean");
                        return NULL;
                }
        }
        uris = json_get(f, "resourceSubscriptions");
        if (uris && !cJSON_IsArray(uris)) {
                listen_refuse(c, 400, id, JSONRPC_INVALID_PARAMS,
                              "Invalid params: resourceSubscriptions is not an array");
                return NULL;
        }
        cJSON_ArrayForEach(u, uris) if (!cJSON_IsString(u))
        {
                listen_refuse(c, 400, id, JSONRPC_INVALID_PARAMS,
                              "Invalid params: resourceSubscriptions holds a non-string");
                return NULL;
        }
        if (cJSON_GetArraySize(uris) > LISTEN_MAX_URIS) {
                char err[160];
                snprintf(err, sizeof(err),
                         "Invalid params: at most %d resourceSubscriptions in one listen request",
                         LISTEN_MAX_URIS);
                listen_refuse(c, 400, id, JSONRPC_INVALID_PARAMS, err);
                return NULL;
        }
        return f;
}

void listen_request(struct conn *c, cJSON *msg, const cJSON *caps)
{
        _cleanup_json_ cJSON *m = msg;
        struct hub *h = c->hub;
        const cJSON *id = json_get(m, "id"), *f, *u;
        cJSON *ack = NULL, *honoured, *uris = NULL;
        struct listen_stream *l;
        struct session *s;
        char err[256];

        f = listen_filter(c, id, json_get(m, "params"));
        if (!f)
                return;
        if (listen_count(h, c->env.client) >= LISTEN_MAX_PER_CLIENT) {
                cJSON *data = cJSON_CreateObject();
                if (data) {
                        cJSON_AddStringToObject(data, "limit", "listen_streams");
                        cJSON_AddNumberToObject(data, "retryAfter", 1);
                }
                snprintf(err, sizeof(err),
                         "Too many listen streams: client '%s' may have %d open at once",
                         c->env.client, LISTEN_MAX_PER_CLIENT);
                log_notice("client '%s': %s", c->env.client, err);
                hub_record(h, &(struct record){.client = c->env.client,
                                               .method = "subscriptions/listen",
                                               .outcome = RECORD_LIMITED,
                                               .detail = err,
                                               .limit = "listen_streams"});
                h->n_errors++;
                (void)conn_send_limited(
                    c, jsonrpc_error_new(id, MCP_PROXY_ERROR_LIMITED, err, data), 1);
                return;
        }
        s = session_new_modern(h, c->env.client, c->id, caps);
        if (!s && errno == ENOSPC) {
                route_refuse_busy(c, id);
                return;
        }
        l = calloc(1, sizeof(*l));
        if (!s || !l || !(s->modern_method = strdup("subscriptions/listen")) ||
            !(l->client = strdup(c->env.client)) || !(l->id = cJSON_Duplicate(id, true))) {
                if (l)
                        listen_free(l);
                if (s)
                        session_free(h, s);
                listen_refuse(c, 503, id, MCP_ERROR_CONNECTION_CLOSED,
                              "Service unavailable: out of memory");
                return;
        }
        snprintf(l->session, sizeof(l->session), "%s", s->id);
        l->conn_id = c->id;
        l->next = h->listen_streams;
        h->listen_streams = l;
        /* The session ends with the connection (modern_exchange_end()), and l with it. */
        snprintf(c->modern, sizeof(c->modern), "%s", s->id);
        c->env.session = c->modern;
        h->n_requests++;

        honoured = cJSON_CreateObject();
        for (int k = 0; honoured && k < _LISTEN_KIND_MAX; k++)
                if (cJSON_IsTrue(json_get(f, list_flag[k]))) {
                        l->kinds |= 1u << k;
                        cJSON_AddTrueToObject(honoured, list_flag[k]);
                }
        if (honoured && json_get(f, "resourceSubscriptions"))
                uris = cJSON_AddArrayToObject(honoured, "resourceSubscriptions");
        cJSON_ArrayForEach(u, json_get(f, "resourceSubscriptions"))
        {
                if (!uris)
                        break;
                if (listen_subscribe(h, l, s, u->valuestring))
                        cJSON_AddItemToArray(uris, cJSON_CreateString(u->valuestring));
        }
        if (honoured) {
                cJSON *p = cJSON_CreateObject();
                if (p && cJSON_AddItemToObject(p, "notifications", honoured))
                        ack = tagged_note(l, "notifications/subscriptions/acknowledged", p);
                else {
                        cJSON_Delete(honoured);
                        cJSON_Delete(p);
                }
        }
        log_info("client '%s': listen stream %.8s... open (lists:%s%s%s, %zu resource(s))",
                 l->client, s->id, l->kinds & (1u << LISTEN_TOOLS) ? " tools" : "",
                 l->kinds & (1u << LISTEN_PROMPTS) ? " prompts" : "",
                 l->kinds & (1u << LISTEN_RESOURCES) ? " resources" : "", l->n_subs);
        if (!ack) {
                /* Cannot say what it listens to: end it (and l with its session). */
                (void)conn_send_error(c, 503,
                                      jsonrpc_error_new(id, MCP_ERROR_CONNECTION_CLOSED,
                                                        "Service unavailable: out of memory",
                                                        NULL));
                return;
        }
        /* The stream's first event, at once. */
        (void)listen_send(h, l, ack, false);
}

/* ---------------------------------------------------------------- the end */

static void listen_unlink(struct hub *h, struct listen_stream *l)
{
        for (struct listen_stream **pp = &h->listen_streams; *pp; pp = &(*pp)->next)
                if (*pp == l) {
                        *pp = l->next;
                        return;
                }
}

void listen_session_ending(struct hub *h, struct session *s)
{
        struct listen_stream *l = s->modern ? listen_find(h, s->id) : NULL;

        if (!l)
                return;
        listen_unlink(h, l);
        for (size_t i = 0; i < l->n_subs; i++) {
                struct instance *inst = instance_by_id(h, l->subs[i].instance);
                /* Its instance went away, and the subscription with it. */
                if (!inst)
                        continue;
                if (hub_sub_unref(h, inst, l->subs[i].orig) == 0) {
                        if (inst->u->state == UPSTREAM_READY)
                                subs_upstream_request(inst, false, l->subs[i].orig);
                        log_info("client '%s': listen stream closed, unsubscribed from '%s'",
                                 l->client, l->subs[i].uri);
                }
        }
        log_info("client '%s': listen stream %.8s... closed", l->client, l->session);
        listen_free(l);
        listen_arm_timer(h);
}

void listen_shutdown(struct hub *h)
{
        _cleanup_free_ listen_id *ids = NULL;
        size_t n = 0;

        if (listen_collect(h, NULL, NULL, &ids, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                struct listen_stream *l = listen_find(h, ids[i]);
                cJSON *result, *meta;

                if (!l)
                        continue;
                result = cJSON_CreateObject();
                if (!result || !cJSON_AddStringToObject(result, "resultType", "complete") ||
                    !(meta = cJSON_AddObjectToObject(result, "_meta")) ||
                    !cJSON_AddItemToObject(meta, MCP_META_SUBSCRIPTION_ID,
                                           cJSON_Duplicate(l->id, true))) {
                        cJSON_Delete(result);
                        continue;
                }
                (void)listen_send(h, l, jsonrpc_result_new(l->id, result), true);
        }
}

void listen_free_all(struct hub *h)
{
        while (h->listen_streams) {
                struct listen_stream *l = h->listen_streams;
                h->listen_streams = l->next;
                listen_free(l);
        }
        h->listen_timer = sd_event_source_disable_unref(h->listen_timer);
}
