/* SPDX-License-Identifier: MIT */
/*
 * One picture of the hub's state, as JSON: /health (authenticated), and
 * what the control socket and metrics will read. A client sees the
 * instances of its own client id only.
 */
#include "hub/hub.h"
#include "json.h"

cJSON *hub_state_json(struct hub *h, const char *client)
{
        cJSON *o = cJSON_CreateObject(), *ups;
        size_t instances = 0;

        if (!o)
                return NULL;
        cJSON_AddStringToObject(o, "service", "mcp-proxy-hub");
        cJSON_AddStringToObject(o, "version", VERSION);
        cJSON_AddNumberToObject(o, "uptime_seconds",
                                (double)((now_usec() - h->started_usec) / USEC_PER_SEC));
        if (h->config_path)
                cJSON_AddStringToObject(o, "config", h->config_path);
        if (h->reload_usec) {
                cJSON *r = cJSON_AddObjectToObject(o, "reload");
                if (r) {
                        cJSON_AddBoolToObject(r, "ok", !h->reload_error);
                        cJSON_AddNumberToObject(
                            r, "seconds_ago",
                            (double)((now_usec() - h->reload_usec) / USEC_PER_SEC));
                        if (h->reload_error)
                                cJSON_AddStringToObject(r, "error", h->reload_error);
                }
        }
        ups = cJSON_AddArrayToObject(o, "upstreams");
        for (size_t i = 0; ups && i < h->n_servers; i++) {
                cJSON *d = server_describe(h->servers[i], client);
                if (d)
                        cJSON_AddItemToArray(ups, d);
                instances += h->servers[i]->n_instances;
        }
        cJSON_AddItemToObject(o, "collisions", catalogue_collisions_json(h));
        cJSON_AddNumberToObject(o, "tools", (double)catalogue_count(h, LIST_TOOLS));
        cJSON_AddNumberToObject(o, "prompts", (double)catalogue_count(h, LIST_PROMPTS));
        cJSON_AddNumberToObject(o, "resources", (double)catalogue_count(h, LIST_RESOURCES));
        cJSON_AddNumberToObject(o, "resource_templates",
                                (double)catalogue_count(h, LIST_TEMPLATES));
        cJSON_AddNumberToObject(o, "instances", (double)instances);
        cJSON_AddNumberToObject(o, "sessions", (double)sessions_count(h));
        cJSON_AddNumberToObject(o, "connections", (double)h->n_conns);
        cJSON_AddNumberToObject(o, "requests", (double)h->n_requests);
        cJSON_AddNumberToObject(o, "errors", (double)h->n_errors);
        cJSON_AddItemToObject(o, "memory", memory_json(h));
        return o;
}
