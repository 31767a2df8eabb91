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

HARNESS_MAIN()
