/* SPDX-License-Identifier: MIT */
/*
 * The router: every client message from a front lands in
 * hub_route_message(). The hub answers the session-level methods itself
 * (initialize, ping, tools/list) and sends tools/call through
 * route_check(), the one choke point where access rules, rate limits,
 * audit and metrics plug in, before any upstream sees it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/hub.h"
#include "json.h"
#include "log.h"
#include "proto/jsonrpc.h"
#include "upstream/upstream.h"

#define USEC_PER_SEC 1000000ULL

static void reply_error(struct conn *c, const cJSON *id, int code, const char *message)
{
        c->hub->n_errors++;
        (void)conn_send_json(c, 200, NULL, jsonrpc_error_new(id, code, message, NULL));
}

static void http_error(struct conn *c, int status, int code, const char *message)
{
        c->hub->n_errors++;
        (void)conn_send_error(c, status, jsonrpc_error_new(NULL, code, message, NULL));
}

/* The session a request names, checked against the client that sends it. */
static struct session *find_session(struct conn *c)
{
        struct session *s = session_get(c->hub, c->env.session);

        if (!s)
                return NULL;
        /* An id presented by another client is, for that client, unknown. */
        if (strcmp(s->client, c->env.client) != 0) {
                log_warning("client '%s' presented a session id of client '%s', refusing",
                            c->env.client, s->client);
                return NULL;
        }
        s->last_used_usec = now_usec();
        return s;
}

/* The choke point: every client request bound for an upstream passes here. */
static int route_check(struct hub *h, const char *client, struct session *s, struct upstream *u,
                       const char *method, const char *name)
{
        h->n_requests++;
        log_debug("client '%s' %s '%s' on upstream '%s'", client, method, name ? name : "",
                  u->name);
        return 0;
}

static void handle_initialize(struct conn *c, cJSON *msg)
{
        const cJSON *id = json_get(msg, "id");
        const cJSON *params = json_get(msg, "params");
        const char *asked = params ? json_get_string(params, "protocolVersion") : NULL;
        const char *version = mcp_protocol_supported(asked) ? asked : MCP_PROTOCOL_LATEST;
        _cleanup_json_ cJSON *result = NULL;
        struct session *s;
        cJSON *caps, *tools, *info;

        if (!cJSON_IsObject(params) || !asked) {
                reply_error(c, id, JSONRPC_INVALID_PARAMS,
                            "initialize needs params.protocolVersion");
                return;
        }
        s = session_new(c->hub, c->env.client, version);
        if (!s) {
                http_error(c, 503, MCP_ERROR_CONNECTION_CLOSED,
                           errno == EUSERS ? "Too many sessions" : "Out of memory");
                return;
        }
        s->client_capabilities = cJSON_Duplicate(json_get(params, "capabilities"), true);
        s->client_info = cJSON_Duplicate(json_get(params, "clientInfo"), true);

        result = cJSON_CreateObject();
        if (!result)
                goto oom;
        cJSON_AddStringToObject(result, "protocolVersion", version);
        caps = cJSON_AddObjectToObject(result, "capabilities");
        tools = caps ? cJSON_AddObjectToObject(caps, "tools") : NULL;
        if (!tools || !cJSON_AddTrueToObject(tools, "listChanged"))
                goto oom;
        info = cJSON_AddObjectToObject(result, "serverInfo");
        if (!info || !cJSON_AddStringToObject(info, "name", "mcp-proxy") ||
            !cJSON_AddStringToObject(info, "version", VERSION))
                goto oom;
        log_info("client '%s' opened session %.8s... (protocol %s%s%s)", c->env.client, s->id,
                 version, asked && strcmp(asked, version) != 0 ? ", asked for " : "",
                 asked && strcmp(asked, version) != 0 ? asked : "");
        (void)conn_send_json(c, 200, s->id, jsonrpc_result_new(id, TAKE_PTR(result)));
        return;
oom:
        session_free(c->hub, s);
        http_error(c, 500, JSONRPC_INTERNAL_ERROR, "Out of memory");
}

static void handle_tools_list(struct conn *c, cJSON *msg)
{
        const cJSON *id = json_get(msg, "id");
        const cJSON *params = json_get(msg, "params");
        const cJSON *cursor = params ? json_get(params, "cursor") : NULL;
        cJSON *result, *tools;

        /* One page holds everything: no cursor we issued can be presented. */
        if (cursor && !cJSON_IsNull(cursor)) {
                reply_error(c, id, JSONRPC_INVALID_PARAMS, "Invalid cursor");
                return;
        }
        tools = catalogue_tools_json(c->hub);
        result = cJSON_CreateObject();
        if (!tools || !result || !cJSON_AddItemToObject(result, "tools", tools)) {
                cJSON_Delete(tools);
                cJSON_Delete(result);
                reply_error(c, id, JSONRPC_INTERNAL_ERROR, "Out of memory");
                return;
        }
        (void)conn_send_json(c, 200, NULL, jsonrpc_result_new(id, result));
}

