/* SPDX-License-Identifier: MIT */
/*
 * The aggregated catalogue: tools, prompts, resources and resource
 * templates of every ready upstream, under the names the client sees.
 *
 * One upstream: everything passes unchanged. Several: tool and prompt
 * names (and resource names) become "<server>_<name>", and resource URIs
 * "<scheme>://<server>/<rest>" (FastMCP's convention; a URI without "://"
 * becomes "<server>:<uri>"). catalogue_uri_in() maps a client URI back, so
 * a URI built from a template or met in a result routes too.
 *
 * Two entries that end up with the same client-visible key are a
 * collision: the first in config order keeps it, the other is not offered,
 * and both are reported in the log and the state (/health).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/hub.h"
#include "json.h"
#include "hub/naming.h"
#include "log.h"
#include "mcp-limits.h"

struct collision {
        int kind;
        char *name;
        char *kept;    /* server that keeps it */
        char *dropped; /* server whose entry is hidden */
};

struct catalogue_list {
        struct catalogue_entry *e;
        size_t n;
        struct hmap by_key; /* hash(key) -> index + 1 */
        uint64_t fingerprint;
};

struct catalogue {
        struct catalogue_list lists[_LIST_KIND_MAX];
        struct collision *collisions;
        size_t n_collisions;
};

static const char *const kind_names[_LIST_KIND_MAX] = {"tool", "prompt", "resource",
                                                       "resource template"};

static void list_clear(struct catalogue_list *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->e[i].key);
        free(l->e);
        hmap_done(&l->by_key);
        *l = (struct catalogue_list){};
}

static void catalogue_clear(struct catalogue *c)
{
        for (int k = 0; k < _LIST_KIND_MAX; k++)
                list_clear(&c->lists[k]);
        for (size_t i = 0; i < c->n_collisions; i++) {
                free(c->collisions[i].name);
                free(c->collisions[i].kept);
                free(c->collisions[i].dropped);
        }
        free(c->collisions);
        *c = (struct catalogue){};
}

void catalogue_free(struct hub *h)
{
        if (!h->catalogue)
                return;
        catalogue_clear(h->catalogue);
        free(h->catalogue);
        h->catalogue = NULL;
}

static const struct catalogue_entry *lookup(const struct catalogue_list *l, const char *key)
{
        uintptr_t idx = (uintptr_t)hmap_get(&l->by_key, hash_string(key));

        if (idx && strcmp(l->e[idx - 1].key, key) == 0)
                return &l->e[idx - 1];
        /* Keys with equal hashes: a scan (vanishingly rare). */
        if (idx)
                for (size_t i = 0; i < l->n; i++)
                        if (strcmp(l->e[i].key, key) == 0)
                                return &l->e[i];
        return NULL;
}

static int add_collision(struct catalogue *c, int kind, const char *name, const char *kept,
                         const char *dropped)
{
        struct collision *n = realloc(c->collisions, (c->n_collisions + 1) * sizeof(*n));

        if (!n)
                return -ENOMEM;
        c->collisions = n;
        n[c->n_collisions] = (struct collision){kind, strdup(name), strdup(kept), strdup(dropped)};
        c->n_collisions++;
        return 0;
}

char *catalogue_name_out(struct hub *h, const struct server *srv, const char *name)
{
        return h->prefix_names ? naming_name_out(srv->name, name) : strdup(name);
}

char *catalogue_uri_out(struct hub *h, const struct server *srv, const char *uri)
{
        return h->prefix_names ? naming_uri_out(srv->name, uri) : strdup(uri);
}

