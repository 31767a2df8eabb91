/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the bench clients (header only: every bench/<name>.c is
 * linked into its own binary): a monotonic clock, latency samples with
 * nearest-rank percentiles, and the one-line RESULT format that
 * bench/run.sh parses.
 */
#pragma once

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline uint64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Latency samples in nanoseconds. */
struct lat {
        uint64_t *v;
        size_t n;
        size_t cap;
};

static inline int lat_reserve(struct lat *l, size_t cap)
{
        uint64_t *v;

        if (cap <= l->cap)
                return 0;
        v = realloc(l->v, cap * sizeof(*v));
        if (!v)
                return -ENOMEM;
        l->v = v;
        l->cap = cap;
        return 0;
}

static inline int lat_add(struct lat *l, uint64_t ns)
{
        if (l->n == l->cap) {
                int r = lat_reserve(l, l->cap ? l->cap * 2 : 1024);
                if (r < 0)
                        return r;
        }
        l->v[l->n++] = ns;
        return 0;
}

static inline int lat_merge(struct lat *dst, const struct lat *src)
{
        int r = lat_reserve(dst, dst->n + src->n);
        if (r < 0)
                return r;
        if (src->n)
                memcpy(dst->v + dst->n, src->v, src->n * sizeof(*src->v));
        dst->n += src->n;
        return 0;
}

static inline void lat_done(struct lat *l)
{
        free(l->v);
        *l = (struct lat){};
}

static inline int lat_cmp(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return (x > y) - (x < y);
}

static inline void lat_sort(struct lat *l)
{
        if (l->n > 1)
                qsort(l->v, l->n, sizeof(*l->v), lat_cmp);
}

/* Nearest-rank percentile of sorted samples, in microseconds (0 when empty). */
static inline double lat_pct_us(const struct lat *l, double p)
{
        size_t i;

        if (l->n == 0)
                return 0;
        if (p >= 100)
                return l->v[l->n - 1] / 1000.0;
        i = (size_t)((p / 100.0) * (double)l->n + 0.999999);
        if (i > 0)
                i--;
        if (i >= l->n)
                i = l->n - 1;
        return l->v[i] / 1000.0;
}

static inline double lat_mean_us(const struct lat *l)
{
        double s = 0;

        for (size_t i = 0; i < l->n; i++)
                s += (double)l->v[i];
        return l->n ? s / (double)l->n / 1000.0 : 0;
}

/* Prints " p50_us=.. p90_us=.. p99_us=.. max_us=.. mean_us=.." for sorted samples. */
static inline void lat_print(FILE *f, const char *prefix, const struct lat *l)
{
        fprintf(f, " %sp50_us=%.1f %sp90_us=%.1f %sp99_us=%.1f %smax_us=%.1f %smean_us=%.1f",
                prefix, lat_pct_us(l, 50), prefix, lat_pct_us(l, 90), prefix, lat_pct_us(l, 99),
                prefix, lat_pct_us(l, 100), prefix, lat_mean_us(l));
}

/* Parses a non-negative decimal option value; returns -EINVAL on junk. */
static inline int parse_u64(const char *s, uint64_t *ret)
{
        char *end;
        unsigned long long v;

        if (!s || !*s || *s == '-')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}
