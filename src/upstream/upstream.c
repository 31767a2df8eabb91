/* SPDX-License-Identifier: MIT */
/*
 * The transport-neutral half of an upstream: handshake, catalogue, the
 * table of requests in flight, timeouts, restart with backoff.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/hub.h"
#include "json.h"
#include "mcp-limits.h"
#include "log.h"
#include "proto/jsonrpc.h"
#include "proto/wire.h"
#include "upstream/upstream.h"

#define USEC_PER_MSEC       1000ULL
#define USEC_PER_SEC        1000000ULL
#define TIMER_ACCURACY_USEC (1 * USEC_PER_MSEC)

static const char *const state_table[_UPSTREAM_STATE_MAX] = {
    [UPSTREAM_STOPPED] = "stopped", [UPSTREAM_STARTING] = "starting",
    [UPSTREAM_READY] = "ready",     [UPSTREAM_BACKOFF] = "backoff",
    [UPSTREAM_FAILED] = "failed",   [UPSTREAM_STOPPING] = "stopping",
};

const char *upstream_state_to_string(enum upstream_state s)
{
        if (s < 0 || s >= _UPSTREAM_STATE_MAX)
                return "invalid";
        return state_table[s];
}

static bool upstream_log_enabled(const struct upstream *u, int level)
{
        return level <= (u->log_level >= 0 ? u->log_level : log_get_max_level());
}

void upstream_log(struct upstream *u, int level, const char *fmt, ...)
{
        char fields[128], msg[2048];
        va_list ap;

        if (!upstream_log_enabled(u, level))
                return;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        snprintf(fields, sizeof(fields), "MCP_UPSTREAM=%s", u->name);
        (void)log_internal(level, 0, fields, "upstream '%s': %s", u->name, msg);
}

void upstream_log_stderr(struct upstream *u, const char *line, size_t len)
{
        char fields[128];

        if (!upstream_log_enabled(u, LOG_INFO))
                return;
        snprintf(fields, sizeof(fields), "MCP_UPSTREAM=%s", u->name);
        (void)log_internal(LOG_INFO, 0, fields, "%s: %.*s", u->name, (int)len, line);
}

static void set_last_error(struct upstream *u, const char *msg)
{
        free(u->last_error);
        u->last_error = msg ? strdup(msg) : NULL;
}

/* ---------------------------------------------------------------- pending */

static void pending_free(struct pending *p)
{
        if (!p)
                return;
        sd_event_source_disable_unref(p->timer);
        cJSON_Delete(p->queued_msg);
        cJSON_Delete(p->client_id);
        cJSON_Delete(p->progress_token);
        free(p->method);
        free(p);
}

static struct pending *pending_take(struct upstream *u, int64_t id)
{
        return hmap_remove(&u->pending, (uint64_t)id);
}

/* Answer a client request with an error naming this server. */
static void pending_fail(struct upstream *u, struct pending *p, int code, const char *message)
{
        if (p->kind == PENDING_CLIENT) {
                _cleanup_json_ cJSON *data = cJSON_CreateObject();
                cJSON *err;
                if (data)
                        cJSON_AddStringToObject(data, "server", u->name);
                err = jsonrpc_error_new(p->client_id, code, message, TAKE_PTR(data));
                if (err)
                        (void)hub_deliver(u->hub, &p->target, err, true);
        } else if (p->done)
                p->done(u, p, NULL);
}

static void fail_all_pending(struct upstream *u, int code, const char *message)
{
        size_t i = 0;
        void *v;
        struct hmap m = u->pending;

        /* Those still waiting their turn fail with the rest. */
        while (u->queue_head) {
                struct pending *p = u->queue_head;
                u->queue_head = p->queue_next;
                u->queue_len--;
                pending_fail(u, p, code, message);
                pending_free(p);
        }
        u->queue_tail = NULL;

        /* Detach the table first: callbacks may add new entries. */
        u->pending = (struct hmap){};
        while (hmap_next(&m, &i, NULL, &v)) {
                struct pending *p = v;
                pending_fail(u, p, code, message);
                pending_free(p);
        }
        hmap_done(&m);
}

static int send_message(struct upstream *u, const cJSON *msg)
{
        _cleanup_cjson_str_ char *s = NULL;

        if (!u->transport_up)
                return -ENOTCONN;
        s = cJSON_PrintUnformatted(msg);
        if (!s)
                return -ENOMEM;
        return u->ops->send(u, s, strlen(s));
}

static void queue_remove(struct upstream *u, struct pending *p);
static void queue_dispatch(struct upstream *u);

