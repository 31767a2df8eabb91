/* SPDX-License-Identifier: MIT */
/* sealed-id: session ids a restarted hub can take back (src/hub/sealed-id.c). */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "hub/sealed-id.h"

static void test_key(uint8_t key[SEALED_KEY_SIZE])
{
        for (int i = 0; i < SEALED_KEY_SIZE; i++)
                key[i] = (uint8_t)i;
}

static const struct sealed_id sample = {
    .format = SEALED_FORMAT,
    .created_ms = 0x018f0a1b2c3dULL,
    .protocol = "2025-11-25",
    .caps = SEALED_CAP_ROOTS | SEALED_CAP_SAMPLING | SEALED_CAP_ELICITATION,
    .random = {1, 2, 3, 4, 5},
};

/* Known answer, computed independently: the body in hex, then the first 16 bytes of
 *   { printf 'mcp-proxy session id\0'; echo -n 01018f0a...0405 | xxd -r -p; printf alice; } |
 *   openssl dgst -sha256 -mac HMAC -macopt hexkey:000102...1f */
TEST(known_answer)
{
        uint8_t key[SEALED_KEY_SIZE];
        char id[SEALED_ID_LEN + 1];

        test_key(key);
        ASSERT_OK(sealed_id_make(key, &sample, "alice", id));
        ASSERT_STREQ(id, "01018f0a1b2c3d190b19250102030405"
                         "a77c0a4c0a6cc5eb6226bd504429ab9f");
}

TEST(round_trip)
{
        uint8_t key[SEALED_KEY_SIZE];
        char id[SEALED_ID_LEN + 1];
        struct sealed_id got;

        test_key(key);
        ASSERT_OK(sealed_id_make(key, &sample, "alice", id));
        ASSERT_EQ(strlen(id), SEALED_ID_LEN);
        ASSERT_OK(sealed_id_open(key, id, "alice", &got));
        ASSERT_EQ(got.format, SEALED_FORMAT);
        ASSERT_EQ(got.created_ms, sample.created_ms);
        ASSERT_STREQ(got.protocol, "2025-11-25");
        ASSERT_EQ(got.caps, sample.caps);
        ASSERT_TRUE(memcmp(got.random, sample.random, 5) == 0);
}

TEST(other_client_or_key_refused)
{
        uint8_t key[SEALED_KEY_SIZE];
        char id[SEALED_ID_LEN + 1];
        struct sealed_id got;

        test_key(key);
        ASSERT_OK(sealed_id_make(key, &sample, "alice", id));
        ASSERT_EQ(sealed_id_open(key, id, "bob", &got), -EPERM);
        ASSERT_EQ(sealed_id_open(key, id, "alic", &got), -EPERM);
        ASSERT_EQ(sealed_id_open(key, id, "alice ", &got), -EPERM);
        key[31] ^= 1;
        ASSERT_EQ(sealed_id_open(key, id, "alice", &got), -EPERM);
}

/* Any one character changed (a client editing its creation time, protocol or capabilities,
 * or guessing a MAC) and the id no longer opens. */
TEST(tampering_refused)
{
        uint8_t key[SEALED_KEY_SIZE];
        char id[SEALED_ID_LEN + 1], t[SEALED_ID_LEN + 1];
        struct sealed_id got;

        test_key(key);
        ASSERT_OK(sealed_id_make(key, &sample, "alice", id));
        for (size_t i = 0; i < SEALED_ID_LEN; i++) {
                memcpy(t, id, sizeof(t));
                t[i] = t[i] == '0' ? '1' : '0';
                ASSERT_TRUE(sealed_id_open(key, t, "alice", &got) < 0);
        }
}

TEST(malformed_refused)
{
        uint8_t key[SEALED_KEY_SIZE];
        char id[SEALED_ID_LEN + 1], t[SEALED_ID_LEN + 2];
        struct sealed_id got, bad = sample;

        test_key(key);
        ASSERT_OK(sealed_id_make(key, &sample, "alice", id));
        ASSERT_EQ(sealed_id_open(key, NULL, "alice", &got), -EINVAL);
        ASSERT_EQ(sealed_id_open(key, "", "alice", &got), -EINVAL);
        /* upper-case hex is not what we make */
        memcpy(t, id, sizeof(id));
        for (char *p = t; *p; p++)
                if (*p >= 'a' && *p <= 'f')
                        *p = (char)(*p - 'a' + 'A');
        ASSERT_EQ(sealed_id_open(key, t, "alice", &got), -EINVAL);
        /* one more or one less character */
        snprintf(t, sizeof(t), "%s0", id);
        ASSERT_EQ(sealed_id_open(key, t, "alice", &got), -EINVAL);
        ASSERT_EQ(sealed_id_open(key, t + 2, "alice", &got), -EINVAL);
        /* the random ids of old hubs (32 hex) are not sealed ids */
        ASSERT_EQ(sealed_id_open(key, "0123456789abcdef0123456789abcdef", "alice", &got), -EINVAL);
        snprintf(bad.protocol, sizeof(bad.protocol), "draft");
        ASSERT_EQ(sealed_id_make(key, &bad, "alice", id), -EINVAL);
        snprintf(bad.protocol, sizeof(bad.protocol), "2025-13-01");
        ASSERT_EQ(sealed_id_make(key, &bad, "alice", id), -EINVAL);
}

/* A long client id is hashed into the MAC's message, still bound exactly. */
TEST(long_client_ids)
{
        uint8_t key[SEALED_KEY_SIZE];
        char a[600], b[600], id[SEALED_ID_LEN + 1];
        struct sealed_id got;

        test_key(key);
        memset(a, 'x', sizeof(a) - 1);
        a[sizeof(a) - 1] = 0;
        memcpy(b, a, sizeof(a));
        b[590] = 'y';
        ASSERT_OK(sealed_id_make(key, &sample, a, id));
        ASSERT_OK(sealed_id_open(key, id, a, &got));
        ASSERT_EQ(sealed_id_open(key, id, b, &got), -EPERM);
}

HARNESS_MAIN()
