/* SPDX-License-Identifier: MIT */
/*
 * API keys. A key is hashed as soon as it has been found in its source and
 * only the digest is kept; temporary copies (the key file's bytes, cJSON's
 * copies of the object keys) are wiped with explicit_bzero before they are
 * freed. Warnings name an entry by its position or its client id, never by
 * any part of its key.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/auth.h"
#include "json.h"
#include "fileio.h"
#include "mcp-limits.h"
#include "macro.h"
#include "strv.h"

/* Longest field name quoted back in a warning about an unknown field. */
#define AUTH_FIELD_NAME_SHOWN 64

#ifndef STRINGIFY
#define STRINGIFY_(x) #x
#define STRINGIFY(x)  STRINGIFY_(x)
#endif

static bool streq(const char *a, const char *b)
{
        return strcmp(a, b) == 0;
}

static void warnf(auth_warn_cb warn, void *userdata, const char *fmt, ...) _printf_(3, 4);
static void warnf(auth_warn_cb warn, void *userdata, const char *fmt, ...)
{
        va_list ap;
        char *m = NULL;
        int r;

        if (!warn)
                return;
        va_start(ap, fmt);
        r = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (r < 0)
                return;
        warn(userdata, m);
        free(m);
}

static bool is_blank(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void trim(const char **b, const char **e)
{
        while (*b < *e && is_blank(**b))
                (*b)++;
        while (*e > *b && is_blank((*e)[-1]))
                (*e)--;
}

/* Keys are sent in an HTTP header, so only visible ASCII can ever match. */
static const char *key_problem(const char *k, size_t n)
{
        if (n == 0)
                return "empty key";
        if (n > KEY_MAX_LEN)
                return "key longer than " STRINGIFY(KEY_MAX_LEN) " bytes";
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)k[i];
                if (c <= 0x20 || c >= 0x7f)
                        return "key contains whitespace or a non-printable character";
        }
        return NULL;
}

const char *auth_client_id_problem(const char *s, size_t n)
{
        if (n == 0)
                return "empty client id";
        if (n > CLIENT_ID_MAX_LEN)
                return "client id longer than " STRINGIFY(CLIENT_ID_MAX_LEN) " bytes";
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\'' || c == '\\')
                        return "client id must be printable ASCII without spaces, quotes or "
                               "backslashes";
        }
        return NULL;
}

/*
 * A key file entry named "sha256:<64 hex digits>" (prefix and digits in any
 * case) holds the digest of the key instead of the key. Returns 1 for such a
 * name, filling ret_digest unless it is NULL; 0 for a plain key; -EINVAL when
 * the name has the prefix but not exactly 64 hex digits after it.
 */
int auth_hashed_key_digest(const char *name, uint8_t ret_digest[SHA256_DIGEST_SIZE])
{
        size_t n = strlen(name);

        if (n < STRLEN(AUTH_HASHED_PREFIX) ||
            strncasecmp(name, AUTH_HASHED_PREFIX, STRLEN(AUTH_HASHED_PREFIX)) != 0)
                return 0;
        name += STRLEN(AUTH_HASHED_PREFIX);
        n -= STRLEN(AUTH_HASHED_PREFIX);
        if (n != 2 * SHA256_DIGEST_SIZE)
                return -EINVAL;
        {
                uint8_t d[SHA256_DIGEST_SIZE];
                int r = hex_decode(name, SHA256_DIGEST_SIZE, d);
                if (r >= 0 && ret_digest)
                        memcpy(ret_digest, d, sizeof(d));
                else if (ret_digest)
                        explicit_bzero(ret_digest, SHA256_DIGEST_SIZE);
                explicit_bzero(d, sizeof(d));
                if (r < 0)
                        return r;
        }
        return 1;
}

static char **scopes_default(void)
{
        char **v = calloc(2, sizeof(char *));
        if (!v)
                return NULL;
        v[0] = strdup("*");
        if (!v[0]) {
                free(v);
                return NULL;
        }
        return v;
}

static void api_key_done(struct api_key *k)
{
        explicit_bzero(k->digest, sizeof(k->digest));
        free(k->client_id);
        strv_free(k->scopes);
        *k = (struct api_key){};
}

/* Drops the keys past the first n. */
static void keyring_truncate(struct keyring *kr, size_t n)
{
        while (kr->n_keys > n)
                api_key_done(&kr->keys[--kr->n_keys]);
}

static const struct api_key *keyring_find(const struct keyring *kr,
                                          const uint8_t digest[SHA256_DIGEST_SIZE])
{
        for (size_t i = 0; i < kr->n_keys; i++)
                if (memeq_consttime(kr->keys[i].digest, digest, SHA256_DIGEST_SIZE))
                        return &kr->keys[i];
        return NULL;
}