static int pending_timeout_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct pending *p = userdata;
        struct upstream *u = p->upstream;
        char msg[256];
        _cleanup_json_ cJSON *cancel = NULL;
        _cleanup_json_ cJSON *params = NULL;

        if (p->queued_msg) {
                queue_remove(u, p);
                snprintf(msg, sizeof(msg),
                         "Request to upstream '%s' timed out after %.1f s waiting for its turn",
                         u->name, (double)p->timeout_usec / USEC_PER_SEC);
                pending_fail(u, p, MCP_ERROR_REQUEST_TIMEOUT, msg);
                pending_free(p);
                return 0;
        }
        p = pending_take(u, p->upstream_id);
        if (!p)
                return 0;
        upstream_log(u, LOG_WARNING, "request %" PRId64 " (%s) timed out after %.1f s, cancelling",
                     p->upstream_id, p->method ? p->method : "?",
                     (double)p->timeout_usec / USEC_PER_SEC);
        /* Tell the server to stop working on it (not for initialize). */
        if (p->method && strcmp(p->method, "initialize") != 0) {
                params = cJSON_CreateObject();
                if (params &&
                    cJSON_AddNumberToObject(params, "requestId", (double)p->upstream_id) &&
                    cJSON_AddStringToObject(params, "reason", "timed out in mcp-proxy")) {
                        cancel =
                            jsonrpc_notification_new("notifications/cancelled", TAKE_PTR(params));
                        if (cancel)
                                (void)send_message(u, cancel);
                }
        }
        snprintf(msg, sizeof(msg), "Request to upstream '%s' timed out after %.1f s", u->name,
                 (double)p->timeout_usec / USEC_PER_SEC);
        pending_fail(u, p, MCP_ERROR_REQUEST_TIMEOUT, msg);
        pending_free(p);
        queue_dispatch(u);
        return 0;
}

/* Registers p under a fresh id, sets msg's id and the timeout, sends msg. */
static int pending_send(struct upstream *u, struct pending *p, cJSON *msg, uint64_t timeout_usec)
{
        int r;

        p->upstream = u;
        p->upstream_id = ++u->next_id;
        if (!p->started_usec)
                p->started_usec = now_usec();
        p->timeout_usec = timeout_usec;
        if (!json_set(msg, "id", cJSON_CreateNumber((double)p->upstream_id)))
                return -ENOMEM;
        r = hmap_put(&u->pending, (uint64_t)p->upstream_id, p);
        if (r < 0)
                return r;
        if (timeout_usec > 0 && !p->timer) {
                r = sd_event_add_time_relative(u->hub->event, &p->timer, CLOCK_MONOTONIC,
                                               timeout_usec, TIMER_ACCURACY_USEC,
                                               pending_timeout_cb, p);
                if (r < 0) {
                        hmap_remove(&u->pending, (uint64_t)p->upstream_id);
                        return r;
                }
        }
        r = send_message(u, msg);
        if (r < 0) {
                hmap_remove(&u->pending, (uint64_t)p->upstream_id);
                return r;
        }
        return 0;
}

static int internal_request(struct upstream *u, const char *method, cJSON *params,
                            pending_done_cb done, uint64_t timeout_usec, int list_kind)
{
        _cleanup_json_ cJSON *msg = jsonrpc_request_new(0, method, params);
        struct pending *p;
        int r;

        if (!msg)
                return -ENOMEM;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->kind = PENDING_INTERNAL;
        p->done = done;
        p->list_kind = list_kind;
        p->method = strdup(method);
        r = pending_send(u, p, msg, timeout_usec);
        if (r < 0)
                pending_free(p);
        return r;
}

/* ---------------------------------------------------------------- lifecycle */

static void schedule_restart(struct upstream *u);
static int fetch_list_page(struct upstream *u, enum list_kind k, const char *cursor);

const struct list_info list_info[_LIST_KIND_MAX] = {
    [LIST_TOOLS] = {"tools/list", "tools", "name", "notifications/tools/list_changed"},
    [LIST_PROMPTS] = {"prompts/list", "prompts", "name", "notifications/prompts/list_changed"},
    [LIST_RESOURCES] = {"resources/list", "resources", "uri",
                        "notifications/resources/list_changed"},
    [LIST_TEMPLATES] = {"resources/templates/list", "resourceTemplates", "uriTemplate",
                        "notifications/resources/list_changed"},
};

static uint64_t request_timeout_usec(struct upstream *u)
{
        return (uint64_t)u->cfg.request_timeout_ms * USEC_PER_MSEC;
}

static void become_ready(struct upstream *u);

/* One list fetch finished (all pages, or given up): install it, then maybe become ready. */
static void list_fetch_finished(struct upstream *u, enum list_kind k, bool ok)
{
        if (ok) {
                cJSON_Delete(u->lists[k]);
                u->lists[k] = u->fetching[k];
                upstream_log(u, LOG_INFO, "%d %s", cJSON_GetArraySize(u->lists[k]),
                             list_info[k].key);
        } else
                cJSON_Delete(u->fetching[k]);
        u->fetching[k] = NULL;
        if (u->state == UPSTREAM_STARTING) {
                for (int i = 0; i < _LIST_KIND_MAX; i++)
                        if (u->fetching[i])
                                return;
                become_ready(u);
        } else if (ok && u->state == UPSTREAM_READY)
                hub_upstream_catalogue_changed(u->hub, u);
}

static void list_page_done(struct upstream *u, struct pending *p, cJSON *msg)
{
        enum list_kind k = p->list_kind;
        const struct list_info *li = &list_info[k];
        const cJSON *result, *items, *next, *t;

        if (!u->fetching[k])
                return;
        if (!msg) {
                /* Failed or timed out: keep whatever we had. */
                list_fetch_finished(u, k, false);
                return;
        }
        result = json_get(msg, "result");
        if (!cJSON_IsObject(result)) {
                upstream_log(u, LOG_WARNING, "%s failed: %s, keeping the previous list", li->method,
                             json_get(msg, "error") ? "error response" : "no result");
                list_fetch_finished(u, k, false);
                return;
        }
        items = json_get(result, li->key);
        if (cJSON_IsArray(items))
                cJSON_ArrayForEach(t, items)
                {
                        if (!cJSON_IsObject(t) || !json_get_string(t, li->id_field)) {
                                upstream_log(u, LOG_WARNING, "%s: entry without \"%s\", ignoring",
                                             li->method, li->id_field);
                                continue;
                        }
                        cJSON_AddItemToArray(u->fetching[k], cJSON_Duplicate(t, true));
                }
        next = json_get(result, "nextCursor");
        if (cJSON_IsString(next) && *next->valuestring) {
                if (++u->pages[k] >= UPSTREAM_LIST_MAX_PAGES)
                        upstream_log(u, LOG_WARNING, "%s: more than %d pages, keeping what we have",
                                     li->method, UPSTREAM_LIST_MAX_PAGES);
                else if (fetch_list_page(u, k, next->valuestring) >= 0)
                        return;
        }
        list_fetch_finished(u, k, true);
}

