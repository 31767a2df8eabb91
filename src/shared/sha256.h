/* SPDX-License-Identifier: MIT */
/* SHA-256 and HMAC-SHA-256 (FIPS 180-4, RFC 2104), our own small implementation. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE 32
#define SHA256_BLOCK_SIZE  64

struct sha256_ctx {
        uint32_t state[8];
        uint64_t bitlen;
        uint8_t block[SHA256_BLOCK_SIZE];
        size_t blocklen;
};

void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t n);
void sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_DIGEST_SIZE]);
void sha256(const void *data, size_t n, uint8_t out[SHA256_DIGEST_SIZE]);
void hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
                 uint8_t out[SHA256_DIGEST_SIZE]);
/* Lower-case hex of n bytes into out (2n+1 bytes). */
void hex_encode(const uint8_t *in, size_t n, char *out);
/* The value of one hex digit, either case; -1 for anything else. */
int hex_digit(char c);
/* n bytes from the 2n hex digits at in (either case): 0, or -EINVAL (out then zeroed). */
int hex_decode(const char *in, size_t n, uint8_t *out);
