/* SPDX-License-Identifier: MIT */
/*
 * mcp_config.json: parse with cJSON, expand ${VAR} in string values, and
 * validate into struct config. The first error stops the load and is
 * reported as "<file>: <JSON path>: <problem>"; warnings go to the caller's
 * callback in the same shape. Values are never quoted back in messages:
 * an env value or a header may be a secret.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "buf.h"
#include "config/config.h"
#include "config/json-load.h"
#include "json.h"
#include "mcp-limits.h"
#include "macro.h"
#include "sha256.h"
#include "strv.h"

/* Longest result of expanding one string value. */
#define CONFIG_EXPAND_MAX CONFIG_FILE_MAX
/* Largest accepted timeout, in seconds (a year). */
#define CONFIG_TIMEOUT_S_MAX (365.0 * 24 * 3600)

#ifndef STRINGIFY
#define STRINGIFY_(x) #x
#define STRINGIFY(x)  STRINGIFY_(x)
#endif

static const char *const transport_table[_TRANSPORT_MAX] = {
    [TRANSPORT_STDIO] = "stdio",
    [TRANSPORT_HTTP] = "http",
    [TRANSPORT_SSE] = "sse",
    [TRANSPORT_AUTO] = "auto",
};

const char *transport_to_string(enum upstream_transport t)
{
        if (t < 0 || t >= _TRANSPORT_MAX)
                return NULL;
        return transport_table[t];
}

static bool streq(const char *a, const char *b)
{
        return strcmp(a, b) == 0;
}