static void handle_tools_call(struct conn *c, struct session *s, cJSON *msg)
{
        struct hub *h = c->hub;
        const cJSON *id = json_get(msg, "id");
        cJSON *params = json_get(msg, "params");
        const char *name = params ? json_get_string(params, "name") : NULL;
        const struct catalogue_tool *t;
        _cleanup_json_ cJSON *up = NULL;
        const char *orig;
        char err[512];
        int r;

        if (!name) {
                reply_error(c, id, JSONRPC_INVALID_PARAMS, "tools/call needs params.name");
                return;
        }
        t = catalogue_find_tool(h, name);
        if (!t) {
                /* Say why when we know: the server that would own it is down. */
                for (size_t i = 0; h->prefix_names && i < h->n_upstreams; i++) {
                        struct upstream *u = h->upstreams[i];
                        size_t l = strlen(u->name);
                        if (strncmp(name, u->name, l) == 0 && name[l] == '_' &&
                            u->state != UPSTREAM_READY) {
                                snprintf(err, sizeof(err),
                                         "Upstream '%s' is not available (state: %s)", u->name,
                                         upstream_state_to_string(u->state));
                                reply_error(c, id, MCP_ERROR_CONNECTION_CLOSED, err);
                                return;
                        }
                }
                snprintf(err, sizeof(err), "Unknown tool: '%s'", name);
                reply_error(c, id, JSONRPC_INVALID_PARAMS, err);
                return;
        }
        orig = json_get_string(t->tool, "name");
        r = route_check(h, c->env.client, s, t->upstream, "tools/call", name);
        if (r < 0) {
                reply_error(c, id, JSONRPC_INVALID_REQUEST, "Not allowed");
                return;
        }
        up = cJSON_Duplicate(msg, true);
        if (!up || !json_set(json_get(up, "params"), "name", cJSON_CreateString(orig))) {
                reply_error(c, id, JSONRPC_INTERNAL_ERROR, "Out of memory");
                return;
        }
        r = upstream_call(t->upstream, up, id, c->id, s->id, "tools/call");
        if (r < 0) {
                snprintf(err, sizeof(err), "Upstream '%s' is not available (%s)", t->upstream->name,
                         r == -EAGAIN ? upstream_state_to_string(t->upstream->state)
                                      : strerror(-r));
                reply_error(c, id, MCP_ERROR_CONNECTION_CLOSED, err);
        }
}

void hub_route_message(struct conn *c, cJSON *msg)
{
        _cleanup_json_ cJSON *m = msg;
        enum jsonrpc_kind kind = jsonrpc_classify(m);
        const char *method = json_get_string(m, "method");
        struct session *s = NULL;

        if (kind < 0) {
                http_error(c, 400, JSONRPC_INVALID_REQUEST, "Invalid Request: not JSON-RPC 2.0");
                return;
        }
        if (kind == JSONRPC_REQUEST && strcmp(method, "initialize") == 0) {
                handle_initialize(c, m);
                return;
        }
        if (!c->env.session) {
                http_error(c, 400, MCP_ERROR_CONNECTION_CLOSED,
                           "Bad Request: Mcp-Session-Id header is required");
                return;
        }
        s = find_session(c);
        if (!s) {
                http_error(c, 404, MCP_ERROR_REQUEST_TIMEOUT, "Session not found");
                return;
        }
        switch (kind) {
        case JSONRPC_NOTIFICATION:
                if (strcmp(method, "notifications/initialized") == 0)
                        s->initialized = true;
                else
                        log_debug("client '%s': notification '%s'", c->env.client, method);
                (void)conn_send_simple(c, "accepted");
                return;
        case JSONRPC_RESPONSE:
                log_debug("client '%s': response to a request we did not send, ignoring",
                          c->env.client);
                (void)conn_send_simple(c, "accepted");
                return;
        case JSONRPC_REQUEST:
                break;
        default:
                return;
        }
        if (strcmp(method, "ping") == 0)
                (void)conn_send_json(c, 200, NULL,
                                     jsonrpc_result_new(json_get(m, "id"), cJSON_CreateObject()));
        else if (strcmp(method, "tools/list") == 0)
                handle_tools_list(c, m);
        else if (strcmp(method, "tools/call") == 0)
                handle_tools_call(c, s, m);
        else {
                char err[256];
                snprintf(err, sizeof(err), "Method not found: '%.200s'", method);
                reply_error(c, json_get(m, "id"), JSONRPC_METHOD_NOT_FOUND, err);
        }
}

