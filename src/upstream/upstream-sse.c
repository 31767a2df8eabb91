/* SPDX-License-Identifier: MIT */
/*
 * Legacy HTTP+SSE transport (MCP 2024-11-05): a GET opens an event stream
 * whose first event, "endpoint", names the URL to POST messages to (often
 * relative, "/message?sessionId=...": resolved against the stream's URL,
 * and refused when it points at another origin, since the config's headers
 * go there too). Every message is a POST there (202); the server's
 * messages, responses included, come as "message" events on the stream.
 * The session lives as long as the stream: when it drops, the server is
 * down for us (upstream_transport_down()) and the restart logic opens a
 * new one and initializes again.
 *
 * Also reached from the Streamable HTTP transport when a server without
 * "transport" in the config answered its first POST with 400/404/405
 * (upstream_sse_adopt()): upstream.c already sent initialize then, so the
 * message waits here until the endpoint is known.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "log.h"
#include "mcp-limits.h"
#include "proto/jsonrpc.h"
#include "upstream/remote.h"
#include "upstream/upstream.h"

enum sse_kind {
        SSE_STREAM, /* the GET */
        SSE_POST,   /* one message to the endpoint */
};

struct sse_transport {
        struct remote r; /* first: the base; r.stream is the GET, r.held what was sent
                          * before the endpoint was known */
        char *endpoint;  /* absolute URL to POST to */
        char *endpoint_shown;
        bool adopted; /* started by the Streamable HTTP transport's detection */
        bool have_init_id;
        int64_t init_id;
        char *protocol_version;
};

static struct sse_transport *T(struct upstream *u)
{
        return u->transport;
}

static void sse_free(struct upstream *u);

static int post_message(struct sse_transport *t, const char *data, size_t len)
{
        struct upstream *u = t->r.u;
        struct remote_xfer *x;
        int k;

        x = remote_xfer_new(&t->r, SSE_POST, "POST", t->endpoint, remote_post_timeout_ms(u));
        if (!x)
                return -ENOMEM;
        if ((k = remote_xfer_body(x, data, len)) < 0 ||
            (k = remote_xfer_header(x, "Content-Type: application/json")) < 0 ||
            (k = remote_xfer_header(x, "Accept: application/json, text/event-stream")) < 0 ||
            (k = remote_xfer_header(x, "Expect:")) < 0 ||
            (t->protocol_version &&
             (k = remote_xfer_header(x, "MCP-Protocol-Version: %s", t->protocol_version)) < 0) ||
            (k = remote_xfer_start(x)) < 0) {
                remote_xfer_free(x);
                return k;
        }
        if (x->is_request && x->has_num_id && x->method && strcmp(x->method, "initialize") == 0) {
                t->have_init_id = true;
                t->init_id = x->num_id;
        }
        return 0;
}

/* Resolves the endpoint against the stream URL; same origin only. */
static int resolve_endpoint(struct sse_transport *t, const char *ep, char **ret)
{
        struct upstream *u = t->r.u;
        CURLU *base = curl_url(), *h = curl_url();
        char *parts[2][3] = {};
        static const CURLUPart which[3] = {CURLUPART_SCHEME, CURLUPART_HOST, CURLUPART_PORT};
        char *url = NULL;
        int k = 0;

        if (!base || !h) {
                k = -ENOMEM;
                goto out;
        }
        if (curl_url_set(base, CURLUPART_URL, u->cfg.url, 0) != CURLUE_OK ||
            curl_url_set(h, CURLUPART_URL, u->cfg.url, 0) != CURLUE_OK ||
            curl_url_set(h, CURLUPART_URL, ep, 0) != CURLUE_OK ||
            curl_url_get(h, CURLUPART_URL, &url, 0) != CURLUE_OK) {
                k = -EINVAL;
                goto out;
        }
        for (int i = 0; i < 3; i++) {
                (void)curl_url_get(base, which[i], &parts[0][i], CURLU_DEFAULT_PORT);
                (void)curl_url_get(h, which[i], &parts[1][i], CURLU_DEFAULT_PORT);
                if (!parts[0][i] || !parts[1][i] || strcasecmp(parts[0][i], parts[1][i]) != 0)
                        k = -EPERM;
        }
        if (k == 0) {
                *ret = strdup(url);
                if (!*ret)
                        k = -ENOMEM;
        }
out:
        for (int i = 0; i < 3; i++) {
                curl_free(parts[0][i]);
                curl_free(parts[1][i]);
        }
        curl_free(url);
        curl_url_cleanup(base);
        curl_url_cleanup(h);
        return k;
}

