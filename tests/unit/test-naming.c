/* SPDX-License-Identifier: MIT */
/* naming: client-visible names and URIs of aggregated servers, and back (src/hub/naming.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "hub/naming.h"

static const char *const servers[] = {"files", "ev", "ev2", "a.b-c"};
#define N (sizeof(servers) / sizeof(servers[0]))

TEST(names)
{
        char *s = naming_name_out("ev", "echo");

        ASSERT_STREQ(s, "ev_echo");
        free(s);
}

TEST(uri_round_trip)
{
        static const char *const uris[] = {
            "demo://resource/static/1",
            "file:///etc/hosts",
            "file://",
            "urn:x:y",
            "plain",
            "s3://bucket/k?q=1#f",
            "x://",
        };

        for (size_t k = 0; k < N; k++)
                for (size_t u = 0; u < sizeof(uris) / sizeof(uris[0]); u++) {
                        char *out = naming_uri_out(servers[k], uris[u]), *orig = NULL;
                        ASSERT_NOT_NULL(out);
                        ASSERT_EQ(naming_uri_in(out, servers, N, &orig), (int)k);
                        ASSERT_STREQ(orig, uris[u]);
                        free(out);
                        free(orig);
                }
}

TEST(uri_shapes)
{
        char *s = naming_uri_out("ev", "demo://resource/1");

        ASSERT_STREQ(s, "demo://ev/resource/1");
        free(s);
        s = naming_uri_out("ev", "urn:x");
        ASSERT_STREQ(s, "ev:urn:x");
        free(s);
}

TEST(prefix_is_not_a_match)
{
        char *orig = (char *)1;

        /* "ev2" must not be taken for "ev", nor a longer name for a shorter one */
        ASSERT_EQ(naming_uri_in("demo://ev2/r", servers, N, &orig), 2);
        ASSERT_STREQ(orig, "demo://r");
        free(orig);
        ASSERT_EQ(naming_uri_in("demo://evx/r", servers, N, &orig), -ENOENT);
        ASSERT_NULL(orig);
        ASSERT_EQ(naming_uri_in("evx:r", servers, N, &orig), -ENOENT);
        ASSERT_EQ(naming_uri_in("ev://r", servers, N, &orig), -ENOENT); /* a scheme, not ours */
        ASSERT_EQ(naming_uri_in("", servers, N, &orig), -ENOENT);
        ASSERT_EQ(naming_uri_in("demo://ev/r", servers, 0, &orig), -ENOENT);
}

HARNESS_MAIN()
