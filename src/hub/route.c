/* SPDX-License-Identifier: MIT */
/*
 * The router: every client message from a front lands in
 * hub_route_message(), parsed once; the request itself is renamed in place
 * and handed on, never copied. The hub answers the session-level methods
 * itself (initialize, ping, the aggregated lists, logging/setLevel) and
 * sends the rest (tools/call, prompts/get, resources/read,
 * completion/complete, subscriptions) through route_check(), the one choke
 * point where access rules, rate limits, audit and metrics plug in, to the
 * instance of the server that serves the session (server.c).
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
#include "hub/cursor.h"

void route_reply(struct conn *c, cJSON *msg)
{
        struct target t = {.conn_id = c->id};
        struct session *s = session_get(c->hub, c->env.session);

        /* A legacy session's answers go on its SSE stream; the POST already got 202. */
        if (s && s->legacy)
                target_for_get(&t, s);
        else if (s && s->modern) /* dressed for its wire on the way (modern_outgoing()) */
                snprintf(t.session, sizeof(t.session), "%s", s->id);
        (void)hub_deliver(c->hub, &t, msg, true);
}

void route_reply_error(struct conn *c, const cJSON *id, int code, const char *message)
{
        c->hub->n_errors++;
        route_reply(c, jsonrpc_error_new(id, code, message, NULL));
}

static void reply_result(struct conn *c, const cJSON *id, cJSON *result)
{
        route_reply(c, jsonrpc_result_new(id, result));
}

/* An HTTP status with a JSON-RPC error, for the request id when there is one. */
static void http_error_for(struct conn *c, const cJSON *id, int status, int code,
                           const char *message)
{
        c->hub->n_errors++;
        (void)conn_send_error(c, status, jsonrpc_error_new(id, code, message, NULL));
}

static void http_error(struct conn *c, int status, int code, const char *message)
{
        http_error_for(c, NULL, status, code, message);
}

void route_refuse_busy(struct conn *c, const cJSON *id)
{
        cJSON *data = cJSON_CreateObject();

        if (data) {
                cJSON_AddStringToObject(data, "limit", "memory");
                cJSON_AddNumberToObject(data, "retryAfter", HUB_MEMORY_RETRY_AFTER_S);
        }
        c->hub->n_errors++;
        (void)conn_send_busy(c,
                             jsonrpc_error_new(id, MCP_PROXY_ERROR_LIMITED,
                                               "The proxy is short of memory: try again later",
                                               data),
                             HUB_MEMORY_RETRY_AFTER_S);
}

/* The session a request names, checked against the client that sends it. */
static struct session *find_session(struct conn *c)
{
        struct session *s = session_get(c->hub, c->env.session);

        /* Unknown here: perhaps a session a former hub made (a restart), which the id's seal
         * lets this one take back. Never for a legacy POST: its stream died with that hub. */
        if (s && s->modern)
                return NULL; /* a modern request's own, never named by a client */
        if (!s && !c->env.legacy)
                s = session_resume(c->hub, c->env.session, c->env.client);
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

static const char *const kind_word[_USERS_KIND_MAX] = {
    [USERS_TOOLS] = "tool", [USERS_PROMPTS] = "prompt", [USERS_RESOURCES] = "resource"};

/* Over a limit: 429 with Retry-After and a JSON-RPC error, and an audit record. */
static void refuse_limited(struct conn *c, struct session *s, const char *server,
                           const char *method, const char *name, const cJSON *id, const char *limit,
                           unsigned retry_after, const char *message)
{
        struct hub *h = c->hub;
        cJSON *data = cJSON_CreateObject();

        if (data) {
                cJSON_AddStringToObject(data, "limit", limit);
                cJSON_AddNumberToObject(data, "retryAfter", retry_after);
        }
        log_notice("client '%s': %s", c->env.client, message);
        hub_record(h, &(struct record){.client = c->env.client,
                                       .session = s ? s->id : NULL,
                                       .server = server,
                                       .method = method,
                                       .name = name,
                                       .outcome = RECORD_LIMITED,
                                       .detail = limit});
        h->n_errors++;
        (void)conn_send_limited(c, jsonrpc_error_new(id, MCP_PROXY_ERROR_LIMITED, message, data),
                                retry_after);
}

bool route_check(struct conn *c, struct session *s, struct server *srv, const char *method,
                 enum users_kind kind, const char *name, const cJSON *id)
{
        struct hub *h = c->hub;
        const char *client = c->env.client;
        const struct user_rules *r;
        char err[512];

