/* SPDX-License-Identifier: MIT */
/*
 * resources/subscribe and unsubscribe. A session's subscriptions are kept as
 * the client named them; upstream, each instance holds one subscription per
 * URI however many of its sessions asked (counted here), made again when it
 * restarts. notifications/resources/updated from an instance goes to the
 * sessions of that instance that subscribed to the URI, and to no other.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/hub.h"
#include "json.h"
#include "log.h"
#include "proto/jsonrpc.h"
#include "strv.h"

struct subscription {
        uint64_t instance;
        char *uri; /* as the server knows it */
        unsigned refs;
};

static uint64_t sub_key(uint64_t instance, const char *uri)
{
        uint64_t k = (instance * 1099511628211ULL) ^ hash_string(uri);
        return k ? k : 1;
}

static struct subscription *sub_get(struct hub *h, uint64_t instance, const char *uri)
{
        struct subscription *sub = hmap_get(&h->subs, sub_key(instance, uri));

        if (sub && sub->instance == instance && strcmp(sub->uri, uri) == 0)
                return sub;
        return NULL;
}

unsigned hub_sub_ref(struct hub *h, const struct instance *i, const char *uri)
{
        struct subscription *sub = sub_get(h, i->id, uri);

        /* Another subscription under the same key (a hash collision, which a client could
         * aim for): refuse, never replace someone else's. */
        if (!sub && hmap_get(&h->subs, sub_key(i->id, uri)))
                return 0;
        if (!sub) {
                sub = calloc(1, sizeof(*sub));
                if (!sub)
                        return 0;
                sub->instance = i->id;
                sub->uri = strdup(uri);
                if (!sub->uri || hmap_put(&h->subs, sub_key(i->id, uri), sub) < 0) {
                        free(sub->uri);
                        free(sub);
                        return 0;
                }
        }
        return ++sub->refs;
}

static unsigned subs_of_uri_refs(struct hub *h, const struct instance *i, const char *uri)
{
        struct subscription *sub = sub_get(h, i->id, uri);
        return sub ? sub->refs : 0;
}

unsigned hub_sub_unref(struct hub *h, const struct instance *i, const char *uri)
{
        struct subscription *sub = sub_get(h, i->id, uri);

        if (!sub)
                return 0;
        if (--sub->refs > 0)
                return sub->refs;
        hmap_remove(&h->subs, sub_key(i->id, uri));
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
                free(sub->uri);
                free(sub);
        }
        hmap_done(&h->subs);
}

size_t subs_of_instance(struct hub *h, const struct instance *i)
{
        size_t n = 0, k = 0;
        void *v;

        while (hmap_next(&h->subs, &k, NULL, &v))
                if (((struct subscription *)v)->instance == i->id)
                        n++;
        return n;
}

static int sub_of(void *v, const void *userdata)
{
        return ((struct subscription *)v)->instance == ((const struct instance *)userdata)->id;
}

static void sub_free(void *v, const void *userdata)
{
        struct subscription *sub = v;
        free(sub->uri);
        free(sub);
}

void subs_instance_gone(struct hub *h, const struct instance *i)
{
        (void)hmap_remove_if(&h->subs, sub_of, sub_free, i);
}

static void request_uri(struct instance *i, const char *method, const char *uri)
{
        cJSON *params = cJSON_CreateObject();

        if (params && cJSON_AddStringToObject(params, "uri", uri))
                (void)upstream_request_internal(i->u, method, params);
        else
                cJSON_Delete(params);
}

void subs_upstream_request(struct instance *i, bool subscribe, const char *uri)
{
        request_uri(i, subscribe ? "resources/subscribe" : "resources/unsubscribe", uri);
}

/* After a (re)start the server knows nothing of our subscriptions: make them again. */
void subs_resubscribe(struct hub *h, struct instance *i)
{
        size_t k = 0;
        void *v;

        if (!i->u->can_subscribe && !i->srv->hub_inst->u->can_subscribe)
                return;
        while (hmap_next(&h->subs, &k, NULL, &v)) {
                struct subscription *sub = v;
                if (sub->instance == i->id)
                        request_uri(i, "resources/subscribe", sub->uri);
        }
}