int catalogue_uri_in(struct hub *h, const char *uri, struct server **ret_srv, char **ret_orig)
{
        const char *names[CONFIG_MAX_SERVERS];
        int r;

        *ret_srv = NULL;
        *ret_orig = NULL;
        if (!uri)
                return -EINVAL;
        if (!h->prefix_names) {
                if (h->n_servers == 0)
                        return -ENOENT;
                *ret_srv = h->servers[0];
                *ret_orig = strdup(uri);
                return *ret_orig ? 0 : -ENOMEM;
        }
        for (size_t i = 0; i < h->n_servers && i < CONFIG_MAX_SERVERS; i++)
                names[i] = h->servers[i]->name;
        r = naming_uri_in(uri, names, MIN(h->n_servers, (size_t)CONFIG_MAX_SERVERS), ret_orig);
        if (r < 0)
                return r;
        *ret_srv = h->servers[r];
        return 0;
}

/* The client-visible key of an upstream entry. */
static char *entry_key(struct hub *h, const struct server *u, enum list_kind k, const cJSON *obj)
{
        const char *id = json_get_string(obj, list_info[k].id_field);

        if (!id)
                return NULL;
        if (k == LIST_RESOURCES || k == LIST_TEMPLATES)
                return catalogue_uri_out(h, u, id);
        return catalogue_name_out(h, u, id);
}

/* A copy of an entry as the client sees it. */
static cJSON *entry_json(struct hub *h, const struct catalogue_entry *e, enum list_kind k)
{
        _cleanup_json_ cJSON *o = cJSON_Duplicate(e->obj, true);

        if (!o || !json_set(o, list_info[k].id_field, cJSON_CreateString(e->key)))
                return NULL;
        if ((k == LIST_RESOURCES || k == LIST_TEMPLATES) && h->prefix_names) {
                const char *name = json_get_string(e->obj, "name");
                _cleanup_free_ char *n = name ? catalogue_name_out(h, e->server, name) : NULL;
                if (name && (!n || !json_set(o, "name", cJSON_CreateString(n))))
                        return NULL;
        }
        return TAKE_PTR(o);
}

static uint64_t list_fingerprint(struct hub *h, struct catalogue_list *l, enum list_kind k)
{
        uint64_t fp = 1469598103934665603ULL;

        for (size_t i = 0; i < l->n; i++) {
                _cleanup_json_ cJSON *o = entry_json(h, &l->e[i], k);
                _cleanup_cjson_str_ char *s = o ? cJSON_PrintUnformatted(o) : NULL;
                fp = (fp ^ (s ? hash_string(s) : 0)) * 1099511628211ULL;
        }
        return fp;
}

int catalogue_rebuild(struct hub *h, bool *ret_changed)
{
        struct catalogue *c = h->catalogue, fresh = {};

        if (!c) {
                c = h->catalogue = calloc(1, sizeof(*c));
                if (!c)
                        return -ENOMEM;
        }
        for (int k = 0; k < _LIST_KIND_MAX; k++) {
                struct catalogue_list *l = &fresh.lists[k];
                size_t total = 0;

                for (size_t i = 0; i < h->n_servers; i++) {
                        struct upstream *u = h->servers[i]->hub_inst->u;
                        if (u->state == UPSTREAM_READY && u->lists[k])
                                total += (size_t)cJSON_GetArraySize(u->lists[k]);
                }
                l->e = calloc(total ? total : 1, sizeof(*l->e));
                if (!l->e)
                        goto oom;
                for (size_t i = 0; i < h->n_servers; i++) {
                        struct server *srv = h->servers[i];
                        struct upstream *u = srv->hub_inst->u;
                        const cJSON *t;

                        if (u->state != UPSTREAM_READY || !u->lists[k])
                                continue;
                        cJSON_ArrayForEach(t, u->lists[k])
                        {
                                char *key = entry_key(h, srv, (enum list_kind)k, t);
                                const struct catalogue_entry *prev;

                                if (!key)
                                        goto oom;
                                prev = lookup(l, key);
                                if (prev) {
                                        log_warning("%s name collision: '%s' from upstream '%s' "
                                                    "clashes with upstream '%s'; keeping '%s'",
                                                    kind_names[k], key, u->name, prev->server->name,
                                                    prev->server->name);
                                        if (add_collision(&fresh, k, key, prev->server->name,
                                                          u->name) < 0) {
                                                free(key);
                                                goto oom;
                                        }
                                        free(key);
                                        continue;
                                }
                                l->e[l->n] =
                                    (struct catalogue_entry){.key = key, .server = srv, .obj = t};
                                l->n++;
                                if (hmap_put(&l->by_key, hash_string(key),
                                             (void *)(uintptr_t)l->n) < 0)
                                        goto oom;
                        }
                }
                l->fingerprint = list_fingerprint(h, l, (enum list_kind)k);
        }
        for (int k = 0; k < _LIST_KIND_MAX; k++)
                if (ret_changed)
                        ret_changed[k] = fresh.lists[k].fingerprint != c->lists[k].fingerprint;
        catalogue_clear(c);
        *c = fresh;
        return 0;
oom:
        catalogue_clear(&fresh);
        return -ENOMEM;
}

