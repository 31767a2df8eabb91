/* SPDX-License-Identifier: MIT */
/*
 * Configured servers and their upstream instances. Each server has the
 * hub's own session (the catalogue; with "shared" isolation it serves every
 * client too); with "client" or "session" isolation a client's calls go to
 * an instance of its own, started on first use, stopped when idle
 * ("idleTimeout") or when the last session that may use it ends, at most
 * "maxInstances" at once. The upstream module reports through the events
 * table below; the hub's calls end through call_done().
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/hub.h"
#include "json.h"
#include "log.h"
#include "mcp-limits.h"
#include "proto/jsonrpc.h"
#include "sha256.h"

static void instance_stop(struct instance *i, const char *why);

const char *instance_label(const struct instance *i, char *buf, size_t len)
{
        if (i->hub_own || i->serves_all)
                snprintf(buf, len, "%s", i->srv->name);
        else if (i->session[0])
                snprintf(buf, len, "%s[%s/%.8s]", i->srv->name, i->client, i->session);
        else
                snprintf(buf, len, "%s[%s]", i->srv->name, i->client);
        return buf;
}

struct instance *instance_by_id(struct hub *h, uint64_t id)
{
        return id ? hmap_get(&h->instances, id) : NULL;
}

bool instance_has_session(const struct instance *i, const struct session *s)
{
        if (i->serves_all)
                return true;
        if (i->hub_own || !i->client)
                return false;
        if (i->session[0])
                return strcmp(i->session, s->iso) == 0;
        return strcmp(i->client, s->client) == 0;
}

size_t instance_sessions(struct hub *h, const struct instance *i)
{
        size_t n = 0, k = 0;
        void *v;

        while (hmap_next(&h->sessions, &k, NULL, &v))
                if (instance_has_session(i, v))
                        n++;
        return n;
}

/* ---------------------------------------------------------------- calls */

static void call_free(struct call *c)
{
        struct instance *i = c->inst;

        if (c->prev)
                c->prev->next = c->next;
        else if (i->calls == c)
                i->calls = c->next;
        if (c->next)
                c->next->prev = c->prev;
        i->n_calls--;
        cJSON_Delete(c->client_id);
        free(c->method);
        free(c->client);
        free(c->name);
        free(c);
}

/* The audit record of a call that ends (hub_record(): the log and the metrics). */
static void call_record(struct call *c, enum record_outcome outcome, size_t bytes_out,
                        const char *detail)
{
        struct record r = {
            .client = c->client,
            .session = c->target.session[0] ? c->target.session : NULL,
            .server = c->inst->srv->name,
            .method = c->method,
            .name = c->name,
            .args_hash = c->args_hash[0] ? c->args_hash : NULL,
            .bytes_in = c->bytes_in,
            .bytes_out = bytes_out,
            .duration_usec = now_usec() - c->started_usec,
            .outcome = outcome,
            .detail = detail,
        };

        hub_record(c->inst->srv->hub, &r);
}

/* How an answer from the server ended the call; detail gets an error's code, never its
 * message (which may quote the arguments). */
static enum record_outcome answer_outcome(const cJSON *msg, char *detail, size_t len)
{
        const cJSON *err = json_get(msg, "error"), *result = json_get(msg, "result");

        if (err) {
                const cJSON *code = cJSON_IsObject(err) ? json_get(err, "code") : NULL;
                snprintf(detail, len, "JSON-RPC error %.0f from the server",
                         cJSON_IsNumber(code) ? code->valuedouble : 0);
                return RECORD_ERROR;
        }
        if (cJSON_IsObject(result) && cJSON_IsTrue(json_get(result, "isError")))
                return RECORD_TOOL_ERROR;
        return RECORD_OK;
}

