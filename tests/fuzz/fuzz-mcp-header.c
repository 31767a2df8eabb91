/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for src/proto/mcp-header.c, the 2026-07-28 Mcp-Method,
 * Mcp-Name and Mcp-Param-* header values a client sends (and the hub sends
 * on to a modern upstream). The input is one header value, NUL bytes and
 * all. Beyond "no crash":
 *
 * - decoding agrees with a model written apart from the code: surrounding
 *   spaces and tabs trimmed; a value wholly "=?base64?...?=" is strict base64
 *   (whole quads, '=' only as the last one or two characters) whose bytes
 *   hold no NUL, anything else is literal and must hold no NUL;
 * - encoding any NUL-free string gives a value that can go in a header
 *   (visible ASCII and inner spaces: no CR, LF or other control byte, no
 *   white space at either end) and that decodes back to the string;
 * - decoding is stable: decode(encode(decode(v))) == decode(v).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/mcp-header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
        if (!ok)
                abort();
}

static int model_b64(char c)
{
        static const char tab[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const char *p = c ? strchr(tab, c) : NULL;

        return p ? (int)(p - tab) : -1;
}

/* Strict base64 of s[0..len) into out (len / 4 * 3 bytes at most): its length, or -1. */
static long model_base64(const char *s, size_t len, unsigned char *out)
{
        size_t n = 0, pad = 0;

        if (len % 4 != 0)
                return -1;
        if (len >= 1 && s[len - 1] == '=')
                pad++;
        if (len >= 2 && s[len - 2] == '=')
                pad++;
        if (pad == 2 && s[len - 1] != '=')
                return -1;
        for (size_t i = 0; i + pad < len; i++)
                if (model_b64(s[i]) < 0)
                        return -1;
        for (size_t i = 0; i < len; i += 4) {
                unsigned long q = 0;

                for (size_t k = 0; k < 4; k++)
                        q = q << 6 | (unsigned long)(i + k + pad < len ? model_b64(s[i + k]) : 0);
                out[n++] = (unsigned char)(q >> 16);
                if (i + 4 < len || pad < 2)
                        out[n++] = (unsigned char)(q >> 8);
                if (i + 4 < len || pad < 1)
                        out[n++] = (unsigned char)q;
        }
        return (long)n;
}

/* What the value decodes to, by the model: 0 with *ret (malloc'd, *ret_len bytes), or -EINVAL. */
static int model_decode(const char *v, size_t len, char **ret, size_t *ret_len)
{
        static const char pre[] = "=?base64?", post[] = "?=";
        const size_t lpre = sizeof(pre) - 1, lpost = sizeof(post) - 1;
        char *out;
        long n;

        while (len > 0 && (v[0] == ' ' || v[0] == '\t')) {
                v++;
                len--;
        }
        while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
                len--;
        out = malloc(len + 1);
        check(out != NULL);
        if (len >= lpre + lpost && memcmp(v, pre, lpre) == 0 &&
            memcmp(v + len - lpost, post, lpost) == 0) {
                n = model_base64(v + lpre, len - lpre - lpost, (unsigned char *)out);
        } else {
                memcpy(out, v, len);
                n = (long)len;
        }
        if (n < 0 || memchr(out, '\0', (size_t)n)) {
                free(out);
                return -EINVAL;
        }
        out[n] = '\0';
        *ret = out;
        *ret_len = (size_t)n;
        return 0;
}

static void check_header_safe(const char *e)
{
        size_t n = strlen(e);

        for (size_t i = 0; i < n; i++)
                check((unsigned char)e[i] >= 0x20 && (unsigned char)e[i] <= 0x7e);
        check(n == 0 || (e[0] != ' ' && e[n - 1] != ' '));
}

/* encode(s) is header-safe and decodes to s; returns the encoding. */
static char *check_round_trip(const char *s)
{
        char *e = NULL, *back = NULL;

        check(mcp_header_value_encode(s, &e) == 0 && e != NULL);
        check_header_safe(e);
        check(mcp_header_value_decode(e, strlen(e), &back) == 0 && back != NULL);
        check(strcmp(back, s) == 0);
        free(back);
        return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *v = (const char *)data;
        char *got = NULL, *want = NULL, *s;
        size_t want_len = 0;
        int r, m;

        r = mcp_header_value_decode(v, size, &got);
        m = model_decode(v, size, &want, &want_len);
        check(r == m);
        if (r == 0) {
                char *e, *again = NULL;

                check(got != NULL && strlen(got) == want_len && strcmp(got, want) == 0);
                check(want_len <= size);
                e = check_round_trip(got);
                check(mcp_header_value_decode(e, strlen(e), &again) == 0);
                check(strcmp(again, got) == 0);
                free(again);
                free(e);
        }
        free(got);
        free(want);

        /* The input up to its first NUL as a value to send. */
        s = strndup(v, size);
        check(s != NULL);
        free(check_round_trip(s));
        free(s);
        return 0;
}
