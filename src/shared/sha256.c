/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 as specified in FIPS 180-4 section 6.2, and HMAC (RFC 2104).
 * Straightforward and portable: no tables beyond K, no assembly. Inputs
 * here are API keys and small config renderings, so speed hardly matters.
 */
#include <errno.h>
#include <string.h>

#include "macro.h"
#include "sha256.h"

/* First 32 bits of the fractional parts of the cube roots of the first 64 primes. */
static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror32(uint32_t x, unsigned n)
{
        return (x >> n) | (x << (32 - n));
}

static inline uint32_t load_be32(const uint8_t *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void store_be32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
}

static void sha256_compress(uint32_t state[8], const uint8_t block[SHA256_BLOCK_SIZE])
{
        uint32_t w[64], a, b, c, d, e, f, g, h;

        for (unsigned i = 0; i < 16; i++)
                w[i] = load_be32(block + 4 * i);
        for (unsigned i = 16; i < 64; i++) {
                uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
                uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
                w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }

        a = state[0];
        b = state[1];
        c = state[2];
        d = state[3];
        e = state[4];
        f = state[5];
        g = state[6];
        h = state[7];

        for (unsigned i = 0; i < 64; i++) {
                uint32_t S1 = ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25);
                uint32_t ch = (e & f) ^ (~e & g);
                uint32_t t1 = h + S1 + ch + sha256_k[i] + w[i];
                uint32_t S0 = ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22);
                uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
                uint32_t t2 = S0 + maj;

                h = g;
                g = f;
                f = e;
                e = d + t1;
                d = c;
                c = b;
                b = a;
                a = t1 + t2;
        }

        state[0] += a;
        state[1] += b;
        state[2] += c;
        state[3] += d;
        state[4] += e;
        state[5] += f;
        state[6] += g;
        state[7] += h;

        /* The schedule is derived from the message (for us: an API key). */
        explicit_bzero(w, sizeof(w));
}

void sha256_init(struct sha256_ctx *c)
{
        /* First 32 bits of the fractional parts of the square roots of the first 8 primes. */
        *c = (struct sha256_ctx){
            .state = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c,
                      0x1f83d9ab, 0x5be0cd19},
        };
}

void sha256_update(struct sha256_ctx *c, const void *data, size_t n)
{
        const uint8_t *p = data;

        if (n == 0)
                return;
        c->bitlen += (uint64_t)n * 8;

        if (c->blocklen > 0) {
                size_t take = MIN(n, SHA256_BLOCK_SIZE - c->blocklen);
                memcpy(c->block + c->blocklen, p, take);
                c->blocklen += take;
                p += take;
                n -= take;
                if (c->blocklen < SHA256_BLOCK_SIZE)
                        return;
                sha256_compress(c->state, c->block);
                c->blocklen = 0;
        }

        while (n >= SHA256_BLOCK_SIZE) {
                sha256_compress(c->state, p);
                p += SHA256_BLOCK_SIZE;
                n -= SHA256_BLOCK_SIZE;
        }

        if (n > 0) {
                memcpy(c->block, p, n);
                c->blocklen = n;
        }
}

void sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_DIGEST_SIZE])
{
        uint64_t bitlen = c->bitlen;

        /* Padding: 0x80, zeros up to 56 mod 64, then the 64-bit big-endian length. */
        c->block[c->blocklen++] = 0x80;
        if (c->blocklen > SHA256_BLOCK_SIZE - 8) {
                memset(c->block + c->blocklen, 0, SHA256_BLOCK_SIZE - c->blocklen);
                sha256_compress(c->state, c->block);
                c->blocklen = 0;
        }
        memset(c->block + c->blocklen, 0, SHA256_BLOCK_SIZE - 8 - c->blocklen);
        store_be32(c->block + 56, (uint32_t)(bitlen >> 32));
        store_be32(c->block + 60, (uint32_t)bitlen);
        sha256_compress(c->state, c->block);

        for (unsigned i = 0; i < 8; i++)
                store_be32(out + 4 * i, c->state[i]);

        explicit_bzero(c, sizeof(*c));
}

void sha256(const void *data, size_t n, uint8_t out[SHA256_DIGEST_SIZE])
{
        struct sha256_ctx c;

        sha256_init(&c);
        sha256_update(&c, data, n);
        sha256_final(&c, out);
}

void hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
                 uint8_t out[SHA256_DIGEST_SIZE])
{
        uint8_t k[SHA256_BLOCK_SIZE] = {}, pad[SHA256_BLOCK_SIZE], inner[SHA256_DIGEST_SIZE];
        struct sha256_ctx c;

        /* Keys longer than a block are hashed first; shorter ones are zero-padded. */
        if (keylen > SHA256_BLOCK_SIZE)
                sha256(key, keylen, k);
        else if (keylen > 0)
                memcpy(k, key, keylen);

        for (unsigned i = 0; i < SHA256_BLOCK_SIZE; i++)
                pad[i] = k[i] ^ 0x36;
        sha256_init(&c);
        sha256_update(&c, pad, sizeof(pad));
        sha256_update(&c, data, n);
        sha256_final(&c, inner);

        for (unsigned i = 0; i < SHA256_BLOCK_SIZE; i++)
                pad[i] = k[i] ^ 0x5c;
        sha256_init(&c);
        sha256_update(&c, pad, sizeof(pad));
        sha256_update(&c, inner, sizeof(inner));
        sha256_final(&c, out);

        explicit_bzero(k, sizeof(k));
        explicit_bzero(pad, sizeof(pad));
        explicit_bzero(inner, sizeof(inner));
}

void hex_encode(const uint8_t *in, size_t n, char *out)
{
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[in[i] >> 4];
                out[2 * i + 1] = digits[in[i] & 0xf];
        }
        out[2 * n] = '\0';
}

int hex_digit(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int hex_decode(const char *in, size_t n, uint8_t *out)
{
        for (size_t i = 0; i < n; i++) {
                int hi = hex_digit(in[2 * i]), lo = hi < 0 ? -1 : hex_digit(in[2 * i + 1]);
                if (hi < 0 || lo < 0) {
                        explicit_bzero(out, n);
                        return -EINVAL;
                }
                out[i] = (uint8_t)(hi << 4 | lo);
        }
        return 0;
}