        if (!access_allow(h, client, kind, srv->name, name)) {
                snprintf(err, sizeof(err), "Access denied: client '%s' may not use %s '%.300s'",
                         client, kind_word[kind], name);
                log_notice("%s (%s)", err, method);
                hub_record(h, &(struct record){.client = client,
                                               .session = s->id,
                                               .server = srv->name,
                                               .method = method,
                                               .name = name,
                                               .outcome = RECORD_DENIED,
                                               .detail = "access rules"});
                route_reply_error(c, id, MCP_PROXY_ERROR_DENIED, err);
                return false;
        }
        r = access_rules(h, client);
        if (r->concurrent_calls && access_calls_in_flight(h, client) >= r->concurrent_calls) {
                snprintf(err, sizeof(err),
                         "Too many calls in flight: client '%s' may have %u at once", client,
                         r->concurrent_calls);
                refuse_limited(c, s, srv->name, method, name, id, "concurrent_calls", 1, err);
                return false;
        }
        h->n_requests++;
        log_debug("client '%s' %s '%s' on upstream '%s'", client, method, name ? name : "",
                  srv->name);
        return true;
}

/* The target for answers to this exchange. */
static void exchange_target(struct conn *c, struct session *s, struct target *t)
{
        if (s->legacy) {
                target_for_get(t, s);
                return;
        }
        *t = (struct target){.conn_id = c->id};
        snprintf(t->session, sizeof(t->session), "%s", s->id);
}

static cJSON *server_error_data(const struct server *srv)
{
        cJSON *data = cJSON_CreateObject();

        if (data)
                cJSON_AddStringToObject(data, "server", srv->name);
        return data;
}

void route_instance_error(struct conn *c, struct session *s, struct server *srv, const cJSON *id)
{
        char err[512];

        if (errno == EUSERS) {
                snprintf(err, sizeof(err),
                         "Upstream '%s' has no instance free for this client: maxInstances (%d) "
                         "reached",
                         srv->name, srv->cfg.max_instances);
                log_warning("client '%s': %s", s->client, err);
        } else
                snprintf(err, sizeof(err),
                         "Upstream '%s' is not available (cannot start an "
                         "instance: %s)",
                         srv->name, strerror(errno));
        c->hub->n_errors++;
        route_reply(
            c, jsonrpc_error_new(id, MCP_ERROR_CONNECTION_CLOSED, err, server_error_data(srv)));
}

/* The instance of srv that serves s (started if need be); answers and returns NULL when
 * there is none. */
static struct instance *route_instance(struct conn *c, struct session *s, struct server *srv,
                                       const cJSON *id)
{
        struct instance *i = server_instance_for(srv, s);

        if (!i)
                route_instance_error(c, s, srv, id);
        return i;
}

void route_forward(struct conn *c, struct session *s, struct instance *inst, cJSON *msg,
                   const char *method, const char *name)
{
        _cleanup_json_ cJSON *m = msg;
        _cleanup_json_ cJSON *id = cJSON_Duplicate(json_get(m, "id"), true);
        struct upstream *u = inst->u;
        struct target t;
        char err[512];
        int r;

        exchange_target(c, s, &t);
        /* From here the request may reach the server: the front must not send it again. */
        if (conn_taken(c) < 0)
                return; /* the front is gone: nobody to answer, nothing sent */
        r = instance_call(inst, s, TAKE_PTR(m), id, &t, method, name, c->msg_bytes);
        if (r == -ENOBUFS) {
                snprintf(err, sizeof(err), "Upstream '%s' is busy: too many requests waiting",
                         u->name);
                route_reply_error(c, id, MCP_ERROR_CONNECTION_CLOSED, err);
        } else if (r < 0) {
                snprintf(err, sizeof(err), "Upstream '%s' is not available (%s%s)", u->name,
                         r == -EAGAIN ? "state: " : "",
                         r == -EAGAIN ? upstream_state_to_string(u->state) : strerror(-r));
                route_reply_error(c, id, MCP_ERROR_CONNECTION_CLOSED, err);
        }
}

/* ---------------------------------------------------------------- initialize */

cJSON *hub_instructions_json(struct hub *h)
{
        struct buf b;
        cJSON *s = NULL;

        buf_init(&b, 256 * 1024);
        for (size_t i = 0; i < h->n_servers; i++) {
                struct upstream *u = h->servers[i]->hub_inst->u;
                const char *ins =
                    u->init_result ? json_get_string(u->init_result, "instructions") : NULL;
                if (!ins || !*ins || u->state != UPSTREAM_READY)
                        continue;
                if (h->prefix_names)
                        (void)buf_printf(&b, "%s[%s] %s", b.len ? "\n\n" : "", u->name, ins);
                else
                        (void)buf_append_str(&b, ins);
        }
        if (b.len)
                s = cJSON_CreateString(b.data);
        buf_done(&b);
        return s;
}

static void handle_initialize(struct conn *c, struct session *legacy, cJSON *msg)
{
        const cJSON *id = json_get(msg, "id");
        const cJSON *params = json_get(msg, "params");
        const char *asked = params ? json_get_string(params, "protocolVersion") : NULL;
        const char *version = mcp_protocol_supported(asked) ? asked : MCP_PROTOCOL_LATEST;
        _cleanup_json_ cJSON *result = NULL;
        struct session *s = legacy;
        cJSON *caps, *o, *info, *ins;

        if (!cJSON_IsObject(params) || !asked) {
                route_reply_error(c, id, JSONRPC_INVALID_PARAMS,
                                  "initialize needs params.protocolVersion");
                return;
        }
        if (!s) {
                s = session_new(c->hub, c->env.client, version, json_get(params, "capabilities"),
                                false);
                if (!s && errno == ENOSPC) {
                        route_refuse_busy(c, id);
                        return;
                }
                if (!s) {
                        http_error(c, 503, MCP_ERROR_CONNECTION_CLOSED,
                                   errno == EUSERS ? "Too many sessions" : "Out of memory");
                        return;
                }
        } else {
                /* A legacy client asking for an old revision gets it (it negotiated by transport). */
                if (asked && strcmp(asked, "2024-11-05") == 0)
                        version = asked;
                free(s->protocol_version);
                s->protocol_version = strdup(version);
        }
        cJSON_Delete(s->client_capabilities);
        cJSON_Delete(s->client_info);
        s->client_capabilities = cJSON_Duplicate(json_get(params, "capabilities"), true);
        s->client_info = cJSON_Duplicate(json_get(params, "clientInfo"), true);

        result = cJSON_CreateObject();
        if (!result)
                goto oom;
        cJSON_AddStringToObject(result, "protocolVersion", version);
        caps = cJSON_AddObjectToObject(result, "capabilities");
        if (!caps)
                goto oom;
        /* Everything the hub can aggregate, whatever is up right now: a server that starts
         * later only makes a list change, never the session's capabilities. */
        o = cJSON_AddObjectToObject(caps, "tools");
        cJSON_AddTrueToObject(o, "listChanged");
        o = cJSON_AddObjectToObject(caps, "prompts");
        cJSON_AddTrueToObject(o, "listChanged");
        o = cJSON_AddObjectToObject(caps, "resources");
        cJSON_AddTrueToObject(o, "subscribe");
        cJSON_AddTrueToObject(o, "listChanged");
        cJSON_AddObjectToObject(caps, "logging");
        cJSON_AddObjectToObject(caps, "completions");
        info = cJSON_AddObjectToObject(result, "serverInfo");
        if (!info || !cJSON_AddStringToObject(info, "name", "mcp-proxy") ||
            !cJSON_AddStringToObject(info, "version", VERSION))
                goto oom;
        ins = hub_instructions_json(c->hub);
        if (ins)
                cJSON_AddItemToObject(result, "instructions", ins);
        log_info("client '%s' opened session %.8s... (protocol %s%s%s%s)", c->env.client, s->id,
                 version, asked && strcmp(asked, version) != 0 ? ", asked for " : "",
                 asked && strcmp(asked, version) != 0 ? asked : "",
                 s->legacy ? ", legacy SSE" : "");
        if (legacy) {
                reply_result(c, id, TAKE_PTR(result));
                return;
        }
        (void)conn_send_json(c, 200, s->id, jsonrpc_result_new(id, TAKE_PTR(result)));
        return;
oom:
        if (!legacy)
                session_free(c->hub, s);
        http_error(c, 500, JSONRPC_INTERNAL_ERROR, "Out of memory");
}

/* ---------------------------------------------------------------- lists and cursors */

static void handle_list(struct conn *c, cJSON *msg, enum list_kind k)
{
        struct hub *h = c->hub;
        const cJSON *id = json_get(msg, "id");
        const cJSON *params = json_get(msg, "params");
        const cJSON *cursor = cJSON_IsObject(params) ? json_get(params, "cursor") : NULL;
        size_t offset = 0, total = catalogue_count(h, k), next_at = 0;
        cJSON *result, *items;

        if (cursor && !cJSON_IsNull(cursor)) {
                if (!cJSON_IsString(cursor) || cursor_decode(cursor->valuestring, k, &offset) < 0 ||
                    offset > total) {
                        route_reply_error(c, id, JSONRPC_INVALID_PARAMS, "Invalid cursor");
                        return;
                }
        }
        /* Only what the client may use (the users file); pages count its entries, the
         * cursor says where in the whole list the next page starts. */
        items = catalogue_list_json_for(h, k, offset, HUB_LIST_PAGE_SIZE, c->env.client, &next_at);
        result = cJSON_CreateObject();
        if (!items || !result || !cJSON_AddItemToObject(result, list_info[k].key, items)) {
                cJSON_Delete(items);
                cJSON_Delete(result);
                route_reply_error(c, id, JSONRPC_INTERNAL_ERROR, "Out of memory");
                return;
        }
        if (next_at < total) {
                char next[CURSOR_MAX];
                cursor_encode(k, next_at, next);
                cJSON_AddStringToObject(result, "nextCursor", next);
        }
        reply_result(c, id, result);
}

/* ---------------------------------------------------------------- routed requests */

/* Explain a name we do not know: when the server that would own it is down, say so. */
static void reply_unknown(struct conn *c, const cJSON *id, const char *what, const char *name)
{
        struct hub *h = c->hub;
        char err[512];

        for (size_t i = 0; h->prefix_names && i < h->n_servers; i++) {
                struct upstream *u = h->servers[i]->hub_inst->u;
                size_t l = strlen(u->name);
                if (strncmp(name, u->name, l) == 0 && name[l] == '_' &&
                    u->state != UPSTREAM_READY) {
                        snprintf(err, sizeof(err), "Upstream '%s' is not available (state: %s)",
                                 u->name, upstream_state_to_string(u->state));
                        route_reply_error(c, id, MCP_ERROR_CONNECTION_CLOSED, err);
                        return;
                }
        }
        snprintf(err, sizeof(err), "Unknown %s: '%.200s'", what, name);
        route_reply_error(c, id, JSONRPC_INVALID_PARAMS, err);
}

/* tools/call and prompts/get: route by name, rename for the upstream (takes msg). */
static void handle_named(struct conn *c, struct session *s, cJSON *msg, enum list_kind k,
                         const char *method, const char *what)
{
        _cleanup_json_ cJSON *m = msg;
        const cJSON *id = json_get(m, "id");
        cJSON *params = json_get(m, "params");
        const char *name = cJSON_IsObject(params) ? json_get_string(params, "name") : NULL;
        _cleanup_free_ char *client_name = NULL;
        const struct catalogue_entry *e;
        struct instance *inst;
        char err[128];

        if (!name) {
                snprintf(err, sizeof(err), "%s needs params.name", method);
                route_reply_error(c, id, JSONRPC_INVALID_PARAMS, err);
                return;
        }
        e = catalogue_find(c->hub, k, name);
        if (!e) {
                reply_unknown(c, id, what, name);
                return;
        }
        if (!route_check(c, s, e->server, method, k == LIST_TOOLS ? USERS_TOOLS : USERS_PROMPTS,
                         name, id))
                return;
        inst = route_instance(c, s, e->server, id);
        if (!inst)
                return;
        client_name = strdup(name);
        if (!client_name ||
            !json_set(params, "name", cJSON_CreateString(json_get_string(e->obj, "name")))) {
                route_reply_error(c, id, JSONRPC_INTERNAL_ERROR, "Out of memory");
                return;
        }
        route_forward(c, s, inst, TAKE_PTR(m), method, client_name);
}

struct server *route_uri(struct conn *c, const cJSON *id, const char *uri, char **ret_orig)
{
        struct server *srv;
        struct upstream *u;
        char err[512];

