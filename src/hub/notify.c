/* SPDX-License-Identifier: MIT */
/*
 * Notifications, both ways, and what follows from sessions and servers
 * coming and going. From a server: log messages go to the one session they
 * belong to (the one with requests in flight on that instance, or the
 * instance's only session), filtered by its level; what cannot be
 * attributed goes to the hub's log and to no client. Resource updates,
 * cancellations and elicitation completions have their own routing (subs.c,
 * srv-request.c). From a client: initialized, cancelled, and roots changes
 * (only to its own instances that forward roots). Nothing is ever broadcast
 * to every session, except list changes of the catalogue everyone shares.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "hub/hub.h"
#include "json.h"
#include "log.h"
#include "proto/jsonrpc.h"

/* The level a session lets through (info when it never set one). */
static int session_log_level(const struct session *s)
{
        /* A modern request without _meta's logLevel gets no log message at all. */
        if (s->modern)
                return s->log_level;
        return s->log_level >= 0 ? s->log_level : LOG_INFO;
}

static void log_unattributed(struct instance *inst, int level, const cJSON *params, const char *why)
{
        const cJSON *data = cJSON_IsObject(params) ? json_get(params, "data") : NULL;
        const char *logger = cJSON_IsObject(params) ? json_get_string(params, "logger") : NULL;
        _cleanup_cjson_str_ char *text = data ? cJSON_PrintUnformatted(data) : NULL;

        upstream_log(inst->u, level,
                     "log message not attributable to one session (%s): %s%s%.1000s", why,
                     logger ? logger : "", logger ? ": " : "", text ? text : "");
}

static void forward_log_message(struct hub *h, struct instance *inst, cJSON *msg)
{
        _cleanup_json_ cJSON *m = msg;
        cJSON *params = json_get(m, "params");
        int level =
            mcp_level_from_string(cJSON_IsObject(params) ? json_get_string(params, "level") : NULL);
        struct call *call;
        struct session *s;
        struct target t;
        bool ambiguous;

        if (level < 0)
                level = LOG_INFO;
        s = instance_attribute(inst, &call, &ambiguous);
        if (!s) {
                log_unattributed(inst, level, params,
                                 ambiguous ? "requests of several sessions in flight"
                                 : inst->hub_own && !inst->serves_all
                                     ? "the hub's own session"
                                     : "no request in flight and not one session of its own");
                return;
        }
        if (level > session_log_level(s))
                return;
        /* A message its request caused goes with that request; others on the GET stream. */
        if (call && (!s->get_stream || s->log_level < 0))
                t = call->target;
        else
                target_for_get(&t, s);
        if (h->prefix_names && cJSON_IsObject(params)) {
                /* Say which server it comes from. */
                const char *logger = json_get_string(params, "logger");
                char *l = NULL;
                if (asprintf(&l, "%s%s%s", inst->srv->name, logger ? "/" : "",
                             logger ? logger : "") >= 0) {
                        json_set(params, "logger", cJSON_CreateString(l));
                        free(l);
                }
        }
        (void)hub_deliver(h, &t, TAKE_PTR(m), false);
}

void hub_instance_notification(struct hub *h, struct instance *inst, cJSON *msg)
{
        const char *method = json_get_string(msg, "method");

        if (strcmp(method, "notifications/message") == 0)
                forward_log_message(h, inst, msg);
        else if (strcmp(method, "notifications/resources/updated") == 0)
                subs_resource_updated(h, inst, msg);
        else if (strcmp(method, "notifications/cancelled") == 0)
                srv_requests_cancelled(h, inst, msg);
        else if (strcmp(method, "notifications/elicitation/complete") == 0)
                srv_requests_elicitation_complete(h, inst, msg);
        else if (listen_instance_note(h, inst, msg))
                ; /* a client's own instance's list changed: its listen streams hear it */
        else {
                upstream_log(inst->u, LOG_DEBUG,
                             "notification '%s' is not for any client, dropping", method);
                cJSON_Delete(msg);
        }
}

