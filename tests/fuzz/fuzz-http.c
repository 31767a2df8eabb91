/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for src/http/http-parse.c. Beyond "no crash" it checks
 * the contract: consumed bytes within the input, num_headers within the
 * capacity, every view inside the buffer (an absolute-form target's
 * authority and path inside the target), the decoded body no longer than
 * its input, and the same verdict whether the bytes come at once or in
 * pieces (last_len for the head, appended pieces for chunked bodies).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http-parse.h"
#include "mcp-limits.h"
#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_BODY (1024 * 1024)

static void check(bool ok)
{
        if (!ok)
                abort();
}

static void check_view(const char *buf, size_t len, const char *p, size_t n)
{
        check(p >= buf && n <= len && (size_t)(p - buf) <= len - n);
}

static void check_request(const char *buf, int r, const struct http_request *req,
                          size_t max_headers)
{
        size_t len = (size_t)r;

        check(req->num_headers <= max_headers);
        check_view(buf, len, req->method, req->method_len);
        check_view(buf, len, req->target, req->target_len);
        if (req->authority) {
                /* absolute-form: "http://" or "https://", the authority, then the path, which
                 * is "/" (not in the buffer) when the target has none */
                size_t skip = (size_t)(req->authority - req->target);

                check(skip == 7 || skip == 8);
                check(req->authority_len > 0 && req->authority_len <= req->target_len - skip);
                check(!memchr(req->authority, '/', req->authority_len) &&
                      !memchr(req->authority, '?', req->authority_len) &&
                      !memchr(req->authority, '#', req->authority_len));
                if (req->path == req->authority + req->authority_len)
                        check(req->path_len > 0 &&
                              req->path_len <= req->target_len - skip - req->authority_len);
                else
                        check(req->path_len == 1);
                check(req->path[0] == '/');
        } else {
                check(req->authority_len == 0);
                check(req->path == req->target && req->path_len <= req->target_len);
        }
        check(req->minor_version == 0 || req->minor_version == 1);
        check(req->method_len > 0 && req->target_len > 0);
        for (size_t i = 0; i < req->num_headers; i++) {
                const struct http_header *h = &req->headers[i];
                check_view(buf, len, h->name, h->name_len);
                check_view(buf, len, h->value, h->value_len);
                check(h->name_len > 0);
        }
}

static bool same_request(const char *a, const struct http_request *x, const char *b,
                         const struct http_request *y)
{
        if (x->method - a != y->method - b || x->method_len != y->method_len ||
            x->target - a != y->target - b || x->target_len != y->target_len ||
            x->path_len != y->path_len || !x->authority != !y->authority ||
            (x->authority && x->authority - a != y->authority - b) ||
            x->authority_len != y->authority_len || x->minor_version != y->minor_version ||
            x->num_headers != y->num_headers)
                return false;
        for (size_t i = 0; i < x->num_headers; i++)
                if (x->headers[i].name - a != y->headers[i].name - b ||
                    x->headers[i].name_len != y->headers[i].name_len ||
                    x->headers[i].value - a != y->headers[i].value - b ||
                    x->headers[i].value_len != y->headers[i].value_len)
                        return false;
        return true;
}

/* One-shot parse of buf[0..len). */
static int parse_once(const char *buf, size_t len, struct http_request *req, struct http_header *hs,
                      size_t cap)
{
        int r;

        *req = (struct http_request){.headers = hs};
        r = http_parse_request(buf, len, 0, req, cap);
        check(r == HTTP_PARSE_ERROR || r == HTTP_PARSE_INCOMPLETE || r == HTTP_PARSE_TOO_MANY ||
              (r > 0 && (size_t)r <= len));
        if (r > 0)
                check_request(buf, r, req, cap);
        return r;
}

/* Feeds buf in pieces of step bytes with last_len, as a socket would, and
 * compares the verdict with a one-shot parse of the same prefix. */
static void parse_pieces(const char *buf, size_t size, size_t step, size_t cap)
{
        struct http_header hs[HTTP_MAX_HEADERS], ref_hs[HTTP_MAX_HEADERS];
        struct http_request req, ref;
        size_t last = 0, n = 0;
        int r, o;

        check(step > 0 && cap <= HTTP_MAX_HEADERS);
        do {
                n = MIN(size, n + step);
                req = (struct http_request){.headers = hs};
                r = http_parse_request(buf, n, last, &req, cap);
                check(req.num_headers <= cap);
                last = n;
        } while (r == HTTP_PARSE_INCOMPLETE && n < size);

        o = parse_once(buf, n, &ref, ref_hs, cap);
        if (r == HTTP_PARSE_INCOMPLETE)
                /* A structural error in a line not yet ended surfaces later. */
                check(o < 0);
        else if (r > 0) {
                check_request(buf, r, &req, cap);
                check(r == o && same_request(buf, &req, buf, &ref));
        } else
                /* A bad byte after capacity ran out may win over TOO_MANY. */
                check(r == o || (r == HTTP_PARSE_ERROR && o == HTTP_PARSE_TOO_MANY));
}

