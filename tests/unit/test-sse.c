/* SPDX-License-Identifier: MIT */
/* The SSE parser: fields, line ends, chunk boundaries, caps. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "proto/sse.h"

HARNESS_MAIN()

/* Parses in pieces of `step` bytes (0: all at once) and renders every result as
 * "type|data|id|has_id\n" (-E2BIG as "E2BIG\n") into out. */
static int render(const char *in, size_t len, size_t step, size_t max, char *out, size_t outlen)
{
        struct sse_parser p;
        size_t off = 0, o = 0;
        int events = 0;

        out[0] = 0;
        sse_parser_init(&p, max);
        while (off < len) {
                size_t piece = step ? (len - off < step ? len - off : step) : len - off;
                const char *d = in + off;
                size_t left = piece;

                /* Each piece in its own exact-size allocation: ASan sees any over-read. */
                char *copy = malloc(piece);
                if (!copy)
                        abort();
                memcpy(copy, d, piece);
                d = copy;
                while (left > 0) {
                        struct sse_parsed_event ev;
                        size_t n = 0;
                        int r = sse_parse(&p, d, left, &n, &ev);
                        if (n > left)
                                abort();
                        d += n;
                        left -= n;
                        if (r > 0) {
                                o += (size_t)snprintf(out + o, outlen - o, "%s|%.*s|%s|%d\n",
                                                      ev.type, (int)ev.data_len, ev.data, ev.id,
                                                      ev.has_id);
                                events++;
                        } else if (r == -E2BIG) {
                                o += (size_t)snprintf(out + o, outlen - o, "E2BIG\n");
                                events++;
                        } else if (r == 0 && left != 0)
                                abort();
                        if (o >= outlen)
                                abort();
                }
                free(copy);
                off += piece;
        }
        sse_parser_done(&p);
        return events;
}

/* Every way of cutting the input must give the same events. */
static const char *parse_all_ways(const char *in, size_t max)
{
        static char whole[8192];
        char piece[8192];
        size_t len = strlen(in);

        render(in, len, 0, max, whole, sizeof(whole));
        for (size_t step = 1; step <= len; step++) {
                render(in, len, step, max, piece, sizeof(piece));
                if (strcmp(piece, whole) != 0) {
                        printf("# step %zu gives:\n# %s\n# whole gives:\n# %s\n", step, piece,
                               whole);
                        return "(differs by chunking)";
                }
        }
        return whole;
}

#define EXPECT(in, want) ASSERT_STREQ(parse_all_ways(in, 1024), want)

TEST(simple_message)
{
        EXPECT("data: hello\n\n", "message|hello||0\n");
}

TEST(event_type_and_id)
{
        EXPECT("event: endpoint\nid: 42\ndata: /message?sessionId=abc\n\n",
               "endpoint|/message?sessionId=abc|42|1\n");
}

TEST(multi_line_data_joined_with_lf)
{
        EXPECT("data: a\ndata: b\ndata:c\n\n", "message|a\nb\nc||0\n");
}

TEST(line_ends_crlf_cr_lf)
{
        EXPECT("data: 1\r\n\r\ndata: 2\r\rdata: 3\n\ndata: 4\r\n\n",
               "message|1||0\nmessage|2||0\n"
               "message|3||0\nmessage|4||0\n");
}

TEST(only_one_space_is_stripped)
{
        EXPECT("data:  two\n\n", "message| two||0\n");
}

TEST(comments_and_unknown_fields_ignored)
{
        EXPECT(": keepalive\nfoo: bar\ndata: x\n: more\n\n", "message|x||0\n");
}

TEST(field_without_colon)
{
        /* "data" alone is a data line with an empty value. */
        EXPECT("data\ndata\n\n", "message|\n||0\n");
}

TEST(priming_event_dispatched_with_empty_data)
{
        EXPECT("id: p1\ndata:\n\n", "message||p1|1\n");
}

TEST(id_only_event_not_dispatched_but_id_kept)
{
        EXPECT("id: 7\n\ndata: x\n\n", "message|x|7|0\n");
}

TEST(empty_id_resets_last_id)
{
        EXPECT("id: 7\ndata: a\n\nid\ndata: b\n\n", "message|a|7|1\nmessage|b||1\n");
}