static bool is_alpha(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

/* ---- ${VAR} expansion ---- */

static bool is_name_start(char c)
{
        return is_alpha(c) || c == '_';
}

static bool is_name_char(char c)
{
        return is_name_start(c) || is_digit(c);
}

char *config_expand(const char *s, void (*unset_cb)(void *userdata, const char *name),
                    void *userdata)
{
        struct buf b;
        const char *p = s, *close = NULL;
        int r = 0;

        buf_init(&b, CONFIG_EXPAND_MAX);

        while (*p) {
                const char *d = strchr(p, '$'), *n, *ne, *v;
                char *name;

                if (!d) {
                        r = buf_append_str(&b, p);
                        break;
                }
                r = buf_append(&b, p, (size_t)(d - p));
                if (r < 0)
                        break;

                if (d[1] == '$' && d[2] == '{') {
                        /* "$${" is a literal "${"; the '{' is copied as text next round. */
                        r = buf_append(&b, "$", 1);
                        p = d + 2;
                        if (r < 0)
                                break;
                        continue;
                }
                if (d[1] != '{') {
                        /* "$NAME", "$$", a lone '$': text. */
                        r = buf_append(&b, "$", 1);
                        p = d + 1;
                        if (r < 0)
                                break;
                        continue;
                }

                /* The first '}' after "${"; kept while it lies ahead, so this stays linear. */
                if (!close || close < d + 2)
                        close = strchr(d + 2, '}');
                if (!close) {
                        buf_done(&b);
                        errno = EINVAL;
                        return NULL;
                }
                n = ne = d + 2;
                if (is_name_start(*ne))
                        while (is_name_char(*++ne))
                                ;
                if (ne == n || (ne != close && !(ne[0] == ':' && ne[1] == '-'))) {
                        /* "${1A}", "${A-b}", "${}": not a reference, copied as text. */
                        r = buf_append(&b, "${", 2);
                        p = d + 2;
                        if (r < 0)
                                break;
                        continue;
                }

                name = strndup(n, (size_t)(ne - n));
                if (!name) {
                        buf_done(&b);
                        errno = ENOMEM;
                        return NULL;
                }
                v = getenv(name);
                if (v && *v)
                        r = buf_append_str(&b, v);
                else if (ne != close)
                        /* ":-default": the default runs to the first '}', taken literally. */
                        r = buf_append(&b, ne + 2, (size_t)(close - (ne + 2)));
                else if (!v && unset_cb)
                        unset_cb(userdata, name);
                free(name);
                if (r < 0)
                        break;
                p = close + 1;
        }

        if (r < 0) {
                buf_done(&b);
                errno = -r;
                return NULL;
        }
        if (!b.data) {
                char *e = strdup("");
                if (!e)
                        errno = ENOMEM;
                return e;
        }
        return b.data;
}

/* ---- load context ---- */

#define fail(c, ...) json_load_fail(c, -EINVAL, __VA_ARGS__)

static void unset_var(void *userdata, const char *name)
{
        json_load_warn(userdata, "environment variable ${%.128s} is not set, using an empty string",
                       name);
}

/* Expands a string value at the current path into *ret (malloc'd). */
static int expand_value(struct json_load *c, const cJSON *v, char **ret)
{
        char *s;

        if (!cJSON_IsString(v))
                return fail(c, "expected a string");
        s = config_expand(v->valuestring, unset_var, c);
        if (!s) {
                if (errno == EINVAL)
                        return fail(c, "unterminated \"${\"");
                if (errno == E2BIG)
                        return fail(c, "longer than %d bytes after expansion", CONFIG_EXPAND_MAX);
                return json_load_fail(c, -ENOMEM, "out of memory");
        }
        *ret = s;
        return 0;
}

static int expand_nonempty(struct json_load *c, const cJSON *v, char **ret)
{
        char *s = NULL;
        int r = expand_value(c, v, &s);

        if (r < 0)
                return r;
        if (!*s) {
                free(s);
                return fail(c, "must not be empty");
        }
        *ret = s;
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- numbers ---- */

/*
 * 8080 -> "8080", 1.5 -> "1.5": the shortest form that reads back the same.
 * (No libm: the binaries do not link it.)
 */
static int format_number(double v, char *out, size_t n)
{
        if (!isfinite(v))
                return -ERANGE;
        if (v > -9007199254740992.0 && v < 9007199254740992.0 && v == (double)(long long)v) {
                snprintf(out, n, "%lld", (long long)v);
                return 0;
        }
        for (int prec = 15; prec <= 17; prec++) {
                snprintf(out, n, "%.*g", prec, v);
                if (strtod(out, NULL) == v)
                        break;
        }
        return 0;
}

static int parse_seconds(struct json_load *c, const cJSON *v, int64_t *ret_ms)
{
        double s, ms;

        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble <= 0)
                return fail(c, "expected a positive number of seconds");
        s = v->valuedouble;
        if (s > CONFIG_TIMEOUT_S_MAX)
                return fail(c, "more than %.0f seconds", CONFIG_TIMEOUT_S_MAX);
        ms = (double)(int64_t)(s * 1000.0 + 0.5);
        *ret_ms = ms < 1 ? 1 : (int64_t)ms;
        return 0;
}

/* ---- per-key parsers ---- */

static int parse_args(struct json_load *c, const cJSON *v, struct server_config *s)
{
        const cJSON *a;
        size_t n, i = 0;

        if (!cJSON_IsArray(v))
                return fail(c, "expected an array of strings");
        n = (size_t)cJSON_GetArraySize(v);
        s->args = calloc(n + 1, sizeof(char *));
        if (!s->args)
                return json_load_fail(c, -ENOMEM, "out of memory");

        cJSON_ArrayForEach(a, v)
        {
                size_t old = jpath_push_index(&c->jp, i);
                int r;

                if (cJSON_IsString(a))
                        r = expand_value(c, a, &s->args[i]);
                else if (cJSON_IsNumber(a)) {
                        char num[64];
                        if (format_number(a->valuedouble, num, sizeof(num)) < 0)
                                r = fail(c, "number out of range");
                        else if (!(s->args[i] = strdup(num)))
                                r = json_load_fail(c, -ENOMEM, "out of memory");
                        else
                                r = 0;
                } else
                        r = fail(c, "expected a string or a number");
                if (r < 0)
                        return r;
                jpath_pop(&c->jp, old);
                i++;
        }
        return 0;
}

static bool valid_env_name(const char *k)
{
        return *k && !strchr(k, '=');
}

/* RFC 9110 token. */
static bool is_tchar(char ch)
{
        return is_alpha(ch) || is_digit(ch) || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static bool valid_header_name(const char *k)
{
        if (!*k)
                return false;
        for (; *k; k++)
                if (!is_tchar(*k))
                        return false;
        return true;
}

struct map_entry {
        const cJSON *item;
        size_t index;
};

static int cmp_env_entry(const void *a, const void *b)
{
        const struct map_entry *x = a, *y = b;
        int r = strcmp(x->item->string, y->item->string);
        return r ? r : (x->index > y->index) - (x->index < y->index);
}

static int cmp_header_entry(const void *a, const void *b)
{
        const struct map_entry *x = a, *y = b;
        int r = strcasecmp(x->item->string, y->item->string);
        return r ? r : (x->index > y->index) - (x->index < y->index);
}

/*
 * "env" and "headers": an object of strings, rendered "KEY=value" or
 * "Name: value" in file order. A name given twice (for headers in any
 * case) is an error, reported at the later one.
 */
static int parse_string_map(struct json_load *c, const cJSON *v, bool headers, char ***ret)
{
        _cleanup_free_ struct map_entry *sorted = NULL;
        const cJSON *e;
        char **out;
        size_t n, i = 0;

        if (!cJSON_IsObject(v))
                return fail(c, "expected an object of strings");
        n = (size_t)cJSON_GetArraySize(v);

        sorted = calloc(n ? n : 1, sizeof(*sorted));
        if (!sorted)
                return json_load_fail(c, -ENOMEM, "out of memory");
        cJSON_ArrayForEach(e, v)
        {
                sorted[i] = (struct map_entry){e, i};
                i++;
        }
        qsort(sorted, n, sizeof(*sorted), headers ? cmp_header_entry : cmp_env_entry);
        for (i = 1; i < n; i++)
                if ((headers ? strcasecmp : strcmp)(sorted[i - 1].item->string,
                                                    sorted[i].item->string) == 0) {
                        jpath_push_key(&c->jp, sorted[i].item->string);
                        return fail(c, headers ? "duplicate header" : "duplicate variable");
                }

        out = calloc(n + 1, sizeof(char *));
        if (!out)
                return json_load_fail(c, -ENOMEM, "out of memory");
        *ret = out;

        i = 0;
        cJSON_ArrayForEach(e, v)
        {
                size_t old = jpath_push_key(&c->jp, e->string);
                char *val = NULL;
                int r;

                if (headers ? !valid_header_name(e->string) : !valid_env_name(e->string))
                        return fail(c, headers ? "invalid header name (expected an HTTP token)"
                                               : "invalid variable name (empty or contains '=')");
                r = expand_value(c, e, &val);
                if (r < 0)
                        return r;
                if (headers && strpbrk(val, "\r\n")) {
                        free(val);
                        return fail(c, "header value must not contain CR or LF");
                }
                r = headers ? asprintf(&out[i], "%s: %s", e->string, val)
                            : asprintf(&out[i], "%s=%s", e->string, val);
                /* The value may be a token: do not leave a stray copy in the heap. */
                explicit_bzero(val, strlen(val));
                free(val);
                if (r < 0) {
                        out[i] = NULL;
                        return json_load_fail(c, -ENOMEM, "out of memory");
                }
                jpath_pop(&c->jp, old);
                i++;
        }
        return 0;
}

static bool url_has_http_scheme(const char *u, size_t *ret_skip)
{
        if (strncasecmp(u, "http://", 7) == 0)
                *ret_skip = 7;
        else if (strncasecmp(u, "https://", 8) == 0)
                *ret_skip = 8;
        else
                return false;
        return true;
}

static int check_url(struct json_load *c, const char *u)
{
        size_t skip;

        if (!url_has_http_scheme(u, &skip) || !u[skip] || strchr("/?#", u[skip]))
                return fail(c, "expected an http:// or https:// URL with a host");
        for (const char *p = u; *p; p++)
                if ((unsigned char)*p <= 0x20 || *p == 0x7f)
                        return fail(c, "URL must not contain spaces or control characters");
        return 0;
}

/* Legacy SSE endpoints conventionally live at .../sse. */
static bool url_path_is_sse(const char *u)
{
        size_t skip = 0, plen;
        const char *p;

        if (!url_has_http_scheme(u, &skip))
                return false;
        p = u + skip;
        p += strcspn(p, "/?#");
        if (*p != '/')
                return false;
        plen = strcspn(p, "?#");
        return (plen >= 4 && memcmp(p + plen - 4, "/sse", 4) == 0) ||
               (plen >= 5 && memcmp(p + plen - 5, "/sse/", 5) == 0);
}

static enum upstream_transport transport_from_config(const char *s)
{
        if (streq(s, "stdio"))
                return TRANSPORT_STDIO;
        if (streq(s, "http") || streq(s, "streamable-http") || streq(s, "streamableHttp"))
                return TRANSPORT_HTTP;
        if (streq(s, "sse"))
                return TRANSPORT_SSE;
        return _TRANSPORT_INVALID;
}

/* ---- the identity hash ---- */

static void hash_str(struct sha256_ctx *h, const char *tag, const char *v)
{
        char pre[64];
        size_t n = strlen(v);
        int k;

        if (!v)
                return;
        k = snprintf(pre, sizeof(pre), "%s=%zu:", tag, n);
        sha256_update(h, pre, (size_t)k);
        sha256_update(h, v, n);
        sha256_update(h, "\n", 1);
}

static void hash_int(struct sha256_ctx *h, const char *tag, int64_t v)
{
        char s[96];
        int k = snprintf(s, sizeof(s), "%s#%lld\n", tag, (long long)v);

        sha256_update(h, s, (size_t)k);
}

static int hash_strv(struct sha256_ctx *h, const char *tag, char **v, bool sort)
{
        _cleanup_free_ char **copy = NULL;
        size_t n;

        if (!v)
                return 0;
        n = strv_length(v);
        hash_int(h, tag, (int64_t)n);
        if (sort && n > 1) {
                copy = malloc(n * sizeof(char *));
                if (!copy)
                        return -ENOMEM;
                memcpy(copy, v, n * sizeof(char *));
                qsort(copy, n, sizeof(char *), cmp_str);
                v = copy;
        }
        for (size_t i = 0; i < n; i++)
                hash_str(h, tag, v[i]);
        return 0;
}

/*
 * Everything that changes how the upstream is reached or run, in a fixed
 * order, with lengths so no two configs render alike. Unordered maps (env,
 * headers) are sorted; args keep their order. The name is not included: it
 * is the key the hash is looked up under.
 */
static int server_hash(struct server_config *s)
{
        struct sha256_ctx h;
        uint8_t d[SHA256_DIGEST_SIZE];

        sha256_init(&h);
        sha256_update(&h, "mcp-proxy server v1\n", 20);
        hash_str(&h, "transport", transport_to_string(s->transport));
        if (s->command)
                hash_str(&h, "command", s->command);
        if (hash_strv(&h, "args", s->args, false) < 0 || hash_strv(&h, "env", s->env, true) < 0 ||
            hash_strv(&h, "headers", s->headers, true) < 0) {
                explicit_bzero(&h, sizeof(h));
                return -ENOMEM;
        }
        if (s->cwd)
                hash_str(&h, "cwd", s->cwd);
        if (s->url)
                hash_str(&h, "url", s->url);
        hash_int(&h, "startup_timeout_ms", s->startup_timeout_ms);
        hash_int(&h, "request_timeout_ms", s->request_timeout_ms);
        hash_int(&h, "max_request_timeout_ms", s->max_request_timeout_ms);
        hash_int(&h, "connect_timeout_ms", s->connect_timeout_ms);
        hash_int(&h, "max_restarts", s->max_restarts);
        hash_int(&h, "disabled", s->disabled);
        hash_str(&h, "isolation", isolation_to_string(s->isolation));
        hash_int(&h, "idle_timeout_ms", s->idle_timeout_ms);
        hash_int(&h, "max_instances", s->max_instances);
        hash_int(&h, "max_concurrency", s->max_concurrency);
        hash_int(&h, "forward_roots", s->forward_roots);
        if (hash_strv(&h, "roots", s->roots, false) < 0 ||
            hash_strv(&h, "root_names", s->root_names, false) < 0) {
                explicit_bzero(&h, sizeof(h));
                return -ENOMEM;
        }
        sha256_final(&h, d);
        hex_encode(d, sizeof(d), s->hash);
        return 0;
}

/* ---- one server ---- */

enum server_key {
        KEY_COMMAND,
        KEY_ARGS,
        KEY_ENV,
        KEY_CWD,
        KEY_URL,
        KEY_TRANSPORT,
        KEY_TYPE,
        KEY_HEADERS,
        KEY_STARTUP_TIMEOUT,
        KEY_TIMEOUT,
        KEY_MAX_TIMEOUT,
        KEY_CONNECT_TIMEOUT,
        KEY_MAX_RESTARTS,
        KEY_DISABLED,
        KEY_DESCRIPTION,
        KEY_ICON,
        KEY_ISOLATION,
        KEY_IDLE_TIMEOUT,
        KEY_MAX_INSTANCES,
        KEY_ROOTS,
        KEY_FORWARD_ROOTS,
        KEY_MAX_CONCURRENCY,
        _KEY_MAX,
};

static const char *const server_key_table[_KEY_MAX] = {
    [KEY_COMMAND] = "command",
    [KEY_ARGS] = "args",
    [KEY_ENV] = "env",
    [KEY_CWD] = "cwd",
    [KEY_URL] = "url",
    [KEY_TRANSPORT] = "transport",
    [KEY_TYPE] = "type",
    [KEY_HEADERS] = "headers",
    [KEY_STARTUP_TIMEOUT] = "startupTimeout",
    [KEY_TIMEOUT] = "timeout",
    [KEY_MAX_TIMEOUT] = "maxTimeout",
    [KEY_CONNECT_TIMEOUT] = "connectTimeout",
    [KEY_MAX_RESTARTS] = "maxRestarts",
    [KEY_DISABLED] = "disabled",
    [KEY_DESCRIPTION] = "description",
    [KEY_ICON] = "icon",
    [KEY_ISOLATION] = "isolation",
    [KEY_IDLE_TIMEOUT] = "idleTimeout",
    [KEY_MAX_INSTANCES] = "maxInstances",
    [KEY_ROOTS] = "roots",
    [KEY_FORWARD_ROOTS] = "forwardRoots",
    [KEY_MAX_CONCURRENCY] = "maxConcurrency",
};

static const char *const isolation_table[_ISOLATION_MAX] = {
    [ISOLATION_SHARED] = "shared",
    [ISOLATION_CLIENT] = "client",
    [ISOLATION_SESSION] = "session",
};

const char *isolation_to_string(enum isolation i)
{
        if (i < 0 || i >= _ISOLATION_MAX)
                return "invalid";
        return isolation_table[i];
}

enum isolation isolation_from_string(const char *s)
{
        for (int i = 0; s && i < _ISOLATION_MAX; i++)
                if (streq(s, isolation_table[i]))
                        return (enum isolation)i;
        return _ISOLATION_INVALID;
}

static int server_key_from_string(const char *s)
{
        for (int i = 0; i < _KEY_MAX; i++)
                if (streq(s, server_key_table[i]))
                        return i;
        return -1;
}

static bool valid_server_name(const char *s)
{
        size_t n = 0;

        for (; s[n]; n++)
                if (!is_alpha(s[n]) && !is_digit(s[n]) && !strchr("_.-", s[n]))
                        return false;
        return n >= 1 && n <= CONFIG_SERVER_NAME_MAX;
}

void server_config_done(struct server_config *s)
{
        free(s->name);
        free(s->command);
        strv_free(s->args);
        strv_free_erase(s->env);
        free(s->cwd);
        free(s->url);
        strv_free_erase(s->headers);
        strv_free(s->roots);
        strv_free(s->root_names);
        *s = (struct server_config){};
}

static int strdup_opt(const char *s, char **ret)
{
        *ret = NULL;
        if (!s)
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

int server_config_copy(const struct server_config *src, struct server_config *ret)
{
        struct server_config d = *src;

        d.name = d.command = d.cwd = d.url = NULL;
        d.args = d.env = d.headers = d.roots = d.root_names = NULL;
        if (strdup_opt(src->name, &d.name) < 0 || strdup_opt(src->command, &d.command) < 0 ||
            strdup_opt(src->cwd, &d.cwd) < 0 || strdup_opt(src->url, &d.url) < 0 ||
            strv_copy(src->args, &d.args) < 0 || strv_copy(src->env, &d.env) < 0 ||
            strv_copy(src->headers, &d.headers) < 0 || strv_copy(src->roots, &d.roots) < 0 ||
            strv_copy(src->root_names, &d.root_names) < 0) {
                server_config_done(&d);
                *ret = (struct server_config){};
                return -ENOMEM;
        }
        *ret = d;
        return 0;
}

/* "roots": absolute paths (made file:// URIs) or file:// URIs, or {"uri":..,"name":..}. */
static int parse_roots(struct json_load *c, const cJSON *v, struct server_config *s)
{
        const cJSON *e;
        size_t n, i = 0, old;
        int r;

        if (!cJSON_IsArray(v))
                return fail(c, "expected an array of paths, file:// URIs or {\"uri\", \"name\"}");
        n = (size_t)cJSON_GetArraySize(v);
        if (n > CONFIG_MAX_ROOTS)
                return fail(c, "too many roots (at most %d)", CONFIG_MAX_ROOTS);
        s->roots = calloc(n + 1, sizeof(char *));
        s->root_names = calloc(n + 1, sizeof(char *));
        if (!s->roots || !s->root_names)
                return json_load_fail(c, -ENOMEM, "out of memory");
        cJSON_ArrayForEach(e, v)
        {
                _cleanup_free_ char *val = NULL, *name = NULL;
                const cJSON *u = e;

                old = jpath_push_index(&c->jp, i);
                if (cJSON_IsObject(e)) {
                        const cJSON *nm = json_get(e, "name");
                        u = json_get(e, "uri");
                        if (!u) {
                                jpath_push_key(&c->jp, "uri");
                                return fail(c, "missing");
                        }
                        if (nm) {
                                size_t o2 = jpath_push_key(&c->jp, "name");
                                r = expand_value(c, nm, &name);
                                if (r < 0)
                                        return r;
                                jpath_pop(&c->jp, o2);
                        }
                }
                r = expand_value(c, u, &val);
                if (r < 0)
                        return r;
                if (val[0] == '/') {
                        char *uri;
                        if (asprintf(&uri, "file://%s", val) < 0)
                                return json_load_fail(c, -ENOMEM, "out of memory");
                        free(val);
                        val = uri;
                } else if (strncmp(val, "file:///", 8) != 0)
                        return fail(c, "expected an absolute path or a file:/// URI");
                s->roots[i] = TAKE_PTR(val);
                s->root_names[i] = name ? TAKE_PTR(name) : strdup("");
                if (!s->root_names[i])
                        return json_load_fail(c, -ENOMEM, "out of memory");
                i++;
                jpath_pop(&c->jp, old);
        }
        return 0;
}

/* Parses one key of a server; the path already ends in that key. */
static int parse_server_key(struct json_load *c, enum server_key k, const cJSON *v,
                            struct server_config *s, enum upstream_transport *ret_transport)
{
        _cleanup_free_ char *t = NULL;
        int r;

        switch (k) {
        case KEY_COMMAND:
                return expand_nonempty(c, v, &s->command);
        case KEY_ARGS:
                return parse_args(c, v, s);
        case KEY_ENV:
                return parse_string_map(c, v, false, &s->env);
        case KEY_CWD:
                return expand_nonempty(c, v, &s->cwd);
        case KEY_URL:
                r = expand_value(c, v, &s->url);
                if (r < 0)
                        return r;
                return check_url(c, s->url);
        case KEY_TRANSPORT:
        case KEY_TYPE:
                r = expand_value(c, v, &t);
                if (r < 0)
                        return r;
                *ret_transport = transport_from_config(t);
                if (*ret_transport < 0)
                        return fail(c, "expected one of \"stdio\", \"http\", \"streamable-http\", "
                                       "\"streamableHttp\", \"sse\"");
                return 0;
        case KEY_HEADERS:
                return parse_string_map(c, v, true, &s->headers);
        case KEY_STARTUP_TIMEOUT:
                return parse_seconds(c, v, &s->startup_timeout_ms);
        case KEY_TIMEOUT:
                return parse_seconds(c, v, &s->request_timeout_ms);
        case KEY_MAX_TIMEOUT:
                return parse_seconds(c, v, &s->max_request_timeout_ms);
        case KEY_CONNECT_TIMEOUT:
                return parse_seconds(c, v, &s->connect_timeout_ms);
        case KEY_MAX_RESTARTS:
                if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
                    v->valuedouble > INT_MAX || v->valuedouble != (double)(int)v->valuedouble)
                        return fail(c, "expected a non-negative integer");
                s->max_restarts = (int)v->valuedouble;
                return 0;
        case KEY_DISABLED:
                if (!cJSON_IsBool(v))
                        return fail(c, "expected true or false");
                s->disabled = cJSON_IsTrue(v);
                return 0;
        case KEY_DESCRIPTION:
        case KEY_ICON:
                /* Informational, for people reading the file. */
                return 0;
        case KEY_ISOLATION:
                r = expand_value(c, v, &t);
                if (r < 0)
                        return r;
                s->isolation = isolation_from_string(t);
                if (s->isolation < 0)
                        return fail(c, "expected one of \"shared\", \"client\", \"session\"");
                return 0;
        case KEY_IDLE_TIMEOUT:
                return parse_seconds(c, v, &s->idle_timeout_ms);
        case KEY_MAX_INSTANCES:
                if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 1 ||
                    v->valuedouble > INSTANCE_MAX_LIMIT ||
                    v->valuedouble != (double)(int)v->valuedouble)
                        return fail(c, "expected an integer from 1 to %d", INSTANCE_MAX_LIMIT);
                s->max_instances = (int)v->valuedouble;
                return 0;
        case KEY_MAX_CONCURRENCY:
                if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
                    v->valuedouble > CONCURRENCY_MAX_LIMIT ||
                    v->valuedouble != (double)(int)v->valuedouble)
                        return fail(c, "expected an integer from 0 (no cap) to %d",
                                    CONCURRENCY_MAX_LIMIT);
                s->max_concurrency = (int)v->valuedouble;
                return 0;
        case KEY_ROOTS:
                return parse_roots(c, v, s);
        case KEY_FORWARD_ROOTS:
                if (!cJSON_IsBool(v))
                        return fail(c, "expected true or false");
                s->forward_roots = cJSON_IsTrue(v);
                return 0;
        case _KEY_MAX:
                break;
        }
        return -EINVAL;
}

