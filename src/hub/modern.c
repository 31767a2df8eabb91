/* SPDX-License-Identifier: MIT */
/*
 * 2026-07-28 ("modern") requests: stateless, each with its own _meta, served beside the 2025
 * sessions over the same 2025-era upstream instances (reference/mcp-2026-bridging.md). The
 * front checked the headers and _meta (src/front/modern.c); here each request gets a session
 * of its own for as long as it runs (session_new_modern(): its client, the capabilities and
 * log level of its _meta), which routes it like a session's request and ends with its
 * exchange. The client's modern requests share instances (its own, for isolated servers),
 * apart from its sessions'.
 *
 * The hub answers server/discover from its catalogue, and dresses every result for the
 * modern wire: resultType, ttlMs and cacheScope where caching applies, the hub's serverInfo
 * in _meta; an upstream's -32002 (resource not found) becomes -32602, and codes of the
 * range the 2026 revision reserves (-32020 to -32099) become -32603 with the original kept.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/hub.h"
#include "json.h"
#include "log.h"
#include "mcp-limits.h"
#include "proto/jsonrpc.h"
#include "proto/mcp-header.h"

static void modern_error(struct conn *c, int status, const cJSON *id, int code, cJSON *data,
                         const char *message)
{
        c->hub->n_errors++;
        log_notice("client '%s': %s request refused: %s", c->env.client, MCP_PROTOCOL_MODERN,
                   message);
        (void)conn_send_error(c, status, jsonrpc_error_new(id, code, message, data));
}

static cJSON *server_info_json(void)
{
        cJSON *o = cJSON_CreateObject();

        if (o && (!cJSON_AddStringToObject(o, "name", "mcp-proxy") ||
                  !cJSON_AddStringToObject(o, "version", VERSION))) {
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}

/* What a result's _meta says of us, added to any _meta it has. */
static void add_server_info(cJSON *result)
{
        cJSON *meta = json_get(result, "_meta");

        if (!meta)
                meta = cJSON_AddObjectToObject(result, "_meta");
        if (cJSON_IsObject(meta) && !json_get(meta, MCP_META_SERVER_INFO))
                cJSON_AddItemToObject(meta, MCP_META_SERVER_INFO, server_info_json());
}

/* Methods whose complete results carry caching hints (server/utilities/caching). */
static bool cacheable(const char *method)
{
        static const char *const m[] = {
            "server/discover",          "tools/list",    "prompts/list", "resources/list",
            "resources/templates/list", "resources/read"};

        for (size_t i = 0; method && i < ELEMENTSOF(m); i++)
                if (strcmp(method, m[i]) == 0)
                        return true;
        return false;
}

/* The caching hints: lists are the same for every client unless the users file filters
 * them; a read may hold anything of the client's. */
static void add_cache_hints(struct hub *h, cJSON *result, const char *method)
{
        bool read = strcmp(method, "resources/read") == 0;

        if (!json_get(result, "ttlMs"))
                cJSON_AddNumberToObject(result, "ttlMs", read ? 0 : MODERN_LIST_TTL_MS);
        if (!json_get(result, "cacheScope"))
                cJSON_AddStringToObject(result, "cacheScope",
                                        read || h->users.path ? "private" : "public");
}

void modern_outgoing(struct hub *h, const struct session *s, cJSON *msg)
{
        cJSON *result = json_get(msg, "result");

        if (!cJSON_IsObject(result))
                return;
        if (!json_get(result, "resultType"))
                cJSON_AddStringToObject(result, "resultType", "complete");
        if (strcmp(json_get_string(result, "resultType"), "complete") == 0 &&
            cacheable(s->modern_method))
                add_cache_hints(h, result, s->modern_method);
        if (s->modern_method && strcmp(s->modern_method, "tools/list") == 0) {
                cJSON *t;
                /* 2025's Tool.execution (tasks) is not of this revision. */
                cJSON_ArrayForEach(t, json_get(result, "tools"))
                    cJSON_DeleteItemFromObjectCaseSensitive(t, "execution");
        }
        add_server_info(result);
}

