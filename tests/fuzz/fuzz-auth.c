/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for src/auth/auth.c: the MCP_API_KEYS value and the
 * Authorization header, which every client sends before it is anyone. The
 * input is the MCP_API_KEYS value up to its first NUL, then the header
 * value (NUL bytes and all).
 *
 * - The keys loaded are those of a model of mcp-proxy(8)'s MCP_API_KEYS:
 *   entries split at ',', trimmed, split at the first ':', a key of 1 to
 *   KEY_MAX_LEN visible ASCII characters, a client id auth_client_id_problem
 *   accepts, the first of equal keys kept.
 * - Warnings never depend on a key: the same value with every key's
 *   characters changed (one for one, so the same keys stay equal and valid)
 *   gives the same warnings, word for word, and the same count.
 * - keyring_check answers as the model of the header does: spaces and tabs,
 *   "Bearer" in any case, at least one space or tab, the token up to
 *   trailing white space; AUTH_OK with the entry's client id exactly when
 *   the token is a key loaded, AUTH_UNKNOWN for another token, else
 *   AUTH_MALFORMED. The first few keys loaded are also checked in headers
 *   made for them.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/auth.h"
#include "mcp-limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_AUTH_INPUT_MAX 16384
#define FUZZ_AUTH_RECHECK   8

static void check(bool ok)
{
        if (!ok)
                abort();
}

struct warnings {
        char *text;
        size_t len, n;
};

static void on_warning(void *userdata, const char *message)
{
        struct warnings *w = userdata;
        size_t n;

        check(message != NULL);
        n = strlen(message);
        w->text = realloc(w->text, w->len + n + 2);
        check(w->text != NULL);
        memcpy(w->text + w->len, message, n);
        w->len += n;
        w->text[w->len++] = '\n';
        w->text[w->len] = '\0';
        w->n++;
}

static bool blank(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void trim(const char **b, const char **e)
{
        while (*b < *e && blank(**b))
                (*b)++;
        while (*e > *b && blank((*e)[-1]))
                (*e)--;
}

struct entry {
        const char *key, *client;
        size_t key_len, client_len;
};

static bool key_ok(const char *k, size_t n)
{
        if (n == 0 || n > KEY_MAX_LEN)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)k[i] <= 0x20 || (unsigned char)k[i] >= 0x7f)
                        return false;
        return true;
}

/* The entries of spec that load, in order, duplicates dropped, in *ret (malloc'd); how many. */
static size_t model_keys(const char *spec, struct entry **ret)
{
        size_t n = 0, max = 1;
        struct entry *out;

        for (const char *p = spec; *p; p++)
                max += *p == ',';
        out = calloc(max, sizeof(*out));
        check(out != NULL);

        for (const char *p = spec;;) {
                const char *end = strchrnul(p, ','), *b = p, *e = end, *colon;

                trim(&b, &e);
                colon = b < e ? memchr(b, ':', (size_t)(e - b)) : NULL;
                if (colon) {
                        const char *kb = b, *ke = colon, *cb = colon + 1, *ce = e;
                        bool dup = false;

                        trim(&kb, &ke);
                        trim(&cb, &ce);
                        for (size_t i = 0; i < n; i++)
                                if (out[i].key_len == (size_t)(ke - kb) &&
                                    memcmp(out[i].key, kb, out[i].key_len) == 0)
                                        dup = true;
                        if (key_ok(kb, (size_t)(ke - kb)) &&
                            !auth_client_id_problem(cb, (size_t)(ce - cb)) && !dup) {
                                check(n < max);
                                out[n++] =
                                    (struct entry){kb, cb, (size_t)(ke - kb), (size_t)(ce - cb)};
                        }
                }
                if (!*end)
                        break;
                p = end + 1;
        }
        *ret = out;
        return n;
}

/* The key characters of spec changed one for one (visible ASCII but ',' and ':', rotated),
 * all else as it was. */
