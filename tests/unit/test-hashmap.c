/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>

#include "harness.h"
#include "hashmap.h"

TEST(put_get_remove_many)
{
        struct hmap m = {};
        for (uint64_t k = 1; k <= 5000; k++)
                ASSERT_OK(hmap_put(&m, k, (void *)(uintptr_t)(k * 3)));
        ASSERT_EQ(m.n, 5000);
        for (uint64_t k = 1; k <= 5000; k++)
                ASSERT_EQ((uintptr_t)hmap_get(&m, k), k * 3);
        /* Remove every other key; the rest must stay reachable (backward shift). */
        for (uint64_t k = 2; k <= 5000; k += 2)
                ASSERT_EQ((uintptr_t)hmap_remove(&m, k), k * 3);
        for (uint64_t k = 1; k <= 5000; k++)
                ASSERT_EQ((uintptr_t)hmap_get(&m, k), (k % 2) ? k * 3 : 0);
        ASSERT_EQ(m.n, 2500);
        ASSERT_NULL(hmap_remove(&m, 2));
        hmap_done(&m);
}

TEST(colliding_keys_and_iteration)
{
        struct hmap m = {};
        size_t i = 0, count = 0;
        uint64_t k;
        void *v;
        /* Keys that differ only in high bits land in clusters. */
        for (uint64_t n = 1; n <= 64; n++)
                ASSERT_OK(hmap_put(&m, n << 40, (void *)(uintptr_t)n));
        for (uint64_t n = 1; n <= 64; n += 3)
                ASSERT_EQ((uintptr_t)hmap_remove(&m, n << 40), n);
        while (hmap_next(&m, &i, &k, &v)) {
                ASSERT_EQ(k >> 40, (uintptr_t)v);
                count++;
        }
        ASSERT_EQ(count, m.n);
        ASSERT_EQ(hmap_put(&m, 0, NULL), -EINVAL);
        hmap_done(&m);
}

TEST(hash_string_never_zero)
{
        ASSERT_NE(hash_string(""), 0);
        ASSERT_NE(hash_string("a"), hash_string("b"));
}

static int is_even(void *v, const void *ud)
{
        return (uintptr_t)v % 2 == 0;
}

static void count_done(void *v, const void *ud)
{
        (*(size_t *)(uintptr_t)ud)++;
}

TEST(remove_if)
{
        struct hmap m = {};
        size_t done = 0;

        /* enough keys for long clusters and wrap-around in a small table */
        for (uint64_t k = 1; k <= 1000; k++)
                ASSERT_OK(hmap_put(&m, k * 7919, (void *)(uintptr_t)k));
        ASSERT_EQ(hmap_remove_if(&m, is_even, count_done, &done), 500);
        ASSERT_EQ(done, 500);
        ASSERT_EQ(m.n, 500);
        for (uint64_t k = 1; k <= 1000; k++)
                ASSERT_EQ((uintptr_t)hmap_get(&m, k * 7919), k % 2 ? k : 0);
        ASSERT_EQ(hmap_remove_if(&m, is_even, NULL, NULL), 0);
        hmap_done(&m);
}

HARNESS_MAIN()
