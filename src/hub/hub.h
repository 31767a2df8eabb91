/* SPDX-License-Identifier: MIT */
/*
 * mcp-proxy-hub: the persistent daemon. One sd-event loop owns the front
 * listener and connections (conn.c), the client sessions (session.c) and
 * their SSE streams (stream.c), the configured servers and their upstream
 * instances (server.c, over src/upstream/), the aggregated catalogue
 * (catalogue.c) and the router (route.c), whose route_check() is the one
 * choke point every client request passes before an upstream sees it.
 * What servers send on their own goes through notify.c (notifications),
 * srv-request.c (requests to clients), loglevel.c and subs.c.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "buf.h"
#include "config/config.h"
#include "config/users.h"
#include "hashmap.h"
#include "hub/sealed-id.h"
#include "proto/wire.h"
#include "upstream/upstream.h"

struct upstream;
struct curl_glue;
struct session;
struct server;
struct instance;
struct metrics;

struct hub {
        sd_event *event;
        int listen_fd;
        bool listen_fd_owned; /* we bound it: unlink on exit */
        char *socket_path;
        sd_event_source *listen_source;
        /* the control socket (control.c): mcp-proxyctl, root and the admin group only */
        int control_fd;
        char *control_path;
        sd_event_source *control_source;
        bool admin_gid_known;
        gid_t admin_gid;
        /* who may connect: the socket file's owner, group and mode (see conn.c) */
        bool socket_known;
        uid_t socket_uid;
        gid_t socket_gid;
        mode_t socket_mode;
        const char *config_path;
        struct config config;

        struct upstream_env upstream_env; /* the loop and settings every upstream shares */
        struct server **servers;          /* enabled servers, in config order */
        size_t n_servers;
        bool prefix_names;      /* more than one server configured */
        struct hmap instances;  /* instance id -> struct instance */
        struct server *retired; /* servers a reload took out, until they have stopped */
        /* the last reload (SIGHUP): when, and its error if it failed */
        uint64_t reload_usec;
        char *reload_error;
        sd_event_source *live_reload_watch; /* MCP_LIVE_RELOAD: inotify on the config's dir */
        sd_event_source *live_reload_timer; /* ... and its debounce */
        uint64_t next_instance_id;

        struct hmap conns; /* id -> struct conn */
        uint64_t next_conn_id;
        size_t n_conns;

        struct hmap sessions; /* hash(id) -> struct session */

        struct catalogue *catalogue;

        struct hmap srv_requests; /* hub id -> struct srv_request (server -> client) */
        uint64_t next_srv_request_id;
        struct hmap subs; /* hash(instance, uri) -> struct subscription */

        /* access rules and limits (access.c): the users file, cached decisions, and each
         * client's token bucket */
        struct users users;
        char users_id[128]; /* the users file's device, inode, size and mtime when read */
        struct hmap decisions;
        struct hmap clients;

        uint64_t session_idle_usec; /* MCP_SESSION_IDLE_TIMEOUT */
        sd_event_source *sweep_timer;
        bool shutting_down;
        uint64_t started_usec;

        /* Sessions that outlive the process (session-store.c): ids sealed with this key
         * (kept in the state directory, or random for this process alone), and the
         * snapshot of the sessions a clean stop left there. */
        uint8_t session_key[SEALED_KEY_SIZE];
        char *state_dir;          /* NULL: sessions end with the process */
        uint64_t started_ms;      /* wall clock: ids made before it are a former hub's */
        bool key_shared;          /* MCP_SESSION_KEY_FILE: other hosts make ids too */
        struct hmap ended;        /* sealed_id_tag() -> creation ms of sessions that ended */
        uint64_t resume_floor_ms; /* ids made at or before it never come back */
        int ended_fd;             /* ended.log, appended as sessions end */
        bool sessions_dirty;      /* a checkpoint is due */
        /* Until every server has started once (or failed, or HUB_STARTUP_WAIT_MS), new
         * exchanges wait: a client that came in during a restart sees the whole catalogue. */
        bool starting;
        sd_event_source *startup_timer;

        /* counters for the state picture */
        uint64_t n_requests;
        uint64_t n_streams_made; /* stream serials (stream.c) */
        size_t n_modern;         /* modern requests' sessions among h->sessions */
        struct hmap mrtrs;       /* continuation id -> struct mrtr (mrtr.c) */
        uint64_t next_mrtr_id;
        uint8_t mrtr_key[32]; /* requestState's MAC key, random to this process */
        bool mrtr_key_set;
        uint64_t mrtr_ttl_usec; /* MCP_INPUT_TIMEOUT: how long a call waits for its input */
        uint64_t n_errors;
        struct metrics *metrics; /* metrics.c: what hub_record() counted, made on first use */

        /* listen.c: the 2026-07-28 subscriptions/listen streams, and the timer of the list
         * changes they hold back */
        struct listen_stream *listen_streams;
        sd_event_source *listen_timer;

        /* memory.c: the budget (MCP_MEMORY_MAX_MIB), what the streams keep, the queues as
         * last counted, and MCP_SLOW_CLIENT_TIMEOUT */
        size_t mem_budget;
        size_t replay_bytes;
        size_t queued_bytes;
        uint64_t slow_client_usec;
        sd_event_source *memory_timer;
        uint64_t mem_note_usec;        /* the last "over the budget" warning */
        uint64_t mem_refuse_note_usec; /* the last "refusing new sessions" one */
        size_t mem_high_usage;         /* the most in use since malloc_trim() last ran */
        uint64_t n_refused_memory;     /* new sessions refused near the budget */
        uint64_t n_dropped_memory;     /* events dropped over the budget */
        uint64_t n_slow_closed;        /* front connections closed for reading too slowly */
};

