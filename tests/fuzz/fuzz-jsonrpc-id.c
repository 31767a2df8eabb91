/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the id remapping: any input parsed as a message (or a batch) by jsonrpc_parse(); each
 * message's id is remapped as the hub does it (a copy kept, a number of ours in its place,
 * printed, parsed again, the copy put back, printed again), and the id the peer gets back
 * must be the bytes it sent. Also: a kept id is text from the input that reads as the value
 * cJSON read, a number id is always kept, and the id helpers take whatever comes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "proto/jsonrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The kept id's text reads back as what cJSON made of it. */
static void check_kept(const cJSON *id, const cJSON *plain, const char *in, size_t size)
{
        const char *raw = id->valuestring;
        size_t n = strlen(raw);
        cJSON *v;

        if (n == 0 || n > size || !memmem(in, size, raw, n))
                abort();
        v = cJSON_Parse(raw);
        if (!v ||
            (cJSON_IsNumber(plain) && (!cJSON_IsNumber(v) || v->valuedouble != plain->valuedouble ||
                                       id->valuedouble != plain->valuedouble)))
                abort();
        if (cJSON_IsString(plain) &&
            (!cJSON_IsString(v) || strcmp(v->valuestring, plain->valuestring) != 0))
                abort();
        cJSON_Delete(v);
}

/* m: one message of the batch (or the message); k its place in it (-1: not a batch). */
static void remap(cJSON *top, cJSON *m, int k, const cJSON *plain_m, const char *in, size_t size)
{
        const cJSON *id = json_get(m, "id"), *plain = json_get(plain_m, "id");
        cJSON *keep, *again, *m2;
        char *text, *back, *want;
        const char *end;
        bool kept;
        int64_t n;

        if (!id)
                return;
        if (cJSON_IsNumber(plain) && !cJSON_IsRaw(id))
                abort(); /* every number id is kept exact */
        if (cJSON_IsRaw(id))
                check_kept(id, plain, in, size);
        (void)jsonrpc_id_valid(id);
        (void)json_int64(id, &n);
        free(jsonrpc_id_strdup(id));
        if ((cJSON_IsRaw(id) || cJSON_IsString(id) || cJSON_IsNumber(id)) &&
            !jsonrpc_id_equal(id, id))
                abort();
        (void)jsonrpc_classify(m);

        keep = cJSON_Duplicate(id, true);
        if (!keep)
                abort();
        kept = cJSON_IsRaw(keep);
        want = kept ? malloc(strlen(keep->valuestring) + 8) : NULL;
        if (kept && !want)
                abort();
        if (kept) /* the message goes on {"id": when id is its first member, else ,"id": */
                sprintf(want, "\"id\":%s", keep->valuestring);
        /* id is gone from here on */
        if (!json_set(m, "id", cJSON_CreateNumber(7)))
                abort();
        text = cJSON_PrintUnformatted(top);
        if (!text)
                abort();
        again = jsonrpc_parse(text, strlen(text), &end);
        if (!again || *end)
                abort();
        m2 = k < 0 ? again : cJSON_GetArrayItem(again, k);
        if (!json_int64(json_get(m2, "id"), &n) || n != 7)
                abort();
        if (!json_set(m2, "id", keep))
                abort();
        back = cJSON_PrintUnformatted(again);
        if (!back || (want && !strstr(back, want)))
                abort();
        free(want);
        cJSON_free(back);
        cJSON_free(text);
        cJSON_Delete(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *in = (const char *)data;
        const char *end = NULL, *plain_end = NULL;
        cJSON *j, *plain;

        j = jsonrpc_parse(in, size, &end);
        plain = size ? cJSON_ParseWithLengthOpts(in, size, &plain_end, false) : NULL;
        if (!j != !plain || (j && end != plain_end))
                abort(); /* the same parse as cJSON's, but for the ids */
        if (!j)
                return 0;
        {
                /* the front's refusal of a name twice in one object: found only when there */
                const char *key = NULL;
                int r = json_find_duplicate_key(j, &key);
                if (r < 0 || (r > 0 && !key))
                        abort();
        }
        if (cJSON_IsObject(j))
                remap(j, j, -1, plain, in, size);
        else if (cJSON_IsArray(j)) {
                int k = 0;
                for (cJSON *m = j->child, *p = plain->child; m && p; m = m->next, p = p->next, k++)
                        if (cJSON_IsObject(m))
                                remap(j, m, k, p, in, size);
        }
        cJSON_Delete(plain);
        cJSON_Delete(j);
        return 0;
}
