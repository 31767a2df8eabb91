/* SPDX-License-Identifier: MIT */
/* cursor: the opaque cursors of the aggregated lists (src/hub/cursor.c). */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "hub/cursor.h"

TEST(round_trip)
{
        static const size_t offsets[] = {0, 1, 99, 100, 12345, (size_t)-1};
        char c[CURSOR_MAX];
        size_t off;

        for (int kind = 0; kind < 4; kind++)
                for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
                        cursor_encode(kind, offsets[i], c);
                        ASSERT_TRUE(strlen(c) < CURSOR_MAX);
                        ASSERT_TRUE(strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                              "0123456789-_") == strlen(c));
                        ASSERT_OK(cursor_decode(c, kind, &off));
                        ASSERT_EQ(off, offsets[i]);
                }
}

TEST(other_list_refused)
{
        char c[CURSOR_MAX];
        size_t off = 7;

        cursor_encode(0, 100, c);
        ASSERT_EQ(cursor_decode(c, 1, &off), -EINVAL);
        ASSERT_EQ(off, 7);
}

TEST(garbage_refused)
{
        static const char *const bad[] = {
            "",
            "!!!!",
            "bWNwLXByb3h5OjA6",    /* "mcp-proxy:0:" without offset */
            "bWNwLXByb3h5OjA6eA",  /* "mcp-proxy:0:x" */
            "Zm9vOjA6MQ",          /* "foo:0:1" */
            "bWNwLXByb3h5OjA6LTE", /* "mcp-proxy:0:-1" is not a number we made */
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
            "A",
        };
        size_t off;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                ASSERT_TRUE(cursor_decode(bad[i], 0, &off) < 0);
}

HARNESS_MAIN()