/*
 * Where a message for a client goes: the front connection waiting for it
 * (conn_id), else the SSE stream of that session it belongs to (stream, or
 * the stream that connection opened), which buffers it for a resuming GET.
 */
struct target {
        uint64_t conn_id;
        char session[65];
        uint32_t stream; /* 0: the stream conn_id opened, if any */
};

/* ---- conn.c: one front exchange per connection ---- */
struct conn {
        struct hub *hub;
        uint64_t id;
        int fd;
        sd_event_source *source;
        sd_event_source *defer; /* input of the next exchange already buffered */
        struct buf in;
        struct buf out;
        bool have_envelope;
        cJSON *envelope_json;
        struct wire_envelope env;
        bool dispatched;
        bool streaming; /* a WIRE_REPLY_SSE line was sent */
        bool finished;  /* the final line is queued: close once flushed */
        bool read_eof;
        bool close_after;   /* a protocol error: close once the answer is out */
        bool parked;        /* waiting for the hub's start to finish (struct hub.starting) */
        bool resume_failed; /* could not be resumed after parking: to be closed */
        bool taken;         /* "taken" sent: the request went to an upstream */
        bool control;       /* came in on the control socket */
        char session[65];   /* the session whose stream this conn carries, if any */
        char modern[65];    /* the session of the modern request it carries (modern.c) */
        uint32_t stream;    /* that stream's id, 0 if none */
        size_t msg_bytes;   /* a POST's message line as the front sent it (audit) */
        /* backpressure (memory.c): more than HUB_CONN_OUT_HIGH queued, since when */
        bool congested;
        uint64_t congested_usec;
};

int hub_listen_start(struct hub *h);
/* The hub's start is over: parked exchanges go on. */
void conns_unpark(struct hub *h);
/* Tell the front its request goes to an upstream (it must not send it again). < 0: c is
 * gone (closed and freed). */
int conn_taken(struct conn *c);
void hub_conn_close(struct conn *c);
void conn_free(struct conn *c);
struct conn *hub_conn_get(struct hub *h, uint64_t id);
/* Queue one wire line (takes msg). final: the exchange ends after it. */
int conn_send(struct conn *c, cJSON *msg, bool final);
int conn_send_json(struct conn *c, int status, const char *session, cJSON *body);
int conn_send_error(struct conn *c, int status, cJSON *body);
/* 429 with Retry-After (seconds) and a JSON-RPC error body. */
int conn_send_limited(struct conn *c, cJSON *body, unsigned retry_after);
/* 503 with Retry-After: the hub's memory budget is nearly spent (a new session waits). */
int conn_send_busy(struct conn *c, cJSON *body, unsigned retry_after);
int conn_send_simple(struct conn *c, enum wire_reply t);
int conn_send_health(struct conn *c, cJSON *body);
/* Header line (takes header; "body":true is added) then payload on its own line (compact
 * JSON, no newline in it). */
int conn_send_payload(struct conn *c, cJSON *header, const char *payload, size_t plen, bool final);

/* ---- modern.c: 2026-07-28 requests ---- */
/* A modern request (env.modern), after the rate limit: served with a session of its own. */
void hub_route_modern(struct conn *c, cJSON *msg);
/* The exchange of c ends (gone: the front closed it first): its modern request's session
 * ends, its calls cancelled when gone. */
void modern_exchange_end(struct hub *h, struct conn *c, bool gone);
/* Dresses a message for a modern request's client (resultType, caching hints, serverInfo). */
void modern_outgoing(struct hub *h, const struct session *s, cJSON *msg);
/* An upstream's answer to a modern request: error codes of 2025 meanings mapped. */
void modern_upstream_answer(struct hub *h, const struct target *t, cJSON *msg);

