/* SPDX-License-Identifier: MIT */
/* API keys: MCP_API_KEYS parsing, key files, bearer checks, and no secret in any warning. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth/auth.h"
#include "collect.h"
#include "harness.h"
#include "macro.h"
#include "mcp-limits.h"

/* A temporary file holding text; the caller unlinks and frees the path. */
static char *write_temp(const char *text)
{
        char tmpl[] = "/tmp/test-auth-XXXXXX";
        int fd = mkstemp(tmpl);
        size_t n = strlen(text);

        if (fd < 0)
                return NULL;
        if (write(fd, text, n) != (ssize_t)n) {
                close(fd);
                unlink(tmpl);
                return NULL;
        }
        close(fd);
        return strdup(tmpl);
}

static void remove_temp(char *path)
{
        if (path) {
                unlink(path);
                free(path);
        }
}

static enum auth_result check(const struct keyring *kr, const char *h, time_t now,
                              const struct api_key **k)
{
        return keyring_check(kr, h, h ? strlen(h) : 0, now, k);
}

/* Loads a key file from text; returns keyring_add_file's result. */
static int load_file_text(struct keyring *kr, const char *text, struct warnings *w, char **ret_path)
{
        char *path = write_temp(text);
        int r;

        if (!path)
                return -EIO;
        r = keyring_add_file(kr, path, collect, w);
        if (ret_path)
                *ret_path = path;
        else
                remove_temp(path);
        return r;
}

/* ---- MCP_API_KEYS ---- */

TEST(env_basic)
{
        struct keyring kr = {};
        struct warnings w = {};
        const struct api_key *k;
        uint8_t d[SHA256_DIGEST_SIZE];

        ASSERT_EQ(keyring_add_env(&kr, "key1:client1,key2:client2", collect, &w), 2);
        ASSERT_EQ(w.n, 0);
        ASSERT_EQ(kr.n_keys, 2);
        ASSERT_STREQ(kr.keys[0].client_id, "client1");
        ASSERT_STREQ(kr.keys[1].client_id, "client2");
        ASSERT_STREQ(kr.keys[0].scopes[0], "*");
        ASSERT_NULL(kr.keys[0].scopes[1]);
        ASSERT_EQ(kr.keys[0].expires_at, 0);

        /* Only the digest is stored. */
        sha256("key1", 4, d);
        ASSERT_TRUE(memcmp(kr.keys[0].digest, d, sizeof(d)) == 0);

        ASSERT_EQ(check(&kr, "Bearer key2", 1000, &k), AUTH_OK);
        ASSERT_NOT_NULL(k);
        ASSERT_STREQ(k->client_id, "client2");
        ASSERT_EQ(check(&kr, "Bearer key1", 1000, &k), AUTH_OK);
        ASSERT_STREQ(k->client_id, "client1");
        ASSERT_EQ(check(&kr, "Bearer client1", 1000, &k), AUTH_UNKNOWN);
        ASSERT_NULL(k);
        keyring_done(&kr);
        warnings_done(&w);
}

TEST(env_trimmed_and_first_colon)
{
        struct keyring kr = {};
        struct warnings w = {};

        ASSERT_EQ(keyring_add_env(&kr, "  key1 : client1 ,\tkey2:team:ops\n", collect, &w), 2);
        ASSERT_EQ(w.n, 0);
        ASSERT_STREQ(kr.keys[0].client_id, "client1");
        ASSERT_STREQ(kr.keys[1].client_id, "team:ops");
        ASSERT_EQ(check(&kr, "Bearer key1", 0, NULL), AUTH_OK);
        ASSERT_EQ(check(&kr, "Bearer key2", 0, NULL), AUTH_OK);
        ASSERT_EQ(check(&kr, "Bearer key2:team", 0, NULL), AUTH_UNKNOWN);
        keyring_done(&kr);
        warnings_done(&w);
}

TEST(env_empty_entries_silent)
{
        struct keyring kr = {};
        struct warnings w = {};

        ASSERT_EQ(keyring_add_env(&kr, "", collect, &w), 0);
        ASSERT_EQ(keyring_add_env(&kr, NULL, collect, &w), 0);
        ASSERT_EQ(keyring_add_env(&kr, " , ,", collect, &w), 0);
        ASSERT_EQ(keyring_add_env(&kr, "a:b,,c:d,", collect, &w), 2);
        ASSERT_EQ(w.n, 0);
        ASSERT_EQ(kr.n_keys, 2);
        keyring_done(&kr);
        warnings_done(&w);
}

TEST(env_invalid_entries_warn_with_position)
{
        struct keyring kr = {};
        struct warnings w = {};

        ASSERT_EQ(keyring_add_env(&kr, "good:alice,,nocolon,:bob,k3:,k4:has space", collect, &w),
                  1);
        ASSERT_EQ(w.n, 4);
        ASSERT_STREQ(w.msg[0],
                     "MCP_API_KEYS entry 3: missing ':' between key and client id, ignoring");
        ASSERT_STREQ(w.msg[1], "MCP_API_KEYS entry 4: empty key, ignoring");
        ASSERT_STREQ(w.msg[2], "MCP_API_KEYS entry 5: empty client id, ignoring");
        ASSERT_STREQ(w.msg[3], "MCP_API_KEYS entry 6: client id must be printable ASCII without "
                               "spaces, quotes or backslashes, ignoring");
        ASSERT_EQ(kr.n_keys, 1);
        keyring_done(&kr);
        warnings_done(&w);
}

