/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.1 request parser with picohttpparser's contract, written for
 * mcp-proxy. It parses in place, never allocates, and returns views into
 * the caller's buffer, valid while that buffer is.
 *
 * Strict: rejects NUL, CTL (except HTAB inside values) and DEL anywhere in
 * the header block, bare LF line endings, obs-fold (continuation lines),
 * whitespace between a field name and ':', empty field names, non-token
 * characters in methods and field names, and request lines that are not
 * "METHOD SP request-target SP HTTP/1.x".
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct http_header {
        const char *name;
        size_t name_len;
        const char *value; /* leading and trailing SP/HTAB trimmed */
        size_t value_len;
};

struct http_request {
        const char *method;
        size_t method_len;
        const char *target; /* request-target as sent, e.g. "/mcp?x=1" */
        size_t target_len;
        const char *path; /* target up to '?' (of an absolute-form target: its path, "/" if none) */
        size_t path_len;
        const char
            *authority; /* an absolute-form target's host[:port] (RFC 9112 §3.2.2), else NULL */
        size_t authority_len;
        int minor_version; /* 0 or 1 */
        struct http_header *headers;
        size_t num_headers;
};

enum {
        HTTP_PARSE_ERROR = -1,      /* malformed: answer 400 and close */
        HTTP_PARSE_INCOMPLETE = -2, /* need more bytes */
        HTTP_PARSE_TOO_MANY = -3,   /* more header lines than capacity: 431 */
};

/*
 * Parses the request line and header block in buf[0..len).
 * last_len: how many of those bytes were already seen by a previous call
 * that returned HTTP_PARSE_INCOMPLETE (0 on the first call); it lets the
 * parser skip rescanning for the end of the block.
 * req->headers must point at an array of max_headers entries.
 * Returns the number of bytes consumed by the header block (> 0, including
 * the final CRLF CRLF), or one of the HTTP_PARSE_* values above.
 * Leading empty lines (CRLF) before the request line are skipped, as RFC
 * 9112 section 2.2 allows.
 */
int http_parse_request(const char *buf, size_t len, size_t last_len, struct http_request *req,
                       size_t max_headers);

/* Case-insensitive lookup; returns the first match or NULL. */
const struct http_header *http_find_header(const struct http_request *req, const char *name);
/* Number of headers named name (case-insensitive). */
size_t http_count_headers(const struct http_request *req, const char *name);

bool http_method_is(const struct http_request *req, const char *method);

/* How the body is framed. */
enum http_body_kind {
        HTTP_BODY_NONE,
        HTTP_BODY_LENGTH,
        HTTP_BODY_CHUNKED,
};

/*
 * Works out the body framing from Content-Length and Transfer-Encoding.
 * Returns 0 and fills *ret_kind / *ret_length, or an HTTP status to answer
 * with and close: 400 for an invalid or conflicting Content-Length (several
 * differing values, both it and Transfer-Encoding), 501 for a
 * Transfer-Encoding other than "chunked", 413 for a Content-Length above
 * max_body.
 */
int http_body_framing(const struct http_request *req, size_t max_body,
                      enum http_body_kind *ret_kind, size_t *ret_length);

/*
 * Incremental chunked decoder (picohttpparser phr_decode_chunked shape):
 * decodes in place. *len is the number of bytes in buf on entry and the
 * number of decoded body bytes at buf[0..*len) on return.
 * Returns -1 on a malformed chunk stream, -2 when more data is needed (call
 * again with the next bytes appended after the decoded ones), -3 when the
 * decoded body would exceed max_body, or >= 0 when the last chunk and the
 * trailer section are complete: the number of bytes that followed the
 * message (the start of a pipelined request), left at buf[*len..*len+ret).
 * Chunk-size lines are strict: hex digits, optional chunk extensions, CRLF;
 * trailer fields are parsed and discarded.
 */
struct http_chunked_decoder {
        size_t bytes_left_in_chunk;
        size_t total; /* decoded so far */
        int state;
        size_t hex_digits;
};
ssize_t http_decode_chunked(struct http_chunked_decoder *dec, char *buf, size_t *len,
                            size_t max_body);

/*
 * Header value helpers. Lists are comma-separated with optional whitespace;
 * parameters after ';' are ignored; comparisons are case-insensitive.
 */
/* Accept-style: does the list name this media type (or type/'*' or '*'/'*')?
 * Entries with q=0 do not count. */
bool http_accepts(const char *value, size_t len, const char *media_type);
/* Same, but only an exact type/subtype entry counts (no wildcards). */
bool http_accepts_exact(const char *value, size_t len, const char *media_type);
/* Content-Type: is the media type (before any ';') equal to this one? */
bool http_media_type_is(const char *value, size_t len, const char *media_type);
/* Connection-style token list: does it contain token? */
bool http_has_token(const char *value, size_t len, const char *token);

/* Reason phrase for a status code ("Not Found"); "Unknown" if none. */
const char *http_status_reason(int status);
