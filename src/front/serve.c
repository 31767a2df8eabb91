/* SPDX-License-Identifier: MIT */
/*
 * The connection loop: read a request (head, then body), check it in the
 * order the protocol wants, answer what the front can alone, relay the rest
 * to the hub, log one line, and go on with the next request on the same
 * connection until the client closes or idles out.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "front/front.h"
#include "json.h"
#include "mcp-limits.h"
#include "log.h"
#include "proto/jsonrpc.h"

#define MCP_ALLOW    "GET, POST, DELETE, OPTIONS"
#define HEALTH_ALLOW "GET, HEAD"

enum read_result {
        READ_OK,
        READ_EOF,     /* clean close between requests */
        READ_IDLE,    /* keep-alive idle timeout */
        READ_TIMEOUT, /* stalled mid-request */
        READ_ERROR,
};

/* Read more into c->in, waiting at most timeout_ms. */
static enum read_result read_more(struct front_conn *c, int timeout_ms, bool mid_request)
{
        for (;;) {
                struct pollfd p = {.fd = c->in_fd, .events = POLLIN};
                char *b;
                ssize_t n;
                int k;

                if (c->client_eof)
                        return READ_EOF;
                k = poll(&p, 1, timeout_ms);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return READ_ERROR;
                }
                if (k == 0)
                        return mid_request ? READ_TIMEOUT : READ_IDLE;
                b = buf_reserve(&c->in, 16384);
                if (!b)
                        return READ_ERROR;
                n = read(c->in_fd, b, 16384);
                if (n > 0) {
                        buf_commit(&c->in, (size_t)n);
                        return READ_OK;
                }
                if (n == 0) {
                        c->client_eof = true;
                        return READ_EOF;
                }
                if (errno == EINTR || errno == EAGAIN)
                        continue;
                return READ_ERROR;
        }
}

static void log_request(struct front_conn *c, struct front_request *r)
{
        double ms = (double)(front_now_usec() - r->start_usec) / 1000.0;
        int level = r->status >= 500 ? LOG_ERR : r->status >= 400 ? LOG_WARNING : LOG_INFO;

        log_full_errno(level, 0, "%s client=%s %.*s %.*s%s%s status=%d %.3fms", c->peer,
                       r->client ? r->client : "-",
                       r->http.method_len ? (int)MIN(r->http.method_len, (size_t)16) : 1,
                       r->http.method_len ? r->http.method : "-",
                       r->http.path_len ? (int)MIN(r->http.path_len, (size_t)200) : 1,
                       r->http.path_len ? r->http.path : "-", r->rpc_method[0] ? " mcp=" : "",
                       r->rpc_method, r->status, ms);
}

static void header_copy(const struct http_header *h, char *out, size_t n)
{
        size_t l = h ? MIN(h->value_len, n - 1) : 0;
        if (h)
                memcpy(out, h->value, l);
        out[l] = 0;
}

/* "http://localhost:3000" -> is the host a loopback name? */
static bool host_is_loopback(const char *host, size_t len)
{
        static const char *const names[] = {"localhost", "127.0.0.1", "[::1]"};
        const char *colon;
        size_t hl = len;

        if (len > 0 && host[0] == '[') {
                const char *rb = memchr(host, ']', len);
                hl = rb ? (size_t)(rb - host) + 1 : len;
        } else if ((colon = memchr(host, ':', len)))
                hl = (size_t)(colon - host);
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (hl == strlen(names[i]) && strncasecmp(host, names[i], hl) == 0)
                        return true;
        /* The whole 127.0.0.0/8 block. */
        if (hl > 4 && strncmp(host, "127.", 4) == 0) {
                for (size_t i = 4; i < hl; i++)
                        if (!(host[i] == '.' || (host[i] >= '0' && host[i] <= '9')))
                                return false;
                return true;
        }
        return false;
}

static bool list_has(char **list, const char *s, size_t len)
{
        for (size_t i = 0; list && list[i]; i++)
                if ((strcmp(list[i], "*") == 0) ||
                    (strlen(list[i]) == len && strncasecmp(list[i], s, len) == 0))
                        return true;
        return false;
}

/* A Host value matches an entry with or without its ":port". */
static bool host_listed(char **list, const char *host, size_t len)
{
        const char *colon = memrchr(host, ':', len);

        if (list_has(list, host, len))
                return true;
        if (colon && !memchr(colon, ']', len - (size_t)(colon - host)))
                return list_has(list, host, (size_t)(colon - host));
        return false;
}