static int parse_server(struct json_load *c, const cJSON *item, struct server_config *s)
{
        const cJSON *seen[_KEY_MAX] = {};
        enum upstream_transport tr[_KEY_MAX];
        const cJSON *e;
        int transport_key = -1, r;
        size_t old;

        *s = (struct server_config){
            .transport = _TRANSPORT_INVALID,
            .startup_timeout_ms = STARTUP_TIMEOUT_MS_DEFAULT,
            .request_timeout_ms = REQUEST_TIMEOUT_MS_DEFAULT,
            .max_request_timeout_ms = REQUEST_MAX_TIMEOUT_MS,
            .connect_timeout_ms = CONNECT_TIMEOUT_MS_DEFAULT,
            .max_restarts = -1,
            .isolation = _ISOLATION_INVALID,
            .idle_timeout_ms = INSTANCE_IDLE_MS_DEFAULT,
            .max_instances = INSTANCE_MAX_DEFAULT,
        };

        if (!valid_server_name(item->string))
                return fail(c, "invalid server name (1-" STRINGIFY(
                                   CONFIG_SERVER_NAME_MAX) " characters from A-Z a-z 0-9 _ . -)");
        s->name = strdup(item->string);
        if (!s->name)
                return json_load_fail(c, -ENOMEM, "out of memory");
        if (!cJSON_IsObject(item))
                return fail(c, "expected an object");

        /* Unknown keys are reported (once each) before anything is parsed. */
        cJSON_ArrayForEach(e, item)
        {
                int k = server_key_from_string(e->string);

                old = jpath_push_key(&c->jp, e->string);
                if (k < 0)
                        json_load_warn(c, "unknown key, ignoring");
                else if (seen[k])
                        return fail(c, "duplicate key");
                else
                        seen[k] = e;
                jpath_pop(&c->jp, old);
        }

        /* Then the known ones, in file order. */
        cJSON_ArrayForEach(e, item)
        {
                int k = server_key_from_string(e->string);

                if (k < 0)
                        continue;
                old = jpath_push_key(&c->jp, e->string);
                r = parse_server_key(c, (enum server_key)k, e, s, &tr[k]);
                if (r < 0)
                        return r;
                jpath_pop(&c->jp, old);
        }

        if (seen[KEY_TRANSPORT] && seen[KEY_TYPE] && tr[KEY_TRANSPORT] != tr[KEY_TYPE]) {
                jpath_push_key(&c->jp, "type");
                return fail(c, "conflicts with \"transport\"");
        }
        if (seen[KEY_TRANSPORT])
                transport_key = KEY_TRANSPORT;
        else if (seen[KEY_TYPE])
                transport_key = KEY_TYPE;

        if (s->command && s->url)
                return fail(c, "both \"command\" (stdio) and \"url\" (remote) given; use one");
        if (!s->command && !s->url)
                return fail(c, "needs \"command\" (stdio) or \"url\" (remote)");
        if (s->args && !s->command) {
                jpath_push_key(&c->jp, "args");
                return fail(c, "only valid with \"command\"");
        }

        if (transport_key >= 0) {
                s->transport = tr[transport_key];
                old = jpath_push_key(&c->jp, server_key_table[transport_key]);
                if (s->transport == TRANSPORT_STDIO && s->url)
                        return fail(c, "\"stdio\" needs \"command\", not \"url\"");
                if (s->transport != TRANSPORT_STDIO && s->command)
                        return fail(c, "\"%s\" needs \"url\", not \"command\"",
                                    transport_to_string(s->transport));
                jpath_pop(&c->jp, old);
        } else if (s->command)
                s->transport = TRANSPORT_STDIO;
        else
                s->transport = url_path_is_sse(s->url) ? TRANSPORT_SSE : TRANSPORT_AUTO;

        /* Settings for the other kind of server are harmless: say so and drop them. */
        if (s->url) {
                if (s->env) {
                        old = jpath_push_key(&c->jp, "env");
                        json_load_warn(c, "only used by stdio servers, ignoring");
                        jpath_pop(&c->jp, old);
                        strv_free_erase(TAKE_PTR(s->env));
                }
                if (s->cwd) {
                        old = jpath_push_key(&c->jp, "cwd");
                        json_load_warn(c, "only used by stdio servers, ignoring");
                        jpath_pop(&c->jp, old);
                        free(TAKE_PTR(s->cwd));
                }
        } else if (s->headers) {
                old = jpath_push_key(&c->jp, "headers");
                json_load_warn(c, "only used by remote servers, ignoring");
                jpath_pop(&c->jp, old);
                strv_free_erase(TAKE_PTR(s->headers));
        }

        /* Stdio: a child per client; remote: an HTTP session per client session. */
        if (s->isolation < 0)
                s->isolation =
                    s->transport == TRANSPORT_STDIO ? ISOLATION_CLIENT : ISOLATION_SESSION;
        if (s->forward_roots && s->isolation == ISOLATION_SHARED) {
                jpath_push_key(&c->jp, "forwardRoots");
                return fail(c, "needs \"isolation\": \"client\" or \"session\" (a client's roots "
                               "would apply to every client's calls)");
        }
        if (seen[KEY_IDLE_TIMEOUT] && s->idle_timeout_ms <= 0) {
                jpath_push_key(&c->jp, "idleTimeout");
                return fail(c, "must be more than 0");
        }

        if (seen[KEY_MAX_TIMEOUT]) {
                if (s->max_request_timeout_ms < s->request_timeout_ms) {
                        jpath_push_key(&c->jp, "maxTimeout");
                        return fail(c, "must not be less than \"timeout\"");
                }
        } else if (s->max_request_timeout_ms < s->request_timeout_ms)
                s->max_request_timeout_ms = s->request_timeout_ms;

        if (server_hash(s) < 0)
                return json_load_fail(c, -ENOMEM, "out of memory");
        return 0;
}