/* Answers a server's request (id) on instance i with a JSON-RPC error (srv-request.c). */
void instance_answer_error(struct instance *i, const cJSON *id, int code, const char *msg);

/* ---- mrtr.c: input_required, a 2025 server's questions asked of a modern client ---- */
struct mrtr;
/* A server's request (elicitation, sampling, roots; takes msg) during a call of s, a modern
 * request's session: collected for the round's input_required, or answered at once. */
void mrtr_upstream_request(struct hub *h, struct instance *inst, struct session *s, cJSON *msg);
/* A retry (params.requestState): checked, and its call resumed on c. false: no
 * requestState, not a retry; true: dealt with (answered or resumed). */
bool mrtr_resume(struct conn *c, cJSON *msg, const cJSON *caps, int log_level);
/* The server's answer to a suspended call: kept for the retry (takes msg when true). */
bool mrtr_hold_answer(struct hub *h, const struct target *t, cJSON *msg);
bool mrtr_suspended(const struct session *s);
/* s ends: its server's waiting requests are answered (elicitation cancel, else an error). */
void mrtr_session_ending(struct hub *h, struct session *s);
void mrtr_free(struct mrtr *m);
void mrtrs_free_all(struct hub *h);
void mrtr_params_digest(const char *method, const cJSON *params, uint8_t out[32]);

/* ---- listen.c: 2026-07-28 subscriptions/listen ---- */
enum listen_kind {
        LISTEN_TOOLS,
        LISTEN_PROMPTS,
        LISTEN_RESOURCES,
        _LISTEN_KIND_MAX,
};

/* A modern subscriptions/listen request (takes msg; caps: its _meta's client capabilities):
 * answered with a stream that stays open, its first event the acknowledgement. */
void listen_request(struct conn *c, cJSON *msg, const cJSON *caps);
/* The catalogue's lists of kinds (1 << LISTEN_*) changed: the streams that listen to them
 * are told. */
void listen_lists_changed(struct hub *h, unsigned kinds);
/* A list_changed notification of an instance (takes msg, true) for the listen streams it
 * serves; false (msg untouched) for other notifications. */
bool listen_instance_note(struct hub *h, struct instance *inst, cJSON *msg);
/* notifications/resources/updated from inst, uri as the client knows it (msg is not taken). */
void listen_resource_updated(struct hub *h, struct instance *inst, const char *uri,
                             const cJSON *msg);
/* An instance is ready for the first time: the subscriptions made while it started go. */
void listen_instance_ready(struct hub *h, struct instance *inst);
/* The session of a listen stream ends: its upstream subscriptions are given back. */
void listen_session_ending(struct hub *h, struct session *s);
/* Shutdown: each stream ends with its final result. */
void listen_shutdown(struct hub *h);
void listen_free_all(struct hub *h);

/* ---- access.c: the users file's rules and limits ---- */
/* Reads MCP_USERS_PATH (none: everything allowed); -errno with err filled. */
int access_load(struct hub *h, struct users *ret, char *err, size_t errlen);
/* Puts u in force (takes it). */
void access_set(struct hub *h, struct users *u);
void access_done(struct hub *h);
const struct user_rules *access_rules(struct hub *h, const char *client);
/* May client use this name (as clients see it) of this kind on server? Cached. */
bool access_allow(struct hub *h, const char *client, enum users_kind kind, const char *server,
                  const char *name);
/* One request of client against its requests_per_minute: 0, or -EBUSY with the seconds
 * until the next one may come. */
int access_take_request(struct hub *h, const char *client, unsigned *ret_retry_after);
size_t access_calls_in_flight(struct hub *h, const char *client);
/* Bytes the streams of a client's sessions may hold ("max_buffer_mib", else
 * HUB_CLIENT_BUFFER_DEFAULT). */
size_t access_buffer_budget(struct hub *h, const char *client);
/* Adds delta to what the client's streams hold; returns the new total. */
size_t access_buffered(struct hub *h, const char *client, ssize_t delta);
/* Counts n events dropped over the budget; true (with *ret_total, the count since it was
 * last true) at most every HUB_BUFFER_NOTE_MS, when the drops are to be logged. */
bool access_note_dropped(struct hub *h, const char *client, size_t n, uint64_t *ret_total);

/* ---- record.c: audit records and metrics ---- */
enum record_outcome {
        RECORD_OK,         /* a result */
        RECORD_TOOL_ERROR, /* a result with isError */
        RECORD_ERROR,      /* a JSON-RPC error from the server, or the hub's about it */
        RECORD_TIMEOUT,    /* the server did not answer in time */
        RECORD_CANCELLED,  /* the client cancelled it */
        RECORD_DENIED,     /* refused by the access rules */
        RECORD_LIMITED,    /* refused by a rate limit or quota */
        _RECORD_OUTCOME_MAX,
};

