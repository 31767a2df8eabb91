/* SPDX-License-Identifier: MIT */
/* The transfer object and transport base of the remote upstreams (see remote.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "json.h"
#include "log.h"
#include "mcp-limits.h"
#include "proto/jsonrpc.h"
#include "upstream/remote.h"

/* Headers the transports set themselves: a config entry with one of these names is
 * ignored (sending both would confuse the server). */
static const char *const managed_headers[] = {
    "Accept",
    "Content-Type",
    "Content-Length",
    "Transfer-Encoding",
    "Expect",
    "Mcp-Session-Id",
    "MCP-Protocol-Version",
    "Mcp-Method",
    "Mcp-Name",
    "Last-Event-ID",
    "Host",
    NULL,
};

static bool header_is_managed(const char *h)
{
        size_t n = strcspn(h, ":");

        for (size_t i = 0; managed_headers[i]; i++)
                if (strlen(managed_headers[i]) == n && strncasecmp(h, managed_headers[i], n) == 0)
                        return true;
        return false;
}

/* ---------------------------------------------------------------- base */

static int flush_cb(sd_event_source *s, void *userdata);
static int finish_cb(sd_event_source *s, void *userdata);

static int remote_init(struct remote *r, struct upstream *u)
{
        int k;

        r->u = u;
        r->glue = curl_glue_get(u->env);
        if (!r->glue)
                return errno > 0 ? -errno : -ENOMEM;
        r->url_shown = remote_url_shown(u->cfg.url);
        if (!r->url_shown)
                return -ENOMEM;
        if ((k = sd_event_add_defer(u->env->event, &r->flush, flush_cb, r)) < 0 ||
            (k = sd_event_source_set_enabled(r->flush, SD_EVENT_OFF)) < 0 ||
            (k = sd_event_add_defer(u->env->event, &r->finish, finish_cb, r)) < 0 ||
            (k = sd_event_source_set_enabled(r->finish, SD_EVENT_OFF)) < 0)
                return k;
        for (size_t i = 0; u->cfg.headers && u->cfg.headers[i]; i++)
                if (header_is_managed(u->cfg.headers[i]))
                        upstream_log(u, LOG_WARNING,
                                     "header '%.*s' is set by the transport, ignoring the config's",
                                     (int)strcspn(u->cfg.headers[i], ":"), u->cfg.headers[i]);
        return 0;
}

int remote_new(struct upstream *u, size_t size,
               void (*xfer_done)(struct remote *r, struct remote_xfer *x, CURLcode result),
               cJSON *(*on_event)(struct remote *r, struct remote_xfer *x, cJSON *ev))
{
        struct remote *r;
        int k;

        if (u->transport)
                return -EBUSY;
        r = calloc(1, size);
        if (!r)
                return -ENOMEM;
        u->transport = r;
        r->xfer_done = xfer_done;
        r->on_event = on_event;
        k = remote_init(r, u);
        if (k < 0) {
                u->ops->free(u);
                return k;
        }
        return 0;
}

void remote_done(struct remote *r)
{
        while (r->xfers)
                remote_xfer_free(r->xfers);
        r->flush = sd_event_source_disable_unref(r->flush);
        r->finish = sd_event_source_disable_unref(r->finish);
        remote_held_free_all(r);
        free(r->url_shown);
        r->url_shown = NULL;
}

bool remote_stop_begin(struct upstream *u)
{
        struct remote *r = u->transport;

        if (!r) {
                upstream_transport_stopped(u);
                return false;
        }
        if (r->stopping)
                return false;
        r->stopping = true;
        while (r->xfers)
                remote_xfer_free(r->xfers);
        (void)sd_event_source_set_enabled(r->flush, SD_EVENT_OFF);
        /* upstream.c fails whatever waited in here. */
        remote_held_free_all(r);
        return true;
}