/* ---- the file ---- */

static int parse_config(struct json_load *c, const cJSON *root, struct config *cfg)
{
        const cJSON *servers = NULL, *e;
        size_t old, n, i = 0;
        int r;

        if (!cJSON_IsObject(root))
                return fail(c, "expected an object with \"mcpServers\"");

        cJSON_ArrayForEach(e, root)
        {
                old = jpath_push_key(&c->jp, e->string);
                if (!streq(e->string, "mcpServers"))
                        json_load_warn(c, "unknown key, ignoring");
                else if (servers)
                        return fail(c, "duplicate key");
                else
                        servers = e;
                jpath_pop(&c->jp, old);
        }
        if (!servers)
                return fail(c, "missing \"mcpServers\"");

        jpath_push_key(&c->jp, "mcpServers");
        if (!cJSON_IsObject(servers))
                return fail(c, "expected an object");
        n = (size_t)cJSON_GetArraySize(servers);
        if (n == 0)
                return fail(c, "no servers defined");
        if (n > CONFIG_MAX_SERVERS)
                return fail(c, "too many servers (at most %d)", CONFIG_MAX_SERVERS);

        cfg->servers = calloc(n, sizeof(*cfg->servers));
        if (!cfg->servers)
                return json_load_fail(c, -ENOMEM, "out of memory");

        cJSON_ArrayForEach(e, servers)
        {
                old = jpath_push_key(&c->jp, e->string);
                for (size_t j = 0; j < i; j++)
                        if (streq(cfg->servers[j].name, e->string))
                                return fail(c, "duplicate server name");
                /* Counted first, so config_done frees a half-parsed server too. */
                cfg->n_servers++;
                r = parse_server(c, e, &cfg->servers[i]);
                if (r < 0)
                        return r;
                jpath_pop(&c->jp, old);
                i++;
        }
        return 0;
}

