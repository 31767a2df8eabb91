/* SPDX-License-Identifier: MIT */
/*
 * The hub's memory budget and backpressure.
 *
 * What a client can make the hub hold is counted: the events kept for
 * resumption (stream.c keeps h->replay_bytes), and the queues to and from
 * fronts and servers, counted once a second (HUB_MEMORY_TICK_MS) and when a
 * session is about to be made. The budget is MCP_MEMORY_MAX_MIB. Past
 * HUB_MEMORY_REFUSE_PERCENT of it new sessions are refused with 503 and
 * Retry-After, so that nothing that exists is harmed first; past all of it
 * kept events are dropped hub-wide, oldest first (streams_shed_hub()).
 *
 * Backpressure, as socket-proxyd does it: a front connection with more than
 * HUB_CONN_OUT_HIGH bytes queued is congested. Its stream's events then wait
 * in the stream's ring (bounded), and the instances that serve only its
 * session (session or client isolation) are not read until it drains below
 * HUB_CONN_OUT_LOW, so the server itself waits. A shared server is never
 * paused for one client: what it sends that client waits in the ring, within
 * the ring's limits. A connection congested for MCP_SLOW_CLIENT_TIMEOUT is
 * closed: that one stream ends (the client may resume it), nothing else.
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub/hub.h"
#include "json.h"
#include "log.h"
#include "mcp-limits.h"

/* Queues to and from fronts and servers, as allocated now. */
static void count_queues(struct hub *h, size_t *ret_fronts, size_t *ret_servers)
{
        size_t fronts = 0, servers = 0, k = 0;
        void *v;

        while (hmap_next(&h->conns, &k, NULL, &v)) {
                const struct conn *c = v;
                fronts += c->in.alloc + c->out.alloc;
        }
        for (size_t i = 0; i < h->n_servers; i++) {
                const struct server *srv = h->servers[i];
                if (srv->hub_inst)
                        servers += upstream_buffered(srv->hub_inst->u);
                for (const struct instance *in = srv->instances; in; in = in->next)
                        servers += upstream_buffered(in->u);
        }
        *ret_fronts = fronts;
        *ret_servers = servers;
}

size_t memory_used(struct hub *h)
{
        size_t fronts, servers;

        count_queues(h, &fronts, &servers);
        h->queued_bytes = fronts + servers;
        return h->replay_bytes + h->queued_bytes;
}

bool memory_refuse_new(struct hub *h, const char *client)
{
        size_t used = memory_used(h);
        uint64_t now = now_usec();

        if (used < h->mem_budget / 100 * HUB_MEMORY_REFUSE_PERCENT)
                return false;
        h->n_refused_memory++;
        if (now - h->mem_refuse_note_usec >= HUB_BUFFER_NOTE_MS * USEC_PER_MSEC) {
                h->mem_refuse_note_usec = now;
                log_warning("memory: %zu of %zu bytes in use (MCP_MEMORY_MAX_MIB): refusing new "
                            "sessions (client '%s'), %" PRIu64 " refused so far",
                            used, h->mem_budget, client, h->n_refused_memory);
        }
        hub_record(h, &(struct record){.client = client,
                                       .method = "session",
                                       .outcome = RECORD_LIMITED,
                                       .detail = "the hub's memory budget is nearly spent",
                                       .limit = "MCP_MEMORY_MAX_MIB",
                                       .not_request = true});
        return true;
}

void memory_check(struct hub *h)
{
        size_t used = h->replay_bytes + h->queued_bytes, dropped;
        uint64_t now;

        if (used <= h->mem_budget)
                return;
        dropped = streams_shed_hub(h, used - h->mem_budget);
        now = now_usec();
        if (dropped > 0 && now - h->mem_note_usec >= HUB_BUFFER_NOTE_MS * USEC_PER_MSEC) {
                h->mem_note_usec = now;
                log_warning("memory: over the budget of %zu bytes (MCP_MEMORY_MAX_MIB): dropped "
                            "%zu bytes of kept events, %" PRIu64 " events so far",
                            h->mem_budget, dropped, h->n_dropped_memory);
        }
}

