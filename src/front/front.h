/* SPDX-License-Identifier: MIT */
/*
 * mcp-proxy, the per-connection front: one process serves one client
 * connection (HTTP/1.1, keep-alive, pipelining), answers what it can alone
 * and relays MCP traffic to the hub over one UNIX stream per exchange.
 * It keeps no state beyond its connection.
 */
#pragma once

#include <cjson/cJSON.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "auth/auth.h"
#include "buf.h"
#include "http/http-parse.h"

/* What stat() said of the key file when its keys were loaded: a changed file differs. */
struct front_key_file_id {
        int error; /* errno of a failed stat(), else 0 and the rest */
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime, ctime;
};

struct front_settings {
        size_t max_header;
        size_t max_body;
        int idle_ms;
        int read_ms;
        int head_ms;              /* a new connection's first request head, from its accept */
        unsigned listen_max_idle; /* listen mode: connections held before their first byte */
        char *hub_socket;
        char *mcp_path;      /* "/mcp" or "/<prefix>/mcp" */
        char *sse_path;      /* legacy transport: "/sse" or "/<prefix>/sse" */
        char *messages_path; /* legacy transport: "/messages" or "/<prefix>/messages" */
        struct keyring keys; /* MCP_API_KEYS, then the key file's */
        char *keys_path;     /* MCP_API_KEYS_PATH, or NULL */
        struct front_key_file_id keys_file_id;
        bool auth_disabled;
        char **allowed_origins; /* NULL-terminated; "*" allows any */
        char **allowed_hosts;   /* extra Host names accepted on loopback */
};

struct front_conn {
        struct front_settings *set; /* not const: the keys follow their file */
        int in_fd, out_fd;
        char peer[80];
        bool local_loopback;
        struct buf in;
        bool client_eof;
        bool close_after; /* Connection: close on the response being written */
        unsigned n_requests;
        uint64_t started_usec;
};

/* A parsed request with everything routing needs. */
struct front_request {
        struct http_request http;
        struct http_header headers[100];
        size_t head_len;
        const char *body;
        size_t body_len;
        bool keep_alive;
        uint64_t start_usec;
        /* filled in along the way, for the log line */
        const char *client;
        const struct api_key *key; /* the key that authenticated it (NULL without auth) */
        char rpc_method[64];
        const cJSON *rpc_id; /* the request's id (borrowed from its parsed body), if any */
        int status;
        char origin[256];        /* echoed in CORS headers when allowed */
        char legacy_session[80]; /* sessionId= of a legacy message POST */
        bool cors;
        bool modern; /* a 2026-07-28 request that passed front_modern_check() */
};

int front_settings_load(struct front_settings *s);
void front_settings_done(struct front_settings *s);
/* One stat() of the key file; when it changed since its keys were loaded,
 * load them again (a file that cannot be read or parsed leaves only the
 * MCP_API_KEYS keys). Call before each authentication. */
void front_settings_refresh_keys(struct front_settings *s);

/* Serve one connection, accepted at accepted_usec (front_now_usec()), until it closes. */
void front_serve(struct front_settings *set, int in_fd, int out_fd, uint64_t accepted_usec);
/* "address:port" of the peer of a socket, "unix", or "local" when it has none. */
void front_peer_name(int fd, char *out, size_t n);

/* ---- listener.c ---- */
/* Listen mode on the listening socket lfd (closed on return): accept, hold each
 * connection until its first byte, fork a child to serve it. Returns on SIGTERM or
 * SIGINT (0; children finish on their own), or -errno when the loop cannot run. */
int front_listener_run(struct front_settings *set, int lfd);

/* ---- modern.c: 2026-07-28 requests ---- */
/* A POST of the modern revision (basic/versioning §4): _meta names a protocol version, the
 * MCP-Protocol-Version header is not a 2025 one, or the method is server/discover. */
bool front_modern_request(const struct front_request *r, const cJSON *msg);
/* The checks of a modern request before it goes to the hub, answered with the spec's status
 * and error: 0 (r->modern set), 1 when refused, -errno on I/O. */
int front_modern_check(struct front_conn *c, struct front_request *r, const cJSON *msg);

/* ---- listen-fds.c ---- */
#define FRONT_LISTEN_FDS_START 3
/* Number of fds passed by the service manager (sd_listen_fds(3) semantics), -errno. */
int front_listen_fds(void);
/* 1 if fd is a listening stream socket, 0 if a connected one, -errno otherwise. */
int front_fd_is_listening_stream(int fd);

/* ---- io.c ---- */
uint64_t front_now_usec(void);
/* Write everything within timeout_ms; -errno on failure (-ETIMEDOUT). */
int front_write_all(int fd, const void *data, size_t len, int timeout_ms);
int front_writev_all(int fd, const struct iovec *iov, int n, int timeout_ms);

/* ---- respond.c ---- */
struct front_response {
        int status;
        const char *content_type;
        const char *body;
        size_t body_len;
        const char *extra_headers; /* full "Name: value\r\n" lines, may be NULL */
        const char *session_id;
};
int front_respond(struct front_conn *c, struct front_request *r, const struct front_response *resp);
/* A JSON body {"jsonrpc":"2.0","id":ID,"error":{code,message}} with this status; ID is the
 * request's when its body was read (r->rpc_id), else null. */
int front_respond_rpc_error(struct front_conn *c, struct front_request *r, int status, int code,
                            const char *message, const char *extra_headers);
/* The same with error.data (taken). */
int front_respond_rpc_error_data(struct front_conn *c, struct front_request *r, int status,
                                 int code, const char *message, cJSON *data,
                                 const char *extra_headers);
/* Start of an SSE response: headers only, chunked on HTTP/1.1. */
int front_sse_start(struct front_conn *c, struct front_request *r, const char *session_id);
int front_sse_write(struct front_conn *c, struct front_request *r, const char *data, size_t len);
int front_sse_end(struct front_conn *c, struct front_request *r);
/* Adds CORS response headers for an allowed Origin into out. */
void front_cors_headers(const struct front_request *r, struct buf *out);

/* ---- relay.c ---- */
enum relay_op {
        RELAY_POST,
        RELAY_GET,
        RELAY_DELETE,
        RELAY_HEALTH,
        RELAY_METRICS,     /* GET /metrics, for a key with the "metrics" scope */
        RELAY_SSE,         /* legacy 2024-11-05: GET /sse */
        RELAY_LEGACY_POST, /* legacy: POST /messages?sessionId= */
};
/* Runs one exchange with the hub and writes the HTTP response. For
 * RELAY_HEALTH and RELAY_METRICS, *ret_body receives the hub's answer (the
 * state as JSON text, the metrics text; malloc'd) instead, or NULL when it
 * had none, and nothing is written. Returns 0, or -errno when the
 * connection must close. */
int front_relay(struct front_conn *c, struct front_request *r, enum relay_op op,
                const char *message, char **ret_body);