static int fetch_list_page(struct upstream *u, enum list_kind k, const char *cursor)
{
        cJSON *params = NULL;

        if (cursor) {
                params = cJSON_CreateObject();
                if (!params || !cJSON_AddStringToObject(params, "cursor", cursor)) {
                        cJSON_Delete(params);
                        return -ENOMEM;
                }
        }
        return internal_request(u, list_info[k].method, params, list_page_done,
                                request_timeout_usec(u), k);
}

/* (Re)fetch one list, all pages. Returns 0 also when the server does not have it. */
static int refresh_list(struct upstream *u, enum list_kind k)
{
        int r;

        if (!u->supports[k])
                return 0;
        if (u->fetching[k])
                return 0; /* already fetching: that fetch will see the new list */
        u->fetching[k] = cJSON_CreateArray();
        if (!u->fetching[k])
                return -ENOMEM;
        u->pages[k] = 0;
        r = fetch_list_page(u, k, NULL);
        if (r < 0) {
                cJSON_Delete(u->fetching[k]);
                u->fetching[k] = NULL;
        }
        return r;
}

static int healthy_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct upstream *u = userdata;

        u->healthy_timer = sd_event_source_disable_unref(u->healthy_timer);
        if (u->state == UPSTREAM_READY) {
                u->streak = 0;
                u->delay_usec = u->hub->restart_delay_usec;
        }
        return 0;
}

static void become_ready(struct upstream *u)
{
        u->startup_timer = sd_event_source_disable_unref(u->startup_timer);
        u->state = UPSTREAM_READY;
        u->up_since_usec = now_usec();
        set_last_error(u, NULL);
        upstream_log(u, LOG_NOTICE, "ready (%s, protocol %s, %d tools, %d prompts, %d resources)",
                     u->ops->name, u->protocol_version ? u->protocol_version : "?",
                     u->lists[LIST_TOOLS] ? cJSON_GetArraySize(u->lists[LIST_TOOLS]) : 0,
                     u->lists[LIST_PROMPTS] ? cJSON_GetArraySize(u->lists[LIST_PROMPTS]) : 0,
                     u->lists[LIST_RESOURCES] ? cJSON_GetArraySize(u->lists[LIST_RESOURCES]) : 0);
        u->healthy_timer = sd_event_source_disable_unref(u->healthy_timer);
        (void)sd_event_add_time_relative(u->hub->event, &u->healthy_timer, CLOCK_MONOTONIC,
                                         RESTART_HEALTHY_MS * USEC_PER_MSEC, TIMER_ACCURACY_USEC,
                                         healthy_cb, u);
        hub_upstream_catalogue_changed(u->hub, u);
        hub_upstream_ready(u->hub, u);
}

static void handshake_failed(struct upstream *u, const char *why)
{
        /* Already down: upstream_transport_down() has the real reason and handles it. And
         * once only: failing the pending initialize below comes back here. */
        if (u->transport_lost || u->state != UPSTREAM_STARTING)
                return;
        upstream_log(u, LOG_ERR, "handshake failed: %s", why);
        set_last_error(u, why);
        /* Tear the transport down; upstream_transport_stopped() schedules the restart. */
        u->transport_up = false;
        u->state = UPSTREAM_BACKOFF;
        u->startup_timer = sd_event_source_disable_unref(u->startup_timer);
        fail_all_pending(u, MCP_ERROR_CONNECTION_CLOSED, "Upstream handshake failed");
        u->ops->stop(u);
}