static void got_endpoint(struct sse_transport *t, const char *ep)
{
        struct upstream *u = t->r.u;
        struct remote_held *m;
        char *url = NULL;
        int k;

        if (t->endpoint) {
                upstream_log(u, LOG_DEBUG, "another endpoint event, keeping the first");
                return;
        }
        k = resolve_endpoint(t, ep, &url);
        if (k == -EPERM) {
                remote_down(&t->r, "named an endpoint on another origin, refusing it");
                return;
        }
        if (k < 0) {
                remote_down(&t->r, "sent an endpoint that is not a URL");
                return;
        }
        t->endpoint = url;
        t->endpoint_shown = remote_url_shown(url);
        upstream_log(u, LOG_INFO, "endpoint %s", t->endpoint_shown ? t->endpoint_shown : "?");
        if (!t->adopted) {
                upstream_transport_up(u);
                return;
        }
        /* upstream.c is up already: what it sent goes now. */
        while ((m = remote_held_pop(&t->r))) {
                k = post_message(t, m->data, m->len);
                free(m->data);
                free(m);
                if (k < 0) {
                        remote_down(&t->r, "cannot send to the endpoint: %s", strerror(-k));
                        return;
                }
        }
}

static cJSON *sse_on_event(struct remote *r, struct remote_xfer *x, cJSON *ev)
{
        struct sse_transport *t = (struct sse_transport *)r;
        const cJSON *id, *result;
        int64_t n;

        if (cJSON_IsString(ev)) {
                if (x->kind == SSE_STREAM)
                        got_endpoint(t, ev->valuestring);
                cJSON_Delete(ev);
                return NULL;
        }
        id = json_get(ev, "id");
        result = json_get(ev, "result");
        if (t->have_init_id && cJSON_IsObject(result) && json_int64(id, &n) && n == t->init_id) {
                const char *v = json_get_string(result, "protocolVersion");
                t->have_init_id = false;
                if (v && strlen(v) < 64 && strspn(v, "0123456789-") == strlen(v)) {
                        free(t->protocol_version);
                        t->protocol_version = strdup(v);
                }
        }
        return ev;
}

static void post_done(struct sse_transport *t, struct remote_xfer *x, CURLcode rc)
{
        struct upstream *u = t->r.u;
        char why[512];

        if (!remote_deliver(&t->r, x)) {
                remote_xfer_free(x);
                return;
        }
        if (rc != CURLE_OK) {
                if (remote_unreachable(x, rc, why, sizeof(why))) {
                        remote_xfer_free(x);
                        remote_down(&t->r, "cannot be reached at %s: %s",
                                    t->endpoint_shown ? t->endpoint_shown : t->r.url_shown, why);
                        return;
                }
                remote_fail_request(&t->r, x,
                                    rc == CURLE_OPERATION_TIMEDOUT ? MCP_ERROR_REQUEST_TIMEOUT
                                                                   : MCP_ERROR_CONNECTION_CLOSED,
                                    "POST to the endpoint failed: %s", why);
                remote_maybe_lost(&t->r, x, why);
                return;
        }
        if (x->status >= 200 && x->status < 300) {
                /* Answers come on the stream; a server that answers here is heard too. */
                if (x->answer == ANSWER_JSON) {
                        cJSON *j = jsonrpc_parse(buf_head(&x->in), buf_avail(&x->in), NULL);
                        if (jsonrpc_classify(j) >= 0)
                                upstream_transport_message(u, j);
                        else
                                cJSON_Delete(j);
                }
                remote_xfer_free(x);
                return;
        }
        remote_status_text(x, why, sizeof(why));
        if (x->status == 404 || remote_status_unavailable(x->status)) {
                /* Legacy servers forget the session with the stream: nothing to resume. */
                remote_xfer_free(x);
                remote_down(&t->r, "refused a message to its endpoint (%s)", why);
                return;
        }
        remote_refused(&t->r, x, why);
}

