/* SPDX-License-Identifier: MIT */
/*
 * Bounded growable byte buffer (after curl's dynbuf): the cap is fixed at
 * init, an append past it fails with -E2BIG, and a failed append frees
 * nothing the caller still needs. Data is always NUL-terminated.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

struct buf {
        char *data;
        size_t len;   /* bytes of payload, excluding the trailing NUL */
        size_t alloc; /* bytes allocated */
        size_t max;   /* cap on len */
        size_t off;   /* bytes consumed from the front (see buf_consume) */
};

void buf_init(struct buf *b, size_t max);
void buf_done(struct buf *b);
void buf_reset(struct buf *b);
int buf_append(struct buf *b, const void *data, size_t n);
int buf_append_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) _printf_(2, 3);
/* Make room for n more bytes; returns a pointer to write into, then call
 * buf_commit(b, written). NULL with errno set on failure. */
char *buf_reserve(struct buf *b, size_t n);
void buf_commit(struct buf *b, size_t n);
/* Unread bytes start at buf_head(b), buf_avail(b) of them. */
static inline const char *buf_head(const struct buf *b)
{
        return b->data ? b->data + b->off : "";
}
static inline size_t buf_avail(const struct buf *b)
{
        return b->len - b->off;
}
/* Drop n bytes from the front (cheap; compacts lazily). */
void buf_consume(struct buf *b, size_t n);
/* Move unread bytes to the start of the allocation. */
void buf_compact(struct buf *b);
/* An empty buffer gives back its memory when it holds more than keep bytes (a burst's). */
void buf_shrink(struct buf *b, size_t keep);
/* Writes the unread bytes to a non-blocking fd, consuming what went out, until none
 * are left or it would block: send() without SIGPIPE for a socket, write() otherwise.
 * 0 (see buf_avail() for what is left), or -errno of a failed write. */
int buf_flush_fd(struct buf *b, int fd, bool is_socket);
