/* SPDX-License-Identifier: MIT */
/*
 * 2026-07-28 ("modern") requests on the MCP endpoint, beside the 2025 ("legacy") sessions:
 * which POSTs are modern (basic/versioning §4), and the checks the front can make before
 * the hub sees one (basic/index §1.2.3, streamable-http §6.1-6.5), in the order the spec
 * gives them, each answered with the HTTP status and JSON-RPC error it names and the
 * request's id. What needs the catalogue (Mcp-Param-{Name} against a tool's x-mcp-header
 * arguments, the client capabilities a call needs) is the hub's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/front.h"
#include "json.h"
#include "log.h"
#include "macro.h"
#include "proto/jsonrpc.h"
#include "proto/mcp-header.h"

bool front_modern_request(const struct front_request *r, const cJSON *msg)
{
        const struct http_header *pv = http_find_header(&r->http, "mcp-protocol-version");
        const cJSON *params = json_get(msg, "params");
        const cJSON *meta = cJSON_IsObject(params) ? json_get(params, "_meta") : NULL;
        const char *method = json_get_string(msg, "method");
        char v[64];

        if (cJSON_IsObject(meta) && json_get(meta, MCP_META_PROTOCOL_VERSION))
                return true;
        if (method && strcmp(method, "server/discover") == 0)
                return true;
        if (!pv)
                return false; /* 2025-03-26 */
        if (pv->value_len >= sizeof(v))
                return true; /* no legacy version is that long */
        memcpy(v, pv->value, pv->value_len);
        v[pv->value_len] = 0;
        return !mcp_protocol_header_ok(v);
}

static int refuse(struct front_conn *c, struct front_request *r, int status, int code, cJSON *data,
                  const char *fmt, ...) _printf_(6, 7);

static int refuse(struct front_conn *c, struct front_request *r, int status, int code, cJSON *data,
                  const char *fmt, ...)
{
        char msg[512];
        va_list ap;
        int k;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        log_warning("%s: %s request refused: %s", c->peer, MCP_PROTOCOL_MODERN, msg);
        k = front_respond_rpc_error_data(c, r, status, code, msg, data, NULL);
        return k < 0 ? k : 1;
}

/* A header repeating a value of the body: absent, malformed or different is -32020. */
static int check_header(struct front_conn *c, struct front_request *r, const char *header,
                        const char *expected)
{
        const struct http_header *h = http_find_header(&r->http, header);
        _cleanup_free_ char *v = NULL;
        int k;

        if (http_count_headers(&r->http, header) > 1)
                return refuse(c, r, 400, MCP_ERROR_HEADER_MISMATCH, NULL,
                              "Header mismatch: %s is given more than once", header);
        if (!h)
                return refuse(c, r, 400, MCP_ERROR_HEADER_MISMATCH, NULL,
                              "Header mismatch: the %s header is required", header);
        k = mcp_header_value_decode(h->value, h->value_len, &v);
        if (k == -ENOMEM)
                return k;
        if (k < 0)
                return refuse(c, r, 400, MCP_ERROR_HEADER_MISMATCH, NULL,
                              "Header mismatch: %s is malformed", header);
        if (strcmp(v, expected) != 0)
                return refuse(c, r, 400, MCP_ERROR_HEADER_MISMATCH, NULL,
                              "Header mismatch: %s does not match the body", header);
        return 0;
}

static cJSON *unsupported_data(const char *requested)
{
        cJSON *d = cJSON_CreateObject(), *a = d ? cJSON_AddArrayToObject(d, "supported") : NULL;

        for (size_t i = 0; a && mcp_protocol_all_versions[i]; i++)
                cJSON_AddItemToArray(a, cJSON_CreateString(mcp_protocol_all_versions[i]));
        if (d)
                cJSON_AddStringToObject(d, "requested", requested);
        return d;
}

int front_modern_check(struct front_conn *c, struct front_request *r, const cJSON *msg)
{
        const struct http_header *pv = http_find_header(&r->http, "mcp-protocol-version");
        const char *method = json_get_string(msg, "method");
        const cJSON *params = json_get(msg, "params");
        const cJSON *meta = cJSON_IsObject(params) ? json_get(params, "_meta") : NULL;
        const char *version = NULL, *name = NULL, *name_field = NULL;
        char header[64];
        const cJSON *caps;
        int k;

        if (!method)
                return refuse(c, r, 400, JSONRPC_INVALID_REQUEST, NULL,
                              "Invalid Request: a %s client sends no responses (there are no "
                              "requests from the server)",
                              MCP_PROTOCOL_MODERN);
        /* 1. the version header */
        if (!pv)
                return refuse(c, r, 400, MCP_ERROR_HEADER_MISMATCH, NULL,
                              "Header mismatch: the MCP-Protocol-Version header is required");
        /* 2. removed or unknown methods (a notification is taken and dropped) */
        if (json_get(msg, "id") && !mcp_modern_method(method))
                return refuse(c, r, 404, JSONRPC_METHOD_NOT_FOUND, NULL,
                              "Method not found: '%.200s'", method);
        /* 3. _meta and its required fields */
        if (!cJSON_IsObject(meta))
                return refuse(c, r, 400, JSONRPC_INVALID_PARAMS, NULL,
                              "Invalid params: params._meta is required");
        version = json_get_string(meta, MCP_META_PROTOCOL_VERSION);
        if (!version)
                return refuse(c, r, 400, JSONRPC_INVALID_PARAMS, NULL,
                              "Invalid params: _meta[\"%s\"] must be a string",
                              MCP_META_PROTOCOL_VERSION);
        caps = json_get(meta, MCP_META_CLIENT_CAPS);
        if (!cJSON_IsObject(caps))
                return refuse(c, r, 400, JSONRPC_INVALID_PARAMS, NULL,
                              "Invalid params: _meta[\"%s\"] must be an object",
                              MCP_META_CLIENT_CAPS);
        /* 4. the header against _meta */
        if (pv->value_len >= sizeof(header) ||
            (memcpy(header, pv->value, pv->value_len), header[pv->value_len] = 0,
             strcmp(header, version) != 0))
                return refuse(c, r, 400, MCP_ERROR_HEADER_MISMATCH, NULL,
                              "Header mismatch: MCP-Protocol-Version is not "
                              "_meta[\"%s\"]",
                              MCP_META_PROTOCOL_VERSION);
        /* 5. a version we serve */
        if (strcmp(version, MCP_PROTOCOL_MODERN) != 0)
                return refuse(c, r, 400, MCP_ERROR_UNSUPPORTED_PROTOCOL, unsupported_data(version),
                              "Unsupported protocol version '%.64s'", version);
        /* 6. Mcp-Method, and Mcp-Name where the method names something */
        /* Every request names its method; a notification need not (the TypeScript client
         * sends notifications/cancelled without), but one that does must name its own. */
        if (json_get(msg, "id") || http_find_header(&r->http, "Mcp-Method")) {
                k = check_header(c, r, "Mcp-Method", method);
                if (k != 0)
                        return k;
        }
        if (strcmp(method, "tools/call") == 0 || strcmp(method, "prompts/get") == 0)
                name_field = "name";
        else if (strcmp(method, "resources/read") == 0)
                name_field = "uri";
        if (name_field) {
                name = cJSON_IsObject(params) ? json_get_string(params, name_field) : NULL;
                if (!name)
                        return refuse(c, r, 400, JSONRPC_INVALID_PARAMS, NULL,
                                      "Invalid params: %s needs params.%s", method, name_field);
                k = check_header(c, r, "Mcp-Name", name);
                if (k != 0)
                        return k;
        }
        r->modern = true;
        return 0;
}
