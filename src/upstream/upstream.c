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
#include <time.h>

#include "json.h"
#include "mcp-limits.h"
#include "log.h"
#include "proto/jsonrpc.h"
#include "proto/wire.h"
#include "upstream/upstream.h"

#define USEC_PER_MSEC       1000ULL
#define USEC_PER_SEC        1000000ULL
#define TIMER_ACCURACY_USEC (1 * USEC_PER_MSEC)

/* A request sent upstream, by upstream-side id. */
enum pending_kind {
        PENDING_CALL,     /* on an owner's behalf: ends with cb->done */
        PENDING_INTERNAL, /* the upstream's own (initialize, list pages, setLevel) */
};

struct pending;
typedef void (*pending_done_cb)(struct upstream *u, struct pending *p, cJSON *msg);

struct pending {
        struct turn turn; /* party, and the link while waiting (first: see turn_pending) */
        int64_t upstream_id;
        enum pending_kind kind;
        char *method; /* for logs and errors */
        /* calls */
        const struct upstream_call_cb *cb;
        void *cb_userdata;
        cJSON *progress_token; /* the caller's _meta.progressToken, if it sent one */
        bool counted;          /* turns_begin() done */
        /* internal requests */
        pending_done_cb done;
        int list_kind; /* for list fetches */
        sd_event_source *timer;
        cJSON *queued_msg; /* waiting (session starting, or its turn), not sent yet */
        uint64_t started_usec;
        uint64_t timeout_usec;
        struct upstream *upstream;
};

static struct pending *turn_pending(struct turn *t)
{
        return (struct pending *)t;
}

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
        (void)log_internal(level, 0, fields, "upstream '%s': %s", u->label, msg);
}

void upstream_log_stderr(struct upstream *u, const char *line, size_t len)
{
        char fields[128];

        if (!upstream_log_enabled(u, LOG_INFO))
                return;
        snprintf(fields, sizeof(fields), "MCP_UPSTREAM=%s", u->name);
        (void)log_internal(LOG_INFO, 0, fields, "%s: %.*s", u->label, (int)len, line);
}

static void set_last_error(struct upstream *u, const char *msg)
{
        free(u->last_error);
        u->last_error = msg ? strdup(msg) : NULL;
}

static void set_state(struct upstream *u, enum upstream_state st)
{
        enum upstream_state old = u->state;

        u->state = st;
        if (old != st && u->events && u->events->state_changed)
                u->events->state_changed(u, old, u->userdata);
}

static void lists_changed(struct upstream *u)
{
        if (u->events && u->events->lists_changed)
                u->events->lists_changed(u, u->userdata);
}

/* ---------------------------------------------------------------- pending */

static void pending_free(struct pending *p)
{
        if (!p)
                return;
        sd_event_source_disable_unref(p->timer);
        cJSON_Delete(p->queued_msg);
        cJSON_Delete(p->progress_token);
        free(p->method);
        free(p);
}

/* Takes a sent request out of the table; keep_turn: it stays counted in its party's turn
 * (see pending_linger), else it leaves it. */
static struct pending *pending_take(struct upstream *u, int64_t id, bool keep_turn)
{
        struct pending *p = hmap_remove(&u->pending, (uint64_t)id);

        if (p && p->counted && !keep_turn) {
                turns_end(&u->turns, p->turn.party);
                p->counted = false;
        }
        return p;
}

static void queue_dispatch(struct upstream *u);

static int linger_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct pending *p = userdata;
        struct upstream *u = p->upstream;

        for (struct turn **w = &u->lingering; *w; w = &(*w)->next)
                if (*w == &p->turn) {
                        *w = p->turn.next;
                        break;
                }
        turns_end(&u->turns, p->turn.party);
        pending_free(p);
        queue_dispatch(u);
        return 0;
}

/*
 * A request its caller gave up on (cancelled, timed out) that the server may still be
 * working on: while requests take turns, its party keeps the turn a little longer, so
 * that what the server still says about it is not taken for the next party's. Takes p.
 */
