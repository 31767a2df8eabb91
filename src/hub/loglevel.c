/* SPDX-License-Identifier: MIT */
/*
 * logging/setLevel. A client's level is its own: the hub filters what it
 * forwards by it. What the hub asks of a server is the most verbose level
 * any session of that instance needs: for a shared instance, of every
 * session; for a client's or a session's instance, of its sessions only, so
 * one client's "debug" never makes a server talk more for another.
 */
#include <errno.h>
#include <string.h>
#include <syslog.h>

#include "hub/hub.h"
#include "json.h"
#include "proto/jsonrpc.h"

#define LOG_DEFAULT_LEVEL LOG_INFO

static const char *const mcp_levels[] = {
    [LOG_EMERG] = "emergency", [LOG_ALERT] = "alert",     [LOG_CRIT] = "critical",
    [LOG_ERR] = "error",       [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
    [LOG_INFO] = "info",       [LOG_DEBUG] = "debug",
};

int mcp_level_from_string(const char *s)
{
        for (int i = 0; s && i <= LOG_DEBUG; i++)
                if (strcmp(s, mcp_levels[i]) == 0)
                        return i;
        return -EINVAL;
}

/*
 * The level instance i should log at, over the sessions that use it (but leaving): the
 * most verbose any asked for; a session that never set one counts as LOG_DEFAULT_LEVEL
 * once any has (the server has one level for all of them). -1: nobody asked.
 */
static int wanted_level(struct hub *h, const struct instance *i, const struct session *leaving)
{
        int level = -1;
        bool unset = false;
        size_t k = 0;
        void *v;

        while (hmap_next(&h->sessions, &k, NULL, &v)) {
                const struct session *s = v;
                /* A modern request counts only while it runs, and only with a logLevel. */
                if (s == leaving || (s->modern && s->log_level < 0) || !instance_has_session(i, s))
                        continue;
                if (s->log_level < 0)
                        unset = true;
                else if (s->log_level > level)
                        level = s->log_level;
        }
        if (level < 0 && i->log_level < 0)
                return -1; /* nobody ever asked: the server keeps its own default */
        if (level < 0 || (unset && level < LOG_DEFAULT_LEVEL))
                level = LOG_DEFAULT_LEVEL;
        return level;
}

static void send_level(struct instance *i, int level)
{
        cJSON *params;

        i->log_level = level;
        if (!i->u->has_logging || i->u->state != UPSTREAM_READY)
                return;
        params = cJSON_CreateObject();
        if (!params || !cJSON_AddStringToObject(params, "level", mcp_levels[level])) {
                cJSON_Delete(params);
                return;
        }
        (void)upstream_request_internal(i->u, "logging/setLevel", params);
}

static void recompute_one(struct hub *h, struct instance *i, const struct session *leaving)
{
        int level;

        if (i->hub_own && !i->serves_all)
                return; /* the catalogue session: no client's level applies */
        level = wanted_level(h, i, leaving);
        if (level >= 0 && level != i->log_level)
                send_level(i, level);
}

void loglevel_recompute(struct hub *h, const struct session *leaving)
{
        for (size_t k = 0; k < h->n_servers; k++) {
                struct server *srv = h->servers[k];
                recompute_one(h, srv->hub_inst, leaving);
                for (struct instance *i = srv->instances; i; i = i->next)
                        recompute_one(h, i, leaving);
        }
}

/* A (re)started server knows nothing of the level: ask again. */
void loglevel_apply(struct hub *h, struct instance *i)
{
        int level;

        if (i->hub_own && !i->serves_all)
                return;
        level = wanted_level(h, i, NULL);
        if (level >= 0)
                send_level(i, level);
}

cJSON *hub_set_log_level(struct hub *h, struct session *s, cJSON *msg)
{
        const cJSON *id = json_get(msg, "id");
        const cJSON *params = json_get(msg, "params");
        int level = mcp_level_from_string(params ? json_get_string(params, "level") : NULL);

        if (level < 0)
                return jsonrpc_error_new(id, JSONRPC_INVALID_PARAMS,
                                         "params.level must be one of debug, info, notice, "
                                         "warning, error, critical, alert, emergency",
                                         NULL);
        s->log_level = level;
        loglevel_recompute(h, NULL);
        return jsonrpc_result_new(id, cJSON_CreateObject());
}