void modern_upstream_answer(struct hub *h, const struct target *t, cJSON *msg)
{
        struct session *s = t->session[0] ? session_get(h, t->session) : NULL;
        cJSON *err = json_get(msg, "error"), *code, *data;
        int c;

        int64_t n;

        if (!s || !s->modern || !cJSON_IsObject(err) ||
            !json_int64(code = json_get(err, "code"), &n) || n < INT32_MIN || n > INT32_MAX)
                return;
        c = (int)n;
        if (c == -32002) {
                /* 2025's "resource not found" is -32602 with data.uri now. */
                cJSON_SetNumberValue(code, JSONRPC_INVALID_PARAMS);
        } else if (c <= -32020 && c >= -32099) {
                /* Reserved for the revision's own meanings: not the server's to use. */
                data = json_get(err, "data");
                if (!cJSON_IsObject(data)) {
                        cJSON_DeleteItemFromObjectCaseSensitive(err, "data");
                        data = cJSON_AddObjectToObject(err, "data");
                }
                if (data)
                        cJSON_AddNumberToObject(data, "upstreamCode", c);
                cJSON_SetNumberValue(code, JSONRPC_INTERNAL_ERROR);
        }
}

/* ---------------------------------------------------------------- server/discover */

static cJSON *discover_capabilities(struct hub *h)
{
        cJSON *caps = cJSON_CreateObject(), *o;
        bool subscribe = false, completions = false, logging = false;

        if (!caps)
                return NULL;
        for (size_t i = 0; i < h->n_servers; i++) {
                const struct upstream *u = h->servers[i]->hub_inst->u;
                subscribe = subscribe || u->can_subscribe;
                completions = completions || u->has_completions;
                logging = logging || u->has_logging;
        }
        /* The hub aggregates and diffs the lists itself: they change, empty or not. */
        o = cJSON_AddObjectToObject(caps, "tools");
        cJSON_AddTrueToObject(o, "listChanged");
        o = cJSON_AddObjectToObject(caps, "prompts");
        cJSON_AddTrueToObject(o, "listChanged");
        o = cJSON_AddObjectToObject(caps, "resources");
        cJSON_AddTrueToObject(o, "listChanged");
        if (subscribe)
                cJSON_AddTrueToObject(o, "subscribe");
        if (completions)
                cJSON_AddObjectToObject(caps, "completions");
        if (logging)
                cJSON_AddObjectToObject(caps, "logging");
        return caps;
}

static void handle_discover(struct conn *c, const cJSON *id)
{
        struct hub *h = c->hub;
        _cleanup_json_ cJSON *result = cJSON_CreateObject();
        cJSON *v, *ins;

        if (!result || !(v = cJSON_AddArrayToObject(result, "supportedVersions")))
                goto oom;
        for (size_t i = 0; mcp_protocol_all_versions[i]; i++)
                cJSON_AddItemToArray(v, cJSON_CreateString(mcp_protocol_all_versions[i]));
        if (!cJSON_AddItemToObject(result, "capabilities", discover_capabilities(h)))
                goto oom;
        ins = hub_instructions_json(h);
        if (ins)
                cJSON_AddItemToObject(result, "instructions", ins);
        cJSON_AddStringToObject(result, "resultType", "complete");
        add_cache_hints(h, result, "server/discover");
        add_server_info(result);
        (void)conn_send_json(c, 200, NULL, jsonrpc_result_new(id, TAKE_PTR(result)));
        return;
oom:
        modern_error(c, 500, id, JSONRPC_INTERNAL_ERROR, NULL, "Out of memory");
}

/* ---------------------------------------------------------------- Mcp-Param-{Name} */

/* A tools/call's arguments whose schema names a header (x-mcp-header) must come with that
 * header, and the same value (streamable-http §6.5). 0, or answered (-1). */
