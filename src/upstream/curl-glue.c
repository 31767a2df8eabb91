/* SPDX-License-Identifier: MIT */
/* libcurl multi inside the hub's sd-event loop (see curl-glue.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "clock.h"
#include "hashmap.h"
#include "log.h"
#include "upstream/curl-glue.h"
#include "upstream/upstream.h"

#define TIMER_ACCURACY_USEC 1000ULL /* 0 would mean sd-event's default of 250 ms */

struct curl_glue {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
        struct hmap ios; /* fd + 1 -> io source, so none can outlive the glue */
};

static bool curl_global_done;

static int curl_errno(CURLMcode c)
{
        switch (c) {
        case CURLM_OK:
                return 0;
        case CURLM_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLM_RECURSIVE_API_CALL:
                return -EDEADLK;
        case CURLM_BAD_HANDLE:
        case CURLM_BAD_EASY_HANDLE:
        case CURLM_ADDED_ALREADY:
                return -EINVAL;
        default:
                return -EIO;
        }
}

/* Hands every finished transfer to its owner. Runs after each socket action, outside
 * libcurl's callbacks, so done() may add and remove handles. */
static void check_done(struct curl_glue *g)
{
        CURLMsg *m;
        int left;

        while ((m = curl_multi_info_read(g->multi, &left))) {
                struct curl_glue_xfer *x;
                CURL *easy = m->easy_handle;
                CURLcode result = m->data.result;
                char *priv = NULL;

                /* m is invalid once a handle is removed: copy what we need first. */
                if (m->msg != CURLMSG_DONE)
                        continue;
                x = curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv) == CURLE_OK
                        ? (struct curl_glue_xfer *)(void *)priv
                        : NULL;
                if (!x || !x->done) {
                        log_debug("curl: a finished transfer has no owner, removing it");
                        (void)curl_multi_remove_handle(g->multi, easy);
                        continue;
                }
                x->done(x, result);
        }
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct curl_glue *g = userdata;
        int action = 0, running = 0;
        CURLMcode c;

        if (revents & (EPOLLIN | EPOLLPRI | EPOLLHUP))
                action |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                action |= CURL_CSELECT_OUT;
        if (revents & EPOLLERR)
                action |= CURL_CSELECT_ERR;
        c = curl_multi_socket_action(g->multi, fd, action, &running);
        if (c != CURLM_OK)
                log_debug("curl: socket action on fd %d: %s", fd, curl_multi_strerror(c));
        check_done(g);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct curl_glue *g = userdata;
        int running = 0;
        CURLMcode c;

        c = curl_multi_socket_action(g->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        if (c != CURLM_OK)
                log_debug("curl: timeout action: %s", curl_multi_strerror(c));
        check_done(g);
        return 0;
}

/* CURLMOPT_SOCKETFUNCTION: watch, change or forget one socket. */
static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
        struct curl_glue *g = userp;
        sd_event_source *io = socketp;
        uint32_t events = 0;

        if (what == CURL_POLL_REMOVE) {
                if (io) {
                        (void)curl_multi_assign(g->multi, fd, NULL);
                        (void)hmap_remove(&g->ios, (uint64_t)fd + 1);
                        sd_event_source_disable_unref(io);
                }
                return 0;
        }
        if (what & CURL_POLL_IN)
                events |= EPOLLIN;
        if (what & CURL_POLL_OUT)
                events |= EPOLLOUT;
        if (io) {
                if (sd_event_source_set_io_events(io, events) < 0 ||
                    sd_event_source_set_enabled(io, SD_EVENT_ON) < 0)
                        return -1;
                return 0;
        }
        if (sd_event_add_io(g->event, &io, fd, events, on_io, g) < 0)
                return -1;
        (void)sd_event_source_set_description(io, "curl-socket");
        if (hmap_put(&g->ios, (uint64_t)fd + 1, io) < 0) {
                sd_event_source_disable_unref(io);
                return -1;
        }
        if (curl_multi_assign(g->multi, fd, io) != CURLM_OK) {
                (void)hmap_remove(&g->ios, (uint64_t)fd + 1);
                sd_event_source_disable_unref(io);
                return -1;
        }
        return 0;
}

/* CURLMOPT_TIMERFUNCTION: only (re)arm our time source; never call libcurl from here. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
        struct curl_glue *g = userp;

        if (timeout_ms < 0)
                return sd_event_source_set_enabled(g->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        /* "Now" must be a time already past: a timer due now with 1 ms accuracy may wait
         * that millisecond, which every POST would then pay. */
        if (sd_event_source_set_time(
                g->timer, timeout_ms == 0 ? 1 : now_usec() + (uint64_t)timeout_ms * 1000) < 0 ||
            sd_event_source_set_enabled(g->timer, SD_EVENT_ONESHOT) < 0)
                return -1;
        return 0;
}

static struct curl_glue *glue_free(struct curl_glue *g)
{
        size_t i = 0;
        void *v;

        if (!g)
                return NULL;
        /* The socket callback may still run in here (REMOVE for cached connections):
         * only then do the io sources go. */
        if (g->multi)
                (void)curl_multi_cleanup(g->multi);
        while (hmap_next(&g->ios, &i, NULL, &v))
                sd_event_source_disable_unref(v);
        hmap_done(&g->ios);
        sd_event_source_disable_unref(g->timer);
        free(g);
        return NULL;
}

struct curl_glue *curl_glue_get(struct upstream_env *env)
{
        struct curl_glue *g;
        int r;

        if (env->curl)
                return env->curl;
        if (!curl_global_done) {
                /* Once per process, single-threaded, before the first handle. */
                if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                        /* Also what the loader (src/hub/curl-dl.c) says without libcurl. */
                        log_error("curl_global_init() failed");
                        errno = ELIBACC;
                        return NULL;
                }
                curl_global_done = true;
        }
        g = calloc(1, sizeof(*g));
        if (!g) {
                errno = ENOMEM;
                return NULL;
        }
        g->event = env->event;
        r = sd_event_add_time(env->event, &g->timer, CLOCK_MONOTONIC, UINT64_MAX,
                              TIMER_ACCURACY_USEC, on_timer, g);
        if (r < 0) {
                log_error_errno(r, "cannot add the curl timer: %m");
                glue_free(g);
                errno = -r;
                return NULL;
        }
        (void)sd_event_source_set_enabled(g->timer, SD_EVENT_OFF);
        (void)sd_event_source_set_description(g->timer, "curl-timer");
        g->multi = curl_multi_init();
        if (!g->multi ||
            curl_multi_setopt(g->multi, CURLMOPT_SOCKETFUNCTION, socket_cb) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_SOCKETDATA, g) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_TIMERFUNCTION, timer_cb) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_TIMERDATA, g) != CURLM_OK) {
                log_error("cannot set up the curl multi handle");
                glue_free(g);
                errno = ENOMEM;
                return NULL;
        }
        log_debug("curl: %s", curl_version());
        env->curl = g;
        return g;
}

void curl_glue_free(struct upstream_env *env)
{
        if (!env->curl)
                return;
        env->curl = glue_free(env->curl);
        if (curl_global_done) {
                curl_global_cleanup();
                curl_global_done = false;
        }
}

int curl_glue_add(struct curl_glue *g, struct curl_glue_xfer *x)
{
        if (curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x) != CURLE_OK)
                return -EINVAL;
        return curl_errno(curl_multi_add_handle(g->multi, x->easy));
}

void curl_glue_remove(struct curl_glue *g, struct curl_glue_xfer *x)
{
        if (g && x && x->easy)
                (void)curl_multi_remove_handle(g->multi, x->easy);
}
