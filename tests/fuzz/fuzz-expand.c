/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for config_expand() (src/config/config.c), the ${VAR}
 * expansion of mcp-proxy.conf(5) "Variable expansion".
 *
 * The input sets the environment first, then gives the string:
 *
 *   byte 0        two bits per name of fuzz_names: 0 unset, 1 empty, 2 or 3
 *                 the next value; 3 for "A" repeats it past a quarter of the
 *                 4 MiB cap (so that a few references overflow it)
 *   values        one NUL-terminated value per name in modes 2 and 3
 *   the rest      the string to expand, up to its first NUL
 *
 * Every name is set or unset before each run, so a run depends on its input
 * only (other names come from the process environment, read by both sides).
 * The result is compared with a model of the man page written apart from the
 * code: the same string, the same unset-variable callbacks in the same
 * order, NULL exactly when the model finds an unterminated "${" (EINVAL) or
 * a result over the cap (E2BIG), whichever comes first. Two properties of
 * the page are checked on their own too: text without "${" comes back as it
 * is, and a string with "$" put before every "${" (the page's "$${")
 * expands to the string itself, with no callback.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "mcp-limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What one value may be, the cap of config.c (CONFIG_EXPAND_MAX = CONFIG_FILE_MAX). */
#define FUZZ_EXPAND_CAP   ((size_t)CONFIG_FILE_MAX)
#define FUZZ_EXPAND_BIG   (FUZZ_EXPAND_CAP / 4 + 1)
#define FUZZ_EXPAND_CALLS 64

static const char *const fuzz_names[] = {"A", "B", "AB", "_x1"};
#define FUZZ_N_NAMES (sizeof(fuzz_names) / sizeof(fuzz_names[0]))

static void check(bool ok)
{
        if (!ok)
                abort();
}

/* A growing byte string with a length past which nothing is stored (but counted). */
struct out {
        char *data;
        size_t len, alloc;
};

static void out_add(struct out *o, const char *p, size_t n)
{
        if (n == 0)
                return;
        if (o->len + n + 1 > o->alloc) {
                size_t a = o->alloc ? o->alloc : 64;
                while (a < o->len + n + 1)
                        a *= 2;
                o->data = realloc(o->data, a);
                check(o->data != NULL);
                o->alloc = a;
        }
        memcpy(o->data + o->len, p, n);
        o->len += n;
        o->data[o->len] = '\0';
}

/* The unset names reported, in order, joined by '\n' (bounded: the first few only). */
struct calls {
        struct out names;
        size_t n;
};

static void record_unset(void *userdata, const char *name)
{
        struct calls *c = userdata;

        check(name != NULL && name[0] != '\0');
        c->n++;
        if (c->n <= FUZZ_EXPAND_CALLS) {
                out_add(&c->names, name, strlen(name));
                out_add(&c->names, "\n", 1);
        }
}

static bool name_start(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool name_char(char c)
{
        return name_start(c) || (c >= '0' && c <= '9');
}

/*
 * The man page, read left to right: "$${" is "${"; "${NAME}" and
 * "${NAME:-default}" (default up to the first '}', literal) are references;
 * a "${" with no '}' after it is an error; everything else, "${" that holds
 * no name included, is text. Returns 0 or -EINVAL / -E2BIG.
 */
static int model(const char *s, struct out *o, struct calls *c)
{
        size_t i = 0, n = strlen(s);

        while (i < n) {
                const char *close, *v;
                size_t ne;
                char *name;

                if (s[i] == '$' && s[i + 1] == '$' && s[i + 2] == '{') {
                        out_add(o, "${", 2);
                        i += 3;
                } else if (s[i] == '$' && s[i + 1] == '{') {
                        close = strchr(s + i + 2, '}');
                        if (!close)
                                return -EINVAL;
                        ne = i + 2;
                        if (name_start(s[ne]))
                                while (name_char(s[ne]))
                                        ne++;
                        if (ne == i + 2 ||
                            (s + ne != close && !(s[ne] == ':' && s[ne + 1] == '-'))) {
                                out_add(o, "${", 2);
                                i += 2;
                                continue;
                        }
                        name = strndup(s + i + 2, ne - (i + 2));
                        check(name != NULL);
                        v = getenv(name);
                        if (v && v[0])
                                out_add(o, v, strlen(v));
                        else if (s + ne != close)
                                out_add(o, s + ne + 2, (size_t)(close - (s + ne + 2)));
                        else if (!v)
                                record_unset(c, name);
                        free(name);
                        i = (size_t)(close - s) + 1;
                } else {
                        out_add(o, s + i, 1);
                        i++;
                }
                if (o->len > FUZZ_EXPAND_CAP)
                        return -E2BIG;
        }
        return 0;
}

/* s with a '$' put before every "${": the page's way to write a literal "${". */
static char *quote(const char *s)
{
        struct out o = {0};

        for (size_t i = 0; s[i]; i++) {
                if (s[i] == '$' && s[i + 1] == '{')
                        out_add(&o, "$", 1);
                out_add(&o, s + i, 1);
        }
        out_add(&o, "", 0);
        if (!o.data) {
                o.data = strdup("");
                check(o.data != NULL);
        }
        return o.data;
}

/* "NAME=value" as given to putenv(): glibc's setenv() keeps every value it was ever given,
 * which a fuzzer setting megabytes each run cannot afford. */
static char *env_strings[FUZZ_N_NAMES];

static void put_env(size_t k, const char *v, size_t n, size_t repeat_to)
{
        size_t nl = strlen(fuzz_names[k]), total = n, done;
        char *e;

        if (n > 0 && repeat_to > 0)
                total = (repeat_to / n + 1) * n;
        e = malloc(nl + 1 + total + 1);
        check(e != NULL);
        memcpy(e, fuzz_names[k], nl);
        e[nl] = '=';
        memcpy(e + nl + 1, v, n);
        for (done = n; n > 0 && done < total; done *= 2)
                memcpy(e + nl + 1 + done, e + nl + 1, done <= total - done ? done : total - done);
        e[nl + 1 + total] = '\0';
        check(putenv(e) == 0);
        env_strings[k] = e;
}

/* Sets the names from the input; returns how many bytes that took. */
static size_t set_env(const uint8_t *data, size_t size)
{
        size_t off = 1;
        uint8_t modes = size > 0 ? data[0] : 0;

        for (size_t k = 0; k < FUZZ_N_NAMES; k++) {
                unsigned mode = (modes >> (2 * k)) & 3;
                const uint8_t *nul;
                size_t n;

                check(unsetenv(fuzz_names[k]) == 0);
                free(env_strings[k]);
                env_strings[k] = NULL;
                if (mode == 0)
                        continue;
                if (mode == 1 || off >= size) {
                        put_env(k, "", 0, 0);
                        continue;
                }
                nul = memchr(data + off, '\0', size - off);
                n = nul ? (size_t)(nul - (data + off)) : size - off;
                put_env(k, (const char *)data + off, n, mode == 3 && k == 0 ? FUZZ_EXPAND_BIG : 0);
                off += n + (nul ? 1 : 0);
        }
        return off < size ? off : size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct out want = {0};
        struct calls got_calls = {0}, want_calls = {0};
        size_t off = set_env(data, size), len;
        char *s, *e, *q;
        int r;

        len = strnlen((const char *)data + off, size - off);
        s = strndup((const char *)data + off, len);
        check(s != NULL);

        r = model(s, &want, &want_calls);

        errno = 0;
        e = config_expand(s, record_unset, &got_calls);
        if (r < 0) {
                check(e == NULL);
                check(errno == -r);
        } else {
                check(e != NULL);
                check(strlen(e) == want.len);
                check(memcmp(e, want.data ? want.data : "", want.len) == 0);
        }
        check(got_calls.n == want_calls.n);
        check(got_calls.names.len == want_calls.names.len);
        check(got_calls.names.len == 0 ||
              memcmp(got_calls.names.data, want_calls.names.data, got_calls.names.len) == 0);

        /* Without a callback: the same string. */
        if (e) {
                char *e2 = config_expand(s, NULL, NULL);

                check(e2 != NULL && strcmp(e, e2) == 0);
                free(e2);
        }

        /* Text without "${" is itself. */
        if (!strstr(s, "${"))
                check(e != NULL && strcmp(e, s) == 0);

        /* "$${" is a literal "${": quoting every "${" gives the string back. */
        q = quote(s);
        if (strlen(q) <= FUZZ_EXPAND_CAP) {
                struct calls none = {0};
                char *back = config_expand(q, record_unset, &none);

                check(back != NULL && strcmp(back, s) == 0);
                check(none.n == 0);
                free(back);
        }

        free(q);
        free(e);
        free(s);
        free(want.data);
        free(want_calls.names.data);
        free(got_calls.names.data);
        return 0;
}
