/* SPDX-License-Identifier: MIT */
/*
 * Strict HTTP/1.1 request parser (picohttpparser's contract, our code).
 *
 * http_parse_request() has two layers:
 *   - parse_head(), one structural pass over the whole buffer that either
 *     completes, fails, or runs off the end (HTTP_PARSE_INCOMPLETE);
 *   - a cheap scan of only the bytes that arrived since last_len, which
 *     rejects forbidden bytes and lone CRs at once and reruns parse_head()
 *     only when a new LF arrived, i.e. when a line was completed. A request
 *     therefore costs O(lines * len), and lines are capped by max_headers,
 *     instead of O(len^2) when it trickles in one byte at a time.
 */
#include <stdint.h>
#include <string.h>

#include "http/http-parse.h"
#include "sha256.h"
#include "mcp-limits.h" /* ours; it shadows the C <limits.h> under -Isrc/shared */
#include "macro.h"

/* Empty lines tolerated before the request line (RFC 9112 2.2). */
#define HTTP_MAX_LEADING_EMPTY_LINES 8
/* Bytes of chunk extensions on one chunk-size line. */
#define HTTP_CHUNK_EXT_MAX 4096
/* Hex digits in one chunk size, leading zeros included. */
#define HTTP_CHUNK_SIZE_DIGITS_MAX 32
/* Bytes of the trailer section of a chunked body. */
#define HTTP_CHUNK_TRAILER_MAX HTTP_MAX_HEADER_BYTES_DEFAULT

/* ---- character classes ---- */

/* tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
 *         "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA   (RFC 9110 5.6.2) */
static const bool tchar_map[256] = {
    ['!'] = true,         ['#'] = true,         ['$'] = true,         ['%'] = true, ['&'] = true,
    ['\''] = true,        ['*'] = true,         ['+'] = true,         ['-'] = true, ['.'] = true,
    ['^'] = true,         ['_'] = true,         ['`'] = true,         ['|'] = true, ['~'] = true,
    ['0' ... '9'] = true, ['A' ... 'Z'] = true, ['a' ... 'z'] = true,
};

static bool is_tchar(unsigned char c)
{
        return tchar_map[c];
}

static bool is_vchar(unsigned char c)
{
        return c >= 0x21 && c <= 0x7e;
}

static bool is_ows(unsigned char c)
{
        return c == ' ' || c == '\t';
}

/* field-vchar / SP / HTAB */
static bool is_field_char(unsigned char c)
{
        return is_vchar(c) || c >= 0x80 || is_ows(c);
}

/* Bytes that may appear anywhere in a header block; where they may appear
 * is checked by parse_head(). */
static bool is_head_byte(unsigned char c)
{
        return is_field_char(c) || c == '\r' || c == '\n';
}

static unsigned char ascii_lower(unsigned char c)
{
        return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* memchr() that accepts (NULL, 0), which callers may pass for an absent value. */
static const char *find_char(const char *p, size_t len, char c)
{
        return len > 0 ? memchr(p, c, len) : NULL;
}

static bool mem_case_eq(const char *a, size_t alen, const char *b, size_t blen)
{
        if (alen != blen)
                return false;
        for (size_t i = 0; i < alen; i++)
                if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i]))
                        return false;
        return true;
}

/* ---- request line and header block ---- */

/* Expects CR LF at buf[p]. Returns 0 if there, or an HTTP_PARSE_* value. */
static int expect_crlf(const char *buf, size_t len, size_t p)
{
        if (p >= len)
                return HTTP_PARSE_INCOMPLETE;
        if (buf[p] != '\r')
                return HTTP_PARSE_ERROR;
        if (p + 1 >= len)
                return HTTP_PARSE_INCOMPLETE;
        if (buf[p + 1] != '\n')
                return HTTP_PARSE_ERROR;
        return 0;
}

