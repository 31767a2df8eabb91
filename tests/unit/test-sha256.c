/* SPDX-License-Identifier: MIT */
/* SHA-256 against FIPS 180-4 examples, HMAC-SHA-256 against RFC 4231. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "sha256.h"

static const char *hex_of(const uint8_t d[SHA256_DIGEST_SIZE])
{
        static char out[2 * SHA256_DIGEST_SIZE + 1];
        hex_encode(d, SHA256_DIGEST_SIZE, out);
        return out;
}

static const char *sha_hex(const void *data, size_t n)
{
        uint8_t d[SHA256_DIGEST_SIZE];
        sha256(data, n, d);
        return hex_of(d);
}

static const char *hmac_hex(const void *key, size_t keylen, const void *data, size_t n)
{
        uint8_t d[SHA256_DIGEST_SIZE];
        hmac_sha256(key, keylen, data, n, d);
        return hex_of(d);
}

TEST(hex_encode_basic)
{
        const uint8_t in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
        char out[2 * sizeof(in) + 1];

        memset(out, 'x', sizeof(out));
        hex_encode(in, sizeof(in), out);
        ASSERT_STREQ(out, "00017f80abff");

        hex_encode(in, 0, out);
        ASSERT_STREQ(out, "");
}

TEST(fips_empty)
{
        ASSERT_STREQ(sha_hex("", 0),
                     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        ASSERT_STREQ(sha_hex(NULL, 0),
                     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(fips_abc)
{
        ASSERT_STREQ(sha_hex("abc", 3),
                     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(fips_448_bit)
{
        const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        ASSERT_EQ(strlen(m) * 8, 448);
        ASSERT_STREQ(sha_hex(m, strlen(m)),
                     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(fips_896_bit)
{
        const char *m = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                        "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
        ASSERT_EQ(strlen(m) * 8, 896);
        ASSERT_STREQ(sha_hex(m, strlen(m)),
                     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(fips_million_a_one_shot)
{
        size_t n = 1000000;
        char *m = malloc(n);

        ASSERT_NOT_NULL(m);
        memset(m, 'a', n);
        ASSERT_STREQ(sha_hex(m, n),
                     "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
        free(m);
}

TEST(fips_million_a_odd_chunks)
{
        /* Chunks of 1..97 bytes cross block boundaries at every offset. */
        char chunk[97];
        struct sha256_ctx c;
        uint8_t d[SHA256_DIGEST_SIZE];
        size_t left = 1000000, step = 1;

        memset(chunk, 'a', sizeof(chunk));
        sha256_init(&c);
        while (left > 0) {
                size_t k = step < left ? step : left;
                sha256_update(&c, chunk, k);
                left -= k;
                step = step % sizeof(chunk) + 1;
        }
        sha256_final(&c, d);
        ASSERT_STREQ(hex_of(d), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(padding_boundaries)
{
        /* Lengths around the 55/56/64-byte padding edges (expected values from Python hashlib). */
        static const struct {
                size_t n;
                const char *hex;
        } cases[] = {
            {55, "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b"},
            {56, "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27"},
            {57, "35df609437dcfea3279283ab79fd554e2bf78f8f7ae2de532d8ee300b09e8f73"},
            {63, "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055"},
            {64, "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241"},
            {65, "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e"},
            {119, "9ce7368e4daf32341631b492e80359dc9f594b48453cd0dd5bf0b19279cc177e"},
            {120, "7836b787757e95e58b3ca5aec90b1b004e8deba1e50e9675af9cabf1a13a04b5"},
            {127, "a8d23e75d936f303d248888d9b165ee543f4cbafcad3c9dd2a79bd84faa11d07"},
            {128, "d2742f1f4ac6bb7ca2b239ee18402ba8b3f9f8e652d2a72973c2b9ba11c08cf6"},
        };
        uint8_t m[128];

        for (size_t i = 0; i < sizeof(m); i++)
                m[i] = (uint8_t)((i * 7 + 3) % 256);

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                ASSERT_STREQ(sha_hex(m, cases[i].n), cases[i].hex);

                /* Every split point gives the same digest as one shot. */
                for (size_t split = 0; split <= cases[i].n; split++) {
                        struct sha256_ctx c;
                        uint8_t d[SHA256_DIGEST_SIZE];

                        sha256_init(&c);
                        sha256_update(&c, m, split);
                        sha256_update(&c, m + split, cases[i].n - split);
                        sha256_final(&c, d);
                        ASSERT_STREQ(hex_of(d), cases[i].hex);
                }
        }
}