static char *rotate_keys(const char *spec)
{
        static const char chars[] = "!\"#$%&'()*+-./0123456789;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
        char *s = strdup(spec);
        bool in_key = true;

        check(s != NULL);
        for (char *p = s; *p; p++) {
                const char *q;

                if (*p == ',') {
                        in_key = true;
                        continue;
                }
                if (*p == ':') {
                        in_key = false;
                        continue;
                }
                if (in_key && (q = strchr(chars, *p)))
                        *p = q[1] ? q[1] : chars[0];
        }
        return s;
}

/* The token of a header by the model, or NULL when it is malformed. */
static const char *model_token(const char *h, size_t len, size_t *ret_len)
{
        const char *p = h, *e = h + len;

        while (p < e && (*p == ' ' || *p == '\t'))
                p++;
        if ((size_t)(e - p) < 6 || strncasecmp(p, "Bearer", 6) != 0)
                return NULL;
        p += 6;
        if (p == e || (*p != ' ' && *p != '\t'))
                return NULL;
        while (p < e && (*p == ' ' || *p == '\t'))
                p++;
        while (e > p && blank(e[-1]))
                e--;
        if (p == e)
                return NULL;
        *ret_len = (size_t)(e - p);
        return p;
}

static void check_header(const struct keyring *kr, const struct entry *keys, size_t n_keys,
                         const char *h, size_t len)
{
        const struct api_key *k = (const void *)1;
        const char *tok;
        size_t tok_len = 0;
        enum auth_result r = keyring_check(kr, h, len, 1000, &k);

        check(auth_result_to_string(r) != NULL);
        tok = model_token(h, len, &tok_len);
        if (!tok) {
                check(r == AUTH_MALFORMED && k == NULL);
                return;
        }
        for (size_t i = 0; i < n_keys; i++)
                if (keys[i].key_len == tok_len && memcmp(keys[i].key, tok, tok_len) == 0) {
                        check(r == AUTH_OK && k != NULL);
                        check(strlen(k->client_id) == keys[i].client_len &&
                              memcmp(k->client_id, keys[i].client, keys[i].client_len) == 0);
                        return;
                }
        check(r == AUTH_UNKNOWN && k == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct keyring kr = {}, kr2 = {};
        struct warnings w = {}, w2 = {};
        struct entry *keys;
        const char *h;
        char *spec, *spec2, *made;
        size_t n_keys, hlen;
        int r, r2;

        if (size > FUZZ_AUTH_INPUT_MAX)
                return 0;
        spec = strndup((const char *)data, size);
        check(spec != NULL);
        h = (const char *)data + strlen(spec) + (strlen(spec) < size ? 1 : 0);
        hlen = size - (size_t)(h - (const char *)data);

        r = keyring_add_env(&kr, spec, on_warning, &w);
        n_keys = model_keys(spec, &keys);
        check(r >= 0 && (size_t)r == n_keys && kr.n_keys == n_keys);

        spec2 = rotate_keys(spec);
        r2 = keyring_add_env(&kr2, spec2, on_warning, &w2);
        check(r2 == r && w2.n == w.n);
        check(w.len == w2.len && (w.len == 0 || memcmp(w.text, w2.text, w.len) == 0));

        check(keyring_check(&kr, NULL, 0, 1000, NULL) == AUTH_MISSING);
        check_header(&kr, keys, n_keys, h, hlen);

        /* Each key in a header of its own, the input's first byte choosing the white space. */
        for (size_t i = 0; i < n_keys && i < FUZZ_AUTH_RECHECK; i++) {
                const char *sp[] = {" ", "\t", "  ", " \t"};
                uint8_t b = size > 0 ? data[0] : 0;
                int len;

                len = asprintf(&made, "%sbEaReR%s%.*s%s", b & 1 ? "\t" : "", sp[b >> 1 & 3],
                               (int)keys[i].key_len, keys[i].key, b & 8 ? " \r\n" : "");
                check(len > 0);
                check_header(&kr, keys, n_keys, made, (size_t)len);
                free(made);
        }

        free(keys);
        keyring_done(&kr);
        keyring_done(&kr2);
        free(w.text);
        free(w2.text);
        free(spec2);
        free(spec);
        return 0;
}