static void call_done(void *userdata, cJSON *msg, int code, const char *message)
{
        struct call *c = userdata;
        struct instance *i = c->inst;
        struct hub *h = i->srv->hub;
        enum record_outcome outcome;
        char detail[128] = "";
        size_t bytes = 0;

        /* Delivering may close the exchange, and with it a modern request's session, whose
         * calls are then cancelled: not this one, being answered. */
        c->answered = true;
        if (msg) {
                outcome = answer_outcome(msg, detail, sizeof(detail));
                /* Put the client's own id back; everything else passes untouched (but URIs,
                 * renamed for the client when there are several servers). */
                if (json_set(msg, "id", cJSON_Duplicate(c->client_id, true))) {
                        hub_result_for_client(h, i->srv, c->method, msg);
                        modern_upstream_answer(h, &c->target, msg);
                        /* A call waiting for its client's input keeps its answer for the
                         * retry. */
                        if (mrtr_hold_answer(h, &c->target, msg))
                                bytes = 0;
                        else
                                (void)hub_deliver_sized(h, &c->target, msg, true, &bytes);
                } else
                        cJSON_Delete(msg);
        } else {
                cJSON *data = cJSON_CreateObject();
                if (data)
                        cJSON_AddStringToObject(data, "server", i->srv->name);
                /* The upstream layer's own errors: a timeout has its code (pending.c). */
                outcome = code == MCP_ERROR_REQUEST_TIMEOUT ? RECORD_TIMEOUT : RECORD_ERROR;
                snprintf(detail, sizeof(detail), "JSON-RPC error %d from mcp-proxy", code);
                msg = jsonrpc_error_new(c->client_id, code, message, data);
                /* A call waiting for its client's input (timed out, its server gone) keeps
                 * this answer for the retry too, or the retry would wait for ever. */
                if (msg && mrtr_hold_answer(h, &c->target, msg))
                        bytes = 0;
                else
                        (void)hub_deliver_sized(h, &c->target, msg, true, &bytes);
        }
        call_record(c, outcome, bytes, detail[0] ? detail : NULL);
        call_free(c);
}

static void call_progress(void *userdata, cJSON *msg)
{
        struct call *c = userdata;
        (void)hub_deliver(c->inst->srv->hub, &c->target, msg, false);
}

static const struct upstream_call_cb call_cb = {
    .done = call_done,
    .progress = call_progress,
};

/* The arguments of a request, as the audit record hashes them: tools/call's and
 * prompts/get's "arguments", completion/complete's "argument". */
static void args_hash(const cJSON *msg, char out[static 2 * SHA256_DIGEST_SIZE + 1])
{
        const cJSON *params = json_get(msg, "params"), *args;
        _cleanup_cjson_str_ char *text = NULL;
        uint8_t digest[SHA256_DIGEST_SIZE];

        out[0] = 0;
        if (!cJSON_IsObject(params))
                return;
        args = json_get(params, "arguments");
        if (!args)
                args = json_get(params, "argument");
        if (!args || !(text = cJSON_PrintUnformatted(args)))
                return;
        sha256(text, strlen(text), digest);
        hex_encode(digest, sizeof(digest), out);
}

int instance_call(struct instance *inst, struct session *s, cJSON *msg, const cJSON *client_id,
                  const struct target *t, const char *method, const char *name, size_t bytes_in)
{
        struct call *c = calloc(1, sizeof(*c));
        int r;

        if (!c) {
                cJSON_Delete(msg);
                return -ENOMEM;
        }
        c->inst = inst;
        c->target = *t;
        c->client_id = cJSON_Duplicate(client_id, true);
        c->method = strdup(method);
        c->client = strdup(s->client);
        c->name = name ? strdup(name) : NULL;
        c->bytes_in = bytes_in;
        c->started_usec = now_usec();
        if (!c->client_id || !c->method || !c->client || (name && !c->name)) {
                cJSON_Delete(c->client_id);
                free(c->method);
                free(c->client);
                free(c->name);
                free(c);
                cJSON_Delete(msg);
                return -ENOMEM;
        }
        args_hash(msg, c->args_hash);
        /* Linked first: a failure inside upstream_call() never calls back. */
        c->next = inst->calls;
        if (inst->calls)
                inst->calls->prev = c;
        inst->calls = c;
        inst->n_calls++;
        r = upstream_call(inst->u, msg, s->id, &call_cb, c, &c->handle);
        if (r < 0) {
                char detail[128];
                /* The caller answers the client; the record says it never left. */
                snprintf(detail, sizeof(detail), "not sent: %s", strerror(-r));
                call_record(c, RECORD_ERROR, 0, detail);
                call_free(c);
        }
        return r;
}

