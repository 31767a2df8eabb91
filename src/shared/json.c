/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "json.h"

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
