/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
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

/* A string id or a number id, plain or Raw (kept exact by jsonrpc_parse()); 0 otherwise. */
static char id_kind(const cJSON *id)
{
        if (cJSON_IsString(id))
                return 's';
        if (cJSON_IsNumber(id))
                return 'n';
        if (cJSON_IsRaw(id) && id->valuestring) {
                char c = id->valuestring[0];
                if (c == '"')
                        return 's';
                if (c == '-' || (c >= '0' && c <= '9'))
                        return 'n';
        }
        return 0;
}

bool jsonrpc_id_valid(const cJSON *id)
{
        /* MCP's RequestId is string | number, and JSON-RPC only says numbers SHOULD NOT be
         * fractional: 1.5 is an id. A plain number that is not finite would print as null. */
        if (cJSON_IsNumber(id))
                return isfinite(id->valuedouble);
        return id_kind(id) != 0;
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

char *jsonrpc_id_strdup(const cJSON *id)
{
        _cleanup_json_ cJSON *v = NULL;

        if (cJSON_IsString(id))
                return strdup(id->valuestring);
        if (id_kind(id) != 's')
                return NULL;
        v = cJSON_Parse(id->valuestring);
        return cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
}

static double id_double(const cJSON *id)
{
        return cJSON_IsRaw(id) ? strtod(id->valuestring, NULL) : id->valuedouble;
}

bool jsonrpc_id_equal(const cJSON *a, const cJSON *b)
{
        char k = id_kind(a);
        int64_t x, y;

        if (!k || k != id_kind(b))
                return false;
        if (cJSON_IsRaw(a) && cJSON_IsRaw(b) && strcmp(a->valuestring, b->valuestring) == 0)
                return true;
        if (k == 's') {
                _cleanup_free_ char *sa = jsonrpc_id_strdup(a), *sb = jsonrpc_id_strdup(b);
                return sa && sb && strcmp(sa, sb) == 0;
        }
        /* The same number however written (1, 1.0, 1e0); integers beyond 2^53 exactly. */
        if (json_int64(a, &x) && json_int64(b, &y))
                return x == y;
        return id_double(a) == id_double(b);
}

/* ---------------------------------------------------------------- exact ids */

/*
 * cJSON keeps a number as a double, so an id of 9007199254740993 would come back as
 * 9007199254740992, -9007199254740991 as -9.007199254740991e+15 and 1e3 as 1000; a string
 * is printed again from its decoded value ("\u00e9" comes back as UTF-8). A peer must see
 * its own id byte for byte. So once cJSON has parsed (and thereby checked) the text, a walk
 * over the same text, member by member beside the parsed object's children, finds the span
 * of the value of the member json_get() takes for "id" (the first, however its key is
 * escaped) and that node becomes a Raw node holding the text: cJSON prints a Raw node and
 * copies it (cJSON_Duplicate) verbatim. The same for the ids and tokens in params that name
 * a request or its progress (exact_levels). The walk trusts nothing: anything it does not
 * expect leaves the rest of the tree as cJSON made it.
 */

/* cJSON's whitespace: every byte up to the space. */
static size_t skip_ws(const char *s, size_t len, size_t i)
{
        while (i < len && (unsigned char)s[i] <= ' ')
                i++;
        return i;
}

/* *i at an opening quote: past the closing one. */
static bool skip_string(const char *s, size_t len, size_t *i)
{
        for (size_t k = *i + 1; k < len; k++) {
                if (s[k] == '\\')
                        k++;
                else if (s[k] == '"') {
                        *i = k + 1;
                        return true;
                }
        }
        return false;
}

/* *i at the first byte of a value: past its last. */
static bool skip_value(const char *s, size_t len, size_t *i)
{
        size_t k = *i, depth = 0;

        do {
                if (k >= len)
                        return false;
                if (s[k] == '"') {
                        if (!skip_string(s, len, &k))
                                return false;
                } else if (s[k] == '{' || s[k] == '[') {
                        depth++;
                        k++;
                } else if (s[k] == '}' || s[k] == ']') {
                        if (depth == 0)
                                return false;
                        depth--;
                        k++;
                } else if (depth > 0)
                        k++;
                else {
                        /* a number or a literal: up to what may follow a value */
                        size_t start = k;
                        while (k < len && (unsigned char)s[k] > ' ' && s[k] != ',' && s[k] != '}' &&
                               s[k] != ']')
                                k++;
                        if (k == start)
                                return false;
                }
        } while (depth > 0);
        *i = k;
        return true;
}

/* v (a number or a string node) becomes a Raw node holding text[0..n). */
static int make_raw(cJSON *v, const char *text, size_t n)
{
        char *t;

        /* A control character raw in a string (which cJSON lets through) is no JSON, and a NUL
         * would cut the text: such an id is printed from its value as before. */
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)text[i] < ' ')
                        return 0;
        t = cJSON_malloc(n + 1);
        if (!t)
                return -ENOMEM;
        memcpy(t, text, n);
        t[n] = '\0';
        if (cJSON_IsString(v))
                cJSON_free(v->valuestring);
        v->valuestring = t;
        v->type = cJSON_Raw; /* valuedouble stays: what cJSON read, for a log line */
        return 0;
}

/* What is kept exact at each depth of a message: its id; the request id a cancellation
 * names and the token of a progress notification (params); the token a request asks
 * progress under (params._meta). Each names what it was given by the peer, which gets it back
 * as it was or compares it with an id of its own. */
static const struct exact_level {
        const char *keys[2];
        const char *inner; /* the member to walk into, at the next level */
} exact_levels[] = {
    {{"id", NULL}, "params"},
    {{"requestId", "progressToken"}, "_meta"},
    {{"progressToken", NULL}, NULL},
};