static bool cancel_in(struct instance *i, struct session *s, const cJSON *client_id,
                      const char *reason)
{
        for (struct call *c = i->calls; c; c = c->next) {
                struct target t;
                if (strcmp(c->target.session, s->id) != 0 ||
                    !jsonrpc_id_equal(c->client_id, client_id))
                        continue;
                t = c->target;
                (void)upstream_cancel(i->u, c->handle, reason);
                call_record(c, RECORD_CANCELLED, 0, NULL);
                call_free(c);
                /* No answer is owed for a cancelled request: end the exchange without one. */
                (void)hub_deliver_end(i->srv->hub, &t);
                return true;
        }
        return false;
}

/* Calls fn on every call of session s, wherever it is in flight (fn may free the call). */
static void session_calls_each(struct hub *h, struct session *s,
                               void (*fn)(struct instance *i, struct call *c, void *userdata),
                               void *userdata)
{
        for (size_t k = 0; k < h->n_servers; k++) {
                struct server *srv = h->servers[k];
                for (struct instance *i = srv->hub_inst; i;
                     i = i == srv->hub_inst ? srv->instances : i->next) {
                        struct call *c, *next;
                        if (i != srv->hub_inst && !instance_has_session(i, s))
                                continue;
                        for (c = i->calls; c; c = next) {
                                next = c->next;
                                if (strcmp(c->target.session, s->id) == 0)
                                        fn(i, c, userdata);
                        }
                }
        }
}

static void cancel_one(struct instance *i, struct call *c, void *userdata)
{
        if (c->answered)
                return; /* being answered (call_done()) */
        (void)upstream_cancel(i->u, c->handle, userdata);
        call_record(c, RECORD_CANCELLED, 0, NULL);
        call_free(c);
}

void hub_cancel_session_calls(struct hub *h, struct session *s, const char *reason)
{
        session_calls_each(h, s, cancel_one, (void *)(uintptr_t)reason);
}

struct retarget {
        uint64_t conn_id;
        const cJSON *client_id;
};

static void retarget_one(struct instance *i, struct call *c, void *userdata)
{
        const struct retarget *r = userdata;
        cJSON *dup;

        c->target.conn_id = r->conn_id;
        c->target.stream = 0;
        if (r->client_id && (dup = cJSON_Duplicate(r->client_id, true))) {
                cJSON_Delete(c->client_id);
                c->client_id = dup;
        }
}

void hub_retarget_session_calls(struct hub *h, struct session *s, uint64_t conn_id,
                                const cJSON *client_id)
{
        session_calls_each(h, s, retarget_one, &(struct retarget){conn_id, client_id});
}

static void turn_one(struct instance *i, struct call *c, void *userdata)
{
        /* On an instance several clients share, the turn is kept: what its server asks next
         * could otherwise be taken for another client's. */
        if (!i->serves_all)
                upstream_call_set_turn(i->u, c->handle, *(const bool *)userdata);
}

void hub_session_calls_turn(struct hub *h, struct session *s, bool hold)
{
        session_calls_each(h, s, turn_one, &hold);
}

static void progress_one(struct instance *i, struct call *c, void *userdata)
{
        upstream_call_set_progress(i->u, c->handle, userdata);
}

void hub_session_calls_progress(struct hub *h, struct session *s, const cJSON *token)
{
        session_calls_each(h, s, progress_one, (void *)(uintptr_t)token);
}

bool hub_cancel_call(struct hub *h, struct session *s, const cJSON *client_id, const char *reason)
{
        for (size_t k = 0; k < h->n_servers; k++) {
                struct server *srv = h->servers[k];
                if (cancel_in(srv->hub_inst, s, client_id, reason))
                        return true;
                for (struct instance *i = srv->instances; i; i = i->next)
                        if (instance_has_session(i, s) && cancel_in(i, s, client_id, reason))
                                return true;
        }
        return false;
}

struct call *instance_session_call(const struct instance *i, const struct session *s)
{
        for (struct call *c = i->calls; c; c = c->next)
                if (strcmp(c->target.session, s->id) == 0)
                        return c;
        return NULL;
}