/*
 * Takes ownership of client_id and scopes in every case. Returns 1 when
 * added, 0 for a duplicate (warned about, using where as the prefix),
 * -ENOMEM or -E2BIG.
 */
static int keyring_push(struct keyring *kr, const uint8_t digest[SHA256_DIGEST_SIZE],
                        char *client_id, char **scopes, int64_t expires_at, const char *where,
                        auth_warn_cb warn, void *userdata)
{
        const struct api_key *dup;
        int r;

        dup = keyring_find(kr, digest);
        if (dup) {
                warnf(warn, userdata,
                      "%s: duplicate key (client '%s', first used by client '%s'), ignoring", where,
                      client_id, dup->client_id);
                r = 0;
                goto fail;
        }
        if (kr->n_keys >= KEYS_MAX) {
                r = -E2BIG;
                goto fail;
        }
        if (!kr->keys || (kr->n_keys >= 4 && (kr->n_keys & (kr->n_keys - 1)) == 0)) {
                /* The capacity is implied by n_keys: 4, then the next power of two. */
                size_t n = kr->keys ? kr->n_keys * 2 : 4;
                struct api_key *k = reallocarray(kr->keys, n, sizeof(*k));
                if (!k) {
                        r = -ENOMEM;
                        goto fail;
                }
                kr->keys = k;
        }
        kr->keys[kr->n_keys] = (struct api_key){
            .client_id = client_id,
            .scopes = scopes,
            .expires_at = expires_at,
        };
        memcpy(kr->keys[kr->n_keys].digest, digest, SHA256_DIGEST_SIZE);
        kr->n_keys++;
        return 1;

fail:
        free(client_id);
        strv_free(scopes);
        return r;
}

static int env_entry(struct keyring *kr, const char *b, const char *e, unsigned pos,
                     auth_warn_cb warn, void *userdata)
{
        const char *colon, *kb, *ke, *cb, *ce, *problem;
        uint8_t digest[SHA256_DIGEST_SIZE];
        char where[64], *client_id;
        char **scopes;
        int r;

        snprintf(where, sizeof(where), "MCP_API_KEYS entry %u", pos);

        colon = memchr(b, ':', (size_t)(e - b));
        if (!colon) {
                warnf(warn, userdata, "%s: missing ':' between key and client id, ignoring", where);
                return 0;
        }
        kb = b;
        ke = colon;
        cb = colon + 1;
        ce = e;
        trim(&kb, &ke);
        trim(&cb, &ce);

        problem = key_problem(kb, (size_t)(ke - kb));
        if (!problem)
                problem = auth_client_id_problem(cb, (size_t)(ce - cb));
        if (problem) {
                warnf(warn, userdata, "%s: %s, ignoring", where, problem);
                return 0;
        }

        client_id = strndup(cb, (size_t)(ce - cb));
        scopes = scopes_default();
        if (!client_id || !scopes) {
                free(client_id);
                strv_free(scopes);
                return -ENOMEM;
        }

        /* The key is hashed straight out of the caller's string: no copy to wipe. */
        sha256(kb, (size_t)(ke - kb), digest);
        r = keyring_push(kr, digest, client_id, scopes, 0, where, warn, userdata);
        explicit_bzero(digest, sizeof(digest));
        return r;
}

int keyring_add_env(struct keyring *kr, const char *spec, auth_warn_cb warn, void *userdata)
{
        const char *p = spec;
        unsigned pos = 0;
        int added = 0;

        if (!spec)
                return 0;

        for (;;) {
                const char *end = strchrnul(p, ','), *b = p, *e = end;
                pos++;
                trim(&b, &e);
                /* Empty entries ("a:b,", "a:b,,c:d") are tolerated silently. */
                if (b < e) {
                        int r = env_entry(kr, b, e, pos, warn, userdata);
                        if (r < 0)
                                return r;
                        added += r;
                }
                if (*end == '\0')
                        break;
                p = end + 1;
        }
        return added;
}

/* A field name quoted back to the operator: visible ASCII only, bounded. */
static void sanitize_name(const char *s, char *out, size_t outlen)
{
        size_t i;

        for (i = 0; s[i] && i + 1 < outlen && i < AUTH_FIELD_NAME_SHOWN; i++) {
                unsigned char c = (unsigned char)s[i];
                out[i] = (c < 0x20 || c >= 0x7f || c == '"') ? '?' : (char)c;
        }
        out[i] = '\0';
}

