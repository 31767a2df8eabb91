/* SPDX-License-Identifier: MIT */
/*
 * What the JSON file loaders (config.c, users.c) share: a bounded read, a
 * parse that reports line and column, and messages in one shape,
 * "<file>: <JSON path>: <problem>", errors into the caller's buffer and
 * warnings to its callback. Pure: nothing here logs.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

/* A JSON path in a message, and how much of one key it shows. */
#define JPATH_MAX           512
#define JPATH_SEGMENT_SHOWN 64

/* "$.mcpServers.fs.args[0]"; a key with other characters than [A-Za-z0-9_-] as ["a b"]. */
struct jpath {
        char s[JPATH_MAX];
        size_t len;
};

void jpath_init(struct jpath *p);
/* Each push returns the old length, for jpath_pop. Too long a path is cut, never overrun. */
size_t jpath_push_key(struct jpath *p, const char *key);
size_t jpath_push_index(struct jpath *p, size_t i);
void jpath_pop(struct jpath *p, size_t len);

/* One load: the file's name in messages, where to put them, and the current path. */
struct json_load {
        const char *path;
        char *err;
        size_t errlen;
        void (*warn)(void *userdata, const char *message);
        void *userdata;
        struct jpath jp;
};

/* "<file>: <path>: <problem>" into err. Returns r. */
int json_load_fail(struct json_load *c, int r, const char *fmt, ...) _printf_(3, 4);
/* The same to the warning callback, if any. */
void json_load_warn(struct json_load *c, const char *fmt, ...) _printf_(2, 3);
/* A message without a JSON path into err (when err is not NULL). Returns r. */
int json_load_error(char *err, size_t errlen, int r, const char *fmt, ...) _printf_(4, 5);

/*
 * Reads the whole file at path, at most max bytes, into a malloc'd NUL-terminated buffer.
 * Returns 0, or -errno with "<path>: cannot open: ...", "<path>: larger than N bytes",
 * "<path>: is a directory" or "<path>: cannot read: ..." in err.
 */
int json_load_read(const char *path, size_t max, char **ret, size_t *ret_len, char *err,
                   size_t errlen);
/*
 * Parses text (len bytes, not necessarily NUL-terminated, at most max) as one JSON value
 * followed by white space only. Returns 0 and the tree in *ret, or -EFBIG ("<path>: larger
 * than N bytes"), -EBADMSG ("<path>: line L, column C: invalid JSON", also for a NUL
 * character) or -ENOMEM, with the message in err. The private copy of the text is wiped.
 */
int json_load_parse(const char *text, size_t len, size_t max, const char *path, cJSON **ret,
                    char *err, size_t errlen);