const struct catalogue_entry *catalogue_find(struct hub *h, int k, const char *key)
{
        if (!h->catalogue || !key)
                return NULL;
        return lookup(&h->catalogue->lists[k], key);
}

const struct catalogue_entry *catalogue_at(struct hub *h, int k, size_t i)
{
        if (!h->catalogue || i >= h->catalogue->lists[k].n)
                return NULL;
        return &h->catalogue->lists[k].e[i];
}

size_t catalogue_count(struct hub *h, int k)
{
        return h->catalogue ? h->catalogue->lists[k].n : 0;
}

cJSON *catalogue_list_json(struct hub *h, int k, size_t offset, size_t limit)
{
        _cleanup_json_ cJSON *arr = cJSON_CreateArray();
        const struct catalogue_list *l = h->catalogue ? &h->catalogue->lists[k] : NULL;

        if (!arr)
                return NULL;
        for (size_t i = offset; l && i < l->n && i - offset < limit; i++) {
                cJSON *o = entry_json(h, &l->e[i], k);
                if (!o)
                        return NULL;
                cJSON_AddItemToArray(arr, o);
        }
        return TAKE_PTR(arr);
}

static enum users_kind users_kind_of(int k)
{
        return k == LIST_TOOLS ? USERS_TOOLS : k == LIST_PROMPTS ? USERS_PROMPTS : USERS_RESOURCES;
}

cJSON *catalogue_list_json_for(struct hub *h, int k, size_t offset, size_t limit,
                               const char *client, size_t *ret_next)
{
        _cleanup_json_ cJSON *arr = cJSON_CreateArray();
        const struct catalogue_list *l = h->catalogue ? &h->catalogue->lists[k] : NULL;
        size_t i = offset, n = 0;

        if (!arr)
                return NULL;
        for (; l && i < l->n && n < limit; i++) {
                cJSON *o;
                if (!access_allow(h, client, users_kind_of(k), l->e[i].server->name, l->e[i].key))
                        continue;
                o = entry_json(h, &l->e[i], k);
                if (!o)
                        return NULL;
                cJSON_AddItemToArray(arr, o);
                n++;
        }
        /* Past the last one the client may see: no next page. */
        while (l && i < l->n &&
               !access_allow(h, client, users_kind_of(k), l->e[i].server->name, l->e[i].key))
                i++;
        *ret_next = l ? i : 0;
        return TAKE_PTR(arr);
}

cJSON *catalogue_collisions_json(struct hub *h)
{
        cJSON *arr = cJSON_CreateArray();

        for (size_t i = 0; arr && h->catalogue && i < h->catalogue->n_collisions; i++) {
                const struct collision *k = &h->catalogue->collisions[i];
                cJSON *o = cJSON_CreateObject();
                if (!o)
                        break;
                cJSON_AddStringToObject(o, "kind", kind_names[k->kind]);
                cJSON_AddStringToObject(o, "name", k->name);
                cJSON_AddStringToObject(o, "kept", k->kept);
                cJSON_AddStringToObject(o, "hidden", k->dropped);
                cJSON_AddItemToArray(arr, o);
        }
        return arr;
}