static void pending_linger(struct upstream *u, struct pending *p)
{
        p->timer = sd_event_source_disable_unref(p->timer);
        if (p->counted && u->turns.enabled && u->turns.head &&
            sd_event_add_time_relative(u->env->event, &p->timer, CLOCK_MONOTONIC,
                                       TURN_LINGER_MS * USEC_PER_MSEC, TIMER_ACCURACY_USEC,
                                       linger_cb, p) >= 0) {
                p->turn.next = u->lingering;
                u->lingering = &p->turn;
                return;
        }
        if (p->counted)
                turns_end(&u->turns, p->turn.party);
        pending_free(p);
}

static void lingering_free_all(struct upstream *u)
{
        while (u->lingering) {
                struct pending *p = turn_pending(u->lingering);
                u->lingering = p->turn.next;
                turns_end(&u->turns, p->turn.party);
                pending_free(p);
        }
}

/* End a request with an error naming this server. */
static void pending_fail(struct upstream *u, struct pending *p, int code, const char *message)
{
        if (p->kind == PENDING_CALL)
                p->cb->done(p->cb_userdata, NULL, code, message);
        else if (p->done)
                p->done(u, p, NULL);
}

static void fail_all_pending(struct upstream *u, int code, const char *message)
{
        size_t i = 0;
        void *v;
        struct hmap m = u->pending;
        struct turn *w;

        /* Those still waiting fail with the rest. */
        while ((w = turns_pop(&u->turns))) {
                struct pending *p = turn_pending(w);
                pending_fail(u, p, code, message);
                pending_free(p);
        }

        lingering_free_all(u);
        /* Detach the table first: callbacks may add new entries. */
        u->pending = (struct hmap){};
        while (hmap_next(&m, &i, NULL, &v)) {
                struct pending *p = v;
                if (p->counted)
                        turns_end(&u->turns, p->turn.party);
                p->counted = false;
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

static void queue_dispatch(struct upstream *u);

static void send_cancelled(struct upstream *u, int64_t id, const char *reason)
{
        _cleanup_json_ cJSON *note = NULL;
        cJSON *params = cJSON_CreateObject();

        if (!params || !cJSON_AddNumberToObject(params, "requestId", (double)id) ||
            (reason && !cJSON_AddStringToObject(params, "reason", reason))) {
                cJSON_Delete(params);
                return;
        }
        note = jsonrpc_notification_new("notifications/cancelled", params);
        if (note)
                (void)send_message(u, note);
}

static int pending_timeout_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct pending *p = userdata;
        struct upstream *u = p->upstream;
        char msg[256];

        if (p->queued_msg) {
                (void)turns_remove(&u->turns, &p->turn);
                snprintf(msg, sizeof(msg),
                         "Request to upstream '%s' timed out after %.1f s waiting %s", u->name,
                         (double)p->timeout_usec / USEC_PER_SEC,
                         u->state == UPSTREAM_READY ? "for its turn" : "for the server to start");
                pending_fail(u, p, MCP_ERROR_REQUEST_TIMEOUT, msg);
                pending_free(p);
                return 0;
        }
        p = pending_take(u, p->upstream_id, true);
        if (!p)
                return 0;
        upstream_log(u, LOG_WARNING, "request %" PRId64 " (%s) timed out after %.1f s, cancelling",
                     p->upstream_id, p->method ? p->method : "?",
                     (double)p->timeout_usec / USEC_PER_SEC);
        /* Tell the server to stop working on it (not for initialize). */
        if (p->method && strcmp(p->method, "initialize") != 0)
                send_cancelled(u, p->upstream_id, "timed out in mcp-proxy");
        snprintf(msg, sizeof(msg), "Request to upstream '%s' timed out after %.1f s", u->name,
                 (double)p->timeout_usec / USEC_PER_SEC);
        pending_fail(u, p, MCP_ERROR_REQUEST_TIMEOUT, msg);
        if (p->kind == PENDING_CALL)
                pending_linger(u, p);
        else
                pending_free(p);
        queue_dispatch(u);
        return 0;
}

static int pending_arm_timer(struct upstream *u, struct pending *p)
{
        if (p->timeout_usec == 0 || p->timer)
                return 0;
        return sd_event_add_time(u->env->event, &p->timer, CLOCK_MONOTONIC,
                                 p->started_usec + p->timeout_usec, TIMER_ACCURACY_USEC,
                                 pending_timeout_cb, p);
}

/* Registers p under its id, sets msg's id and the timeout, sends msg. */
static int pending_send(struct upstream *u, struct pending *p, cJSON *msg)
{
        int r;

        if (!json_set(msg, "id", cJSON_CreateNumber((double)p->upstream_id)))
                return -ENOMEM;
        r = hmap_put(&u->pending, (uint64_t)p->upstream_id, p);
        if (r < 0)
                return r;
        r = pending_arm_timer(u, p);
        if (r >= 0)
                r = send_message(u, msg);
        if (r < 0) {
                hmap_remove(&u->pending, (uint64_t)p->upstream_id);
                return r;
        }
        u->last_used_usec = now_usec();
        if (p->kind == PENDING_CALL) {
                if (turns_begin(&u->turns, p->turn.party) >= 0)
                        p->counted = true;
        }
        return 0;
}

static struct pending *pending_new(struct upstream *u, enum pending_kind kind, const char *method,
                                   uint64_t timeout_usec)
{
        struct pending *p = calloc(1, sizeof(*p));

        if (!p)
                return NULL;
        p->kind = kind;
        p->upstream = u;
        p->upstream_id = ++u->next_id;
        p->started_usec = now_usec();
        p->timeout_usec = timeout_usec;
        p->method = strdup(method);
        if (!p->method) {
                free(p);
                return NULL;
        }
        return p;
}

static int internal_request(struct upstream *u, const char *method, cJSON *params,
                            pending_done_cb done, uint64_t timeout_usec, int list_kind)
{
        _cleanup_json_ cJSON *msg = jsonrpc_request_new(0, method, params);
        struct pending *p;
        int r;

        if (!msg)
                return -ENOMEM;
        p = pending_new(u, PENDING_INTERNAL, method, timeout_usec);
        if (!p)
                return -ENOMEM;
        p->done = done;
        p->list_kind = list_kind;
        r = pending_send(u, p, msg);
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
                lists_changed(u);
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

        if (!u->supports[k] || !u->fetch_lists)
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
                u->delay_usec = u->env->restart_delay_usec;
        }
        return 0;
}