static long rss_kib(void)
{
        long pages = 0, resident = 0;
        FILE *f = fopen("/proc/self/statm", "re");

        if (!f)
                return -1;
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
                resident = -1;
        fclose(f);
        return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

cJSON *memory_json(struct hub *h)
{
        cJSON *o = cJSON_CreateObject();
        size_t fronts, servers;
        long rss = rss_kib();

        if (!o)
                return NULL;
        count_queues(h, &fronts, &servers);
        h->queued_bytes = fronts + servers;
        cJSON_AddNumberToObject(o, "budget_bytes", (double)h->mem_budget);
        cJSON_AddNumberToObject(o, "used_bytes", (double)(h->replay_bytes + h->queued_bytes));
        cJSON_AddNumberToObject(o, "replay_bytes", (double)h->replay_bytes);
        cJSON_AddNumberToObject(o, "front_queue_bytes", (double)fronts);
        cJSON_AddNumberToObject(o, "server_queue_bytes", (double)servers);
        if (rss >= 0)
                cJSON_AddNumberToObject(o, "rss_bytes", (double)rss * 1024);
        cJSON_AddNumberToObject(o, "sessions_refused", (double)h->n_refused_memory);
        cJSON_AddNumberToObject(o, "events_dropped", (double)h->n_dropped_memory);
        cJSON_AddNumberToObject(o, "slow_fronts_closed", (double)h->n_slow_closed);
        return o;
}

static bool session_congested(struct hub *h, const struct session *s)
{
        for (const struct sse_stream *st = s->streams; st; st = st->next) {
                const struct conn *c = hub_conn_get(h, st->conn_id);
                if (c && c->congested)
                        return true;
        }
        return false;
}

/* Some session it serves has a congested stream. */
static bool instance_congested(struct hub *h, const struct instance *i)
{
        size_t k = 0;
        void *v;

        while (hmap_next(&h->sessions, &k, NULL, &v))
                if (instance_has_session(i, v) && session_congested(h, v))
                        return true;
        return false;
}

void memory_backpressure(struct hub *h, const char *session)
{
        struct session *s = session && session[0] ? session_get(h, session) : NULL;

        for (size_t n = 0; n < h->n_servers; n++)
                for (struct instance *i = h->servers[n]->instances; i; i = i->next) {
                        if (i->serves_all || i->hub_own || i->stopping)
                                continue;
                        /* Those of the session whose connection changed, and any paused one:
                         * the session that paused it may have ended since (a legacy or a
                         * 2026-07-28 request's ends with its connection, any may be deleted
                         * or expire), and nothing else would let it go on. */
                        if ((s && instance_has_session(i, s)) || i->u->paused)
                                upstream_set_paused(i->u, instance_congested(h, i));
                }
}

/* Close the front connections congested for longer than MCP_SLOW_CLIENT_TIMEOUT. */
static void close_slow(struct hub *h, uint64_t now)
{
        bool again = true;

        /* Closing changes the table: start over after each. */
        while (again) {
                size_t k = 0;
                void *v;

                again = false;
                while (hmap_next(&h->conns, &k, NULL, &v)) {
                        struct conn *c = v;
                        char session[65];

                        if (!c->congested || now - c->congested_usec < h->slow_client_usec)
                                continue;
                        snprintf(session, sizeof(session), "%s", c->session);
                        log_warning("front connection %" PRIu64 ": %zu bytes not read for %" PRIu64
                                    " s (%s%.8s%s), closing it",
                                    c->id, buf_avail(&c->out),
                                    (uint64_t)((now - c->congested_usec) / USEC_PER_SEC),
                                    session[0] ? "session " : "no session", session,
                                    session[0] ? "..." : "");
                        h->n_slow_closed++;
                        hub_conn_close(c); /* and its servers go on (memory_backpressure) */
                        again = true;
                        break;
                }
        }
}

static int memory_tick_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct hub *h = userdata;
        uint64_t now = now_usec();
        size_t used;

        close_slow(h, now);
        memory_backpressure(h, NULL); /* a safety net: no server stays paused for no one */
        streams_sweep(h, now);
        used = memory_used(h);
        memory_check(h);
        /* A burst went: give what malloc keeps of it back to the system. */
        if (used + HUB_MEMORY_TRIM_BYTES < h->mem_high_usage) {
                (void)malloc_trim(0);
                h->mem_high_usage = used;
        } else if (used > h->mem_high_usage)
                h->mem_high_usage = used;
        (void)sd_event_source_set_time_relative(s, HUB_MEMORY_TICK_MS * USEC_PER_MSEC);
        return 0;
}

int memory_setup(struct hub *h)
{
        const char *e = getenv("MCP_MEMORY_MAX_MIB");
        unsigned long long mib = HUB_MEMORY_MAX_MIB_DEFAULT;
        char *end;
        int r;

        if (e && *e) {
                errno = 0;
                mib = strtoull(e, &end, 10);
                if (errno || *end || e[0] == '-' || mib == 0 || mib > 1024 * 1024) {
                        log_warning("MCP_MEMORY_MAX_MIB='%s' is not a whole number from 1 to "
                                    "1048576, using %d",
                                    e, HUB_MEMORY_MAX_MIB_DEFAULT);
                        mib = HUB_MEMORY_MAX_MIB_DEFAULT;
                }
        }
        h->mem_budget = (size_t)mib << 20;
        /* Large buffers straight from mmap(2), and back when freed: a fixed threshold, not
         * glibc's, which rises with the first large free and keeps later bursts in the heap. */
        (void)mallopt(M_MMAP_THRESHOLD, HUB_MMAP_THRESHOLD);
        if (h->slow_client_usec == 0)
                h->slow_client_usec = (uint64_t)HUB_SLOW_CLIENT_MS_DEFAULT * USEC_PER_MSEC;
        r = sd_event_add_time_relative(h->event, &h->memory_timer, CLOCK_MONOTONIC,
                                       HUB_MEMORY_TICK_MS * USEC_PER_MSEC, 100 * USEC_PER_MSEC,
                                       memory_tick_cb, h);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(h->memory_timer, SD_EVENT_ON);
}

void memory_done(struct hub *h)
{
        h->memory_timer = sd_event_source_disable_unref(h->memory_timer);
}