static void header_helpers(const struct http_request *req)
{
        for (size_t i = 0; i < req->num_headers; i++) {
                const struct http_header *h = &req->headers[i];
                (void)http_accepts(h->value, h->value_len, "application/json");
                (void)http_accepts(h->value, h->value_len, "text/event-stream");
                (void)http_accepts_exact(h->value, h->value_len, "text/event-stream");
                (void)http_media_type_is(h->value, h->value_len, "application/json");
                (void)http_has_token(h->value, h->value_len, "close");
        }
        (void)http_find_header(req, "Host");
        (void)http_method_is(req, "POST");
}

/* Decodes body[0..len) as a caller does: the first piece is first bytes,
 * the others step bytes, each appended after what was decoded so far. The
 * bytes after the message end up right after the decoded body in work. */
static ssize_t decode_pieces(const uint8_t *body, size_t len, size_t first, size_t step, char *work,
                             size_t *ret_decoded)
{
        struct http_chunked_decoder dec = {};
        size_t decoded = 0, fed = 0;
        ssize_t r;

        check(step > 0);
        for (bool first_piece = true;; first_piece = false) {
                size_t upto = MIN(len, fed + (first_piece ? first : step)), in = upto - fed, k = in;

                memcpy(work + decoded, body + fed, in);
                fed = upto;
                r = http_decode_chunked(&dec, work + decoded, &k, FUZZ_MAX_BODY);
                check(r >= -3 && k <= in);
                if (r >= 0)
                        check(k + (size_t)r <= in);
                decoded += k;
                check(dec.total == decoded && decoded <= FUZZ_MAX_BODY);
                if (r != -2 || fed == len)
                        break;
        }

        if (r >= 0) {
                memcpy(work + decoded + r, body + fed, len - fed);
                r += (ssize_t)(len - fed);
        }
        check(decoded + (r > 0 ? (size_t)r : 0) <= len);
        *ret_decoded = decoded;
        return r;
}

/* Decoding at once, in two pieces and in 7-byte pieces must agree. */
static void decode_chunked(const uint8_t *body, size_t len)
{
        char *once = malloc(len + 1), *work = malloc(len + 1);
        size_t n1, n2;
        ssize_t r1, r2;

        check(once && work);
        r1 = decode_pieces(body, len, len, len + 1, once, &n1);
        for (int pass = 0; pass < 2; pass++) {
                r2 = pass == 0 ? decode_pieces(body, len, len / 2, len + 1, work, &n2)
                               : decode_pieces(body, len, 7, 7, work, &n2);
                check(r2 == r1 && n2 == n1 && memcmp(work, once, n1) == 0);
                if (r1 > 0)
                        check(memcmp(work + n1, once + n1, (size_t)r1) == 0);
        }
        free(once);
        free(work);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct http_header hs[HTTP_MAX_HEADERS], small[3];
        struct http_request req, req3;
        enum http_body_kind kind;
        size_t length;
        char *buf;
        int r;

        if (size > 256 * 1024)
                return 0;
        /* An exact-size copy, so ASan catches a read past size. */
        buf = calloc(1, size ? size : 1);
        check(buf);
        if (size > 0)
                memcpy(buf, data, size);

        r = parse_once(buf, size, &req, hs, ELEMENTSOF(hs));
        if (parse_once(buf, size, &req3, small, ELEMENTSOF(small)) > 0)
                check(r > 0);

        if (size <= 8192) /* quadratic in the worst case: keep it cheap */
                parse_pieces(buf, size, 1, ELEMENTSOF(hs));
        parse_pieces(buf, size, size / 3 + 1, ELEMENTSOF(hs));
        parse_pieces(buf, size, 5, ELEMENTSOF(small));

        if (r > 0) {
                size_t rest = size - (size_t)r;
                int f;

                header_helpers(&req);
                f = http_body_framing(&req, FUZZ_MAX_BODY, &kind, &length);
                check(f == 0 || f == 400 || f == 413 || f == 501);
                if (f == 0 && kind == HTTP_BODY_LENGTH)
                        check(length <= FUZZ_MAX_BODY);
                if (f == 0 && kind == HTTP_BODY_CHUNKED)
                        decode_chunked(data + r, rest);
                check(*http_status_reason(f ? f : 200) != '\0');
        } else
                /* Not a request head: try the bytes as a chunked body. */
                decode_chunked(data, size);

        free(buf);
        return 0;
}