static bool session_subscribed(const struct session *s, const char *uri)
{
        for (size_t i = 0; i < s->n_subs; i++)
                if (strcmp(s->subs[i], uri) == 0)
                        return true;
        return false;
}

void subs_session_ending(struct hub *h, struct session *s)
{
        for (size_t n = 0; n < s->n_subs; n++) {
                struct server *srv;
                struct instance *i;
                _cleanup_free_ char *orig = NULL;

                if (catalogue_uri_in(h, s->subs[n], &srv, &orig) < 0 ||
                    !(i = server_instance_find(srv, s)))
                        continue;
                if (hub_sub_unref(h, i, orig) == 0 && i->u->state == UPSTREAM_READY)
                        request_uri(i, "resources/unsubscribe", orig);
        }
}

struct updated {
        struct hub *hub;
        const struct instance *inst;
        const char *uri; /* as the client knows it */
};

/* A session subscribed to the URI on this instance, whose client the rules still let read
 * it: a subscription made before a reload (or restored from before a restart) that denies
 * it now tells nothing more. */
static bool wants_update(const struct session *s, const void *userdata)
{
        const struct updated *u = userdata;
        return instance_has_session(u->inst, s) && session_subscribed(s, u->uri) &&
               access_allow(u->hub, s->client, USERS_RESOURCES, u->inst->srv->name, u->uri);
}

/* notifications/resources/updated: the sessions of this instance subscribed to it. */
void subs_resource_updated(struct hub *h, struct instance *inst, cJSON *msg)
{
        _cleanup_json_ cJSON *m = msg;
        cJSON *params = json_get(m, "params");
        const char *uri = cJSON_IsObject(params) ? json_get_string(params, "uri") : NULL;
        _cleanup_free_ char *client_uri = uri ? catalogue_uri_out(h, inst->srv, uri) : NULL;
        _cleanup_free_ struct target *t = NULL;
        char label[256];
        size_t n = 0, told = 0;

        if (!client_uri || !json_set(params, "uri", cJSON_CreateString(client_uri)))
                return;
        listen_resource_updated(h, inst, client_uri, m); /* and the listen streams (listen.c) */
        if (sessions_get_targets(h, wants_update, &(struct updated){h, inst, client_uri}, &t, &n) <
            0)
                return;
        for (size_t i = 0; i < n; i++)
                if (hub_deliver(h, &t[i], cJSON_Duplicate(m, true), false) == 0)
                        told++;
        log_debug("upstream '%s': resource '%s' updated, told %zu session(s)",
                  instance_label(inst, label, sizeof(label)), client_uri, told);
}

