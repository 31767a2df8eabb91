/* SPDX-License-Identifier: MIT */
/*
 * mcp-proxy-hub: the persistent daemon. One sd-event loop owns the front
 * listener and connections (conn.c), the client sessions (session.c), the
 * upstreams (src/upstream/), the aggregated catalogue (catalogue.c) and the
 * request router (route.c), whose hub_route_request() is the one choke
 * point every client request passes before an upstream sees it.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "buf.h"
#include "config/config.h"
#include "hashmap.h"
#include "proto/wire.h"

struct upstream;
struct curl_glue;

struct hub {
        sd_event *event;
        int listen_fd;
        bool listen_fd_owned; /* we bound it: unlink on exit */
        char *socket_path;
        sd_event_source *listen_source;
        /* who may connect: the socket file's owner, group and mode (see conn.c) */
        bool socket_known;
        uid_t socket_uid;
        gid_t socket_gid;
        mode_t socket_mode;
        const char *config_path;
        struct config config;

        struct upstream **upstreams;
        size_t n_upstreams;
        bool prefix_names; /* more than one upstream configured */

        struct hmap conns; /* id -> struct conn */
        uint64_t next_conn_id;
        size_t n_conns;

        struct hmap sessions; /* hash(id) -> struct session */

        struct catalogue *catalogue;
        struct curl_glue *curl; /* libcurl multi in the loop, made on first use (curl-glue.c) */

        uint64_t restart_delay_usec; /* first backoff delay */
        uint64_t session_idle_usec;  /* MCP_SESSION_IDLE_TIMEOUT */
        sd_event_source *sweep_timer;
        unsigned max_streak; /* failed starts before "failed" */
        bool shutting_down;
        uint64_t started_usec;

        /* counters for the state picture */
        uint64_t n_requests;
        uint64_t n_errors;
};

uint64_t now_usec(void);

/* ---- conn.c: one front exchange per connection ---- */
struct conn {
        struct hub *hub;
        uint64_t id;
        int fd;
        sd_event_source *source;
        struct buf in;
        struct buf out;
        bool have_envelope;
        cJSON *envelope_json;
        struct wire_envelope env;
        bool dispatched;
        bool streaming; /* an "sse" line was sent */
        bool finished;  /* the final line is queued: close once flushed */
        bool read_eof;
        char *session_id; /* session of a GET stream */
};

int hub_listen_start(struct hub *h);
void hub_conn_close(struct conn *c);
struct conn *hub_conn_get(struct hub *h, uint64_t id);
/* Queue one wire line (takes msg). final: the exchange ends after it. */
int conn_send(struct conn *c, cJSON *msg, bool final);
int conn_send_json(struct conn *c, int status, const char *session, cJSON *body);
int conn_send_error(struct conn *c, int status, cJSON *body);
int conn_send_simple(struct conn *c, const char *t);
/* A JSON-RPC message for the client waiting on conn id: the answer (final) or an
 * event before it. Returns -ENOTCONN when that connection is gone. */
int hub_conn_deliver(struct hub *h, uint64_t conn_id, cJSON *msg, bool final);

/* ---- session.c ---- */
struct session {
        char id[65];
        char *client;
        char *protocol_version;
        cJSON *client_capabilities;
        cJSON *client_info;
        bool initialized; /* notifications/initialized seen */
        uint64_t created_usec;
        uint64_t last_used_usec;
        uint64_t get_conn_id; /* open GET stream, 0 if none */
        uint64_t next_event_id;
};

struct session *session_new(struct hub *h, const char *client, const char *version);
struct session *session_get(struct hub *h, const char *id);
void session_free(struct hub *h, struct session *s);
void sessions_free_all(struct hub *h);
/* End sessions unused for idle_usec (a session with an open GET stream is in use). */
void sessions_expire(struct hub *h, uint64_t idle_usec);
size_t sessions_count(struct hub *h);

/* ---- catalogue.c: the aggregated tool names ---- */
struct catalogue_tool {
        char *name; /* as the client sees it */
        struct upstream *upstream;
        const cJSON *tool; /* the upstream's tool object (borrowed from upstream->tools) */
};

int catalogue_rebuild(struct hub *h);
const struct catalogue_tool *catalogue_find_tool(struct hub *h, const char *name);
/* A new array of the client-visible tool objects (copies, names rewritten). */
cJSON *catalogue_tools_json(struct hub *h);
cJSON *catalogue_collisions_json(struct hub *h);
void catalogue_free(struct hub *h);
size_t catalogue_n_tools(struct hub *h);

/* ---- route.c ---- */
/* Handles one client message from a POST exchange (takes msg). */
void hub_route_message(struct conn *c, cJSON *msg);
void hub_route_get(struct conn *c);
void hub_route_delete(struct conn *c);
/* The hub's whole state as JSON: /health, control socket, metrics read this. */
cJSON *hub_state_json(struct hub *h);

/* Upstream events the hub reacts to. */
void hub_upstream_catalogue_changed(struct hub *h, struct upstream *u);
void hub_upstream_stopped(struct hub *h, struct upstream *u);
