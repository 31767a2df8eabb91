/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"

void buf_init(struct buf *b, size_t max)
{
        *b = (struct buf){.max = max};
}

void buf_done(struct buf *b)
{
        free(b->data);
        *b = (struct buf){.max = b->max};
}

void buf_reset(struct buf *b)
{
        b->len = b->off = 0;
        if (b->data)
                b->data[0] = 0;
}

void buf_compact(struct buf *b)
{
        if (b->off == 0)
                return;
        memmove(b->data, b->data + b->off, b->len - b->off + 1);
        b->len -= b->off;
        b->off = 0;
}

void buf_shrink(struct buf *b, size_t keep)
{
        if (buf_avail(b) > 0 || b->alloc <= keep)
                return;
        buf_done(b);
}

char *buf_reserve(struct buf *b, size_t n)
{
        size_t need;

        if (b->off > 0 && (b->off == b->len || b->off > b->alloc / 2))
                buf_compact(b);
        if (n > b->max || b->len - b->off > b->max - n) {
                errno = E2BIG;
                return NULL;
        }
        need = b->len + n + 1;
        if (need > b->alloc) {
                size_t a = b->alloc ? b->alloc : 256;
                char *p;
                while (a < need)
                        a *= 2;
                p = realloc(b->data, a);
                if (!p) {
                        errno = ENOMEM;
                        return NULL;
                }
                b->data = p;
                b->alloc = a;
        }
        return b->data + b->len;
}

void buf_commit(struct buf *b, size_t n)
{
        b->len += n;
        b->data[b->len] = 0;
}

int buf_append(struct buf *b, const void *data, size_t n)
{
        char *p = buf_reserve(b, n);
        if (!p)
                return -errno;
        if (n)
                memcpy(p, data, n);
        buf_commit(b, n);
        return 0;
}

int buf_append_str(struct buf *b, const char *s)
{
        return buf_append(b, s, strlen(s));
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
        va_list ap;
        int n;
        char *p;

        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -EINVAL;
        p = buf_reserve(b, (size_t)n);
        if (!p)
                return -errno;
        va_start(ap, fmt);
        vsnprintf(p, (size_t)n + 1, fmt, ap);
        va_end(ap);
        buf_commit(b, (size_t)n);
        return 0;
}

void buf_consume(struct buf *b, size_t n)
{
        if (n > b->len - b->off)
                n = b->len - b->off;
        b->off += n;
        if (b->off == b->len)
                b->off = b->len = 0;
        if (b->data)
                b->data[b->len] = 0;
}

int buf_flush_fd(struct buf *b, int fd, bool is_socket)
{
        while (buf_avail(b) > 0) {
                ssize_t n = is_socket ? send(fd, buf_head(b), buf_avail(b), MSG_NOSIGNAL)
                                      : write(fd, buf_head(b), buf_avail(b));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        return -errno;
                }
                buf_consume(b, (size_t)n);
        }
        return 0;
}
