/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"

size_t strv_length(char *const *v)
{
        size_t n = 0;

        while (v && v[n])
                n++;
        return n;
}

char **strv_free(char **v)
{
        if (!v)
                return NULL;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
        return NULL;
}

char **strv_free_erase(char **v)
{
        if (!v)
                return NULL;
        for (char **p = v; *p; p++) {
                explicit_bzero(*p, strlen(*p));
                free(*p);
        }
        free(v);
        return NULL;
}

int strv_copy(char *const *v, char ***ret)
{
        size_t n = strv_length(v);
        char **c;

        *ret = NULL;
        if (!v)
                return 0;
        c = calloc(n + 1, sizeof(char *));
        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!(c[i] = strdup(v[i]))) {
                        strv_free(c);
                        return -ENOMEM;
                }
        *ret = c;
        return 0;
}