/* What happened to one client request bound for a server (tools/call, prompts/get,
 * resources/read, completion/complete, subscriptions), for the audit record and the
 * metrics. Strings may be NULL when unknown. */
struct record {
        const char *client;
        const char *session;
        const char *server;
        const char *method;
        const char *name;      /* tool or prompt name, resource URI, as the client sees it */
        const char *args_hash; /* hex SHA-256 of the arguments' compact JSON, or NULL */
        size_t bytes_in;       /* the request as the client sent it */
        size_t bytes_out;      /* the answer */
        uint64_t duration_usec;
        enum record_outcome outcome;
        const char *detail; /* why, for errors, denials and limits (never a secret) */
        const char *limit;  /* RECORD_LIMITED: which, as users.h names it ("requests_per_minute",
                             * "concurrent_calls", "max_sessions"); NULL: found in detail */
        bool not_request;   /* no request of the client's (events dropped over a budget): not
                             * counted in mcp_proxy_requests_total */
};

/* One audit record (the journal's structured fields, else a stderr line) and the metrics. */
void hub_record(struct hub *h, const struct record *r);
const char *record_outcome_to_string(enum record_outcome o);

/* ---- metrics.c: GET /metrics, the Prometheus text format ---- */
/* Counts a record (hub_record() calls it). */
void metrics_count(struct hub *h, const struct record *r);
/* The exposition: the counters and the hub's state (the same as /health's). 0 or -errno. */
int metrics_render(struct hub *h, struct buf *b);
/* Answers an op=metrics exchange. */
void metrics_answer(struct conn *c);
void metrics_free(struct hub *h);

/* ---- control.c: the control socket, mcp-proxyctl's ---- */
struct ucred;
/* Binds the control socket (MCP_CONTROL_SOCKET); a failure is logged, not fatal. */
int control_setup(struct hub *h);
void control_done(struct hub *h);
bool control_peer_allowed(struct hub *h, int fd, const struct ucred *cred);
/* Runs the "ctl" envelope's command (refused on the fronts' socket). */
void control_command(struct conn *c);

/* ---- session.c ---- */
struct session {
        char id[65];
        char *client;
        char *protocol_version;
        cJSON *client_capabilities;
        cJSON *client_info;
        bool initialized;    /* notifications/initialized seen */
        bool legacy;         /* a 2024-11-05 HTTP+SSE session: everything goes on its stream */
        bool resumed;        /* taken back from a sealed id alone: capabilities from the id */
        char **subs_pending; /* restored subscriptions waiting for their server (strv) */
        uint64_t created_usec;
        uint64_t last_used_usec;
        struct sse_stream *streams; /* newest first */
        size_t n_streams;
        size_t stream_bytes;
        uint32_t next_stream_id;
        uint32_t get_stream; /* the stream of its GET (or legacy SSE) connection, 0 if none */
        int log_level;       /* logging/setLevel, as a syslog priority; -1 unset */
        char **subs;         /* resources/subscribe URIs, as the client named them */
        size_t n_subs;
        /* Whose instances serve it: the id itself, but for a modern request's session the
         * client's own key (its requests share instances, as a client's sessions do not). */
        char iso[65];
        /* A 2026-07-28 request's session (modern.c): made for that one request from its
         * _meta and ended with it; never saved, counted, evicted or expired. */
        bool modern;
        uint64_t modern_conn; /* the exchange it answers */
        char *modern_method;  /* what it asked */
        char *request_name;   /* its name or URI, for the log */
        cJSON *request_id;    /* the JSON-RPC id of its exchange (the retry's, once resumed) */
        uint8_t request_digest[32]; /* mrtr_params_digest() of the request */
        cJSON *input_responses;     /* a first request's own inputResponses, used up as asked */
        struct mrtr *mrtr;          /* its input_required rounds (mrtr.c), if any */
};

/* A new session, its id sealed with what a later hub needs to take it back: the client,
 * the protocol version, the capabilities (may be NULL) and whether it is legacy. */
struct session *session_new(struct hub *h, const char *client, const char *version,
                            const cJSON *capabilities, bool legacy);
struct session *session_get(struct hub *h, const char *id);
/* Adds a session under an id made before (a restored one); no cap is checked. */
struct session *session_insert(struct hub *h, const char *id, const char *client,
                               const char *version);
/* An id this hub does not know, presented by client: the session a former hub (or, with
 * a shared key, another host) made, taken back when its seal holds and nothing says it
 * ended. NULL otherwise. */
struct session *session_resume(struct hub *h, const char *id, const char *client);
void session_free(struct hub *h, struct session *s);
/* The session of one 2026-07-28 request (modern.c): its client, the exchange it answers, the
 * capabilities of its _meta. NULL with errno. */