static int check_param_headers(struct conn *c, const cJSON *id, const cJSON *params)
{
        const char *name = json_get_string(params, "name");
        const struct catalogue_entry *e = name ? catalogue_find(c->hub, LIST_TOOLS, name) : NULL;
        const cJSON *props, *p, *args = json_get(params, "arguments");
        char msg[300];

        if (!e)
                return 0; /* the router says it is unknown */
        props = json_get(json_get(e->obj, "inputSchema"), "properties");
        cJSON_ArrayForEach(p, props)
        {
                const char *hname = cJSON_IsObject(p) ? json_get_string(p, "x-mcp-header") : NULL;
                const cJSON *arg = cJSON_IsObject(args) ? json_get(args, p->string) : NULL;
                const char *raw = NULL;
                _cleanup_free_ char *value = NULL, *want = NULL, *lower = NULL;

                if (!hname)
                        continue;
                lower = strdup(hname);
                if (!lower)
                        return -1;
                for (char *q = lower; *q; q++)
                        *q = (char)(*q >= 'A' && *q <= 'Z' ? *q - 'A' + 'a' : *q);
                raw = c->env.hparams ? json_get_string(c->env.hparams, lower) : NULL;
                if (!arg || cJSON_IsNull(arg)) {
                        if (!raw)
                                continue;
                        snprintf(msg, sizeof(msg),
                                 "Header mismatch: Mcp-Param-%.64s is sent without the "
                                 "argument '%.64s'",
                                 hname, p->string);
                        modern_error(c, 400, id, MCP_ERROR_HEADER_MISMATCH, NULL, msg);
                        return -1;
                }
                if (!raw) {
                        snprintf(msg, sizeof(msg),
                                 "Header mismatch: the argument '%.64s' needs the header "
                                 "Mcp-Param-%.64s",
                                 p->string, hname);
                        modern_error(c, 400, id, MCP_ERROR_HEADER_MISMATCH, NULL, msg);
                        return -1;
                }
                want = cJSON_IsString(arg) ? strdup(arg->valuestring) : cJSON_PrintUnformatted(arg);
                if (!want || mcp_header_value_decode(raw, strlen(raw), &value) < 0 ||
                    strcmp(value, want) != 0) {
                        snprintf(msg, sizeof(msg),
                                 "Header mismatch: Mcp-Param-%.64s does not match the argument "
                                 "'%.64s'",
                                 hname, p->string);
                        modern_error(c, 400, id, MCP_ERROR_HEADER_MISMATCH, NULL, msg);
                        return -1;
                }
        }
        return 0;
}

/* ---------------------------------------------------------------- dispatch */

/* The _meta keys of the revision are the hub's: the upstream gets the rest (progressToken,
 * the client's own keys). */
static void strip_meta(cJSON *params)
{
        cJSON *meta = json_get(params, "_meta"), *k, *next;

        for (k = cJSON_IsObject(meta) ? meta->child : NULL; k; k = next) {
                next = k->next;
                if (k->string && strncmp(k->string, "io.modelcontextprotocol/", 24) == 0)
                        cJSON_DeleteItemFromObjectCaseSensitive(meta, k->string);
        }
        if (cJSON_IsObject(meta) && !meta->child)
                cJSON_DeleteItemFromObjectCaseSensitive(params, "_meta");
}