static void initialize_done(struct upstream *u, struct pending *p, cJSON *msg)
{
        const cJSON *result, *caps, *v;
        _cleanup_json_ cJSON *note = NULL;

        if (!msg) {
                handshake_failed(u, "no answer to initialize");
                return;
        }
        result = json_get(msg, "result");
        if (!cJSON_IsObject(result)) {
                const cJSON *e = json_get(msg, "error");
                const char *em = cJSON_IsObject(e) ? json_get_string(e, "message") : NULL;
                char why[512];
                snprintf(why, sizeof(why), "initialize returned an error: %s",
                         em ? em : "(no message)");
                handshake_failed(u, why);
                return;
        }
        v = json_get(result, "protocolVersion");
        if (!cJSON_IsString(v)) {
                handshake_failed(u, "initialize result has no protocolVersion");
                return;
        }
        if (!mcp_protocol_header_ok(v->valuestring))
                upstream_log(u, LOG_WARNING, "speaks protocol '%s', which we do not know; trying",
                             v->valuestring);
        free(u->protocol_version);
        u->protocol_version = strdup(v->valuestring);
        cJSON_Delete(u->init_result);
        u->init_result = cJSON_Duplicate(result, true);
        caps = json_get(result, "capabilities");
        if (!cJSON_IsObject(caps))
                caps = NULL;
        u->supports[LIST_TOOLS] = caps && json_get(caps, "tools");
        u->supports[LIST_PROMPTS] = caps && json_get(caps, "prompts");
        u->supports[LIST_RESOURCES] = u->supports[LIST_TEMPLATES] =
            caps && json_get(caps, "resources");
        u->can_subscribe = caps && cJSON_IsTrue(json_get(json_get(caps, "resources"), "subscribe"));
        u->has_logging = caps && json_get(caps, "logging");
        u->has_completions = caps && json_get(caps, "completions");

        note = jsonrpc_notification_new("notifications/initialized", NULL);
        if (!note || send_message(u, note) < 0) {
                handshake_failed(u, "cannot send notifications/initialized");
                return;
        }
        for (int k = 0; k < _LIST_KIND_MAX; k++)
                if (refresh_list(u, (enum list_kind)k) < 0) {
                        handshake_failed(u, "cannot request the server's lists");
                        return;
                }
        for (int k = 0; k < _LIST_KIND_MAX; k++)
                if (u->fetching[k])
                        return;
        become_ready(u);
}

static int startup_timeout_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct upstream *u = userdata;
        char why[128];

        u->startup_timer = sd_event_source_disable_unref(u->startup_timer);
        if (u->state != UPSTREAM_STARTING)
                return 0;
        snprintf(why, sizeof(why), "not ready within %.1f s (startupTimeout)",
                 (double)u->cfg.startup_timeout_ms / 1000);
        handshake_failed(u, why);
        return 0;
}

cJSON *upstream_initialize_params(struct upstream *u)
{
        _cleanup_json_ cJSON *params = cJSON_CreateObject();
        cJSON *caps, *info;

        if (!params || !cJSON_AddStringToObject(params, "protocolVersion", MCP_PROTOCOL_LATEST))
                return NULL;
        caps = cJSON_AddObjectToObject(params, "capabilities");
        info = cJSON_AddObjectToObject(params, "clientInfo");
        /* What the hub can route to a client session (capability-gated tools then appear). */
        if (caps) {
                cJSON *el, *roots;
                cJSON_AddObjectToObject(caps, "sampling");
                el = cJSON_AddObjectToObject(caps, "elicitation");
                if (el) {
                        cJSON_AddObjectToObject(el, "form");
                        cJSON_AddObjectToObject(el, "url");
                }
                roots = cJSON_AddObjectToObject(caps, "roots");
                if (roots)
                        cJSON_AddTrueToObject(roots, "listChanged");
        }
        if (!caps || !info || !cJSON_AddStringToObject(info, "name", "mcp-proxy") ||
            !cJSON_AddStringToObject(info, "version", VERSION))
                return NULL;
        return TAKE_PTR(params);
}

void upstream_transport_up(struct upstream *u)
{
        cJSON *params;

        if (u->state != UPSTREAM_STARTING)
                return;
        u->transport_up = true;
        u->transport_lost = false;
        params = upstream_initialize_params(u);
        /* The handshake gets the whole startup budget (a cold npx is slow). */
        if (!params || internal_request(u, "initialize", params, initialize_done, 0, -1) < 0) {
                handshake_failed(u, "cannot send initialize");
                return;
        }
}

int upstream_start(struct upstream *u)
{
        int r;

        if (u->state == UPSTREAM_STARTING || u->state == UPSTREAM_READY ||
            u->state == UPSTREAM_STOPPING)
                return 0;
        u->restart_timer = sd_event_source_disable_unref(u->restart_timer);
        u->state = UPSTREAM_STARTING;
        u->stop_requested = false;
        upstream_log(u, LOG_INFO, "starting (%s)", u->ops->name);
        r = sd_event_add_time_relative(u->hub->event, &u->startup_timer, CLOCK_MONOTONIC,
                                       (uint64_t)u->cfg.startup_timeout_ms * USEC_PER_MSEC,
                                       TIMER_ACCURACY_USEC, startup_timeout_cb, u);
        if (r < 0)
                return r;
        r = u->ops->start(u);
        if (r < 0) {
                char why[256];
                snprintf(why, sizeof(why), "cannot start: %s", strerror(-r));
                upstream_log(u, LOG_ERR, "%s", why);
                set_last_error(u, why);
                u->startup_timer = sd_event_source_disable_unref(u->startup_timer);
                u->state = UPSTREAM_BACKOFF;
                schedule_restart(u);
        }
        return 0;
}

static int restart_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct upstream *u = userdata;

        u->restart_timer = sd_event_source_disable_unref(u->restart_timer);
        if (u->state == UPSTREAM_BACKOFF && !u->hub->shutting_down) {
                u->restarts++;
                (void)upstream_start(u);
        }
        return 0;
}