int config_load_string(const char *text, size_t len, const char *path, struct config *ret,
                       char *err, size_t errlen, config_warn_cb warn, void *userdata)
{
        struct json_load c = {
            .path = path ? path : "<config>",
            .err = err,
            .errlen = errlen,
            .warn = warn,
            .userdata = userdata,
        };
        _cleanup_json_ cJSON *root = NULL;
        struct config cfg = {};
        int r;

        *ret = (struct config){};
        if (err && errlen > 0)
                err[0] = '\0';
        jpath_init(&c.jp);

        r = json_load_parse(text, len, CONFIG_FILE_MAX, c.path, &root, err, errlen);
        if (r < 0)
                return r;

        r = parse_config(&c, root, &cfg);
        if (r >= 0) {
                cfg.path = strdup(c.path);
                if (!cfg.path)
                        r = json_load_error(err, errlen, -ENOMEM, "%s: out of memory", c.path);
        }
        if (r < 0) {
                config_done(&cfg);
                return r;
        }
        *ret = cfg;
        return 0;
}

int config_load_file(const char *path, struct config *ret, char *err, size_t errlen,
                     config_warn_cb warn, void *userdata)
{
        char *data = NULL;
        size_t len = 0;
        int r;

        *ret = (struct config){};
        if (err && errlen > 0)
                err[0] = '\0';
        if (!path)
                return json_load_error(err, errlen, -EINVAL, "no configuration file given");

        r = json_load_read(path, CONFIG_FILE_MAX, &data, &len, err, errlen);
        if (r < 0)
                return r;
        r = config_load_string(data, len, path, ret, err, errlen, warn, userdata);
        explicit_bzero(data, len);
        free(data);
        return r;
}

void config_done(struct config *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < c->n_servers; i++)
                server_config_done(&c->servers[i]);
        free(c->servers);
        free(c->path);
        *c = (struct config){};
}
