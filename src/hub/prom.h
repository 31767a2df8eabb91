/* SPDX-License-Identifier: MIT */
/*
 * The Prometheus text exposition format, version 0.0.4: metric families
 * whose label sets are bounded, rendered into a struct buf.
 *
 * A family keeps one series per distinct tuple of label values while the
 * budget it draws on (struct prom_budget, shared by several families) has
 * room; a counter costs one series, a histogram one per bucket plus _sum and
 * _count, as Prometheus counts them. Past the budget, a new tuple counts in
 * the family's one overflow series, whose every label is "other": what a
 * client sends can never grow memory without bound.
 *
 * Label values are kept cut to METRICS_LABEL_VALUE_MAX bytes (mcp-limits.h) at a character
 * boundary, with bytes that are not UTF-8 made '?', and rendered escaped as
 * the format wants (backslash, double quote, newline). Series come out
 * sorted by their label values, the overflow series last.
 *
 * Pure: no hub state, no loop; unit tested alone (tests/unit/test-prom.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "hashmap.h"

#define PROM_OTHER "other"

enum prom_type {
        PROM_COUNTER,
        PROM_GAUGE,
        PROM_HISTOGRAM,
        _PROM_TYPE_MAX,
};

struct prom_series {
        char **values;     /* one per label, sanitized */
        uint64_t count;    /* a counter's value; a histogram's observations */
        uint64_t *buckets; /* histogram: observations per bucket (not cumulative) */
        double sum;        /* histogram: sum of the observations */
        struct prom_series *next_same_hash;
};

/* What several families may hold together. */
struct prom_budget {
        size_t used, max; /* series */
};

struct prom_family {
        const char *name;
        const char *help;
        enum prom_type type;
        const char *const *labels;
        size_t n_labels;
        const double *bounds; /* histogram: bucket upper bounds, ascending, +Inf implied */
        size_t n_bounds;
        struct prom_budget *budget;
        /* filled in as series come */
        struct hmap index; /* hash of the label values -> first series with that hash */
        struct prom_series **v;
        size_t n, alloc;
        struct prom_series *other;
};

/* The series of these label values (n_labels of them; NULL is ""), made if need be, or the
 * overflow series once the budget is spent. NULL on OOM only. */
struct prom_series *prom_series_get(struct prom_family *f, const char *const *values);
void prom_counter_add(struct prom_series *s, uint64_t n);
void prom_histogram_observe(const struct prom_family *f, struct prom_series *s, double v);

/* Renders the family: HELP, TYPE, then every series. 0 or -errno (-E2BIG past b's cap). */
int prom_family_render(const struct prom_family *f, struct buf *b);
void prom_family_done(struct prom_family *f);

/* For values that live elsewhere (gauges of the hub's state): the HELP and TYPE lines, then
 * one sample per call. */
int prom_header(struct buf *b, const char *name, const char *help, enum prom_type type);
int prom_sample(struct buf *b, const char *name, const char *const *labels,
                const char *const *values, size_t n_labels, double value);

/* A label value as kept: cut to METRICS_LABEL_VALUE_MAX bytes at a character boundary, bytes
 * that are not UTF-8 made '?'. malloc'd; NULL on OOM. */
char *prom_label_value(const char *s);
/* Appends a label value escaped (\\, \", \n). */
int prom_escape_label(struct buf *b, const char *s);