TEST(env_bad_client_ids)
{
        static const char *const bad[] = {
            "k:a\"b",
            "k:a'b",
            "k:a\\b",
            "k:a\x01"
            "b",
            "k:a\x7f"
            "b",
            "k:caf\xc3\xa9",
        };
        struct keyring kr = {};

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct warnings w = {};
                ASSERT_EQ(keyring_add_env(&kr, bad[i], collect, &w), 0);
                ASSERT_EQ(w.n, 1);
                ASSERT_CONTAINS(w.msg[0], "client id must be printable ASCII");
                warnings_done(&w);
        }
        ASSERT_EQ(kr.n_keys, 0);
        /* Visible punctuation is fine. */
        ASSERT_EQ(keyring_add_env(&kr, "k:svc-1_a.b@host/x", NULL, NULL), 1);
        keyring_done(&kr);
}

TEST(env_length_limits)
{
        struct keyring kr = {};
        struct warnings w = {};
        char spec[2048];

        /* A key of exactly KEY_MAX_LEN bytes is accepted, one more is not. */
        memset(spec, 'k', KEY_MAX_LEN);
        strcpy(spec + KEY_MAX_LEN, ":ok");
        ASSERT_EQ(keyring_add_env(&kr, spec, collect, &w), 1);
        memset(spec, 'K', KEY_MAX_LEN + 1);
        strcpy(spec + KEY_MAX_LEN + 1, ":toolong");
        ASSERT_EQ(keyring_add_env(&kr, spec, collect, &w), 0);
        ASSERT_EQ(w.n, 1);
        ASSERT_STREQ(w.msg[0], "MCP_API_KEYS entry 1: key longer than 512 bytes, ignoring");

        /* Client ids: CLIENT_ID_MAX_LEN bytes accepted, one more not. */
        strcpy(spec, "ck1:");
        memset(spec + 4, 'c', CLIENT_ID_MAX_LEN);
        spec[4 + CLIENT_ID_MAX_LEN] = '\0';
        ASSERT_EQ(keyring_add_env(&kr, spec, collect, &w), 1);
        strcpy(spec, "ck2:");
        memset(spec + 4, 'c', CLIENT_ID_MAX_LEN + 1);
        spec[4 + CLIENT_ID_MAX_LEN + 1] = '\0';
        ASSERT_EQ(keyring_add_env(&kr, spec, collect, &w), 0);
        ASSERT_EQ(w.n, 2);
        ASSERT_STREQ(w.msg[1], "MCP_API_KEYS entry 1: client id longer than 128 bytes, ignoring");
        ASSERT_EQ(kr.n_keys, 2);
        keyring_done(&kr);
        warnings_done(&w);
}

TEST(env_key_with_control_character)
{
        struct keyring kr = {};
        struct warnings w = {};

        ASSERT_EQ(keyring_add_env(&kr,
                                  "a b:c1,a\x01"
                                  "b:c2",
                                  collect, &w),
                  0);
        ASSERT_EQ(w.n, 2);
        ASSERT_STREQ(w.msg[0], "MCP_API_KEYS entry 1: key contains whitespace or a non-printable "
                               "character, ignoring");
        keyring_done(&kr);
        warnings_done(&w);
}

TEST(env_duplicate_keeps_first)
{
        struct keyring kr = {};
        struct warnings w = {};
        const struct api_key *k;

        ASSERT_EQ(keyring_add_env(&kr, "same:alice,other:carol,same:bob", collect, &w), 2);
        ASSERT_EQ(w.n, 1);
        ASSERT_STREQ(w.msg[0], "MCP_API_KEYS entry 3: duplicate key (client 'bob', first used by "
                               "client 'alice'), ignoring");
        ASSERT_EQ(check(&kr, "Bearer same", 0, &k), AUTH_OK);
        ASSERT_STREQ(k->client_id, "alice");
        keyring_done(&kr);
        warnings_done(&w);
}

TEST(env_too_many_keys)
{
        struct keyring kr = {};
        size_t cap = (KEYS_MAX + 1) * 24, off = 0;
        char *spec = malloc(cap);
        const struct api_key *k;

        ASSERT_NOT_NULL(spec);
        for (int i = 0; i <= KEYS_MAX; i++)
                off += (size_t)snprintf(spec + off, cap - off, "%skey%d:c%d", i ? "," : "", i, i);
        ASSERT_EQ(keyring_add_env(&kr, spec, NULL, NULL), -E2BIG);
        ASSERT_EQ(kr.n_keys, KEYS_MAX);
        ASSERT_EQ(check(&kr, "Bearer key4095", 0, &k), AUTH_OK);
        ASSERT_STREQ(k->client_id, "c4095");
        ASSERT_EQ(check(&kr, "Bearer key4096", 0, NULL), AUTH_UNKNOWN);
        free(spec);
        keyring_done(&kr);
}

/* ---- key files ---- */

