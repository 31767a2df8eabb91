/* SPDX-License-Identifier: MIT */
/* The JSON loaders' shared parts: see json-load.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/json-load.h"
#include "fileio.h"
#include "json.h"

/* ---- JSON paths ---- */

static void jpath_append(struct jpath *p, const char *s, size_t n)
{
        size_t room = sizeof(p->s) - 1 - p->len;

        if (n > room)
                n = room;
        memcpy(p->s + p->len, s, n);
        p->len += n;
        p->s[p->len] = '\0';
}

void jpath_init(struct jpath *p)
{
        p->len = 0;
        jpath_append(p, "$", 1);
}

void jpath_pop(struct jpath *p, size_t len)
{
        p->len = len;
        p->s[len] = '\0';
}

static bool is_plain_segment(const char *key)
{
        size_t i;

        for (i = 0; key[i]; i++) {
                char c = key[i];
                if (!(c >= 'A' && c <= 'Z') && !(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') &&
                    c != '_' && c != '-')
                        return false;
        }
        return i > 0 && i <= JPATH_SEGMENT_SHOWN;
}

/* ".key", or ["key"] with escapes when the key has other characters. */
size_t jpath_push_key(struct jpath *p, const char *key)
{
        size_t old = p->len, i;

        if (is_plain_segment(key)) {
                jpath_append(p, ".", 1);
                jpath_append(p, key, strlen(key));
                return old;
        }

        jpath_append(p, "[\"", 2);
        for (i = 0; key[i] && i < JPATH_SEGMENT_SHOWN; i++) {
                unsigned char c = (unsigned char)key[i];
                char esc[8];

                if (c == '"' || c == '\\') {
                        esc[0] = '\\';
                        esc[1] = (char)c;
                        jpath_append(p, esc, 2);
                } else if (c < 0x20 || c >= 0x7f) {
                        snprintf(esc, sizeof(esc), "\\x%02x", c);
                        jpath_append(p, esc, 4);
                } else
                        jpath_append(p, key + i, 1);
        }
        if (key[i])
                jpath_append(p, "...", 3);
        jpath_append(p, "\"]", 2);
        return old;
}

size_t jpath_push_index(struct jpath *p, size_t i)
{
        size_t old = p->len;
        char s[32];
        int n = snprintf(s, sizeof(s), "[%zu]", i);

        jpath_append(p, s, (size_t)n);
        return old;
}

/* ---- messages ---- */

int json_load_fail(struct json_load *c, int r, const char *fmt, ...)
{
        va_list ap;
        int n;

        if (!c->err || c->errlen == 0)
                return r;
        n = snprintf(c->err, c->errlen, "%s: %s: ", c->path, c->jp.s);
        if (n >= 0 && (size_t)n < c->errlen) {
                va_start(ap, fmt);
                vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
                va_end(ap);
        }
        return r;
}

void json_load_warn(struct json_load *c, const char *fmt, ...)
{
        _cleanup_free_ char *m = NULL, *full = NULL;
        va_list ap;
        int r;

        if (!c->warn)
                return;
        va_start(ap, fmt);
        r = vasprintf(&m, fmt, ap);
        va_end(ap);
        if (r < 0)
                return;
        if (asprintf(&full, "%s: %s: %s", c->path, c->jp.s, m) < 0)
                return;
        c->warn(c->userdata, full);
}

int json_load_error(char *err, size_t errlen, int r, const char *fmt, ...)
{
        va_list ap;

        if (err && errlen > 0) {
                va_start(ap, fmt);
                vsnprintf(err, errlen, fmt, ap);
                va_end(ap);
        }
        return r;
}

/* ---- reading and parsing ---- */

int json_load_read(const char *path, size_t max, char **ret, size_t *ret_len, char *err,
                   size_t errlen)
{
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                r = -errno;
                return json_load_error(err, errlen, r, "%s: cannot open: %s", path, strerror(-r));
        }
        r = file_read_all(fd, max, ret, ret_len);
        if (r == -EFBIG)
                return json_load_error(err, errlen, r, "%s: larger than %zu bytes", path, max);
        if (r == -EISDIR)
                return json_load_error(err, errlen, r, "%s: is a directory", path);
        if (r < 0)
                return json_load_error(err, errlen, r, "%s: cannot read: %s", path, strerror(-r));
        return 0;
}

static bool is_json_space(char ch)
{
        return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

int json_load_parse(const char *text, size_t len, size_t max, const char *path, cJSON **ret,
                    char *err, size_t errlen)
{
        _cleanup_free_ char *copy = NULL;
        cJSON *root = NULL;
        const char *end = NULL;
        bool has_nul;

        *ret = NULL;
        if (len > max)
                return json_load_error(err, errlen, -EFBIG, "%s: larger than %zu bytes", path, max);
        if (!text)
                len = 0;

        /* A private NUL-terminated copy: the caller's text need not be terminated. */
        copy = malloc(len + 1);
        if (!copy)
                return json_load_error(err, errlen, -ENOMEM, "%s: out of memory", path);
        if (len > 0)
                memcpy(copy, text, len);
        copy[len] = '\0';

        end = copy + json_find_nul(copy, len);
        has_nul = end < copy + len;
        if (!has_nul) {
                root = cJSON_ParseWithLengthOpts(copy, len, &end, false);
                if (root && end) {
                        /* cJSON stops after the first value; only white space may follow. */
                        while (end < copy + len && is_json_space(*end))
                                end++;
                        if (end < copy + len)
                                cJSON_Delete(TAKE_PTR(root));
                }
        }
        if (!root) {
                unsigned line, col;
                size_t off = end && end >= copy && end <= copy + len ? (size_t)(end - copy) : 0;

                text_line_column(copy, off, &line, &col);
                explicit_bzero(copy, len);
                return json_load_error(err, errlen, -EBADMSG,
                                       "%s: line %u, column %u: invalid JSON%s", path, line, col,
                                       has_nul ? " (NUL character)" : "");
        }
        explicit_bzero(copy, len);
        *ret = root;
        return 0;
}
