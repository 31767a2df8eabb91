/* SPDX-License-Identifier: MIT */
/*
 * NULL-terminated string arrays (after systemd's strv.h): argv, environments,
 * header lists and scopes. The array and every string are malloc'd; the
 * _free functions are NULL-safe and return NULL, so `v = strv_free(v)` works.
 */
#pragma once

#include <stddef.h>

#include "macro.h"

/* Entries before the terminating NULL; 0 for a NULL array. */
size_t strv_length(char *const *v);
char **strv_free(char **v);
/* Also zeroes every string first (secrets: env values, header values). */
char **strv_free_erase(char **v);
/* A deep copy of v in *ret (NULL for a NULL v). -ENOMEM, with *ret NULL, on failure. */
int strv_copy(char *const *v, char ***ret);

static inline void strv_freep(char ***p)
{
        *p = strv_free(*p);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)