        if (!uri) {
                route_reply_error(c, id, JSONRPC_INVALID_PARAMS, "params.uri is required");
                return NULL;
        }
        if (catalogue_uri_in(c->hub, uri, &srv, ret_orig) < 0) {
                snprintf(err, sizeof(err), "Resource not found: '%.300s'", uri);
                route_reply_error(c, id, JSONRPC_INVALID_PARAMS, err);
                return NULL;
        }
        u = srv->hub_inst->u;
        if (u->state != UPSTREAM_READY) {
                snprintf(err, sizeof(err), "Upstream '%s' is not available (state: %s)", u->name,
                         upstream_state_to_string(u->state));
                free(*ret_orig);
                *ret_orig = NULL;
                route_reply_error(c, id, MCP_ERROR_CONNECTION_CLOSED, err);
                return NULL;
        }
        return srv;
}

static void handle_resources_read(struct conn *c, struct session *s, cJSON *msg)
{
        _cleanup_json_ cJSON *m = msg;
        const cJSON *id = json_get(m, "id");
        cJSON *params = json_get(m, "params");
        const char *uri = cJSON_IsObject(params) ? json_get_string(params, "uri") : NULL;
        _cleanup_free_ char *orig = NULL, *client_uri = uri ? strdup(uri) : NULL;
        struct server *srv = route_uri(c, id, uri, &orig);
        struct instance *inst;

        if (!srv || !route_check(c, s, srv, "resources/read", USERS_RESOURCES, uri, id) ||
            !(inst = route_instance(c, s, srv, id)))
                return;
        if (!client_uri || !json_set(params, "uri", cJSON_CreateString(orig))) {
                route_reply_error(c, id, JSONRPC_INTERNAL_ERROR, "Out of memory");
                return;
        }
        route_forward(c, s, inst, TAKE_PTR(m), "resources/read", client_uri);
}

static void handle_complete(struct conn *c, struct session *s, cJSON *msg)
{
        _cleanup_json_ cJSON *m = msg;
        const cJSON *id = json_get(m, "id");
        cJSON *params = json_get(m, "params");
        cJSON *ref = cJSON_IsObject(params) ? json_get(params, "ref") : NULL;
        const char *type = cJSON_IsObject(ref) ? json_get_string(ref, "type") : NULL;
        _cleanup_free_ char *what = type ? strdup(type) : NULL;
        struct server *srv;
        struct instance *inst;

        if (!type) {
                route_reply_error(c, id, JSONRPC_INVALID_PARAMS,
                                  "completion/complete needs params.ref");
                return;
        }
        if (strcmp(type, "ref/prompt") == 0) {
                const char *name = json_get_string(ref, "name");
                const struct catalogue_entry *e =
                    name ? catalogue_find(c->hub, LIST_PROMPTS, name) : NULL;
                if (!e) {
                        reply_unknown(c, id, "prompt", name ? name : "");
                        return;
                }
                if (!route_check(c, s, e->server, "completion/complete", USERS_PROMPTS, name, id))
                        return;
                if (!json_set(ref, "name", cJSON_CreateString(json_get_string(e->obj, "name"))))
                        return;
                srv = e->server;
        } else if (strcmp(type, "ref/resource") == 0) {
                _cleanup_free_ char *orig = NULL;
                const char *uri = json_get_string(ref, "uri");
                _cleanup_free_ char *client_uri = uri ? strdup(uri) : NULL;
                srv = route_uri(c, id, uri, &orig);
                if (!srv ||
                    !route_check(c, s, srv, "completion/complete", USERS_RESOURCES,
                                 client_uri ? client_uri : "", id) ||
                    !json_set(ref, "uri", cJSON_CreateString(orig)))
                        return;
        } else {
                route_reply_error(c, id, JSONRPC_INVALID_PARAMS,
                                  "params.ref.type must be ref/prompt or ref/resource");
                return;
        }
        if (!srv->hub_inst->u->has_completions) {
                /* Nothing to offer is a valid answer: no values. */
                cJSON *r = cJSON_CreateObject(), *comp = cJSON_AddObjectToObject(r, "completion");
                cJSON_AddArrayToObject(comp, "values");
                cJSON_AddFalseToObject(comp, "hasMore");
                reply_result(c, id, r);
                return;
        }
        inst = route_instance(c, s, srv, id);
        if (inst)
                route_forward(c, s, inst, TAKE_PTR(m), "completion/complete", what);
}

/* ---------------------------------------------------------------- dispatch */

void hub_route_message(struct conn *c, cJSON *msg)
{
        _cleanup_json_ cJSON *m = msg;
        struct hub *h = c->hub;
        uint64_t cid = c->id;
        struct session *s = NULL;
        bool legacy;

        if (jsonrpc_classify(m) < 0) {
                http_error(c, 400, JSONRPC_INVALID_REQUEST, "Invalid Request: not JSON-RPC 2.0");
                return;
        }
        if (c->env.session) {
                s = find_session(c);
                if (!s || s->legacy != c->env.legacy) {
                        /* the request's own id: the client knows which one failed (a legacy
                         * client's answers otherwise come on its stream, gone with it) */
                        http_error_for(
                            c, jsonrpc_classify(m) == JSONRPC_REQUEST ? json_get(m, "id") : NULL,
                            404, MCP_ERROR_REQUEST_TIMEOUT, "Session not found");
                        return;
                }
        }
        legacy = s && s->legacy;
        /* requests_per_minute: every request counts, whatever it asks. */
        if (jsonrpc_classify(m) == JSONRPC_REQUEST) {
                unsigned retry;
                if (access_take_request(h, c->env.client, &retry) < 0) {
                        char err[256];
                        snprintf(err, sizeof(err),
                                 "Rate limit: client '%s' may send %u requests a minute",
                                 c->env.client,
                                 access_rules(h, c->env.client)->requests_per_minute);
                        refuse_limited(c, s, NULL, json_get_string(m, "method"), NULL,
                                       json_get(m, "id"), "requests_per_minute", retry, err);
                        return;
                }
        }
        if (c->env.modern) {
                hub_route_modern(c, TAKE_PTR(m));
                return;
        }
        route_request(c, s, TAKE_PTR(m));
        /* A legacy POST is answered 202 once its message is dealt with; the answer itself
         * went on the session's SSE stream. */
        if (legacy && (c = hub_conn_get(h, cid)) && !c->finished)
                (void)conn_send_simple(c, WIRE_REPLY_ACCEPTED);
}

void route_request(struct conn *c, struct session *s, cJSON *msg)
{
        _cleanup_json_ cJSON *m = msg;
        enum jsonrpc_kind kind = jsonrpc_classify(m);
        const char *method = json_get_string(m, "method");
        const cJSON *id = json_get(m, "id");
        bool legacy = s && s->legacy;

        if (kind == JSONRPC_REQUEST && strcmp(method, "initialize") == 0) {
                handle_initialize(c, s && s->legacy ? s : NULL, m);
                return;
        }
        if (!s) {
                http_error(c, 400, MCP_ERROR_CONNECTION_CLOSED,
                           "Bad Request: Mcp-Session-Id header is required");
                return;
        }
        switch (kind) {
        case JSONRPC_NOTIFICATION:
                hub_client_notification(c->hub, s, m);
                if (!legacy)
                        (void)conn_send_simple(c, WIRE_REPLY_ACCEPTED);
                return;
        case JSONRPC_RESPONSE:
                hub_client_response(c->hub, s, m);
                if (!legacy)
                        (void)conn_send_simple(c, WIRE_REPLY_ACCEPTED);
                return;
        default:
                break;
        }
        if (strcmp(method, "tools/call") == 0)
                handle_named(c, s, TAKE_PTR(m), LIST_TOOLS, "tools/call", "tool");
        else if (strcmp(method, "prompts/get") == 0)
                handle_named(c, s, TAKE_PTR(m), LIST_PROMPTS, "prompts/get", "prompt");
        else if (strcmp(method, "resources/read") == 0)
                handle_resources_read(c, s, TAKE_PTR(m));
        else if (strcmp(method, "completion/complete") == 0)
                handle_complete(c, s, TAKE_PTR(m));
        else {
                if (strcmp(method, "ping") == 0)
                        reply_result(c, id, cJSON_CreateObject());
                else if (strcmp(method, "tools/list") == 0)
                        handle_list(c, m, LIST_TOOLS);
                else if (strcmp(method, "prompts/list") == 0)
                        handle_list(c, m, LIST_PROMPTS);
                else if (strcmp(method, "resources/list") == 0)
                        handle_list(c, m, LIST_RESOURCES);
                else if (strcmp(method, "resources/templates/list") == 0)
                        handle_list(c, m, LIST_TEMPLATES);
                else if (strcmp(method, "logging/setLevel") == 0)
                        route_reply(c, hub_set_log_level(c->hub, s, m));
                else if (strcmp(method, "resources/subscribe") == 0 ||
                         strcmp(method, "resources/unsubscribe") == 0)
                        hub_subscription(c, s, TAKE_PTR(m),
                                         strcmp(method, "resources/subscribe") == 0);
                else {
                        char err[256];
                        snprintf(err, sizeof(err), "Method not found: '%.200s'", method);
                        route_reply_error(c, id, JSONRPC_METHOD_NOT_FOUND, err);
                }
        }
}

/* ---------------------------------------------------------------- GET, DELETE, legacy */

/* The Streamable HTTP session a GET or DELETE names; answers 400 or 404 and returns NULL
 * when there is none. */
static struct session *streamable_session(struct conn *c)
{
        struct session *s;

