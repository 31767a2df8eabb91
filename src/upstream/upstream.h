/* SPDX-License-Identifier: MIT */
/*
 * An upstream MCP server, whatever carries it. The transport-neutral part
 * (upstream.c) owns the MCP session with the server: the handshake, the
 * cached catalogue, the table of requests in flight with id remapping,
 * timeouts, restart with backoff. Transports (upstream-stdio.c, later
 * HTTP and SSE) implement struct upstream_ops: they only move whole
 * JSON-RPC messages and report when their channel comes up or goes down.
 * Everything is asynchronous: send() queues, results arrive through
 * upstream_transport_message().
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>
#include <sys/types.h>

#include "config/config.h"
#include "hashmap.h"
#include "hub/hub.h"

struct hub;
struct upstream;

/* The lists a server may offer. */
enum list_kind {
        LIST_TOOLS,
        LIST_PROMPTS,
        LIST_RESOURCES,
        LIST_TEMPLATES,
        _LIST_KIND_MAX,
};

struct list_info {
        const char *method;   /* "tools/list" */
        const char *key;      /* "tools" in the result */
        const char *id_field; /* "name", "uri", "uriTemplate" */
        const char *changed;  /* its list_changed notification */
};
extern const struct list_info list_info[_LIST_KIND_MAX];

enum upstream_state {
        UPSTREAM_STOPPED,  /* not started, or stopped for good */
        UPSTREAM_STARTING, /* transport up or coming up, handshake running */
        UPSTREAM_READY,    /* initialized, catalogue fetched */
        UPSTREAM_BACKOFF,  /* down; a restart is scheduled */
        UPSTREAM_FAILED,   /* too many failed starts in a row; waits for reload/restart */
        UPSTREAM_STOPPING, /* shutting down */
        _UPSTREAM_STATE_MAX,
        _UPSTREAM_STATE_INVALID = -22,
};

const char *upstream_state_to_string(enum upstream_state s);

struct upstream_ops {
        const char *name;
        /* Bring the channel up. Call upstream_transport_up() once messages can be sent
         * (may be called from inside start). Returns 0 or -errno. */
        int (*start)(struct upstream *u);
        /* Queue one compact JSON message (line, no trailing newline). -errno on failure
         * (e.g. -ENOBUFS when the queue is full). */
        int (*send)(struct upstream *u, const char *data, size_t len);
        /* Begin a graceful stop; call upstream_transport_down() when fully stopped
         * (child reaped, connection closed). Safe to call when already down. */
        void (*stop)(struct upstream *u);
        /* Free transport state; the channel is down. */
        void (*free)(struct upstream *u);
        /* Add transport facts (pid, url, ...) to the state object. */
        void (*describe)(struct upstream *u, cJSON *obj);
};

/* A request the hub sent upstream, by upstream-side id. */
enum pending_kind {
        PENDING_CLIENT,   /* on behalf of a client request: answer goes to a front conn */
        PENDING_INTERNAL, /* the hub's own (initialize, tools/list pages) */
};

struct pending;
typedef void (*pending_done_cb)(struct upstream *u, struct pending *p, cJSON *msg);

struct pending {
        int64_t upstream_id;
        enum pending_kind kind;
        /* client requests */
        struct target target;  /* where the answer (and progress, server requests) go */
        cJSON *client_id;      /* the client's own JSON-RPC id */
        char *method;          /* for logs and errors */
        cJSON *progress_token; /* the client's _meta.progressToken, if it sent one */
        /* internal requests */
        pending_done_cb done;
        int list_kind; /* for list fetches */
        sd_event_source *timer;
        cJSON *queued_msg; /* waiting its turn (see upstream->queue), not sent yet */
        struct pending *queue_next;
        uint64_t started_usec;
        uint64_t timeout_usec;
        struct upstream *upstream;
};

struct upstream {
        struct hub *hub;
        struct server_config cfg; /* owned copy */
        const char *name;         /* = cfg.name */
        const struct upstream_ops *ops;
        void *transport;
        enum upstream_state state;
        bool transport_up;
        bool transport_lost; /* went down on its own (not a stop we asked for) */