TEST(file_valid)
{
        struct keyring kr = {};
        struct warnings w = {};
        const struct api_key *k;

        ASSERT_EQ(
            load_file_text(&kr,
                           "{\n"
                           "  \"sk-alice\": {\"client_id\": \"alice\", \"scopes\": [\"read\", "
                           "\"write\"], \"expires_at\": 2000000000},\n"
                           "  \"sk-bob\": {\"client_id\": \"bob\"},\n"
                           "  \"sk-carol\": {\"client_id\": \"carol\", \"scopes\": [], "
                           "\"expires_at\": null}\n"
                           "}\n",
                           &w, NULL),
            3);
        ASSERT_EQ(w.n, 0);
        ASSERT_EQ(kr.n_keys, 3);
        ASSERT_STREQ(kr.keys[0].client_id, "alice");
        ASSERT_STREQ(kr.keys[0].scopes[0], "read");
        ASSERT_STREQ(kr.keys[0].scopes[1], "write");
        ASSERT_NULL(kr.keys[0].scopes[2]);
        ASSERT_EQ(kr.keys[0].expires_at, 2000000000);
        ASSERT_STREQ(kr.keys[1].scopes[0], "*");
        ASSERT_NULL(kr.keys[1].scopes[1]);
        ASSERT_EQ(kr.keys[1].expires_at, 0);
        ASSERT_NULL(kr.keys[2].scopes[0]);
        ASSERT_EQ(kr.keys[2].expires_at, 0);
        ASSERT_FALSE(api_key_has_scope(&kr.keys[0], "metrics"));
        ASSERT_TRUE(api_key_has_scope(&kr.keys[0], "write"));
        ASSERT_FALSE(api_key_has_scope(&kr.keys[0], "writ"));
        ASSERT_TRUE(api_key_has_scope(&kr.keys[1], "metrics")); /* "*" */
        ASSERT_FALSE(api_key_has_scope(&kr.keys[2], "metrics"));
        ASSERT_FALSE(api_key_has_scope(NULL, "metrics"));

        ASSERT_EQ(check(&kr, "Bearer sk-bob", 1, &k), AUTH_OK);
        ASSERT_STREQ(k->client_id, "bob");
        keyring_done(&kr);
        warnings_done(&w);
}

TEST(file_expiry)
{
        struct keyring kr = {};
        const struct api_key *k;

        ASSERT_EQ(load_file_text(&kr,
                                 "{\"old\": {\"client_id\": \"old\", \"expires_at\": 1735689600},"
                                 " \"frac\": {\"client_id\": \"frac\", \"expires_at\": 100.9}}",
                                 NULL, NULL),
                  2);
        ASSERT_EQ(check(&kr, "Bearer old", 1735689599, &k), AUTH_OK);
        ASSERT_STREQ(k->client_id, "old");
        /* expires_at <= now is expired; the key is still returned, for logging. */
        ASSERT_EQ(check(&kr, "Bearer old", 1735689600, &k), AUTH_EXPIRED);
        ASSERT_NOT_NULL(k);
        ASSERT_STREQ(k->client_id, "old");
        ASSERT_EQ(check(&kr, "Bearer old", 1900000000, NULL), AUTH_EXPIRED);
        ASSERT_EQ(kr.keys[1].expires_at, 100);
        ASSERT_EQ(check(&kr, "Bearer frac", 99, NULL), AUTH_OK);
        ASSERT_EQ(check(&kr, "Bearer frac", 100, NULL), AUTH_EXPIRED);
        keyring_done(&kr);
}

TEST(file_missing)
{
        struct keyring kr = {};
        struct warnings w = {};

        ASSERT_EQ(keyring_add_file(&kr, "/nonexistent/keys.json", collect, &w), -ENOENT);
        ASSERT_EQ(kr.n_keys, 0);
        ASSERT_EQ(keyring_add_file(&kr, "/tmp", collect, &w), -EISDIR);
        ASSERT_EQ(w.n, 0);
}

TEST(file_invalid_json)
{
        struct keyring kr = {};
        struct warnings w = {};
        char *path = NULL, expect[256];

        ASSERT_EQ(load_file_text(&kr, "{\n  \"k1\": {\"client_id\": \"a\"},\n  \"k2\": oops\n}", &w,
                                 &path),
                  -EBADMSG);
        ASSERT_EQ(w.n, 1);
        snprintf(expect, sizeof(expect), "%s: line 3, column 9: invalid JSON", path);
        ASSERT_STREQ(w.msg[0], expect);
        ASSERT_EQ(kr.n_keys, 0);
        remove_temp(path);
        warnings_done(&w);

        ASSERT_EQ(load_file_text(&kr, "", &w, &path), -EBADMSG);
        snprintf(expect, sizeof(expect), "%s: line 1, column 1: invalid JSON", path);
        ASSERT_STREQ(w.msg[0], expect);
        remove_temp(path);
        warnings_done(&w);

        /* Trailing garbage after the object. */
        ASSERT_EQ(load_file_text(&kr, "{\"k\": {\"client_id\": \"a\"}}\n x", &w, &path), -EBADMSG);
        snprintf(expect, sizeof(expect), "%s: line 2, column 2: invalid JSON", path);
        ASSERT_STREQ(w.msg[0], expect);
        ASSERT_EQ(kr.n_keys, 0);
        remove_temp(path);
        warnings_done(&w);

        /* A NUL would cut the key short: "k\u0000..." must not become the key "k". */
        ASSERT_EQ(load_file_text(&kr, "{\"k\\u0000rest\": {\"client_id\": \"a\"}}", &w, &path),
                  -EBADMSG);
        snprintf(expect, sizeof(expect), "%s: line 1, column 4: invalid JSON (NUL character)",
                 path);
        ASSERT_STREQ(w.msg[0], expect);
        ASSERT_EQ(kr.n_keys, 0);
        remove_temp(path);
        warnings_done(&w);
        ASSERT_EQ(load_file_text(&kr, "{\"k\\\\u0000\": {\"client_id\": \"a\"}}", &w, NULL), 1);
        ASSERT_EQ(check(&kr, "Bearer k\\u0000", 0, NULL), AUTH_OK);
        keyring_done(&kr);

        /* Trailing whitespace is fine. */
        ASSERT_EQ(load_file_text(&kr, "{}\n\n  \t", &w, NULL), 0);
        ASSERT_EQ(w.n, 0);
}

