/* SPDX-License-Identifier: MIT */
/*
 * An upstream session with an MCP server, whatever carries it. The
 * transport-neutral part (upstream.c) owns the session: the handshake, the
 * cached lists, the requests in flight with their id and progress-token
 * remapping, timeouts, turn-taking, restart with backoff. Transports
 * (upstream-stdio.c, upstream-http.c, upstream-sse.c) implement struct
 * upstream_ops: they only move whole JSON-RPC messages and report when
 * their channel comes up or goes down.
 *
 * The dependency points one way. This module knows the event loop and what
 * its owner hands it (struct upstream_env, struct upstream_events); it never
 * includes a hub header. It completes every request by a callback to
 * whoever sent it (struct upstream_call_cb) and keeps its table of requests
 * private. Everything is asynchronous: send() queues, results arrive through
 * upstream_transport_message().
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>
#include <sys/types.h>

#include "clock.h"
#include "config/config.h"
#include "hashmap.h"
#include "upstream/turns.h"

struct upstream;
struct curl_glue;

/* What the owner gives every upstream: the loop and the settings they share. */
struct upstream_env {
        sd_event *event;
        struct curl_glue *curl;      /* libcurl multi in the loop, made on first use */
        uint64_t restart_delay_usec; /* first backoff delay */
        unsigned max_streak;         /* failed starts in a row before "failed" */
        bool shutting_down;          /* no restarts from now on */
};

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
        /* Optional. Stop (true) or go on (false) reading what the server sends. */
        void (*pause)(struct upstream *u, bool paused);
        /* Optional. Bytes the transport's buffers hold (allocated). */
        size_t (*buffered)(struct upstream *u);
};

/* What an upstream tells its owner (every member optional). */
struct upstream_events {
        /* The state changed: ready, backoff, failed, stopped... (old: the one before). */
        void (*state_changed)(struct upstream *u, enum upstream_state old, void *userdata);
        /* A list was fetched again while ready (or the lists went with the server). */
        void (*lists_changed)(struct upstream *u, void *userdata);
        /* A request from the server (not ping); takes msg. The owner answers it with
         * upstream_send(). */
        void (*request)(struct upstream *u, cJSON *msg, void *userdata);
        /* A notification from the server (not progress, not list_changed); takes msg. */
        void (*notification)(struct upstream *u, cJSON *msg, void *userdata);
};

/* How a request sent with upstream_call() ends. */
struct upstream_call_cb {
        /* Called once: the response (takes msg; its "id" is the caller's own again), or
         * msg NULL and an error code and message that name the server. */
        void (*done)(void *userdata, cJSON *msg, int code, const char *message);
        /* A notifications/progress for it, its token the caller's own again (takes msg). */
        void (*progress)(void *userdata, cJSON *msg);
};

struct pending; /* private to upstream.c */

struct upstream {
        struct upstream_env *env;
        const struct upstream_events *events;
        void *userdata;
        struct server_config cfg; /* owned copy */
        const char *name;         /* = cfg.name: what clients and errors see */
        char *label;              /* for logs: the name, and whose instance it is */
        const struct upstream_ops *ops;
        void *transport;
        enum upstream_state state;
        bool transport_up;
        bool transport_lost; /* went down on its own (not a stop we asked for) */
        bool paused;         /* upstream_set_paused(): a new transport starts paused too */

        int64_t next_id;
        struct hmap pending; /* upstream_id -> struct pending */
        /* Requests waiting to be sent: for the session to be ready, or their turn (see
         * turns.h: switched on by the owner when the server asks clients things). */
        struct turns turns;
        struct turn *lingering;  /* cancelled or timed-out requests still holding their turn */
        uint64_t last_used_usec; /* last request sent or answered */

        /* what the server said in its handshake */
        cJSON *init_result;
        char *protocol_version;
        cJSON *client_capabilities; /* what we declare in initialize (owned) */
        bool supports[_LIST_KIND_MAX];
        bool can_subscribe;
        bool has_logging;
        bool has_completions;
        bool fetch_lists; /* keep the lists (the owner's catalogue reads them) */