struct session *instance_attribute(struct instance *i, struct call **ret_call, bool *ret_ambiguous)
{
        struct hub *h = i->srv->hub;
        struct session *only = NULL, *s;
        const char *party;
        size_t n = 0, k = 0;
        void *v;

        *ret_call = NULL;
        *ret_ambiguous = false;
        /* Who has requests at the server now (sent, not waiting their turn)? */
        switch (turns_in_flight(&i->u->turns, &party)) {
        case 0:
                break;
        case 1:
                s = session_get(h, party);
                for (struct call *c = i->calls; s && c; c = c->next)
                        if (strcmp(c->target.session, party) == 0) {
                                *ret_call = c; /* the newest: the list is newest first */
                                break;
                        }
                return s;
        default:
                *ret_ambiguous = true;
                return NULL;
        }
        /* Nothing in flight: the instance's one session, if it has one. The shared session
         * has none of its own (the only session in the hub now is not the one a late
         * message was about), nor does the hub's own session of an isolated server. */
        if (i->hub_own)
                return NULL;
        while (hmap_next(&h->sessions, &k, NULL, &v))
                if (instance_has_session(i, v)) {
                        if (++n > 1)
                                return NULL;
                        only = v;
                }
        return only;
}

/* ---------------------------------------------------------------- upstream events */

static void reap_instance(struct instance *i);
static void server_maybe_reap(struct server *srv);

static int reap_cb(sd_event_source *s, void *userdata)
{
        reap_instance(userdata);
        return 0;
}

static void on_state_changed(struct upstream *u, enum upstream_state old, void *userdata)
{
        struct instance *i = userdata;
        struct hub *h = i->srv->hub;

        if (u->state == UPSTREAM_READY)
                hub_instance_ready(h, i);
        if (i->hub_own)
                hub_check_started(h, false);
        if (u->state != UPSTREAM_STOPPED)
                return;
        if (h->shutting_down) {
                if (servers_all_stopped(h))
                        (void)sd_event_exit(h->upstream_env.event, 0);
                return;
        }
        /* An instance stopped on purpose goes away, from the loop (we are inside it). */
        if (!i->hub_own && i->stopping && !i->reap &&
            sd_event_add_defer(h->upstream_env.event, &i->reap, reap_cb, i) < 0)
                log_warning("cannot schedule freeing instance %" PRIu64 ", keeping it", i->id);
        if (i->hub_own)
                server_maybe_reap(i->srv);
}

static void on_lists_changed(struct upstream *u, void *userdata)
{
        struct instance *i = userdata;

        if (i->hub_own)
                hub_lists_changed(i->srv->hub);
}

static void on_request(struct upstream *u, cJSON *msg, void *userdata)
{
        struct instance *i = userdata;
        hub_instance_request(i->srv->hub, i, msg);
}

static void on_notification(struct upstream *u, cJSON *msg, void *userdata)
{
        struct instance *i = userdata;
        hub_instance_notification(i->srv->hub, i, msg);
}

static const struct upstream_events instance_events = {
    .state_changed = on_state_changed,
    .lists_changed = on_lists_changed,
    .request = on_request,
    .notification = on_notification,
};

/* ---------------------------------------------------------------- instances */

/* What we tell the server we can do: sampling and elicitation reach the client session
 * that caused them; roots only when the operator configured some or forwards the client's
 * own (the hub session then declares it too, answering from the config, so that the
 * catalogue offers what the instances do). */
static cJSON *instance_capabilities(const struct server_config *cfg, bool isolated)
{
        _cleanup_json_ cJSON *caps = cJSON_CreateObject();
        cJSON *el;

        if (!caps || !cJSON_AddObjectToObject(caps, "sampling"))
                return NULL;
        el = cJSON_AddObjectToObject(caps, "elicitation");
        if (!el || !cJSON_AddObjectToObject(el, "form") || !cJSON_AddObjectToObject(el, "url"))
                return NULL;
        if ((cfg->roots && cfg->roots[0]) || cfg->forward_roots) {
                cJSON *roots = cJSON_AddObjectToObject(caps, "roots");
                if (!roots)
                        return NULL;
                if (cfg->forward_roots && isolated)
                        cJSON_AddTrueToObject(roots, "listChanged");
        }
        return TAKE_PTR(caps);
}

