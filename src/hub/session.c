/* SPDX-License-Identifier: MIT */
/*
 * Client sessions. Ids are sealed (sealed-id.h): visible ASCII as the
 * transport requires, unguessable without the hub's key, and bound to the
 * client id that created them (another client presenting the id gets 404).
 * What a restarted hub needs to take a session back travels in the id; the
 * rest (client info, log level, subscriptions) in the snapshot a clean stop
 * leaves (session-store.c).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/hub.h"
#include "json.h"
#include "log.h"
#include "random-util.h"
#include "sha256.h"
#include "mcp-limits.h"
#include "proto/jsonrpc.h"
#include "strv.h"

/* A fresh sealed id, unused in this hub. */
static int new_id(struct hub *h, const char *client, const char *version, const cJSON *caps,
                  bool legacy, char out[65])
{
        struct sealed_id si = {
            .format = legacy ? SEALED_FORMAT_SSE : SEALED_FORMAT,
            .created_ms = now_realtime_msec(),
            .caps = session_caps_to_bits(caps),
        };
        int r;

        snprintf(si.protocol, sizeof(si.protocol), "%s", version);
        for (int tries = 0; tries < 8; tries++) {
                r = random_bytes(si.random, sizeof(si.random));
                if (r < 0)
                        return r;
                r = sealed_id_make(h->session_key, &si, client, out);
                if (r < 0)
                        return r;
                if (!session_get(h, out))
                        return 0;
        }
        return -EEXIST;
}

/* At a cap, the client's own session unused the longest (and without a stream attached)
 * makes room: one client never ends another's sessions. */
static bool evict_one(struct hub *h, const char *client)
{
        struct session *oldest = NULL;
        size_t i = 0;
        void *v;

        while (hmap_next(&h->sessions, &i, NULL, &v)) {
                struct session *s = v;
                if (s->modern || strcmp(s->client, client) != 0 || session_in_use(h, s))
                        continue;
                if (!oldest || s->last_used_usec < oldest->last_used_usec)
                        oldest = s;
        }
        if (!oldest)
                return false;
        log_notice("session limit reached: ending session %.8s... of client '%s', unused "
                   "for %llu s",
                   oldest->id, oldest->client,
                   (unsigned long long)((now_usec() - oldest->last_used_usec) / 1000000));
        session_free(h, oldest);
        return true;
}

void sessions_expire(struct hub *h, uint64_t idle_usec)
{
        uint64_t now = now_usec();
        bool again = true;

        /* Freeing while iterating reshuffles the table: restart after each removal. */
        while (again) {
                size_t i = 0;
                void *v;
                again = false;
                while (hmap_next(&h->sessions, &i, NULL, &v)) {
                        struct session *s = v;
                        if (s->modern || session_in_use(h, s) ||
                            now - s->last_used_usec < idle_usec)
                                continue;
                        log_info("session %.8s... of client '%s' expired after %llu s unused",
                                 s->id, s->client, (unsigned long long)(idle_usec / 1000000));
                        session_free(h, s);
                        again = true;
                        break;
                }
        }
}

struct session *session_insert(struct hub *h, const char *id, const char *client,
                               const char *version)
{
        struct session *s = calloc(1, sizeof(*s));

        if (!s)
                return NULL;
        snprintf(s->id, sizeof(s->id), "%s", id);
        snprintf(s->iso, sizeof(s->iso), "%s", id);
        s->client = strdup(client);
        s->protocol_version = strdup(version);
        if (!s->client || !s->protocol_version)
                goto fail;
        s->created_usec = s->last_used_usec = now_usec();
        s->log_level = -1;
        if (hmap_put(&h->sessions, hash_string(s->id), s) < 0)
                goto fail;
        return s;
fail:
        free(s->client);
        free(s->protocol_version);
        free(s);
        errno = ENOMEM;
        return NULL;
}

/* Room for one more session of client: false (errno EUSERS) at the caps. */
static bool make_room(struct hub *h, const char *client)
{
        size_t mine = 0, i = 0;
        void *v;

        const struct user_rules *r = access_rules(h, client);
        size_t cap = HUB_MAX_SESSIONS_PER_CLIENT;

        /* The users file may set a smaller cap for this client (max_sessions). */
        if (r->max_sessions && r->max_sessions < cap)
                cap = r->max_sessions;
        while (hmap_next(&h->sessions, &i, NULL, &v))
                if (!((struct session *)v)->modern &&
                    strcmp(((struct session *)v)->client, client) == 0)
                        mine++;
        if ((mine >= cap || sessions_count(h) >= HUB_MAX_SESSIONS) && !evict_one(h, client)) {
                log_warning("client '%s': session limit reached (%zu of its own, %zu in all), "
                            "refusing a new one",
                            client, mine, (size_t)h->sessions.n);
                errno = EUSERS;
                return false;
        }
        return true;
}

struct session *session_new(struct hub *h, const char *client, const char *version,
                            const cJSON *capabilities, bool legacy)
{
        struct session *s;
        char id[65];
        int r;

        if (memory_refuse_new(h, client)) {
                errno = ENOSPC;
                return NULL;
        }
        if (!make_room(h, client))
                return NULL;
        r = new_id(h, client, version, capabilities, legacy, id);
        if (r < 0) {
                log_error_errno(r, "cannot make a session id: %m");
                errno = ENOMEM;
                return NULL;
        }
        s = session_insert(h, id, client, version);
        if (s) {
                s->legacy = legacy;
                h->sessions_dirty = true;
        }
        return s;
}

struct session *session_resume(struct hub *h, const char *id, const char *client)
{
        struct sealed_id si;
        struct session *s;
        int r;

