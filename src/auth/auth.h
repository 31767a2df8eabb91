/* SPDX-License-Identifier: MIT */
/*
 * API keys: parsing MCP_API_KEYS ("key1:client1,key2:client2") and the
 * MCP_API_KEYS_PATH file ({"<key>": {"client_id": "...", "scopes": ["*"],
 * "expires_at": <epoch seconds, optional>}}), and checking a bearer token.
 *
 * A key file entry may name the key's digest instead of the key:
 * "sha256:<64 hex digits>" (AUTH_HASHED_PREFIX, in any case); a plain key
 * cannot start with that prefix.
 *
 * Keys are kept only as SHA-256 digests; lookups compare digests in
 * constant time against every key. No message produced here ever contains
 * a key, whole or in part.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sha256.h"

/* A key file entry "sha256:<hex>" holds sha256(key), not the key. */
#define AUTH_HASHED_PREFIX "sha256:"

struct api_key {
        uint8_t digest[SHA256_DIGEST_SIZE]; /* sha256(key) */
        char *client_id;
        char **scopes;      /* NULL-terminated; {"*"} when unspecified */
        int64_t expires_at; /* epoch seconds; 0 = never */
};

struct keyring {
        struct api_key *keys;
        size_t n_keys;
};

/* Receives one human-readable warning (", ignoring" style); never contains a key. */
typedef void (*auth_warn_cb)(void *userdata, const char *message);

/*
 * Adds the keys in an MCP_API_KEYS value. Entries are trimmed and split at
 * the first ':'; an entry without ':' or with an empty key or client id is
 * skipped with a warning naming its position ("MCP_API_KEYS entry 2: ...").
 * Returns the number of keys added (>= 0) or -errno (-ENOMEM, -E2BIG past
 * KEYS_MAX).
 */
int keyring_add_env(struct keyring *kr, const char *spec, auth_warn_cb warn, void *userdata);

/*
 * Adds the keys in a key file. Returns the number added (>= 0) or -errno,
 * and then adds none: -ENOENT etc. from open, -EBADMSG for invalid JSON or
 * a top level that is not an object (with a warning giving the reason and
 * the file name), -EFBIG over KEYS_FILE_MAX, -E2BIG past KEYS_MAX, -ENOMEM. Invalid entries (not an object, missing or
 * non-string client_id, bad scopes, non-numeric expires_at, a "sha256:"
 * name without 64 hex digits) are skipped with a warning naming the client
 * id or the entry's position, never the key.
 */
int keyring_add_file(struct keyring *kr, const char *path, auth_warn_cb warn, void *userdata);

void keyring_done(struct keyring *kr);

/* A key file entry named "sha256:<64 hex digits>" (prefix and digits in any case) holds the
 * digest of the key: 1 with ret_digest filled (unless NULL); 0 for a plain key; -EINVAL for
 * the prefix without exactly 64 hex digits. */
int auth_hashed_key_digest(const char *name, uint8_t ret_digest[SHA256_DIGEST_SIZE]);

enum auth_result {
        AUTH_OK,
        AUTH_MISSING,   /* no Authorization header */
        AUTH_MALFORMED, /* not "Bearer <token>" */
        AUTH_UNKNOWN,   /* no such key */
        AUTH_EXPIRED,   /* key found but expires_at <= now */
};

/*
 * Checks an Authorization header value (NULL when absent) against the
 * keyring. The scheme is matched case-insensitively, one or more spaces
 * may follow it, and the token is the rest up to trailing whitespace.
 * On AUTH_OK, *ret_key points into the keyring.
 */
enum auth_result keyring_check(const struct keyring *kr, const char *authorization, size_t len,
                               time_t now, const struct api_key **ret_key);

const char *auth_result_to_string(enum auth_result r);

/*
 * Why s (n bytes) cannot be a client id, or NULL when it can: client ids go into log lines and
 * journal fields, so 1 to CLIENT_ID_MAX_LEN bytes of visible ASCII without quotes or
 * backslashes. The key file's rule, and the users file's.
 */
const char *auth_client_id_problem(const char *s, size_t n);

/* Does the key's scopes list hold this scope, or "*"? (Scopes that grant: "metrics",
 * GET /metrics.) */
bool api_key_has_scope(const struct api_key *k, const char *scope);

/* true|1|yes (any case) -> true; everything else false. */
bool env_is_true(const char *value);
