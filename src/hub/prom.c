/* SPDX-License-Identifier: MIT */
/* The Prometheus text exposition format, bounded label sets; see prom.h. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/prom.h"
#include "mcp-limits.h"

static const char *const type_names[_PROM_TYPE_MAX] = {
    [PROM_COUNTER] = "counter",
    [PROM_GAUGE] = "gauge",
    [PROM_HISTOGRAM] = "histogram",
};

/* Length of the UTF-8 character at s (at most n bytes there), 0 when it is not one. */
static size_t utf8_char_len(const unsigned char *s, size_t n)
{
        size_t len;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                len = 2;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                len = 3;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                len = 4;
        else
                return 0;
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++)
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
        /* overlong three and four byte forms, surrogates, past U+10FFFF */
        if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
            (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
                return 0;
        return len;
}

char *prom_label_value(const char *s)
{
        const unsigned char *p = (const unsigned char *)(s ? s : "");
        size_t n = strlen((const char *)p), j = 0;
        char *out = malloc(MIN(n, (size_t)METRICS_LABEL_VALUE_MAX) + 1);

        if (!out)
                return NULL;
        for (size_t i = 0; i < n;) {
                size_t l = utf8_char_len(p + i, n - i);
                if (j + MAX(l, (size_t)1) > METRICS_LABEL_VALUE_MAX)
                        break;
                if (l == 0) {
                        out[j++] = '?';
                        i++;
                        continue;
                }
                memcpy(out + j, p + i, l);
                j += l;
                i += l;
        }
        out[j] = 0;
        return out;
}

int prom_escape_label(struct buf *b, const char *s)
{
        const char *run = s;
        int r;

        for (const char *p = s;; p++) {
                const char *esc = *p == '\\'   ? "\\\\"
                                  : *p == '"'  ? "\\\""
                                  : *p == '\n' ? "\\n"
                                               : NULL;
                if (!esc && *p)
                        continue;
                r = buf_append(b, run, (size_t)(p - run));
                if (r < 0 || !*p)
                        return r;
                r = buf_append_str(b, esc);
                if (r < 0)
                        return r;
                run = p + 1;
        }
}

/* HELP text: backslash and newline escaped. */
static int escape_help(struct buf *b, const char *s)
{
        int r = 0;

        for (const char *p = s; *p && r >= 0; p++)
                r = *p == '\\'   ? buf_append_str(b, "\\\\")
                    : *p == '\n' ? buf_append_str(b, "\\n")
                                 : buf_append(b, p, 1);
        return r;
}

int prom_header(struct buf *b, const char *name, const char *help, enum prom_type type)
{
        int r;

        if (type < 0 || type >= _PROM_TYPE_MAX)
                return -EINVAL;
        r = buf_printf(b, "# HELP %s ", name);
        if (r >= 0)
                r = escape_help(b, help);
        if (r >= 0)
                r = buf_printf(b, "\n# TYPE %s %s\n", name, type_names[type]);
        return r;
}

/* name{l1="v1",l2="v2"[,extra_label="extra_value"]} */
static int sample_head(struct buf *b, const char *name, const char *const *labels,
                       const char *const *values, size_t n, const char *extra_label,
                       const char *extra_value)
{
        int r = buf_append_str(b, name);

        if (r < 0 || (n == 0 && !extra_label))
                return r;
        r = buf_append(b, "{", 1);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = buf_printf(b, "%s%s=\"", i ? "," : "", labels[i]);
                if (r >= 0)
                        r = prom_escape_label(b, values[i] ? values[i] : "");
                if (r >= 0)
                        r = buf_append(b, "\"", 1);
        }
        if (r >= 0 && extra_label)
                r = buf_printf(b, "%s%s=\"%s\"", n ? "," : "", extra_label, extra_value);
        if (r >= 0)
                r = buf_append(b, "}", 1);
        return r;
}

