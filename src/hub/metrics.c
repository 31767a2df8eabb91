/* SPDX-License-Identifier: MIT */
/*
 * GET /metrics: the Prometheus text exposition (format 0.0.4), rendered
 * from what hub_record() counted (requests by client, server, method, name
 * and outcome; their durations; denials; limits) and from the state /health
 * shows (servers, their state and restarts, instances, sessions). The front
 * serves it to keys with the "metrics" scope (op=metrics on the wire).
 *
 * Every series of a counted record is kept until the hub stops, at most
 * METRICS_SERIES_MAX of them (a histogram's buckets count one each); beyond,
 * new label sets count in one series per metric whose labels are all
 * "other" (prom.h), so that clients sending new names cannot grow memory
 * without bound.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/hub.h"
#include "hub/prom.h"
#include "json.h"
#include "log.h"
#include "mcp-limits.h"
#include "proto/jsonrpc.h"

struct metrics {
        struct prom_budget budget;
        struct prom_family requests, duration, denied, limited;
};

static const char *const requests_labels[] = {"client", "server", "method", "name", "outcome"};
static const char *const duration_labels[] = {"server", "method"};
static const char *const client_labels[] = {"client"};
static const char *const limited_labels[] = {"client", "limit"};
static const char *const server_labels[] = {"server"};
/* From a quick resource read to a long tool run (the longest "maxTimeout" is 10 min). */
static const double duration_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                         2.5,   5,    10,    30,   60,  120,  300, 600};
/* The limits users.h knows, found in a record's detail when it does not say. */
static const char *const limit_names[] = {"requests_per_minute", "concurrent_calls", "max_sessions",
                                          "max_buffer_mib"};

static struct metrics *metrics_get(struct hub *h)
{
        struct metrics *m = h->metrics;

        if (m)
                return m;
        m = calloc(1, sizeof(*m));
        if (!m)
                return NULL;
        m->budget.max = METRICS_SERIES_MAX;
        m->requests = (struct prom_family){
            .name = "mcp_proxy_requests_total",
            .help = "Requests bound for a server, by client, server, method, name (tool, prompt, "
                    "resource URI) and outcome.",
            .type = PROM_COUNTER,
            .labels = requests_labels,
            .n_labels = ELEMENTSOF(requests_labels),
            .budget = &m->budget,
        };
        m->duration = (struct prom_family){
            .name = "mcp_proxy_request_duration_seconds",
            .help = "Time from a request leaving for its server to its answer.",
            .type = PROM_HISTOGRAM,
            .labels = duration_labels,
            .n_labels = ELEMENTSOF(duration_labels),
            .bounds = duration_bounds,
            .n_bounds = ELEMENTSOF(duration_bounds),
            .budget = &m->budget,
        };
        m->denied = (struct prom_family){
            .name = "mcp_proxy_denied_total",
            .help = "Requests refused by the access rules, by client.",
            .type = PROM_COUNTER,
            .labels = client_labels,
            .n_labels = ELEMENTSOF(client_labels),
            .budget = &m->budget,
        };
        m->limited = (struct prom_family){
            .name = "mcp_proxy_limited_total",
            .help = "Requests refused by a rate limit or quota, by client and limit.",
            .type = PROM_COUNTER,
            .labels = limited_labels,
            .n_labels = ELEMENTSOF(limited_labels),
            .budget = &m->budget,
        };
        return h->metrics = m;
}

void metrics_free(struct hub *h)
{
        struct metrics *m = h->metrics;

        if (!m)
                return;
        prom_family_done(&m->requests);
        prom_family_done(&m->duration);
        prom_family_done(&m->denied);
        prom_family_done(&m->limited);
        free(m);
        h->metrics = NULL;
}

static const char *limit_of(const struct record *r)
{
        if (r->limit)
                return r->limit;
        for (size_t i = 0; r->detail && i < ELEMENTSOF(limit_names); i++)
                if (strstr(r->detail, limit_names[i]))
                        return limit_names[i];
        return PROM_OTHER;
}