/* Origin and Host checks (DNS rebinding). Returns 0 or an HTTP status. */
static int check_origin_host(struct front_conn *c, struct front_request *r)
{
        const struct http_header *o = http_find_header(&r->http, "origin");
        const struct http_header *h = http_find_header(&r->http, "host");
        const char *host = h ? h->value : NULL;
        size_t host_len = h ? h->value_len : 0;

        if (r->http.minor_version >= 1 && (!h || http_count_headers(&r->http, "host") != 1))
                return 400;
        /* An absolute-form target names the host; the Host header is then ignored (RFC 9112
         * §3.2.2). */
        if (r->http.authority) {
                host = r->http.authority;
                host_len = r->http.authority_len;
        }
        if (host && c->local_loopback && !host_is_loopback(host, host_len) &&
            !host_listed(c->set->allowed_hosts, host, host_len)) {
                log_warning("%s: Host '%.*s' is not a loopback name on a loopback socket, "
                            "refusing (DNS rebinding?)",
                            c->peer, (int)MIN(host_len, (size_t)100), host);
                return 403;
        }
        if (!o)
                return 0;
        if (list_has(c->set->allowed_origins, o->value, o->value_len)) {
                header_copy(o, r->origin, sizeof(r->origin));
                r->cors = true;
                return 0;
        }
        {
                /* Loopback origins are fine by default: scheme://loopback[:port]. */
                const char *sep = memmem(o->value, o->value_len, "://", 3);
                if (sep) {
                        const char *oh = sep + 3;
                        size_t hl = o->value_len - (size_t)(oh - o->value);
                        if (host_is_loopback(oh, hl)) {
                                /* A page served from this machine may read the answers too. */
                                header_copy(o, r->origin, sizeof(r->origin));
                                r->cors = true;
                                return 0;
                        }
                }
        }
        log_warning("%s: Origin '%.*s' is not allowed, refusing", c->peer,
                    (int)MIN(o->value_len, (size_t)100), o->value);
        return 403;
}

/* Returns 0 when authenticated (r->client set), or a status already answered (< 0 on I/O). */
static int check_auth(struct front_conn *c, struct front_request *r, bool *ret_ok)
{
        const struct front_settings *s = c->set;
        const struct http_header *a;
        const struct api_key *key = NULL;
        enum auth_result ar;
        const char *msg;

        *ret_ok = false;
        front_settings_refresh_keys(c->set);
        if (s->auth_disabled) {
                r->client = "anonymous";
                *ret_ok = true;
                return 0;
        }
        if (s->keys.n_keys == 0) {
                log_error("no API keys configured: set MCP_API_KEYS or MCP_API_KEYS_PATH, or "
                          "MCP_DISABLE_AUTH=true to serve without authentication");
                return front_respond_rpc_error(
                    c, r, 503, MCP_ERROR_CONNECTION_CLOSED,
                    "Service unavailable: no API keys are configured. Set MCP_API_KEYS "
                    "(\"key:client,...\") or MCP_API_KEYS_PATH, or MCP_DISABLE_AUTH=true.",
                    NULL);
        }
        if (http_count_headers(&r->http, "authorization") > 1)
                ar = AUTH_MALFORMED;
        else {
                a = http_find_header(&r->http, "authorization");
                ar = keyring_check(&s->keys, a ? a->value : NULL, a ? a->value_len : 0, time(NULL),
                                   &key);
        }
        if (ar == AUTH_OK) {
                r->client = key->client_id;
                r->key = key;
                *ret_ok = true;
                return 0;
        }
        switch (ar) {
        case AUTH_MISSING:
                msg = "Unauthorized: send Authorization: Bearer <api-key>";
                break;
        case AUTH_EXPIRED:
                msg = "Unauthorized: the API key has expired";
                break;
        case AUTH_MALFORMED:
                msg = "Unauthorized: the Authorization header must be 'Bearer <api-key>'";
                break;
        default:
                msg = "Unauthorized: invalid API key";
                break;
        }
        log_warning("%s: authentication failed: %s", c->peer, auth_result_to_string(ar));
        return front_respond_rpc_error(
            c, r, 401, MCP_ERROR_CONNECTION_CLOSED, msg,
            ar == AUTH_MISSING
                ? "WWW-Authenticate: Bearer realm=\"mcp-proxy\"\r\n"
                : "WWW-Authenticate: Bearer realm=\"mcp-proxy\", error=\"invalid_token\"\r\n");
}

static int respond_simple_json(struct front_conn *c, struct front_request *r, int status,
                               const char *json, const char *extra)
{
        struct front_response resp = {
            .status = status,
            .content_type = "application/json",
            .body = json,
            .body_len = strlen(json),
            .extra_headers = extra,
        };
        return front_respond(c, r, &resp);
}