TEST(file_top_level_not_object)
{
        struct keyring kr = {};
        struct warnings w = {};
        char *path = NULL, expect[256];

        ASSERT_EQ(load_file_text(&kr, "[{\"client_id\": \"a\"}]", &w, &path), -EBADMSG);
        ASSERT_EQ(w.n, 1);
        snprintf(expect, sizeof(expect), "%s: top level is not a JSON object", path);
        ASSERT_STREQ(w.msg[0], expect);
        remove_temp(path);
        warnings_done(&w);
}

TEST(file_invalid_entries)
{
        struct keyring kr = {};
        struct warnings w = {};
        char *path = NULL, expect[512];
        int r;

        r = load_file_text(&kr,
                           "{\"k1\": \"alice\","
                           " \"k2\": {\"scopes\": [\"*\"]},"
                           " \"k3\": {\"client_id\": 7},"
                           " \"k4\": {\"client_id\": \"bad id\"},"
                           " \"k5\": {\"client_id\": \"eve\", \"scopes\": \"*\"},"
                           " \"k6\": {\"client_id\": \"mallory\", \"scopes\": [\"a\", 1]},"
                           " \"k7\": {\"client_id\": \"trent\", \"expires_at\": \"soon\"},"
                           " \"k8\": {\"client_id\": \"peggy\", \"expires_at\": 1e999},"
                           " \"k9\": {\"client_id\": \"victor\", \"scopes\": [\"\"]},"
                           " \"k 10\": {\"client_id\": \"walter\"},"
                           " \"\": {\"client_id\": \"oscar\"},"
                           " \"k12\": {\"client_id\": \"ok\", \"role\": \"admin\"}}",
                           &w, &path);
        ASSERT_EQ(r, 1);
        ASSERT_EQ(kr.n_keys, 1);
        ASSERT_STREQ(kr.keys[0].client_id, "ok");
        ASSERT_EQ(w.n, 12);

#define EXPECT(i, fmt)                                       \
        do {                                                 \
                snprintf(expect, sizeof(expect), fmt, path); \
                ASSERT_STREQ(w.msg[i], expect);              \
        } while (0)
        EXPECT(0, "%s: entry 1: not an object, ignoring");
        EXPECT(1, "%s: entry 2: missing or non-string \"client_id\", ignoring");
        EXPECT(2, "%s: entry 3: missing or non-string \"client_id\", ignoring");
        EXPECT(3, "%s: entry 4: client id must be printable ASCII without spaces, quotes or "
                  "backslashes, ignoring");
        EXPECT(4, "%s: client 'eve': \"scopes\" is not an array of non-empty strings, ignoring");
        EXPECT(5, "%s: client 'mallory': \"scopes\" is not an array of non-empty strings, "
                  "ignoring");
        EXPECT(6, "%s: client 'trent': \"expires_at\" is not a number of seconds since the "
                  "epoch, ignoring");
        EXPECT(7, "%s: client 'peggy': \"expires_at\" is not a number of seconds since the "
                  "epoch, ignoring");
        EXPECT(8, "%s: client 'victor': \"scopes\" is not an array of non-empty strings, "
                  "ignoring");
        EXPECT(9, "%s: entry 10: key contains whitespace or a non-printable character, ignoring");
        EXPECT(10, "%s: entry 11: empty key, ignoring");
        EXPECT(11, "%s: client 'ok': unknown field \"role\", ignoring");
#undef EXPECT
        remove_temp(path);
        keyring_done(&kr);
        warnings_done(&w);
}

TEST(file_duplicates)
{
        struct keyring kr = {};
        struct warnings w = {};
        char *path = NULL, expect[512];
        const struct api_key *k;

        ASSERT_EQ(keyring_add_env(&kr, "envkey:fromenv", collect, &w), 1);
        ASSERT_EQ(load_file_text(&kr,
                                 "{\"fk\": {\"client_id\": \"first\"},"
                                 " \"fk\": {\"client_id\": \"second\"},"
                                 " \"envkey\": {\"client_id\": \"third\"}}",
                                 &w, &path),
                  1);
        ASSERT_EQ(w.n, 2);
        snprintf(expect, sizeof(expect),
                 "%s: entry 2: duplicate key (client 'second', first used by client 'first'), "
                 "ignoring",
                 path);
        ASSERT_STREQ(w.msg[0], expect);
        snprintf(expect, sizeof(expect),
                 "%s: entry 3: duplicate key (client 'third', first used by client 'fromenv'), "
                 "ignoring",
                 path);
        ASSERT_STREQ(w.msg[1], expect);
        ASSERT_EQ(check(&kr, "Bearer fk", 0, &k), AUTH_OK);
        ASSERT_STREQ(k->client_id, "first");
        ASSERT_EQ(check(&kr, "Bearer envkey", 0, &k), AUTH_OK);
        ASSERT_STREQ(k->client_id, "fromenv");
        remove_temp(path);
        keyring_done(&kr);
        warnings_done(&w);
}

