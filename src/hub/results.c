/* SPDX-License-Identifier: MIT */
/*
 * Results on their way to a client: with several servers, resource URIs a
 * server puts in a result (links, embedded resources, read contents) become
 * the client-visible ones, so the client can read them back through us.
 */
#include <stdlib.h>
#include <string.h>

#include "hub/hub.h"
#include "json.h"

static void rewrite_uri(struct hub *h, struct server *srv, cJSON *obj)
{
        const char *uri = cJSON_IsObject(obj) ? json_get_string(obj, "uri") : NULL;
        char *mapped = uri ? catalogue_uri_out(h, srv, uri) : NULL;

        if (mapped)
                json_set(obj, "uri", cJSON_CreateString(mapped));
        free(mapped);
}

static void rewrite_block(struct hub *h, struct server *srv, cJSON *block)
{
        const char *type = cJSON_IsObject(block) ? json_get_string(block, "type") : NULL;

        if (!type)
                return;
        if (strcmp(type, "resource_link") == 0)
                rewrite_uri(h, srv, block);
        else if (strcmp(type, "resource") == 0)
                rewrite_uri(h, srv, json_get(block, "resource"));
}

void hub_result_for_client(struct hub *h, struct server *srv, const char *method, cJSON *msg)
{
        cJSON *result = json_get(msg, "result"), *x;

        if (!h->prefix_names || !cJSON_IsObject(result) || !method)
                return;
        if (strcmp(method, "tools/call") == 0) {
                cJSON_ArrayForEach(x, json_get(result, "content")) rewrite_block(h, srv, x);
        } else if (strcmp(method, "prompts/get") == 0) {
                cJSON_ArrayForEach(x, json_get(result, "messages"))
                    rewrite_block(h, srv, json_get(x, "content"));
        } else if (strcmp(method, "resources/read") == 0) {
                cJSON_ArrayForEach(x, json_get(result, "contents")) rewrite_uri(h, srv, x);
        }
}