static void instance_free(struct instance *i)
{
        struct hub *h;

        if (!i)
                return;
        h = i->srv->hub;
        if (i->id)
                hmap_remove(&h->instances, i->id);
        sd_event_source_disable_unref(i->idle_timer);
        sd_event_source_disable_unref(i->reap);
        i->u = upstream_free(i->u); /* fails the calls still here */
        while (i->calls)
                call_free(i->calls);
        free(i->client);
        free(i);
}

static struct instance *instance_new(struct server *srv, bool hub_own, const struct session *s)
{
        struct hub *h = srv->hub;
        enum isolation iso = srv->cfg.isolation;
        struct instance *i = calloc(1, sizeof(*i));
        char label[256];
        cJSON *caps;

        if (!i)
                return NULL;
        i->srv = srv;
        i->hub_own = hub_own;
        i->serves_all = hub_own && iso == ISOLATION_SHARED;
        i->log_level = -1;
        if (!hub_own) {
                i->client = strdup(s->client);
                if (!i->client) {
                        free(i);
                        return NULL;
                }
                if (iso == ISOLATION_SESSION)
                        snprintf(i->session, sizeof(i->session), "%s", s->iso);
        }
        i->id = ++h->next_instance_id;
        if (hmap_put(&h->instances, i->id, i) < 0) {
                i->id = 0;
                instance_free(i);
                return NULL;
        }
        caps = instance_capabilities(&srv->cfg, !hub_own);
        i->u = caps ? upstream_new(&h->upstream_env, &srv->cfg,
                                   instance_label(i, label, sizeof(label)), caps, hub_own,
                                   &instance_events, i)
                    : NULL;
        if (!i->u) {
                instance_free(i);
                return NULL;
        }
        if (srv->hub_inst)
                i->u->log_level = srv->hub_inst->u->log_level; /* MCP_LOG_LEVELS */
        /* The sessions of one client share its instance: what the server asks (sampling,
         * elicitation, forwarded roots) can only be told apart if they take turns, from the
         * first request on. A session's own instance never needs to; a shared one starts
         * once the server has shown it asks clients (srv-request.c). */
        if (!hub_own && iso == ISOLATION_CLIENT)
                i->u->turns.enabled = true;
        return i;
}

static void reap_instance(struct instance *i)
{
        struct server *srv = i->srv;
        struct instance **pp;
        char label[256];

        for (pp = &srv->instances; *pp; pp = &(*pp)->next)
                if (*pp == i) {
                        *pp = i->next;
                        srv->n_instances--;
                        break;
                }
        log_debug("instance %s gone", instance_label(i, label, sizeof(label)));
        srv_requests_instance_gone(srv->hub, i);
        subs_instance_gone(srv->hub, i);
        instance_free(i);
        server_maybe_reap(srv);
}

static void instance_stop(struct instance *i, const char *why)
{
        char label[256];

        if (i->stopping || i->hub_own)
                return;
        i->stopping = true;
        i->idle_timer = sd_event_source_disable_unref(i->idle_timer);
        log_info("upstream '%s': stopping the instance (%s)",
                 instance_label(i, label, sizeof(label)), why);
        upstream_stop(i->u); /* reports "stopped", then on_state_changed() reaps it */
}

static int idle_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct instance *i = userdata;
        uint64_t idle = (uint64_t)i->srv->cfg.idle_timeout_ms * USEC_PER_MSEC;
        uint64_t now = now_usec(), last = MAX(i->u->last_used_usec, i->u->up_since_usec);

        /* A session subscribed to a resource here waits for its updates: in use. */
        if (i->n_calls == 0 && i->u->turns.len == 0 && now >= last + idle &&
            subs_of_instance(i->srv->hub, i) == 0) {
                char why[64];
                snprintf(why, sizeof(why), "unused for %.0f s",
                         (double)(now - last) / USEC_PER_SEC);
                instance_stop(i, why);
                return 0;
        }
        /* Busy or used since: look again when it could first be idle long enough. */
        (void)sd_event_source_set_time(s, MAX(last + idle, now + idle / 4 + USEC_PER_MSEC));
        (void)sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