struct session *session_new_modern(struct hub *h, const char *client, uint64_t conn_id,
                                   const cJSON *capabilities);
void sessions_free_all(struct hub *h);
/* End sessions unused for idle_usec (a session with an attached stream is in use). */
void sessions_expire(struct hub *h, uint64_t idle_usec);
size_t sessions_count(struct hub *h);
/* The GET streams of the sessions want() accepts (NULL: all), collected first: delivering
 * to them may end a session (a legacy one whose stream is gone). *ret is malloc'd. */
int sessions_get_targets(struct hub *h, bool (*want)(const struct session *s, const void *userdata),
                         const void *userdata, struct target **ret, size_t *ret_n);
bool session_has_capability(const struct session *s, const char *cap, const char *sub);
bool session_in_use(struct hub *h, const struct session *s);

/* ---- hub.c ---- */
/* Reads the configuration again and applies it by difference; -EINVAL when it is invalid
 * (h->reload_error says why; nothing changed). */
int hub_reload(struct hub *h);
/* Stops the server named so (its instances too) and starts it afresh; -ENOENT if none. */
int hub_restart_server(struct hub *h, const char *name);
/* Opens the start's gate when every server has started once (or at once, force). */
void hub_check_started(struct hub *h, bool force);

/* ---- session-store.c: the session key, what ended, the checkpoint ---- */
/* Reads (or makes) the key in the state directory; without one, a random key. */
int session_store_setup(struct hub *h);
void session_store_done(struct hub *h);
/* Writes the checkpoint (the live Streamable HTTP sessions and the ended set). */
int sessions_save(struct hub *h);
/* Takes back the sessions of the last checkpoint that have not ended since. */
int sessions_load(struct hub *h);
/* A session ends: remembered (and appended to ended.log) so that it never comes back. */
void session_store_note_end(struct hub *h, const struct session *s);
/* Did the session with this id, made then, end (or is it older than what we remember)? */
bool session_store_ended(struct hub *h, const char *id, uint64_t created_ms);
/* May an unknown id made then be taken back: before this hub, after the floor, within
 * HUB_SESSION_RESUME_MAX_DAYS? */
bool session_store_resumable(struct hub *h, uint64_t created_ms);
cJSON *session_caps_from_bits(uint8_t bits);
uint8_t session_caps_to_bits(const cJSON *caps);

/* ---- stream.c: SSE streams with event ids and a replay buffer ---- */
struct sse_event {
        uint32_t seq;
        char *data; /* compact JSON */
        size_t len;
        uint64_t at_usec; /* when it was recorded: kept at most SSE_REPLAY_MAX_AGE_MS */
        bool final;       /* its stream's response */
};

struct sse_stream {
        uint32_t id;
        uint64_t origin_conn; /* the POST or GET exchange that opened it */
        uint64_t conn_id;     /* attached front connection, 0 when detached */
        uint64_t serial;      /* the hub's count of streams made: older ones have less */
        bool is_get;
        bool finished;
        uint32_t next_seq;
        uint32_t sent_seq; /* the last event queued to the attached connection */
        /* A POST stream's request id (printed): when its response is lost (too large to keep,
         * or dropped before it was sent), lost_final is an error response for that id, sent
         * in its place as seq lost_seq, so a resuming client still gets an answer. */
        char *request_id;
        char *lost_final;
        uint32_t lost_seq;
        uint64_t finished_usec; /* when its response came (or it ended without one) */
        bool end_sent;          /* finished, everything and the end went to a connection */
        uint64_t done_usec;     /* ... then: kept SSE_FINISHED_LINGER_MS for a resume */
        struct sse_event *ring; /* SSE_REPLAY_EVENTS slots */
        size_t ring_start, ring_n;
        size_t bytes;
        struct sse_stream *next;
};

/* Deliver one JSON-RPC message (takes msg); final: the answer that ends a POST's
 * exchange. Returns 0, or -ENOTCONN when there is nowhere to deliver it. */
int hub_deliver(struct hub *h, const struct target *t, cJSON *msg, bool final);
/* The same, and *ret_bytes the size of the message as delivered (compact JSON; 0 when it
 * could not be printed). */
int hub_deliver_sized(struct hub *h, const struct target *t, cJSON *msg, bool final,
                      size_t *ret_bytes);
/* End a POST's exchange without an answer (its request was cancelled). */
int hub_deliver_end(struct hub *h, const struct target *t);
/* The target of a session's GET stream (stream 0 when it has none). */
void target_for_get(struct target *t, const struct session *s);
struct sse_stream *stream_new(struct hub *h, struct session *s, uint64_t origin_conn, bool is_get);
struct sse_stream *stream_find(struct session *s, uint32_t id);
/* Attach c to st: send the stream head, a priming event when new, then replay the
 * events after after_seq; end the exchange if st is finished. */