static void become_ready(struct upstream *u)
{
        u->startup_timer = sd_event_source_disable_unref(u->startup_timer);
        u->up_since_usec = u->last_used_usec = now_usec();
        set_last_error(u, NULL);
        if (u->fetch_lists)
                upstream_log(
                    u, LOG_NOTICE, "ready (%s, protocol %s, %d tools, %d prompts, %d resources)",
                    u->ops->name, u->protocol_version ? u->protocol_version : "?",
                    u->lists[LIST_TOOLS] ? cJSON_GetArraySize(u->lists[LIST_TOOLS]) : 0,
                    u->lists[LIST_PROMPTS] ? cJSON_GetArraySize(u->lists[LIST_PROMPTS]) : 0,
                    u->lists[LIST_RESOURCES] ? cJSON_GetArraySize(u->lists[LIST_RESOURCES]) : 0);
        else
                upstream_log(u, LOG_NOTICE, "ready (%s, protocol %s)", u->ops->name,
                             u->protocol_version ? u->protocol_version : "?");
        u->healthy_timer = sd_event_source_disable_unref(u->healthy_timer);
        (void)sd_event_add_time_relative(u->env->event, &u->healthy_timer, CLOCK_MONOTONIC,
                                         RESTART_HEALTHY_MS * USEC_PER_MSEC, TIMER_ACCURACY_USEC,
                                         healthy_cb, u);
        set_state(u, UPSTREAM_READY);
        if (u->state != UPSTREAM_READY)
                return;
        if (u->fetch_lists)
                lists_changed(u);
        /* Those that waited for the session go now. */
        queue_dispatch(u);
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
        set_state(u, UPSTREAM_BACKOFF);
        u->startup_timer = sd_event_source_disable_unref(u->startup_timer);
        {
                char msg[600];
                snprintf(msg, sizeof(msg), "Upstream '%s' failed to start: %s", u->name, why);
                fail_all_pending(u, MCP_ERROR_CONNECTION_CLOSED, msg);
        }
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
        caps = u->client_capabilities ? cJSON_Duplicate(u->client_capabilities, true)
                                      : cJSON_CreateObject();
        if (!caps || !cJSON_AddItemToObject(params, "capabilities", caps))
                return NULL;
        info = cJSON_AddObjectToObject(params, "clientInfo");
        if (!info || !cJSON_AddStringToObject(info, "name", "mcp-proxy") ||
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
        u->stop_requested = false;
        set_state(u, UPSTREAM_STARTING);
        upstream_log(u, LOG_INFO, "starting (%s)", u->ops->name);
        r = sd_event_add_time_relative(u->env->event, &u->startup_timer, CLOCK_MONOTONIC,
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
                fail_all_pending(u, MCP_ERROR_CONNECTION_CLOSED, why);
                schedule_restart(u);
        }
        return 0;
}

static int restart_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct upstream *u = userdata;

        u->restart_timer = sd_event_source_disable_unref(u->restart_timer);
        if (u->state == UPSTREAM_BACKOFF && !u->env->shutting_down) {
                u->restarts++;
                (void)upstream_start(u);
        }
        return 0;
}

