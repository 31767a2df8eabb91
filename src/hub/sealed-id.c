/* SPDX-License-Identifier: MIT */
/* Sealed session ids (see sealed-id.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hub/sealed-id.h"
#include "sha256.h"

#define MAC_SIZE  16
#define BODY_SIZE 16
static const char mac_label[] = "mcp-proxy session id"; /* with its NUL */

static void mac(const uint8_t key[SEALED_KEY_SIZE], const uint8_t body[BODY_SIZE],
                const char *client, uint8_t out[SHA256_DIGEST_SIZE])
{
        size_t cl = strlen(client);
        uint8_t msg[sizeof(mac_label) + BODY_SIZE + 256];

        /* Client ids are short (the key file limits them); a longer one is hashed first so
         * the message stays bounded and still names it exactly. */
        memcpy(msg, mac_label, sizeof(mac_label));
        memcpy(msg + sizeof(mac_label), body, BODY_SIZE);
        if (cl <= 256)
                memcpy(msg + sizeof(mac_label) + BODY_SIZE, client, cl);
        else {
                sha256(client, cl, msg + sizeof(mac_label) + BODY_SIZE);
                cl = SHA256_DIGEST_SIZE;
        }
        hmac_sha256(key, SEALED_KEY_SIZE, msg, sizeof(mac_label) + BODY_SIZE + cl, out);
}

static int unhex(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

static bool protocol_parse(const char *p, uint8_t out[3])
{
        unsigned y, m, d;
        int n = 0;

        if (!p || strlen(p) != 10 || sscanf(p, "20%2u-%2u-%2u%n", &y, &m, &d, &n) != 3 || n != 10)
                return false;
        if (m < 1 || m > 12 || d < 1 || d > 31)
                return false;
        out[0] = (uint8_t)y;
        out[1] = (uint8_t)m;
        out[2] = (uint8_t)d;
        return true;
}

int sealed_id_make(const uint8_t key[SEALED_KEY_SIZE], const struct sealed_id *in,
                   const char *client, char out[SEALED_ID_LEN + 1])
{
        uint8_t raw[BODY_SIZE + MAC_SIZE], full[SHA256_DIGEST_SIZE];

        if (!protocol_parse(in->protocol, raw + 7))
                return -EINVAL;
        raw[0] = in->format;
        for (int i = 0; i < 6; i++)
                raw[1 + i] = (uint8_t)(in->created_ms >> (8 * (5 - i)));
        raw[10] = in->caps;
        memcpy(raw + 11, in->random, 5);
        mac(key, raw, client, full);
        memcpy(raw + BODY_SIZE, full, MAC_SIZE);
        hex_encode(raw, sizeof(raw), out);
        return 0;
}

static int decode(const char *id, uint8_t raw[BODY_SIZE + MAC_SIZE])
{
        if (!id || strlen(id) != SEALED_ID_LEN)
                return -EINVAL;
        for (size_t i = 0; i < BODY_SIZE + MAC_SIZE; i++) {
                int hi = unhex(id[2 * i]), lo = unhex(id[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                raw[i] = (uint8_t)(hi << 4 | lo);
        }
        return raw[0] == SEALED_FORMAT || raw[0] == SEALED_FORMAT_SSE ? 0 : -EINVAL;
}

static int fields(const uint8_t raw[BODY_SIZE], struct sealed_id *ret)
{
        *ret = (struct sealed_id){.format = raw[0], .caps = raw[10]};
        for (int i = 0; i < 6; i++)
                ret->created_ms = ret->created_ms << 8 | raw[1 + i];
        if (raw[8] < 1 || raw[8] > 12 || raw[9] < 1 || raw[9] > 31 || raw[7] > 99)
                return -EINVAL;
        snprintf(ret->protocol, sizeof(ret->protocol), "20%02u-%02u-%02u", raw[7], raw[8], raw[9]);
        memcpy(ret->random, raw + 11, 5);
        return 0;
}

int sealed_id_peek(const char *id, struct sealed_id *ret)
{
        uint8_t raw[BODY_SIZE + MAC_SIZE];

        if (decode(id, raw) < 0)
                return -EINVAL;
        return fields(raw, ret);
}

uint64_t sealed_id_tag(const char *id)
{
        uint8_t raw[BODY_SIZE + MAC_SIZE];
        uint64_t t = 0;

        if (decode(id, raw) < 0)
                return 0;
        for (int i = 0; i < 8; i++)
                t = t << 8 | raw[BODY_SIZE + i];
        return t ? t : 1;
}

int sealed_id_open(const uint8_t key[SEALED_KEY_SIZE], const char *id, const char *client,
                   struct sealed_id *ret)
{
        uint8_t raw[BODY_SIZE + MAC_SIZE], full[SHA256_DIGEST_SIZE];
        uint8_t diff = 0;

        if (decode(id, raw) < 0)
                return -EINVAL;
        mac(key, raw, client, full);
        /* In constant time: how much of a forged MAC matched tells nothing. */
        for (size_t i = 0; i < MAC_SIZE; i++)
                diff |= (uint8_t)(full[i] ^ raw[BODY_SIZE + i]);
        if (diff)
                return -EPERM;
        return fields(raw, ret);
}
