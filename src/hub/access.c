/* SPDX-License-Identifier: MIT */
/*
 * Who may call what, and how much (the users file, src/config/users.h),
 * enforced at the router's one choke point (route_check()) and when lists
 * are served: access rules per client, a token bucket of requests per
 * minute, calls in flight at once, sessions at once. Decisions on names are
 * cached per client and rules generation, so 100 rules cost a hash lookup.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/hub.h"
#include "log.h"
#include "mcp-limits.h"

#define DECISIONS_MAX 8192

struct client_state {
        char *client;
        double tokens;
        uint64_t refill_usec;
        size_t buffered;       /* bytes its sessions' streams hold */
        uint64_t dropped;      /* events dropped over its budget, since last told */
        uint64_t dropped_usec; /* when that was last told */
};

struct decision {
        char *key; /* client \1 kind \1 server \1 name */
        bool allow;
};

static void users_warn(void *userdata, const char *message)
{
        log_warning("%s", message);
}

int access_load(struct hub *h, struct users *ret, char *err, size_t errlen)
{
        const char *p = getenv("MCP_USERS_PATH");

        int r;

        *ret = (struct users){};
        if (!p || !*p)
                return 0;
        r = users_load_file(p, ret, err, errlen, users_warn, NULL);
        if (r == -ENOENT) {
                /* Named but not there (the units name it whether or not the operator made
                 * one): no rules, as without a file. */
                users_done(ret);
                *ret = (struct users){};
                return 0;
        }
        return r;
}

static void decisions_clear(struct hub *h)
{
        size_t i = 0;
        void *v;

        while (hmap_next(&h->decisions, &i, NULL, &v)) {
                struct decision *d = v;
                free(d->key);
                free(d);
        }
        hmap_done(&h->decisions);
}

void access_set(struct hub *h, struct users *u)
{
        users_done(&h->users);
        h->users = *u;
        *u = (struct users){};
        decisions_clear(h);
}

void access_done(struct hub *h)
{
        size_t i = 0;
        void *v;

        users_done(&h->users);
        decisions_clear(h);
        while (hmap_next(&h->clients, &i, NULL, &v)) {
                struct client_state *cs = v;
                free(cs->client);
                free(cs);
        }
        hmap_done(&h->clients);
}

const struct user_rules *access_rules(struct hub *h, const char *client)
{
        return users_find(&h->users, client);
}

bool access_allow(struct hub *h, const char *client, enum users_kind kind, const char *server,
                  const char *name)
{
        const struct user_rules *r;
        struct decision *d;
        char key[1024];
        uint64_t k;
        bool allow;
        int n;

        if (!h->users.path)
                return true;
        r = users_find(&h->users, client);
        /* The cache key on the stack: a hit (every call but the first of a name) allocates
         * nothing. A name too long for it is judged every time, uncached. */
        n = snprintf(key, sizeof(key), "%s\001%d\001%s\001%s", client, (int)kind, server, name);
        if (n < 0 || (size_t)n >= sizeof(key))
                return user_rules_allow(r, kind, server, name);
        k = hash_string(key);
        d = hmap_get(&h->decisions, k);
        if (d && strcmp(d->key, key) == 0)
                return d->allow;
        allow = user_rules_allow(r, kind, server, name);
        if (d)
                return allow; /* another key under this hash: leave its entry be */
        if (h->decisions.n >= DECISIONS_MAX)
                decisions_clear(h);
        d = calloc(1, sizeof(*d));
        if (d && (d->key = strdup(key))) {
                d->allow = allow;
                if (hmap_put(&h->decisions, k, d) >= 0)
                        return allow;
        }
        if (d)
                free(d->key);
        free(d);
        return allow;
}

static struct client_state *client_state(struct hub *h, const char *client)
{
        uint64_t k = hash_string(client);
        struct client_state *cs = hmap_get(&h->clients, k);

        if (cs && strcmp(cs->client, client) == 0)
                return cs;
        if (cs)
                return NULL; /* a collision: not limited, rather than someone else's bucket */
        cs = calloc(1, sizeof(*cs));
        if (!cs || !(cs->client = strdup(client)) || hmap_put(&h->clients, k, cs) < 0) {
                if (cs)
                        free(cs->client);
                free(cs);
                return NULL;
        }
        cs->tokens = -1; /* full, set at first use */
        return cs;
}

int access_take_request(struct hub *h, const char *client, unsigned *ret_retry_after)
{
        const struct user_rules *r = users_find(&h->users, client);
        struct client_state *cs;
        uint64_t now = now_usec();
        double rate, cap;

        *ret_retry_after = 0;
        if (!r->requests_per_minute || !(cs = client_state(h, client)))
                return 0;
        cap = r->requests_per_minute;
        rate = cap / 60e6; /* tokens per microsecond */
        if (cs->tokens < 0 || cs->tokens > cap)
                cs->tokens = cap;
        else
                cs->tokens = MIN(cap, cs->tokens + (double)(now - cs->refill_usec) * rate);
        cs->refill_usec = now;
        if (cs->tokens >= 1) {
                cs->tokens -= 1;
                return 0;
        }
        *ret_retry_after = (unsigned)((1 - cs->tokens) / rate / 1e6) + 1;
        return -EBUSY;
}

size_t access_buffer_budget(struct hub *h, const char *client)
{
        const struct user_rules *r = users_find(&h->users, client);

        return r->max_buffer_mib ? (size_t)r->max_buffer_mib << 20 : HUB_CLIENT_BUFFER_DEFAULT;
}

size_t access_buffered(struct hub *h, const char *client, ssize_t delta)
{
        struct client_state *cs = client_state(h, client);

        if (!cs)
                return 0; /* unaccounted (out of memory, a hash collision): never shed */
        if (delta < 0 && (size_t)-delta > cs->buffered)
                cs->buffered = 0;
        else
                cs->buffered += (size_t)delta;
        return cs->buffered;
}

bool access_note_dropped(struct hub *h, const char *client, size_t n, uint64_t *ret_total)
{
        struct client_state *cs = client_state(h, client);
        uint64_t now = now_usec();

        *ret_total = 0;
        if (!cs)
                return false;
        cs->dropped += n;
        if (cs->dropped_usec && now - cs->dropped_usec < (uint64_t)HUB_BUFFER_NOTE_MS * 1000)
                return false;
        *ret_total = cs->dropped;
        cs->dropped = 0;
        cs->dropped_usec = now;
        return true;
}

size_t access_calls_in_flight(struct hub *h, const char *client)
{
        size_t n = 0;

        for (size_t k = 0; k < h->n_servers; k++) {
                struct server *srv = h->servers[k];
                for (struct call *c = srv->hub_inst->calls; c; c = c->next) {
                        struct session *s = session_get(h, c->target.session);
                        if (s && strcmp(s->client, client) == 0)
                                n++;
                }
                for (struct instance *i = srv->instances; i; i = i->next)
                        for (struct call *c = i->calls; c; c = c->next) {
                                struct session *s;
                                if (i->client && strcmp(i->client, client) != 0)
                                        break; /* another client's instance: none of ours */
                                s = session_get(h, c->target.session);
                                if (s && strcmp(s->client, client) == 0)
                                        n++;
                        }
        }
        return n;
}