/* ---- hashed entries: "sha256:<hex>" ---- */

/* "sha256:" and the hex digest of key, in lower or upper case. */
static void hashed_name(const char *prefix, const char *key, bool upper, char out[80])
{
        uint8_t d[SHA256_DIGEST_SIZE];
        size_t n = (size_t)snprintf(out, 80, "%s", prefix);

        sha256(key, strlen(key), d);
        for (size_t i = 0; i < sizeof(d); i++)
                n += (size_t)snprintf(out + n, 80 - n, upper ? "%02X" : "%02x", d[i]);
}

TEST(file_hashed_entry)
{
        struct keyring kr = {};
        struct warnings w = {};
        const struct api_key *k;
        char lower[80], upper[80], text[1024];
        uint8_t d[SHA256_DIGEST_SIZE];

        hashed_name("sha256:", "sk-hashed-alice", false, lower);
        hashed_name("SHA256:", "sk-hashed-bob", true, upper);
        snprintf(text, sizeof(text),
                 "{\"%s\": {\"client_id\": \"alice\", \"expires_at\": 2000000000},"
                 " \"%s\": {\"client_id\": \"bob\"}}",
                 lower, upper);
        ASSERT_EQ(load_file_text(&kr, text, &w, NULL), 2);
        ASSERT_EQ(w.n, 0);

        /* The entry's digest is the key's: stored as given, not hashed again. */
        sha256("sk-hashed-alice", strlen("sk-hashed-alice"), d);
        ASSERT_TRUE(memcmp(kr.keys[0].digest, d, sizeof(d)) == 0);

        ASSERT_EQ(check(&kr, "Bearer sk-hashed-alice", 1, &k), AUTH_OK);
        ASSERT_STREQ(k->client_id, "alice");
        ASSERT_EQ(check(&kr, "Bearer sk-hashed-alice", 2000000000, &k), AUTH_EXPIRED);
        ASSERT_EQ(check(&kr, "Bearer sk-hashed-bob", 1, &k), AUTH_OK);
        ASSERT_STREQ(k->client_id, "bob");

        /* Other tokens, the entry's name itself and its bare hex do not match. */
        snprintf(text, sizeof(text), "Bearer %s", lower);
        ASSERT_EQ(check(&kr, text, 1, &k), AUTH_UNKNOWN);
        ASSERT_NULL(k);
        snprintf(text, sizeof(text), "Bearer %s", lower + strlen("sha256:"));
        ASSERT_EQ(check(&kr, text, 1, NULL), AUTH_UNKNOWN);
        ASSERT_EQ(check(&kr, "Bearer sk-hashed-alicE", 1, NULL), AUTH_UNKNOWN);
        ASSERT_EQ(check(&kr, "Bearer sk-hashed-carol", 1, NULL), AUTH_UNKNOWN);
        keyring_done(&kr);
        warnings_done(&w);
}

TEST(file_hashed_entry_malformed)
{
        struct keyring kr = {};
        struct warnings w = {};
        char good[80], text[2048], expect[512], *path = NULL;
        char h63[96], h65[96], hg[96];
        const char *names[4];

        hashed_name("sha256:", "sk-good", false, good);
        snprintf(h63, sizeof(h63), "%.70s", good); /* 63 digits */
        snprintf(h65, sizeof(h65), "%s0", good);   /* 65 digits */
        snprintf(hg, sizeof(hg), "%.70sg", good);  /* 64, the last not hex */
        names[0] = h63;
        names[1] = h65;
        names[2] = hg;
        names[3] = "sha256:";
        snprintf(text, sizeof(text),
                 "{\"%s\": {\"client_id\": \"a\"}, \"%s\": {\"client_id\": \"b\"},"
                 " \"%s\": {\"client_id\": \"c\"}, \"%s\": {\"client_id\": \"d\"},"
                 " \"%s\": {\"client_id\": \"good\"}}",
                 names[0], names[1], names[2], names[3], good);
        ASSERT_EQ(load_file_text(&kr, text, &w, &path), 1);
        ASSERT_EQ(kr.n_keys, 1);
        ASSERT_STREQ(kr.keys[0].client_id, "good");
        ASSERT_EQ(w.n, 4);
        for (unsigned i = 0; i < 4; i++) {
                snprintf(expect, sizeof(expect),
                         "%s: entry %u: \"sha256:\" is not followed by 64 hexadecimal digits, "
                         "ignoring",
                         path, i + 1);
                ASSERT_STREQ(w.msg[i], expect);
                /* Never the entry's text: no 8-character window of its digits. */
                for (size_t o = strlen("sha256:"); o + 8 <= strlen(names[i]); o++)
                        ASSERT_NULL(memmem(w.msg[i], strlen(w.msg[i]), names[i] + o, 8));
        }
        ASSERT_EQ(check(&kr, "Bearer sk-good", 0, NULL), AUTH_OK);
        /* The malformed entries' names are not plain keys either. */
        for (unsigned i = 0; i < 4; i++) {
                snprintf(expect, sizeof(expect), "Bearer %s", names[i]);
                ASSERT_EQ(check(&kr, expect, 0, NULL), AUTH_UNKNOWN);
        }
        remove_temp(path);
        keyring_done(&kr);
        warnings_done(&w);
}

