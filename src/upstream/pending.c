/* SPDX-License-Identifier: MIT */
/*
 * The requests an upstream session has in flight, by the id it gave them:
 * its own (initialize, list pages, setLevel) and its owner's calls, with
 * their progress tokens remapped, their timeouts, cancellation, the wait
 * for a starting session or for a turn (turns.c), and the short linger of a
 * request given up on while others wait.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "mcp-limits.h"
#include "proto/jsonrpc.h"
#include "upstream/upstream-internal.h"

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
        pending_dispatch(u);
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

void pending_fail_all(struct upstream *u, int code, const char *message)
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

int upstream_send_message(struct upstream *u, const cJSON *msg)
{
        _cleanup_cjson_str_ char *s = NULL;

        if (!u->transport_up)
                return -ENOTCONN;
        s = cJSON_PrintUnformatted(msg);
        if (!s)
                return -ENOMEM;
        return u->ops->send(u, s, strlen(s));
}

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
                (void)upstream_send_message(u, note);
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
        pending_dispatch(u);
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
                r = upstream_send_message(u, msg);
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

int pending_internal_request(struct upstream *u, const char *method, cJSON *params,
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

/* ---------------------------------------------------------------- messages */

void pending_response(struct upstream *u, cJSON *msg)
{
        const cJSON *id = json_get(msg, "id");
        struct pending *p;
        int64_t n;

        if (!json_int64(id, &n)) {
                upstream_log(u, LOG_WARNING, "response with an id we never sent, ignoring");
                cJSON_Delete(msg);
                return;
        }
        p = pending_take(u, n, false);
        if (!p) {
                upstream_log(u, LOG_DEBUG, "late response to %" PRId64 ", ignoring", n);
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
        pending_dispatch(u);
}

/* notifications/progress: our token is the upstream request id; the caller gets its own
 * token back. */
void pending_progress(struct upstream *u, cJSON *msg)
{
        cJSON *params = json_get(msg, "params");
        const cJSON *tok = params ? json_get(params, "progressToken") : NULL;
        struct pending *p;
        int64_t n;

        if (!json_int64(tok, &n)) {
                upstream_log(u, LOG_DEBUG, "progress for a token we did not issue, ignoring");
                cJSON_Delete(msg);
                return;
        }
        p = hmap_get(&u->pending, (uint64_t)n);
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

/* Send a call now: its progress token becomes ours (its upstream id, unique here). */
static int send_call(struct upstream *u, struct pending *p, cJSON *msg)
{
        cJSON *params = json_get(msg, "params");
        cJSON *meta = cJSON_IsObject(params) ? json_get(params, "_meta") : NULL;
        cJSON *tok = cJSON_IsObject(meta) ? json_get(meta, "progressToken") : NULL;

        if (jsonrpc_id_valid(tok)) { /* a string or a number, as an id is */
                if (!p->progress_token && !(p->progress_token = cJSON_Duplicate(tok, true)))
                        return -ENOMEM;
                if (!json_set(meta, "progressToken", cJSON_CreateNumber((double)p->upstream_id)))
                        return -ENOMEM;
        }
        return pending_send(u, p, msg);
}

/* Send the waiting requests whose turn it is (first come, first served). */
void pending_dispatch(struct upstream *u)
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

/* ---------------------------------------------------------------- calls */

int upstream_call(struct upstream *u, cJSON *msg, const char *party,
                  const struct upstream_call_cb *cb, void *userdata, uint64_t *ret_handle)
{
        _cleanup_json_ cJSON *m = msg;
        const char *method = json_get_string(m, "method");
        struct pending *p;
        int r;

        if (u->state != UPSTREAM_READY && u->state != UPSTREAM_STARTING)
                return -EAGAIN;
        p = pending_new(u, PENDING_CALL, method ? method : "?", upstream_request_timeout_usec(u));
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
        pending_dispatch(u);
        return true;
}

void upstream_call_set_progress(struct upstream *u, uint64_t handle, const cJSON *token)
{
        struct pending *p = hmap_get(&u->pending, handle);
        cJSON *dup = token ? cJSON_Duplicate(token, true) : NULL;

        if (!p || p->kind != PENDING_CALL || (token && !dup)) {
                cJSON_Delete(dup);
                return;
        }
        cJSON_Delete(p->progress_token);
        p->progress_token = dup;
}

void upstream_call_set_turn(struct upstream *u, uint64_t handle, bool hold)
{
        struct pending *p = hmap_get(&u->pending, handle);

        if (!p || p->kind != PENDING_CALL || p->counted == hold)
                return;
        if (hold) {
                if (turns_begin(&u->turns, p->turn.party) >= 0)
                        p->counted = true;
                return;
        }
        turns_end(&u->turns, p->turn.party);
        p->counted = false;
        pending_dispatch(u);
}

int upstream_send(struct upstream *u, cJSON *msg)
{
        _cleanup_json_ cJSON *m = msg;
        return upstream_send_message(u, m);
}

int upstream_request_internal(struct upstream *u, const char *method, cJSON *params)
{
        if (!u->transport_up) {
                cJSON_Delete(params);
                return -ENOTCONN;
        }
        return pending_internal_request(u, method, params, NULL, upstream_request_timeout_usec(u),
                                        -1);
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