int stream_attach(struct hub *h, struct session *s, struct sse_stream *st, struct conn *c,
                  uint32_t after_seq, bool prime);
void stream_detach_conn(struct hub *h, struct conn *c);
void streams_free(struct hub *h, struct session *s);
/* Frees st and what it keeps, counting nothing (the hub's teardown). */
void stream_free(struct sse_stream *st);
/* "<stream>-<seq>" */
int stream_parse_event_id(const char *s, uint32_t *ret_stream, uint32_t *ret_seq);
/* c's queue drained below HUB_CONN_OUT_LOW: send what its stream holds back. */
void stream_conn_drained(struct hub *h, struct conn *c);
/* Drop kept events older than SSE_REPLAY_MAX_AGE_MS, and finished streams delivered
 * SSE_FINISHED_LINGER_MS ago. */
void streams_sweep(struct hub *h, uint64_t now);
/* Over the hub's budget: drop kept events hub-wide, oldest first (those already sent, then
 * those of answered exchanges no one reads, then the rest) until need bytes are gone.
 * Returns the bytes dropped. */
size_t streams_shed_hub(struct hub *h, size_t need);

/* ---- memory.c: the hub's memory budget and backpressure ---- */
int memory_setup(struct hub *h);
void memory_done(struct hub *h);
/* What the hub's buffers hold now, in bytes: kept events, queues to and from fronts and
 * servers. */
size_t memory_used(struct hub *h);
/* A new session would take the hub past HUB_MEMORY_REFUSE_PERCENT of its budget: refused,
 * counted and logged (rate-limited). */
bool memory_refuse_new(struct hub *h, const char *client);
/* The budget is spent after recording an event: shed hub-wide. */
void memory_check(struct hub *h);
/* /health's "memory" object. */
cJSON *memory_json(struct hub *h);
/* c's queue went over HUB_CONN_OUT_HIGH (congested) or back under HUB_CONN_OUT_LOW: pause or
 * resume reading the instances that serve only the session it carries. */
void memory_backpressure(struct hub *h, const char *session);

/* ---- catalogue.c: the aggregated tools, prompts, resources, templates ---- */
struct catalogue_entry {
        char *key; /* name or URI as the client sees it */
        struct server *server;
        const cJSON *obj; /* the server's entry (borrowed from its hub session's lists) */
};

/* Rebuild from the ready upstreams; ret_changed[k] (may be NULL) says which lists differ. */
int catalogue_rebuild(struct hub *h, bool *ret_changed);
const struct catalogue_entry *catalogue_find(struct hub *h, int kind, const char *key);
/* The i-th entry of a list, in the order clients see; NULL past the end. */
const struct catalogue_entry *catalogue_at(struct hub *h, int kind, size_t i);
size_t catalogue_count(struct hub *h, int kind);
/* Copies of entries [offset, offset+limit) as the client sees them. */
cJSON *catalogue_list_json(struct hub *h, int kind, size_t offset, size_t limit);
/* The same, only the entries client may use: at most limit of them from offset on;
 * *ret_next is where the next page starts (the list's end when there is none). */
cJSON *catalogue_list_json_for(struct hub *h, int kind, size_t offset, size_t limit,
                               const char *client, size_t *ret_next);
cJSON *catalogue_collisions_json(struct hub *h);
void catalogue_free(struct hub *h);
/* Client-visible names and URIs of a server's, and back. */
char *catalogue_name_out(struct hub *h, const struct server *srv, const char *name);
char *catalogue_uri_out(struct hub *h, const struct server *srv, const char *uri);
int catalogue_uri_in(struct hub *h, const char *uri, struct server **ret_srv, char **ret_orig);

/* ---- server.c: configured servers and their upstream instances ---- */

/*
 * A configured server. Its hub session (hub_inst) is the hub's own: the
 * catalogue comes from it, so listing never starts an instance; with
 * "shared" isolation it serves every client's calls too. With "client" or
 * "session" isolation, calls go to instances started on first use, one per
 * client id or client session, stopped when idle or when their last session
 * ends, at most cfg.max_instances at once.
 */
struct server {
        struct hub *hub;
        struct server_config cfg; /* its own copy: a reload replaces hub->config */
        const char *name;
        struct instance *hub_inst;
        struct instance *instances; /* client/session isolation, newest first */
        size_t n_instances;
        unsigned long refused; /* requests refused at maxInstances */
        bool retired;          /* removed or changed by a reload: stopping, then freed */
        struct server *next_retired;
        sd_event_source *reap;
};