TEST(file_hashed_and_plain_mixed)
{
        struct keyring kr = {};
        struct warnings w = {};
        const struct api_key *k;
        char h_file[80], h_env[80], h_plain[80], text[1024], expect[512], *path = NULL;

        hashed_name("sha256:", "sk-h1", false, h_file);
        hashed_name("sha256:", "envkey", false, h_env);
        hashed_name("sha256:", "sk-p1", true, h_plain);
        ASSERT_EQ(keyring_add_env(&kr, "envkey:fromenv", collect, &w), 1);
        snprintf(text, sizeof(text),
                 "{\"sk-p1\": {\"client_id\": \"plain\"},"
                 " \"%s\": {\"client_id\": \"hashed\", \"scopes\": [\"read\"]},"
                 " \"%s\": {\"client_id\": \"again\"},"
                 " \"%s\": {\"client_id\": \"dup-of-plain\"},"
                 " \"sk-p2\": {\"client_id\": \"plain2\"}}",
                 h_file, h_env, h_plain);
        ASSERT_EQ(load_file_text(&kr, text, &w, &path), 3);
        ASSERT_EQ(kr.n_keys, 4);
        /* A hashed entry and a plain key with the same digest are the same key. */
        ASSERT_EQ(w.n, 2);
        snprintf(expect, sizeof(expect),
                 "%s: entry 3: duplicate key (client 'again', first used by client 'fromenv'), "
                 "ignoring",
                 path);
        ASSERT_STREQ(w.msg[0], expect);
        snprintf(expect, sizeof(expect),
                 "%s: entry 4: duplicate key (client 'dup-of-plain', first used by client "
                 "'plain'), ignoring",
                 path);
        ASSERT_STREQ(w.msg[1], expect);

        ASSERT_EQ(check(&kr, "Bearer sk-p1", 0, &k), AUTH_OK);
        ASSERT_STREQ(k->client_id, "plain");
        ASSERT_EQ(check(&kr, "Bearer sk-h1", 0, &k), AUTH_OK);
        ASSERT_STREQ(k->client_id, "hashed");
        ASSERT_STREQ(k->scopes[0], "read");
        ASSERT_EQ(check(&kr, "Bearer envkey", 0, &k), AUTH_OK);
        ASSERT_STREQ(k->client_id, "fromenv");
        ASSERT_EQ(check(&kr, "Bearer sk-p2", 0, &k), AUTH_OK);
        ASSERT_STREQ(k->client_id, "plain2");
        ASSERT_EQ(check(&kr, "Bearer sk-h2", 0, NULL), AUTH_UNKNOWN);
        remove_temp(path);
        keyring_done(&kr);
        warnings_done(&w);
}

TEST(file_too_many_keys_adds_none)
{
        /* A file that cannot be taken whole adds nothing: its first keys do not stay. */
        struct keyring kr = {};
        size_t cap = (KEYS_MAX + 2) * 40, off = 0;
        char *text = malloc(cap), *path = NULL;

        ASSERT_NOT_NULL(text);
        ASSERT_EQ(keyring_add_env(&kr, "envkey:fromenv", NULL, NULL), 1);
        off += (size_t)snprintf(text + off, cap - off, "{");
        for (int i = 0; i < KEYS_MAX; i++)
                off += (size_t)snprintf(text + off, cap - off, "%s\"fk%d\": {\"client_id\": \"c\"}",
                                        i ? "," : "", i);
        snprintf(text + off, cap - off, "}");
        ASSERT_EQ(load_file_text(&kr, text, NULL, &path), -E2BIG);
        free(text);
        ASSERT_EQ(kr.n_keys, 1);
        ASSERT_EQ(check(&kr, "Bearer fk0", 0, NULL), AUTH_UNKNOWN);
        ASSERT_EQ(check(&kr, "Bearer envkey", 0, NULL), AUTH_OK);

        /* Alone, without the environment's key, the same file fits exactly. */
        keyring_done(&kr);
        ASSERT_EQ(keyring_add_file(&kr, path, NULL, NULL), KEYS_MAX);
        ASSERT_EQ(check(&kr, "Bearer fk4095", 0, NULL), AUTH_OK);
        remove_temp(path);
        keyring_done(&kr);
}

TEST(file_too_large)
{
        struct keyring kr = {};
        char tmpl[] = "/tmp/test-auth-big-XXXXXX";
        int fd = mkstemp(tmpl);

        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(ftruncate(fd, KEYS_FILE_MAX + 1), 0);
        close(fd);
        ASSERT_EQ(keyring_add_file(&kr, tmpl, NULL, NULL), -EFBIG);
        unlink(tmpl);
}

TEST(file_not_regular)
{
        /* A FIFO or a device has no size up front: reading is still bounded. */
        struct keyring kr = {};
        struct warnings w = {};

        ASSERT_EQ(keyring_add_file(&kr, "/dev/null", collect, &w), -EBADMSG);
        ASSERT_EQ(w.n, 1);
        ASSERT_STREQ(w.msg[0], "/dev/null: line 1, column 1: invalid JSON");
        warnings_done(&w);
}