void hub_route_get(struct conn *c)
{
        struct session *s;
        struct conn *old;

        if (!c->env.session) {
                http_error(c, 400, MCP_ERROR_CONNECTION_CLOSED,
                           "Bad Request: Mcp-Session-Id header is required");
                return;
        }
        s = find_session(c);
        if (!s) {
                http_error(c, 404, MCP_ERROR_REQUEST_TIMEOUT, "Session not found");
                return;
        }
        old = hub_conn_get(c->hub, s->get_conn_id);
        if (old) {
                http_error(c, 409, MCP_ERROR_CONNECTION_CLOSED,
                           "Conflict: this session already has a GET stream");
                return;
        }
        c->session_id = strdup(s->id);
        if (!c->session_id) {
                hub_conn_close(c);
                return;
        }
        s->get_conn_id = c->id;
        (void)conn_send_simple(c, "sse");
}

void hub_route_delete(struct conn *c)
{
        struct session *s;
        struct conn *stream;

        if (!c->env.session) {
                http_error(c, 400, MCP_ERROR_CONNECTION_CLOSED,
                           "Bad Request: Mcp-Session-Id header is required");
                return;
        }
        s = find_session(c);
        if (!s) {
                http_error(c, 404, MCP_ERROR_REQUEST_TIMEOUT, "Session not found");
                return;
        }
        stream = hub_conn_get(c->hub, s->get_conn_id);
        if (stream)
                (void)conn_send_simple(stream, "end");
        log_info("client '%s' ended session %.8s...", s->client, s->id);
        session_free(c->hub, s);
        (void)conn_send_simple(c, "ok");
}

/* Tell every session with a GET stream that the tool list changed. */
static void notify_list_changed(struct hub *h)
{
        size_t i = 0;
        void *v;

        while (hmap_next(&h->sessions, &i, NULL, &v)) {
                struct session *s = v;
                cJSON *n;
                if (!s->get_conn_id)
                        continue;
                n = jsonrpc_notification_new("notifications/tools/list_changed", NULL);
                if (n && hub_conn_deliver(h, s->get_conn_id, n, false) == -ENOTCONN)
                        s->get_conn_id = 0;
        }
}

static uint64_t catalogue_fingerprint(struct hub *h)
{
        _cleanup_json_ cJSON *tools = catalogue_tools_json(h);
        _cleanup_cjson_str_ char *s = tools ? cJSON_PrintUnformatted(tools) : NULL;

        return s ? hash_string(s) : 0;
}

static uint64_t last_fingerprint;

void hub_upstream_catalogue_changed(struct hub *h, struct upstream *u)
{
        uint64_t fp;

        if (catalogue_rebuild(h) < 0) {
                log_error("out of memory rebuilding the tool catalogue");
                return;
        }
        fp = catalogue_fingerprint(h);
        if (fp != last_fingerprint) {
                last_fingerprint = fp;
                notify_list_changed(h);
        }
}

cJSON *hub_state_json(struct hub *h)
{
        cJSON *o = cJSON_CreateObject(), *ups;

        if (!o)
                return NULL;
        cJSON_AddStringToObject(o, "service", "mcp-proxy-hub");
        cJSON_AddStringToObject(o, "version", VERSION);
        cJSON_AddNumberToObject(o, "uptime_seconds",
                                (double)((now_usec() - h->started_usec) / USEC_PER_SEC));
        if (h->config_path)
                cJSON_AddStringToObject(o, "config", h->config_path);
        ups = cJSON_AddArrayToObject(o, "upstreams");
        for (size_t i = 0; ups && i < h->n_upstreams; i++)
                (void)upstream_describe(h->upstreams[i], ups);
        cJSON_AddItemToObject(o, "collisions", catalogue_collisions_json(h));
        cJSON_AddNumberToObject(o, "tools", (double)catalogue_n_tools(h));
        cJSON_AddNumberToObject(o, "sessions", (double)sessions_count(h));
        cJSON_AddNumberToObject(o, "connections", (double)h->n_conns);
        cJSON_AddNumberToObject(o, "requests", (double)h->n_requests);
        cJSON_AddNumberToObject(o, "errors", (double)h->n_errors);
        return o;
}