/* Integers as integers, the rest with enough digits; the format's spelling of infinities. */
static void format_value(double v, char *out, size_t len)
{
        if (isinf(v))
                snprintf(out, len, "%s", v > 0 ? "+Inf" : "-Inf");
        else if (isnan(v))
                snprintf(out, len, "NaN");
        else if (v > -1e15 && v < 1e15 && v == (double)(int64_t)v)
                snprintf(out, len, "%" PRId64, (int64_t)v);
        else
                snprintf(out, len, "%.9g", v);
}

int prom_sample(struct buf *b, const char *name, const char *const *labels,
                const char *const *values, size_t n_labels, double value)
{
        char v[64];
        int r = sample_head(b, name, labels, values, n_labels, NULL, NULL);

        format_value(value, v, sizeof(v));
        if (r >= 0)
                r = buf_printf(b, " %s\n", v);
        return r;
}

static uint64_t values_hash(const char *const *values, size_t n)
{
        uint64_t h = 1469598103934665603ULL;

        for (size_t i = 0; i < n; i++) {
                const char *s = values[i] ? values[i] : "";
                for (; *s; s++) {
                        h ^= (unsigned char)*s;
                        h *= 1099511628211ULL;
                }
                h ^= 0xff; /* a separator no UTF-8 text holds */
                h *= 1099511628211ULL;
        }
        return h ? h : 1;
}

static size_t series_cost(const struct prom_family *f)
{
        return f->type == PROM_HISTOGRAM ? f->n_bounds + 3 : 1;
}

static void series_free(const struct prom_family *f, struct prom_series *s)
{
        if (!s)
                return;
        for (size_t i = 0; s->values && i < f->n_labels; i++)
                free(s->values[i]);
        free(s->values);
        free(s->buckets);
        free(s);
}

/* values NULL: the overflow series. */
static struct prom_series *series_new(const struct prom_family *f, char **values)
{
        struct prom_series *s = calloc(1, sizeof(*s));

        if (!s)
                return NULL;
        s->values = calloc(f->n_labels ? f->n_labels : 1, sizeof(char *));
        if (!s->values)
                goto fail;
        for (size_t i = 0; i < f->n_labels; i++) {
                s->values[i] = values ? TAKE_PTR(values[i]) : strdup(PROM_OTHER);
                if (!s->values[i])
                        goto fail;
        }
        if (f->type == PROM_HISTOGRAM) {
                s->buckets = calloc(f->n_bounds + 1, sizeof(uint64_t));
                if (!s->buckets)
                        goto fail;
        }
        return s;
fail:
        series_free(f, s);
        return NULL;
}

static bool series_matches(const struct prom_family *f, const struct prom_series *s,
                           char *const *values)
{
        for (size_t i = 0; i < f->n_labels; i++)
                if (strcmp(s->values[i], values[i]) != 0)
                        return false;
        return true;
}

static struct prom_series *overflow(struct prom_family *f)
{
        if (!f->other)
                f->other = series_new(f, NULL);
        return f->other;
}

struct prom_series *prom_series_get(struct prom_family *f, const char *const *values)
{
        char *kept[16] = {};
        struct prom_series *s = NULL, *first;
        uint64_t h;

        if (f->n_labels > ELEMENTSOF(kept))
                return NULL;
        for (size_t i = 0; i < f->n_labels; i++) {
                kept[i] = prom_label_value(values[i]);
                if (!kept[i])
                        goto out;
        }
        h = values_hash((const char *const *)kept, f->n_labels);
        first = hmap_get(&f->index, h);
        for (s = first; s; s = s->next_same_hash)
                if (series_matches(f, s, kept))
                        goto out;
        if (f->budget && f->budget->used + series_cost(f) > f->budget->max) {
                s = overflow(f);
                goto out;
        }
        if (f->n == f->alloc) {
                size_t a = f->alloc ? f->alloc * 2 : 16;
                struct prom_series **v = realloc(f->v, a * sizeof(*v));
                if (!v)
                        goto out;
                f->v = v;
                f->alloc = a;
        }
        s = series_new(f, kept);
        if (!s)
                goto out;
        if (hmap_put(&f->index, h, s) < 0) {
                series_free(f, s);
                s = NULL;
                goto out;
        }
        s->next_same_hash = first;
        f->v[f->n++] = s;
        if (f->budget)
                f->budget->used += series_cost(f);
out:
        for (size_t i = 0; i < f->n_labels; i++)
                free(kept[i]);
        return s;
}

