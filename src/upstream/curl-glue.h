/* SPDX-License-Identifier: MIT */
/*
 * libcurl's multi-socket interface driven by the hub's sd-event loop (after
 * systemd's src/shared/curl-util.c): curl tells us which sockets to watch
 * (CURLMOPT_SOCKETFUNCTION: one sd-event io source each, kept with
 * curl_multi_assign) and when to wake it (CURLMOPT_TIMERFUNCTION: one
 * re-armed time source, 1 ms accuracy). Nothing here blocks.
 *
 * A transfer is a struct curl_glue_xfer embedded in the transport's own
 * transfer object; CURLOPT_PRIVATE points at it. Its done() runs from the
 * loop, never inside a libcurl callback, so it may add and remove handles
 * and call back into the hub. Write and header callbacks do run inside
 * libcurl: they must only buffer.
 *
 * Made on first use, one per loop: curl_glue_get(env) keeps it in env->curl.
 * Teardown order: every easy handle removed (upstreams freed) first, then
 * curl_glue_free(env) (curl_multi_cleanup, which may still call the socket
 * callback, then the io and time sources), then the loop.
 */
#pragma once

#include <curl/curl.h>

struct upstream_env;
struct curl_glue;

struct curl_glue_xfer {
        CURL *easy;
        /* The transfer ended (result CURLE_OK or an error). Must take the handle out of
         * the multi with curl_glue_remove() before freeing it. */
        void (*done)(struct curl_glue_xfer *x, CURLcode result);
};

/* The loop's glue, made (and curl_global_init'ed) on the first call and kept in
 * env->curl; NULL with errno set on failure (ELIBACC: libcurl could not be loaded or
 * initialized). */
struct curl_glue *curl_glue_get(struct upstream_env *env);
void curl_glue_free(struct upstream_env *env);

/* Sets CURLOPT_PRIVATE to x and adds x->easy to the multi. 0 or -errno. */
int curl_glue_add(struct curl_glue *g, struct curl_glue_xfer *x);
/* Takes x->easy out of the multi (safe when it is not in); the caller cleans it up. */
void curl_glue_remove(struct curl_glue *g, struct curl_glue_xfer *x);
