/* SPDX-License-Identifier: MIT */
/* JSON-RPC 2.0 and MCP constants and message helpers shared by front and hub. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>

/* Protocol revisions we serve, newest first. */
#define MCP_PROTOCOL_LATEST "2025-11-25"
extern const char *const mcp_protocol_versions[]; /* NULL-terminated */
/* A revision we negotiate (2025-11-25, 2025-06-18, 2025-03-26). */
bool mcp_protocol_supported(const char *v);
/* Acceptable in MCP-Protocol-Version: the above plus 2024-11-05. */
bool mcp_protocol_header_ok(const char *v);

/* The stateless revision (per-request _meta, no initialize, no session): a "modern" request,
 * as 2026-07-28 basic/versioning calls it; the 2025 ones are "legacy". */
#define MCP_PROTOCOL_MODERN "2026-07-28"
/* Every revision served, newest first: server/discover's supportedVersions, and -32022's
 * data.supported. */
extern const char *const mcp_protocol_all_versions[]; /* NULL-terminated */
#define MCP_META_PROTOCOL_VERSION "io.modelcontextprotocol/protocolVersion"
#define MCP_META_CLIENT_CAPS      "io.modelcontextprotocol/clientCapabilities"
#define MCP_META_CLIENT_INFO      "io.modelcontextprotocol/clientInfo"
#define MCP_META_LOG_LEVEL        "io.modelcontextprotocol/logLevel"
#define MCP_META_SERVER_INFO      "io.modelcontextprotocol/serverInfo"
#define MCP_META_SUBSCRIPTION_ID  "io.modelcontextprotocol/subscriptionId"
/* A request method of the modern revision (NULL: false). */
bool mcp_modern_method(const char *method);

#define JSONRPC_PARSE_ERROR      (-32700)
#define JSONRPC_INVALID_REQUEST  (-32600)
#define JSONRPC_METHOD_NOT_FOUND (-32601)
#define JSONRPC_INVALID_PARAMS   (-32602)
#define JSONRPC_INTERNAL_ERROR   (-32603)
/* Implementation-defined, matching the TypeScript SDK's ErrorCode names. */
#define MCP_ERROR_CONNECTION_CLOSED (-32000) /* also: auth/transport refusals */
#define MCP_ERROR_REQUEST_TIMEOUT   (-32001) /* also: session not found (HTTP 404) */
/* mcp-proxy's own: refused by the access rules of the users file, and over a limit */
#define MCP_PROXY_ERROR_DENIED  (-32003)
#define MCP_PROXY_ERROR_LIMITED (-32004)
/* 2026-07-28: a header that differs from the body, a client capability not declared, a
 * protocol version not served */
#define MCP_ERROR_HEADER_MISMATCH      (-32020)
#define MCP_ERROR_MISSING_CAPABILITY   (-32021)
#define MCP_ERROR_UNSUPPORTED_PROTOCOL (-32022)

enum jsonrpc_kind {
        JSONRPC_REQUEST,      /* method + id */
        JSONRPC_NOTIFICATION, /* method, no id */
        JSONRPC_RESPONSE,     /* id + result or error */
        _JSONRPC_KIND_INVALID = -22,
};

/* Classifies a parsed message; _JSONRPC_KIND_INVALID if it is not one. */
enum jsonrpc_kind jsonrpc_classify(const cJSON *msg);
/*
 * Parses one JSON-RPC message (or a batch) from a peer, like cJSON_ParseWithLengthOpts()
 * without requiring the end of the text (*ret_end, when not NULL, says where the value
 * ended). The message's "id", when a number or a string, is kept exact: a Raw node holding
 * its original text, which cJSON prints and duplicates verbatim, so the id goes back to the
 * peer byte for byte whatever its digits, fraction, exponent or escapes. So are
 * params.requestId (notifications/cancelled), params.progressToken (notifications/progress)
 * and params._meta.progressToken (a request's). NULL when the text is not JSON (or on OOM).
 * Such values are then read through jsonrpc_id_*() and json_int64(), which understand Raw
 * nodes; an id the hub makes itself stays a plain number or string.
 */
cJSON *jsonrpc_parse(const char *text, size_t len, const char **ret_end);

/* A valid JSON-RPC id: a string or a number, fractional too (plain or kept exact). */
bool jsonrpc_id_valid(const cJSON *id);
/* Two ids name the same request: equal strings, or numbers of equal value (integers
 * compared exactly), whether plain or kept exact. */
bool jsonrpc_id_equal(const cJSON *a, const cJSON *b);
/*
 * The start of a message too large to read (head, len bytes of it): when it begins as a
 * response does, {"jsonrpc":"2.0","id":N, then "result" or "error", with no "method" before
 * them, *ret_id is N (a whole number) and true. So the request it answers can fail at once.
 */
bool jsonrpc_peek_response_id(const char *head, size_t len, int64_t *ret_id);
/* The decoded value of a string id (plain or kept exact), malloc'd; NULL for any other. */
char *jsonrpc_id_strdup(const cJSON *id);

/* {"jsonrpc":"2.0","id":<copy of id or null>,"error":{"code":..,"message":..[,"data":data]}}
 * data is taken over (may be NULL). NULL on OOM. */
cJSON *jsonrpc_error_new(const cJSON *id, int code, const char *message, cJSON *data);
/* {"jsonrpc":"2.0","id":<copy of id>,"result":result}; result is taken over. */
cJSON *jsonrpc_result_new(const cJSON *id, cJSON *result);
/* {"jsonrpc":"2.0","id":id,"method":method[,"params":params]}; params taken over. */
cJSON *jsonrpc_request_new(double id, const char *method, cJSON *params);
cJSON *jsonrpc_notification_new(const char *method, cJSON *params);