static void schedule_restart(struct upstream *u)
{
        int max = u->cfg.max_restarts >= 0 ? u->cfg.max_restarts : (int)u->env->max_streak;
        uint64_t delay;

        if (u->env->shutting_down || u->stop_requested) {
                set_state(u, UPSTREAM_STOPPED);
                return;
        }
        u->streak++;
        if ((int)u->streak >= max) {
                set_state(u, UPSTREAM_FAILED);
                upstream_log(u, LOG_ERR,
                             "failed %u times in a row, giving up until a reload or restart",
                             u->streak);
                return;
        }
        delay = u->delay_usec ? u->delay_usec : u->env->restart_delay_usec;
        set_state(u, UPSTREAM_BACKOFF);
        upstream_log(u, LOG_NOTICE, "restarting in %.1f s (failure %u of %d)",
                     (double)delay / USEC_PER_SEC, u->streak, max);
        if (sd_event_add_time_relative(u->env->event, &u->restart_timer, CLOCK_MONOTONIC, delay,
                                       TIMER_ACCURACY_USEC, restart_cb, u) < 0)
                set_state(u, UPSTREAM_FAILED);
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
                set_state(u, UPSTREAM_BACKOFF);
        fail_all_pending(u, MCP_ERROR_CONNECTION_CLOSED, msg);
        if (u->fetch_lists)
                lists_changed(u);
        /* Make sure the rest is gone (process group killed); stopped() follows. */
        u->ops->stop(u);
}

void upstream_transport_stopped(struct upstream *u)
{
        u->transport_up = false;
        fail_all_pending(u, MCP_ERROR_CONNECTION_CLOSED, "Upstream stopped");
        if (u->state == UPSTREAM_STOPPING || u->stop_requested || u->env->shutting_down) {
                upstream_log(u, LOG_INFO, "stopped");
                set_state(u, UPSTREAM_STOPPED);
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
                fail_all_pending(u, MCP_ERROR_CONNECTION_CLOSED, "Upstream stopped");
                set_state(u, UPSTREAM_STOPPED);
                return;
        }
        set_state(u, UPSTREAM_STOPPING);
        u->ops->stop(u);
}

/* ---------------------------------------------------------------- messages */

static void handle_response(struct upstream *u, cJSON *msg)
{
        const cJSON *id = json_get(msg, "id");
        struct pending *p;

        if (!cJSON_IsNumber(id)) {
                upstream_log(u, LOG_WARNING, "response with an id we never sent, ignoring");
                cJSON_Delete(msg);
                return;
        }
        p = pending_take(u, (int64_t)id->valuedouble, false);
        if (!p) {
                upstream_log(u, LOG_DEBUG, "late response to %.0f, ignoring", id->valuedouble);
                cJSON_Delete(msg);
                return;
        }
        u->last_used_usec = now_usec();
        if (p->kind == PENDING_INTERNAL) {
                if (p->done)
                        p->done(u, p, msg);
                cJSON_Delete(msg);
        } else
                p->cb->done(p->cb_userdata, msg, 0, NULL); /* passes untouched, as parsed */
        pending_free(p);
        queue_dispatch(u);
}

