/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "json.h"
#include "proto/wire.h"

static const char *const wire_op_table[_WIRE_OP_MAX] = {
    [WIRE_OP_POST] = "post",       [WIRE_OP_GET] = "get", [WIRE_OP_DELETE] = "delete",
    [WIRE_OP_HEALTH] = "health",   [WIRE_OP_SSE] = "sse", [WIRE_OP_CTL] = "ctl",
    [WIRE_OP_METRICS] = "metrics",
};

const char *wire_op_to_string(enum wire_op op)
{
        if (op < 0 || op >= _WIRE_OP_MAX)
                return NULL;
        return wire_op_table[op];
}

enum wire_op wire_op_from_string(const char *s)
{
        if (!s)
                return _WIRE_OP_INVALID;
        for (int i = 0; i < _WIRE_OP_MAX; i++)
                if (wire_op_table[i] && strcmp(s, wire_op_table[i]) == 0)
                        return (enum wire_op)i;
        return _WIRE_OP_INVALID;
}

static const char *const wire_reply_table[_WIRE_REPLY_MAX] = {
    [WIRE_REPLY_JSON] = "json",       [WIRE_REPLY_ACCEPTED] = "accepted",
    [WIRE_REPLY_OK] = "ok",           [WIRE_REPLY_SSE] = "sse",
    [WIRE_REPLY_EVENT] = "event",     [WIRE_REPLY_ENDPOINT] = "endpoint",
    [WIRE_REPLY_END] = "end",         [WIRE_REPLY_HEALTH] = "health",
    [WIRE_REPLY_ERROR] = "error",     [WIRE_REPLY_TAKEN] = "taken",
    [WIRE_REPLY_METRICS] = "metrics",
};

const char *wire_reply_to_string(enum wire_reply t)
{
        if (t < 0 || t >= _WIRE_REPLY_MAX)
                return NULL;
        return wire_reply_table[t];
}

enum wire_reply wire_reply_from_string(const char *s)
{
        if (!s)
                return _WIRE_REPLY_INVALID;
        for (int i = 0; i < _WIRE_REPLY_MAX; i++)
                if (wire_reply_table[i] && strcmp(s, wire_reply_table[i]) == 0)
                        return (enum wire_reply)i;
        return _WIRE_REPLY_INVALID;
}

cJSON *wire_reply_new(enum wire_reply t)
{
        _cleanup_json_ cJSON *j = NULL;
        const char *name = wire_reply_to_string(t);

        if (!name)
                return NULL;
        j = cJSON_CreateObject();
        if (!j || !cJSON_AddStringToObject(j, "t", name))
                return NULL;
        return TAKE_PTR(j);
}

cJSON *wire_envelope_to_json(const struct wire_envelope *e)
{
        _cleanup_json_ cJSON *j = cJSON_CreateObject();
        const char *op = wire_op_to_string(e->op);

        if (!j || !op || !e->client)
                return NULL;
        if (!cJSON_AddNumberToObject(j, "v", WIRE_VERSION) ||
            !cJSON_AddStringToObject(j, "op", op) ||
            !cJSON_AddStringToObject(j, "client", e->client))
                return NULL;
        if (e->session && !cJSON_AddStringToObject(j, "session", e->session))
                return NULL;
        if (e->proto && !cJSON_AddStringToObject(j, "proto", e->proto))
                return NULL;
        if (e->last_event_id && !cJSON_AddStringToObject(j, "lei", e->last_event_id))
                return NULL;
        if (!cJSON_AddBoolToObject(j, "sse", e->sse))
                return NULL;
        if (e->legacy && !cJSON_AddTrueToObject(j, "legacy"))
                return NULL;
        if (e->ack && !cJSON_AddTrueToObject(j, "ack"))
                return NULL;
        if (e->modern && !cJSON_AddTrueToObject(j, "modern"))
                return NULL;
        if (e->hparams) {
                cJSON *p = cJSON_Duplicate(e->hparams, true);
                if (!p || !cJSON_AddItemToObject(j, "hparams", p)) {
                        cJSON_Delete(p);
                        return NULL;
                }
        }
        return TAKE_PTR(j);
}

static int opt_string(const cJSON *j, const char *key, const char **ret)
{
        const cJSON *v = json_get(j, key);
        if (!v || cJSON_IsNull(v)) {
                *ret = NULL;
                return 0;
        }
        if (!cJSON_IsString(v))
                return -EINVAL;
        *ret = v->valuestring;
        return 0;
}

int wire_envelope_from_json(const cJSON *j, struct wire_envelope *ret)
{
        struct wire_envelope e = {};
        const cJSON *v, *sse;

        if (!cJSON_IsObject(j))
                return -EINVAL;
        v = json_get(j, "v");
        if (!cJSON_IsNumber(v) || v->valuedouble != WIRE_VERSION)
                return -EPROTO;
        e.op = wire_op_from_string(json_get_string(j, "op"));
        if (e.op < 0)
                return -EINVAL;
        e.client = json_get_string(j, "client");
        if (!e.client || !*e.client)
                return -EINVAL;
        if (opt_string(j, "session", &e.session) < 0 || opt_string(j, "proto", &e.proto) < 0 ||
            opt_string(j, "lei", &e.last_event_id) < 0)
                return -EINVAL;
        sse = json_get(j, "sse");
        if (sse && !cJSON_IsBool(sse))
                return -EINVAL;
        e.sse = cJSON_IsTrue(sse);
        sse = json_get(j, "legacy");
        if (sse && !cJSON_IsBool(sse))
                return -EINVAL;
        e.legacy = cJSON_IsTrue(sse);
        sse = json_get(j, "ack");
        if (sse && !cJSON_IsBool(sse))
                return -EINVAL;
        e.ack = cJSON_IsTrue(sse);
        sse = json_get(j, "modern");
        if (sse && !cJSON_IsBool(sse))
                return -EINVAL;
        e.modern = cJSON_IsTrue(sse);
        sse = json_get(j, "hparams");
        if (sse && !cJSON_IsNull(sse)) {
                const cJSON *x;
                if (!cJSON_IsObject(sse))
                        return -EINVAL;
                cJSON_ArrayForEach(x, sse) if (!cJSON_IsString(x)) return -EINVAL;
                e.hparams = sse;
        }
        *ret = e;
        return 0;
}

char *wire_print_line(const cJSON *j, size_t *ret_len)
{
        char *s = cJSON_PrintUnformatted(j);
        size_t n;
        char *out;

        if (!s)
                return NULL;
        n = strlen(s);
        out = cJSON_malloc(n + 2);
        if (!out) {
                cJSON_free(s);
                return NULL;
        }
        memcpy(out, s, n);
        out[n] = '\n';
        out[n + 1] = 0;
        cJSON_free(s);
        *ret_len = n + 1;
        return out;
}

long wire_find_line(const char *buf, size_t len, size_t max)
{
        size_t scan = len < max ? len : max;
        const char *nl = memchr(buf, '\n', scan);

        if (nl)
                return (long)(nl - buf) + 1;
        if (len >= max)
                return -E2BIG;
        return 0;
}