struct instance *server_instance_find(struct server *srv, const struct session *s)
{
        if (srv->cfg.isolation == ISOLATION_SHARED)
                return srv->hub_inst;
        for (struct instance *i = srv->instances; i; i = i->next)
                if (!i->stopping && instance_has_session(i, s))
                        return i;
        return NULL;
}

struct instance *server_instance_for(struct server *srv, struct session *s)
{
        struct hub *h = srv->hub;
        struct instance *i = server_instance_find(srv, s);
        char label[256];
        size_t live = 0;

        if (i)
                return i;
        /* Those still stopping count too: their processes are not gone yet. */
        for (struct instance *k = srv->instances; k; k = k->next)
                live++;
        if (live >= (size_t)srv->cfg.max_instances || h->shutting_down) {
                srv->refused++;
                errno = EUSERS;
                return NULL;
        }
        i = instance_new(srv, false, s);
        if (!i) {
                errno = ENOMEM;
                return NULL;
        }
        if (sd_event_add_time_relative(h->upstream_env.event, &i->idle_timer, CLOCK_MONOTONIC,
                                       (uint64_t)srv->cfg.idle_timeout_ms * USEC_PER_MSEC,
                                       100 * USEC_PER_MSEC, idle_cb, i) < 0) {
                instance_free(i);
                errno = ENOMEM;
                return NULL;
        }
        i->next = srv->instances;
        srv->instances = i;
        srv->n_instances++;
        log_info("upstream '%s': starting an instance for client '%s'%s%.8s%s (%zu of at most %d)",
                 instance_label(i, label, sizeof(label)), s->client,
                 i->session[0] ? ", session " : "", i->session, i->session[0] ? "..." : "",
                 live + 1, srv->cfg.max_instances);
        (void)upstream_start(i->u);
        return i;
}

void servers_session_ending(struct hub *h, struct session *s)
{
        /* A modern request's instances outlive it: they stop when idle. */
        if (s->modern)
                return;
        for (size_t k = 0; k < h->n_servers; k++) {
                struct server *srv = h->servers[k];
                for (struct instance *i = srv->instances; i; i = i->next) {
                        size_t others = 0, n = 0;
                        void *v;
                        if (i->stopping || !instance_has_session(i, s))
                                continue;
                        while (hmap_next(&h->sessions, &n, NULL, &v))
                                if (v != s && !((struct session *)v)->modern &&
                                    instance_has_session(i, v))
                                        others++;
                        if (others == 0)
                                instance_stop(i, "its last client session ended");
                }
        }
}

/* ---------------------------------------------------------------- the servers */

static struct server *server_free(struct server *srv)
{
        if (!srv)
                return NULL;
        while (srv->instances) {
                struct instance *i = srv->instances;
                srv->instances = i->next;
                instance_free(i);
        }
        instance_free(srv->hub_inst);
        sd_event_source_disable_unref(srv->reap);
        server_config_done(&srv->cfg);
        free(srv);
        return NULL;
}

static struct server *server_new(struct hub *h, const struct server_config *sc)
{
        struct server *srv = calloc(1, sizeof(*srv));

        if (!srv)
                return NULL;
        srv->hub = h;
        if (server_config_copy(sc, &srv->cfg) < 0) {
                free(srv);
                return NULL;
        }
        srv->name = srv->cfg.name;
        srv->hub_inst = instance_new(srv, true, NULL);
        if (!srv->hub_inst)
                return server_free(srv);
        return srv;
}

static void server_start(struct server *srv)
{
        struct upstream *u = srv->hub_inst->u;

        if (!u->ops) {
                u->state = UPSTREAM_FAILED;
                free(u->last_error);
                u->last_error = strdup("transport not supported by this build");
                log_error("upstream '%s': %s transport is not supported by this build", u->name,
                          transport_to_string(u->cfg.transport));
                return;
        }
        (void)upstream_start(u);
}

static size_t count_enabled(const struct config *c)
{
        size_t n = 0;

        for (size_t i = 0; i < c->n_servers; i++)
                if (!c->servers[i].disabled)
                        n++;
        return n;
}