void remote_finish_now(struct remote *r)
{
        struct upstream *u = r->u;

        /* Frees r (the transport), then lets upstream.c restart or settle. */
        u->ops->free(u);
        upstream_transport_stopped(u);
}

static int finish_cb(sd_event_source *s, void *userdata)
{
        remote_finish_now(userdata);
        return 0;
}

void remote_finish_later(struct remote *r)
{
        if (sd_event_source_set_enabled(r->finish, SD_EVENT_ONESHOT) < 0)
                remote_finish_now(r); /* cannot fail with a valid source; never leave it hanging */
}

/* ---------------------------------------------------------------- delivery */

static bool deliver_one(struct remote *r, struct remote_xfer *x)
{
        cJSON *ev = cJSON_DetachItemFromArray(x->queue, 0);

        if (!ev)
                return true;
        ev = r->on_event(r, x, ev);
        if (r->stopping) {
                cJSON_Delete(ev);
                return false;
        }
        if (ev) {
                const cJSON *id = json_get(ev, "id");
                int64_t n;
                if (x->has_num_id && json_int64(id, &n) && n == x->num_id &&
                    (json_get(ev, "result") || json_get(ev, "error")))
                        x->got_response = true;
                upstream_transport_message(r->u, ev);
        }
        return !r->stopping;
}

bool remote_deliver(struct remote *r, struct remote_xfer *x)
{
        while (x->queue && x->queue->child)
                if (!deliver_one(r, x))
                        return false;
        return !r->stopping;
}

static int flush_cb(sd_event_source *s, void *userdata)
{
        struct remote *r = userdata;

        /* One event at a time, then look again from the start: a delivery may free
         * transfers (a cancelled request's, or all of them on a stop). */
        while (!r->stopping) {
                struct remote_xfer *x;

                for (x = r->xfers; x && !(x->queue && x->queue->child); x = x->next)
                        ;
                if (!x || !deliver_one(r, x))
                        break;
        }
        return 0;
}

/* ---------------------------------------------------------------- answers (in libcurl) */

static bool content_type_is(const char *ct, const char *want)
{
        size_t n = strlen(want);
        return ct && strncasecmp(ct, want, n) == 0 && (!ct[n] || ct[n] == ';' || ct[n] == ' ');
}

static void answer_begin(struct remote_xfer *x)
{
        struct curl_header *h = NULL;
        char *ct = NULL;

        x->answer_seen = true;
        (void)curl_easy_getinfo(x->glue.easy, CURLINFO_RESPONSE_CODE, &x->status);
        (void)curl_easy_getinfo(x->glue.easy, CURLINFO_CONTENT_TYPE, &ct);
        if (curl_easy_header(x->glue.easy, "Mcp-Session-Id", 0, CURLH_HEADER, -1, &h) ==
                CURLHE_OK &&
            h && h->value && *h->value) {
                free(x->session_id);
                x->session_id = strdup(h->value);
        }
        if (x->status >= 200 && x->status < 300 && content_type_is(ct, "text/event-stream")) {
                x->answer = ANSWER_SSE;
                sse_parser_init(&x->sse, REMOTE_MAX_MESSAGE);
                x->sse_ready = true;
        } else if (x->status >= 200 && x->status < 300 && content_type_is(ct, "application/json")) {
                x->answer = ANSWER_JSON;
                buf_init(&x->in, REMOTE_MAX_MESSAGE);
        } else {
                x->answer = ANSWER_OTHER;
                buf_init(&x->in, REMOTE_MAX_ERROR_BODY);
        }
}

static void queue_event(struct remote_xfer *x, cJSON *ev)
{
        if (!x->queue)
                x->queue = cJSON_CreateArray();
        if (!x->queue || !cJSON_AddItemToArray(x->queue, ev)) {
                cJSON_Delete(ev);
                upstream_log(x->r->u, LOG_WARNING, "out of memory queueing a message, dropping it");
                return;
        }
        (void)sd_event_source_set_enabled(x->r->flush, SD_EVENT_ONESHOT);
}