        if (!c->env.session) {
                http_error(c, 400, MCP_ERROR_CONNECTION_CLOSED,
                           "Bad Request: Mcp-Session-Id header is required");
                return NULL;
        }
        s = find_session(c);
        if (!s || s->legacy) {
                http_error(c, 404, MCP_ERROR_REQUEST_TIMEOUT, "Session not found");
                return NULL;
        }
        return s;
}

void hub_route_get(struct conn *c)
{
        struct session *s;
        struct sse_stream *st;
        uint32_t sid = 0, seq = 0;

        s = streamable_session(c);
        if (!s)
                return;
        /* Resumption: replay the events after Last-Event-ID on the stream it names. */
        if (c->env.last_event_id && stream_parse_event_id(c->env.last_event_id, &sid, &seq) == 0 &&
            (st = stream_find(s, sid))) {
                if (hub_conn_get(c->hub, st->conn_id)) {
                        http_error(c, 409, MCP_ERROR_CONNECTION_CLOSED,
                                   "Conflict: that stream is still connected");
                        return;
                }
                log_info("client '%s': session %.8s... resumes stream %u after event %u", s->client,
                         s->id, (unsigned)sid, (unsigned)seq);
                if (st->is_get)
                        s->get_stream = st->id;
                (void)stream_attach(c->hub, s, st, c, seq, false);
                return;
        }
        st = stream_find(s, s->get_stream);
        if (st && hub_conn_get(c->hub, st->conn_id)) {
                http_error(c, 409, MCP_ERROR_CONNECTION_CLOSED,
                           "Conflict: this session already has a GET stream");
                return;
        }
        st = stream_new(c->hub, s, c->id, true);
        if (!st) {
                hub_conn_close(c);
                return;
        }
        s->get_stream = st->id;
        (void)stream_attach(c->hub, s, st, c, 0, true);
}

void hub_route_legacy_open(struct conn *c)
{
        struct session *s = session_new(c->hub, c->env.client, "2024-11-05", NULL, true);
        struct sse_stream *st;
        cJSON *ep;

        if (!s && errno == ENOSPC) {
                route_refuse_busy(c, NULL);
                return;
        }
        if (!s) {
                http_error(c, 503, MCP_ERROR_CONNECTION_CLOSED, "Too many sessions");
                return;
        }
        st = stream_new(c->hub, s, c->id, true);
        if (!st) {
                session_free(c->hub, s);
                hub_conn_close(c);
                return;
        }
        s->get_stream = st->id;
        log_info("client '%s' opened legacy SSE session %.8s...", c->env.client, s->id);
        if (stream_attach(c->hub, s, st, c, 0, false) < 0)
                return;
        /* The front turns this into "event: endpoint" with the message URL. */
        ep = wire_reply_new(WIRE_REPLY_ENDPOINT);
        if (ep)
                cJSON_AddStringToObject(ep, "session", s->id);
        (void)conn_send(c, ep, false);
}

void hub_route_delete(struct conn *c)
{
        struct session *s;

        s = streamable_session(c);
        if (!s)
                return;
        log_info("client '%s' ended session %.8s...", s->client, s->id);
        session_free(c->hub, s);
        (void)conn_send_simple(c, WIRE_REPLY_OK);
}