int servers_setup(struct hub *h)
{
        size_t enabled = count_enabled(&h->config);

        h->prefix_names = enabled > 1;
        h->servers = calloc(enabled ? enabled : 1, sizeof(*h->servers));
        if (!h->servers)
                return log_error_errno(ENOMEM, "out of memory");
        for (size_t i = 0; i < h->config.n_servers; i++) {
                const struct server_config *sc = &h->config.servers[i];
                struct server *srv;

                if (sc->disabled) {
                        log_info("upstream '%s' is disabled, skipping", sc->name);
                        continue;
                }
                srv = server_new(h, sc);
                if (!srv)
                        return log_error_errno(ENOMEM, "out of memory");
                h->servers[h->n_servers++] = srv;
        }
        return 0;
}

void servers_start(struct hub *h)
{
        for (size_t k = 0; k < h->n_servers; k++)
                server_start(h->servers[k]);
}

static bool upstream_stopped(const struct upstream *u)
{
        return (u->state == UPSTREAM_STOPPED || u->state == UPSTREAM_FAILED) && !u->transport;
}

static bool server_stopped(const struct server *srv)
{
        if (!upstream_stopped(srv->hub_inst->u))
                return false;
        for (struct instance *i = srv->instances; i; i = i->next)
                if (!upstream_stopped(i->u))
                        return false;
        return true;
}

bool servers_all_stopped(struct hub *h)
{
        for (size_t k = 0; k < h->n_servers; k++)
                if (!server_stopped(h->servers[k]))
                        return false;
        for (struct server *srv = h->retired; srv; srv = srv->next_retired)
                if (!server_stopped(srv))
                        return false;
        return true;
}

static int server_reap_cb(sd_event_source *s, void *userdata)
{
        struct server *srv = userdata;
        struct hub *h = srv->hub;

        for (struct server **pp = &h->retired; *pp; pp = &(*pp)->next_retired)
                if (*pp == srv) {
                        *pp = srv->next_retired;
                        break;
                }
        log_debug("upstream '%s' (retired) gone", srv->name);
        server_free(srv);
        return 0;
}

/* A retired server goes once its hub session and every instance have stopped and gone. */
static void server_maybe_reap(struct server *srv)
{
        if (!srv->retired || srv->reap || srv->instances || !upstream_stopped(srv->hub_inst->u) ||
            srv->hub->shutting_down)
                return;
        if (sd_event_add_defer(srv->hub->upstream_env.event, &srv->reap, server_reap_cb, srv) < 0)
                log_warning("cannot schedule freeing upstream '%s', keeping it", srv->name);
}

static void server_retire(struct server *srv, const char *why)
{
        struct hub *h = srv->hub;

        srv->retired = true;
        srv->next_retired = h->retired;
        h->retired = srv;
        log_notice("upstream '%s': %s, stopping it", srv->name, why);
        for (struct instance *i = srv->instances; i; i = i->next)
                instance_stop(i, why);
        upstream_stop(srv->hub_inst->u); /* its requests in flight get an error */
        server_maybe_reap(srv);
}

int servers_reload(struct hub *h, const struct config *c, const char *restart)
{
        size_t enabled = count_enabled(c), n = 0;
        _cleanup_free_ struct server **arr = calloc(enabled ? enabled : 1, sizeof(*arr));
        _cleanup_free_ bool *kept = calloc(h->n_servers ? h->n_servers : 1, sizeof(bool));
        _cleanup_free_ bool *fresh = calloc(enabled ? enabled : 1, sizeof(bool));
        size_t n_kept = 0, n_new = 0, n_gone = 0;

        if (!arr || !kept || !fresh)
                return -ENOMEM;
        /* First everything that can fail, so that a failure changes nothing. */
        for (size_t k = 0; k < c->n_servers; k++) {
                const struct server_config *sc = &c->servers[k];
                size_t j;

                if (sc->disabled)
                        continue;
                for (j = 0; j < h->n_servers; j++)
                        if (!kept[j] && strcmp(h->servers[j]->name, sc->name) == 0 &&
                            strcmp(h->servers[j]->cfg.hash, sc->hash) == 0 &&
                            !(restart && strcmp(restart, sc->name) == 0))
                                break;
                if (j < h->n_servers) {
                        kept[j] = true;
                        arr[n++] = h->servers[j];
                        continue;
                }
                arr[n] = server_new(h, sc);
                if (!arr[n]) {
                        for (size_t q = 0; q < n; q++)
                                if (fresh[q])
                                        server_free(arr[q]);
                        return -ENOMEM;
                }
                fresh[n++] = true;
        }
        /* Then the change. */
        for (size_t j = 0; j < h->n_servers; j++) {
                struct server *old = h->servers[j];
                bool renewed = false;
                if (kept[j]) {
                        n_kept++;
                        continue;
                }
                for (size_t q = 0; q < n; q++)
                        if (fresh[q] && strcmp(arr[q]->name, old->name) == 0)
                                renewed = true;
                server_retire(old, restart && strcmp(restart, old->name) == 0
                                       ? "a restart was asked for"
                                   : renewed ? "its configuration changed"
                                             : "it is no longer in the configuration");
                n_gone++;
        }
        free(h->servers);
        h->servers = TAKE_PTR(arr);
        h->n_servers = n;
        h->prefix_names = n > 1;
        for (size_t q = 0; q < n; q++)
                if (fresh[q]) {
                        server_start(h->servers[q]);
                        n_new++;
                }
        log_notice("reloaded: %zu upstream(s) unchanged, %zu started, %zu stopping", n_kept, n_new,
                   n_gone);
        return 0;
}