TEST(id_with_nul_ignored)
{
        const char in[] = "id: 1\ndata: a\n\nid: x\0y\ndata: b\n\n";
        char out[256];
        render(in, sizeof(in) - 1, 0, 1024, out, sizeof(out));
        ASSERT_STREQ(out, "message|a|1|1\nmessage|b|1|0\n");
}

TEST(event_type_resets_after_dispatch)
{
        EXPECT("event: a\ndata: 1\n\ndata: 2\n\nevent:\ndata: 3\n\n",
               "a|1||0\nmessage|2||0\nmessage|3||0\n");
}

TEST(retry_digits_only)
{
        struct sse_parser p;
        struct sse_parsed_event ev;
        size_t n;
        const char *in = "retry: 1500\nretry: 12x\nretry:\ndata: a\n\n";

        sse_parser_init(&p, 1024);
        ASSERT_EQ(sse_parse(&p, in, strlen(in), &n, &ev), 1);
        ASSERT_EQ(p.retry_ms, 1500);
        ASSERT_EQ(n, strlen(in));
        sse_parser_done(&p);
}

TEST(bom_skipped_once)
{
        EXPECT("\xEF\xBB\xBF"
               "data: a\n\n\xEF\xBB\xBF"
               "data: b\n\n",
               "message|a||0\n");
}

TEST(partial_bom_is_line_data)
{
        /* "\xEF" then "data" is the field "\xEF" "data": unknown, ignored. */
        EXPECT("\xEF"
               "data: a\n\ndata: b\n\n",
               "message|b||0\n");
}

TEST(incomplete_event_at_end_is_not_dispatched)
{
        EXPECT("data: a\n\ndata: b\n", "message|a||0\n");
}

TEST(event_over_cap_dropped_then_next_parses)
{
        char in[600];
        char want[64];

        memset(in, 0, sizeof(in));
        strcpy(in, "data: ");
        memset(in + 6, 'x', 200);
        strcat(in, "\ndata: ");
        memset(in + strlen(in), 'y', 100);
        strcat(in, "\n\ndata: ok\n\n");
        snprintf(want, sizeof(want), "E2BIG\nmessage|ok||0\n");
        ASSERT_STREQ(parse_all_ways(in, 256), want);
}

TEST(line_over_cap_dropped)
{
        char in[2048];

        strcpy(in, ": ");
        memset(in + 2, 'c', 1500);
        in[1502] = 0;
        strcat(in, "\ndata: lost\n\ndata: kept\n\n");
        ASSERT_STREQ(parse_all_ways(in, 1024), "E2BIG\nmessage|kept||0\n");
}

TEST(data_exactly_at_cap_fits)
{
        char in[64];

        strcpy(in, "data: 0123456789\n\n");
        ASSERT_STREQ(parse_all_ways(in, 10), "message|0123456789||0\n");
        ASSERT_STREQ(parse_all_ways(in, 9), "E2BIG\n");
}

TEST(consumed_stops_at_event_end)
{
        struct sse_parser p;
        struct sse_parsed_event ev;
        size_t n;
        const char *in = "data: a\n\ndata: b\n\n";

        sse_parser_init(&p, 1024);
        ASSERT_EQ(sse_parse(&p, in, strlen(in), &n, &ev), 1);
        ASSERT_EQ(n, 9);
        ASSERT_MEMEQ(ev.data, ev.data_len, "a");
        ASSERT_EQ(sse_parse(&p, in + n, strlen(in) - n, &n, &ev), 1);
        ASSERT_EQ(n, 9);
        ASSERT_MEMEQ(ev.data, ev.data_len, "b");
        ASSERT_EQ(sse_parse(&p, "", 0, &n, &ev), 0);
        ASSERT_EQ(n, 0);
        sse_parser_done(&p);
}

TEST(json_messages_like_an_mcp_server)
{
        EXPECT("event: message\nid: s1_1\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/"
               "progress\"}\n\nevent: message\nid: s1_2\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,"
               "\"result\":{}}\n\n",
               "message|{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}|s1_1|1\n"
               "message|{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}|s1_2|1\n");
}