static void schedule_restart(struct upstream *u)
{
        int max = u->cfg.max_restarts >= 0 ? u->cfg.max_restarts : (int)u->hub->max_streak;
        uint64_t delay;

        if (u->hub->shutting_down || u->stop_requested) {
                u->state = UPSTREAM_STOPPED;
                return;
        }
        u->streak++;
        if ((int)u->streak >= max) {
                u->state = UPSTREAM_FAILED;
                upstream_log(u, LOG_ERR,
                             "failed %u times in a row, giving up until a reload or restart",
                             u->streak);
                return;
        }
        delay = u->delay_usec ? u->delay_usec : u->hub->restart_delay_usec;
        u->state = UPSTREAM_BACKOFF;
        upstream_log(u, LOG_NOTICE, "restarting in %.1f s (failure %u of %d)",
                     (double)delay / USEC_PER_SEC, u->streak, max);
        if (sd_event_add_time_relative(u->hub->event, &u->restart_timer, CLOCK_MONOTONIC, delay,
                                       TIMER_ACCURACY_USEC, restart_cb, u) < 0)
                u->state = UPSTREAM_FAILED;
        u->delay_usec = MIN(delay * 2, (uint64_t)RESTART_DELAY_MS_MAX * USEC_PER_MSEC);
}

void upstream_transport_down(struct upstream *u, const char *reason)
{
        char msg[512];
        bool was_up =
            u->transport_up || u->state == UPSTREAM_STARTING || u->state == UPSTREAM_READY;

        u->transport_up = false;
        u->transport_lost = true;
        if (u->state == UPSTREAM_STOPPING || u->state == UPSTREAM_STOPPED) {
                fail_all_pending(u, MCP_ERROR_CONNECTION_CLOSED, "Upstream is shutting down");
                return;
        }
        if (!was_up)
                return;
        upstream_log(u, LOG_ERR, "%s", reason);
        set_last_error(u, reason);
        snprintf(msg, sizeof(msg), "Upstream '%s' %s", u->name, reason);
        u->startup_timer = sd_event_source_disable_unref(u->startup_timer);
        u->healthy_timer = sd_event_source_disable_unref(u->healthy_timer);
        for (int k = 0; k < _LIST_KIND_MAX; k++) {
                cJSON_Delete(u->fetching[k]);
                u->fetching[k] = NULL;
        }
        if (u->state == UPSTREAM_READY || u->state == UPSTREAM_STARTING)
                u->state = UPSTREAM_BACKOFF;
        fail_all_pending(u, MCP_ERROR_CONNECTION_CLOSED, msg);
        hub_upstream_catalogue_changed(u->hub, u);
        /* Make sure the rest is gone (process group killed); stopped() follows. */
        u->ops->stop(u);
}

void upstream_transport_stopped(struct upstream *u)
{
        u->transport_up = false;
        fail_all_pending(u, MCP_ERROR_CONNECTION_CLOSED, "Upstream stopped");
        if (u->state == UPSTREAM_STOPPING || u->stop_requested || u->hub->shutting_down) {
                u->state = UPSTREAM_STOPPED;
                upstream_log(u, LOG_INFO, "stopped");
                hub_upstream_stopped(u->hub, u);
                return;
        }
        if (u->state == UPSTREAM_BACKOFF || u->state == UPSTREAM_STARTING ||
            u->state == UPSTREAM_READY)
                schedule_restart(u);
}

void upstream_stop(struct upstream *u)
{
        u->stop_requested = true;
        u->restart_timer = sd_event_source_disable_unref(u->restart_timer);
        u->startup_timer = sd_event_source_disable_unref(u->startup_timer);
        u->healthy_timer = sd_event_source_disable_unref(u->healthy_timer);
        if (u->state == UPSTREAM_STOPPED || u->state == UPSTREAM_FAILED ||
            (u->state == UPSTREAM_BACKOFF && !u->transport)) {
                u->state = UPSTREAM_STOPPED;
                hub_upstream_stopped(u->hub, u);
                return;
        }
        u->state = UPSTREAM_STOPPING;
        u->ops->stop(u);
}

int upstream_restart(struct upstream *u)
{
        u->streak = 0;
        u->delay_usec = u->hub->restart_delay_usec;
        if (u->state == UPSTREAM_FAILED || u->state == UPSTREAM_STOPPED)
                u->state = UPSTREAM_BACKOFF;
        if (u->state == UPSTREAM_BACKOFF && !u->transport)
                return upstream_start(u);
        return 0;
}

/* ---------------------------------------------------------------- messages */

static void handle_response(struct upstream *u, cJSON *msg)
{
        const cJSON *id = json_get(msg, "id");
        struct pending *p;

        if (!cJSON_IsNumber(id)) {
                upstream_log(u, LOG_WARNING, "response with an id we never sent, ignoring");
                return;
        }
        p = pending_take(u, (int64_t)id->valuedouble);
        if (!p) {
                upstream_log(u, LOG_DEBUG, "late response to %.0f, ignoring", id->valuedouble);
                return;
        }
        if (p->kind == PENDING_INTERNAL) {
                if (p->done)
                        p->done(u, p, msg);
        } else {
                /* Put the client's own id back; everything else passes untouched
                 * (but URIs, renamed for the client when there are several upstreams). */
                cJSON *cid = cJSON_Duplicate(p->client_id, true);
                if (cid && cJSON_ReplaceItemInObjectCaseSensitive(msg, "id", cid)) {
                        hub_result_for_client(u->hub, u, p->method, msg);
                        (void)hub_deliver(u->hub, &p->target, cJSON_Duplicate(msg, true), true);
                } else
                        cJSON_Delete(cid);
        }
        pending_free(p);
        queue_dispatch(u);
}