void servers_stop_all(struct hub *h)
{
        h->upstream_env.shutting_down = true;
        for (struct server *srv = h->retired; srv; srv = srv->next_retired) {
                srv->reap = sd_event_source_disable_unref(srv->reap);
                upstream_stop(srv->hub_inst->u);
        }
        for (size_t k = 0; k < h->n_servers; k++) {
                struct server *srv = h->servers[k];
                upstream_stop(srv->hub_inst->u);
                for (struct instance *i = srv->instances; i; i = i->next) {
                        i->stopping = true;
                        upstream_stop(i->u);
                }
        }
}

void servers_free(struct hub *h)
{
        for (size_t k = 0; k < h->n_servers; k++)
                server_free(h->servers[k]);
        free(h->servers);
        h->servers = NULL;
        h->n_servers = 0;
        while (h->retired) {
                struct server *srv = h->retired;
                h->retired = srv->next_retired;
                server_free(srv);
        }
        hmap_done(&h->instances);
}

cJSON *server_describe(struct server *srv, const char *client)
{
        struct hub *h = srv->hub;
        cJSON *o = upstream_describe(srv->hub_inst->u), *arr;

        if (!o)
                return NULL;
        cJSON_AddStringToObject(o, "isolation", isolation_to_string(srv->cfg.isolation));
        if (srv->cfg.isolation == ISOLATION_SHARED)
                return o;
        cJSON_AddNumberToObject(o, "max_instances", srv->cfg.max_instances);
        cJSON_AddNumberToObject(o, "idle_timeout_seconds", (double)srv->cfg.idle_timeout_ms / 1000);
        if (srv->refused)
                cJSON_AddNumberToObject(o, "instances_refused", (double)srv->refused);
        arr = cJSON_AddArrayToObject(o, "instances");
        for (struct instance *i = srv->instances; arr && i; i = i->next) {
                cJSON *d;
                char sid[16];
                if (client && strcmp(client, i->client) != 0)
                        continue;
                d = upstream_describe(i->u);
                if (!d)
                        continue;
                cJSON_DeleteItemFromObjectCaseSensitive(d, "name");
                cJSON_DeleteItemFromObjectCaseSensitive(d, "transport");
                /* A remote transport's "session" (whether it has one) is "upstream_session"
                 * here: "session" names the client session an instance serves. */
                cJSON *us = cJSON_DetachItemFromObjectCaseSensitive(d, "session");
                if (us)
                        cJSON_AddItemToObject(d, "upstream_session", us);
                cJSON_AddNumberToObject(d, "id", (double)i->id);
                cJSON_AddStringToObject(d, "client", i->client);
                if (i->session[0]) {
                        snprintf(sid, sizeof(sid), "%.8s", i->session);
                        cJSON_AddStringToObject(d, "session", sid);
                }
                cJSON_AddNumberToObject(d, "sessions", (double)instance_sessions(h, i));
                cJSON_AddItemToArray(arr, d);
        }
        return o;
}
