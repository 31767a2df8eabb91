/* SPDX-License-Identifier: MIT */
/* Tables and durations for mcp-proxyctl's human output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

#define TABLE_MAX_COLS 12

struct table {
        const struct ctl *x;
        int n_cols;
        char **cells; /* rows * n_cols, row 0 the header */
        int *state_col;
        size_t n_rows, alloc;
};

struct table *table_new(const struct ctl *x, const char *const *headers, int n_cols)
{
        struct table *t = calloc(1, sizeof(*t));

        if (!t || n_cols > TABLE_MAX_COLS) {
                free(t);
                return NULL;
        }
        t->x = x;
        t->n_cols = n_cols;
        table_row(t, headers, -1);
        return t;
}

void table_row(struct table *t, const char *const *cells, int state_col)
{
        if (!t)
                return;
        if (t->n_rows == t->alloc) {
                size_t n = t->alloc ? 2 * t->alloc : 16;
                char **c = realloc(t->cells, n * (size_t)t->n_cols * sizeof(char *));
                int *s = c ? realloc(t->state_col, n * sizeof(int)) : NULL;
                if (c)
                        t->cells = c;
                if (!s)
                        return;
                t->state_col = s;
                t->alloc = n;
        }
        for (int i = 0; i < t->n_cols; i++)
                t->cells[t->n_rows * (size_t)t->n_cols + (size_t)i] =
                    strdup(cells[i] && *cells[i] ? cells[i] : "-");
        t->state_col[t->n_rows] = state_col;
        t->n_rows++;
}

/* ready and the like green, starting yellow, failed red. */
static const char *state_color(const char *s)
{
        if (!strcmp(s, "ready") || !strcmp(s, "ok") || !strcmp(s, "connected"))
                return "\033[32m";
        if (!strcmp(s, "failed") || !strcmp(s, "expired") || !strcmp(s, "EXPIRED"))
                return "\033[31m";
        if (!strcmp(s, "starting") || !strcmp(s, "backoff") || !strcmp(s, "stopping"))
                return "\033[33m";
        return NULL;
}

void table_print(struct table *t)
{
        size_t w[TABLE_MAX_COLS] = {};

        if (!t)
                return;
        for (size_t r = 0; r < t->n_rows; r++)
                for (int c = 0; c < t->n_cols; c++) {
                        const char *s = t->cells[r * (size_t)t->n_cols + (size_t)c];
                        size_t l = s ? strlen(s) : 1;
                        if (l > w[c])
                                w[c] = l;
                }
        for (size_t r = 0; r < t->n_rows; r++) {
                for (int c = 0; c < t->n_cols; c++) {
                        const char *s = t->cells[r * (size_t)t->n_cols + (size_t)c];
                        const char *col = NULL;
                        bool last = c == t->n_cols - 1;
                        if (!s)
                                s = "-";
                        if (r == 0)
                                col = "\033[1m";
                        else if (t->state_col[r] == c)
                                col = state_color(s);
                        printf("%s%s%s", col ? color_on(t->x, col) : "", s,
                               col ? color_off(t->x) : "");
                        if (!last)
                                printf("%*s", (int)(w[c] - strlen(s) + 2), "");
                }
                putchar('\n');
        }
}

void table_free(struct table *t)
{
        if (!t)
                return;
        for (size_t i = 0; i < t->n_rows * (size_t)t->n_cols; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t->state_col);
        free(t);
}

const char *format_duration(double seconds, char *buf, size_t len)
{
        unsigned long long s = seconds > 0 ? (unsigned long long)seconds : 0;

        if (s >= 86400)
                snprintf(buf, len, "%llud %lluh", s / 86400, s % 86400 / 3600);
        else if (s >= 3600)
                snprintf(buf, len, "%lluh %llum", s / 3600, s % 3600 / 60);
        else if (s >= 60)
                snprintf(buf, len, "%llum %llus", s / 60, s % 60);
        else
                snprintf(buf, len, "%llus", s);
        return buf;
}

const char *color_on(const struct ctl *x, const char *seq)
{
        return x->color ? seq : "";
}

const char *color_off(const struct ctl *x)
{
        return x->color ? "\033[0m" : "";
}
