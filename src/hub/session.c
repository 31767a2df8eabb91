/* SPDX-License-Identifier: MIT */
/*
 * Client sessions. Ids are 128 random bits from getrandom(2), hex: visible
 * ASCII as the transport requires, unguessable, and bound to the client id
 * that created them (another client presenting the id gets 404).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "hub/hub.h"
#include "json.h"
#include "mcp-limits.h"
#include "log.h"
#include "sha256.h"

static int random_id(char out[65])
{
        uint8_t raw[16];
        size_t got = 0;

        while (got < sizeof(raw)) {
                ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                got += (size_t)n;
        }
        hex_encode(raw, sizeof(raw), out);
        return 0;
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
                if (strcmp(s->client, client) != 0 || session_in_use(h, s))
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
                        if (session_in_use(h, s) || now - s->last_used_usec < idle_usec)
                                continue;
                        log_info("session %.8s... of client '%s' expired after %llu s unused",
                                 s->id, s->client, (unsigned long long)(idle_usec / 1000000));
                        session_free(h, s);
                        again = true;
                        break;
                }
        }
}

struct session *session_new(struct hub *h, const char *client, const char *version)
{
        struct session *s;
        size_t mine = 0, i = 0;
        void *v;

        while (hmap_next(&h->sessions, &i, NULL, &v))
                if (strcmp(((struct session *)v)->client, client) == 0)
                        mine++;
        if ((mine >= HUB_MAX_SESSIONS_PER_CLIENT || h->sessions.n >= HUB_MAX_SESSIONS) &&
            !evict_one(h, client)) {
                log_warning("client '%s': session limit reached (%zu of its own, %zu in all), "
                            "refusing a new one",
                            client, mine, (size_t)h->sessions.n);
                errno = EUSERS;
                return NULL;
        }
        s = calloc(1, sizeof(*s));
        if (!s)
                return NULL;
        if (random_id(s->id) < 0)
                goto fail;
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
        free(s->client);
        free(s->protocol_version);
        cJSON_Delete(s->client_capabilities);
        cJSON_Delete(s->client_info);
        free(s);
}

void session_free(struct hub *h, struct session *s)
{
        if (!s)
                return;
        hub_session_ending(h, s);
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
                        for (size_t k = 0; k < st->ring_n; k++)
                                free(st->ring[(st->ring_start + k) % SSE_REPLAY_EVENTS].data);
                        free(st->ring);
                        free(st);
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
        return h->sessions.n;
}
