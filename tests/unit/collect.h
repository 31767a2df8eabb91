/* SPDX-License-Identifier: MIT */
/* What the unit tests of the loaders share: warnings collected from a warn callback, and a
 * check that a struct was left zeroed. */
#pragma once

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define WARN_MAX 64

struct warnings {
        char *msg[WARN_MAX];
        size_t n; /* all of them, also those past WARN_MAX (not kept) */
};

static inline void collect(void *userdata, const char *message)
{
        struct warnings *w = userdata;
        if (w->n < WARN_MAX)
                w->msg[w->n] = strdup(message);
        w->n++;
}

static inline void warnings_done(struct warnings *w)
{
        for (size_t i = 0; i < w->n && i < WARN_MAX; i++)
                free(w->msg[i]);
        *w = (struct warnings){};
}

static inline bool is_zero(const void *p, size_t n)
{
        const unsigned char *b = p;
        for (size_t i = 0; i < n; i++)
                if (b[i])
                        return false;
        return true;
}