void metrics_count(struct hub *h, const struct record *r)
{
        struct metrics *m = metrics_get(h);
        const char *outcome = record_outcome_to_string(r->outcome);

        if (!m)
                return; /* out of memory: the record is still written */
        if (!r->not_request)
                prom_counter_add(
                    prom_series_get(
                        &m->requests,
                        (const char *const[]){r->client, r->server, r->method, r->name, outcome}),
                    1);
        switch (r->outcome) {
        case RECORD_DENIED:
                prom_counter_add(prom_series_get(&m->denied, (const char *const[]){r->client}), 1);
                break;
        case RECORD_LIMITED:
                prom_counter_add(
                    prom_series_get(&m->limited, (const char *const[]){r->client, limit_of(r)}), 1);
                break;
        default:
                /* It went to the server: how long it took. */
                prom_histogram_observe(
                    &m->duration,
                    prom_series_get(&m->duration, (const char *const[]){r->server, r->method}),
                    (double)r->duration_usec / USEC_PER_SEC);
                break;
        }
}

/* The gauges and counters of the hub's state, as /health has them (state.c). */
static int render_state(struct hub *h, struct buf *b)
{
        size_t instances = 0;
        int r;

        r = prom_header(b, "mcp_proxy_upstream_up", "Whether the server is ready (1) or not (0).",
                        PROM_GAUGE);
        for (size_t i = 0; r >= 0 && i < h->n_servers; i++) {
                const struct server *srv = h->servers[i];
                r = prom_sample(b, "mcp_proxy_upstream_up", server_labels,
                                (const char *const[]){srv->name}, 1,
                                srv->hub_inst->u->state == UPSTREAM_READY);
        }
        if (r >= 0)
                r = prom_header(b, "mcp_proxy_upstream_restarts_total",
                                "Restarts of the server's own session since the hub started it.",
                                PROM_COUNTER);
        for (size_t i = 0; r >= 0 && i < h->n_servers; i++) {
                const struct server *srv = h->servers[i];
                r = prom_sample(b, "mcp_proxy_upstream_restarts_total", server_labels,
                                (const char *const[]){srv->name}, 1, srv->hub_inst->u->restarts);
                instances += srv->n_instances;
        }
        if (r >= 0)
                r = prom_header(b, "mcp_proxy_instances",
                                "Server instances of clients and sessions (isolation client or "
                                "session) running.",
                                PROM_GAUGE);
        if (r >= 0)
                r = prom_sample(b, "mcp_proxy_instances", NULL, NULL, 0, (double)instances);
        if (r >= 0)
                r = prom_header(b, "mcp_proxy_sessions", "Client sessions.", PROM_GAUGE);
        if (r >= 0)
                r = prom_sample(b, "mcp_proxy_sessions", NULL, NULL, 0, (double)sessions_count(h));
        return r;
}

int metrics_render(struct hub *h, struct buf *b)
{
        struct metrics *m = metrics_get(h);
        int r;

        if (!m)
                return -ENOMEM;
        r = prom_family_render(&m->requests, b);
        if (r >= 0)
                r = prom_family_render(&m->duration, b);
        if (r >= 0)
                r = prom_family_render(&m->denied, b);
        if (r >= 0)
                r = prom_family_render(&m->limited, b);
        if (r >= 0)
                r = render_state(h, b);
        return r;
}

void metrics_answer(struct conn *c)
{
        _cleanup_json_ cJSON *text = NULL;
        _cleanup_cjson_str_ char *payload = NULL;
        struct buf b;
        int r;

        buf_init(&b, METRICS_TEXT_MAX);
        r = metrics_render(c->hub, &b);
        /* One JSON string on the wire (the text has newlines; a wire line cannot). */
        if (r >= 0 && !(text = cJSON_CreateString(b.data ? b.data : "")))
                r = -ENOMEM;
        buf_done(&b);
        if (r >= 0 && !(payload = cJSON_PrintUnformatted(text)))
                r = -ENOMEM;
        if (r < 0) {
                log_error_errno(r, "cannot render the metrics: %m");
                (void)conn_send_error(c, 500,
                                      jsonrpc_error_new(NULL, JSONRPC_INTERNAL_ERROR,
                                                        "Cannot render the metrics", NULL));
                return;
        }
        (void)conn_send_payload(c, wire_reply_new(WIRE_REPLY_METRICS), payload, strlen(payload),
                                true);
}
