/* SPDX-License-Identifier: MIT */
/*
 * The transport-neutral half of an upstream: its lifecycle (start, stop,
 * restart with backoff), the handshake, and where the server's messages go.
 * The requests in flight are pending.c's, the lists lists.c's.
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
#include "upstream/upstream-internal.h"

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

void upstream_lists_changed(struct upstream *u)
{
        if (u->events && u->events->lists_changed)
                u->events->lists_changed(u, u->userdata);
}

/* ---------------------------------------------------------------- lifecycle */

static void schedule_restart(struct upstream *u);

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

void upstream_become_ready(struct upstream *u)
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
                upstream_lists_changed(u);
        /* Those that waited for the session go now. */
        pending_dispatch(u);
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
                pending_fail_all(u, MCP_ERROR_CONNECTION_CLOSED, msg);
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
        if (!mcp_protocol_header_ok(v->valuestring) &&
            strcmp(v->valuestring, MCP_PROTOCOL_MODERN) != 0)
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
        if (!note || upstream_send_message(u, note) < 0) {
                handshake_failed(u, "cannot send notifications/initialized");
                return;
        }
        for (int k = 0; k < _LIST_KIND_MAX; k++)
                if (lists_refresh(u, (enum list_kind)k) < 0) {
                        handshake_failed(u, "cannot request the server's lists");
                        return;
                }
        for (int k = 0; k < _LIST_KIND_MAX; k++)
                if (u->fetching[k])
                        return;
        upstream_become_ready(u);
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
        if (!params ||
            pending_internal_request(u, "initialize", params, initialize_done, 0, -1) < 0) {
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
                pending_fail_all(u, MCP_ERROR_CONNECTION_CLOSED, why);
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
                pending_fail_all(u, MCP_ERROR_CONNECTION_CLOSED, "Upstream is shutting down");
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
        pending_fail_all(u, MCP_ERROR_CONNECTION_CLOSED, msg);
        if (u->fetch_lists)
                upstream_lists_changed(u);
        /* Make sure the rest is gone (process group killed); stopped() follows. */
        u->ops->stop(u);
}

void upstream_transport_stopped(struct upstream *u)
{
        u->transport_up = false;
        pending_fail_all(u, MCP_ERROR_CONNECTION_CLOSED, "Upstream stopped");
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
                pending_fail_all(u, MCP_ERROR_CONNECTION_CLOSED, "Upstream stopped");
                set_state(u, UPSTREAM_STOPPED);
                return;
        }
        set_state(u, UPSTREAM_STOPPING);
        u->ops->stop(u);
}

static void handle_server_request(struct upstream *u, cJSON *msg)
{
        const char *method = json_get_string(msg, "method");
        _cleanup_json_ cJSON *answer = NULL;

        if (strcmp(method, "ping") == 0) {
                answer = jsonrpc_result_new(json_get(msg, "id"), cJSON_CreateObject());
                if (answer)
                        (void)upstream_send_message(u, answer);
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
                (void)upstream_send_message(u, answer);
        cJSON_Delete(msg);
}

static void handle_notification(struct upstream *u, cJSON *msg)
{
        const char *method = json_get_string(msg, "method");
        bool refreshed = true;

        if (strcmp(method, "notifications/progress") == 0) {
                pending_progress(u, msg);
                return;
        }
        if (strcmp(method, list_info[LIST_TOOLS].changed) == 0)
                (void)lists_refresh(u, LIST_TOOLS);
        else if (strcmp(method, list_info[LIST_PROMPTS].changed) == 0)
                (void)lists_refresh(u, LIST_PROMPTS);
        else if (strcmp(method, list_info[LIST_RESOURCES].changed) == 0) {
                (void)lists_refresh(u, LIST_RESOURCES);
                (void)lists_refresh(u, LIST_TEMPLATES);
        } else
                refreshed = false;
        if (refreshed) {
                upstream_log(u, u->fetch_lists ? LOG_INFO : LOG_DEBUG, "%s%s", method,
                             u->fetch_lists ? ", refreshing"
                                            : " (lists come from another session)");
                /* Not the catalogue's, but the owner may tell those this upstream serves. */
                if (!u->fetch_lists && u->events && u->events->notification)
                        u->events->notification(u, msg, u->userdata);
                else
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
        const char *dup = NULL;

        /* A member twice where the hub decides (the id, the method, the result or error, the
         * progress token): cJSON reads the first, the client's parser the last, so a server
         * could answer under an id that is not its own. Not passed on. */
        if (json_find_duplicate_member(msg, &dup) > 0 ||
            json_find_duplicate_member(json_get(msg, "params"), &dup) > 0 ||
            json_find_duplicate_member(json_get(json_get(msg, "params"), "_meta"), &dup) > 0 ||
            json_find_duplicate_member(json_get(msg, "error"), &dup) > 0) {
                upstream_log(u, LOG_WARNING,
                             "sent a message with the member \"%.40s\" twice, dropping it", dup);
                cJSON_Delete(msg);
                return;
        }
        switch (jsonrpc_classify(msg)) {
        case JSONRPC_RESPONSE:
                pending_response(u, msg);
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
        /* maxConcurrency: requests beyond it wait their turn here, then time out (or find
         * the queue full), with an error naming the server. */
        u->turns.max_in_flight = (size_t)u->cfg.max_concurrency;
        return u;
}

struct upstream *upstream_free(struct upstream *u)
{
        if (!u)
                return NULL;
        u->events = NULL; /* the owner is letting go: no more callbacks but the calls' */
        pending_fail_all(u, MCP_ERROR_CONNECTION_CLOSED, "Upstream removed");
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

void upstream_set_paused(struct upstream *u, bool paused)
{
        if (!u || u->paused == paused)
                return;
        u->paused = paused;
        upstream_log(u, LOG_DEBUG,
                     paused ? "a client reads slowly: not reading the server"
                            : "reading the server again");
        if (u->transport && u->ops->pause)
                u->ops->pause(u, paused);
}

size_t upstream_buffered(struct upstream *u)
{
        return u && u->transport && u->ops->buffered ? u->ops->buffered(u) : 0;
}