static void handle_server_request(struct upstream *u, cJSON *msg)
{
        const char *method = json_get_string(msg, "method");
        const cJSON *id = json_get(msg, "id");
        _cleanup_json_ cJSON *answer = NULL;

        if (strcmp(method, "ping") == 0) {
                answer = jsonrpc_result_new(id, cJSON_CreateObject());
                if (answer)
                        (void)send_message(u, answer);
                return;
        }
        /* Everything else is for a client: the hub finds which one. From now on the
         * requests of different sessions take turns here. */
        if (!u->asks_clients) {
                upstream_log(u, LOG_INFO,
                             "asks clients (%s): requests of different sessions "
                             "take turns from now on",
                             method);
                u->asks_clients = true;
        }
        hub_upstream_request(u->hub, u, cJSON_Duplicate(msg, true));
}

/* notifications/progress: our token is the upstream request id; the client gets its own
 * token back, on the stream of the request that asked for it. */
static void forward_progress(struct upstream *u, cJSON *msg)
{
        cJSON *params = json_get(msg, "params");
        const cJSON *tok = params ? json_get(params, "progressToken") : NULL;
        struct pending *p;
        cJSON *out;

        if (!cJSON_IsNumber(tok)) {
                upstream_log(u, LOG_DEBUG, "progress for a token we did not issue, ignoring");
                return;
        }
        p = hmap_get(&u->pending, (uint64_t)(int64_t)tok->valuedouble);
        if (!p || p->kind != PENDING_CLIENT || !p->progress_token) {
                upstream_log(u, LOG_DEBUG, "progress for a finished request, ignoring");
                return;
        }
        if (!json_set(params, "progressToken", cJSON_Duplicate(p->progress_token, true)))
                return;
        /* Progress shows the request is alive: restart its timeout, within the hard maximum. */
        if (p->timer) {
                uint64_t now = now_usec();
                uint64_t hard = p->started_usec + (uint64_t)u->cfg.max_request_timeout_ms * 1000;
                uint64_t next = MIN(now + p->timeout_usec, hard);
                (void)sd_event_source_set_time(p->timer, next);
        }
        out = cJSON_Duplicate(msg, true);
        if (out)
                (void)hub_deliver(u->hub, &p->target, out, false);
}

static void handle_notification(struct upstream *u, cJSON *msg)
{
        const char *method = json_get_string(msg, "method");

        if (strcmp(method, "notifications/progress") == 0) {
                forward_progress(u, msg);
        } else if (strcmp(method, list_info[LIST_TOOLS].changed) == 0) {
                upstream_log(u, LOG_INFO, "tool list changed, refreshing");
                (void)refresh_list(u, LIST_TOOLS);
        } else if (strcmp(method, list_info[LIST_PROMPTS].changed) == 0) {
                upstream_log(u, LOG_INFO, "prompt list changed, refreshing");
                (void)refresh_list(u, LIST_PROMPTS);
        } else if (strcmp(method, list_info[LIST_RESOURCES].changed) == 0) {
                upstream_log(u, LOG_INFO, "resource list changed, refreshing");
                (void)refresh_list(u, LIST_RESOURCES);
                (void)refresh_list(u, LIST_TEMPLATES);
        } else
                hub_upstream_notification(u->hub, u, cJSON_Duplicate(msg, true));
}

void upstream_transport_message(struct upstream *u, cJSON *msg)
{
        _cleanup_json_ cJSON *m = msg;

        switch (jsonrpc_classify(m)) {
        case JSONRPC_RESPONSE:
                handle_response(u, m);
                break;
        case JSONRPC_REQUEST:
                handle_server_request(u, m);
                break;
        case JSONRPC_NOTIFICATION:
                handle_notification(u, m);
                break;
        default:
                upstream_log(u, LOG_WARNING, "sent something that is not JSON-RPC 2.0, ignoring");
                break;
        }
}

/* ---------------------------------------------------------------- client calls */

/* Would sending a request of this session now put two sessions in flight here? */
static bool other_session_in_flight(struct upstream *u, const char *session)
{
        size_t i = 0;
        void *v;

        while (hmap_next(&u->pending, &i, NULL, &v)) {
                const struct pending *p = v;
                if (p->kind == PENDING_CLIENT && strcmp(p->target.session, session) != 0)
                        return true;
        }
        return false;
}

/* Send a client request now: its progress token becomes ours (the upstream request id,
 * unique on this upstream). */
static int send_client_request(struct upstream *u, struct pending *p, cJSON *msg)
{
        cJSON *params = json_get(msg, "params");
        cJSON *meta = cJSON_IsObject(params) ? json_get(params, "_meta") : NULL;
        cJSON *tok = cJSON_IsObject(meta) ? json_get(meta, "progressToken") : NULL;

        if (tok && (cJSON_IsString(tok) || cJSON_IsNumber(tok))) {
                if (!p->progress_token && !(p->progress_token = cJSON_Duplicate(tok, true)))
                        return -ENOMEM;
                /* pending_send assigns next_id + 1 */
                if (!json_set(meta, "progressToken", cJSON_CreateNumber((double)(u->next_id + 1))))
                        return -ENOMEM;
        }
        return pending_send(u, p, msg, request_timeout_usec(u));
}

static void queue_remove(struct upstream *u, struct pending *p)
{
        struct pending **pp;

        for (pp = &u->queue_head; *pp; pp = &(*pp)->queue_next)
                if (*pp == p) {
                        *pp = p->queue_next;
                        u->queue_len--;
                        break;
                }
        u->queue_tail = NULL;
        for (struct pending *q = u->queue_head; q; q = q->queue_next)
                u->queue_tail = q;
        p->queue_next = NULL;
}