        int64_t next_id;
        struct hmap pending; /* upstream_id -> struct pending */
        /* The server asks clients things (sampling, elicitation, roots): requests of
         * different sessions then take turns, so that whatever it asks goes to the one
         * session that can have caused it (its shared session carries no other clue). */
        bool asks_clients;
        struct pending *queue_head, *queue_tail;
        size_t queue_len;

        /* what the server said in its handshake */
        cJSON *init_result;
        char *protocol_version;
        bool supports[_LIST_KIND_MAX];
        bool can_subscribe;
        bool has_logging;
        bool has_completions;

        /* catalogue: each list complete, as the server sent it */
        cJSON *lists[_LIST_KIND_MAX];
        cJSON *fetching[_LIST_KIND_MAX]; /* pages being fetched */
        int pages[_LIST_KIND_MAX];

        /* restarts */
        unsigned streak;   /* failed starts in a row */
        unsigned restarts; /* total restarts since the hub started */
        uint64_t delay_usec;
        uint64_t up_since_usec;
        sd_event_source *restart_timer;
        sd_event_source *startup_timer;
        sd_event_source *healthy_timer;
        char *last_error;
        bool stop_requested;
        int log_level; /* from MCP_LOG_LEVELS, -1 = MCP_LOG_LEVEL */
};

struct upstream *upstream_new(struct hub *hub, const struct server_config *cfg);
struct upstream *upstream_free(struct upstream *u);
int upstream_start(struct upstream *u);
/* Graceful stop for shutdown: no restart afterwards. */
void upstream_stop(struct upstream *u);
/* Restart a failed/backing-off upstream now (resets the streak). */
int upstream_restart(struct upstream *u);

/*
 * Sends a client request upstream. msg is the request as it goes upstream
 * (its "id" is replaced here); client_id is the client's own id (copied).
 * The answer goes to front connection conn_id through hub_conn_deliver().
 * Returns 0, or -errno if it could not be sent (the caller answers the client).
 */
int upstream_call(struct upstream *u, cJSON *msg, const cJSON *client_id, const struct target *t,
                  const char *method);
/* Send a notification or a response upstream as it is (takes msg). */
int upstream_notify(struct upstream *u, cJSON *msg);
/* A request of the hub's own whose answer does not matter (logging/setLevel,
 * resubscriptions); takes params. */
int upstream_request_internal(struct upstream *u, const char *method, cJSON *params);
/* The client cancelled its request: tell the server, answer the waiting exchange.
 * Returns 1 if such a request was in flight here, else 0. */
int upstream_cancel(struct upstream *u, const char *session, const cJSON *client_id,
                    const char *reason);
/* The most recently started client request in flight here from a session that
 * satisfies accept (NULL: any); NULL if none. */
const struct pending *upstream_latest_client_request(
    struct upstream *u, bool (*accept)(const struct pending *p, void *userdata), void *userdata);

/* Log "upstream 'NAME': ..." with the MCP_UPSTREAM= field, at this upstream's level. */
void upstream_log(struct upstream *u, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Log one line the server wrote on stderr ("NAME: line"), at info. */
void upstream_log_stderr(struct upstream *u, const char *line, size_t len);

/* Adds this upstream's state to arr (an array). */
int upstream_describe(struct upstream *u, cJSON *arr);

/* ---- for transports ---- */
void upstream_transport_up(struct upstream *u);
/* One message from the server; takes ownership. */
void upstream_transport_message(struct upstream *u, cJSON *msg);
/* The channel is gone (reason for logs and errors, e.g. "exited with status 1"). */
void upstream_transport_down(struct upstream *u, const char *reason);
/* The transport is fully stopped after a stop() request. */
void upstream_transport_stopped(struct upstream *u);

/* The initialize params the hub sends upstream (protocol version, the client
 * capabilities the hub can route, clientInfo); a transport that must
 * re-initialize on its own (HTTP, on 404) uses it too. */
cJSON *upstream_initialize_params(struct upstream *u);

/* The ops for a configured transport; NULL when this build has none. */
const struct upstream_ops *upstream_ops_for(enum upstream_transport t);

extern const struct upstream_ops upstream_stdio_ops;
/* Streamable HTTP (also TRANSPORT_AUTO: detects legacy SSE and switches u->ops) and
 * legacy HTTP+SSE, both on libcurl's multi interface inside the hub's loop. */
extern const struct upstream_ops upstream_http_ops;
extern const struct upstream_ops upstream_sse_ops;