/* obj parsed from the object whose '{' is at s[i], at depth level of a message. */
static int exact_object(cJSON *obj, const char *s, size_t len, size_t i, size_t level)
{
        const struct exact_level *l = &exact_levels[level];
        cJSON *want[2], *inner;
        int left, r;

        for (size_t k = 0; k < 2; k++) {
                want[k] = l->keys[k] ? json_get(obj, l->keys[k]) : NULL;
                if (!cJSON_IsNumber(want[k]) && !cJSON_IsString(want[k]))
                        want[k] = NULL;
        }
        inner = l->inner ? json_get(obj, l->inner) : NULL;
        if (!cJSON_IsObject(inner))
                inner = NULL;
        left = !!want[0] + !!want[1] + !!inner;
        if (left == 0)
                return 0;
        i++;
        for (cJSON *c = obj->child; c; c = c->next) {
                size_t v;

                i = skip_ws(s, len, i);
                if (i >= len || s[i] != '"' || !skip_string(s, len, &i))
                        return 0;
                i = skip_ws(s, len, i);
                if (i >= len || s[i] != ':')
                        return 0;
                v = i = skip_ws(s, len, i + 1);
                if (!skip_value(s, len, &i))
                        return 0;
                /* What cJSON read there is of the same type, or the walk went wrong: stop. */
                if ((c == want[0] || c == want[1]) && (s[v] == '"') == cJSON_IsString(c)) {
                        r = make_raw(c, s + v, i - v);
                        if (r < 0)
                                return r;
                } else if (c == inner && s[v] == '{') {
                        r = exact_object(c, s, len, v, level + 1);
                        if (r < 0)
                                return r;
                } else if (c == want[0] || c == want[1] || c == inner)
                        return 0;
                if ((c == want[0] || c == want[1] || c == inner) && --left == 0)
                        return 0; /* the rest (a large result, say) need not be walked */
                i = skip_ws(s, len, i);
                if (i >= len || s[i] != ',')
                        return 0;
                i++;
        }
        return 0;
}

/* j parsed from s[0..len): its message's id, or each of a batch's, made exact. */
static int exact_ids(cJSON *j, const char *s, size_t len)
{
        size_t i = 0;
        int r;

        if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
                i = 3; /* cJSON skips a UTF-8 byte order mark */
        i = skip_ws(s, len, i);
        if (cJSON_IsObject(j))
                return i < len && s[i] == '{' ? exact_object(j, s, len, i, 0) : 0;
        if (!cJSON_IsArray(j) || i >= len || s[i] != '[')
                return 0;
        i++;
        for (cJSON *c = j->child; c; c = c->next) {
                i = skip_ws(s, len, i);
                if (i >= len)
                        return 0;
                if (cJSON_IsObject(c) && s[i] == '{' && (r = exact_object(c, s, len, i, 0)) < 0)
                        return r;
                if (!skip_value(s, len, &i))
                        return 0;
                i = skip_ws(s, len, i);
                if (i >= len || s[i] != ',')
                        return 0;
                i++;
        }
        return 0;
}

cJSON *jsonrpc_parse(const char *text, size_t len, const char **ret_end)
{
        _cleanup_json_ cJSON *j = NULL;
        const char *end = NULL;

        if (!text || len == 0)
                return NULL;
        j = cJSON_ParseWithLengthOpts(text, len, &end, false);
        if (!j || !end || end < text || end > text + len)
                return NULL;
        if (exact_ids(j, text, (size_t)(end - text)) < 0)
                return NULL;
        if (ret_end)
                *ret_end = end;
        return TAKE_PTR(j);
}

/* The first occurrence of the quoted key "k" followed by ':' in head, or NULL. */
static const char *peek_key(const char *head, size_t len, const char *k)
{
        size_t kl = strlen(k);

        for (const char *p = head; p + kl + 2 < head + len;) {
                const char *q = memchr(p, '"', (size_t)(head + len - p));
                const char *c;

                if (!q || q + kl + 2 > head + len)
                        return NULL;
                if (strncmp(q + 1, k, kl) == 0 && q[kl + 1] == '"') {
                        for (c = q + kl + 2; c < head + len && strchr(" \t\r\n", *c); c++)
                                ;
                        if (c < head + len && *c == ':')
                                return c + 1;
                }
                p = q + 1;
        }
        return NULL;
}

bool jsonrpc_peek_response_id(const char *head, size_t len, int64_t *ret_id)
{
        const char *id = peek_key(head, len, "id"), *res = peek_key(head, len, "result");
        const char *err = peek_key(head, len, "error"), *method = peek_key(head, len, "method");
        const char *end = head + len, *after;
        long long v;
        char *e;
        char num[24];
        size_t n = 0;

        if (!id || (!res && !err) || (method && (!res || method < res) && (!err || method < err)))
                return false;
        while (id < end && strchr(" \t\r\n", *id))
                id++;
        while (id + n < end && n < sizeof(num) - 1 &&
               (id[n] == '-' || (id[n] >= '0' && id[n] <= '9')))
                n++;
        if (n == 0 || id + n >= end)
                return false;
        after = id + n;
        if (*after != ',' && *after != '}' && !strchr(" \t\r\n", *after))
                return false; /* 1.5, 1e3, a string: not one of ours */
        memcpy(num, id, n);
        num[n] = 0;
        errno = 0;
        v = strtoll(num, &e, 10);
        if (errno || *e)
                return false;
        *ret_id = v;
        return true;
}