TEST(final_wipes_context)
{
        struct sha256_ctx c, zero;
        uint8_t d[SHA256_DIGEST_SIZE];

        memset(&zero, 0, sizeof(zero));
        sha256_init(&c);
        sha256_update(&c, "secret", 6);
        sha256_final(&c, d);
        ASSERT_TRUE(memcmp(&c, &zero, sizeof(c)) == 0);
}

TEST(rfc4231_case1)
{
        uint8_t key[20];
        memset(key, 0x0b, sizeof(key));
        ASSERT_STREQ(hmac_hex(key, sizeof(key), "Hi There", 8),
                     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(rfc4231_case2)
{
        const char *data = "what do ya want for nothing?";
        ASSERT_STREQ(hmac_hex("Jefe", 4, data, strlen(data)),
                     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(rfc4231_case3)
{
        uint8_t key[20], data[50];
        memset(key, 0xaa, sizeof(key));
        memset(data, 0xdd, sizeof(data));
        ASSERT_STREQ(hmac_hex(key, sizeof(key), data, sizeof(data)),
                     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
}

TEST(rfc4231_case4)
{
        uint8_t key[25], data[50];
        for (size_t i = 0; i < sizeof(key); i++)
                key[i] = (uint8_t)(i + 1);
        memset(data, 0xcd, sizeof(data));
        ASSERT_STREQ(hmac_hex(key, sizeof(key), data, sizeof(data)),
                     "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
}

TEST(rfc4231_case6_long_key)
{
        uint8_t key[131];
        const char *data = "Test Using Larger Than Block-Size Key - Hash Key First";
        memset(key, 0xaa, sizeof(key));
        ASSERT_STREQ(hmac_hex(key, sizeof(key), data, strlen(data)),
                     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(rfc4231_case7_long_key_long_data)
{
        uint8_t key[131];
        const char *data = "This is a test using a larger than block-size key and a larger than "
                           "block-size data. The key needs to be hashed before being used by the "
                           "HMAC algorithm.";
        memset(key, 0xaa, sizeof(key));
        ASSERT_STREQ(hmac_hex(key, sizeof(key), data, strlen(data)),
                     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST(hmac_edge_keys)
{
        uint8_t key[64];

        /* Empty key and message. */
        ASSERT_STREQ(hmac_hex(NULL, 0, NULL, 0),
                     "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
        /* A key of exactly one block is used as is, not hashed. */
        memset(key, 'k', sizeof(key));
        ASSERT_STREQ(hmac_hex(key, sizeof(key), "msg", 3),
                     "d62ad25bb128e96ab6ef43464aaf2bb91b5b85f013381e9ba6be747e8d0911b2");
}

TEST(hex_decode_both_cases_and_refusals)
{
        uint8_t out[4];

        ASSERT_EQ(hex_digit('0'), 0);
        ASSERT_EQ(hex_digit('f'), 15);
        ASSERT_EQ(hex_digit('F'), 15);
        ASSERT_EQ(hex_digit('g'), -1);
        ASSERT_EQ(hex_digit('\0'), -1);
        ASSERT_OK(hex_decode("00aBcD7f", 4, out));
        ASSERT_TRUE(out[0] == 0x00 && out[1] == 0xab && out[2] == 0xcd && out[3] == 0x7f);
        /* a bad digit anywhere: refused, and nothing half-decoded left behind */
        ASSERT_EQ(hex_decode("00aBcD7g", 4, out), -EINVAL);
        ASSERT_TRUE(out[0] == 0 && out[1] == 0 && out[2] == 0 && out[3] == 0);
        ASSERT_EQ(hex_decode("0 aBcD7f", 4, out), -EINVAL);
        ASSERT_EQ(hex_decode("00ab", 4, out), -EINVAL); /* ends early: the NUL is no digit */
}

HARNESS_MAIN()