void hub_route_modern(struct conn *c, cJSON *msg)
{
        _cleanup_json_ cJSON *m = msg;
        struct hub *h = c->hub;
        const char *method = json_get_string(m, "method");
        const cJSON *id = json_get(m, "id");
        cJSON *params = json_get(m, "params");
        const cJSON *meta = cJSON_IsObject(params) ? json_get(params, "_meta") : NULL;
        const cJSON *caps = cJSON_IsObject(meta) ? json_get(meta, MCP_META_CLIENT_CAPS) : NULL;
        const char *level = cJSON_IsObject(meta) ? json_get_string(meta, MCP_META_LOG_LEVEL) : NULL;
        const cJSON *responses;
        struct session *s;
        char err[300];
        int l = -1;

        switch (jsonrpc_classify(m)) {
        case JSONRPC_NOTIFICATION:
                /* Nothing of the revision's needs one: a closed stream is the cancellation. */
                log_debug("client '%s': %s notification '%s' ignored", c->env.client,
                          MCP_PROTOCOL_MODERN, method);
                (void)conn_send_simple(c, WIRE_REPLY_ACCEPTED);
                return;
        case JSONRPC_RESPONSE:
                modern_error(c, 400, NULL, JSONRPC_INVALID_REQUEST, NULL,
                             "Invalid Request: no request of the server's awaits an answer");
                return;
        default:
                break;
        }
        if (!mcp_modern_method(method)) {
                snprintf(err, sizeof(err), "Method not found: '%.200s'", method);
                modern_error(c, 404, id, JSONRPC_METHOD_NOT_FOUND, NULL, err);
                return;
        }
        if (!cJSON_IsObject(caps)) {
                modern_error(c, 400, id, JSONRPC_INVALID_PARAMS, NULL,
                             "Invalid params: _meta needs the client capabilities");
                return;
        }
        if (strcmp(method, "server/discover") == 0) {
                handle_discover(c, id);
                return;
        }
        if (strcmp(method, "subscriptions/listen") == 0) {
                listen_request(c, TAKE_PTR(m), caps); /* listen.c */
                return;
        }
        if (strcmp(method, "tools/call") == 0 && check_param_headers(c, id, params) < 0)
                return;
        if (level && (l = mcp_level_from_string(level)) < 0) {
                snprintf(err, sizeof(err), "Invalid params: unknown logLevel '%.64s'", level);
                modern_error(c, 400, id, JSONRPC_INVALID_PARAMS, NULL, err);
                return;
        }
        /* A retry of a request that needed input goes on where it stopped. */
        if (mrtr_resume(c, m, caps, l))
                return;
        responses = json_get(params, "inputResponses");
        if (responses && !cJSON_IsObject(responses)) {
                modern_error(c, 200, id, JSONRPC_INVALID_PARAMS, NULL,
                             "Invalid params: inputResponses must be an object");
                return;
        }
        s = session_new_modern(h, c->env.client, c->id, caps);
        if (!s && errno == ENOSPC) {
                route_refuse_busy(c, id);
                return;
        }
        if (!s || !(s->modern_method = strdup(method))) {
                if (s)
                        session_free(h, s);
                modern_error(c, 503, id, MCP_ERROR_CONNECTION_CLOSED, NULL,
                             "Service unavailable: out of memory");
                return;
        }
        s->log_level = l;
        s->request_id = cJSON_Duplicate(id, true);
        mrtr_params_digest(method, params, s->request_digest);
        if (cJSON_IsObject(params)) {
                const char *name = json_get_string(params, "name");
                if (!name)
                        name = json_get_string(params, "uri");
                s->request_name = name ? strdup(name) : NULL;
                s->input_responses =
                    cJSON_DetachItemFromObjectCaseSensitive(params, "inputResponses");
                cJSON_DeleteItemFromObjectCaseSensitive(params, "requestState");
        }
        snprintf(c->modern, sizeof(c->modern), "%s", s->id);
        c->env.session = c->modern;
        /* Its logLevel may ask the servers for more than anyone else does, while it runs. */
        if (l >= 0)
                loglevel_recompute(h, NULL);
        strip_meta(params);
        route_request(c, s, TAKE_PTR(m));
}

void modern_exchange_end(struct hub *h, struct conn *c, bool gone)
{
        struct session *s = c->modern[0] ? session_get(h, c->modern) : NULL;

        c->modern[0] = 0;
        if (!s || !s->modern)
                return;
        /* Its round ended with input_required: the call waits for the retry. */
        if (mrtr_suspended(s))
                return;
        /* Its stream closed before the answer: that is how a modern client cancels. */
        if (gone)
                hub_cancel_session_calls(h, s, "the client closed the request's stream");
        session_free(h, s);
}
