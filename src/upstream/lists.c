/* SPDX-License-Identifier: MIT */
/*
 * The server's tools, prompts, resources and templates, fetched page by page
 * (at most UPSTREAM_LIST_MAX_PAGES) after the handshake and again on its
 * list_changed notifications, when the owner keeps lists (fetch_lists).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "mcp-limits.h"
#include "proto/jsonrpc.h"
#include "upstream/upstream-internal.h"

const struct list_info list_info[_LIST_KIND_MAX] = {
    [LIST_TOOLS] = {"tools/list", "tools", "name", "notifications/tools/list_changed"},
    [LIST_PROMPTS] = {"prompts/list", "prompts", "name", "notifications/prompts/list_changed"},
    [LIST_RESOURCES] = {"resources/list", "resources", "uri",
                        "notifications/resources/list_changed"},
    [LIST_TEMPLATES] = {"resources/templates/list", "resourceTemplates", "uriTemplate",
                        "notifications/resources/list_changed"},
};

static int fetch_list_page(struct upstream *u, enum list_kind k, const char *cursor);

/* One list fetch finished (all pages, or given up): install it, then maybe become ready. */
static void list_fetch_finished(struct upstream *u, enum list_kind k, bool ok)
{
        if (ok) {
                cJSON_Delete(u->lists[k]);
                u->lists[k] = u->fetching[k];
                upstream_log(u, LOG_INFO, "%d %s", cJSON_GetArraySize(u->lists[k]),
                             list_info[k].key);
        } else
                cJSON_Delete(u->fetching[k]);
        u->fetching[k] = NULL;
        if (u->state == UPSTREAM_STARTING) {
                for (int i = 0; i < _LIST_KIND_MAX; i++)
                        if (u->fetching[i])
                                return;
                upstream_become_ready(u);
        } else if (ok && u->state == UPSTREAM_READY)
                upstream_lists_changed(u);
}

static void list_page_done(struct upstream *u, struct pending *p, cJSON *msg)
{
        enum list_kind k = p->list_kind;
        const struct list_info *li = &list_info[k];
        const cJSON *result, *items, *next, *t;

        if (!u->fetching[k])
                return;
        if (!msg) {
                /* Failed or timed out: keep whatever we had. */
                list_fetch_finished(u, k, false);
                return;
        }
        result = json_get(msg, "result");
        if (!cJSON_IsObject(result)) {
                upstream_log(u, LOG_WARNING, "%s failed: %s, keeping the previous list", li->method,
                             json_get(msg, "error") ? "error response" : "no result");
                list_fetch_finished(u, k, false);
                return;
        }
        items = json_get(result, li->key);
        if (cJSON_IsArray(items))
                cJSON_ArrayForEach(t, items)
                {
                        if (!cJSON_IsObject(t) || !json_get_string(t, li->id_field)) {
                                upstream_log(u, LOG_WARNING, "%s: entry without \"%s\", ignoring",
                                             li->method, li->id_field);
                                continue;
                        }
                        cJSON_AddItemToArray(u->fetching[k], cJSON_Duplicate(t, true));
                }
        next = json_get(result, "nextCursor");
        if (cJSON_IsString(next) && *next->valuestring) {
                if (++u->pages[k] >= UPSTREAM_LIST_MAX_PAGES)
                        upstream_log(u, LOG_WARNING, "%s: more than %d pages, keeping what we have",
                                     li->method, UPSTREAM_LIST_MAX_PAGES);
                else if (fetch_list_page(u, k, next->valuestring) >= 0)
                        return;
        }
        list_fetch_finished(u, k, true);
}

static int fetch_list_page(struct upstream *u, enum list_kind k, const char *cursor)
{
        cJSON *params = NULL;

        if (cursor) {
                params = cJSON_CreateObject();
                if (!params || !cJSON_AddStringToObject(params, "cursor", cursor)) {
                        cJSON_Delete(params);
                        return -ENOMEM;
                }
        }
        return pending_internal_request(u, list_info[k].method, params, list_page_done,
                                        upstream_request_timeout_usec(u), k);
}

/* (Re)fetch one list, all pages. Returns 0 also when the server does not have it. */
int lists_refresh(struct upstream *u, enum list_kind k)
{
        int r;

        if (!u->supports[k] || !u->fetch_lists)
                return 0;
        if (u->fetching[k])
                return 0; /* already fetching: that fetch will see the new list */
        u->fetching[k] = cJSON_CreateArray();
        if (!u->fetching[k])
                return -ENOMEM;
        u->pages[k] = 0;
        r = fetch_list_page(u, k, NULL);
        if (r < 0) {
                cJSON_Delete(u->fetching[k]);
                u->fetching[k] = NULL;
        }
        return r;
}
