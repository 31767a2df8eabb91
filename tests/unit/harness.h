/* SPDX-License-Identifier: MIT */
/*
 * Tiny test harness (after systemd's tests.h and picotest): TEST(name)
 * registers a case, ASSERT_* report file:line and abort the case. The
 * binary prints TAP ("ok 1 - name") and a final "N passed, N failed".
 *
 *   TEST(parses_simple_get) { ASSERT_EQ(f(1), 2); }
 *   int main(void) { return harness_run(); }   -- or use HARNESS_MAIN()
 */
#pragma once

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*harness_fn)(void);

struct harness_case {
        const char *name;
        harness_fn fn;
        struct harness_case *next;
};

extern struct harness_case *harness_cases;
extern int harness_failed_now;

#define TEST(n)                                                             \
        static void test_##n(void);                                         \
        static struct harness_case harness_case_##n = {#n, test_##n, NULL}; \
        __attribute__((constructor)) static void harness_register_##n(void) \
        {                                                                   \
                struct harness_case **p = &harness_cases;                   \
                while (*p)                                                  \
                        p = &(*p)->next;                                    \
                *p = &harness_case_##n;                                     \
        }                                                                   \
        static void test_##n(void)

#define HARNESS_FAIL(...)                                         \
        do {                                                      \
                fprintf(stdout, "# %s:%d: ", __FILE__, __LINE__); \
                fprintf(stdout, __VA_ARGS__);                     \
                fputc('\n', stdout);                              \
                harness_failed_now = 1;                           \
                return;                                           \
        } while (0)

#define ASSERT_TRUE(x)                                         \
        do {                                                   \
                if (!(x))                                      \
                        HARNESS_FAIL("expected true: %s", #x); \
        } while (0)
#define ASSERT_FALSE(x) ASSERT_TRUE(!(x))
#define ASSERT_NULL(x)                                         \
        do {                                                   \
                if ((x) != NULL)                               \
                        HARNESS_FAIL("expected NULL: %s", #x); \
        } while (0)
#define ASSERT_NOT_NULL(x)                                         \
        do {                                                       \
                if ((x) == NULL)                                   \
                        HARNESS_FAIL("expected non-NULL: %s", #x); \
        } while (0)
#define ASSERT_EQ(a, b)                                                       \
        do {                                                                  \
                intmax_t _a = (intmax_t)(a), _b = (intmax_t)(b);              \
                if (_a != _b)                                                 \
                        HARNESS_FAIL("%s == %s: %jd != %jd", #a, #b, _a, _b); \
        } while (0)
#define ASSERT_NE(a, b)                                                 \
        do {                                                            \
                intmax_t _a = (intmax_t)(a), _b = (intmax_t)(b);        \
                if (_a == _b)                                           \
                        HARNESS_FAIL("%s != %s: both %jd", #a, #b, _a); \
        } while (0)
#define ASSERT_OK(x)                                                                     \
        do {                                                                             \
                intmax_t _r = (intmax_t)(x);                                             \
                if (_r < 0)                                                              \
                        HARNESS_FAIL("%s failed: %jd (%s)", #x, _r, strerror((int)-_r)); \
        } while (0)
#define ASSERT_STREQ(a, b)                                                                     \
        do {                                                                                   \
                const char *_a = (a), *_b = (b);                                               \
                if (!_a || !_b || strcmp(_a, _b) != 0)                                         \
                        HARNESS_FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b, _a ? _a : "(null)", \
                                     _b ? _b : "(null)");                                      \
        } while (0)
#define ASSERT_MEMEQ(a, alen, b)                                                     \
        do {                                                                         \
                const char *_b = (b);                                                \
                size_t _al = (alen), _bl = strlen(_b);                               \
                if (_al != _bl || memcmp((a), _b, _bl) != 0)                         \
                        HARNESS_FAIL("%s == \"%s\": got \"%.*s\"", #a, _b, (int)_al, \
                                     (const char *)(a));                             \
        } while (0)
#define ASSERT_CONTAINS(hay, needle)                                                            \
        do {                                                                                    \
                const char *_h = (hay), *_n = (needle);                                         \
                if (!_h || !strstr(_h, _n))                                                     \
                        HARNESS_FAIL("\"%s\" does not contain \"%s\"", _h ? _h : "(null)", _n); \
        } while (0)

int harness_run(void);

#define HARNESS_MAIN()                                                         \
        struct harness_case *harness_cases;                                    \
        int harness_failed_now;                                                \
        int harness_run(void)                                                  \
        {                                                                      \
                int n = 0, passed = 0, failed = 0;                             \
                for (struct harness_case *c = harness_cases; c; c = c->next)   \
                        n++;                                                   \
                printf("1..%d\n", n);                                          \
                n = 0;                                                         \
                for (struct harness_case *c = harness_cases; c; c = c->next) { \
                        harness_failed_now = 0;                                \
                        c->fn();                                               \
                        fflush(stdout);                                        \
                        if (harness_failed_now) {                              \
                                failed++;                                      \
                                printf("not ok %d - %s\n", ++n, c->name);      \
                        } else {                                               \
                                passed++;                                      \
                                printf("ok %d - %s\n", ++n, c->name);          \
                        }                                                      \
                }                                                              \
                printf("%d passed, %d failed\n", passed, failed);              \
                return failed ? 1 : 0;                                         \
        }                                                                      \
        int main(void)                                                         \
        {                                                                      \
                return harness_run();                                          \
        }