static int parse_scopes(const cJSON *v, char ***ret)
{
        const cJSON *s;
        size_t n = 0, i = 0;
        char **scopes;

        if (!v || cJSON_IsNull(v)) {
                *ret = scopes_default();
                return *ret ? 0 : -ENOMEM;
        }
        if (!cJSON_IsArray(v))
                return -EINVAL;
        cJSON_ArrayForEach(s, v)
        {
                if (!cJSON_IsString(s) || !s->valuestring[0])
                        return -EINVAL;
                n++;
        }
        scopes = calloc(n + 1, sizeof(char *));
        if (!scopes)
                return -ENOMEM;
        cJSON_ArrayForEach(s, v)
        {
                scopes[i] = strdup(s->valuestring);
                if (!scopes[i]) {
                        strv_free(scopes);
                        return -ENOMEM;
                }
                i++;
        }
        *ret = scopes;
        return 0;
}

static int file_entry(struct keyring *kr, const cJSON *item, const char *path, unsigned pos,
                      auth_warn_cb warn, void *userdata)
{
        const char *key = item->string, *problem;
        const cJSON *cid, *field, *exp;
        uint8_t digest[SHA256_DIGEST_SIZE];
        _cleanup_free_ char *where = NULL;
        char *client_id;
        char **scopes = NULL;
        int64_t expires_at = 0;
        int r, hashed;

        if (asprintf(&where, "%s: entry %u", path, pos) < 0)
                return -ENOMEM;

        problem = key_problem(key, strlen(key));
        if (problem) {
                warnf(warn, userdata, "%s: %s, ignoring", where, problem);
                return 0;
        }
        hashed = auth_hashed_key_digest(key, NULL);
        if (hashed < 0) {
                warnf(warn, userdata,
                      "%s: \"" AUTH_HASHED_PREFIX "\" is not followed by %d hexadecimal digits, "
                      "ignoring",
                      where, 2 * SHA256_DIGEST_SIZE);
                return 0;
        }
        if (!cJSON_IsObject(item)) {
                warnf(warn, userdata, "%s: not an object, ignoring", where);
                return 0;
        }
        cid = json_get(item, "client_id");
        if (!cJSON_IsString(cid)) {
                warnf(warn, userdata, "%s: missing or non-string \"client_id\", ignoring", where);
                return 0;
        }
        problem = auth_client_id_problem(cid->valuestring, strlen(cid->valuestring));
        if (problem) {
                warnf(warn, userdata, "%s: %s, ignoring", where, problem);
                return 0;
        }

        /* From here on the entry has a presentable name. */
        cJSON_ArrayForEach(field, item)
        {
                char name[AUTH_FIELD_NAME_SHOWN + 1];

                if (streq(field->string, "client_id") || streq(field->string, "scopes") ||
                    streq(field->string, "expires_at"))
                        continue;
                sanitize_name(field->string, name, sizeof(name));
                warnf(warn, userdata, "%s: client '%s': unknown field \"%s\", ignoring", path,
                      cid->valuestring, name);
        }

        exp = json_get(item, "expires_at");
        if (exp && !cJSON_IsNull(exp)) {
                if (!cJSON_IsNumber(exp) || !isfinite(exp->valuedouble) ||
                    exp->valuedouble >= 9.2e18 || exp->valuedouble <= -9.2e18) {
                        warnf(warn, userdata,
                              "%s: client '%s': \"expires_at\" is not a number of seconds since "
                              "the epoch, ignoring",
                              path, cid->valuestring);
                        return 0;
                }
                expires_at = (int64_t)exp->valuedouble;
        }

        r = parse_scopes(json_get(item, "scopes"), &scopes);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                warnf(warn, userdata,
                      "%s: client '%s': \"scopes\" is not an array of non-empty strings, ignoring",
                      path, cid->valuestring);
                return 0;
        }

        client_id = strdup(cid->valuestring);
        if (!client_id) {
                strv_free(scopes);
                return -ENOMEM;
        }

        if (hashed)
                (void)auth_hashed_key_digest(key, digest);
        else
                sha256(key, strlen(key), digest);
        r = keyring_push(kr, digest, client_id, scopes, expires_at, where, warn, userdata);
        explicit_bzero(digest, sizeof(digest));
        return r;
}

/* cJSON copied every object key (an API key) into its own allocation. */
static void json_wipe_keys(cJSON *root)
{
        cJSON *item;

        cJSON_ArrayForEach(item, root)
        {
                if (item->string)
                        explicit_bzero(item->string, strlen(item->string));
        }
}