static int parse_head(const char *buf, size_t len, struct http_request *req, size_t max_headers)
{
        size_t p = 0, start, n = 0;
        int r;

        /* Leading empty lines. */
        for (unsigned empty = 0; p < len && buf[p] == '\r'; empty++) {
                if (empty >= HTTP_MAX_LEADING_EMPTY_LINES)
                        return HTTP_PARSE_ERROR;
                r = expect_crlf(buf, len, p);
                if (r < 0)
                        return r;
                p += 2;
        }
        if (p >= len)
                return HTTP_PARSE_INCOMPLETE;

        /* method SP */
        start = p;
        while (p < len && is_tchar((unsigned char)buf[p]))
                p++;
        if (p >= len)
                return HTTP_PARSE_INCOMPLETE;
        if (p == start || buf[p] != ' ')
                return HTTP_PARSE_ERROR;
        req->method = buf + start;
        req->method_len = p - start;
        p++;

        /* request-target SP */
        start = p;
        while (p < len && is_vchar((unsigned char)buf[p]))
                p++;
        if (p >= len)
                return HTTP_PARSE_INCOMPLETE;
        if (p == start || buf[p] != ' ')
                return HTTP_PARSE_ERROR;
        req->target = buf + start;
        req->target_len = p - start;
        {
                const char *t = req->target, *end = t + req->target_len, *q;
                size_t skip = 0;

                /* absolute-form (RFC 9112 §3.2.2), which a server MUST accept: the path
                 * starts after the authority ("/" when it has none). */
                if (req->target_len > 7 && strncasecmp(t, "http://", 7) == 0)
                        skip = 7;
                else if (req->target_len > 8 && strncasecmp(t, "https://", 8) == 0)
                        skip = 8;
                req->authority = NULL;
                req->authority_len = 0;
                if (skip) {
                        const char *a = t + skip, *e = a;
                        while (e < end && *e != '/' && *e != '?' && *e != '#')
                                e++;
                        if (e == a)
                                return HTTP_PARSE_ERROR; /* no host */
                        req->authority = a;
                        req->authority_len = (size_t)(e - a);
                        t = e;
                }
                q = memchr(t, '?', (size_t)(end - t));
                req->path = t;
                req->path_len = q ? (size_t)(q - t) : (size_t)(end - t);
                if (skip && (req->path_len == 0 || *req->path != '/')) {
                        req->path = "/";
                        req->path_len = 1;
                }
        }
        p++;

        /* HTTP-version CRLF */
        static const char version[] = "HTTP/1.";
        for (size_t i = 0; i < sizeof(version) - 1; i++, p++) {
                if (p >= len)
                        return HTTP_PARSE_INCOMPLETE;
                if (buf[p] != version[i])
                        return HTTP_PARSE_ERROR;
        }
        if (p >= len)
                return HTTP_PARSE_INCOMPLETE;
        if (buf[p] != '0' && buf[p] != '1')
                return HTTP_PARSE_ERROR;
        req->minor_version = buf[p] - '0';
        p++;
        r = expect_crlf(buf, len, p);
        if (r < 0)
                return r;
        p += 2;

        /* *( field-line CRLF ) CRLF */
        for (;;) {
                size_t name, name_len, value, value_end;

                if (p >= len)
                        return HTTP_PARSE_INCOMPLETE;
                if (buf[p] == '\r') {
                        r = expect_crlf(buf, len, p);
                        if (r < 0)
                                return r;
                        p += 2;
                        break;
                }
                if (n >= max_headers)
                        return HTTP_PARSE_TOO_MANY;

                /* field-name ":" -- this also rejects obs-fold (a line starting with
                 * SP/HTAB), an empty name and whitespace before the colon. */
                name = p;
                while (p < len && is_tchar((unsigned char)buf[p]))
                        p++;
                if (p >= len)
                        return HTTP_PARSE_INCOMPLETE;
                if (p == name || buf[p] != ':')
                        return HTTP_PARSE_ERROR;
                name_len = p - name;
                p++;

                /* OWS field-value OWS */
                while (p < len && is_ows((unsigned char)buf[p]))
                        p++;
                value = value_end = p;
                while (p < len && buf[p] != '\r') {
                        unsigned char c = (unsigned char)buf[p];
                        if (!is_field_char(c))
                                return HTTP_PARSE_ERROR;
                        p++;
                        if (!is_ows(c))
                                value_end = p;
                }
                r = expect_crlf(buf, len, p);
                if (r < 0)
                        return r;
                p += 2;

                req->headers[n++] = (struct http_header){
                    .name = buf + name,
                    .name_len = name_len,
                    .value = buf + value,
                    .value_len = value_end - value,
                };
        }

        if (p > (size_t)__INT_MAX__)
                return HTTP_PARSE_ERROR;
        req->num_headers = n;
        return (int)p;
}