        if (!id || !client)
                return NULL;
        r = sealed_id_open(h->session_key, id, client, &si);
        if (r < 0) {
                if (r == -EPERM && strlen(id) == SEALED_ID_LEN)
                        log_debug("client '%s': session id %.8s... is not sealed for it by this "
                                  "hub's key",
                                  client, id);
                return NULL;
        }
        /* A legacy session lived on its SSE connection, gone with the former hub. */
        if (si.format != SEALED_FORMAT)
                return NULL;
        /* Made in this hub's life and unknown now, ended (DELETE, idle, evicted, killed)
         * now or before, too old: never again. */
        if (!session_store_resumable(h, si.created_ms) || session_store_ended(h, id, si.created_ms))
                return NULL;
        if (!mcp_protocol_supported(si.protocol) || !make_room(h, client))
                return NULL;
        s = session_insert(h, id, client, si.protocol);
        if (!s)
                return NULL;
        s->client_capabilities = session_caps_from_bits(si.caps);
        s->initialized = true;
        s->resumed = true;
        log_notice(
            "client '%s': session %.8s... (made %llu s ago, protocol %s) taken back from "
            "its sealed id; its client info, log level and subscriptions are not known",
            client, id,
            (unsigned long long)((now_realtime_msec() - MIN(si.created_ms, now_realtime_msec())) /
                                 1000),
            si.protocol);
        return s;
}

struct session *session_get(struct hub *h, const char *id)
{
        struct session *s;

        if (!id)
                return NULL;
        s = hmap_get(&h->sessions, hash_string(id));
        if (!s || strcmp(s->id, id) != 0)
                return NULL;
        return s;
}

bool session_in_use(struct hub *h, const struct session *s)
{
        for (const struct sse_stream *st = s->streams; st; st = st->next)
                if (hub_conn_get(h, st->conn_id))
                        return true;
        return false;
}

bool session_has_capability(const struct session *s, const char *cap, const char *sub)
{
        const cJSON *c = s->client_capabilities ? json_get(s->client_capabilities, cap) : NULL;

        if (!cJSON_IsObject(c))
                return false;
        if (!sub)
                return true;
        return json_get(c, sub) != NULL;
}

static void session_destroy(struct session *s)
{
        for (size_t i = 0; i < s->n_subs; i++)
                free(s->subs[i]);
        free(s->subs);
        strv_free(s->subs_pending);
        free(s->client);
        free(s->protocol_version);
        free(s->modern_method);
        free(s->request_name);
        cJSON_Delete(s->request_id);
        cJSON_Delete(s->input_responses);
        mrtr_free(s->mrtr);
        cJSON_Delete(s->client_capabilities);
        cJSON_Delete(s->client_info);
        free(s);
}

void session_free(struct hub *h, struct session *s)
{
        if (!s)
                return;
        hub_session_ending(h, s);
        if (!s->modern) {
                session_store_note_end(h, s);
                h->sessions_dirty = true;
        } else
                h->n_modern--;
        hmap_remove(&h->sessions, hash_string(s->id));
        streams_free(h, s);
        session_destroy(s);
}

void sessions_free_all(struct hub *h)
{
        size_t i = 0;
        void *v;

        while (hmap_next(&h->sessions, &i, NULL, &v)) {
                struct session *s = v;
                while (s->streams) {
                        struct sse_stream *st = s->streams;
                        s->streams = st->next;
                        stream_free(st);
                }
                session_destroy(s);
        }
        hmap_done(&h->sessions);
}

int sessions_get_targets(struct hub *h, bool (*want)(const struct session *s, const void *userdata),
                         const void *userdata, struct target **ret, size_t *ret_n)
{
        struct target *t = NULL;
        size_t n = 0, i = 0;
        void *v;

        *ret = NULL;
        *ret_n = 0;
        while (hmap_next(&h->sessions, &i, NULL, &v)) {
                const struct session *s = v;
                if (!s->get_stream || (want && !want(s, userdata)))
                        continue;
                if (!t && !(t = calloc(h->sessions.n, sizeof(*t))))
                        return -ENOMEM;
                target_for_get(&t[n++], s);
        }
        *ret = t;
        *ret_n = n;
        return 0;
}

size_t sessions_count(struct hub *h)
{
        return h->sessions.n - h->n_modern;
}

struct session *session_new_modern(struct hub *h, const char *client, uint64_t conn_id,
                                   const cJSON *capabilities)
{
        uint8_t rnd[24], key[SHA256_DIGEST_SIZE];
        char id[65] = "m", *p;
        struct session *s;

        if (memory_refuse_new(h, client)) {
                errno = ENOSPC;
                return NULL;
        }
        /* Not sealed: it never leaves the hub. 'm' and 48 hex digits. */
        if (random_bytes(rnd, sizeof(rnd)) < 0) {
                errno = EIO;
                return NULL;
        }
        p = id + 1;
        for (size_t i = 0; i < sizeof(rnd); i++, p += 2)
                snprintf(p, 3, "%02x", rnd[i]);
        s = session_insert(h, id, client, MCP_PROTOCOL_MODERN);
        if (!s)
                return NULL;
        h->n_modern++;
        s->modern = true;
        s->modern_conn = conn_id;
        s->initialized = true;
        s->client_capabilities = cJSON_Duplicate(capabilities, true);
        /* The client's modern requests share its instances, apart from its sessions'. */
        sha256((const uint8_t *)client, strlen(client), key);
        snprintf(s->iso, sizeof(s->iso), "M");
        for (size_t i = 0; i < 28; i++)
                snprintf(s->iso + 1 + 2 * i, 3, "%02x", key[i]);
        return s;
}
