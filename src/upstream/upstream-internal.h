/* SPDX-License-Identifier: MIT */
/*
 * What the parts of the upstream module share, and nothing outside it sees:
 * upstream.c (lifecycle, handshake, messages from the server), pending.c
 * (the requests in flight, their timeouts, calls, turn-taking), lists.c
 * (fetching the server's lists, page by page).
 */
#pragma once

#include "upstream/upstream.h"

#define TIMER_ACCURACY_USEC (1 * USEC_PER_MSEC)

/* A request sent upstream, by upstream-side id. */
enum pending_kind {
        PENDING_CALL,     /* on an owner's behalf: ends with cb->done */
        PENDING_INTERNAL, /* the upstream's own (initialize, list pages, setLevel) */
};

struct pending;
typedef void (*pending_done_cb)(struct upstream *u, struct pending *p, cJSON *msg);

struct pending {
        struct turn turn; /* party, and the link while waiting (first: see turn_pending) */
        int64_t upstream_id;
        enum pending_kind kind;
        char *method; /* for logs and errors */
        /* calls */
        const struct upstream_call_cb *cb;
        void *cb_userdata;
        cJSON *progress_token; /* the caller's _meta.progressToken, if it sent one */
        bool counted;          /* turns_begin() done */
        /* internal requests */
        pending_done_cb done;
        int list_kind; /* for list fetches */
        sd_event_source *timer;
        cJSON *queued_msg; /* waiting (session starting, or its turn), not sent yet */
        uint64_t started_usec;
        uint64_t timeout_usec;
        struct upstream *upstream;
};

static inline struct pending *turn_pending(struct turn *t)
{
        return (struct pending *)t;
}

static inline uint64_t upstream_request_timeout_usec(struct upstream *u)
{
        return (uint64_t)u->cfg.request_timeout_ms * USEC_PER_MSEC;
}

/* ---- pending.c ---- */
/* Print and send one message (not tracked). 0 or -errno (-ENOTCONN when down). */
int upstream_send_message(struct upstream *u, const cJSON *msg);
/* A request of the upstream's own; done (may be NULL) gets the response or NULL. */
int pending_internal_request(struct upstream *u, const char *method, cJSON *params,
                             pending_done_cb done, uint64_t timeout_usec, int list_kind);
/* Every request in flight or waiting ends with this error. */
void pending_fail_all(struct upstream *u, int code, const char *message);
/* Send the waiting requests whose turn it is. */
void pending_dispatch(struct upstream *u);
/* A response from the server; a notifications/progress (both take msg). */
void pending_response(struct upstream *u, cJSON *msg);
void pending_progress(struct upstream *u, cJSON *msg);

/* ---- lists.c ---- */
/* (Re)fetch one list, all pages. 0 also when the server does not have it. */
int lists_refresh(struct upstream *u, enum list_kind k);

/* ---- upstream.c ---- */
void upstream_become_ready(struct upstream *u);
void upstream_lists_changed(struct upstream *u);
