/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static bool double_int64(double d, int64_t *ret)
{
        /* -2^63 is exact as a double; 2^63 is not an int64_t. NaN fails both. */
        if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != (double)(int64_t)d)
                return false;
        *ret = (int64_t)d;
        return true;
}

/* The text of a JSON number (a Raw node's, see jsonrpc_parse()): an integer is read exactly
 * (9007199254740993 is not 9007199254740992), anything else through a double, where an
 * underflow (1e-400) is no zero. */
static bool text_int64(const char *s, int64_t *ret)
{
        const char *digits = s + (*s == '-');
        char *end;
        double d;

        if (*digits < '0' || *digits > '9')
                return false; /* a string, or no number at all */
        errno = 0;
        if (digits[strspn(digits, "0123456789")] == '\0') {
                long long n = strtoll(s, &end, 10);
                if (errno != 0 || *end)
                        return false;
                *ret = n;
                return true;
        }
        d = strtod(s, &end);
        return errno == 0 && *end == '\0' && double_int64(d, ret);
}

bool json_int64(const cJSON *v, int64_t *ret)
{
        if (cJSON_IsRaw(v) && v->valuestring)
                return text_int64(v->valuestring, ret);
        return cJSON_IsNumber(v) && double_int64(v->valuedouble, ret);
}

size_t json_find_nul(const char *s, size_t len)
{
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '\0')
                        return i;
                if (s[i] != '\\' || i + 1 >= len)
                        continue;
                if (s[i + 1] == 'u' && len - i >= 6 && memcmp(s + i + 2, "0000", 4) == 0)
                        return i;
                i++; /* skip the escaped character */
        }
        return len;
}

static int cmp_keys(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int json_find_duplicate_key(const cJSON *v, const char **ret_key)
{
        int r;

        if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
                return 0;
        for (const cJSON *c = v->child; c; c = c->next) {
                r = json_find_duplicate_key(c, ret_key);
                if (r != 0)
                        return r;
        }
        return json_find_duplicate_member(v, ret_key);
}

int json_find_duplicate_member(const cJSON *v, const char **ret_key)
{
        _cleanup_free_ const char **keys = NULL;
        size_t n = 0, k = 0;

        if (!cJSON_IsObject(v))
                return 0;
        for (const cJSON *c = v->child; c; c = c->next)
                n++;
        if (n < 2)
                return 0;
        /* Sorted, so that a million members cost n log n, not n^2. */
        keys = malloc(n * sizeof(*keys));
        if (!keys)
                return -ENOMEM;
        for (const cJSON *c = v->child; c; c = c->next)
                keys[k++] = c->string ? c->string : "";
        qsort(keys, n, sizeof(*keys), cmp_keys);
        for (k = 1; k < n; k++)
                if (strcmp(keys[k - 1], keys[k]) == 0) {
                        *ret_key = keys[k];
                        return 1;
                }
        return 0;
}
