/* SPDX-License-Identifier: MIT */
/* prom: the Prometheus text format and bounded label sets (src/hub/prom.c). */
#include <string.h>

#include "harness.h"
#include "hub/prom.h"
#include "mcp-limits.h"

static const char *const req_labels[] = {"client", "name"};
static const double bounds[] = {0.1, 1, 2.5};

TEST(counter_render_sorted_escaped)
{
        struct prom_budget budget = {.max = 100};
        struct prom_family f = {
            .name = "t_total",
            .help = "Calls, with a \\ and a\nnewline.",
            .type = PROM_COUNTER,
            .labels = req_labels,
            .n_labels = 2,
            .budget = &budget,
        };
        struct buf b;

        buf_init(&b, 1 << 20);
        prom_counter_add(prom_series_get(&f, (const char *const[]){"zed", "a"}), 1);
        prom_counter_add(prom_series_get(&f, (const char *const[]){"al\"ice", "x\\y\nz"}), 2);
        prom_counter_add(prom_series_get(&f, (const char *const[]){"zed", "a"}), 3);
        prom_counter_add(prom_series_get(&f, (const char *const[]){NULL, "b"}), 1);
        ASSERT_EQ(f.n, 3);
        ASSERT_EQ(budget.used, 3);
        ASSERT_OK(prom_family_render(&f, &b));
        ASSERT_STREQ(b.data, "# HELP t_total Calls, with a \\\\ and a\\nnewline.\n"
                             "# TYPE t_total counter\n"
                             "t_total{client=\"\",name=\"b\"} 1\n"
                             "t_total{client=\"al\\\"ice\",name=\"x\\\\y\\nz\"} 2\n"
                             "t_total{client=\"zed\",name=\"a\"} 4\n");
        prom_family_done(&f);
        ASSERT_EQ(budget.used, 0);
        buf_done(&b);
}

TEST(overflow_series)
{
        struct prom_budget budget = {.max = 2};
        struct prom_family f = {.name = "o_total",
                                .help = "h",
                                .type = PROM_COUNTER,
                                .labels = req_labels,
                                .n_labels = 2,
                                .budget = &budget};
        struct buf b;
        char name[32];

        buf_init(&b, 1 << 20);
        for (int i = 0; i < 50; i++) {
                snprintf(name, sizeof(name), "n%02d", i);
                prom_counter_add(prom_series_get(&f, (const char *const[]){"c", name}), 1);
        }
        /* an existing series still counts as itself */
        prom_counter_add(prom_series_get(&f, (const char *const[]){"c", "n01"}), 10);
        ASSERT_EQ(f.n, 2);
        ASSERT_EQ(budget.used, 2);
        ASSERT_OK(prom_family_render(&f, &b));
        ASSERT_STREQ(b.data, "# HELP o_total h\n# TYPE o_total counter\n"
                             "o_total{client=\"c\",name=\"n00\"} 1\n"
                             "o_total{client=\"c\",name=\"n01\"} 11\n"
                             "o_total{client=\"other\",name=\"other\"} 48\n");
        prom_family_done(&f);
        buf_done(&b);
}

TEST(histogram)
{
        static const char *const labels[] = {"server"};
        struct prom_budget budget = {.max = 100};
        struct prom_family f = {.name = "d_seconds",
                                .help = "Durations.",
                                .type = PROM_HISTOGRAM,
                                .labels = labels,
                                .n_labels = 1,
                                .bounds = bounds,
                                .n_bounds = 3,
                                .budget = &budget};
        struct prom_series *s = prom_series_get(&f, (const char *const[]){"fx"});
        struct buf b;

        buf_init(&b, 1 << 20);
        ASSERT_NOT_NULL(s);
        ASSERT_EQ(budget.used, 6); /* 4 buckets, _sum, _count */
        prom_histogram_observe(&f, s, 0.05);
        prom_histogram_observe(&f, s, 0.1); /* le is inclusive */
        prom_histogram_observe(&f, s, 2);
        prom_histogram_observe(&f, s, 100);
        ASSERT_OK(prom_family_render(&f, &b));
        ASSERT_STREQ(b.data, "# HELP d_seconds Durations.\n# TYPE d_seconds histogram\n"
                             "d_seconds_bucket{server=\"fx\",le=\"0.1\"} 2\n"
                             "d_seconds_bucket{server=\"fx\",le=\"1\"} 2\n"
                             "d_seconds_bucket{server=\"fx\",le=\"2.5\"} 3\n"
                             "d_seconds_bucket{server=\"fx\",le=\"+Inf\"} 4\n"
                             "d_seconds_sum{server=\"fx\"} 102.15\n"
                             "d_seconds_count{server=\"fx\"} 4\n");
        /* no room for another histogram series: the overflow one */
        budget.max = 8;
        ASSERT_TRUE(prom_series_get(&f, (const char *const[]){"other-server"}) == f.other);
        prom_family_done(&f);
        buf_done(&b);
}

TEST(label_values_bounded_and_utf8)
{
        char longv[400];
        char *v;

        memset(longv, 'a', sizeof(longv) - 1);
        longv[sizeof(longv) - 1] = 0;
        v = prom_label_value(longv);
        ASSERT_EQ(strlen(v), METRICS_LABEL_VALUE_MAX);
        free(v);
        /* a two-byte character is never cut in half */
        memset(longv, 'a', METRICS_LABEL_VALUE_MAX - 1);
        memcpy(longv + METRICS_LABEL_VALUE_MAX - 1, "\xc3\xa9zz", 5);
        v = prom_label_value(longv);
        ASSERT_EQ(strlen(v), METRICS_LABEL_VALUE_MAX - 1);
        free(v);
        v = prom_label_value("caf\xc3\xa9 \xff\xc3 \xed\xa0\x80 ok");
        ASSERT_STREQ(v, "caf\xc3\xa9 ?? ??? ok");
        free(v);
        v = prom_label_value(NULL);
        ASSERT_STREQ(v, "");
        free(v);
}

TEST(gauge_samples)
{
        static const char *const labels[] = {"server"};
        struct buf b;

        buf_init(&b, 1 << 20);
        ASSERT_OK(prom_header(&b, "g", "A gauge.", PROM_GAUGE));
        ASSERT_OK(prom_sample(&b, "g", labels, (const char *const[]){"a\"b"}, 1, 1));
        ASSERT_OK(prom_sample(&b, "g", NULL, NULL, 0, 0.25));
        ASSERT_STREQ(b.data, "# HELP g A gauge.\n# TYPE g gauge\ng{server=\"a\\\"b\"} 1\ng 0.25\n");
        buf_done(&b);
}

TEST(render_past_the_cap)
{
        struct prom_budget budget = {.max = 100};
        struct prom_family f = {.name = "c_total",
                                .help = "h",
                                .type = PROM_COUNTER,
                                .labels = req_labels,
                                .n_labels = 2,
                                .budget = &budget};
        struct buf b;

        buf_init(&b, 40);
        prom_counter_add(prom_series_get(&f, (const char *const[]){"c", "n"}), 1);
        ASSERT_TRUE(prom_family_render(&f, &b) < 0);
        prom_family_done(&f);
        buf_done(&b);
}

HARNESS_MAIN()