void prom_counter_add(struct prom_series *s, uint64_t n)
{
        if (s)
                s->count += n;
}

void prom_histogram_observe(const struct prom_family *f, struct prom_series *s, double v)
{
        size_t i = 0;

        if (!s || !s->buckets)
                return;
        while (i < f->n_bounds && v > f->bounds[i])
                i++;
        s->buckets[i]++;
        s->count++;
        s->sum += v;
}

static int series_cmp(const void *a, const void *b, void *userdata)
{
        const struct prom_series *x = *(struct prom_series *const *)a;
        const struct prom_series *y = *(struct prom_series *const *)b;
        size_t n_labels = *(const size_t *)userdata;

        for (size_t i = 0; i < n_labels; i++) {
                int c = strcmp(x->values[i], y->values[i]);
                if (c)
                        return c;
        }
        return 0;
}

static int render_series(const struct prom_family *f, const struct prom_series *s, struct buf *b)
{
        const char *const *values = (const char *const *)s->values;
        char name[256], le[64];
        uint64_t cum = 0;
        int r = 0;

        if (f->type != PROM_HISTOGRAM)
                return prom_sample(b, f->name, f->labels, values, f->n_labels, (double)s->count);
        snprintf(name, sizeof(name), "%s_bucket", f->name);
        for (size_t i = 0; r >= 0 && i <= f->n_bounds; i++) {
                cum += s->buckets[i];
                format_value(i < f->n_bounds ? f->bounds[i] : INFINITY, le, sizeof(le));
                r = sample_head(b, name, f->labels, values, f->n_labels, "le", le);
                if (r >= 0)
                        r = buf_printf(b, " %" PRIu64 "\n", cum);
        }
        snprintf(name, sizeof(name), "%s_sum", f->name);
        if (r >= 0)
                r = prom_sample(b, name, f->labels, values, f->n_labels, s->sum);
        snprintf(name, sizeof(name), "%s_count", f->name);
        if (r >= 0)
                r = prom_sample(b, name, f->labels, values, f->n_labels, (double)s->count);
        return r;
}

int prom_family_render(const struct prom_family *f, struct buf *b)
{
        _cleanup_free_ struct prom_series **sorted = NULL;
        size_t n_labels = f->n_labels;
        int r = prom_header(b, f->name, f->help, f->type);

        if (r < 0)
                return r;
        if (f->n) {
                sorted = malloc(f->n * sizeof(*sorted));
                if (!sorted)
                        return -ENOMEM;
                memcpy(sorted, f->v, f->n * sizeof(*sorted));
                qsort_r(sorted, f->n, sizeof(*sorted), series_cmp, &n_labels);
        }
        for (size_t i = 0; r >= 0 && i < f->n; i++)
                r = render_series(f, sorted[i], b);
        if (r >= 0 && f->other)
                r = render_series(f, f->other, b);
        return r;
}

void prom_family_done(struct prom_family *f)
{
        for (size_t i = 0; i < f->n; i++)
                series_free(f, f->v[i]);
        if (f->budget)
                f->budget->used -= MIN(f->budget->used, f->n * series_cost(f));
        series_free(f, f->other);
        free(f->v);
        hmap_done(&f->index);
        f->v = NULL;
        f->n = f->alloc = 0;
        f->other = NULL;
}