int http_parse_request(const char *buf, size_t len, size_t last_len, struct http_request *req,
                       size_t max_headers)
{
        req->num_headers = 0;

        if (last_len == 0 || last_len >= len)
                return parse_head(buf, len, req, max_headers);

        /* buf[0..last_len) was seen by a call that answered INCOMPLETE: it holds no
         * bad byte and no lone CR, and every line it ended was checked. Look at the
         * new bytes only, and parse the whole head again once one ends a line. */
        for (size_t i = last_len; i < len; i++) {
                unsigned char c = (unsigned char)buf[i];

                if (!is_head_byte(c))
                        return HTTP_PARSE_ERROR;
                if (buf[i - 1] == '\r' && c != '\n')
                        return HTTP_PARSE_ERROR;
                if (c == '\n')
                        return parse_head(buf, len, req, max_headers);
        }
        return HTTP_PARSE_INCOMPLETE;
}

/* ---- header lookup ---- */

const struct http_header *http_find_header(const struct http_request *req, const char *name)
{
        size_t n = strlen(name);

        for (size_t i = 0; i < req->num_headers; i++)
                if (mem_case_eq(req->headers[i].name, req->headers[i].name_len, name, n))
                        return &req->headers[i];
        return NULL;
}

size_t http_count_headers(const struct http_request *req, const char *name)
{
        size_t n = strlen(name), count = 0;

        for (size_t i = 0; i < req->num_headers; i++)
                if (mem_case_eq(req->headers[i].name, req->headers[i].name_len, name, n))
                        count++;
        return count;
}

bool http_method_is(const struct http_request *req, const char *method)
{
        size_t n = strlen(method);

        /* Methods are case-sensitive (RFC 9110 9.1). */
        return req->method_len == n && memcmp(req->method, method, n) == 0;
}

/* ---- list elements ---- */

/* Cursor over a comma-separated list: returns the next element with OWS
 * trimmed (possibly empty, as in "a,,b"), false at the end. */
struct list_iter {
        const char *p, *end;
        bool done;
};

static bool list_next(struct list_iter *it, const char **ret_elem, size_t *ret_len)
{
        const char *s, *e, *comma;

        if (it->done)
                return false;
        comma = find_char(it->p, (size_t)(it->end - it->p), ',');
        s = it->p;
        e = comma ? comma : it->end;
        if (comma)
                it->p = comma + 1;
        else
                it->done = true;
        while (s < e && is_ows((unsigned char)*s))
                s++;
        while (e > s && is_ows((unsigned char)e[-1]))
                e--;
        *ret_elem = s;
        *ret_len = (size_t)(e - s);
        return true;
}

static struct list_iter list_iter_init(const char *value, size_t len)
{
        return (struct list_iter){.p = value, .end = value + len, .done = false};
}

/* Splits "a/b ; x=y" into the part before ';' (trimmed) and the rest after it. */
static void split_params(const char *elem, size_t len, size_t *ret_main_len,
                         const char **ret_params, size_t *ret_params_len)
{
        const char *semi = find_char(elem, len, ';');
        size_t m = semi ? (size_t)(semi - elem) : len;

        while (m > 0 && is_ows((unsigned char)elem[m - 1]))
                m--;
        *ret_main_len = m;
        *ret_params = semi ? semi + 1 : elem + len;
        *ret_params_len = semi ? len - (size_t)(semi + 1 - elem) : 0;
}

/* ---- body framing ---- */

/* Checks one Content-Length element (1*DIGIT). Returns its digits with
 * leading zeros stripped (at least one digit), or false if malformed. */
static bool content_length_digits(const char *elem, size_t len, const char **ret_digits,
                                  size_t *ret_len)
{
        if (len == 0)
                return false;
        for (size_t i = 0; i < len; i++)
                if (elem[i] < '0' || elem[i] > '9')
                        return false;
        while (len > 1 && *elem == '0') {
                elem++;
                len--;
        }
        *ret_digits = elem;
        *ret_len = len;
        return true;
}

