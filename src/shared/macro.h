/* SPDX-License-Identifier: MIT */
/*
 * Small helpers used by every binary: cleanup attributes, ownership
 * transfer and array sizes (after systemd's macro.h).
 */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _unused_       __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_     __attribute__((noreturn))
#define _likely_(x)    __builtin_expect(!!(x), 1)
#define _unlikely_(x)  __builtin_expect(!!(x), 0)

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
/* Length of a string literal, at compile time. */
#define STRLEN(x) (sizeof("" x "") - 1)

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Take ownership of a pointer: returns it and sets the variable to NULL. */
#define TAKE_PTR(p)                  \
        ({                           \
                typeof(p) _tp = (p); \
                (p) = NULL;          \
                _tp;                 \
        })

/* Take ownership of an fd: returns it and sets the variable to -EBADF. */
#define TAKE_FD(fd)             \
        ({                      \
                int _tf = (fd); \
                (fd) = -EBADF;  \
                _tf;            \
        })

static inline void freep(void *p)
{
        free(*(void **)p);
}

static inline int safe_close(int fd)
{
        if (fd >= 0) {
                int saved = errno;
                (void)close(fd);
                errno = saved;
        }
        return -EBADF;
}

static inline void closep(int *fd)
{
        *fd = safe_close(*fd);
}

#define _cleanup_free_  _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

/* cJSON trees and printed strings. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
        static inline void func##p(type *p)     \
        {                                       \
                if (*p)                         \
                        func(*p);               \
        }

/* Compare two buffers in time independent of where they differ. */
static inline int memeq_consttime(const void *a, const void *b, size_t n)
{
        const unsigned char *x = a, *y = b;
        unsigned char d = 0;
        for (size_t i = 0; i < n; i++)
                d |= x[i] ^ y[i];
        return d == 0;
}