static void stream_done(struct sse_transport *t, struct remote_xfer *x, CURLcode rc)
{
        struct upstream *u = t->r.u;
        char why[512];

        if (remote_done_gone(&t->r, x, rc, why, sizeof(why)))
                return;
        if (x->status < 200 || x->status >= 300 || x->answer != ANSWER_SSE) {
                if (x->status >= 200 && x->status < 300)
                        snprintf(why, sizeof(why), "HTTP %ld without an event stream", x->status);
                else
                        remote_status_text(x, why, sizeof(why));
                remote_xfer_free(x);
                /* Detected, but not legacy SSE after all: the next start tries again. */
                if (u->cfg.transport == TRANSPORT_AUTO && !t->endpoint)
                        u->ops = &upstream_http_ops;
                remote_down(&t->r, "answered GET %s with %s", t->r.url_shown, why);
                return;
        }
        snprintf(why, sizeof(why), "%s",
                 rc == CURLE_OK ? "closed its SSE stream"
                                : (x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc)));
        remote_xfer_free(x);
        if (rc == CURLE_OK)
                remote_down(&t->r, "closed its SSE stream");
        else
                remote_down(&t->r, "broke its SSE stream: %s", why);
}

static void sse_xfer_done(struct remote *r, struct remote_xfer *x, CURLcode rc)
{
        struct sse_transport *t = (struct sse_transport *)r;

        if (x->kind == SSE_STREAM)
                stream_done(t, x, rc);
        else
                post_done(t, x, rc);
}

static int open_stream(struct sse_transport *t)
{
        struct upstream *u = t->r.u;
        struct remote_xfer *x;
        int k;

        x = remote_xfer_new(&t->r, SSE_STREAM, "GET", u->cfg.url, 0);
        if (!x)
                return -ENOMEM;
        if ((k = remote_xfer_header(x, "Accept: text/event-stream")) < 0 ||
            (k = remote_xfer_header(x, "Cache-Control: no-cache")) < 0 ||
            (k = remote_xfer_start(x)) < 0) {
                remote_xfer_free(x);
                return k;
        }
        t->r.stream = x;
        return 0;
}

static int sse_begin(struct upstream *u, bool adopted)
{
        struct sse_transport *t;
        int k;

        k = remote_new(u, sizeof(*t), sse_xfer_done, sse_on_event);
        if (k < 0)
                return k;
        t = T(u);
        t->adopted = adopted;
        k = open_stream(t);
        if (k < 0) {
                sse_free(u);
                return k;
        }
        upstream_log(u, LOG_INFO, "connecting to %s (legacy HTTP+SSE)", t->r.url_shown);
        return 0;
}

static int sse_start(struct upstream *u)
{
        /* upstream_transport_up() comes with the endpoint event. */
        return sse_begin(u, false);
}

int upstream_sse_adopt(struct upstream *u, char *data, size_t len)
{
        _cleanup_json_ cJSON *m = jsonrpc_parse(data, len, NULL);
        const cJSON *id = m ? json_get(m, "id") : NULL;
        struct sse_transport *t;
        int k;

        u->ops = &upstream_sse_ops;
        k = sse_begin(u, true);
        if (k < 0)
                return k;
        t = T(u);
        if (json_int64(id, &t->init_id))
                t->have_init_id = true;
        k = remote_hold(&t->r, data, len, false);
        if (k < 0) {
                sse_free(u);
                return k;
        }
        return 0;
}

static int sse_send(struct upstream *u, const char *data, size_t len)
{
        struct sse_transport *t = T(u);

        if (!t || t->r.stopping)
                return -ENOTCONN;
        if (t->endpoint)
                return post_message(t, data, len);
        return remote_hold_copy(&t->r, data, len);
}

static void sse_stop(struct upstream *u)
{
        /* Closing the stream ends a legacy session: nothing to DELETE. */
        if (remote_stop_begin(u))
                remote_finish_later(&T(u)->r);
}

static void sse_free(struct upstream *u)
{
        struct sse_transport *t = T(u);

        if (!t)
                return;
        remote_done(&t->r);
        free(t->endpoint);
        free(t->endpoint_shown);
        free(t->protocol_version);
        free(t);
        u->transport = NULL;
}

static void sse_describe(struct upstream *u, cJSON *o)
{
        struct sse_transport *t = T(u);

        if (!t)
                return;
        remote_describe(&t->r, o, "sse");
        if (t->endpoint_shown)
                cJSON_AddStringToObject(o, "endpoint", t->endpoint_shown);
        cJSON_AddBoolToObject(o, "session", t->endpoint != NULL);
        cJSON_AddNumberToObject(o, "http_transfers", t->r.n_xfers);
}

const struct upstream_ops upstream_sse_ops = {
    .name = "sse",
    .start = sse_start,
    .send = sse_send,
    .stop = sse_stop,
    .free = sse_free,
    .describe = sse_describe,
    .buffered = remote_ops_buffered,
    .pause = remote_ops_pause,
};