static int handle_health(struct front_conn *c, struct front_request *r)
{
        _cleanup_json_ cJSON *o = cJSON_CreateObject();
        _cleanup_cjson_str_ char *out = NULL;
        char *state = NULL;
        const struct http_header *a = http_find_header(&r->http, "authorization");
        const struct api_key *key = NULL;
        bool detail = false, keys_ok;
        int k, status = 200;

        if (!o)
                return -ENOMEM;
        front_settings_refresh_keys(c->set);
        keys_ok = c->set->auth_disabled || c->set->keys.n_keys > 0;
        if (a && c->set->keys.n_keys > 0 &&
            keyring_check(&c->set->keys, a->value, a->value_len, time(NULL), &key) == AUTH_OK) {
                detail = true;
                r->client = key->client_id;
        } else if (c->set->auth_disabled)
                detail = true;
        k = front_relay(c, r, RELAY_HEALTH, NULL, &state);
        cJSON_AddStringToObject(o, "service", "mcp-proxy");
        cJSON_AddStringToObject(o, "version", VERSION);
        if (k < 0 || !state) {
                status = 503;
                cJSON_AddStringToObject(o, "status", "unhealthy");
                cJSON_AddStringToObject(o, "error", "mcp-proxy-hub is not reachable");
        } else if (!keys_ok) {
                status = 503;
                cJSON_AddStringToObject(o, "status", "unhealthy");
                cJSON_AddStringToObject(o, "error",
                                        "no API keys configured: set MCP_API_KEYS or "
                                        "MCP_API_KEYS_PATH, or MCP_DISABLE_AUTH=true");
        } else
                cJSON_AddStringToObject(o, "status", "healthy");
        if (detail && state) {
                cJSON *st = cJSON_Parse(state);
                static const char *const keys[] = {
                    "upstreams",      "collisions", "instances", "sessions",
                    "tools",          "prompts",    "resources", "resource_templates",
                    "uptime_seconds", "reload",     "memory"};
                if (r->client)
                        cJSON_AddStringToObject(o, "client", r->client);
                for (size_t i = 0; st && i < ELEMENTSOF(keys); i++) {
                        cJSON *v = cJSON_DetachItemFromObject(st, keys[i]);
                        if (v)
                                cJSON_AddItemToObject(o, keys[i], v);
                }
                cJSON_Delete(st);
        }
        free(state);
        out = cJSON_PrintUnformatted(o);
        return respond_simple_json(c, r, status, out ? out : "{}", NULL);
}

/* GET /metrics (authenticated): the hub's Prometheus text, for a key whose scopes hold
 * "metrics" or "*" (any client when authentication is off). */
static int handle_metrics(struct front_conn *c, struct front_request *r)
{
        _cleanup_free_ char *payload = NULL;
        _cleanup_json_ cJSON *text = NULL;
        struct front_response resp = {
            .status = 200,
            .content_type = "text/plain; version=0.0.4; charset=utf-8",
        };

        if (!c->set->auth_disabled && !api_key_has_scope(r->key, "metrics")) {
                log_warning("%s: client '%s' has no \"metrics\" scope, refusing /metrics", c->peer,
                            r->client);
                return front_respond_rpc_error(
                    c, r, 403, MCP_ERROR_CONNECTION_CLOSED,
                    "Forbidden: this API key lacks the \"metrics\" scope", NULL);
        }
        (void)front_relay(c, r, RELAY_METRICS, NULL, &payload);
        /* The hub sends the text as one JSON string. */
        text = payload ? cJSON_Parse(payload) : NULL;
        if (!cJSON_IsString(text))
                return front_respond_rpc_error(c, r, 503, MCP_ERROR_CONNECTION_CLOSED,
                                               "Service unavailable: no metrics from mcp-proxy-hub",
                                               NULL);
        resp.body = text->valuestring;
        resp.body_len = strlen(text->valuestring);
        return front_respond(c, r, &resp);
}

static int handle_options(struct front_conn *c, struct front_request *r, const char *allow)
{
        char extra[512];
        struct front_response resp = {.status = 204, .extra_headers = extra};

        if (r->cors)
                snprintf(extra, sizeof(extra),
                         "Allow: %s\r\n"
                         "Access-Control-Allow-Methods: %s\r\n"
                         "Access-Control-Allow-Headers: Authorization, Content-Type, Accept, "
                         "Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID\r\n"
                         "Access-Control-Max-Age: 600\r\n",
                         allow, allow);
        else
                snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
        return front_respond(c, r, &resp);
}

/*
 * Parses a request body strictly (nothing but whitespace may follow the value) and returns
 * it as one wire line: the body itself with any raw CR/LF (which valid JSON can only have
 * between tokens: a control character in a string, or a NUL, fails the parse) turned into
 * spaces, so it need not be printed again.
 */
/* Control characters JSON does not allow: any inside a string (they must be escaped), any
 * but HT, LF and CR outside, and a NUL anywhere, escaped too (C strings would cut the text
 * there; the hub and servers would see another message). */
static bool body_has_control(const char *body, size_t len)
{
        bool in_string = false;

        if (json_find_nul(body, len) < len)
                return true;
        for (size_t i = 0; i < len; i++) {
                unsigned char ch = (unsigned char)body[i];
                if (in_string) {
                        if (ch < 0x20)
                                return true;
                        if (ch == '\\')
                                i++;
                        else if (ch == '"')
                                in_string = false;
                } else if (ch == '"')
                        in_string = true;
                else if (ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r')
                        return true;
        }
        return false;
}

static cJSON *parse_body(const char *body, size_t len, char **ret_line)
{
        const char *end = NULL;
        cJSON *j;
        char *line;

        *ret_line = NULL;
        if (body_has_control(body, len))
                return NULL;
        j = jsonrpc_parse(body, len, &end);
        if (!j)
                return NULL;
        for (const char *p = end; p && p < body + len; p++)
                if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
                        cJSON_Delete(j);
                        return NULL;
                }
        line = strndup(body, len);
        if (!line) {
                cJSON_Delete(j);
                return NULL;
        }
        for (char *p = line; *p; p++)
                if (*p == '\r' || *p == '\n')
                        *p = ' ';
        *ret_line = line;
        return j;
}