static void handle_server_request(struct upstream *u, cJSON *msg)
{
        const char *method = json_get_string(msg, "method");
        _cleanup_json_ cJSON *answer = NULL;

        if (strcmp(method, "ping") == 0) {
                answer = jsonrpc_result_new(json_get(msg, "id"), cJSON_CreateObject());
                if (answer)
                        (void)send_message(u, answer);
                cJSON_Delete(msg);
                return;
        }
        if (u->events && u->events->request) {
                u->events->request(u, msg, u->userdata);
                return;
        }
        answer = jsonrpc_error_new(json_get(msg, "id"), JSONRPC_METHOD_NOT_FOUND,
                                   "Method not supported by mcp-proxy", NULL);
        if (answer)
                (void)send_message(u, answer);
        cJSON_Delete(msg);
}

/* notifications/progress: our token is the upstream request id; the caller gets its own
 * token back. */
static void forward_progress(struct upstream *u, cJSON *msg)
{
        cJSON *params = json_get(msg, "params");
        const cJSON *tok = params ? json_get(params, "progressToken") : NULL;
        struct pending *p;

        if (!cJSON_IsNumber(tok)) {
                upstream_log(u, LOG_DEBUG, "progress for a token we did not issue, ignoring");
                cJSON_Delete(msg);
                return;
        }
        p = hmap_get(&u->pending, (uint64_t)(int64_t)tok->valuedouble);
        if (!p || p->kind != PENDING_CALL || !p->progress_token || !p->cb->progress) {
                upstream_log(u, LOG_DEBUG, "progress for a finished request, ignoring");
                cJSON_Delete(msg);
                return;
        }
        if (!json_set(params, "progressToken", cJSON_Duplicate(p->progress_token, true))) {
                cJSON_Delete(msg);
                return;
        }
        /* Progress shows the request is alive: restart its timeout, within the hard maximum. */
        if (p->timer) {
                uint64_t now = now_usec();
                uint64_t hard = p->started_usec + (uint64_t)u->cfg.max_request_timeout_ms * 1000;
                uint64_t next = MIN(now + p->timeout_usec, hard);
                (void)sd_event_source_set_time(p->timer, next);
        }
        p->cb->progress(p->cb_userdata, msg);
}

static void handle_notification(struct upstream *u, cJSON *msg)
{
        const char *method = json_get_string(msg, "method");
        bool refreshed = true;

        if (strcmp(method, "notifications/progress") == 0) {
                forward_progress(u, msg);
                return;
        }
        if (strcmp(method, list_info[LIST_TOOLS].changed) == 0)
                (void)refresh_list(u, LIST_TOOLS);
        else if (strcmp(method, list_info[LIST_PROMPTS].changed) == 0)
                (void)refresh_list(u, LIST_PROMPTS);
        else if (strcmp(method, list_info[LIST_RESOURCES].changed) == 0) {
                (void)refresh_list(u, LIST_RESOURCES);
                (void)refresh_list(u, LIST_TEMPLATES);
        } else
                refreshed = false;
        if (refreshed) {
                upstream_log(u, u->fetch_lists ? LOG_INFO : LOG_DEBUG, "%s%s", method,
                             u->fetch_lists ? ", refreshing"
                                            : " (lists come from another session)");
                cJSON_Delete(msg);
                return;
        }
        if (u->events && u->events->notification)
                u->events->notification(u, msg, u->userdata);
        else
                cJSON_Delete(msg);
}

void upstream_transport_message(struct upstream *u, cJSON *msg)
{
        switch (jsonrpc_classify(msg)) {
        case JSONRPC_RESPONSE:
                handle_response(u, msg);
                break;
        case JSONRPC_REQUEST:
                handle_server_request(u, msg);
                break;
        case JSONRPC_NOTIFICATION:
                handle_notification(u, msg);
                break;
        default:
                upstream_log(u, LOG_WARNING, "sent something that is not JSON-RPC 2.0, ignoring");
                cJSON_Delete(msg);
                break;
        }
}

/* ---------------------------------------------------------------- calls */