/* Send the waiting requests whose turn it is (first come, first served). */
static void queue_dispatch(struct upstream *u)
{
        while (u->queue_head && u->state == UPSTREAM_READY &&
               !other_session_in_flight(u, u->queue_head->target.session)) {
                struct pending *p = u->queue_head;
                _cleanup_json_ cJSON *msg = TAKE_PTR(p->queued_msg);
                int r;

                u->queue_head = p->queue_next;
                if (!u->queue_head)
                        u->queue_tail = NULL;
                u->queue_len--;
                p->queue_next = NULL;
                r = send_client_request(u, p, msg);
                if (r < 0) {
                        char err[256];
                        snprintf(err, sizeof(err), "Upstream '%s' is not available (%s)", u->name,
                                 strerror(-r));
                        pending_fail(u, p, MCP_ERROR_CONNECTION_CLOSED, err);
                        pending_free(p);
                }
        }
}

int upstream_call(struct upstream *u, cJSON *msg, const cJSON *client_id, const struct target *t,
                  const char *method)
{
        struct pending *p;
        int r;

        if (u->state != UPSTREAM_READY)
                return -EAGAIN;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->kind = PENDING_CLIENT;
        p->upstream = u;
        p->target = *t;
        p->client_id = cJSON_Duplicate(client_id, true);
        p->method = strdup(method);
        if (!p->client_id || !p->method) {
                pending_free(p);
                return -ENOMEM;
        }
        if (u->asks_clients && (u->queue_head || other_session_in_flight(u, t->session))) {
                if (u->queue_len >= UPSTREAM_QUEUE_MAX) {
                        pending_free(p);
                        return -ENOBUFS;
                }
                /* Wait for the other session's requests here to finish; the wait counts
                 * against the request's timeout. */
                p->queued_msg = cJSON_Duplicate(msg, true);
                p->started_usec = now_usec();
                p->timeout_usec = request_timeout_usec(u);
                if (!p->queued_msg ||
                    sd_event_add_time_relative(u->hub->event, &p->timer, CLOCK_MONOTONIC,
                                               p->timeout_usec, TIMER_ACCURACY_USEC,
                                               pending_timeout_cb, p) < 0) {
                        pending_free(p);
                        return -ENOMEM;
                }
                if (u->queue_tail)
                        u->queue_tail->queue_next = p;
                else
                        u->queue_head = p;
                u->queue_tail = p;
                u->queue_len++;
                upstream_log(u, LOG_DEBUG, "%s waits for another session's requests (%zu waiting)",
                             method, u->queue_len);
                return 0;
        }
        r = send_client_request(u, p, msg);
        if (r < 0)
                pending_free(p);
        return r;
}

int upstream_notify(struct upstream *u, cJSON *msg)
{
        _cleanup_json_ cJSON *m = msg;
        return send_message(u, m);
}

int upstream_request_internal(struct upstream *u, const char *method, cJSON *params)
{
        if (!u->transport_up) {
                cJSON_Delete(params);
                return -ENOTCONN;
        }
        return internal_request(u, method, params, NULL, request_timeout_usec(u), -1);
}

static bool json_id_equal(const cJSON *a, const cJSON *b)
{
        if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
                return a->valuedouble == b->valuedouble;
        if (cJSON_IsString(a) && cJSON_IsString(b))
                return strcmp(a->valuestring, b->valuestring) == 0;
        return false;
}

int upstream_cancel(struct upstream *u, const char *session, const cJSON *client_id,
                    const char *reason)
{
        size_t i = 0;
        void *v;

        for (struct pending *q = u->queue_head; q; q = q->queue_next)
                if (strcmp(q->target.session, session) == 0 &&
                    json_id_equal(q->client_id, client_id)) {
                        /* Never sent: nothing to tell the server. */
                        queue_remove(u, q);
                        (void)hub_deliver_end(u->hub, &q->target);
                        pending_free(q);
                        return 1;
                }

        while (hmap_next(&u->pending, &i, NULL, &v)) {
                struct pending *p = v;
                _cleanup_json_ cJSON *note = NULL;
                cJSON *params;

                if (p->kind != PENDING_CLIENT || strcmp(p->target.session, session) != 0 ||
                    !json_id_equal(p->client_id, client_id))
                        continue;
                p = pending_take(u, p->upstream_id);
                params = cJSON_CreateObject();
                if (params) {
                        cJSON_AddNumberToObject(params, "requestId", (double)p->upstream_id);
                        if (reason)
                                cJSON_AddStringToObject(params, "reason", reason);
                        note = jsonrpc_notification_new("notifications/cancelled", params);
                        if (note)
                                (void)send_message(u, note);
                }
                upstream_log(u, LOG_INFO, "request %" PRId64 " (%s) cancelled by the client",
                             p->upstream_id, p->method);
                /* No answer is owed for a cancelled request: end the exchange without one. */
                (void)hub_deliver_end(u->hub, &p->target);
                pending_free(p);
                queue_dispatch(u);
                return 1;
        }
        return 0;
}

const struct pending *upstream_latest_client_request(
    struct upstream *u, bool (*accept)(const struct pending *p, void *userdata), void *userdata)
{
        const struct pending *best = NULL;
        size_t i = 0;
        void *v;