static void sse_event(struct remote_xfer *x, const struct sse_parsed_event *ev)
{
        struct upstream *u = x->r->u;

        if (ev->has_id) {
                char *id = strdup(ev->id);
                if (id) {
                        free(x->last_event_id);
                        x->last_event_id = id;
                }
        }
        if (strcmp(ev->type, "message") == 0) {
                cJSON *m;
                if (strspn(ev->data, " \t\r\n") == ev->data_len)
                        return; /* a priming event, or a keepalive */
                m = jsonrpc_parse(ev->data, ev->data_len, NULL);
                if (!cJSON_IsObject(m) && !cJSON_IsArray(m)) {
                        cJSON_Delete(m);
                        upstream_log(u, LOG_WARNING,
                                     "SSE event is not a JSON-RPC message (%.60s%s), ignoring",
                                     ev->data, ev->data_len > 60 ? "..." : "");
                        return;
                }
                if (cJSON_IsArray(m)) {
                        /* A batch (2025-03-26): its messages one by one. */
                        cJSON *e;
                        while ((e = cJSON_DetachItemFromArray(m, 0))) {
                                if (cJSON_IsObject(e))
                                        queue_event(x, e);
                                else
                                        cJSON_Delete(e);
                        }
                        cJSON_Delete(m);
                        return;
                }
                queue_event(x, m);
        } else if (strcmp(ev->type, "endpoint") == 0) {
                cJSON *e = cJSON_CreateString(ev->data);
                if (e)
                        queue_event(x, e);
        } else
                upstream_log(u, LOG_DEBUG, "SSE event of type '%s', ignoring", ev->type);
}

/* libcurl's own sockets are not close-on-exec (Debian 12's 7.88): ours are. */
static curl_socket_t open_socket_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
        return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        struct remote_xfer *x = userdata;
        size_t n = size * nmemb;

        if (!x->answer_seen)
                answer_begin(x);
        switch (x->answer) {
        case ANSWER_SSE: {
                const char *p = ptr;
                size_t left = n;
                while (left > 0) {
                        struct sse_parsed_event ev;
                        size_t used = 0;
                        int k = sse_parse(&x->sse, p, left, &used, &ev);
                        p += used;
                        left -= used;
                        if (k > 0)
                                sse_event(x, &ev);
                        else if (k == -E2BIG)
                                upstream_log(x->r->u, LOG_WARNING,
                                             "SSE event over %d bytes, dropping it",
                                             REMOTE_MAX_MESSAGE);
                }
                if (x->sse.retry_ms >= 0)
                        x->retry_ms = x->sse.retry_ms;
                return n;
        }
        case ANSWER_JSON:
                if (buf_append(&x->in, ptr, n) < 0) {
                        x->overflow = true;
                        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
                }
                return n;
        default:
                /* Keep the start for the error message, drain the rest. */
                if (buf_avail(&x->in) < REMOTE_MAX_ERROR_BODY)
                        (void)buf_append(&x->in, ptr,
                                         MIN(n, (size_t)REMOTE_MAX_ERROR_BODY - buf_avail(&x->in)));
                return n;
        }
}

/* ---------------------------------------------------------------- transfers */

/* Out of r's list of transfers in flight, and no longer r->stream. */
static void xfer_unlink(struct remote_xfer *x)
{
        struct remote *r = x->r;

        if (r->stream == x)
                r->stream = NULL;
        if (!x->linked)
                return;
        if (x->prev)
                x->prev->next = x->next;
        else
                r->xfers = x->next;
        if (x->next)
                x->next->prev = x->prev;
        x->prev = x->next = NULL;
        x->linked = false;
        r->n_xfers--;
}