/* A client request in flight on an instance, until its answer is delivered. */
struct call {
        struct instance *inst;
        uint64_t handle; /* upstream_call()'s */
        struct target target;
        cJSON *client_id; /* the client's own JSON-RPC id */
        char *method;
        uint64_t started_usec;
        /* for its audit record (hub_record()) */
        char *client;
        char *name;         /* as the client sees it, or NULL */
        char args_hash[65]; /* hex SHA-256 of the arguments' compact JSON, "" without any */
        size_t bytes_in;
        bool answered; /* call_done() delivers its answer: not to be cancelled meanwhile */
        struct call *prev, *next;
};

struct instance {
        struct server *srv;
        struct upstream *u;
        uint64_t id;        /* unique in this hub: subscriptions and server requests name it */
        bool hub_own;       /* the server's hub session */
        bool serves_all;    /* shared isolation: every client session uses it */
        char *client;       /* client/session isolation: whose */
        char session[65];   /* session isolation: which */
        struct call *calls; /* in flight here, newest first */
        size_t n_calls;
        int log_level;  /* logging/setLevel asked of the server, -1 never */
        bool stopping;  /* stopped on purpose: freed once the server is gone */
        bool was_ready; /* ready before: a restart must subscribe again */
        sd_event_source *idle_timer;
        sd_event_source *reap;
        struct instance *next;
};

int servers_setup(struct hub *h);
void servers_start(struct hub *h);
/* Reload by diff: servers whose name and configuration hash are unchanged keep running
 * (processes, instances, sessions); changed ones restart, removed ones stop (their
 * requests in flight get an error), new ones start. Copies what it needs of c. 0 or
 * -ENOMEM (then nothing changed). */
int servers_reload(struct hub *h, const struct config *c, const char *restart);
/* Stop every upstream (shutdown); true once all are stopped. */
void servers_stop_all(struct hub *h);
bool servers_all_stopped(struct hub *h);
void servers_free(struct hub *h);
/* The instance that serves session s on srv, started if need be. NULL with errno:
 * EUSERS (maxInstances reached), ENOMEM. */
struct instance *server_instance_for(struct server *srv, struct session *s);
/* The instance that serves s on srv if there is one (never starts one). */
struct instance *server_instance_find(struct server *srv, const struct session *s);
struct instance *instance_by_id(struct hub *h, uint64_t id);
/* Does session s use (or may it use) instance i? */
bool instance_has_session(const struct instance *i, const struct session *s);
/* How many sessions may use it. */
size_t instance_sessions(struct hub *h, const struct instance *i);
/* The newest call of session s in flight (or waiting) on instance i, if any. */
struct call *instance_session_call(const struct instance *i, const struct session *s);
/* The session a server's message belongs to: the one with requests in flight on i, or
 * i's only session. *ret_call: its newest call in flight (NULL when none). NULL, with
 * *ret_ambiguous set when several sessions have requests in flight. */
struct session *instance_attribute(struct instance *i, struct call **ret_call, bool *ret_ambiguous);
/* Sends a client request (takes msg) on inst for session s; the answer goes to t. name (the
 * name or URI the client used, may be NULL) and bytes_in (the request's size as the client
 * sent it) are for the audit record written when the call ends. */
int instance_call(struct instance *inst, struct session *s, cJSON *msg, const cJSON *client_id,
                  const struct target *t, const char *method, const char *name, size_t bytes_in);
/* The client cancelled a request of session s: true if it was in flight somewhere. */
bool hub_cancel_call(struct hub *h, struct session *s, const cJSON *client_id, const char *reason);
/* Cancels every call of session s in flight (a modern request's stream closed). */
void hub_cancel_session_calls(struct hub *h, struct session *s, const char *reason);
/* Points the calls of s at another exchange (0: none) and, when given, the client's id. */
void hub_retarget_session_calls(struct hub *h, struct session *s, uint64_t conn_id,
                                const cJSON *client_id);
/* The calls of s give up their turn on their servers (hold false) or take it again. */
void hub_session_calls_turn(struct hub *h, struct session *s, bool hold);
/* Their progress goes under this token of the client's now (NULL: dropped). */
void hub_session_calls_progress(struct hub *h, struct session *s, const cJSON *token);
/* A session ends: its instances stop when no other session uses them. */
void servers_session_ending(struct hub *h, struct session *s);
/* The server's state and its instances (client: only that client's), for the state
 * picture. */
cJSON *server_describe(struct server *srv, const char *client);
const char *instance_label(const struct instance *i, char *buf, size_t len);

/* ---- route.c ---- */
/* 503 with Retry-After and a JSON-RPC error for id: the memory budget is nearly spent. */
void route_refuse_busy(struct conn *c, const cJSON *id);
/* The answer to c's request (takes msg): on its exchange, or a legacy session's stream. */
void route_reply(struct conn *c, cJSON *msg);
void route_reply_error(struct conn *c, const cJSON *id, int code, const char *message);
/* Routes a client URI: the server and the URI as that server knows it (*ret_orig,
 * malloc'd). Answers and returns NULL when there is none, or it is not ready. */
