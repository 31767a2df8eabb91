/* SPDX-License-Identifier: MIT */
/*
 * The aggregated tool catalogue. With one upstream, names pass unchanged;
 * with several, each is "<server>_<tool>". Two upstream tools that end up
 * with the same client-visible name are a collision: the first in config
 * order keeps the name, the other is not offered, and both are reported
 * in the log and in the state (/health), never silently shadowed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/hub.h"
#include "json.h"
#include "log.h"
#include "upstream/upstream.h"

struct collision {
        char *name;
        char *kept;    /* server that keeps it */
        char *dropped; /* server whose tool is hidden */
};

struct catalogue {
        struct catalogue_tool *tools;
        size_t n_tools;
        struct hmap by_name; /* hash(name) -> index + 1 */
        struct collision *collisions;
        size_t n_collisions;
};

static void catalogue_clear(struct catalogue *c)
{
        for (size_t i = 0; i < c->n_tools; i++)
                free(c->tools[i].name);
        free(c->tools);
        for (size_t i = 0; i < c->n_collisions; i++) {
                free(c->collisions[i].name);
                free(c->collisions[i].kept);
                free(c->collisions[i].dropped);
        }
        free(c->collisions);
        hmap_done(&c->by_name);
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

static const struct catalogue_tool *lookup(const struct catalogue *c, const char *name)
{
        uintptr_t idx = (uintptr_t)hmap_get(&c->by_name, hash_string(name));
        /* Names with equal hashes: fall back to a scan (vanishingly rare). */
        if (idx && strcmp(c->tools[idx - 1].name, name) == 0)
                return &c->tools[idx - 1];
        if (idx)
                for (size_t i = 0; i < c->n_tools; i++)
                        if (strcmp(c->tools[i].name, name) == 0)
                                return &c->tools[i];
        return NULL;
}

static int add_collision(struct catalogue *c, const char *name, const char *kept,
                         const char *dropped)
{
        struct collision *n = realloc(c->collisions, (c->n_collisions + 1) * sizeof(*n));

        if (!n)
                return -ENOMEM;
        c->collisions = n;
        n[c->n_collisions] = (struct collision){strdup(name), strdup(kept), strdup(dropped)};
        c->n_collisions++;
        return 0;
}

int catalogue_rebuild(struct hub *h)
{
        struct catalogue *c = h->catalogue, fresh = {};
        size_t total = 0;

        if (!c) {
                c = h->catalogue = calloc(1, sizeof(*c));
                if (!c)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < h->n_upstreams; i++) {
                struct upstream *u = h->upstreams[i];
                if (u->state == UPSTREAM_READY && u->tools)
                        total += (size_t)cJSON_GetArraySize(u->tools);
        }
        fresh.tools = calloc(total ? total : 1, sizeof(*fresh.tools));
        if (!fresh.tools)
                return -ENOMEM;
        for (size_t i = 0; i < h->n_upstreams; i++) {
                struct upstream *u = h->upstreams[i];
                const cJSON *t;

                if (u->state != UPSTREAM_READY || !u->tools)
                        continue;
                cJSON_ArrayForEach(t, u->tools)
                {
                        const char *tn = json_get_string(t, "name");
                        const struct catalogue_tool *prev;
                        char *name;

                        if (!tn)
                                continue;
                        if (h->prefix_names) {
                                if (asprintf(&name, "%s_%s", u->name, tn) < 0)
                                        name = NULL;
                        } else
                                name = strdup(tn);
                        if (!name)
                                goto oom;
                        prev = lookup(&fresh, name);
                        if (prev) {
                                log_warning("tool name collision: '%s' from upstream '%s' "
                                            "clashes with upstream '%s'; keeping '%s'",
                                            name, u->name, prev->upstream->name,
                                            prev->upstream->name);
                                if (add_collision(&fresh, name, prev->upstream->name, u->name) <
                                    0) {
                                        free(name);
                                        goto oom;
                                }
                                free(name);
                                continue;
                        }
                        fresh.tools[fresh.n_tools] =
                            (struct catalogue_tool){.name = name, .upstream = u, .tool = t};
                        fresh.n_tools++;
                        if (hmap_put(&fresh.by_name, hash_string(name),
                                     (void *)(uintptr_t)fresh.n_tools) < 0)
                                goto oom;
                }
        }
        catalogue_clear(c);
        *c = fresh;
        return 0;
oom:
        catalogue_clear(&fresh);
        return -ENOMEM;
}

const struct catalogue_tool *catalogue_find_tool(struct hub *h, const char *name)
{
        if (!h->catalogue || !name)
                return NULL;
        return lookup(h->catalogue, name);
}

size_t catalogue_n_tools(struct hub *h)
{
        return h->catalogue ? h->catalogue->n_tools : 0;
}

cJSON *catalogue_tools_json(struct hub *h)
{
        _cleanup_json_ cJSON *arr = cJSON_CreateArray();

        if (!arr)
                return NULL;
        for (size_t i = 0; h->catalogue && i < h->catalogue->n_tools; i++) {
                const struct catalogue_tool *ct = &h->catalogue->tools[i];
                cJSON *t = cJSON_Duplicate(ct->tool, true);
                if (!t || !json_set(t, "name", cJSON_CreateString(ct->name))) {
                        cJSON_Delete(t);
                        return NULL;
                }
                cJSON_AddItemToArray(arr, t);
        }
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
                cJSON_AddStringToObject(o, "kind", "tool");
                cJSON_AddStringToObject(o, "name", k->name);
                cJSON_AddStringToObject(o, "kept", k->kept);
                cJSON_AddStringToObject(o, "hidden", k->dropped);
                cJSON_AddItemToArray(arr, o);
        }
        return arr;
}