TEST(file_from_pipe)
{
        /* Not a regular file, and bigger than the first read buffer. */
        struct keyring kr = {};
        const struct api_key *k;
        char path[64];
        int fds[2];
        pid_t pid;

        ASSERT_EQ(pipe(fds), 0);
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                char line[64];
                close(fds[0]);
                if (write(fds[1], "{", 1) != 1)
                        _exit(1);
                for (int i = 0; i < 1000; i++) {
                        int n = snprintf(line, sizeof(line), "%s\"pk%d\": {\"client_id\": \"c%d\"}",
                                         i ? "," : "", i, i);
                        if (write(fds[1], line, (size_t)n) != n)
                                _exit(1);
                }
                if (write(fds[1], "}", 1) != 1)
                        _exit(1);
                _exit(0);
        }
        close(fds[1]);
        snprintf(path, sizeof(path), "/dev/fd/%d", fds[0]);
        ASSERT_EQ(keyring_add_file(&kr, path, NULL, NULL), 1000);
        close(fds[0]);
        while (wait(NULL) > 0)
                ;
        ASSERT_EQ(check(&kr, "Bearer pk999", 0, &k), AUTH_OK);
        ASSERT_STREQ(k->client_id, "c999");
        keyring_done(&kr);
}

/* ---- secrets never reach a warning ---- */

static void assert_no_secret_in(const struct warnings *w, const char *const *secrets, size_t n,
                                int *failed)
{
        for (size_t i = 0; i < w->n && i < WARN_MAX; i++)
                for (size_t s = 0; s < n; s++) {
                        size_t len = strlen(secrets[s]);
                        /* Any 5-byte window of a secret counts as a leak. */
                        for (size_t o = 0; o + 5 <= len; o++) {
                                char win[6];
                                memcpy(win, secrets[s] + o, 5);
                                win[5] = '\0';
                                if (strstr(w->msg[i], win)) {
                                        printf("# warning leaks part of secret %zu: %s\n", s,
                                               w->msg[i]);
                                        *failed = 1;
                                }
                        }
                }
}

TEST(no_secret_in_env_warnings)
{
        static const char *const secrets[] = {
            "Zq9xW7vP3mK2", "Jt4Rb8Ly6Hn1", "Qw2Ee3Rr4Tt5", "Ux7Yz8Ab9Cd0", "Mn5Bv6Cx7Zl8",
        };
        struct keyring kr = {};
        struct warnings w = {};
        char spec[2048], longkey[KEY_MAX_LEN + 20];
        int failed = 0;

        /* Over-long key made of a secret repeated. */
        longkey[0] = '\0';
        while (strlen(longkey) <= KEY_MAX_LEN)
                strcat(longkey, secrets[4]);
        snprintf(spec, sizeof(spec),
                 "%s,"              /* no colon */
                 "%s:,"             /* empty client id */
                 "%s:bad client,"   /* bad client id */
                 "%s:dup1,%s:dup2," /* duplicate */
                 "%s x:c,"          /* key with a space */
                 "%s:long",
                 secrets[0], secrets[1], secrets[2], secrets[3], secrets[3], secrets[1], longkey);
        ASSERT_EQ(keyring_add_env(&kr, spec, collect, &w), 1);
        ASSERT_EQ(w.n, 6);
        assert_no_secret_in(&w, secrets, ELEMENTSOF(secrets), &failed);
        ASSERT_FALSE(failed);
        keyring_done(&kr);
        warnings_done(&w);
}

TEST(no_secret_in_file_warnings)
{
        static const char *const secrets[] = {
            "Pk3Lo9Ij8Uh7", "Yg6Tf5Rd4Es3", "Wa2Sz1Xq0Cv9",
            "Bn8Hm7Jk6Lp5", "Gr4Fe3Dw2Sq1", "Vc0Xz9Lk8Jh7",
        };
        struct keyring kr = {};
        struct warnings w = {};
        char text[4096];
        int failed = 0;

        snprintf(text, sizeof(text),
                 "{\"%s\": 42,"
                 " \"%s\": {\"client_id\": \"bad id\"},"
                 " \"%s\": {\"client_id\": \"x\", \"scopes\": 1, \"extra\": true},"
                 " \"%s\": {\"client_id\": \"d1\"}, \"%s\": {\"client_id\": \"d2\"},"
                 " \"%s\": {\"client_id\": \"e\", \"expires_at\": \"never\"},"
                 " \"%s \": {\"client_id\": \"sp\"}}",
                 secrets[0], secrets[1], secrets[2], secrets[3], secrets[3], secrets[4],
                 secrets[5]);
        ASSERT_EQ(load_file_text(&kr, text, &w, NULL), 1);
        ASSERT_EQ(w.n, 7);
        assert_no_secret_in(&w, secrets, ELEMENTSOF(secrets), &failed);
        ASSERT_FALSE(failed);
        warnings_done(&w);

        /* A syntax error right inside a key: the message gives a position only. */
        snprintf(text, sizeof(text), "{\"%s\": {\"client_id\": \"a\"}, \"%s\n", secrets[0],
                 secrets[1]);
        ASSERT_EQ(load_file_text(&kr, text, &w, NULL), -EBADMSG);
        ASSERT_EQ(w.n, 1);
        assert_no_secret_in(&w, secrets, ELEMENTSOF(secrets), &failed);
        ASSERT_FALSE(failed);
        keyring_done(&kr);
        warnings_done(&w);
}

/* ---- keyring_check ---- */