/* How many members of obj have this name (cJSON keeps them all). */
static size_t count_members(const cJSON *obj, const char *name)
{
        size_t n = 0;

        for (const cJSON *c = obj->child; c; c = c->next)
                n += c->string && strcmp(c->string, name) == 0;
        return n;
}

/*
 * The checks every POSTed message passes, on /mcp and on the legacy endpoint: a JSON
 * Content-Type (415), valid JSON (400, -32700), one JSON-RPC message, not a batch, with no
 * member name twice in one object (400, -32600). Returns 0 with *ret_msg and *ret_line (see parse_body) set, 1 when it answered.
 */
static int check_message(struct front_conn *c, struct front_request *r, cJSON **ret_msg,
                         char **ret_line)
{
        const struct http_header *ct = http_find_header(&r->http, "content-type");
        const char *method, *key = NULL;
        cJSON *msg;
        int k, dup = 0;

        if (!ct || !http_media_type_is(ct->value, ct->value_len, "application/json"))
                k = front_respond_rpc_error(c, r, 415, MCP_ERROR_CONNECTION_CLOSED,
                                            "Unsupported Media Type: Content-Type must be "
                                            "application/json",
                                            NULL);
        else if (!(msg = parse_body(r->body, r->body_len, ret_line)))
                k = front_respond_rpc_error(c, r, 400, JSONRPC_PARSE_ERROR,
                                            "Parse error: the body is not valid JSON", NULL);
        else if (cJSON_IsArray(msg) || jsonrpc_classify(msg) < 0 ||
                 (dup = json_find_duplicate_key(msg, &key)) != 0) {
                char err[160];
                if (dup != 0) {
                        /* cJSON (the hub) reads the first of two, a server's parser may read
                         * the last: the name the access rules checked would not be the one
                         * called. The name is quoted when it is short, printable ASCII. */
                        bool show = dup > 0 && strlen(key) <= 60;
                        for (const char *p = key; show && *p; p++)
                                show = *p >= ' ' && *p < 0x7f;
                        snprintf(err, sizeof(err),
                                 "Invalid Request: a member name appears twice in one object%s%s%s",
                                 show ? " (\"" : "", show ? key : "", show ? "\")" : "");
                        log_notice("%s: client '%s': a member name appears twice in one object of "
                                   "its message, refusing",
                                   c->peer, r->client ? r->client : "-");
                        /* The answer names the request when its id is beyond doubt. */
                        if (jsonrpc_classify(msg) == JSONRPC_REQUEST &&
                            count_members(msg, "id") == 1)
                                r->rpc_id = json_get(msg, "id");
                }
                k = front_respond_rpc_error(c, r, 400, JSONRPC_INVALID_REQUEST,
                                            dup != 0 ? err
                                            : cJSON_IsArray(msg)
                                                ? "Invalid Request: batches are not supported"
                                                : "Invalid Request: not a JSON-RPC 2.0 message",
                                            NULL);
                r->rpc_id = NULL; /* borrowed from msg */
                cJSON_Delete(msg);
                free(*ret_line);
                *ret_line = NULL;
        } else {
                method = json_get_string(msg, "method");
                snprintf(r->rpc_method, sizeof(r->rpc_method), "%s",
                         method ? method : "(response)");
                r->rpc_id = method ? json_get(msg, "id") : NULL;
                *ret_msg = msg;
                return 0;
        }
        return k < 0 ? k : 1;
}

/* Checks and relays POST /mcp. */
static int handle_post(struct front_conn *c, struct front_request *r)
{
        const struct http_header *accept = http_find_header(&r->http, "accept");
        const struct http_header *pv = http_find_header(&r->http, "mcp-protocol-version");
        _cleanup_json_ cJSON *msg = NULL;
        _cleanup_free_ char *compact = NULL;
        int k;

        if (!accept || !http_accepts(accept->value, accept->value_len, "application/json") ||
            !http_accepts(accept->value, accept->value_len, "text/event-stream"))
                return front_respond_rpc_error(
                    c, r, 406, MCP_ERROR_CONNECTION_CLOSED,
                    "Not Acceptable: Accept must list application/json and text/event-stream",
                    NULL);
        k = check_message(c, r, &msg, &compact);
        if (k != 0)
                return k < 0 ? k : 0;
        /* A 2026-07-28 request: no session, its own _meta; checked here first. */
        if (front_modern_request(r, msg)) {
                k = front_modern_check(c, r, msg);
                if (k != 0)
                        return k < 0 ? k : 0;
                return front_relay(c, r, RELAY_POST, compact, NULL);
        }
        if (pv) {
                char v[32];
                header_copy(pv, v, sizeof(v));
                if (pv->value_len >= sizeof(v) || !mcp_protocol_header_ok(v))
                        return front_respond_rpc_error(
                            c, r, 400, MCP_ERROR_CONNECTION_CLOSED,
                            "Bad Request: unsupported MCP-Protocol-Version (supported: "
                            "2026-07-28, 2025-11-25, 2025-06-18, 2025-03-26)",
                            NULL);
        }
        return front_relay(c, r, RELAY_POST, compact, NULL);
}