static int content_length(const struct http_request *req, size_t max_body, size_t *ret_length)
{
        const char *digits = NULL;
        size_t ndigits = 0, v = 0;

        for (size_t i = 0; i < req->num_headers; i++) {
                const struct http_header *h = &req->headers[i];
                struct list_iter it;
                const char *elem, *d;
                size_t elen, dlen;

                if (!mem_case_eq(h->name, h->name_len, "Content-Length", 14))
                        continue;
                /* A list of identical values ("5, 5", or the header repeated) is one
                 * value (RFC 9110 8.6); anything else is an error. */
                it = list_iter_init(h->value, h->value_len);
                while (list_next(&it, &elem, &elen)) {
                        if (!content_length_digits(elem, elen, &d, &dlen))
                                return 400;
                        if (!digits) {
                                digits = d;
                                ndigits = dlen;
                        } else if (dlen != ndigits || memcmp(d, digits, dlen) != 0)
                                return 400;
                }
        }

        for (size_t i = 0; i < ndigits; i++) {
                unsigned d = (unsigned)(digits[i] - '0');
                if (max_body < d || v > (max_body - d) / 10)
                        return 413;
                v = v * 10 + d;
        }
        *ret_length = v;
        return 0;
}

static int transfer_encoding(const struct http_request *req)
{
        size_t codings = 0;
        bool chunked = false;

        for (size_t i = 0; i < req->num_headers; i++) {
                const struct http_header *h = &req->headers[i];
                struct list_iter it;
                const char *elem;
                size_t elen;

                if (!mem_case_eq(h->name, h->name_len, "Transfer-Encoding", 17))
                        continue;
                it = list_iter_init(h->value, h->value_len);
                while (list_next(&it, &elem, &elen)) {
                        if (elen == 0)
                                continue; /* empty list elements do not count */
                        codings++;
                        if (mem_case_eq(elem, elen, "chunked", 7))
                                chunked = true;
                }
        }
        return codings == 1 && chunked ? 0 : 501;
}

int http_body_framing(const struct http_request *req, size_t max_body,
                      enum http_body_kind *ret_kind, size_t *ret_length)
{
        bool has_cl = http_count_headers(req, "Content-Length") > 0;
        bool has_te = http_count_headers(req, "Transfer-Encoding") > 0;
        size_t length = 0;
        int r;

        *ret_kind = HTTP_BODY_NONE;
        *ret_length = 0;

        if (has_te) {
                /* RFC 9112 6.1: TE in an HTTP/1.0 request, or TE and CL together, are
                 * smuggling attempts or broken clients; refuse both. */
                if (req->minor_version == 0 || has_cl)
                        return 400;
                r = transfer_encoding(req);
                if (r != 0)
                        return r;
                *ret_kind = HTTP_BODY_CHUNKED;
                return 0;
        }
        if (has_cl) {
                r = content_length(req, max_body, &length);
                if (r != 0)
                        return r;
                *ret_kind = HTTP_BODY_LENGTH;
                *ret_length = length;
        }
        return 0;
}

/* ---- chunked transfer coding ---- */

/*
 * Decoder states. The zero state is the start of a chunk-size line, so a
 * zero-initialised decoder is ready. hex_digits counts size digits in
 * CHUNK_SIZE, then extension bytes on the rest of that line;
 * bytes_left_in_chunk counts trailer bytes once the last chunk was seen.
 */
enum {
        CHUNK_SIZE,    /* 1*HEXDIG */
        CHUNK_EXT_BWS, /* BWS before ';' */
        CHUNK_EXT,     /* chunk-ext, skipped */
        CHUNK_SIZE_LF, /* LF ending the size line */
        CHUNK_DATA,    /* chunk-data */
        CHUNK_DATA_CR, /* CR after chunk-data */
        CHUNK_DATA_LF, /* LF after chunk-data */
        CHUNK_TRAILER, /* start of a trailer line, or the final CRLF */
        CHUNK_TRAILER_NAME,
        CHUNK_TRAILER_VALUE,
        CHUNK_TRAILER_LF,
        CHUNK_END_LF, /* LF of the final CRLF */
        CHUNK_DONE,
        CHUNK_FAILED,
};

