/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/cursor.h"

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void cursor_encode(int kind, size_t offset, char out[CURSOR_MAX])
{
        char raw[64];
        int n = snprintf(raw, sizeof(raw), "mcp-proxy:%d:%zu", kind, offset);
        size_t j = 0;

        for (int i = 0; i < n; i += 3) {
                unsigned v = (unsigned char)raw[i] << 16;
                int left = n - i;
                if (left > 1)
                        v |= (unsigned char)raw[i + 1] << 8;
                if (left > 2)
                        v |= (unsigned char)raw[i + 2];
                out[j++] = b64url[(v >> 18) & 63];
                out[j++] = b64url[(v >> 12) & 63];
                if (left > 1)
                        out[j++] = b64url[(v >> 6) & 63];
                if (left > 2)
                        out[j++] = b64url[v & 63];
        }
        out[j] = 0;
}

int cursor_decode(const char *s, int kind, size_t *ret_offset)
{
        char raw[64], want[32], *end;
        size_t n = 0, bits = 0;
        unsigned acc = 0;
        unsigned long long off;

        if (strlen(s) > 80)
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                const char *q = strchr(b64url, *p);
                if (!q || !*p)
                        return -EINVAL;
                acc = (acc << 6) | (unsigned)(q - b64url);
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        if (n + 1 >= sizeof(raw))
                                return -EINVAL;
                        raw[n++] = (char)((acc >> bits) & 0xff);
                }
        }
        raw[n] = 0;
        snprintf(want, sizeof(want), "mcp-proxy:%d:", kind);
        if (strncmp(raw, want, strlen(want)) != 0)
                return -EINVAL;
        if (raw[strlen(want)] < '0' || raw[strlen(want)] > '9')
                return -EINVAL; /* strtoull() would take "-1" or " 1" */
        errno = 0;
        off = strtoull(raw + strlen(want), &end, 10);
        if (errno || *end || end == raw + strlen(want))
                return -EINVAL;
        *ret_offset = (size_t)off;
        return 0;
}