/* resources/subscribe and unsubscribe: one upstream subscription per instance and URI. */
void hub_subscription(struct conn *c, struct session *s, cJSON *msg, bool subscribe)
{
        _cleanup_json_ cJSON *m = msg;
        struct hub *h = c->hub;
        const cJSON *id = json_get(m, "id");
        cJSON *params = json_get(m, "params");
        const char *uri = cJSON_IsObject(params) ? json_get_string(params, "uri") : NULL;
        const char *method = subscribe ? "resources/subscribe" : "resources/unsubscribe";
        _cleanup_free_ char *orig = NULL, *client_uri = NULL;
        struct server *srv;
        struct instance *inst;
        bool had = false;
        size_t i;
        char err[512];

        srv = route_uri(c, id, uri, &orig);
        if (!srv || !route_check(c, s, srv, method, USERS_RESOURCES, uri, id))
                return;
        if (!srv->hub_inst->u->can_subscribe) {
                snprintf(err, sizeof(err), "Upstream '%s' does not support resource subscriptions",
                         srv->name);
                route_reply_error(c, id, JSONRPC_METHOD_NOT_FOUND, err);
                return;
        }
        for (i = 0; i < s->n_subs; i++)
                if (strcmp(s->subs[i], uri) == 0) {
                        had = true;
                        break;
                }
        if (subscribe == had) {
                route_reply(c, jsonrpc_result_new(id, cJSON_CreateObject())); /* nothing to do */
                return;
        }
        inst = subscribe ? server_instance_for(srv, s) : server_instance_find(srv, s);
        if (!inst) {
                if (subscribe) {
                        route_instance_error(c, s, srv, id);
                        return;
                }
                /* Its instance is gone, and the subscription with it. */
                free(s->subs[i]);
                s->subs[i] = s->subs[--s->n_subs];
                route_reply(c, jsonrpc_result_new(id, cJSON_CreateObject()));
                return;
        }
        if (subscribe) {
                char **n = realloc(s->subs, (s->n_subs + 1) * sizeof(char *));
                if (!n || !(n[s->n_subs] = strdup(uri))) {
                        if (n)
                                s->subs = n;
                        route_reply_error(c, id, JSONRPC_INTERNAL_ERROR, "Out of memory");
                        return;
                }
                s->subs = n;
                s->n_subs++;
                switch (hub_sub_ref(h, inst, orig)) {
                case 0:
                        free(s->subs[--s->n_subs]);
                        route_reply_error(c, id, JSONRPC_INTERNAL_ERROR,
                                          "Cannot subscribe to this URI now");
                        return;
                case 1:
                        break;
                default:
                        /* Already subscribed on this instance for another session. */
                        route_reply(c, jsonrpc_result_new(id, cJSON_CreateObject()));
                        return;
                }
        } else {
                free(s->subs[i]);
                s->subs[i] = s->subs[--s->n_subs];
                if (hub_sub_unref(h, inst, orig) != 0) {
                        route_reply(c, jsonrpc_result_new(id, cJSON_CreateObject()));
                        return;
                }
        }
        /* uri lives in params.uri, which the server's own URI replaces: keep a copy. */
        client_uri = strdup(uri);
        if (!client_uri || !json_set(params, "uri", cJSON_CreateString(orig))) {
                route_reply_error(c, id, JSONRPC_INTERNAL_ERROR, "Out of memory");
                return;
        }
        route_forward(c, s, inst, TAKE_PTR(m), method, client_uri);
}

/* A restored session's subscriptions, made again on the instance that serves it once the
 * server of each URI is ready; one whose server never comes stays pending, unseen. */
void subs_restore(struct hub *h)
{
        size_t k = 0;
        void *v;

        if (h->starting)
                return;
        while (hmap_next(&h->sessions, &k, NULL, &v)) {
                struct session *s = v;
                size_t n = 0;

                for (size_t j = 0; s->subs_pending && s->subs_pending[j]; j++) {
                        char *uri = s->subs_pending[j];
                        _cleanup_free_ char *orig = NULL;
                        struct server *srv;
                        struct instance *inst;
                        char **grown;
                        int known = catalogue_uri_in(h, uri, &srv, &orig);

                        if (known >= 0 &&
                            !access_allow(h, s->client, USERS_RESOURCES, srv->name, uri)) {
                                /* The rules deny it now: dropped, as a new subscribe would
                                 * be refused. */
                                log_notice("client '%s': session %.8s... not subscribed again to "
                                           "'%s': the access rules deny it",
                                           s->client, s->id, uri);
                                free(uri);
                                continue;
                        }
                        if (known < 0 || srv->hub_inst->u->state != UPSTREAM_READY ||
                            !srv->hub_inst->u->can_subscribe || session_subscribed(s, uri) ||
                            !(inst = server_instance_for(srv, s)) ||
                            !(grown = realloc(s->subs, (s->n_subs + 1) * sizeof(char *)))) {
                                s->subs_pending[n++] = uri; /* keep it for later */
                                continue;
                        }
                        s->subs = grown;
                        if (hub_sub_ref(h, inst, orig) == 0) {
                                s->subs_pending[n++] = uri;
                                continue;
                        }
                        s->subs[s->n_subs++] = uri;
                        /* The first on this instance: ask the server (now if it is up, else
                         * when it is, by subs_resubscribe()). */
                        if (inst->u->state == UPSTREAM_READY &&
                            subs_of_uri_refs(h, inst, orig) == 1)
                                request_uri(inst, "resources/subscribe", orig);
                        log_info("client '%s': session %.8s... subscribed again to '%s'", s->client,
                                 s->id, uri);
                }
                if (s->subs_pending) {
                        s->subs_pending[n] = NULL;
                        if (n == 0)
                                s->subs_pending = strv_free(s->subs_pending);
                }
        }
}
