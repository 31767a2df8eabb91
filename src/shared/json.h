/* SPDX-License-Identifier: MIT */
/* cJSON helpers: cleanup wrappers and typed lookups. */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(cJSON *, cJSON_Delete);
#define _cleanup_json_ _cleanup_(cJSON_Deletep)

static inline void cjson_freep(char **p)
{
        if (*p)
                cJSON_free(*p);
}
#define _cleanup_cjson_str_ _cleanup_(cjson_freep)

/* The string value of obj[key], or NULL when absent or not a string. */
static inline const char *json_get_string(const cJSON *obj, const char *key)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
        return cJSON_IsString(v) ? v->valuestring : NULL;
}

/*
 * cJSON ends a string at a NUL byte, raw or written \u0000, which would cut a
 * key, a command or a header short without a word. Returns the offset of the
 * first one in the JSON text s, or len. Backslashes only occur inside strings
 * in valid JSON.
 */
size_t json_find_nul(const char *s, size_t len);

/* v as a whole number that an int64_t holds exactly (|v| < 2^63): true with *ret; false for
 * anything else (not a number, fractional, out of range), never a cast that is undefined
 * behaviour. For numbers a peer chose (ids, codes). A Raw node holding a number's text (an
 * id jsonrpc_parse() kept exact) is read from its text. */
bool json_int64(const cJSON *v, int64_t *ret);

/*
 * A member name that appears twice in one object anywhere in v (as cJSON decodes names, so
 * "id" and "\u0069d" are one): 1 with *ret_key (borrowed from v), 0 when there is none,
 * -ENOMEM. cJSON finds the first of two, other parsers (JavaScript's, Python's) the last: a
 * message whose parts two readers may see differently is refused.
 */
int json_find_duplicate_key(const cJSON *v, const char **ret_key);
/* The same for v's own members only (not those of the objects inside it). */
int json_find_duplicate_member(const cJSON *v, const char **ret_key);

static inline cJSON *json_get(const cJSON *obj, const char *key)
{
        return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* Replace (or add) obj[key] with item; takes ownership of item. */
static inline bool json_set(cJSON *obj, const char *key, cJSON *item)
{
        if (!item)
                return false;
        if (cJSON_GetObjectItemCaseSensitive(obj, key))
                return cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item);
        return cJSON_AddItemToObject(obj, key, item);
}
