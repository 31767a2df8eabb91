/* SPDX-License-Identifier: MIT */
/*
 * Tests for src/http/http-parse.c. Hostile inputs are copied to end exactly
 * at a PROT_NONE guard page (picohttpparser's test.c), so any read past the
 * given length faults even without ASan.
 */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"
#include "http/http-parse.h"
#include "macro.h"

#define S(lit) lit, sizeof(lit) - 1

/* ---- guard page ---- */

#define GUARD_AREA (128 * 1024)

static char *guard_area; /* GUARD_AREA usable bytes, then a PROT_NONE page */

/* Copies data so that it ends right before the guard page; returns the copy
 * (writable). Aborts the process if the area cannot be set up. */
static char *guarded(const void *data, size_t len)
{
        if (!guard_area) {
                size_t page = (size_t)sysconf(_SC_PAGESIZE);
                char *p = mmap(NULL, GUARD_AREA + page, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (p == MAP_FAILED || mprotect(p + GUARD_AREA, page, PROT_NONE) < 0)
                        abort();
                guard_area = p;
        }
        if (len > GUARD_AREA)
                abort();
        char *dst = guard_area + GUARD_AREA - len;
        if (len > 0)
                memcpy(dst, data, len);
        return dst;
}

static int parse(const char *data, size_t len, size_t last_len, struct http_request *req,
                 struct http_header *hs, size_t max_headers)
{
        *req = (struct http_request){.headers = hs};
        return http_parse_request(guarded(data, len), len, last_len, req, max_headers);
}

/* ---- request line and headers ---- */

TEST(parse_simple_get)
{
        static const char in[] = "GET /mcp?session=1&x=2 HTTP/1.1\r\n"
                                 "Host: example.com\r\n"
                                 "Accept:   application/json, text/event-stream  \r\n"
                                 "X-Empty:\r\n"
                                 "X-Tabs:\t a \t b\t\r\n"
                                 "\r\n";
        struct http_header hs[8];
        struct http_request req;
        int r = parse(S(in), 0, &req, hs, ELEMENTSOF(hs));

        ASSERT_EQ(r, sizeof(in) - 1);
        ASSERT_MEMEQ(req.method, req.method_len, "GET");
        ASSERT_MEMEQ(req.target, req.target_len, "/mcp?session=1&x=2");
        ASSERT_MEMEQ(req.path, req.path_len, "/mcp");
        ASSERT_EQ(req.minor_version, 1);
        ASSERT_EQ(req.num_headers, 4);
        ASSERT_MEMEQ(hs[0].name, hs[0].name_len, "Host");
        ASSERT_MEMEQ(hs[0].value, hs[0].value_len, "example.com");
        ASSERT_MEMEQ(hs[1].name, hs[1].name_len, "Accept");
        ASSERT_MEMEQ(hs[1].value, hs[1].value_len, "application/json, text/event-stream");
        ASSERT_MEMEQ(hs[2].name, hs[2].name_len, "X-Empty");
        ASSERT_EQ(hs[2].value_len, 0);
        ASSERT_MEMEQ(hs[3].value, hs[3].value_len, "a \t b");
        ASSERT_TRUE(http_method_is(&req, "GET"));
        ASSERT_FALSE(http_method_is(&req, "get"));
        ASSERT_FALSE(http_method_is(&req, "GE"));
        ASSERT_FALSE(http_method_is(&req, "GETS"));
}

TEST(parse_http10_no_headers_and_odd_targets)
{
        struct http_header hs[4];
        struct http_request req;

        ASSERT_EQ(parse(S("OPTIONS * HTTP/1.0\r\n\r\n"), 0, &req, hs, 4), 22);
        ASSERT_EQ(req.minor_version, 0);
        ASSERT_EQ(req.num_headers, 0);
        ASSERT_MEMEQ(req.path, req.path_len, "*");

        /* absolute-form (RFC 9112 §3.2.2): the path after the authority, which is kept */
        ASSERT_EQ(parse(S("GET http://h/a?b?c HTTP/1.1\r\n\r\n"), 0, &req, hs, 4), 31);
        ASSERT_MEMEQ(req.path, req.path_len, "/a");
        ASSERT_MEMEQ(req.authority, req.authority_len, "h");
        ASSERT_MEMEQ(req.target, req.target_len, "http://h/a?b?c");
        ASSERT_EQ(parse(S("GET HTTPS://127.0.0.1:8080 HTTP/1.1\r\n\r\n"), 0, &req, hs, 4), 39);
        ASSERT_MEMEQ(req.path, req.path_len, "/");
        ASSERT_MEMEQ(req.authority, req.authority_len, "127.0.0.1:8080");
        ASSERT_EQ(parse(S("GET http://127.0.0.1:1?x HTTP/1.1\r\n\r\n"), 0, &req, hs, 4), 37);
        ASSERT_MEMEQ(req.path, req.path_len, "/");
        ASSERT_MEMEQ(req.authority, req.authority_len, "127.0.0.1:1");
        ASSERT_EQ(parse(S("GET http:///x HTTP/1.1\r\n\r\n"), 0, &req, hs, 4), HTTP_PARSE_ERROR);
        ASSERT_EQ(parse(S("GET /mcp HTTP/1.1\r\n\r\n"), 0, &req, hs, 4), 21);
        ASSERT_NULL(req.authority);

        ASSERT_EQ(parse(S("GET ? HTTP/1.1\r\n\r\n"), 0, &req, hs, 4), 18);
        ASSERT_EQ(req.path_len, 0);
        ASSERT_MEMEQ(req.target, req.target_len, "?");

        /* Methods are any token, names any token. */
        ASSERT_EQ(
            parse(S("M-SEARCH! / HTTP/1.1\r\n!#$%&'*+-.^_`|~09azAZ: v\r\n\r\n"), 0, &req, hs, 4),
            50);
        ASSERT_MEMEQ(req.method, req.method_len, "M-SEARCH!");
        ASSERT_MEMEQ(hs[0].name, hs[0].name_len, "!#$%&'*+-.^_`|~09azAZ");
}

TEST(parse_obs_text_in_value)
{
        struct http_header hs[4];
        struct http_request req;

        ASSERT_EQ(parse(S("GET / HTTP/1.1\r\nX: caf\xc3\xa9 \xff\x80\r\n\r\n"), 0, &req, hs, 4),
                  31);
        ASSERT_MEMEQ(hs[0].value, hs[0].value_len, "caf\xc3\xa9 \xff\x80");
}

TEST(parse_leading_empty_lines)
{
        struct http_header hs[4];
        struct http_request req;

        ASSERT_EQ(parse(S("\r\n\r\nGET / HTTP/1.1\r\n\r\n"), 0, &req, hs, 4), 22);
        ASSERT_MEMEQ(req.method, req.method_len, "GET");
        ASSERT_EQ(
            parse(S("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n"), 0, &req, hs, 4), 34);
        ASSERT_EQ(
            parse(S("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n"), 0, &req, hs, 4),
            HTTP_PARSE_ERROR);
        ASSERT_EQ(parse(S("\r\n"), 0, &req, hs, 4), HTTP_PARSE_INCOMPLETE);
        ASSERT_EQ(parse(S("\r"), 0, &req, hs, 4), HTTP_PARSE_INCOMPLETE);
        ASSERT_EQ(parse(S("\r\r"), 0, &req, hs, 4), HTTP_PARSE_ERROR);
        ASSERT_EQ(parse(S("\n"), 0, &req, hs, 4), HTTP_PARSE_ERROR);
        ASSERT_EQ(parse(S(""), 0, &req, hs, 4), HTTP_PARSE_INCOMPLETE);
}

struct hostile {
        const char *in;
        size_t len;
        int expect;
};

#define H(lit, e)                       \
        {                               \
                lit, sizeof(lit) - 1, e \
        }
#define BAD(lit) H(lit, HTTP_PARSE_ERROR)

static const struct hostile hostile[] = {
    /* line endings */
    BAD("GET / HTTP/1.1\n\n"),
    BAD("GET / HTTP/1.1\nHost: a\r\n\r\n"),
    BAD("GET / HTTP/1.1\r\nHost: a\n\r\n"),
    BAD("GET / HTTP/1.1\r\nHost: a\r\n\n"),
    BAD("GET / HTTP/1.1\r\nHost: a\r\r\n\r\n"),
    BAD("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n"),
    BAD("GET / HTTP/1.1\r\nHost: a\r\n\rX"),
    BAD("GET / HTTP/1.1\r\r\n\r\n"),
    BAD("GET / HTTP/1.1\rX"),
    BAD("GET / HTTP/1.1\r\n\r\r"),
    BAD("\nGET / HTTP/1.1\r\n\r\n"),
    BAD("\r\nGET / HTTP/1.1\n"),
    BAD("GET /\r HTTP/1.1\r\n\r\n"),
    BAD("GET\r / HTTP/1.1\r\n\r\n"),
    /* NUL, CTL, DEL */
    BAD("G\0T / HTTP/1.1\r\n\r\n"),
    BAD("G\0"),
    BAD("GET /\0"),
    BAD("GET / HTTP/1.1\r\nHo\0st: a\r\n\r\n"),
    BAD("GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n"),
    BAD("GET / HTTP/1.1\r\nHost: \0"),
    BAD("GET / HTTP/1.1\r\nX: a\x01"),
    BAD("GET / HTTP/1.1\r\nX: a\x1f\r\n\r\n"),
    BAD("GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n"),
    BAD("GET / HTTP/1.1\r\nX: \x0b\r\n\r\n"),
    BAD("GET /\x7f HTTP/1.1\r\n\r\n"),
    BAD("GET /\x1b[0m HTTP/1.1\r\n\r\n"),
    BAD("GE\x7fT / HTTP/1.1\r\n\r\n"),
    /* request line shape */
    BAD(" GET / HTTP/1.1\r\n\r\n"),
    BAD("GET  / HTTP/1.1\r\n\r\n"),
    BAD("GET /  HTTP/1.1\r\n\r\n"),
    BAD("GET / HTTP/1.1 \r\n\r\n"),
    BAD("GET  HTTP/1.1\r\n\r\n"),
    BAD("GET\t/ HTTP/1.1\r\n\r\n"),
    BAD("GET /\t HTTP/1.1\r\n\r\n"),
    BAD("GET /a\tb HTTP/1.1\r\n\r\n"),
    BAD("GET /\x80 HTTP/1.1\r\n\r\n"),
    BAD("GET /\xff HTTP/1.1\r\n\r\n"),
    BAD("G(T / HTTP/1.1\r\n\r\n"),
    BAD("GET\xc3\xa9 / HTTP/1.1\r\n\r\n"),
    BAD("G:T / HTTP/1.1\r\n\r\n"),
    BAD("/ HTTP/1.1\r\n\r\n"),
    BAD("GET /\r\n\r\n"),
    BAD("GET / \r\n\r\n"),
    BAD("GET / HTTP/1.2\r\n\r\n"),
    BAD("GET / HTTP/1.9\r\n\r\n"),
    BAD("GET / HTTP/2.0\r\n\r\n"),
    BAD("GET / HTTP/0.9\r\n\r\n"),
    BAD("GET / http/1.1\r\n\r\n"),
    BAD("GET / HTTP/1.10\r\n\r\n"),
    BAD("GET / HTTP/1.1x\r\n\r\n"),
    BAD("GET / HTTP/11\r\n\r\n"),
    BAD("GET / HTTP/1.\r\n\r\n"),
    BAD("GET / HTTPS/1.1\r\n\r\n"),
    H("GET / HTTP/1.1\r\nX", HTTP_PARSE_INCOMPLETE),
    /* field lines */
    BAD("GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
    BAD("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"),
    BAD("GET / HTTP/1.1\r\n: a\r\n\r\n"),
    BAD("GET / HTTP/1.1\r\nHost a\r\n\r\n"),
    BAD("GET / HTTP/1.1\r\nHost\r\n\r\n"),
    BAD("GET / HTTP/1.1\r\nHo(st: a\r\n\r\n"),
    BAD("GET / HTTP/1.1\r\nHo\xc3\xa9st: a\r\n\r\n"),
    BAD("GET / HTTP/1.1\r\nHo/st: a\r\n\r\n"),
    BAD("GET / HTTP/1.1\r\n Host: a\r\n\r\n"),
    BAD("GET / HTTP/1.1\r\n\tHost: a\r\n\r\n"),
    BAD("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n"),  /* obs-fold */
    BAD("GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n"), /* obs-fold */
    BAD("GET / HTTP/1.1\r\nX: a\r\n \r\n\r\n"),
    /* well-formed but unfinished: every byte here is still acceptable */
    H("GET", HTTP_PARSE_INCOMPLETE),
    H("GET ", HTTP_PARSE_INCOMPLETE),
    H("GET /", HTTP_PARSE_INCOMPLETE),
    H("GET / HTTP/1.", HTTP_PARSE_INCOMPLETE),
    H("GET / HTTP/1.1\r", HTTP_PARSE_INCOMPLETE),
    H("GET / HTTP/1.1\r\n", HTTP_PARSE_INCOMPLETE),
    H("GET / HTTP/1.1\r\nHost", HTTP_PARSE_INCOMPLETE),
    H("GET / HTTP/1.1\r\nHost:", HTTP_PARSE_INCOMPLETE),
    H("GET / HTTP/1.1\r\nHost: a", HTTP_PARSE_INCOMPLETE),
    H("GET / HTTP/1.1\r\nHost: a \t", HTTP_PARSE_INCOMPLETE),
    H("GET / HTTP/1.1\r\nHost: a\r", HTTP_PARSE_INCOMPLETE),
    H("GET / HTTP/1.1\r\nHost: a\r\n", HTTP_PARSE_INCOMPLETE),
    H("GET / HTTP/1.1\r\nHost: a\r\n\r", HTTP_PARSE_INCOMPLETE),
    /* too many field lines for a capacity of 2 */
    H("GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n", HTTP_PARSE_TOO_MANY),
    H("GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc", HTTP_PARSE_TOO_MANY),
    H("GET / HTTP/1.1\r\na: 1\r\nb: 2\r\n\r\n", 30),
};

TEST(parse_hostile_table)
{
        for (size_t i = 0; i < ELEMENTSOF(hostile); i++) {
                const struct hostile *t = &hostile[i];
                struct http_header hs[2];
                struct http_request req;
                int r = parse(t->in, t->len, 0, &req, hs, ELEMENTSOF(hs));

                if (r != t->expect)
                        HARNESS_FAIL("hostile[%zu] \"%.*s\": got %d, want %d", i, (int)t->len,
                                     t->in, r, t->expect);
                ASSERT_TRUE(req.num_headers <= ELEMENTSOF(hs));
        }
}

/* Every prefix of every hostile input is also before the guard page: the
 * parser must answer without reading past it, and never succeed on a prefix
 * of an input that is invalid as a whole. */
TEST(parse_hostile_prefixes)
{
        for (size_t i = 0; i < ELEMENTSOF(hostile); i++) {
                const struct hostile *t = &hostile[i];

                for (size_t n = 0; n <= t->len; n++) {
                        struct http_header hs[2];
                        struct http_request req;
                        int r = parse(t->in, n, 0, &req, hs, ELEMENTSOF(hs));

                        if (t->expect < 0 && r >= 0)
                                HARNESS_FAIL("hostile[%zu] prefix %zu parsed: %d", i, n, r);
                        ASSERT_TRUE(r == HTTP_PARSE_ERROR || r == HTTP_PARSE_INCOMPLETE ||
                                    r == HTTP_PARSE_TOO_MANY || (r > 0 && (size_t)r <= n));
                }
        }
}

/* Incremental feeding (last_len) of the hostile inputs reaches the verdict
 * a one-shot parse reaches, with two exceptions: a bad byte arriving after
 * capacity is exceeded may give ERROR rather than TOO_MANY, and a structural
 * error in a line still unfinished is only reported once its line ends (bad
 * bytes and lone CRs are reported at once). */
TEST(parse_hostile_trickle)
{
        for (size_t i = 0; i < ELEMENTSOF(hostile); i++) {
                const struct hostile *t = &hostile[i];
                struct http_header hs[2];
                struct http_request req;
                size_t last = 0;
                int r = HTTP_PARSE_INCOMPLETE;

                for (size_t n = 1; n <= t->len && r == HTTP_PARSE_INCOMPLETE; n++) {
                        r = parse(t->in, n, last, &req, hs, ELEMENTSOF(hs));
                        last = n;
                }
                if (r == HTTP_PARSE_INCOMPLETE && t->expect != HTTP_PARSE_INCOMPLETE) {
                        char more[512];

                        ASSERT_TRUE(t->len > 0 && t->in[t->len - 1] != '\n');
                        ASSERT_TRUE(t->len + 2 <= sizeof(more));
                        memcpy(more, t->in, t->len);
                        memcpy(more + t->len, "\r\n", 2);
                        r = parse(more, t->len + 2, t->len, &req, hs, ELEMENTSOF(hs));
                }
                if (r != t->expect && !(t->expect == HTTP_PARSE_TOO_MANY && r == HTTP_PARSE_ERROR))
                        HARNESS_FAIL("hostile[%zu] trickled: got %d, want %d", i, r, t->expect);
        }
}

TEST(parse_early_error_on_first_line)
{
        struct http_header hs[4];
        struct http_request req;

        /* Whatever is there is already wrong: no need to wait for more. */
        ASSERT_EQ(parse(S("G\0"), 0, &req, hs, 4), HTTP_PARSE_ERROR);
        ASSERT_EQ(parse(S("GET / HTTP/2"), 0, &req, hs, 4), HTTP_PARSE_ERROR);
        ASSERT_EQ(parse(S("GET  "), 0, &req, hs, 4), HTTP_PARSE_ERROR);
        /* Also when fed incrementally: a forbidden byte is caught as it arrives. */
        ASSERT_EQ(parse(S("GET /a"), 0, &req, hs, 4), HTTP_PARSE_INCOMPLETE);
        ASSERT_EQ(parse(S("GET /a\x01"), 6, &req, hs, 4), HTTP_PARSE_ERROR);
        ASSERT_EQ(parse(S("GET /a\rb"), 7, &req, hs, 4), HTTP_PARSE_ERROR);
        ASSERT_EQ(parse(S("GET /a\nb"), 6, &req, hs, 4), HTTP_PARSE_ERROR);
}

TEST(parse_too_many_headers)
{
        static const char in[] = "GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n";
        struct http_header hs[4];
        struct http_request req;

        ASSERT_EQ(parse(S(in), 0, &req, hs, 3), sizeof(in) - 1);
        ASSERT_EQ(req.num_headers, 3);
        ASSERT_EQ(parse(S(in), 0, &req, hs, 2), HTTP_PARSE_TOO_MANY);
        ASSERT_EQ(parse(S(in), 0, &req, hs, 0), HTTP_PARSE_TOO_MANY);
        ASSERT_EQ(parse(S("GET / HTTP/1.1\r\n\r\n"), 0, &req, hs, 0), 18);

        /* The canary after a capacity of 2 is never written. */
        struct http_header canary[3] = {[2] = {.name = "canary"}};
        ASSERT_EQ(parse(S(in), 0, &req, canary, 2), HTTP_PARSE_TOO_MANY);
        ASSERT_STREQ(canary[2].name, "canary");
}

TEST(parse_big_request)
{
        /* A 12 KiB target and 100 headers, just what the front allows. */
        static char in[32 * 1024];
        struct http_header hs[100];
        struct http_request req;
        size_t n = 0;

        n += (size_t)snprintf(in + n, sizeof(in) - n, "POST /");
        memset(in + n, 'a', 12 * 1024);
        n += 12 * 1024;
        n += (size_t)snprintf(in + n, sizeof(in) - n, " HTTP/1.1\r\n");
        for (int i = 0; i < 100; i++)
                n += (size_t)snprintf(in + n, sizeof(in) - n, "X-H%d: value %d\r\n", i, i);
        n += (size_t)snprintf(in + n, sizeof(in) - n, "\r\n");

        ASSERT_EQ(parse(in, n, 0, &req, hs, 100), n);
        ASSERT_EQ(req.target_len, 12 * 1024 + 1);
        ASSERT_EQ(req.num_headers, 100);
        ASSERT_MEMEQ(hs[99].value, hs[99].value_len, "value 99");
        ASSERT_EQ(parse(in, n, 0, &req, hs, 99), HTTP_PARSE_TOO_MANY);
}

/* Same verdict and same views (as offsets) for two parses. */
static bool same_result(int ra, const char *a, const struct http_request *qa, int rb, const char *b,
                        const struct http_request *qb)
{
        if (ra != rb)
                return false;
        if (ra <= 0)
                return true;
        if (qa->method - a != qb->method - b || qa->method_len != qb->method_len ||
            qa->target - a != qb->target - b || qa->target_len != qb->target_len ||
            qa->path - a != qb->path - b || qa->path_len != qb->path_len ||
            qa->minor_version != qb->minor_version || qa->num_headers != qb->num_headers)
                return false;
        for (size_t i = 0; i < qa->num_headers; i++) {
                const struct http_header *x = &qa->headers[i], *y = &qb->headers[i];
                if (x->name - a != y->name - b || x->name_len != y->name_len ||
                    x->value - a != y->value - b || x->value_len != y->value_len)
                        return false;
        }
        return true;
}

static const char *const valid[] = {
    "GET / HTTP/1.1\r\n\r\n",
    "GET /mcp?x=1 HTTP/1.0\r\nHost: h\r\n\r\n",
    "\r\n\r\nPOST /mcp HTTP/1.1\r\n"
    "Host: localhost:8080\r\n"
    "Content-Type: application/json\r\n"
    "Accept: application/json, text/event-stream\r\n"
    "Mcp-Session-Id: 0123456789abcdef\r\n"
    "X-Spaces:   a  b   \r\n"
    "X-Empty:\r\n"
    "Content-Length: 2\r\n"
    "\r\n{}",
    "DELETE /mcp HTTP/1.1\r\nAuthorization: Bearer abc.def\r\nX:\t\t\r\n\r\nGET / HTTP/1.1\r\n",
};

/* Byte-at-a-time with last_len, each step copied in front of the guard
 * page, gives exactly the one-shot result. */
TEST(parse_trickle_matches_one_shot)
{
        for (size_t i = 0; i < ELEMENTSOF(valid); i++) {
                size_t len = strlen(valid[i]), last = 0;
                struct http_header h1[16], h2[16];
                struct http_request q1 = {.headers = h1}, q2;
                int r1, r2 = HTTP_PARSE_INCOMPLETE;
                char *a;

                r1 = http_parse_request(valid[i], len, 0, &q1, 16);
                ASSERT_TRUE(r1 > 0);
                for (size_t n = 1; n <= len && r2 == HTTP_PARSE_INCOMPLETE; n++) {
                        r2 = parse(valid[i], n, last, &q2, h2, 16);
                        last = n;
                        if (r2 == HTTP_PARSE_INCOMPLETE)
                                ASSERT_TRUE(n < (size_t)r1);
                }
                a = guarded(valid[i], last);
                /* parse() copied the last prefix to the same place. */
                ASSERT_TRUE(same_result(r1, valid[i], &q1, r2, a, &q2));
                ASSERT_EQ(last, (size_t)r1);
        }
}

/* Random-sized pieces, as a socket delivers them. */
TEST(parse_pieces_match_one_shot)
{
        unsigned seed = 1;

        for (int round = 0; round < 200; round++)
                for (size_t i = 0; i < ELEMENTSOF(valid); i++) {
                        size_t len = strlen(valid[i]), last = 0, n = 0;
                        struct http_header h1[16], h2[16];
                        struct http_request q1 = {.headers = h1}, q2;
                        int r1 = http_parse_request(valid[i], len, 0, &q1, 16);
                        int r2 = HTTP_PARSE_INCOMPLETE;

                        while (n < len && r2 == HTTP_PARSE_INCOMPLETE) {
                                seed = seed * 1103515245 + 12345;
                                n = MIN(len, n + 1 + (seed >> 16) % 9);
                                r2 = parse(valid[i], n, last, &q2, h2, 16);
                                last = n;
                        }
                        ASSERT_TRUE(same_result(r1, valid[i], &q1, r2, guarded(valid[i], n), &q2));
                }
}

TEST(parse_pipelined)
{
        static const char in[] = "POST /mcp HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
                                 "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                                 "\r\nGET /b HTTP/1.0\r\n\r\n"
                                 "GET /c";
        struct http_header hs[4];
        struct http_request req = {.headers = hs};
        enum http_body_kind kind;
        size_t off = 0, blen;
        const char *buf = guarded(S(in));
        int r;

        r = http_parse_request(buf, sizeof(in) - 1, 0, &req, 4);
        ASSERT_EQ(r, 41);
        ASSERT_EQ(http_body_framing(&req, 1024, &kind, &blen), 0);
        ASSERT_EQ(kind, HTTP_BODY_LENGTH);
        ASSERT_EQ(blen, 5);
        ASSERT_MEMEQ(buf + r, 5, "hello");
        off = (size_t)r + blen;

        r = http_parse_request(buf + off, sizeof(in) - 1 - off, 0, &req, 4);
        ASSERT_EQ(r, 28);
        ASSERT_MEMEQ(req.path, req.path_len, "/a");
        ASSERT_EQ(http_body_framing(&req, 1024, &kind, &blen), 0);
        ASSERT_EQ(kind, HTTP_BODY_NONE);
        off += (size_t)r;

        r = http_parse_request(buf + off, sizeof(in) - 1 - off, 0, &req, 4);
        ASSERT_EQ(r, 21);
        ASSERT_MEMEQ(req.path, req.path_len, "/b");
        ASSERT_EQ(req.minor_version, 0);
        off += (size_t)r;

        ASSERT_EQ(http_parse_request(buf + off, sizeof(in) - 1 - off, 0, &req, 4),
                  HTTP_PARSE_INCOMPLETE);
}

TEST(parse_last_len_out_of_range)
{
        struct http_header hs[4];
        struct http_request req;

        /* A last_len beyond len (a caller bug) falls back to a full parse. */
        ASSERT_EQ(parse(S("GET / HTTP/1.1\r\n\r\n"), 100, &req, hs, 4), 18);
        ASSERT_EQ(parse(S("GET / HTTP/1.1\r\n\r\n"), 18, &req, hs, 4), 18);
        ASSERT_EQ(parse(S("GET / HTTP/1.1\r\n\r\n"), 17, &req, hs, 4), 18);
}

TEST(find_and_count_headers)
{
        static const char in[] = "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\nX-AB: 3\r\n\r\n";
        struct http_header hs[8];
        struct http_request req;
        const struct http_header *h;

        ASSERT_TRUE(parse(S(in), 0, &req, hs, 8) > 0);
        h = http_find_header(&req, "x-A");
        ASSERT_NOT_NULL(h);
        ASSERT_MEMEQ(h->value, h->value_len, "1");
        ASSERT_EQ(http_count_headers(&req, "X-A"), 2);
        ASSERT_EQ(http_count_headers(&req, "X-AB"), 1);
        ASSERT_EQ(http_count_headers(&req, "X"), 0);
        ASSERT_NULL(http_find_header(&req, "Hos"));
        ASSERT_NULL(http_find_header(&req, "Hostt"));
        ASSERT_NULL(http_find_header(&req, ""));
        ASSERT_NOT_NULL(http_find_header(&req, "HOST"));
}

/* ---- body framing ---- */

struct framing {
        const char *headers; /* field lines, each ending in CRLF */
        int minor;
        size_t max_body;
        int expect;
        enum http_body_kind kind;
        size_t length;
};

static const struct framing framings[] = {
    {"", 1, 100, 0, HTTP_BODY_NONE, 0},
    {"Host: a\r\n", 0, 100, 0, HTTP_BODY_NONE, 0},
    {"Content-Length: 0\r\n", 1, 100, 0, HTTP_BODY_LENGTH, 0},
    {"Content-Length: 42\r\n", 1, 100, 0, HTTP_BODY_LENGTH, 42},
    {"Host: a\r\nContent-Length: 42\r\nX: 1\r\n", 1, 100, 0, HTTP_BODY_LENGTH, 42},
    {"Host: a\r\nTransfer-Encoding: chunked\r\nX: 1\r\n", 1, 100, 0, HTTP_BODY_CHUNKED, 0},
    {"content-length:    42   \r\n", 1, 100, 0, HTTP_BODY_LENGTH, 42},
    {"Content-Length: 00042\r\n", 1, 100, 0, HTTP_BODY_LENGTH, 42},
    {"Content-Length: 100\r\n", 1, 100, 0, HTTP_BODY_LENGTH, 100},
    {"Content-Length: 101\r\n", 1, 100, 413, HTTP_BODY_NONE, 0},
    {"Content-Length: 0\r\n", 1, 0, 0, HTTP_BODY_LENGTH, 0},
    {"Content-Length: 1\r\n", 1, 0, 413, HTTP_BODY_NONE, 0},
    {"Content-Length: 5, 5\r\n", 1, 100, 0, HTTP_BODY_LENGTH, 5},
    {"Content-Length: 5,5,05\r\n", 1, 100, 0, HTTP_BODY_LENGTH, 5},
    {"Content-Length: 5\r\nContent-Length: 5\r\n", 1, 100, 0, HTTP_BODY_LENGTH, 5},
    {"Content-Length: 5, 6\r\n", 1, 100, 400, HTTP_BODY_NONE, 0},
    {"Content-Length: 5\r\nContent-Length: 6\r\n", 1, 100, 400, HTTP_BODY_NONE, 0},
    {"Content-Length: 5,\r\n", 1, 100, 400, HTTP_BODY_NONE, 0},
    {"Content-Length: ,5\r\n", 1, 100, 400, HTTP_BODY_NONE, 0},
    {"Content-Length:\r\n", 1, 100, 400, HTTP_BODY_NONE, 0},
    {"Content-Length: +5\r\n", 1, 100, 400, HTTP_BODY_NONE, 0},
    {"Content-Length: -5\r\n", 1, 100, 400, HTTP_BODY_NONE, 0},
    {"Content-Length: 5 5\r\n", 1, 100, 400, HTTP_BODY_NONE, 0},
    {"Content-Length: 0x10\r\n", 1, 100, 400, HTTP_BODY_NONE, 0},
    {"Content-Length: 1e3\r\n", 1, 100, 400, HTTP_BODY_NONE, 0},
    {"Content-Length: 5;x\r\n", 1, 100, 400, HTTP_BODY_NONE, 0},
    {"Content-Length: \"5\"\r\n", 1, 100, 400, HTTP_BODY_NONE, 0},
    {"Content-Length: 99999999999999999999999999999999\r\n", 1, 100, 413, HTTP_BODY_NONE, 0},
    {"Content-Length: 99999999999999999999999999999999\r\n", 1, SIZE_MAX, 413, HTTP_BODY_NONE, 0},
    {"Content-Length: 18446744073709551615\r\n", 1, SIZE_MAX, 0, HTTP_BODY_LENGTH, SIZE_MAX},
    {"Content-Length: 18446744073709551616\r\n", 1, SIZE_MAX, 413, HTTP_BODY_NONE, 0},
    {"Content-Length: 0000000000000000000000000000000000000000007\r\n", 1, 100, 0, HTTP_BODY_LENGTH,
     7},
    /* the same huge value twice: equal, then too big */
    {"Content-Length: 123456789012345678901234567890, 123456789012345678901234567890\r\n", 1, 100,
     413, HTTP_BODY_NONE, 0},
    /* differing huge values are told apart without overflow */
    {"Content-Length: 123456789012345678901234567890, 123456789012345678901234567891\r\n", 1, 100,
     400, HTTP_BODY_NONE, 0},
    /* syntax is checked before size */
    {"Content-Length: 999999999999\r\nContent-Length: x\r\n", 1, 100, 400, HTTP_BODY_NONE, 0},
    {"Transfer-Encoding: chunked\r\n", 1, 100, 0, HTTP_BODY_CHUNKED, 0},
    {"Transfer-Encoding: CHUNKED\r\n", 1, 100, 0, HTTP_BODY_CHUNKED, 0},
    {"transfer-encoding: Chunked \r\n", 1, 100, 0, HTTP_BODY_CHUNKED, 0},
    {"Transfer-Encoding: chunked,\r\n", 1, 100, 0, HTTP_BODY_CHUNKED, 0},
    {"Transfer-Encoding: chunked, chunked\r\n", 1, 100, 501, HTTP_BODY_NONE, 0},
    {"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", 1, 100, 501, HTTP_BODY_NONE,
     0},
    {"Transfer-Encoding: gzip, chunked\r\n", 1, 100, 501, HTTP_BODY_NONE, 0},
    {"Transfer-Encoding: gzip\r\n", 1, 100, 501, HTTP_BODY_NONE, 0},
    {"Transfer-Encoding: chunked;q=1\r\n", 1, 100, 501, HTTP_BODY_NONE, 0},
    {"Transfer-Encoding: xchunked\r\n", 1, 100, 501, HTTP_BODY_NONE, 0},
    {"Transfer-Encoding: identity\r\n", 1, 100, 501, HTTP_BODY_NONE, 0},
    {"Transfer-Encoding:\r\n", 1, 100, 501, HTTP_BODY_NONE, 0},
    {"Transfer-Encoding: chunked\r\n", 0, 100, 400, HTTP_BODY_NONE, 0},
    {"Transfer-Encoding: gzip\r\n", 0, 100, 400, HTTP_BODY_NONE, 0},
    {"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", 1, 100, 400, HTTP_BODY_NONE, 0},
    {"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", 1, 100, 400, HTTP_BODY_NONE, 0},
    {"Content-Length: x\r\nTransfer-Encoding: gzip\r\n", 1, 100, 400, HTTP_BODY_NONE, 0},
};

TEST(body_framing_table)
{
        for (size_t i = 0; i < ELEMENTSOF(framings); i++) {
                const struct framing *t = &framings[i];
                char in[512];
                struct http_header hs[8];
                struct http_request req;
                enum http_body_kind kind = HTTP_BODY_CHUNKED;
                size_t length = 12345;
                int n, r;

                n = snprintf(in, sizeof(in), "POST / HTTP/1.%d\r\n%s\r\n", t->minor, t->headers);
                ASSERT_TRUE(n > 0 && (size_t)n < sizeof(in));
                ASSERT_EQ(parse(in, (size_t)n, 0, &req, hs, 8), n);
                r = http_body_framing(&req, t->max_body, &kind, &length);
                if (r != t->expect || kind != t->kind || length != t->length)
                        HARNESS_FAIL("framings[%zu] \"%s\": got %d/%d/%zu, want %d/%d/%zu", i,
                                     t->headers, r, (int)kind, length, t->expect, (int)t->kind,
                                     t->length);
        }
}

/* ---- chunked ---- */

/* Decodes in one call from a guarded copy. Returns the decoder's result;
 * the decoded body and the leftover land in out / ret_left. */
static ssize_t decode_all(const char *in, size_t len, size_t max_body, char *out, size_t *ret_len,
                          size_t *ret_left)
{
        struct http_chunked_decoder dec = {};
        char *buf = guarded(in, len);
        size_t n = len;
        ssize_t r = http_decode_chunked(&dec, buf, &n, max_body);

        if (n > len || (r >= 0 && n + (size_t)r > len))
                abort();
        memcpy(out, buf, n + (r > 0 ? (size_t)r : 0));
        *ret_len = n;
        *ret_left = r > 0 ? (size_t)r : 0;
        return r;
}

TEST(chunked_simple)
{
        char out[256];
        size_t n, left;

        ASSERT_EQ(decode_all(S("5\r\nhello\r\n0\r\n\r\n"), 100, out, &n, &left), 0);
        ASSERT_MEMEQ(out, n, "hello");

        ASSERT_EQ(decode_all(S("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET / HTTP/1.1"), 100, out,
                             &n, &left),
                  14);
        ASSERT_MEMEQ(out, n, "hello world");
        ASSERT_MEMEQ(out + n, left, "GET / HTTP/1.1");

        ASSERT_EQ(decode_all(S("0\r\n\r\n"), 0, out, &n, &left), 0);
        ASSERT_EQ(n, 0);

        ASSERT_EQ(
            decode_all(S("A\r\n0123456789\r\na\r\nabcdefghij\r\n00\r\n\r\n"), 100, out, &n, &left),
            0);
        ASSERT_MEMEQ(out, n, "0123456789abcdefghij");

        /* chunk data may hold anything, CRLF and NUL included */
        ASSERT_EQ(decode_all(S("4\r\n\r\n\0\n\r\n0\r\n\r\n"), 100, out, &n, &left), 0);
        ASSERT_EQ(n, 4);
        ASSERT_EQ(memcmp(out, "\r\n\0\n", 4), 0);
}

TEST(chunked_extensions_and_trailers)
{
        char out[256];
        size_t n, left;

        ASSERT_EQ(decode_all(S("5;name=value;flag\r\nhello\r\n0;last=\"a b\"\r\n\r\n"), 100, out,
                             &n, &left),
                  0);
        ASSERT_MEMEQ(out, n, "hello");
        ASSERT_EQ(decode_all(S("5 ; x\r\nhello\r\n0\t;y\r\n\r\n"), 100, out, &n, &left), 0);
        ASSERT_MEMEQ(out, n, "hello");
        ASSERT_EQ(decode_all(S("5\r\nhello\r\n0\r\nX-Sum: abc\r\nY:\r\nZ: \xff\t1\r\n\r\nrest"),
                             100, out, &n, &left),
                  4);
        ASSERT_MEMEQ(out, n, "hello");
        ASSERT_MEMEQ(out + n, left, "rest");
}

static const struct hostile bad_chunks[] = {
    BAD("\r\n"),
    BAD("x\r\n"),
    BAD("-5\r\nhello\r\n0\r\n\r\n"),
    BAD("+5\r\nhello\r\n0\r\n\r\n"),
    BAD("0x5\r\nhello\r\n0\r\n\r\n"),
    BAD(" 5\r\nhello\r\n0\r\n\r\n"),
    BAD("5 \r\nhello\r\n0\r\n\r\n"),
    BAD("5 x\r\nhello\r\n0\r\n\r\n"),
    BAD("5\nhello\r\n0\r\n\r\n"),
    BAD("5\rhello\r\n0\r\n\r\n"),
    BAD("5\r\nhelloX\r\n0\r\n\r\n"),
    BAD("5\r\nhello\n0\r\n\r\n"),
    BAD("5\r\nhello\rX0\r\n\r\n"),
    BAD("5\r\nhello\r\n\r\n"),
    BAD("5;a\0b\r\nhello\r\n0\r\n\r\n"),
    BAD("5;a\nb\r\nhello\r\n0\r\n\r\n"),
    BAD("5;a\x7f\r\nhello\r\n0\r\n\r\n"),
    BAD("5;a\rb\r\nhello\r\n0\r\n\r\n"),
    BAD("0\r\n\n"),
    BAD("0\r\n\r\r"),
    BAD("0\r\n\rX"),
    BAD("0\r\nX: a\n\r\n"),
    BAD("0\r\nX: a\rb\r\n\r\n"),
    BAD("0\r\nX a\r\n\r\n"),
    BAD("0\r\n: a\r\n\r\n"),
    BAD("0\r\n X: a\r\n\r\n"),
    BAD("0\r\nX: a\r\n b\r\n\r\n"),
    BAD("0\r\nX: a\0\r\n\r\n"),
    BAD("0\r\nX(: a\r\n\r\n"),
    /* 17 hex digits: more than a size_t holds */
    BAD("10000000000000000\r\n"),
    BAD("fffffffffffffffff\r\n"),
    /* more than 32 digits, leading zeros or not */
    BAD("000000000000000000000000000000005\r\n"),
    H("5\r\nhel", -2),
    H("5\r\nhello\r", -2),
    H("0\r\nX: a\r\n", -2),
    H("0\r\n\r", -2),
    H("00000000000000000000000000000005\r\nhello\r\n0\r\n\r\n", 0),
    H("ffffffffffffffff\r\nabc", -2),
};

TEST(chunked_hostile_table)
{
        for (size_t i = 0; i < ELEMENTSOF(bad_chunks); i++) {
                const struct hostile *t = &bad_chunks[i];
                char out[256];
                size_t n, left;
                ssize_t r = decode_all(t->in, t->len, SIZE_MAX, out, &n, &left);

                if (r != t->expect)
                        HARNESS_FAIL("bad_chunks[%zu] \"%.*s\": got %zd, want %d", i, (int)t->len,
                                     t->in, r, t->expect);
                /* and every prefix answers without reading past it */
                for (size_t k = 0; k < t->len; k++) {
                        r = decode_all(t->in, k, SIZE_MAX, out, &n, &left);
                        ASSERT_TRUE(r == -1 || r == -2 || (t->expect >= 0 && r >= 0));
                }
        }
}

TEST(chunked_max_body)
{
        char out[256];
        size_t n, left;

        ASSERT_EQ(decode_all(S("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n"), 10, out, &n, &left), 0);
        ASSERT_EQ(decode_all(S("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), 10, out, &n, &left), -3);
        ASSERT_EQ(decode_all(S("b\r\n"), 10, out, &n, &left), -3);
        ASSERT_EQ(decode_all(S("ffffffffffffffff\r\n"), 1 << 20, out, &n, &left), -3);
        ASSERT_EQ(decode_all(S("1\r\n"), 0, out, &n, &left), -3);
}

TEST(chunked_ext_and_trailer_limits)
{
        static char in[40 * 1024];
        char out[256];
        size_t n, len, left;

        /* an extension of 4096 bytes (';' counted) is fine, one more is not */
        len = 0;
        in[len++] = '5';
        in[len++] = ';';
        memset(in + len, 'e', 4095);
        len += 4095;
        memcpy(in + len, "\r\nhello\r\n0\r\n\r\n", 14);
        ASSERT_EQ(decode_all(in, len + 14, 100, out, &n, &left), 0);
        ASSERT_MEMEQ(out, n, "hello");
        memmove(in + len + 1, in + len, 14);
        in[len] = 'e';
        ASSERT_EQ(decode_all(in, len + 15, 100, out, &n, &left), -1);

        /* BWS counts too */
        len = 0;
        in[len++] = '5';
        memset(in + len, ' ', 5000);
        len += 5000;
        ASSERT_EQ(decode_all(in, len, 100, out, &n, &left), -1);

        /* trailers: 16 KiB, final CRLF included, as one long field line */
        memcpy(in, "0\r\nA: ", 6);
        len = 6;
        memset(in + len, 'a', 16 * 1024 - 7);
        len += 16 * 1024 - 7;
        memcpy(in + len, "\r\n\r\n", 4);
        len += 4;
        ASSERT_EQ(len - 3, 16 * 1024);
        ASSERT_EQ(decode_all(in, len, 100, out, &n, &left), 0);
        memcpy(in + len - 4, "a\r\n\r\n", 5);
        ASSERT_EQ(decode_all(in, len + 1, 100, out, &n, &left), -1);
}

/* Feeds in[] to the decoder as the caller does: the decoded prefix stays,
 * new bytes are appended after it, the call is made past the prefix. The
 * split points come from cuts[] (increasing offsets into in). */
static ssize_t decode_split(const char *in, size_t len, const size_t *cuts, size_t ncuts,
                            size_t max_body, char *work, size_t *ret_len, size_t *ret_left)
{
        struct http_chunked_decoder dec = {};
        size_t decoded = 0, fed = 0;
        ssize_t r = -2;

        for (size_t c = 0; c <= ncuts && r == -2; c++) {
                size_t upto = c < ncuts ? cuts[c] : len;
                size_t n = upto - fed;

                memcpy(work + decoded, in + fed, n);
                fed = upto;
                r = http_decode_chunked(&dec, work + decoded, &n, max_body);
                decoded += n;
                if (r >= 0) {
                        /* leftover from this piece, plus the bytes not yet fed */
                        memcpy(work + decoded + (size_t)r, in + fed, len - fed);
                        r += (ssize_t)(len - fed);
                }
        }
        *ret_len = decoded;
        *ret_left = r > 0 ? (size_t)r : 0;
        return r;
}

static const char *const chunked_bodies[] = {
    "5\r\nhello\r\n0\r\n\r\n",
    "5;ext=1\r\nhello\r\n1 ; a\r\n \r\n10\r\n0123456789abcdef\r\n0\r\nT: v\r\n\r\nNEXT",
    "1\r\nx\r\n0\r\nA: 1\r\nB: 2\r\n\r\n",
    "0\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n",
    "3\r\nab\r\n0\r\n\r\n",  /* data is "ab\r", then "\n0" is not CRLF */
    "3\r\nabc\r\n0\r\n\r",   /* incomplete */
    "3\r\nabc\r\nz\r\n\r\n", /* bad size */
};

TEST(chunked_every_split)
{
        char work[256], ref[256];

        for (size_t i = 0; i < ELEMENTSOF(chunked_bodies); i++) {
                const char *in = chunked_bodies[i];
                size_t len = strlen(in), rn, rl;
                ssize_t rr = decode_all(in, len, SIZE_MAX, ref, &rn, &rl);

                /* one cut at every position */
                for (size_t k = 0; k <= len; k++) {
                        size_t n, l;
                        ssize_t r = decode_split(in, len, &k, 1, SIZE_MAX, work, &n, &l);
                        if (r != rr || n != rn || l != rl || memcmp(work, ref, n + l) != 0)
                                HARNESS_FAIL("body %zu split at %zu: %zd/%zu vs %zd/%zu", i, k, r,
                                             n, rr, rn);
                }
                /* two cuts at every pair of positions */
                for (size_t a = 0; a <= len; a++)
                        for (size_t b = a; b <= len; b++) {
                                size_t cuts[2] = {a, b}, n, l;
                                ssize_t r = decode_split(in, len, cuts, 2, SIZE_MAX, work, &n, &l);
                                if (r != rr || n != rn || l != rl || memcmp(work, ref, n + l) != 0)
                                        HARNESS_FAIL("body %zu split at %zu,%zu", i, a, b);
                        }
                /* one byte at a time */
                size_t cuts[128], n, l;
                for (size_t k = 0; k < len && k < ELEMENTSOF(cuts); k++)
                        cuts[k] = k + 1;
                ssize_t r =
                    decode_split(in, len, cuts, MIN(len, ELEMENTSOF(cuts)), SIZE_MAX, work, &n, &l);
                ASSERT_TRUE(r == rr && n == rn && l == rl && memcmp(work, ref, n + l) == 0);
        }
}

TEST(chunked_expected_results)
{
        char out[256];
        size_t n, left;

        ASSERT_EQ(
            decode_all(chunked_bodies[1], strlen(chunked_bodies[1]), SIZE_MAX, out, &n, &left), 4);
        ASSERT_MEMEQ(out, n, "hello 0123456789abcdef");
        ASSERT_MEMEQ(out + n, left, "NEXT");
        ASSERT_EQ(
            decode_all(chunked_bodies[3], strlen(chunked_bodies[3]), SIZE_MAX, out, &n, &left), 20);
        ASSERT_EQ(n, 0);
        ASSERT_EQ(
            decode_all(chunked_bodies[4], strlen(chunked_bodies[4]), SIZE_MAX, out, &n, &left), -1);
        ASSERT_EQ(
            decode_all(chunked_bodies[5], strlen(chunked_bodies[5]), SIZE_MAX, out, &n, &left), -2);
        ASSERT_MEMEQ(out, n, "abc");
        ASSERT_EQ(
            decode_all(chunked_bodies[6], strlen(chunked_bodies[6]), SIZE_MAX, out, &n, &left), -1);
}

TEST(chunked_sticky_states)
{
        struct http_chunked_decoder dec = {};
        char buf[64];
        size_t n;

        /* after an error every call fails, even with no bytes */
        memcpy(buf, "x", 1);
        n = 1;
        ASSERT_EQ(http_decode_chunked(&dec, buf, &n, 100), -1);
        memcpy(buf, "5\r\n", 3);
        n = 3;
        ASSERT_EQ(http_decode_chunked(&dec, buf, &n, 100), -1);
        ASSERT_EQ(n, 0);
        n = 0;
        ASSERT_EQ(http_decode_chunked(&dec, buf, &n, 100), -1);

        /* -3 is final as well */
        dec = (struct http_chunked_decoder){};
        memcpy(buf, "ff\r\n", 4);
        n = 4;
        ASSERT_EQ(http_decode_chunked(&dec, buf, &n, 100), -3);
        n = 0;
        ASSERT_EQ(http_decode_chunked(&dec, buf, &n, 100), -1);

        /* after the end, everything is leftover */
        dec = (struct http_chunked_decoder){};
        memcpy(buf, "0\r\n\r\n", 5);
        n = 5;
        ASSERT_EQ(http_decode_chunked(&dec, buf, &n, 100), 0);
        memcpy(buf, "abc", 3);
        n = 3;
        ASSERT_EQ(http_decode_chunked(&dec, buf, &n, 100), 3);
        ASSERT_EQ(n, 0);

        /* an empty call on a fresh decoder just needs more */
        dec = (struct http_chunked_decoder){};
        n = 0;
        ASSERT_EQ(http_decode_chunked(&dec, buf, &n, 100), -2);
        ASSERT_EQ(dec.total, 0);

        /* total counts the decoded body across calls */
        memcpy(buf, "3\r\nab", 5);
        n = 5;
        ASSERT_EQ(http_decode_chunked(&dec, buf, &n, 100), -2);
        ASSERT_EQ(n, 2);
        memcpy(buf + 2, "c\r\n2\r\nde\r\n", 10);
        n = 10;
        ASSERT_EQ(http_decode_chunked(&dec, buf + 2, &n, 100), -2);
        ASSERT_EQ(n, 3);
        ASSERT_EQ(dec.total, 5);
        ASSERT_EQ(memcmp(buf, "abcde", 5), 0);
}

/* ---- header value helpers ---- */

#define VAL(lit) lit, sizeof(lit) - 1

TEST(accepts)
{
        ASSERT_TRUE(
            http_accepts(VAL("application/json, text/event-stream;q=0.9"), "application/json"));
        ASSERT_TRUE(
            http_accepts(VAL("application/json, text/event-stream;q=0.9"), "text/event-stream"));
        ASSERT_FALSE(http_accepts(VAL("application/json, text/event-stream;q=0.9"), "text/html"));
        ASSERT_TRUE(http_accepts(VAL("*/*"), "application/json"));
        ASSERT_TRUE(http_accepts(VAL("*"), "application/json"));
        ASSERT_TRUE(http_accepts(VAL("text/*"), "text/event-stream"));
        ASSERT_FALSE(http_accepts(VAL("text/*"), "application/json"));
        ASSERT_FALSE(http_accepts(VAL("tex/*"), "text/event-stream"));
        ASSERT_FALSE(http_accepts(VAL("application/json;q=0"), "application/json"));
        ASSERT_FALSE(http_accepts(VAL("application/json; q=0.000"), "application/json"));
        ASSERT_FALSE(http_accepts(VAL("application/json ; Q=0."), "application/json"));
        ASSERT_TRUE(http_accepts(VAL("application/json;q=0.001"), "application/json"));
        ASSERT_FALSE(http_accepts(VAL("application/json;;a; q=0 ;b"), "application/json"));
        ASSERT_TRUE(http_accepts(VAL("json"), "json"));
        ASSERT_TRUE(http_accepts(VAL("application/json;q=1"), "application/json"));
        ASSERT_TRUE(http_accepts(VAL("application/json;q=0.0001"), "application/json"));
        ASSERT_TRUE(http_accepts(VAL("application/json;q=0.0x"), "application/json"));
        ASSERT_TRUE(http_accepts(VAL("application/json;q=01"), "application/json"));
        ASSERT_TRUE(http_accepts(VAL("application/json;q="), "application/json"));
        ASSERT_TRUE(http_accepts(VAL("application/json;qq=0;level=1"), "application/json"));
        ASSERT_TRUE(http_accepts(VAL("application/json;charset=utf-8"), "application/json"));
        ASSERT_TRUE(http_accepts(VAL("APPLICATION/Json"), "application/json"));
        ASSERT_FALSE(http_accepts(VAL("application/jsonx"), "application/json"));
        ASSERT_FALSE(http_accepts(VAL("application/jso"), "application/json"));
        ASSERT_FALSE(http_accepts(VAL(""), "application/json"));
        ASSERT_FALSE(http_accepts(VAL(" , ,"), "application/json"));
        /* the most specific range decides */
        ASSERT_FALSE(http_accepts(VAL("application/json;q=0, */*"), "application/json"));
        ASSERT_TRUE(http_accepts(VAL("application/json;q=0, */*"), "text/html"));
        ASSERT_FALSE(http_accepts(VAL("*/*, text/*;q=0"), "text/event-stream"));
        ASSERT_TRUE(http_accepts(VAL("text/*;q=0, text/event-stream"), "text/event-stream"));
        ASSERT_FALSE(http_accepts(VAL("*/*;q=0"), "text/event-stream"));
        /* the value need not be NUL-terminated */
        ASSERT_TRUE(http_accepts("text/event-streamXYZ", 17, "text/event-stream"));
        ASSERT_FALSE(http_accepts("text/event-streamXYZ", 16, "text/event-stream"));
}

TEST(accepts_exact)
{
        ASSERT_TRUE(
            http_accepts_exact(VAL("application/json, text/event-stream"), "text/event-stream"));
        ASSERT_TRUE(http_accepts_exact(VAL("text/event-stream;q=0.5"), "text/event-stream"));
        ASSERT_FALSE(http_accepts_exact(VAL("*/*"), "application/json"));
        ASSERT_FALSE(http_accepts_exact(VAL("*"), "application/json"));
        ASSERT_FALSE(http_accepts_exact(VAL("application/*"), "application/json"));
        ASSERT_FALSE(http_accepts_exact(VAL("application/json;q=0"), "application/json"));
        ASSERT_TRUE(http_accepts_exact(VAL("*/*;q=0, application/json"), "application/json"));
}

TEST(media_type_is)
{
        ASSERT_TRUE(http_media_type_is(VAL("application/json"), "application/json"));
        ASSERT_TRUE(http_media_type_is(VAL("Application/JSON; charset=utf-8"), "application/json"));
        ASSERT_TRUE(
            http_media_type_is(VAL(" application/json ;charset=utf-8"), "application/json"));
        ASSERT_FALSE(http_media_type_is(VAL("application/jsonx"), "application/json"));
        ASSERT_FALSE(http_media_type_is(VAL("application/json, text/plain"), "application/json"));
        ASSERT_FALSE(http_media_type_is(VAL("text/plain"), "application/json"));
        ASSERT_FALSE(http_media_type_is(VAL(""), "application/json"));
        ASSERT_FALSE(http_media_type_is(VAL(";"), "application/json"));
}

TEST(has_token)
{
        ASSERT_TRUE(http_has_token(VAL("close"), "close"));
        ASSERT_TRUE(http_has_token(VAL("Keep-Alive, Upgrade"), "upgrade"));
        ASSERT_TRUE(http_has_token(VAL(" , CLOSE ,"), "close"));
        ASSERT_TRUE(http_has_token(VAL("gzip;q=1, chunked"), "gzip"));
        ASSERT_FALSE(http_has_token(VAL("closed"), "close"));
        ASSERT_FALSE(http_has_token(VAL("clos"), "close"));
        ASSERT_FALSE(http_has_token(VAL("keep-alive"), "close"));
        ASSERT_FALSE(http_has_token(VAL(""), "close"));
        ASSERT_FALSE(http_has_token("closeX", 4, "close"));
}

TEST(helpers_take_absent_values)
{
        ASSERT_FALSE(http_accepts(NULL, 0, "application/json"));
        ASSERT_FALSE(http_accepts_exact(NULL, 0, "application/json"));
        ASSERT_FALSE(http_media_type_is(NULL, 0, "application/json"));
        ASSERT_FALSE(http_has_token(NULL, 0, "close"));
}

TEST(status_reason)
{
        static const int required[] = {100, 200, 202, 204, 400, 401, 403, 404, 405, 406, 408, 409,
                                       413, 415, 421, 429, 431, 500, 501, 502, 503, 504, 505};

        for (size_t i = 0; i < ELEMENTSOF(required); i++)
                if (strcmp(http_status_reason(required[i]), "Unknown") == 0)
                        HARNESS_FAIL("no reason for %d", required[i]);
        ASSERT_STREQ(http_status_reason(404), "Not Found");
        ASSERT_STREQ(http_status_reason(200), "OK");
        ASSERT_STREQ(http_status_reason(431), "Request Header Fields Too Large");
        ASSERT_STREQ(http_status_reason(999), "Unknown");
        ASSERT_STREQ(http_status_reason(0), "Unknown");
        ASSERT_STREQ(http_status_reason(-1), "Unknown");
}

HARNESS_MAIN()