static void xfer_done_cb(struct curl_glue_xfer *g, CURLcode result)
{
        struct remote_xfer *x = (struct remote_xfer *)g;
        struct remote *r = x->r;

        if (!x->answer_seen)
                answer_begin(x); /* no body came (202, 204, or an error) */
        {
                curl_off_t us = 0;
                (void)curl_easy_getinfo(x->glue.easy, CURLINFO_TOTAL_TIME_T, &us);
                upstream_log(r->u, LOG_DEBUG, "%s %s%s%.0f: %s, HTTP %ld, %.1f ms", x->http_method,
                             x->method ? x->method : "", x->has_num_id ? " #" : "",
                             x->has_num_id ? (double)x->num_id : 0.0,
                             result == CURLE_OK ? "ok" : curl_easy_strerror(result), x->status,
                             (double)us / 1000);
        }
        /* Out of the list first: whatever the hook calls cannot free it under us. */
        curl_glue_remove(r->glue, &x->glue);
        xfer_unlink(x);
        r->xfer_done(r, x, result);
}

/* libcurl's built-in CA bundle file, if it has one. */
static const char *default_ca_file(CURL *e)
{
        char *p = NULL;

        return curl_easy_getinfo(e, CURLINFO_CAINFO, &p) == CURLE_OK && p && *p ? p : NULL;
}

struct remote_xfer *remote_xfer_new(struct remote *r, int kind, const char *http_method,
                                    const char *url, long timeout_ms)
{
        struct upstream *u = r->u;
        struct remote_xfer *x;
        CURL *e;

        x = calloc(1, sizeof(*x));
        if (!x)
                return NULL;
        x->r = r;
        x->kind = kind;
        x->http_method = strcmp(http_method, "GET") == 0    ? "GET"
                         : strcmp(http_method, "POST") == 0 ? "POST"
                                                            : "DELETE";
        x->retry_ms = -1;
        x->glue.done = xfer_done_cb;
        buf_init(&x->in, REMOTE_MAX_ERROR_BODY);
        e = x->glue.easy = curl_easy_init();
        if (!e)
                return remote_xfer_free(x);
        /* TLS verification and the proxy environment stay at libcurl's defaults (on). */
        if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)u->cfg.connect_timeout_ms) !=
                CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, (long)REMOTE_KEEPALIVE_IDLE_S) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, (long)REMOTE_KEEPALIVE_INTVL_S) !=
                CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket_cb) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_WRITEDATA, x) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_USERAGENT, "mcp-proxy/" VERSION) != CURLE_OK)
                return remote_xfer_free(x);
        if (strcmp(http_method, "GET") == 0) {
                if (curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK)
                        return remote_xfer_free(x);
        } else if (strcmp(http_method, "POST") == 0) {
                if (curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L) != CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_POSTFIELDS, "") != CURLE_OK)
                        return remote_xfer_free(x);
        } else if (curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, http_method) != CURLE_OK)
                return remote_xfer_free(x);
        /* Verification stays on; only where the trusted certificates come from changes. With
         * a CA directory set (Debian's libcurl has /etc/ssl/certs built in) libcurl does not
         * cache the CA store and parses the whole bundle again for every new TLS connection,
         * tens to hundreds of ms inside the loop. The bundle file alone is parsed once and
         * kept by the multi handle (CURLOPT_CA_CACHE_TIMEOUT, 24 h). */
        if (default_ca_file(e) && curl_easy_setopt(e, CURLOPT_CAPATH, NULL) != CURLE_OK)
                return remote_xfer_free(x);
        for (size_t i = 0; u->cfg.headers && u->cfg.headers[i]; i++)
                if (!header_is_managed(u->cfg.headers[i]) &&
                    remote_xfer_header(x, "%s", u->cfg.headers[i]) < 0)
                        return remote_xfer_free(x);
        return x;
}

int remote_xfer_header(struct remote_xfer *x, const char *fmt, ...)
{
        char line[2048];
        struct curl_slist *l;
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t)n >= sizeof(line))
                return -E2BIG;
        l = curl_slist_append(x->headers, line);
        if (!l)
                return -ENOMEM;
        x->headers = l;
        return 0;
}