        /* lists: each complete, as the server sent it */
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

/*
 * A new upstream session for cfg (copied). label: how logs name it (NULL: the
 * server's name). capabilities: the client capabilities declared to the server
 * (taken). fetch_lists: fetch and keep tools, prompts, resources and templates.
 */
struct upstream *upstream_new(struct upstream_env *env, const struct server_config *cfg,
                              const char *label, cJSON *capabilities, bool fetch_lists,
                              const struct upstream_events *events, void *userdata);
struct upstream *upstream_free(struct upstream *u);
int upstream_start(struct upstream *u);
/* Graceful stop: no restart afterwards; state_changed reports "stopped". */
void upstream_stop(struct upstream *u);

/*
 * Sends a request on a caller's behalf (takes msg; its "id" and any
 * _meta.progressToken are replaced here and given back in the answer).
 * party: whose it is, for turn-taking (NULL or "": nobody's). While the
 * session is starting, or it is not the party's turn, the request waits,
 * bounded by the request timeout. *ret_handle names it for upstream_cancel().
 * Returns 0 (cb->done will be called), or -EAGAIN (not starting nor ready),
 * -ENOBUFS (too many waiting), -ENOMEM, -ENOTCONN: then cb is never called.
 */
int upstream_call(struct upstream *u, cJSON *msg, const char *party,
                  const struct upstream_call_cb *cb, void *userdata, uint64_t *ret_handle);
/* The caller gives up on a request: the server is told (notifications/cancelled) if it
 * was sent; cb->done is NOT called. Returns whether it was in flight or waiting here. */
bool upstream_cancel(struct upstream *u, uint64_t handle, const char *reason);
/* A call in flight gives up its party's turn (hold false: others may go meanwhile) or takes
 * it again (true). For a call that waits on its client for long (input_required). */
void upstream_call_set_turn(struct upstream *u, uint64_t handle, bool hold);
/* The client's progress token a call's progress now goes under (NULL: none, progress is
 * dropped): a 2026-07-28 retry names its own. Only for a call sent with a token. */
void upstream_call_set_progress(struct upstream *u, uint64_t handle, const cJSON *token);
/* Send a notification or a response as it is (takes msg). */
int upstream_send(struct upstream *u, cJSON *msg);
/* A request of the owner's own whose answer does not matter (logging/setLevel,
 * resubscriptions); takes params. */
int upstream_request_internal(struct upstream *u, const char *method, cJSON *params);
/* Switch turn-taking on (see turns.h); it stays on for the life of the session. */
void upstream_take_turns(struct upstream *u, const char *why);
/* Requests in flight (sent, not answered). */
size_t upstream_in_flight(struct upstream *u);
/* Backpressure from the hub: stop or go on reading the server (where the transport can). */
void upstream_set_paused(struct upstream *u, bool paused);
/* Bytes the transport's buffers hold. */
size_t upstream_buffered(struct upstream *u);

/* Log "upstream 'LABEL': ..." with the MCP_UPSTREAM= field, at this upstream's level. */
void upstream_log(struct upstream *u, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Log one line the server wrote on stderr ("LABEL: line"), at info. */
void upstream_log_stderr(struct upstream *u, const char *line, size_t len);

/* This upstream's state as an object (owned by the caller). */
cJSON *upstream_describe(struct upstream *u);

/* ---- for transports ---- */
void upstream_transport_up(struct upstream *u);
/* One message from the server; takes ownership. */
void upstream_transport_message(struct upstream *u, cJSON *msg);
/* The channel is gone (reason for logs and errors, e.g. "exited with status 1"). */
void upstream_transport_down(struct upstream *u, const char *reason);
/* The transport is fully stopped after a stop() request. */
void upstream_transport_stopped(struct upstream *u);

/* The initialize params sent to the server (protocol version, the declared client
 * capabilities, clientInfo); a transport that must re-initialize on its own (HTTP, on
 * 404) uses it too. */
cJSON *upstream_initialize_params(struct upstream *u);

/* The ops for a configured transport; NULL when this build has none. */
const struct upstream_ops *upstream_ops_for(enum upstream_transport t);

extern const struct upstream_ops upstream_stdio_ops;
/* Streamable HTTP (also TRANSPORT_AUTO: detects legacy SSE and switches u->ops) and
 * legacy HTTP+SSE, both on libcurl's multi interface inside the loop. */
extern const struct upstream_ops upstream_http_ops;
extern const struct upstream_ops upstream_sse_ops;