/* Send a call now: its progress token becomes ours (its upstream id, unique here). */
static int send_call(struct upstream *u, struct pending *p, cJSON *msg)
{
        cJSON *params = json_get(msg, "params");
        cJSON *meta = cJSON_IsObject(params) ? json_get(params, "_meta") : NULL;
        cJSON *tok = cJSON_IsObject(meta) ? json_get(meta, "progressToken") : NULL;

        if (tok && (cJSON_IsString(tok) || cJSON_IsNumber(tok))) {
                if (!p->progress_token && !(p->progress_token = cJSON_Duplicate(tok, true)))
                        return -ENOMEM;
                if (!json_set(meta, "progressToken", cJSON_CreateNumber((double)p->upstream_id)))
                        return -ENOMEM;
        }
        return pending_send(u, p, msg);
}

/* Send the waiting requests whose turn it is (first come, first served). */
static void queue_dispatch(struct upstream *u)
{
        struct turn *w;

        while (u->state == UPSTREAM_READY && (w = turns_next(&u->turns))) {
                struct pending *p = turn_pending(w);
                _cleanup_json_ cJSON *msg = TAKE_PTR(p->queued_msg);
                int r = send_call(u, p, msg);

                if (r < 0) {
                        char err[256];
                        snprintf(err, sizeof(err), "Upstream '%s' is not available (%s)", u->name,
                                 strerror(-r));
                        pending_fail(u, p, MCP_ERROR_CONNECTION_CLOSED, err);
                        pending_free(p);
                }
        }
}

int upstream_call(struct upstream *u, cJSON *msg, const char *party,
                  const struct upstream_call_cb *cb, void *userdata, uint64_t *ret_handle)
{
        _cleanup_json_ cJSON *m = msg;
        const char *method = json_get_string(m, "method");
        struct pending *p;
        int r;

        if (u->state != UPSTREAM_READY && u->state != UPSTREAM_STARTING)
                return -EAGAIN;
        p = pending_new(u, PENDING_CALL, method ? method : "?", request_timeout_usec(u));
        if (!p)
                return -ENOMEM;
        p->cb = cb;
        p->cb_userdata = userdata;
        snprintf(p->turn.party, sizeof(p->turn.party), "%s", party ? party : "");
        if (u->state != UPSTREAM_READY || !turns_may_go(&u->turns, p->turn.party)) {
                /* Wait for the session to be ready, or for the other party's requests to
                 * finish; the wait counts against the request's timeout. */
                r = turns_wait(&u->turns, &p->turn);
                if (r >= 0)
                        r = pending_arm_timer(u, p);
                if (r < 0) {
                        (void)turns_remove(&u->turns, &p->turn);
                        pending_free(p);
                        return r;
                }
                p->queued_msg = TAKE_PTR(m);
                if (u->state == UPSTREAM_READY) {
                        u->turns.waits++;
                        upstream_log(u, LOG_DEBUG, "%s waits for its turn (%zu waiting)", p->method,
                                     u->turns.len);
                }
                *ret_handle = (uint64_t)p->upstream_id;
                return 0;
        }
        r = send_call(u, p, m);
        if (r < 0) {
                pending_free(p);
                return r;
        }
        *ret_handle = (uint64_t)p->upstream_id;
        return 0;
}

bool upstream_cancel(struct upstream *u, uint64_t handle, const char *reason)
{
        struct pending *p;

        for (struct turn *w = u->turns.head; w; w = w->next)
                if ((uint64_t)turn_pending(w)->upstream_id == handle) {
                        /* Never sent: nothing to tell the server. */
                        p = turn_pending(w);
                        (void)turns_remove(&u->turns, w);
                        pending_free(p);
                        return true;
                }
        p = hmap_get(&u->pending, handle);
        if (!p || p->kind != PENDING_CALL)
                return false;
        p = pending_take(u, (int64_t)handle, true);
        send_cancelled(u, p->upstream_id, reason);
        upstream_log(u, LOG_INFO, "request %" PRId64 " (%s) cancelled by the client",
                     p->upstream_id, p->method);
        pending_linger(u, p);
        queue_dispatch(u);
        return true;
}