static int handle_mcp(struct front_conn *c, struct front_request *r)
{
        const struct http_header *accept = http_find_header(&r->http, "accept");
        const struct http_header *pv = http_find_header(&r->http, "mcp-protocol-version");

        if (http_method_is(&r->http, "POST"))
                return handle_post(c, r);
        if (pv) {
                char v[32];
                header_copy(pv, v, sizeof(v));
                /* 2026-07-28 has no GET stream and no session to DELETE. */
                if (pv->value_len < sizeof(v) && strcmp(v, MCP_PROTOCOL_MODERN) == 0)
                        return front_respond_rpc_error(c, r, 405, MCP_ERROR_CONNECTION_CLOSED,
                                                       "Method Not Allowed: " MCP_PROTOCOL_MODERN
                                                       " requests are POSTs, without a session",
                                                       "Allow: POST, OPTIONS\r\n");
                if (pv->value_len >= sizeof(v) || !mcp_protocol_header_ok(v))
                        return front_respond_rpc_error(
                            c, r, 400, MCP_ERROR_CONNECTION_CLOSED,
                            "Bad Request: unsupported MCP-Protocol-Version", NULL);
        }
        if (http_method_is(&r->http, "GET")) {
                if (!accept || !http_accepts(accept->value, accept->value_len, "text/event-stream"))
                        return front_respond_rpc_error(
                            c, r, 406, MCP_ERROR_CONNECTION_CLOSED,
                            "Not Acceptable: Accept must list text/event-stream", NULL);
                return front_relay(c, r, RELAY_GET, NULL, NULL);
        }
        return front_relay(c, r, RELAY_DELETE, NULL, NULL);
}

/* The value of a query parameter, copied into out; false if absent or too long. */
static bool query_param(const struct http_request *h, const char *name, char *out, size_t n)
{
        const char *q = memchr(h->target, '?', h->target_len);
        const char *end = h->target + h->target_len;
        size_t nl = strlen(name);

        while (q && q < end) {
                const char *p = q + 1, *amp = memchr(p, '&', (size_t)(end - p));
                const char *e = amp ? amp : end;
                if ((size_t)(e - p) > nl && memcmp(p, name, nl) == 0 && p[nl] == '=') {
                        size_t l = (size_t)(e - p) - nl - 1;
                        if (l == 0 || l >= n)
                                return false;
                        memcpy(out, p + nl + 1, l);
                        out[l] = 0;
                        return true;
                }
                q = amp;
        }
        return false;
}

/* The legacy transport: GET /sse opens a session and its stream; POST /messages?sessionId=
 * carries its messages, answered 202 (the answers go on the stream). */
static int handle_legacy(struct front_conn *c, struct front_request *r, bool stream)
{
        const struct http_header *accept = http_find_header(&r->http, "accept");
        _cleanup_json_ cJSON *msg = NULL;
        _cleanup_free_ char *compact = NULL;
        int k;

        if (stream) {
                if (accept && !http_accepts(accept->value, accept->value_len, "text/event-stream"))
                        return front_respond_rpc_error(
                            c, r, 406, MCP_ERROR_CONNECTION_CLOSED,
                            "Not Acceptable: Accept must allow text/event-stream", NULL);
                snprintf(r->rpc_method, sizeof(r->rpc_method), "(sse)");
                return front_relay(c, r, RELAY_SSE, NULL, NULL);
        }
        if (!query_param(&r->http, "sessionId", r->legacy_session, sizeof(r->legacy_session)))
                return front_respond_rpc_error(c, r, 400, MCP_ERROR_CONNECTION_CLOSED,
                                               "Bad Request: sessionId is required", NULL);
        k = check_message(c, r, &msg, &compact);
        if (k != 0)
                return k < 0 ? k : 0;
        return front_relay(c, r, RELAY_LEGACY_POST, compact, NULL);
}

enum route {
        ROUTE_NONE,
        ROUTE_MCP,
        ROUTE_HEALTH,
        ROUTE_METRICS,
        ROUTE_SSE,      /* legacy 2024-11-05 transport: the event stream */
        ROUTE_MESSAGES, /* legacy: where its messages are POSTed */
};

static enum route route_of(const struct front_conn *c, const struct front_request *r,
                           const char **ret_allow)
{
        const struct http_request *h = &r->http;
        size_t ml = strlen(c->set->mcp_path);

        if (h->path_len == ml && memcmp(h->path, c->set->mcp_path, ml) == 0) {
                *ret_allow = MCP_ALLOW;
                return ROUTE_MCP;
        }
        if (h->path_len == 7 && memcmp(h->path, "/health", 7) == 0) {
                *ret_allow = HEALTH_ALLOW;
                return ROUTE_HEALTH;
        }
        if (h->path_len == 8 && memcmp(h->path, "/metrics", 8) == 0) {
                *ret_allow = HEALTH_ALLOW;
                return ROUTE_METRICS;
        }
        ml = strlen(c->set->sse_path);
        if (h->path_len == ml && memcmp(h->path, c->set->sse_path, ml) == 0) {
                *ret_allow = "GET, OPTIONS";
                return ROUTE_SSE;
        }
        ml = strlen(c->set->messages_path);
        if (h->path_len == ml && memcmp(h->path, c->set->messages_path, ml) == 0) {
                *ret_allow = "POST, OPTIONS";
                return ROUTE_MESSAGES;
        }
        return ROUTE_NONE;
}

