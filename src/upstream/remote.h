/* SPDX-License-Identifier: MIT */
/*
 * What the two remote transports (upstream-http.c: Streamable HTTP,
 * upstream-sse.c: legacy HTTP+SSE) share: one transfer object around a
 * libcurl easy handle, its answer read as JSON or as an SSE stream, and a
 * transport base with the list of transfers in flight, the long-lived GET
 * stream, the messages held back, the two deferred steps (deliver queued
 * messages, finish a stop), and what both do with a failed transfer.
 *
 * Threading rule (curl docs): write callbacks run inside libcurl, so they
 * only buffer: a parsed message waits in its transfer's queue until the
 * flush source (next loop iteration) or the transfer's end hands it to
 * upstream.c. Transfer ends come through the glue, outside libcurl.
 *
 * Lifetime rule: the transport object is freed only by ops->free (called
 * by the finish step or by upstream_free()), never from inside stop(), so
 * code that called into upstream.c can still look at it (r->stopping) when
 * that call returns.
 */
#pragma once

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "proto/sse.h"
#include "upstream/curl-glue.h"
#include "upstream/upstream.h"

enum remote_answer {
        ANSWER_NONE,  /* nothing came yet (or no body) */
        ANSWER_JSON,  /* 2xx application/json: buffered whole */
        ANSWER_SSE,   /* 2xx text/event-stream: parsed as it comes */
        ANSWER_OTHER, /* anything else: the start kept for error messages */
};

struct remote;

struct remote_xfer {
        struct curl_glue_xfer glue; /* CURLOPT_PRIVATE points here */
        struct remote *r;
        struct remote_xfer *prev, *next; /* in r->xfers while in the multi */
        bool linked;
        int kind;                /* the transport's */
        const char *http_method; /* static string */
        char errbuf[CURL_ERROR_SIZE];
        struct curl_slist *headers;
        /* what we send */
        char *body;
        size_t body_len;
        bool is_request; /* body is a JSON-RPC request ... */
        bool has_num_id; /* ... with a numeric id (ours, from upstream.c) */
        int64_t num_id;
        cJSON *id;          /* its id as sent, for error answers */
        char *method;       /* or the notification's method */
        bool retried;       /* already sent again once (after a lost session) */
        bool probe;         /* the transport's own session check */
        char *session_sent; /* the Mcp-Session-Id it carried */
        /* the answer */
        bool answer_seen;
        long status;
        enum remote_answer answer;
        char *session_id; /* its Mcp-Session-Id header */
        struct buf in;    /* JSON body, or the start of another body */
        struct sse_parser sse;
        bool sse_ready;
        cJSON *queue;        /* parsed events waiting: message objects; endpoint strings */
        char *last_event_id; /* the last "id:" this stream carried */
        long retry_ms;       /* its last "retry:", -1 when none */
        bool got_response;   /* the response to num_id was delivered */
        bool overflow;       /* the answer went over REMOTE_MAX_MESSAGE */
};

struct remote_held;

struct remote {
        struct upstream *u;
        struct curl_glue *glue;
        struct remote_xfer *xfers;
        unsigned n_xfers;
        struct remote_xfer *stream; /* the GET stream, if open: cleared when it ends or is freed */
        struct remote_held *held;   /* messages held back, in order (remote_hold()) */
        unsigned n_held;
        sd_event_source *flush;  /* delivers queued events */
        sd_event_source *finish; /* completes a stop: ops->free, then upstream_transport_stopped */
        bool stopping;
        char *url_shown; /* the URL without credentials, query or fragment */
        /* A transfer ended (it is out of the list and the multi); the hook owns and frees it. */
        void (*xfer_done)(struct remote *r, struct remote_xfer *x, CURLcode result);
        /* An event of x on its way to upstream.c (takes ev): returns what to deliver, or
         * NULL when the transport consumed it (endpoint events, its own requests). */
        cJSON *(*on_event)(struct remote *r, struct remote_xfer *x, cJSON *ev);
};

/* Allocates the transport, size bytes with struct remote first, as u->transport and
 * sets up its base. -EBUSY when u has one already; on another failure u->ops->free(u)
 * has freed it again. */
int remote_new(struct upstream *u, size_t size,
               void (*xfer_done)(struct remote *r, struct remote_xfer *x, CURLcode result),
               cJSON *(*on_event)(struct remote *r, struct remote_xfer *x, cJSON *ev));
/* Cancels every transfer, frees sources, strings and held messages (not r itself). */
void remote_done(struct remote *r);

/* A transfer to url: http_method "GET", "POST" (body set later) or "DELETE"; timeout_ms
 * 0 = none. Carries the config's headers; add more with remote_xfer_header(). */
struct remote_xfer *remote_xfer_new(struct remote *r, int kind, const char *http_method,
                                    const char *url, long timeout_ms);
