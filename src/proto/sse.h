/* SPDX-License-Identifier: MIT */
/*
 * Server-sent events (the WHATWG "text/event-stream" format) as a client
 * reads them: incremental, in the "consume or need-more" shape, with a cap
 * on one event. Pure: no sockets, no loop, so it is unit-tested and fuzzed.
 *
 *   struct sse_parser p;
 *   sse_parser_init(&p, 16 << 20);
 *   while (len > 0) {
 *           size_t n;
 *           struct sse_parsed_event ev;
 *           int r = sse_parse(&p, data, len, &n, &ev);
 *           data += n, len -= n;
 *           if (r > 0)  ... ev.type, ev.data[0..ev.data_len), ev.id ...
 *           else if (r == -E2BIG) ... an event over the cap was dropped ...
 *   }
 *   sse_parser_done(&p);
 *
 * Lines end in CRLF, LF or CR (a CR at the end of one input and an LF at the
 * start of the next are one line end). A leading UTF-8 BOM is skipped.
 * Fields: "data" (lines joined with LF), "event", "id" (ignored when it
 * holds a NUL; persists across events as the last event id), "retry"
 * (digits only); lines starting with ':' are comments; other fields are
 * ignored. An event is dispatched at an empty line when it had at least one
 * data line (so "id: 7\ndata:\n\n", a priming event, is dispatched with
 * empty data); an incomplete event at the end of the stream is the caller's
 * to discard.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define SSE_TYPE_MAX 64   /* longer event types are truncated (and so match nothing we know) */
#define SSE_ID_MAX   1024 /* longer ids are ignored: the previous one stays */

struct sse_parser {
        size_t max;      /* cap on one event's data and on one line */
        struct buf line; /* a line split across inputs */
        struct buf data; /* the event being built */
        char type[SSE_TYPE_MAX + 1];
        char last_id[SSE_ID_MAX + 1];
        long retry_ms;     /* the last valid "retry:" value, -1 when none came */
        unsigned bom_seen; /* bytes of a leading BOM matched so far */
        bool started;      /* past the stream's first bytes (BOM check done) */
        bool has_data;     /* the current event has a data line */
        bool has_type;
        bool has_id;     /* the current event has a valid "id:" line */
        bool skip_lf;    /* the last input ended in CR: a leading LF is part of that line end */
        bool drop_line;  /* the current line went over the cap */
        bool overflow;   /* the current event went over the cap: dropped at its end */
        bool reset_next; /* an event was returned: clear it on the next call */
};

struct sse_parsed_event {
        const char *type; /* the "event:" field, or "message" */
        const char *data; /* NUL-terminated too; valid until the next sse_parse() */
        size_t data_len;
        const char *id; /* the last event id of the stream so far ("" when none) */
        bool has_id;    /* this event carried an "id:" field itself */
};

void sse_parser_init(struct sse_parser *p, size_t max);
void sse_parser_done(struct sse_parser *p);

/*
 * Consumes data[0..len) up to the end of the next event. Sets *ret_consumed
 * (never more than len) and returns:
 *   1       an event was dispatched: *ret describes it;
 *   0       everything was consumed and no event ended: feed more;
 *   -E2BIG  an event (or one of its lines) went over the cap; it was dropped,
 *           consumed through its end; parsing goes on with the next one.
 */
int sse_parse(struct sse_parser *p, const char *data, size_t len, size_t *ret_consumed,
              struct sse_parsed_event *ret);

/* The stream's last event id so far ("" when none), for Last-Event-ID. */
static inline const char *sse_parser_last_id(const struct sse_parser *p)
{
        return p->last_id;
}