static bool method_allowed(const struct http_request *h, const char *allow)
{
        char m[16];
        size_t l = MIN(h->method_len, sizeof(m) - 1);
        const char *p = allow;

        memcpy(m, h->method, l);
        m[l] = 0;
        if (strcmp(m, "OPTIONS") == 0)
                return true;
        while ((p = strstr(p, m))) {
                if ((p == allow || p[-1] == ' ') && (p[l] == ',' || p[l] == 0))
                        return true;
                p += l;
        }
        return false;
}

/* Read more of a request's body before deadline: 0, 408 when it stalls, -ECONNRESET. */
static int read_before(struct front_conn *c, uint64_t deadline)
{
        uint64_t now = front_now_usec();
        enum read_result rr;

        if (now >= deadline)
                return 408;
        rr = read_more(c, (int)((deadline - now) / 1000) + 1, true);
        if (rr == READ_TIMEOUT)
                return 408;
        return rr == READ_OK ? 0 : -ECONNRESET;
}

static int read_body_raw(struct front_conn *c, struct front_request *r, enum http_body_kind kind,
                         size_t length, bool send_continue);

/* Reads the body per its framing, then refreshes the head's views (reading may have moved
 * the buffer). Returns 0, or an HTTP status to answer and close with. */
static int read_body(struct front_conn *c, struct front_request *r, enum http_body_kind kind,
                     size_t length, bool send_continue)
{
        int st = read_body_raw(c, r, kind, length, send_continue);

        if (st != 0)
                return st;
        r->http.headers = r->headers;
        if (http_parse_request(buf_head(&c->in), r->head_len, 0, &r->http,
                               ELEMENTSOF(r->headers)) != (int)r->head_len)
                return 400;
        return 0;
}

static int read_body_raw(struct front_conn *c, struct front_request *r, enum http_body_kind kind,
                         size_t length, bool send_continue)
{
        const size_t head = r->head_len;

        if (kind == HTTP_BODY_NONE) {
                r->body = buf_head(&c->in) + head;
                r->body_len = 0;
                return 0;
        }
        if (send_continue && buf_avail(&c->in) == head) {
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                if (front_write_all(c->out_fd, cont, sizeof(cont) - 1, HTTP_WRITE_TIMEOUT_MS) < 0)
                        return -EPIPE;
        }
        if (kind == HTTP_BODY_LENGTH) {
                uint64_t deadline = front_now_usec() + (uint64_t)c->set->read_ms * 1000;
                while (buf_avail(&c->in) < head + length) {
                        int st = read_before(c, deadline);
                        if (st != 0)
                                return st;
                }
                r->body = buf_head(&c->in) + head;
                r->body_len = length;
                return 0;
        }
        /* Chunked: decode in place after the head; pipelined bytes follow the body. */
        {
                struct http_chunked_decoder dec = {};
                size_t decoded = 0;
                uint64_t deadline = front_now_usec() + (uint64_t)c->set->read_ms * 1000;
                for (;;) {
                        char *start = c->in.data + c->in.off + head;
                        size_t avail = buf_avail(&c->in) - head - decoded;
                        size_t len = avail;
                        ssize_t k =
                            http_decode_chunked(&dec, start + decoded, &len, c->set->max_body);
                        if (k == -1)
                                return 400;
                        if (k == -3)
                                return 413;
                        decoded += len;
                        if (k >= 0) {
                                /* body = start[0..decoded), leftover right after it */
                                c->in.len = c->in.off + head + decoded + (size_t)k;
                                c->in.data[c->in.len] = 0;
                                r->body = start;
                                r->body_len = decoded;
                                /* Remember how much to consume for this request. */
                                r->head_len = head;
                                return 0;
                        }
                        /* need more: drop the consumed raw bytes */
                        c->in.len = c->in.off + head + decoded;
                        {
                                int st = read_before(c, deadline);
                                if (st != 0)
                                        return st;
                        }
                }
        }
}

/* Consume the request's bytes from the input buffer. */
static void consume_request(struct front_conn *c, struct front_request *r)
{
        buf_consume(&c->in, r->head_len + r->body_len);
}

static int error_and_close(struct front_conn *c, struct front_request *r, int status,
                           const char *message)
{
        char body[512];

        c->close_after = true;
        r->keep_alive = false;
        snprintf(body, sizeof(body), "{\"error\":\"%s\"}", message);
        (void)respond_simple_json(c, r, status, body, NULL);
        return -1;
}