void hub_client_notification(struct hub *h, struct session *s, cJSON *msg)
{
        const char *method = json_get_string(msg, "method");
        const cJSON *params = json_get(msg, "params");

        if (strcmp(method, "notifications/initialized") == 0)
                s->initialized = true;
        else if (strcmp(method, "notifications/cancelled") == 0) {
                const cJSON *rid = cJSON_IsObject(params) ? json_get(params, "requestId") : NULL;
                const char *reason =
                    cJSON_IsObject(params) ? json_get_string(params, "reason") : NULL;
                if (!rid || !hub_cancel_call(h, s, rid, reason))
                        log_debug("client '%s': cancel for a request not in flight, ignoring",
                                  s->client);
        } else if (strcmp(method, "notifications/roots/list_changed") == 0) {
                /* A client's roots describe its own machine: they reach only its own instances
                 * of servers that forward them; the others answer roots/list from the config. */
                size_t n = 0;
                for (size_t k = 0; k < h->n_servers; k++) {
                        struct server *srv = h->servers[k];
                        struct instance *i;
                        if (!srv->cfg.forward_roots || !(i = server_instance_find(srv, s)) ||
                            i->hub_own || i->u->state != UPSTREAM_READY)
                                continue;
                        (void)upstream_send(i->u, cJSON_Duplicate(msg, true));
                        n++;
                }
                log_debug("client '%s': roots changed, told %zu instance(s)", s->client, n);
        } else
                log_debug("client '%s': notification '%s'", s->client, method);
}

/* ---------------------------------------------------------------- sessions, instances */

void hub_session_ending(struct hub *h, struct session *s)
{
        /* A modern request's session (one per request) has no subscriptions, server
         * requests or log level of a session's, and leaves its instances running: only its
         * input rounds and listen stream end with it. */
        if (s->modern) {
                mrtr_session_ending(h, s);
                listen_session_ending(h, s);
                if (s->log_level >= 0)
                        loglevel_recompute(h, s);
                return;
        }
        subs_session_ending(h, s);
        srv_requests_session_ending(h, s);
        loglevel_recompute(h, s);
        servers_session_ending(h, s);
}

void hub_instance_ready(struct hub *h, struct instance *i)
{
        /* After a restart the server knows nothing of our subscriptions. The first time,
         * those made while it started are on their way already. */
        if (i->was_ready)
                subs_resubscribe(h, i);
        else
                listen_instance_ready(h, i);
        i->was_ready = true;
        loglevel_apply(h, i);
}

void hub_lists_changed_all(struct hub *h)
{
        static const char *const notes[] = {"notifications/tools/list_changed",
                                            "notifications/prompts/list_changed",
                                            "notifications/resources/list_changed"};
        _cleanup_free_ struct target *t = NULL;
        size_t n = 0;

        listen_lists_changed(h, (1u << _LISTEN_KIND_MAX) - 1);
        if (sessions_get_targets(h, NULL, NULL, &t, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < ELEMENTSOF(notes); k++)
                        (void)hub_deliver(h, &t[i], jsonrpc_notification_new(notes[k], NULL),
                                          false);
}

/* A server's lists changed: rebuild the catalogue and tell every session with a GET stream
 * which lists differ (the catalogue is everyone's). */
void hub_lists_changed(struct hub *h)
{
        bool changed[_LIST_KIND_MAX] = {};
        static const char *const notes[_LIST_KIND_MAX] = {
            "notifications/tools/list_changed", "notifications/prompts/list_changed",
            "notifications/resources/list_changed", "notifications/resources/list_changed"};
        _cleanup_free_ struct target *t = NULL;
        size_t n = 0;

        if (catalogue_rebuild(h, changed) < 0) {
                log_error("out of memory rebuilding the catalogue");
                return;
        }
        subs_restore(h);
        changed[LIST_RESOURCES] = changed[LIST_RESOURCES] || changed[LIST_TEMPLATES];
        changed[LIST_TEMPLATES] = false;
        listen_lists_changed(h, (changed[LIST_TOOLS] ? 1u << LISTEN_TOOLS : 0) |
                                    (changed[LIST_PROMPTS] ? 1u << LISTEN_PROMPTS : 0) |
                                    (changed[LIST_RESOURCES] ? 1u << LISTEN_RESOURCES : 0));
        if (sessions_get_targets(h, NULL, NULL, &t, &n) < 0) {
                log_error("out of memory telling sessions of a list change");
                return;
        }
        for (size_t i = 0; i < n; i++)
                for (int k = 0; k < _LIST_KIND_MAX; k++)
                        if (changed[k])
                                (void)hub_deliver(h, &t[i],
                                                  jsonrpc_notification_new(notes[k], NULL), false);
}
