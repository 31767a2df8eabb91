/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <string.h>

#include "json.h"
#include "proto/jsonrpc.h"

const char *const mcp_protocol_versions[] = {"2025-11-25", "2025-06-18", "2025-03-26", NULL};
const char *const mcp_protocol_all_versions[] = {MCP_PROTOCOL_MODERN, "2025-11-25", "2025-06-18",
                                                 "2025-03-26", NULL};

bool mcp_modern_method(const char *method)
{
        static const char *const methods[] = {
            "server/discover",     "tools/list",
            "tools/call",          "prompts/list",
            "prompts/get",         "resources/list",
            "resources/read",      "resources/templates/list",
            "completion/complete", "subscriptions/listen",
        };

        for (size_t i = 0; method && i < sizeof(methods) / sizeof(methods[0]); i++)
                if (strcmp(method, methods[i]) == 0)
                        return true;
        return false;
}

bool mcp_protocol_supported(const char *v)
{
        if (!v)
                return false;
        for (size_t i = 0; mcp_protocol_versions[i]; i++)
                if (strcmp(v, mcp_protocol_versions[i]) == 0)
                        return true;
        return false;
}

bool mcp_protocol_header_ok(const char *v)
{
        return mcp_protocol_supported(v) || (v && strcmp(v, "2024-11-05") == 0);
}

bool jsonrpc_id_valid(const cJSON *id)
{
        if (cJSON_IsString(id))
                return true;
        if (cJSON_IsNumber(id))
                return isfinite(id->valuedouble) && floor(id->valuedouble) == id->valuedouble;
        return false;
}

enum jsonrpc_kind jsonrpc_classify(const cJSON *msg)
{
        const cJSON *v, *id, *method;

        if (!cJSON_IsObject(msg))
                return _JSONRPC_KIND_INVALID;
        v = json_get(msg, "jsonrpc");
        if (!cJSON_IsString(v) || strcmp(v->valuestring, "2.0") != 0)
                return _JSONRPC_KIND_INVALID;
        id = json_get(msg, "id");
        method = json_get(msg, "method");
        if (method) {
                const cJSON *params = json_get(msg, "params");
                if (!cJSON_IsString(method) || !*method->valuestring)
                        return _JSONRPC_KIND_INVALID;
                if (params && !cJSON_IsObject(params) && !cJSON_IsArray(params))
                        return _JSONRPC_KIND_INVALID;
                if (!id)
                        return JSONRPC_NOTIFICATION;
                return jsonrpc_id_valid(id) ? JSONRPC_REQUEST : _JSONRPC_KIND_INVALID;
        }
        if (!id || (!jsonrpc_id_valid(id) && !cJSON_IsNull(id)))
                return _JSONRPC_KIND_INVALID;
        if (!!json_get(msg, "result") == !!json_get(msg, "error"))
                return _JSONRPC_KIND_INVALID;
        return JSONRPC_RESPONSE;
}

static cJSON *envelope_new(const cJSON *id)
{
        _cleanup_json_ cJSON *m = cJSON_CreateObject();
        cJSON *idc;

        if (!m || !cJSON_AddStringToObject(m, "jsonrpc", "2.0"))
                return NULL;
        idc = id ? cJSON_Duplicate(id, true) : cJSON_CreateNull();
        if (!idc || !cJSON_AddItemToObject(m, "id", idc)) {
                cJSON_Delete(idc);
                return NULL;
        }
        return TAKE_PTR(m);
}

cJSON *jsonrpc_error_new(const cJSON *id, int code, const char *message, cJSON *data)
{
        _cleanup_json_ cJSON *d = data;
        _cleanup_json_ cJSON *m = envelope_new(id);
        cJSON *e;

        if (!m)
                return NULL;
        e = cJSON_AddObjectToObject(m, "error");
        if (!e || !cJSON_AddNumberToObject(e, "code", code) ||
            !cJSON_AddStringToObject(e, "message", message))
                return NULL;
        if (d && !cJSON_AddItemToObject(e, "data", TAKE_PTR(d)))
                return NULL;
        return TAKE_PTR(m);
}

cJSON *jsonrpc_result_new(const cJSON *id, cJSON *result)
{
        _cleanup_json_ cJSON *r = result;
        _cleanup_json_ cJSON *m = envelope_new(id);

        if (!m || !r || !cJSON_AddItemToObject(m, "result", TAKE_PTR(r)))
                return NULL;
        return TAKE_PTR(m);
}

cJSON *jsonrpc_request_new(double id, const char *method, cJSON *params)
{
        _cleanup_json_ cJSON *p = params;
        _cleanup_json_ cJSON *m = cJSON_CreateObject();

        if (!m || !cJSON_AddStringToObject(m, "jsonrpc", "2.0") ||
            !cJSON_AddNumberToObject(m, "id", id) || !cJSON_AddStringToObject(m, "method", method))
                return NULL;
        if (p && !cJSON_AddItemToObject(m, "params", TAKE_PTR(p)))
                return NULL;
        return TAKE_PTR(m);
}

cJSON *jsonrpc_notification_new(const char *method, cJSON *params)
{
        _cleanup_json_ cJSON *p = params;
        _cleanup_json_ cJSON *m = cJSON_CreateObject();

        if (!m || !cJSON_AddStringToObject(m, "jsonrpc", "2.0") ||
            !cJSON_AddStringToObject(m, "method", method))
                return NULL;
        if (p && !cJSON_AddItemToObject(m, "params", TAKE_PTR(p)))
                return NULL;
        return TAKE_PTR(m);
}

bool jsonrpc_id_equal(const cJSON *a, const cJSON *b)
{
        if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
                return a->valuedouble == b->valuedouble;
        if (cJSON_IsString(a) && cJSON_IsString(b))
                return strcmp(a->valuestring, b->valuestring) == 0;
        return false;
}