int remote_xfer_body(struct remote_xfer *x, const char *data, size_t len)
{
        _cleanup_json_ cJSON *m = jsonrpc_parse(data, len, NULL);
        const cJSON *id;
        const char *method;

        if (!m)
                return -EINVAL;
        free(x->body);
        x->body = malloc(len ? len : 1);
        if (!x->body)
                return -ENOMEM;
        memcpy(x->body, data, len);
        x->body_len = len;
        method = json_get_string(m, "method");
        id = json_get(m, "id");
        free(x->method);
        x->method = method ? strdup(method) : NULL;
        cJSON_Delete(x->id);
        x->id = NULL;
        x->is_request = jsonrpc_classify(m) == JSONRPC_REQUEST;
        if (x->is_request) {
                x->id = cJSON_Duplicate(id, true);
                if (!x->id)
                        return -ENOMEM;
                x->has_num_id = json_int64(id, &x->num_id);
        }
        if (curl_easy_setopt(x->glue.easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) !=
                CURLE_OK ||
            curl_easy_setopt(x->glue.easy, CURLOPT_POSTFIELDS, x->body) != CURLE_OK)
                return -EINVAL;
        return 0;
}

char *remote_xfer_take_body(struct remote_xfer *x, size_t *ret_len)
{
        *ret_len = x->body_len;
        x->body_len = 0;
        /* libcurl still points at it: only ever called once the transfer is over. */
        return TAKE_PTR(x->body);
}

int remote_xfer_start(struct remote_xfer *x)
{
        struct remote *r = x->r;
        int k;

        if (r->n_xfers >= REMOTE_MAX_IN_FLIGHT)
                return -ENOBUFS;
        if (curl_easy_setopt(x->glue.easy, CURLOPT_HTTPHEADER, x->headers) != CURLE_OK)
                return -EINVAL;
        k = curl_glue_add(r->glue, &x->glue);
        if (k < 0)
                return k;
        x->next = r->xfers;
        if (r->xfers)
                r->xfers->prev = x;
        r->xfers = x;
        x->linked = true;
        r->n_xfers++;
        if (r->u->paused)
                (void)curl_easy_pause(x->glue.easy, CURLPAUSE_RECV);
        return 0;
}

struct remote_xfer *remote_xfer_free(struct remote_xfer *x)
{
        struct remote *r;

        if (!x)
                return NULL;
        r = x->r;
        if (x->linked)
                curl_glue_remove(r->glue, &x->glue);
        xfer_unlink(x);
        if (x->glue.easy)
                curl_easy_cleanup(x->glue.easy);
        curl_slist_free_all(x->headers);
        free(x->body);
        cJSON_Delete(x->id);
        free(x->method);
        free(x->session_sent);
        free(x->session_id);
        buf_done(&x->in);
        if (x->sse_ready)
                sse_parser_done(&x->sse);
        cJSON_Delete(x->queue);
        free(x->last_event_id);
        free(x);
        return NULL;
}

struct remote_xfer *remote_xfer_find(struct remote *r, int kind, int64_t id)
{
        for (struct remote_xfer *x = r->xfers; x; x = x->next)
                if (x->kind == kind && x->has_num_id && x->num_id == id)
                        return x;
        return NULL;
}

/* ---------------------------------------------------------------- outcomes */

void remote_down(struct remote *r, const char *fmt, ...)
{
        char why[768];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(why, sizeof(why), fmt, ap);
        va_end(ap);
        upstream_transport_down(r->u, why);
}

long remote_post_timeout_ms(struct upstream *u)
{
        int64_t ms = u->cfg.request_timeout_ms > 0 ? u->cfg.request_timeout_ms
                                                   : u->cfg.max_request_timeout_ms;
        return (long)MIN(ms, (int64_t)REQUEST_MAX_TIMEOUT_MS);
}

