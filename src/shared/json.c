/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "json.h"

bool json_int64(const cJSON *v, int64_t *ret)
{
        double d;

        if (!cJSON_IsNumber(v))
                return false;
        d = v->valuedouble;
        /* -2^63 is exact as a double; 2^63 is not an int64_t. NaN fails both. */
        if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != (double)(int64_t)d)
                return false;
        *ret = (int64_t)d;
        return true;
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