int remote_xfer_header(struct remote_xfer *x, const char *fmt, ...) _printf_(2, 3);
/* The JSON-RPC message to POST (copied) and what it is; -EINVAL if it is not JSON. */
int remote_xfer_body(struct remote_xfer *x, const char *data, size_t len);
/* Hands the body over (for a resend). */
char *remote_xfer_take_body(struct remote_xfer *x, size_t *ret_len);
int remote_xfer_start(struct remote_xfer *x);
/* Removes it from the multi (if in) and frees it. NULL. */
struct remote_xfer *remote_xfer_free(struct remote_xfer *x);
/* The transfer in flight that carries request id (numeric), or NULL. */
struct remote_xfer *remote_xfer_find(struct remote *r, int kind, int64_t id);
/* Backpressure (upstream_ops.pause of both remote transports, whose state begins with its
 * struct remote): stop (true) or go on (false) receiving on every transfer, and on those
 * started meanwhile (r->u->paused). What libcurl held back comes when it goes on. */
void remote_ops_pause(struct upstream *u, bool paused);
/* upstream_ops.buffered of both: bytes its transfers hold, bodies sent and answers read. */
size_t remote_ops_buffered(struct upstream *u);

/* Delivers x's queued events. false when the transport began stopping meanwhile. */
bool remote_deliver(struct remote *r, struct remote_xfer *x);
/* The first step of ops->stop: frees every transfer and held message and stops
 * delivering; true when the transport has the rest of its stop to do. False without
 * a transport (upstream.c is told it stopped) or when it is stopping already. */
bool remote_stop_begin(struct upstream *u);
/* Finishes the stop on the next loop iteration. */
void remote_finish_later(struct remote *r);
/* Finishes it now: ops->free(u), then upstream_transport_stopped(u). r is gone after. */
void remote_finish_now(struct remote *r);

/* The server is down for us (upstream_transport_down()), for the reason fmt says. */
void remote_down(struct remote *r, const char *fmt, ...) _printf_(2, 3);
/* The timeout of a POST whose answer does not stream: the request timeout, or the
 * longest one when there is none, capped. */
long remote_post_timeout_ms(struct upstream *u);

/* Whether a failed transfer means the server cannot be reached (vs. a failure of this
 * transfer alone); fills why with a reason for logs and errors. */
bool remote_unreachable(struct remote_xfer *x, CURLcode result, char *why, size_t len);
/* The start of most transfers' end: deliver what x carried, then, when it failed because the
 * server cannot be reached, take the server down. True when that dealt with x (freed it);
 * else why holds the reason when result failed. */
bool remote_done_gone(struct remote *r, struct remote_xfer *x, CURLcode result, char *why,
                      size_t len);
/* 502, 503, 504: a gateway says the server is not there. */
bool remote_status_unavailable(long status);
/* "HTTP 400: <the server's JSON-RPC error message or the start of its body>". */
void remote_status_text(struct remote_xfer *x, char *buf, size_t len);
/* The error code a server's JSON-RPC error body carried, or def. */
int remote_status_code(struct remote_xfer *x, int def);
/* Answers x's request with an error naming the server (through upstream.c, so the
 * client gets it at once). No-op for notifications, responses and answered requests. */
void remote_fail_request(struct remote *r, struct remote_xfer *x, int code, const char *fmt, ...)
    _printf_(4, 5);
/* The server refused x (an error status, why from remote_status_text()): its request
 * fails with the server's error code, a notification or response is logged. Frees x. */
void remote_refused(struct remote *r, struct remote_xfer *x, const char *why);
/* x failed after it may have gone out (its request already failed): a notification or
 * response may not have reached the server, which is logged. Frees x. */
void remote_maybe_lost(struct remote *r, struct remote_xfer *x, const char *why);
/* "url" and, with no "transport" in the config, "detected" for ops->describe. */
void remote_describe(struct remote *r, cJSON *o, const char *detected);

/* scheme://host[:port]/path of url; malloc'd, NULL on OOM. */
char *remote_url_shown(const char *url);

/* Messages held back in r->held (while re-initializing, before the endpoint), in order.
 * remote_hold() takes data on success only; remote_hold_copy() copies it. */
struct remote_held {
        struct remote_held *next;
        char *data;
        size_t len;
        bool retried;
};
int remote_hold(struct remote *r, char *data, size_t len, bool retried);
int remote_hold_copy(struct remote *r, const char *data, size_t len);
struct remote_held *remote_held_pop(struct remote *r);
void remote_held_free_all(struct remote *r);

/* upstream-sse.c: take over from the Streamable HTTP transport, which found a legacy
 * server (TRANSPORT_AUTO): upstream.c already sent initialize (data, taken), so this
 * transport sends it once it has the endpoint instead of calling upstream_transport_up().
 * Sets u->ops and u->transport. */
int upstream_sse_adopt(struct upstream *u, char *data, size_t len);