struct server *route_uri(struct conn *c, const cJSON *id, const char *uri, char **ret_orig);
/* The choke point, before any instance is started: may c's client use this name of srv
 * (access rules), within its limits (calls in flight)? false after answering (a JSON-RPC
 * error, or HTTP 429), with an audit record. */
/* One request of session s (takes msg): answered by the hub, or checked and sent on. */
void route_request(struct conn *c, struct session *s, cJSON *msg);
/* The servers' instructions, for initialize and server/discover (NULL: none). */
cJSON *hub_instructions_json(struct hub *h);
bool route_check(struct conn *c, struct session *s, struct server *srv, const char *method,
                 enum users_kind kind, const char *name, const cJSON *id);
/* Sends a client request (takes msg), checked by route_check(), to inst; answers errors. */
void route_forward(struct conn *c, struct session *s, struct instance *inst, cJSON *msg,
                   const char *method, const char *name);
/* Answers a request that found no instance of srv (errno from server_instance_for()). */
void route_instance_error(struct conn *c, struct session *s, struct server *srv, const cJSON *id);
/* Handles one client message from a POST exchange (takes msg). */
void hub_route_message(struct conn *c, cJSON *msg);
void hub_route_get(struct conn *c);
void hub_route_delete(struct conn *c);
void hub_route_legacy_open(struct conn *c);
/* The hub's whole state as JSON: /health, control socket, metrics read this. */
/* client: only that client's instances (NULL: everyone's). */
cJSON *hub_state_json(struct hub *h, const char *client);
/* A session ends: its subscriptions, server requests and streams go with it. */
void hub_session_ending(struct hub *h, struct session *s);

/* ---- notify.c, srv-request.c, loglevel.c, subs.c: what servers send, and its routing ---- */
void hub_lists_changed(struct hub *h);
/* Every list changed, for every session (the access rules changed). */
void hub_lists_changed_all(struct hub *h);
void hub_instance_ready(struct hub *h, struct instance *i);
/* A request from the server to a client (sampling, elicitation, roots); takes msg. */
void hub_instance_request(struct hub *h, struct instance *i, cJSON *msg);
/* A notification from the server; takes msg. */
void hub_instance_notification(struct hub *h, struct instance *i, cJSON *msg);
/* Rewrites URIs in a result for the client (several servers). */
void hub_result_for_client(struct hub *h, struct server *srv, const char *method, cJSON *msg);
void srv_requests_sweep(struct hub *h);
/* Server requests of instance i are answered with an error (it is going away). */
void srv_requests_instance_gone(struct hub *h, struct instance *i);
/* From clients: notifications, responses to server requests, logging/setLevel (returns
 * the answer), resources/(un)subscribe. */
void hub_client_notification(struct hub *h, struct session *s, cJSON *msg);
void hub_client_response(struct hub *h, struct session *s, cJSON *msg);
cJSON *hub_set_log_level(struct hub *h, struct session *s, cJSON *msg);
/* The levels asked of the instances follow their sessions' (leaving: one going away). */
void loglevel_recompute(struct hub *h, const struct session *leaving);
void loglevel_apply(struct hub *h, struct instance *i);
int mcp_level_from_string(const char *s);
/* resources/(un)subscribe (takes msg). */
void hub_subscription(struct conn *c, struct session *s, cJSON *msg, bool subscribe);
void subs_resource_updated(struct hub *h, struct instance *i, cJSON *msg);
void srv_requests_cancelled(struct hub *h, struct instance *inst, cJSON *msg);
void srv_requests_elicitation_complete(struct hub *h, struct instance *inst, cJSON *msg);
/* Subscriptions per instance: returns the count after the change. */
unsigned hub_sub_ref(struct hub *h, const struct instance *i, const char *uri);
unsigned hub_sub_unref(struct hub *h, const struct instance *i, const char *uri);
void subs_resubscribe(struct hub *h, struct instance *i);
/* Asks instance i for resources/subscribe (or unsubscribe) of uri, answer unread. */
void subs_upstream_request(struct instance *i, bool subscribe, const char *uri);
/* Subscriptions held on instance i; forgetting them when it goes away. */
size_t subs_of_instance(struct hub *h, const struct instance *i);
void subs_instance_gone(struct hub *h, const struct instance *i);
void subs_session_ending(struct hub *h, struct session *s);
/* Restored sessions subscribe again once the servers of their URIs are ready. */
void subs_restore(struct hub *h);
void srv_requests_free_all(struct hub *h);
void srv_requests_session_ending(struct hub *h, struct session *s);
void subs_free_all(struct hub *h);