/* Serve one request; returns 0 to go on, < 0 to close the connection. */
static int serve_one(struct front_conn *c)
{
        struct front_request r = {};
        enum http_body_kind kind;
        size_t length = 0, last_len = 0;
        const char *allow = NULL;
        const struct http_header *h;
        enum route route;
        bool ok, expect_continue = false, body_left;
        int k, st;
        uint64_t deadline = 0;

        /* Head: wait up to the idle timeout for the first byte, then the read timeout. */
        for (;;) {
                r.http.headers = r.headers;
                if (buf_avail(&c->in) > 0) {
                        k = http_parse_request(buf_head(&c->in),
                                               MIN(buf_avail(&c->in), c->set->max_header), last_len,
                                               &r.http, ELEMENTSOF(r.headers));
                        if (k > 0)
                                break;
                        if (k == HTTP_PARSE_ERROR) {
                                r.start_usec = front_now_usec();
                                log_warning("%s: malformed request, closing", c->peer);
                                error_and_close(c, &r, 400, "malformed request");
                                log_request(c, &r);
                                return -1;
                        }
                        if (k == HTTP_PARSE_TOO_MANY || buf_avail(&c->in) >= c->set->max_header) {
                                r.start_usec = front_now_usec();
                                log_warning("%s: request header block over %zu bytes or %zu lines, "
                                            "closing",
                                            c->peer, c->set->max_header, ELEMENTSOF(r.headers));
                                error_and_close(c, &r, 431, "request header fields too large");
                                log_request(c, &r);
                                return -1;
                        }
                        last_len = buf_avail(&c->in);
                }
                {
                        enum read_result rr;
                        bool mid = buf_avail(&c->in) > 0;
                        int timeout = c->set->idle_ms;
                        /* A connection must say something soon: a client that connects and
                         * sends no complete first request head holds a process for nothing. */
                        uint64_t now = front_now_usec(), until = 0;
                        if (mid && !deadline)
                                deadline = now + (uint64_t)c->set->read_ms * 1000;
                        if (mid)
                                until = deadline;
                        if (c->n_requests == 0) {
                                uint64_t first = c->started_usec + (uint64_t)c->set->head_ms * 1000;
                                if (now >= first) {
                                        r.start_usec = now;
                                        log_notice("%s: no complete request within %d ms of "
                                                   "connecting, closing",
                                                   c->peer, c->set->head_ms);
                                        if (mid) {
                                                error_and_close(c, &r, 408, "request timeout");
                                                log_request(c, &r);
                                        }
                                        return -1;
                                }
                                if (!until || until > first)
                                        until = first;
                        }
                        if (until) {
                                if (now >= until)
                                        rr = READ_TIMEOUT;
                                else
                                        rr = read_more(c, (int)((until - now) / 1000) + 1, true);
                        } else
                                rr = read_more(c, timeout, false);
                        if (rr == READ_OK)
                                continue;
                        /* The first request's own deadline: said and done above. */
                        if (rr == READ_TIMEOUT && c->n_requests == 0 &&
                            front_now_usec() >= c->started_usec + (uint64_t)c->set->head_ms * 1000)
                                continue;
                        if (rr == READ_TIMEOUT) {
                                r.start_usec = front_now_usec();
                                log_warning("%s: request not complete within %d ms, closing",
                                            c->peer, c->set->read_ms);
                                error_and_close(c, &r, 408, "request timeout");
                                log_request(c, &r);
                                return -1;
                        }
                        if (rr == READ_IDLE)
                                log_debug("%s: idle for %d ms, closing", c->peer, timeout);
                        return -1;
                }
        }
        r.head_len = (size_t)k;
        r.start_usec = front_now_usec();
        c->n_requests++;
        r.keep_alive = r.http.minor_version >= 1;
        if ((h = http_find_header(&r.http, "connection"))) {
                if (http_has_token(h->value, h->value_len, "close"))
                        r.keep_alive = false;
                else if (http_has_token(h->value, h->value_len, "keep-alive"))
                        r.keep_alive = true;
        }
        if (c->n_requests >= HTTP_MAX_REQUESTS_PER_CONN)
                r.keep_alive = false;
        c->close_after = !r.keep_alive;

        st = http_body_framing(&r.http, c->set->max_body, &kind, &length);
        if (st != 0) {
                log_warning("%s: bad body framing (%d), closing", c->peer, st);
                error_and_close(c, &r, st,
                                st == 413   ? "request body too large"
                                : st == 501 ? "transfer coding not supported (only chunked)"
                                            : "bad request framing");
                log_request(c, &r);
                return -1;
        }
        if ((h = http_find_header(&r.http, "expect"))) {
                if (h->value_len == 12 && strncasecmp(h->value, "100-continue", 12) == 0)
                        expect_continue = r.http.minor_version >= 1;
                else {
                        error_and_close(c, &r, 417, "expectation failed");
                        log_request(c, &r);
                        return -1;
                }
        }
        /* Everything decided before the body; an early refusal closes unless the body is in
         * (out_nobody then drops it and the connection goes on). */
        body_left = kind == HTTP_BODY_CHUNKED ||
                    (kind == HTTP_BODY_LENGTH && buf_avail(&c->in) < r.head_len + length);
        route = route_of(c, &r, &allow);
        if (route == ROUTE_NONE) {
                c->close_after = c->close_after || body_left;
                k = respond_simple_json(c, &r, 404, "{\"error\":\"not found\"}", NULL);
                goto out_nobody;
        }
        if (!method_allowed(&r.http, allow)) {
                char extra[128];
                snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
                c->close_after = c->close_after || body_left;
                k = respond_simple_json(c, &r, 405, "{\"error\":\"method not allowed\"}", extra);
                goto out_nobody;
        }
        st = check_origin_host(c, &r);
        if (st) {
                /* A malformed head (no or two Host) closes, as every other malformed head
                 * does; a refused Origin or Host only when a body would be left unread. */
                c->close_after = c->close_after || st == 400 || body_left;
                k = front_respond_rpc_error(c, &r, st, MCP_ERROR_CONNECTION_CLOSED,
                                            st == 400 ? "Bad Request: missing or repeated Host"
                                                      : "Forbidden: Origin or Host not allowed",
                                            NULL);
                goto out_nobody;
        }
        if (http_method_is(&r.http, "OPTIONS")) {
                c->close_after = c->close_after || body_left;
                k = handle_options(c, &r, allow);
                goto out_nobody;
        }
        if (route == ROUTE_HEALTH) {
                c->close_after = c->close_after || body_left;
                k = handle_health(c, &r);
                goto out_nobody;
        }
        k = check_auth(c, &r, &ok);
        if (!ok) {
                c->close_after = c->close_after || body_left;
                goto out_nobody;
        }
        if (route == ROUTE_METRICS) {
                c->close_after = c->close_after || body_left;
                k = handle_metrics(c, &r);
                goto out_nobody;
        }
        if (!c->set->auth_disabled && !api_key_has_scope(r.key, "mcp")) {
                /* A key made for one feature (a Prometheus server's "metrics") calls no tool. */
                log_warning("%s: client '%s' has no \"mcp\" scope, refusing %s", c->peer, r.client,
                            route == ROUTE_MCP ? "/mcp" : "the legacy SSE endpoint");
                c->close_after = c->close_after || body_left;
                k = front_respond_rpc_error(c, &r, 403, MCP_ERROR_CONNECTION_CLOSED,
                                            "Forbidden: this API key lacks the \"mcp\" scope",
                                            NULL);
                goto out_nobody;
        }
        st = read_body(c, &r, kind, length, expect_continue);
        if (st != 0) {
                if (st > 0) {
                        log_warning("%s: request body: %d, closing", c->peer, st);
                        error_and_close(c, &r, st,
                                        st == 408   ? "request timeout"
                                        : st == 413 ? "request body too large"
                                                    : "malformed chunked body");
                }
                log_request(c, &r);
                return -1;
        }
        if (route == ROUTE_SSE || route == ROUTE_MESSAGES)
                k = handle_legacy(c, &r, route == ROUTE_SSE);
        else
                k = handle_mcp(c, &r);
        log_request(c, &r);
        consume_request(c, &r);
        return k < 0 || c->close_after ? -1 : 0;

out_nobody:
        log_request(c, &r);
        /* The body was not read: drop it if it is all here, else close. */
        if (kind == HTTP_BODY_LENGTH && buf_avail(&c->in) >= r.head_len + length) {
                r.body_len = length;
                consume_request(c, &r);
        } else if (kind == HTTP_BODY_NONE)
                consume_request(c, &r);
        else
                c->close_after = true;
        return k < 0 || c->close_after ? -1 : 0;
}

