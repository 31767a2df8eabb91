/* SPDX-License-Identifier: MIT */
/* Writing HTTP responses: plain bodies, JSON-RPC errors, SSE streams. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "front/front.h"
#include "json.h"
#include "mcp-limits.h"
#include "proto/jsonrpc.h"

void front_cors_headers(const struct front_request *r, struct buf *out)
{
        if (!r->cors)
                return;
        (void)buf_printf(out,
                         "Access-Control-Allow-Origin: %s\r\n"
                         "Vary: Origin\r\n"
                         "Access-Control-Expose-Headers: Mcp-Session-Id, MCP-Protocol-Version, "
                         "WWW-Authenticate\r\n",
                         r->origin);
}

static int write_head(struct front_conn *c, struct front_request *r, int status,
                      const char *content_type, const char *length_or_te, const char *extra,
                      const char *session_id, const char *body, size_t body_len)
{
        struct buf h;
        struct iovec iov[2];
        int n = 1, ret;

        buf_init(&h, 64 * 1024);
        r->status = status;
        if (!r->keep_alive)
                c->close_after = true;
        (void)buf_printf(&h, "HTTP/1.1 %d %s\r\n", status, http_status_reason(status));
        if (content_type)
                (void)buf_printf(&h, "Content-Type: %s\r\n", content_type);
        if (length_or_te)
                (void)buf_append_str(&h, length_or_te);
        if (session_id)
                (void)buf_printf(&h, "Mcp-Session-Id: %s\r\n", session_id);
        if (extra)
                (void)buf_append_str(&h, extra);
        front_cors_headers(r, &h);
        (void)buf_append_str(&h, c->close_after ? "Connection: close\r\n\r\n" : "\r\n");
        iov[0] = (struct iovec){.iov_base = h.data, .iov_len = h.len};
        if (body && body_len) {
                iov[1] = (struct iovec){.iov_base = (void *)(uintptr_t)body, .iov_len = body_len};
                n = 2;
        }
        ret = front_writev_all(c->out_fd, iov, n, HTTP_WRITE_TIMEOUT_MS);
        buf_done(&h);
        return ret;
}

int front_respond(struct front_conn *c, struct front_request *r, const struct front_response *resp)
{
        char len[64];
        bool no_body = resp->status == 204 || resp->status == 304 || resp->status < 200;

        if (no_body)
                len[0] = 0;
        else
                snprintf(len, sizeof(len), "Content-Length: %zu\r\n", resp->body_len);
        /* A HEAD request gets the headers alone. */
        if (r && http_method_is(&r->http, "HEAD"))
                return write_head(c, r, resp->status, resp->content_type, len, resp->extra_headers,
                                  resp->session_id, NULL, 0);
        return write_head(c, r, resp->status, resp->content_type, no_body ? NULL : len,
                          resp->extra_headers, resp->session_id, no_body ? NULL : resp->body,
                          resp->body_len);
}

int front_respond_rpc_error(struct front_conn *c, struct front_request *r, int status, int code,
                            const char *message, const char *extra_headers)
{
        return front_respond_rpc_error_data(c, r, status, code, message, NULL, extra_headers);
}

int front_respond_rpc_error_data(struct front_conn *c, struct front_request *r, int status,
                                 int code, const char *message, cJSON *data,
                                 const char *extra_headers)
{
        /* The request's id when its body was read and it is a request (2026-07-28: every
         * error but a parse error echoes it), else null. */
        _cleanup_json_ cJSON *e = jsonrpc_error_new(r->rpc_id, code, message, data);
        _cleanup_cjson_str_ char *s = e ? cJSON_PrintUnformatted(e) : NULL;
        struct front_response resp = {
            .status = status,
            .content_type = "application/json",
            .body = s ? s : "{}",
            .body_len = s ? strlen(s) : 2,
            .extra_headers = extra_headers,
        };
        return front_respond(c, r, &resp);
}

int front_sse_start(struct front_conn *c, struct front_request *r, const char *session_id)
{
        bool chunked = r->http.minor_version >= 1;

        if (!chunked)
                c->close_after = true;
        return write_head(c, r, 200, "text/event-stream",
                          chunked ? "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n"
                                  : "Cache-Control: no-cache\r\n",
                          "X-Accel-Buffering: no\r\n", session_id, NULL, 0);
}

int front_sse_write(struct front_conn *c, struct front_request *r, const char *data, size_t len)
{
        char size[32];
        struct iovec iov[3];

        if (r->http.minor_version < 1)
                return front_write_all(c->out_fd, data, len, HTTP_WRITE_TIMEOUT_MS);
        snprintf(size, sizeof(size), "%zx\r\n", len);
        iov[0] = (struct iovec){.iov_base = size, .iov_len = strlen(size)};
        iov[1] = (struct iovec){.iov_base = (void *)(uintptr_t)data, .iov_len = len};
        iov[2] = (struct iovec){.iov_base = (void *)(uintptr_t) "\r\n", .iov_len = 2};
        return front_writev_all(c->out_fd, iov, 3, HTTP_WRITE_TIMEOUT_MS);
}

int front_sse_end(struct front_conn *c, struct front_request *r)
{
        if (r->http.minor_version < 1)
                return 0; /* close-delimited */
        return front_write_all(c->out_fd, "0\r\n\r\n", 5, HTTP_WRITE_TIMEOUT_MS);
}