int keyring_add_file(struct keyring *kr, const char *path, auth_warn_cb warn, void *userdata)
{
        _cleanup_close_ int fd = -EBADF;
        const char *end = NULL;
        char *data = NULL;
        cJSON *root, *item;
        size_t len = 0, n_before = kr->n_keys;
        unsigned pos = 0;
        int r, added = 0;
        bool has_nul;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        r = file_read_all(fd, KEYS_FILE_MAX, &data, &len);
        if (r < 0)
                return r;

        end = data + json_find_nul(data, len);
        has_nul = end < data + len;
        root = has_nul ? NULL : cJSON_ParseWithLengthOpts(data, len, &end, false);
        if (root && end) {
                /* cJSON stops after the first value; anything but whitespace may follow. */
                while ((size_t)(end - data) < len && is_blank(*end))
                        end++;
                if ((size_t)(end - data) < len) {
                        json_wipe_keys(root);
                        cJSON_Delete(root);
                        root = NULL;
                }
        }
        if (!root) {
                unsigned line, col;
                size_t off =
                    end && end >= data && (size_t)(end - data) <= len ? (size_t)(end - data) : 0;
                text_line_column(data, off, &line, &col);
                explicit_bzero(data, len);
                free(data);
                warnf(warn, userdata, "%s: line %u, column %u: invalid JSON%s", path, line, col,
                      has_nul ? " (NUL character)" : "");
                return -EBADMSG;
        }
        explicit_bzero(data, len);
        free(data);

        if (!cJSON_IsObject(root)) {
                warnf(warn, userdata, "%s: top level is not a JSON object", path);
                r = -EBADMSG;
                goto finish;
        }

        cJSON_ArrayForEach(item, root)
        {
                r = file_entry(kr, item, path, ++pos, warn, userdata);
                if (r < 0)
                        goto finish;
                added += r;
        }
        r = added;

finish:
        if (r < 0)
                keyring_truncate(kr, n_before); /* all of the file or nothing */
        json_wipe_keys(root);
        cJSON_Delete(root);
        return r;
}

void keyring_done(struct keyring *kr)
{
        if (!kr)
                return;
        for (size_t i = 0; i < kr->n_keys; i++)
                api_key_done(&kr->keys[i]);
        free(kr->keys);
        *kr = (struct keyring){};
}

static bool is_space_or_tab(char c)
{
        return c == ' ' || c == '\t';
}

enum auth_result keyring_check(const struct keyring *kr, const char *authorization, size_t len,
                               time_t now, const struct api_key **ret_key)
{
        static const char scheme[] = "Bearer";
        const char *p, *e;
        uint8_t digest[SHA256_DIGEST_SIZE];
        const struct api_key *k;
        size_t idx = 0;
        unsigned found = 0;

        if (ret_key)
                *ret_key = NULL;
        if (!authorization)
                return AUTH_MISSING;

        p = authorization;
        e = authorization + len;
        while (p < e && is_space_or_tab(*p))
                p++;
        if ((size_t)(e - p) < sizeof(scheme) - 1 || strncasecmp(p, scheme, sizeof(scheme) - 1) != 0)
                return AUTH_MALFORMED;
        p += sizeof(scheme) - 1;
        if (p == e || !is_space_or_tab(*p))
                return AUTH_MALFORMED;
        while (p < e && is_space_or_tab(*p))
                p++;
        while (e > p && is_blank(e[-1]))
                e--;
        if (p == e)
                return AUTH_MALFORMED;

        sha256(p, (size_t)(e - p), digest);

        /* Look at every key whatever matches, so timing says nothing about which one did. */
        for (size_t i = 0; kr && i < kr->n_keys; i++) {
                unsigned eq =
                    (unsigned)memeq_consttime(digest, kr->keys[i].digest, SHA256_DIGEST_SIZE);
                size_t mask = (size_t)0 - (size_t)(eq & ~found & 1u);
                idx = (idx & ~mask) | (i & mask);
                found |= eq;
        }
        explicit_bzero(digest, sizeof(digest));

        if (!found)
                return AUTH_UNKNOWN;
        k = &kr->keys[idx];
        if (ret_key)
                *ret_key = k;
        if (k->expires_at != 0 && k->expires_at <= (int64_t)now)
                return AUTH_EXPIRED;
        return AUTH_OK;
}

const char *auth_result_to_string(enum auth_result r)
{
        static const char *const table[] = {
            [AUTH_OK] = "ok",           [AUTH_MISSING] = "missing", [AUTH_MALFORMED] = "malformed",
            [AUTH_UNKNOWN] = "unknown", [AUTH_EXPIRED] = "expired",
        };

        if ((unsigned)r >= ELEMENTSOF(table))
                return NULL;
        return table[r];
}

bool api_key_has_scope(const struct api_key *k, const char *scope)
{
        for (char **s = k ? k->scopes : NULL; s && *s; s++)
                if (strcmp(*s, "*") == 0 || strcmp(*s, scope) == 0)
                        return true;
        return false;
}

bool env_is_true(const char *value)
{
        if (!value)
                return false;
        return strcasecmp(value, "true") == 0 || strcmp(value, "1") == 0 ||
               strcasecmp(value, "yes") == 0;
}
