/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/mcp-header.h"

static int b64_value(char c)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -1;
}

/* Strict RFC 4648 base64: whole quads, '=' only as the last one or two characters. */
static int b64_decode(const char *s, size_t len, char **ret)
{
        char *out;
        size_t n = 0;

        if (len % 4 != 0)
                return -EINVAL;
        out = malloc(len / 4 * 3 + 1);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i += 4) {
                int v[4];
                size_t pad = 0;

                for (size_t k = 0; k < 4; k++) {
                        char c = s[i + k];
                        if (c == '=' && i + 4 == len && k >= 2) {
                                v[k] = 0;
                                pad++;
                                continue;
                        }
                        if (pad > 0 || (v[k] = b64_value(c)) < 0) {
                                free(out);
                                return -EINVAL;
                        }
                }
                uint32_t q = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
                             (uint32_t)v[3];
                out[n++] = (char)(q >> 16);
                if (pad < 2)
                        out[n++] = (char)(q >> 8 & 0xff);
                if (pad < 1)
                        out[n++] = (char)(q & 0xff);
        }
        if (memchr(out, 0, n)) {
                free(out);
                return -EINVAL;
        }
        out[n] = 0;
        *ret = out;
        return 0;
}

int mcp_header_value_decode(const char *value, size_t len, char **ret)
{
        static const char pre[] = "=?base64?", post[] = "?=";
        char *s;

        while (len > 0 && (*value == ' ' || *value == '\t')) {
                value++;
                len--;
        }
        while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t'))
                len--;
        if (len >= sizeof(pre) - 1 + sizeof(post) - 1 && memcmp(value, pre, sizeof(pre) - 1) == 0 &&
            memcmp(value + len - (sizeof(post) - 1), post, sizeof(post) - 1) == 0)
                return b64_decode(value + sizeof(pre) - 1,
                                  len - (sizeof(pre) - 1) - (sizeof(post) - 1), ret);
        if (memchr(value, 0, len))
                return -EINVAL;
        s = strndup(value, len);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* A value that goes literally: visible ASCII and inner spaces, not a sentinel's start. */
static bool literal_ok(const char *s, size_t len)
{
        if (len == 0)
                return true;
        if (s[0] == ' ' || s[len - 1] == ' ' || (len >= 2 && s[0] == '=' && s[1] == '?'))
                return false;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
                        return false;
        return true;
}

int mcp_header_value_encode(const char *value, char **ret)
{
        static const char tab[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t len = strlen(value), n = 0;
        char *out;

        if (literal_ok(value, len)) {
                out = strdup(value);
                if (!out)
                        return -ENOMEM;
                *ret = out;
                return 0;
        }
        out = malloc(sizeof("=?base64?") - 1 + (len + 2) / 3 * 4 + sizeof("?=") - 1 + 1);
        if (!out)
                return -ENOMEM;
        memcpy(out, "=?base64?", 9);
        n = 9;
        for (size_t i = 0; i < len; i += 3) {
                uint32_t q = (uint32_t)(unsigned char)value[i] << 16;
                size_t left = len - i;

                if (left > 1)
                        q |= (uint32_t)(unsigned char)value[i + 1] << 8;
                if (left > 2)
                        q |= (uint32_t)(unsigned char)value[i + 2];
                out[n++] = tab[q >> 18 & 63];
                out[n++] = tab[q >> 12 & 63];
                out[n++] = left > 1 ? tab[q >> 6 & 63] : '=';
                out[n++] = left > 2 ? tab[q & 63] : '=';
        }
        memcpy(out + n, "?=", 3);
        *ret = out;
        return 0;
}
