/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for what the hub makes and a client hands back: sealed
 * session ids (src/hub/sealed-id.c, the Mcp-Session-Id header), list cursors
 * (src/hub/cursor.c, params.cursor) and aggregated resource URIs
 * (src/hub/naming.c, resources/read's uri). The first byte picks one; the
 * rest is the client's string.
 *
 * Sealed ids (the rest: the id, then after a NUL the client id): sealed_id_tag
 * is 0 exactly for a malformed id and never for one peek accepts; an id opens
 * only when it is the one sealed_id_make gives for its fields, key and
 * client, and then under no other key or client; what opens reads as peek
 * reads it. Checked on the string as given, on the hex of its first 32 bytes
 * (so the fields are reached without guessing hex) and on the id resealed.
 *
 * Cursors (byte 1: the list; the rest: the cursor): one that decodes encodes
 * to a cursor giving the same offset and not for another list; any offset
 * (taken from the input) encodes within CURSOR_MAX and decodes back.
 *
 * URIs (the rest: a URI): naming_uri_in either names no server or gives one
 * and a URI that naming_uri_out turns into a URI naming the same server and
 * URI again; and any URI a server publishes (the rest, as each server's),
 * as naming_uri_out shows it, leads back to that server and that URI, except
 * one starting with "//" (see below).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub/cursor.h"
#include "hub/naming.h"
#include "hub/sealed-id.h"
#include "sha256.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_IDS_INPUT_MAX 4096
#define FUZZ_IDS_KINDS     6

static const uint8_t key_a[SEALED_KEY_SIZE] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t key_b[SEALED_KEY_SIZE] = {1, 2, 3, 4, 5, 6, 7, 9};

/* Server names as the config allows them, some equal to URI schemes, one a prefix of another. */
static const char *const servers[] = {"files", "git", "a", "a_b", "file", "http", "web.1"};
#define FUZZ_N_SERVERS (sizeof(servers) / sizeof(servers[0]))

static void check(bool ok)
{
        if (!ok)
                abort();
}

static bool same_fields(const struct sealed_id *x, const struct sealed_id *y)
{
        return x->format == y->format && x->created_ms == y->created_ms &&
               strcmp(x->protocol, y->protocol) == 0 && x->caps == y->caps &&
               memcmp(x->random, y->random, sizeof(x->random)) == 0;
}

static void check_sealed(const char *id, const char *client)
{
        struct sealed_id peeked, opened, again;
        char made[SEALED_ID_LEN + 1], *other;
        uint64_t tag = sealed_id_tag(id);
        int rp, ro;

        rp = sealed_id_peek(id, &peeked);
        check(rp == 0 || rp == -EINVAL);
        ro = sealed_id_open(key_a, id, client, &opened);
        check(ro == 0 || ro == -EINVAL || ro == -EPERM);
        if (rp == 0) {
                check(tag != 0);
                check(strlen(peeked.protocol) == 10);
                check(peeked.format == SEALED_FORMAT || peeked.format == SEALED_FORMAT_SSE);
                check(peeked.created_ms < (uint64_t)1 << 48);
        }
        if (tag == 0)
                check(rp < 0 && ro == -EINVAL);
        if (ro == -EPERM)
                check(tag != 0);
        if (ro < 0)
                return;

        check(rp == 0 && same_fields(&opened, &peeked));
        check(sealed_id_make(key_a, &opened, client, made) == 0);
        check(strcmp(made, id) == 0);
        check(sealed_id_open(key_b, id, client, &again) == -EPERM);
        other = malloc(strlen(client) + 2);
        check(other != NULL);
        strcpy(other, client);
        strcat(other, "x");
        check(sealed_id_open(key_a, id, other, &again) == -EPERM);
        free(other);
}

/* id's fields resealed for client: must open and read the same. */
static void check_resealed(const char *id, const char *client)
{
        struct sealed_id peeked, opened;
        char made[SEALED_ID_LEN + 1];

        if (sealed_id_peek(id, &peeked) < 0)
                return;
        check(sealed_id_make(key_a, &peeked, client, made) == 0);
        check(strlen(made) == SEALED_ID_LEN);
        check(sealed_id_open(key_a, made, client, &opened) == 0 && same_fields(&opened, &peeked));
        check_sealed(made, client);
}

static void fuzz_sealed(const char *s, size_t n)
{
        size_t idl = strnlen(s, n);
        char *id = strndup(s, idl), *client, hex[SEALED_ID_LEN + 1];
        uint8_t raw[SEALED_ID_LEN / 2] = {0};

        check(id != NULL);
        client = idl < n ? strndup(s + idl + 1, n - idl - 1) : strdup("alice");
        check(client != NULL);

        check_sealed(id, client);
        check_resealed(id, client);

        memcpy(raw, s, n < sizeof(raw) ? n : sizeof(raw));
        hex_encode(raw, sizeof(raw), hex);
        check_sealed(hex, client);
        check_resealed(hex, client);

        free(client);
        free(id);
}

static void check_cursor_offset(int kind, size_t offset)
{
        char c[CURSOR_MAX];
        size_t back = 0;

        cursor_encode(kind, offset, c);
        check(strlen(c) < CURSOR_MAX);
        check(cursor_decode(c, kind, &back) == 0 && back == offset);
        check(cursor_decode(c, kind + 1, &back) == -EINVAL);
}

static void fuzz_cursor(const char *s, size_t n)
{
        int kind = n > 0 ? (uint8_t)s[0] % FUZZ_IDS_KINDS : 0;
        char *c;
        size_t off = 0, off2 = 0;
        int r;

        if (n > 0) {
                s++;
                n--;
        }
        memcpy(&off2, s, n < sizeof(off2) ? n : sizeof(off2));
        check_cursor_offset(kind, off2);

        c = strndup(s, n);
        check(c != NULL);
        r = cursor_decode(c, kind, &off);
        check(r == 0 || r == -EINVAL);
        if (r == 0)
                check_cursor_offset(kind, off);
        free(c);
}

/* uri names servers[i] and orig, and orig as servers[i] publishes it names the same again. */
static void check_uri_back(const char *uri, int i, const char *orig)
{
        char *shown, *orig2 = NULL;
        int r;

        shown = naming_uri_out(servers[i], orig);
        check(shown != NULL);
        r = naming_uri_in(shown, servers, FUZZ_N_SERVERS, &orig2);
        check(r == i);
        check(orig2 != NULL && strcmp(orig2, orig) == 0);
        free(orig2);
        free(shown);
}

static void fuzz_uri(const char *s, size_t n)
{
        char *uri = strndup(s, n), *orig = NULL;
        int r;

        check(uri != NULL);
        r = naming_uri_in(uri, servers, FUZZ_N_SERVERS, &orig);
        check(r == -ENOENT || (r >= 0 && (size_t)r < FUZZ_N_SERVERS));
        if (r >= 0)
                check_uri_back(uri, r, orig);
        else
                check(orig == NULL);
        free(orig);

        /* A URI of a server's own, shown to clients, leads back to it. Not one starting with
         * "//" (a network-path reference, not a URI MCP servers publish): shown as
         * "<server>://...", it reads as a URI of a server named after its authority. */
        if (strncmp(uri, "//", 2) != 0)
                for (size_t i = 0; i < FUZZ_N_SERVERS; i++)
                        check_uri_back(uri, (int)i, uri);
        free(uri);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *s = (const char *)data + 1;
        size_t n = size > 0 ? size - 1 : 0;

        if (size == 0 || size > FUZZ_IDS_INPUT_MAX)
                return 0;
        switch (data[0] % 3) {
        case 0:
                fuzz_sealed(s, n);
                break;
        case 1:
                fuzz_cursor(s, n);
                break;
        default:
                fuzz_uri(s, n);
                break;
        }
        return 0;
}