TEST(check_results)
{
        struct keyring kr = {};
        const struct api_key *k = (const struct api_key *)&kr;
        const char *h = "Bearer key1GARBAGE";

        ASSERT_EQ(keyring_add_env(&kr, "key1:alice,key2:bob", NULL, NULL), 2);

        ASSERT_EQ(check(&kr, NULL, 0, &k), AUTH_MISSING);
        ASSERT_NULL(k);
        ASSERT_EQ(keyring_check(&kr, NULL, 5, 0, NULL), AUTH_MISSING);
        ASSERT_EQ(check(&kr, "", 0, &k), AUTH_MALFORMED);
        ASSERT_EQ(check(&kr, "Bearer", 0, NULL), AUTH_MALFORMED);
        ASSERT_EQ(check(&kr, "Bearer ", 0, NULL), AUTH_MALFORMED);
        ASSERT_EQ(check(&kr, "Bearer    \t ", 0, NULL), AUTH_MALFORMED);
        ASSERT_EQ(check(&kr, "Bearerkey1", 0, NULL), AUTH_MALFORMED);
        ASSERT_EQ(check(&kr, "Basic a2V5MTp4", 0, NULL), AUTH_MALFORMED);
        ASSERT_EQ(check(&kr, "key1", 0, NULL), AUTH_MALFORMED);
        ASSERT_EQ(check(&kr, "Bear key1", 0, NULL), AUTH_MALFORMED);

        ASSERT_EQ(check(&kr, "Bearer key1", 0, &k), AUTH_OK);
        ASSERT_STREQ(k->client_id, "alice");
        ASSERT_EQ(check(&kr, "bEaReR key1", 0, &k), AUTH_OK);
        ASSERT_STREQ(k->client_id, "alice");
        ASSERT_EQ(check(&kr, "BEARER key2", 0, &k), AUTH_OK);
        ASSERT_STREQ(k->client_id, "bob");
        ASSERT_EQ(check(&kr, "bearer    key2  \r\n", 0, &k), AUTH_OK);
        ASSERT_EQ(check(&kr, "Bearer\tkey2", 0, &k), AUTH_OK);
        ASSERT_EQ(check(&kr, "  Bearer key2", 0, &k), AUTH_OK);

        ASSERT_EQ(check(&kr, "Bearer key", 0, &k), AUTH_UNKNOWN);
        ASSERT_NULL(k);
        ASSERT_EQ(check(&kr, "Bearer key1x", 0, NULL), AUTH_UNKNOWN);
        ASSERT_EQ(check(&kr, "Bearer KEY1", 0, NULL), AUTH_UNKNOWN);
        ASSERT_EQ(check(&kr, "Bearer key1 key2", 0, NULL), AUTH_UNKNOWN);

        /* Only len bytes count: the header need not be NUL-terminated. */
        ASSERT_EQ(keyring_check(&kr, h, strlen("Bearer key1"), 0, &k), AUTH_OK);
        ASSERT_STREQ(k->client_id, "alice");
        ASSERT_EQ(keyring_check(&kr, h, strlen("Bearer"), 0, NULL), AUTH_MALFORMED);
        ASSERT_EQ(keyring_check(&kr, "Bearer k\0ey1", 12, 0, NULL), AUTH_UNKNOWN);

        keyring_done(&kr);

        /* An empty keyring knows no key. */
        ASSERT_EQ(check(&kr, "Bearer key1", 0, &k), AUTH_UNKNOWN);
        ASSERT_EQ(check(NULL, "Bearer key1", 0, &k), AUTH_UNKNOWN);
}

TEST(check_expired_env_key_never_expires)
{
        struct keyring kr = {};

        ASSERT_EQ(keyring_add_env(&kr, "k:c", NULL, NULL), 1);
        ASSERT_EQ(check(&kr, "Bearer k", (time_t)1 << 40, NULL), AUTH_OK);
        keyring_done(&kr);
}

TEST(result_strings)
{
        ASSERT_STREQ(auth_result_to_string(AUTH_OK), "ok");
        ASSERT_STREQ(auth_result_to_string(AUTH_MISSING), "missing");
        ASSERT_STREQ(auth_result_to_string(AUTH_MALFORMED), "malformed");
        ASSERT_STREQ(auth_result_to_string(AUTH_UNKNOWN), "unknown");
        ASSERT_STREQ(auth_result_to_string(AUTH_EXPIRED), "expired");
        ASSERT_NULL(auth_result_to_string((enum auth_result)99));
        ASSERT_NULL(auth_result_to_string((enum auth_result) - 1));
}

TEST(env_is_true_values)
{
        static const char *const yes[] = {"true", "TRUE", "True", "1", "yes", "YES", "yEs"};
        static const char *const no[] = {"false", "0",          "no", "",  "on", " true",
                                         "true ", "yes please", "11", "y", "t"};

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                ASSERT_TRUE(env_is_true(yes[i]));
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                ASSERT_FALSE(env_is_true(no[i]));
        ASSERT_FALSE(env_is_true(NULL));
}

TEST(done_is_idempotent)
{
        struct keyring kr = {};

        keyring_done(&kr);
        keyring_done(NULL);
        ASSERT_EQ(keyring_add_env(&kr, "a:b", NULL, NULL), 1);
        keyring_done(&kr);
        ASSERT_NULL(kr.keys);
        ASSERT_EQ(kr.n_keys, 0);
        keyring_done(&kr);
}

HARNESS_MAIN()
