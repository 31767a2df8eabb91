/* SPDX-License-Identifier: MIT */
/* strv: length, free (NULL-safe, returns NULL), free_erase and deep copy. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "strv.h"

static char **make(const char *a, const char *b)
{
        char **v = calloc(3, sizeof(char *));

        if (!v)
                return NULL;
        v[0] = a ? strdup(a) : NULL;
        v[1] = a && b ? strdup(b) : NULL;
        return v;
}

TEST(length)
{
        char **v = make("a", "b"), **e = make(NULL, NULL);

        ASSERT_EQ(strv_length(NULL), 0);
        ASSERT_EQ(strv_length(e), 0);
        ASSERT_EQ(strv_length(v), 2);
        strv_free(v);
        strv_free(e);
}

TEST(free_returns_null)
{
        char **v = make("x", "y");

        ASSERT_NULL(strv_free(NULL));
        ASSERT_NULL(strv_free_erase(NULL));
        v = strv_free(v);
        ASSERT_NULL(v);
        v = make("secret", "other");
        v = strv_free_erase(v);
        ASSERT_NULL(v);
}

TEST(copy)
{
        char **v = make("KEY=value", "B=2"), **c = (char **)1;

        ASSERT_OK(strv_copy(NULL, &c));
        ASSERT_NULL(c);
        ASSERT_OK(strv_copy(v, &c));
        ASSERT_NOT_NULL(c);
        ASSERT_EQ(strv_length(c), 2);
        ASSERT_STREQ(c[0], "KEY=value");
        ASSERT_STREQ(c[1], "B=2");
        ASSERT_NULL(c[2]);
        ASSERT_TRUE(c[0] != v[0]);
        strv_free(v);
        strv_free(c);
}

TEST(copy_empty)
{
        char **v = make(NULL, NULL), **c = NULL;

        ASSERT_OK(strv_copy(v, &c));
        ASSERT_NOT_NULL(c);
        ASSERT_NULL(c[0]);
        strv_free(v);
        strv_free(c);
}

TEST(cleanup)
{
        _cleanup_strv_free_ char **v = make("a", NULL);

        ASSERT_EQ(strv_length(v), 1);
}

HARNESS_MAIN()