int upstream_send(struct upstream *u, cJSON *msg)
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

void upstream_take_turns(struct upstream *u, const char *why)
{
        if (u->turns.enabled)
                return;
        upstream_log(u, LOG_INFO,
                     "asks clients (%s): requests of different sessions take turns from now on",
                     why);
        u->turns.enabled = true;
}

size_t upstream_in_flight(struct upstream *u)
{
        size_t n = 0, i = 0;
        void *v;

        while (hmap_next(&u->pending, &i, NULL, &v))
                if (((const struct pending *)v)->kind == PENDING_CALL)
                        n++;
        return n;
}

/* ---------------------------------------------------------------- construction */

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

struct upstream *upstream_new(struct upstream_env *env, const struct server_config *cfg,
                              const char *label, cJSON *capabilities, bool fetch_lists,
                              const struct upstream_events *events, void *userdata)
{
        struct upstream *u = calloc(1, sizeof(*u));

        if (!u) {
                cJSON_Delete(capabilities);
                return NULL;
        }
        u->env = env;
        u->events = events;
        u->userdata = userdata;
        u->client_capabilities = capabilities;
        u->fetch_lists = fetch_lists;
        if (server_config_copy(cfg, &u->cfg) < 0)
                return upstream_free(u);
        u->name = u->cfg.name;
        u->label = strdup(label ? label : cfg->name);
        if (!u->label)
                return upstream_free(u);
        u->delay_usec = env->restart_delay_usec;
        u->ops = upstream_ops_for(cfg->transport);
        u->state = UPSTREAM_STOPPED;
        u->log_level = -1;
        turns_init(&u->turns, UPSTREAM_QUEUE_MAX);
        return u;
}

struct upstream *upstream_free(struct upstream *u)
{
        if (!u)
                return NULL;
        u->events = NULL; /* the owner is letting go: no more callbacks but the calls' */
        fail_all_pending(u, MCP_ERROR_CONNECTION_CLOSED, "Upstream removed");
        if (u->ops && u->transport)
                u->ops->free(u);
        sd_event_source_disable_unref(u->restart_timer);
        sd_event_source_disable_unref(u->startup_timer);
        sd_event_source_disable_unref(u->healthy_timer);
        hmap_done(&u->pending);
        turns_done(&u->turns);
        cJSON_Delete(u->init_result);
        cJSON_Delete(u->client_capabilities);
        for (int k = 0; k < _LIST_KIND_MAX; k++) {
                cJSON_Delete(u->lists[k]);
                cJSON_Delete(u->fetching[k]);
        }
        free(u->protocol_version);
        free(u->last_error);
        free(u->label);
        server_config_done(&u->cfg);
        free(u);
        return NULL;
}

cJSON *upstream_describe(struct upstream *u)
{
        cJSON *o = cJSON_CreateObject();
        const cJSON *info = u->init_result ? json_get(u->init_result, "serverInfo") : NULL;

        if (!o)
                return NULL;
        cJSON_AddStringToObject(o, "name", u->name);
        cJSON_AddStringToObject(o, "transport", transport_to_string(u->cfg.transport));
        cJSON_AddStringToObject(o, "state", upstream_state_to_string(u->state));
        cJSON_AddNumberToObject(o, "restarts", u->restarts);
        cJSON_AddNumberToObject(o, "failures_in_a_row", u->streak);
        if (u->fetch_lists)
                for (int k = 0; k < _LIST_KIND_MAX; k++)
                        cJSON_AddNumberToObject(o, list_info[k].key,
                                                u->lists[k] ? cJSON_GetArraySize(u->lists[k]) : 0);
        cJSON_AddNumberToObject(o, "in_flight", (double)upstream_in_flight(u));
        if (u->turns.len)
                cJSON_AddNumberToObject(o, "waiting", (double)u->turns.len);
        if (u->turns.enabled) {
                cJSON_AddTrueToObject(o, "takes_turns");
                cJSON_AddNumberToObject(o, "turn_waits", (double)u->turns.waits);
        }
        cJSON_AddNumberToObject(o, "idle_seconds",
                                (double)((now_usec() - u->last_used_usec) / USEC_PER_SEC));
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
        return o;
}
