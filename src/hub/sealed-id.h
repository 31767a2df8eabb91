/* SPDX-License-Identifier: MIT */
/*
 * Sealed session ids: what a hub needs to take a session back after a
 * restart (or, with a shared key, from another host), carried in the id
 * itself and sealed with HMAC-SHA-256 under the hub's session key:
 *
 *   byte  0      format: 1 (Streamable HTTP), 2 (legacy HTTP+SSE)
 *   bytes 1..6   creation time, milliseconds since the epoch (big endian)
 *   bytes 7..9   negotiated protocol version, YY MM DD (2025-11-25: 25 11 25)
 *   byte  10     client capabilities (SEALED_CAP_*)
 *   bytes 11..15 random
 *   bytes 16..31 HMAC-SHA-256(key, "mcp-proxy session id" NUL, bytes 0..15,
 *                client id), first 16 bytes
 *
 * in lower-case hex: 64 visible ASCII characters. The MAC binds the id to
 * the client that opened it: presented by another client it does not open.
 * Nothing in it is secret; what it grants needs that client's API key too.
 * Pure: no hub state, unit tested alone.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEALED_ID_LEN     64 /* hex characters */
#define SEALED_KEY_SIZE   32
#define SEALED_FORMAT     1
#define SEALED_FORMAT_SSE 2

enum {
        SEALED_CAP_ROOTS = 1 << 0,
        SEALED_CAP_ROOTS_LIST_CHANGED = 1 << 1,
        SEALED_CAP_SAMPLING = 1 << 2,
        SEALED_CAP_SAMPLING_TOOLS = 1 << 3,
        SEALED_CAP_SAMPLING_CONTEXT = 1 << 4,
        SEALED_CAP_ELICITATION = 1 << 5,
        SEALED_CAP_ELICITATION_FORM = 1 << 6,
        SEALED_CAP_ELICITATION_URL = 1 << 7,
};

struct sealed_id {
        uint8_t format;
        uint64_t created_ms;
        char protocol[11]; /* "YYYY-MM-DD" */
        uint8_t caps;
        uint8_t random[5];
};

/* Writes the id for client into out (SEALED_ID_LEN + 1 bytes). -EINVAL when the
 * protocol version is not of the form 20YY-MM-DD. */
int sealed_id_make(const uint8_t key[SEALED_KEY_SIZE], const struct sealed_id *in,
                   const char *client, char out[SEALED_ID_LEN + 1]);
/* The fields of a well-formed id, its seal not checked: 0 or -EINVAL. */
int sealed_id_peek(const char *id, struct sealed_id *ret);
/* 64 bits of the id's MAC (never 0): a key for sets of ids that a client cannot aim a
 * collision at. 0 for a malformed id. */
uint64_t sealed_id_tag(const char *id);
/* 0 with *ret filled when id is well formed and sealed under key for client;
 * -EINVAL (malformed) or -EPERM (another key or another client). */
int sealed_id_open(const uint8_t key[SEALED_KEY_SIZE], const char *id, const char *client,
                   struct sealed_id *ret);