ssize_t http_decode_chunked(struct http_chunked_decoder *dec, char *buf, size_t *len,
                            size_t max_body)
{
        size_t src = 0, dst = 0, n = *len;
        ssize_t ret = -2;

        if (dec->state == CHUNK_FAILED) {
                *len = 0;
                return -1;
        }
        if (dec->state == CHUNK_DONE) {
                /* Everything is what follows the message. */
                *len = 0;
                return (ssize_t)n;
        }

        while (src < n) {
                unsigned char c = (unsigned char)buf[src];

                if (dec->state == CHUNK_DATA) {
                        size_t k = MIN(n - src, dec->bytes_left_in_chunk);
                        if (dst != src)
                                memmove(buf + dst, buf + src, k);
                        src += k;
                        dst += k;
                        dec->total += k;
                        dec->bytes_left_in_chunk -= k;
                        if (dec->bytes_left_in_chunk == 0)
                                dec->state = CHUNK_DATA_CR;
                        continue;
                }
                if (dec->state >= CHUNK_TRAILER && dec->state <= CHUNK_END_LF &&
                    ++dec->bytes_left_in_chunk > HTTP_CHUNK_TRAILER_MAX)
                        goto fail;
                src++;

                switch (dec->state) {
                case CHUNK_SIZE: {
                        int v = hex_digit((char)c);
                        if (v >= 0) {
                                if (++dec->hex_digits > HTTP_CHUNK_SIZE_DIGITS_MAX)
                                        goto fail;
                                if (dec->bytes_left_in_chunk > (SIZE_MAX - (size_t)v) / 16)
                                        goto fail;
                                dec->bytes_left_in_chunk =
                                    dec->bytes_left_in_chunk * 16 + (size_t)v;
                                if (dec->bytes_left_in_chunk > max_body - dec->total) {
                                        ret = -3;
                                        dec->state = CHUNK_FAILED;
                                        goto out;
                                }
                                break;
                        }
                        if (dec->hex_digits == 0)
                                goto fail;
                        dec->hex_digits = 0;
                        if (c == '\r')
                                dec->state = CHUNK_SIZE_LF;
                        else if (is_ows(c))
                                dec->state = CHUNK_EXT_BWS;
                        else if (c == ';')
                                dec->state = CHUNK_EXT;
                        else
                                goto fail;
                        if (c != '\r')
                                dec->hex_digits++;
                        break;
                }
                case CHUNK_EXT_BWS:
                        if (++dec->hex_digits > HTTP_CHUNK_EXT_MAX)
                                goto fail;
                        if (c == ';')
                                dec->state = CHUNK_EXT;
                        else if (!is_ows(c))
                                goto fail;
                        break;
                case CHUNK_EXT:
                        if (c == '\r')
                                dec->state = CHUNK_SIZE_LF;
                        else if (!is_field_char(c) || ++dec->hex_digits > HTTP_CHUNK_EXT_MAX)
                                goto fail;
                        break;
                case CHUNK_SIZE_LF:
                        if (c != '\n')
                                goto fail;
                        dec->hex_digits = 0;
                        /* bytes_left_in_chunk is 0 here for the last chunk, which is
                         * where the trailer byte count starts. */
                        dec->state = dec->bytes_left_in_chunk == 0 ? CHUNK_TRAILER : CHUNK_DATA;
                        break;
                case CHUNK_DATA_CR:
                        if (c != '\r')
                                goto fail;
                        dec->state = CHUNK_DATA_LF;
                        break;
                case CHUNK_DATA_LF:
                        if (c != '\n')
                                goto fail;
                        dec->state = CHUNK_SIZE;
                        break;
                case CHUNK_TRAILER:
                        if (c == '\r')
                                dec->state = CHUNK_END_LF;
                        else if (is_tchar(c))
                                dec->state = CHUNK_TRAILER_NAME;
                        else
                                goto fail;
                        break;
                case CHUNK_TRAILER_NAME:
                        if (c == ':')
                                dec->state = CHUNK_TRAILER_VALUE;
                        else if (!is_tchar(c))
                                goto fail;
                        break;
                case CHUNK_TRAILER_VALUE:
                        if (c == '\r')
                                dec->state = CHUNK_TRAILER_LF;
                        else if (!is_field_char(c))
                                goto fail;
                        break;
                case CHUNK_TRAILER_LF:
                        if (c != '\n')
                                goto fail;
                        dec->state = CHUNK_TRAILER;
                        break;
                case CHUNK_END_LF:
                        if (c != '\n')
                                goto fail;
                        dec->state = CHUNK_DONE;
                        ret = (ssize_t)(n - src);
                        if (dst != src)
                                memmove(buf + dst, buf + src, n - src);
                        goto out;
                default:
                        goto fail;
                }
        }
out:
        *len = dst;
        return ret;
fail:
        dec->state = CHUNK_FAILED;
        *len = dst;
        return -1;
}

