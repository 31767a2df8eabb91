/* SPDX-License-Identifier: MIT */
/* json_find_nul: raw NULs and \u0000 escapes, not escaped backslashes or other escapes. */
#include <string.h>

#include "harness.h"
#include "json.h"

#define FIND(lit) json_find_nul(lit, sizeof(lit) - 1)

TEST(find_nul_none)
{
        ASSERT_EQ(json_find_nul("", 0), 0);
        ASSERT_EQ(json_find_nul(NULL, 0), 0);
        ASSERT_EQ(FIND("{\"k\":\"v\"}"), 9);
        ASSERT_EQ(FIND("\"\\u0001\\u0010\""), 14);
}

TEST(find_nul_raw)
{
        ASSERT_EQ(FIND("{\"k\0\":1}"), 3);
        ASSERT_EQ(FIND("\0"), 0);
}

TEST(find_nul_escaped)
{
        ASSERT_EQ(FIND("{\"k\\u0000rest\":1}"), 3);
        ASSERT_EQ(FIND("\"\\u0001\\u00000\""), 7);
        ASSERT_EQ(FIND("\"a\\\\u0000\""), 10); /* an escaped backslash, then text */
        ASSERT_EQ(FIND("\"a\\\\\\u0000\""), 4);
        ASSERT_EQ(FIND("\"\\\"\\u0000\""), 3);
}

TEST(find_nul_truncated)
{
        /* An escape cut by len is not a NUL: the parser rejects it anyway. */
        ASSERT_EQ(json_find_nul("\\u000", 5), 5);
        ASSERT_EQ(json_find_nul("\\u0000", 5), 5);
        ASSERT_EQ(json_find_nul("\\", 1), 1);
        ASSERT_EQ(json_find_nul("ab\\u0000", 8), 2);
}

/* json_int64: what a peer sends as an id or a code, never an undefined cast. */
static int int64_of(const char *text, int64_t *ret)
{
        cJSON *v = cJSON_Parse(text);
        int r = json_int64(v, ret);

        cJSON_Delete(v);
        return r;
}

TEST(int64_whole_numbers)
{
        int64_t n = 0;

        ASSERT_TRUE(int64_of("1", &n));
        ASSERT_EQ(n, 1);
        ASSERT_TRUE(int64_of("-1", &n));
        ASSERT_EQ(n, -1);
        ASSERT_TRUE(int64_of("9007199254740991", &n));
        ASSERT_EQ(n, 9007199254740991LL);
        ASSERT_TRUE(int64_of("-9223372036854775808", &n)); /* -2^63: exact as a double */
        ASSERT_EQ(n, INT64_MIN);
        ASSERT_TRUE(int64_of("1e3", &n));
        ASSERT_EQ(n, 1000);
}

TEST(int64_refused)
{
        int64_t n = 42;

        ASSERT_FALSE(int64_of("1.5", &n));
        ASSERT_FALSE(int64_of("-0.25", &n));
        ASSERT_FALSE(int64_of("9223372036854775808", &n)); /* 2^63 */
        ASSERT_FALSE(int64_of("1e300", &n));
        ASSERT_FALSE(int64_of("-1e300", &n));
        ASSERT_FALSE(int64_of("\"1\"", &n));
        ASSERT_FALSE(int64_of("null", &n));
        ASSERT_FALSE(json_int64(NULL, &n));
        ASSERT_EQ(n, 42); /* untouched */
}

/* json_find_duplicate_key: a name twice in one object, at any depth, however escaped. */
static int dup_of(const char *text, const char **key)
{
        cJSON *v = cJSON_Parse(text);
        int r = v ? json_find_duplicate_key(v, key) : -1;

        cJSON_Delete(v);
        return r;
}

TEST(duplicate_keys)
{
        const char *key = NULL;
        cJSON *v;

        ASSERT_EQ(dup_of("{\"a\":1,\"b\":2,\"c\":{\"a\":1}}", &key), 0);
        ASSERT_EQ(dup_of("[{\"a\":1},{\"a\":2}]", &key), 0);
        ASSERT_EQ(dup_of("{}", &key), 0);
        ASSERT_EQ(dup_of("3", &key), 0);
        ASSERT_EQ(dup_of("{\"\":1,\"x\":2}", &key), 0);
        ASSERT_NULL(key);
        /* a key borrowed from the tree: checked while it lives */
        v = cJSON_Parse("{\"params\":{\"name\":\"a\",\"arguments\":{},\"name\":\"b\"}}");
        ASSERT_EQ(json_find_duplicate_key(v, &key), 1);
        ASSERT_TRUE(key && strcmp(key, "name") == 0);
        cJSON_Delete(v);
        ASSERT_EQ(dup_of("{\"id\":1,\"\\u0069d\":2}", &key), 1);
        ASSERT_EQ(dup_of("[1,[{\"x\":{\"y\":[{\"k\":1,\"j\":2,\"k\":3}]}}]]", &key), 1);
        ASSERT_EQ(dup_of("{\"\":1,\"\":2}", &key), 1);
}

HARNESS_MAIN()