        while (hmap_next(&u->pending, &i, NULL, &v)) {
                const struct pending *p = v;
                if (p->kind != PENDING_CLIENT || (accept && !accept(p, userdata)))
                        continue;
                if (!best || p->started_usec > best->started_usec ||
                    (p->started_usec == best->started_usec && p->upstream_id > best->upstream_id))
                        best = p;
        }
        return best;
}

/* ---------------------------------------------------------------- construction */

static int copy_strv(char **src, char ***ret)
{
        size_t n = 0;
        char **v;

        *ret = NULL;
        if (!src)
                return 0;
        while (src[n])
                n++;
        v = calloc(n + 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!(v[i] = strdup(src[i]))) {
                        for (size_t j = 0; j < i; j++)
                                free(v[j]);
                        free(v);
                        return -ENOMEM;
                }
        *ret = v;
        return 0;
}

static void free_strv(char **v)
{
        if (!v)
                return;
        for (size_t i = 0; v[i]; i++)
                free(v[i]);
        free(v);
}

static char *strdup_or_null(const char *s, bool *oom)
{
        char *d;
        if (!s)
                return NULL;
        d = strdup(s);
        if (!d)
                *oom = true;
        return d;
}

const struct upstream_ops *upstream_ops_for(enum upstream_transport t)
{
        switch (t) {
        case TRANSPORT_STDIO:
                return &upstream_stdio_ops;
        case TRANSPORT_HTTP:
        case TRANSPORT_AUTO:
                return &upstream_http_ops;
        case TRANSPORT_SSE:
                return &upstream_sse_ops;
        default:
                return NULL;
        }
}

struct upstream *upstream_new(struct hub *hub, const struct server_config *cfg)
{
        struct upstream *u = calloc(1, sizeof(*u));
        bool oom = false;

        if (!u)
                return NULL;
        u->hub = hub;
        u->cfg = *cfg;
        u->cfg.name = strdup_or_null(cfg->name, &oom);
        u->cfg.command = strdup_or_null(cfg->command, &oom);
        u->cfg.cwd = strdup_or_null(cfg->cwd, &oom);
        u->cfg.url = strdup_or_null(cfg->url, &oom);
        u->cfg.args = u->cfg.env = u->cfg.headers = NULL;
        if (oom || copy_strv(cfg->args, &u->cfg.args) < 0 || copy_strv(cfg->env, &u->cfg.env) < 0 ||
            copy_strv(cfg->headers, &u->cfg.headers) < 0 || !u->cfg.name)
                return upstream_free(u);
        u->name = u->cfg.name;
        u->delay_usec = hub->restart_delay_usec;
        u->ops = upstream_ops_for(cfg->transport);
        u->state = UPSTREAM_STOPPED;
        u->log_level = -1;
        return u;
}

struct upstream *upstream_free(struct upstream *u)
{
        if (!u)
                return NULL;
        fail_all_pending(u, MCP_ERROR_CONNECTION_CLOSED, "Upstream removed");
        if (u->ops && u->transport)
                u->ops->free(u);
        sd_event_source_disable_unref(u->restart_timer);
        sd_event_source_disable_unref(u->startup_timer);
        sd_event_source_disable_unref(u->healthy_timer);
        hmap_done(&u->pending);
        cJSON_Delete(u->init_result);
        for (int k = 0; k < _LIST_KIND_MAX; k++) {
                cJSON_Delete(u->lists[k]);
                cJSON_Delete(u->fetching[k]);
        }
        free(u->protocol_version);
        free(u->last_error);
        free(u->cfg.name);
        free(u->cfg.command);
        free(u->cfg.cwd);
        free(u->cfg.url);
        free_strv(u->cfg.args);
        free_strv(u->cfg.env);
        free_strv(u->cfg.headers);
        free(u);
        return NULL;
}

int upstream_describe(struct upstream *u, cJSON *arr)
{
        cJSON *o = cJSON_CreateObject();
        const cJSON *info = u->init_result ? json_get(u->init_result, "serverInfo") : NULL;

        if (!o)
                return -ENOMEM;
        cJSON_AddStringToObject(o, "name", u->name);
        cJSON_AddStringToObject(o, "transport", transport_to_string(u->cfg.transport));
        cJSON_AddStringToObject(o, "state", upstream_state_to_string(u->state));
        cJSON_AddNumberToObject(o, "restarts", u->restarts);
        cJSON_AddNumberToObject(o, "failures_in_a_row", u->streak);
        for (int k = 0; k < _LIST_KIND_MAX; k++)
                cJSON_AddNumberToObject(o, list_info[k].key,
                                        u->lists[k] ? cJSON_GetArraySize(u->lists[k]) : 0);
        cJSON_AddNumberToObject(o, "in_flight", (double)u->pending.n);
        if (u->queue_len)
                cJSON_AddNumberToObject(o, "waiting", (double)u->queue_len);
        if (u->protocol_version)
                cJSON_AddStringToObject(o, "protocol_version", u->protocol_version);
        if (cJSON_IsObject(info))
                cJSON_AddItemToObject(o, "server_info", cJSON_Duplicate(info, true));
        if (u->state == UPSTREAM_READY)
                cJSON_AddNumberToObject(o, "up_seconds",
                                        (double)((now_usec() - u->up_since_usec) / USEC_PER_SEC));
        if (u->last_error)
                cJSON_AddStringToObject(o, "last_error", u->last_error);
        if (u->ops && u->ops->describe && u->transport)
                u->ops->describe(u, o);
        cJSON_AddItemToArray(arr, o);
        return 0;
}