bool remote_unreachable(struct remote_xfer *x, CURLcode result, char *why, size_t len)
{
        long req_size = 0;
        const char *detail = x->errbuf[0] ? x->errbuf : curl_easy_strerror(result);

        (void)curl_easy_getinfo(x->glue.easy, CURLINFO_REQUEST_SIZE, &req_size);
        snprintf(why, len, "%s", detail);
        switch (result) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_COULDNT_CONNECT:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
                return true;
        case CURLE_OPERATION_TIMEDOUT:
                /* Not even the request went out: the connection never came up. */
                return req_size == 0;
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
                /* The connection broke before any answer: the server went away. After the
                 * answer began, only this transfer failed. */
                return x->status == 0;
        default:
                return false;
        }
}

bool remote_done_gone(struct remote *r, struct remote_xfer *x, CURLcode result, char *why,
                      size_t len)
{
        if (!remote_deliver(r, x)) {
                remote_xfer_free(x);
                return true;
        }
        if (result != CURLE_OK && remote_unreachable(x, result, why, len)) {
                remote_xfer_free(x);
                remote_down(r, "cannot be reached at %s: %s", r->url_shown, why);
                return true;
        }
        return false;
}

bool remote_status_unavailable(long status)
{
        return status == 502 || status == 503 || status == 504;
}

/* The server's JSON-RPC error object in an error answer, if it sent one. */
static cJSON *answer_error(struct remote_xfer *x)
{
        cJSON *m;

        if (buf_avail(&x->in) == 0)
                return NULL;
        m = jsonrpc_parse(buf_head(&x->in), buf_avail(&x->in), NULL);
        if (cJSON_IsObject(m) && cJSON_IsObject(json_get(m, "error")))
                return m;
        cJSON_Delete(m);
        return NULL;
}

void remote_status_text(struct remote_xfer *x, char *buf, size_t len)
{
        _cleanup_json_ cJSON *m = answer_error(x);
        const char *msg = m ? json_get_string(json_get(m, "error"), "message") : NULL;

        if (msg)
                snprintf(buf, len, "HTTP %ld: %.300s", x->status, msg);
        else if (buf_avail(&x->in) > 0 && x->answer == ANSWER_OTHER) {
                /* The start of whatever it said, on one line. */
                char text[201];
                size_t n = MIN(buf_avail(&x->in), sizeof(text) - 1);
                memcpy(text, buf_head(&x->in), n);
                text[n] = 0;
                for (char *c = text; *c; c++)
                        if ((unsigned char)*c < 0x20 || *c == 0x7f)
                                *c = ' ';
                snprintf(buf, len, "HTTP %ld: %s", x->status, text);
        } else
                snprintf(buf, len, "HTTP %ld", x->status);
}

int remote_status_code(struct remote_xfer *x, int def)
{
        _cleanup_json_ cJSON *m = answer_error(x);
        const cJSON *c = m ? json_get(json_get(m, "error"), "code") : NULL;

        return cJSON_IsNumber(c) ? c->valueint : def;
}

void remote_fail_request(struct remote *r, struct remote_xfer *x, int code, const char *fmt, ...)
{
        char msg[768], full[1024];
        cJSON *data, *err;
        va_list ap;

        if (!x->is_request || x->got_response || !x->id)
                return;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        snprintf(full, sizeof(full), "Upstream '%s': %s", r->u->name, msg);
        data = cJSON_CreateObject();
        if (data) {
                cJSON_AddStringToObject(data, "server", r->u->name);
                if (x->status > 0)
                        cJSON_AddNumberToObject(data, "http_status", (double)x->status);
        }
        err = jsonrpc_error_new(x->id, code, full, data);
        x->got_response = true;
        if (err)
                upstream_transport_message(r->u, err);
}