/* ---- header value helpers ---- */

/* Is this Accept parameter list carrying a q of zero ("q=0", "q=0.000")? */
static bool params_q_zero(const char *p, size_t len)
{
        const char *end = p + len;

        while (p < end) {
                const char *semi = find_char(p, (size_t)(end - p), ';');
                const char *s = p, *e = semi ? semi : end;

                p = semi ? semi + 1 : end;
                while (s < e && is_ows((unsigned char)*s))
                        s++;
                while (e > s && is_ows((unsigned char)e[-1]))
                        e--;
                if (e - s < 2 || ascii_lower((unsigned char)s[0]) != 'q' || s[1] != '=')
                        continue;
                s += 2;
                if (s == e || *s != '0')
                        return false;
                s++;
                if (s == e)
                        return true;
                if (*s != '.' || e - s > 4)
                        return false;
                for (s++; s < e; s++)
                        if (*s != '0')
                                return false;
                return true;
        }
        return false;
}

/* Specificity of range as a match for type: 3 exact, 2 "type/" + "*",
 * 1 full wildcard, 0 no match. */
static int media_range_match(const char *range, size_t rlen, const char *type, size_t tlen)
{
        const char *slash = memchr(type, '/', tlen);
        size_t major = slash ? (size_t)(slash - type) : tlen;

        if (mem_case_eq(range, rlen, type, tlen))
                return 3;
        if (rlen == major + 2 && mem_case_eq(range, major, type, major) && range[major] == '/' &&
            range[major + 1] == '*')
                return 2;
        if ((rlen == 3 && memcmp(range, "*/*", 3) == 0) || (rlen == 1 && range[0] == '*'))
                return 1;
        return 0;
}

/* The most specific matching range decides (RFC 9110 12.5.1): an exact
 * "application/json;q=0" refuses even when a full wildcard is listed too. */
static bool accepts(const char *value, size_t len, const char *media_type, bool exact)
{
        struct list_iter it = list_iter_init(value, len);
        size_t tlen = strlen(media_type);
        int best = 0;
        bool best_ok = false;
        const char *elem;
        size_t elen;

        while (list_next(&it, &elem, &elen)) {
                const char *params;
                size_t mlen, plen;
                int m;

                split_params(elem, elen, &mlen, &params, &plen);
                m = media_range_match(elem, mlen, media_type, tlen);
                if (m == 0 || (exact && m != 3) || m <= best)
                        continue;
                best = m;
                best_ok = !params_q_zero(params, plen);
        }
        return best_ok;
}

bool http_accepts(const char *value, size_t len, const char *media_type)
{
        return accepts(value, len, media_type, false);
}

bool http_accepts_exact(const char *value, size_t len, const char *media_type)
{
        return accepts(value, len, media_type, true);
}

bool http_media_type_is(const char *value, size_t len, const char *media_type)
{
        const char *params;
        size_t mlen, plen;

        while (len > 0 && is_ows((unsigned char)*value)) {
                value++;
                len--;
        }
        split_params(value, len, &mlen, &params, &plen);
        return mem_case_eq(value, mlen, media_type, strlen(media_type));
}

bool http_has_token(const char *value, size_t len, const char *token)
{
        struct list_iter it = list_iter_init(value, len);
        size_t tlen = strlen(token);
        const char *elem;
        size_t elen;

        while (list_next(&it, &elem, &elen)) {
                const char *params;
                size_t mlen, plen;

                split_params(elem, elen, &mlen, &params, &plen);
                if (mem_case_eq(elem, mlen, token, tlen))
                        return true;
        }
        return false;
}

static const struct {
        int status;
        const char *reason;
} status_reasons[] = {
    {100, "Continue"},
    {101, "Switching Protocols"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {206, "Partial Content"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {417, "Expectation Failed"},
    {421, "Misdirected Request"},
    {422, "Unprocessable Content"},
    {426, "Upgrade Required"},
    {428, "Precondition Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
};

const char *http_status_reason(int status)
{
        for (size_t i = 0; i < ELEMENTSOF(status_reasons); i++)
                if (status_reasons[i].status == status)
                        return status_reasons[i].reason;
        return "Unknown";
}