void front_peer_name(int fd, char *out, size_t n)
{
        struct sockaddr_storage ss;
        socklen_t l = sizeof(ss);
        char host[INET6_ADDRSTRLEN] = "?";

        snprintf(out, n, "local");
        if (getpeername(fd, (struct sockaddr *)&ss, &l) < 0)
                return;
        if (ss.ss_family == AF_INET) {
                const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
                inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
                snprintf(out, n, "%s:%d", host, ntohs(a->sin_port));
        } else if (ss.ss_family == AF_INET6) {
                const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
                inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
                snprintf(out, n, "[%s]:%d", host, ntohs(a->sin6_port));
        } else if (ss.ss_family == AF_UNIX)
                snprintf(out, n, "unix");
}

static void describe_peer(struct front_conn *c)
{
        struct sockaddr_storage ss;
        socklen_t l = sizeof(ss);

        if (getsockname(c->in_fd, (struct sockaddr *)&ss, &l) == 0) {
                if (ss.ss_family == AF_INET) {
                        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
                        c->local_loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
                } else if (ss.ss_family == AF_INET6) {
                        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
                        c->local_loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr) ||
                                            (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) &&
                                             a->sin6_addr.s6_addr[12] == 127);
                }
        }
        front_peer_name(c->in_fd, c->peer, sizeof(c->peer));
}

void front_serve(struct front_settings *set, int in_fd, int out_fd, uint64_t accepted_usec)
{
        struct front_conn c = {
            .set = set, .in_fd = in_fd, .out_fd = out_fd, .started_usec = accepted_usec};

        (void)fcntl(in_fd, F_SETFL, fcntl(in_fd, F_GETFL) | O_NONBLOCK);
        if (out_fd != in_fd)
                (void)fcntl(out_fd, F_SETFL, fcntl(out_fd, F_GETFL) | O_NONBLOCK);
        buf_init(&c.in, set->max_header + set->max_body + 65536);
        describe_peer(&c);
        while (serve_one(&c) == 0)
                ;
        buf_done(&c.in);
        (void)shutdown(out_fd, SHUT_WR);
}