void remote_refused(struct remote *r, struct remote_xfer *x, const char *why)
{
        if (x->is_request)
                remote_fail_request(r, x,
                                    remote_status_code(x, x->status >= 500
                                                              ? JSONRPC_INTERNAL_ERROR
                                                              : MCP_ERROR_CONNECTION_CLOSED),
                                    "%s", why);
        else
                upstream_log(r->u, LOG_WARNING, "'%s' refused: %s",
                             x->method ? x->method : "response", why);
        remote_xfer_free(x);
}

void remote_maybe_lost(struct remote *r, struct remote_xfer *x, const char *why)
{
        if (!x->is_request)
                upstream_log(r->u, LOG_WARNING, "'%s' may not have reached the server: %s",
                             x->method ? x->method : "response", why);
        remote_xfer_free(x);
}

void remote_describe(struct remote *r, cJSON *o, const char *detected)
{
        cJSON_AddStringToObject(o, "url", r->url_shown);
        if (r->u->cfg.transport == TRANSPORT_AUTO)
                cJSON_AddStringToObject(o, "detected", detected);
}

char *remote_url_shown(const char *url)
{
        CURLU *h = curl_url();
        char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *out = NULL;

        if (!h)
                return NULL;
        if (curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK) {
                curl_url_cleanup(h);
                return strdup("(invalid url)");
        }
        (void)curl_url_get(h, CURLUPART_SCHEME, &scheme, 0);
        (void)curl_url_get(h, CURLUPART_HOST, &host, 0);
        (void)curl_url_get(h, CURLUPART_PORT, &port, 0);
        (void)curl_url_get(h, CURLUPART_PATH, &path, 0);
        if (asprintf(&out, "%s://%s%s%s%s", scheme ? scheme : "?", host ? host : "?",
                     port ? ":" : "", port ? port : "", path ? path : "/") < 0)
                out = NULL;
        curl_free(scheme);
        curl_free(host);
        curl_free(port);
        curl_free(path);
        curl_url_cleanup(h);
        return out;
}

/* ---------------------------------------------------------------- held messages */

int remote_hold(struct remote *r, char *data, size_t len, bool retried)
{
        struct remote_held *m, **tail;

        if (r->n_held >= REMOTE_MAX_QUEUED)
                return -ENOBUFS;
        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->data = data;
        m->len = len;
        m->retried = retried;
        for (tail = &r->held; *tail; tail = &(*tail)->next)
                ;
        *tail = m;
        r->n_held++;
        return 0;
}

int remote_hold_copy(struct remote *r, const char *data, size_t len)
{
        char *copy = malloc(len ? len : 1);
        int k;

        if (!copy)
                return -ENOMEM;
        memcpy(copy, data, len);
        k = remote_hold(r, copy, len, false);
        if (k < 0)
                free(copy);
        return k;
}

struct remote_held *remote_held_pop(struct remote *r)
{
        struct remote_held *m = r->held;

        if (m) {
                r->held = m->next;
                m->next = NULL;
                r->n_held--;
        }
        return m;
}

void remote_held_free_all(struct remote *r)
{
        struct remote_held *m;

        while ((m = remote_held_pop(r))) {
                free(m->data);
                free(m);
        }
}

size_t remote_ops_buffered(struct upstream *u)
{
        const struct remote *r = u->transport;
        size_t n = 0;

        for (const struct remote_xfer *x = r ? r->xfers : NULL; x; x = x->next)
                n += x->in.alloc + x->body_len;
        return n;
}

void remote_ops_pause(struct upstream *u, bool paused)
{
        struct remote *r = u->transport;

        /* Going on may hand over held data at once (write_cb), which only queues it: the
         * messages go out from r->flush, later. */
        for (struct remote_xfer *x = r ? r->xfers : NULL; x; x = x->next)
                (void)curl_easy_pause(x->glue.easy, paused ? CURLPAUSE_RECV : CURLPAUSE_CONT);
}
