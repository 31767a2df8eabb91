/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the SSE parser. The first byte picks a piece size; the rest is the
 * stream, parsed once whole and once in pieces: both must give the same
 * events, consume no more than they are given, and respect the cap.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/sse.h"

#define FUZZ_SSE_MAX 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feeds in pieces of step bytes (0: whole); appends "type\0data\0id\0" or "!" per result. */
static void run(const char *in, size_t len, size_t step, struct buf *out)
{
        struct sse_parser p;
        size_t off = 0;

        sse_parser_init(&p, FUZZ_SSE_MAX);
        while (off < len) {
                size_t piece = step && len - off > step ? step : len - off;
                const char *d = in + off;
                size_t left = piece;

                while (left > 0) {
                        struct sse_parsed_event ev;
                        size_t n = (size_t)-1;
                        int r = sse_parse(&p, d, left, &n, &ev);

                        if (n > left)
                                abort();
                        if (r == 0 && n != left)
                                abort();
                        d += n;
                        left -= n;
                        if (r > 0) {
                                if (ev.data_len > FUZZ_SSE_MAX || strlen(ev.type) > SSE_TYPE_MAX ||
                                    strlen(ev.id) > SSE_ID_MAX || ev.data[ev.data_len] != 0)
                                        abort();
                                if (buf_append(out, ev.type, strlen(ev.type) + 1) < 0 ||
                                    buf_append(out, ev.data, ev.data_len) < 0 ||
                                    buf_append(out, "", 1) < 0 ||
                                    buf_append(out, ev.id, strlen(ev.id) + 1) < 0)
                                        abort();
                        } else if (r == -E2BIG) {
                                if (buf_append(out, "!", 1) < 0)
                                        abort();
                        } else if (r != 0)
                                abort();
                }
                off += piece;
        }
        sse_parser_done(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct buf a, b;
        size_t step;

        if (size < 1)
                return 0;
        step = data[0] % 17;
        buf_init(&a, 64 * 1024 * 1024);
        buf_init(&b, 64 * 1024 * 1024);
        run((const char *)data + 1, size - 1, 0, &a);
        run((const char *)data + 1, size - 1, step, &b);
        if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0))
                abort();
        buf_done(&a);
        buf_done(&b);
        return 0;
}
