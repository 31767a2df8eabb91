/* SPDX-License-Identifier: MIT */
/* Server-sent events, read incrementally (see sse.h). */
#include <errno.h>
#include <string.h>

#include "proto/sse.h"

/* Room for a field name, the colon and a space on top of a capped value. */
#define SSE_LINE_SLACK 16

void sse_parser_init(struct sse_parser *p, size_t max)
{
        *p = (struct sse_parser){.max = max, .retry_ms = -1};
        buf_init(&p->line, max + SSE_LINE_SLACK);
        buf_init(&p->data, max);
}

void sse_parser_done(struct sse_parser *p)
{
        buf_done(&p->line);
        buf_done(&p->data);
}

static void event_reset(struct sse_parser *p)
{
        buf_reset(&p->data);
        p->type[0] = 0;
        p->has_data = p->has_type = p->has_id = p->overflow = false;
}

static bool field_is(const char *f, size_t n, const char *name)
{
        return n == strlen(name) && memcmp(f, name, n) == 0;
}

/* One complete line, without its terminator. Returns true when it ends the event. */
static bool process_line(struct sse_parser *p, const char *l, size_t n)
{
        const char *colon, *v;
        size_t fn, vn;

        if (n == 0)
                return true;
        if (l[0] == ':')
                return false; /* comment */
        colon = memchr(l, ':', n);
        if (colon) {
                fn = (size_t)(colon - l);
                v = colon + 1;
                vn = n - fn - 1;
                if (vn > 0 && *v == ' ') {
                        v++;
                        vn--;
                }
        } else {
                fn = n;
                v = l + n;
                vn = 0;
        }

        if (field_is(l, fn, "data")) {
                if (p->overflow)
                        return false;
                if ((p->has_data && buf_append(&p->data, "\n", 1) < 0) ||
                    buf_append(&p->data, v, vn) < 0) {
                        p->overflow = true;
                        buf_reset(&p->data);
                        return false;
                }
                p->has_data = true;
        } else if (field_is(l, fn, "event")) {
                vn = vn > SSE_TYPE_MAX ? SSE_TYPE_MAX : vn;
                memcpy(p->type, v, vn);
                p->type[vn] = 0;
                p->has_type = true;
        } else if (field_is(l, fn, "id")) {
                if (vn <= SSE_ID_MAX && !memchr(v, 0, vn)) {
                        memcpy(p->last_id, v, vn);
                        p->last_id[vn] = 0;
                        p->has_id = true;
                }
        } else if (field_is(l, fn, "retry")) {
                long ms = 0;
                size_t i;
                for (i = 0; i < vn && v[i] >= '0' && v[i] <= '9'; i++)
                        if (ms < 1000L * 1000 * 1000)
                                ms = ms * 10 + (v[i] - '0');
                if (vn > 0 && i == vn)
                        p->retry_ms = ms;
        }
        return false;
}

int sse_parse(struct sse_parser *p, const char *data, size_t len, size_t *ret_consumed,
              struct sse_parsed_event *ret)
{
        static const char bom[] = "\xEF\xBB\xBF";
        size_t i = 0;

        *ret_consumed = 0;
        if (p->reset_next) {
                event_reset(p);
                p->reset_next = false;
        }

        /* A BOM may come split over inputs; a partial match that fails is line data. */
        while (!p->started && i < len) {
                if ((unsigned char)data[i] == (unsigned char)bom[p->bom_seen]) {
                        i++;
                        if (++p->bom_seen == 3)
                                p->started = true;
                        continue;
                }
                p->started = true;
                if (p->bom_seen > 0 && buf_append(&p->line, bom, p->bom_seen) < 0)
                        p->drop_line = true;
        }

        while (i < len) {
                const char *s = data + i, *l;
                size_t n = len - i, e, ln;
                bool end;

                if (p->skip_lf) {
                        p->skip_lf = false;
                        if (*s == '\n') {
                                i++;
                                continue;
                        }
                }
                for (e = 0; e < n && s[e] != '\n' && s[e] != '\r'; e++)
                        ;
                if (e == n) {
                        /* No line end yet: keep the piece, within the cap. */
                        if (!p->drop_line && buf_append(&p->line, s, n) < 0) {
                                p->drop_line = true;
                                buf_reset(&p->line);
                        }
                        *ret_consumed = len;
                        return 0;
                }
                i += e + 1;
                if (s[e] == '\r') {
                        if (i < len && data[i] == '\n')
                                i++;
                        else if (i == len)
                                p->skip_lf = true;
                }

                if (p->drop_line) {
                        /* The rest of an over-long line: the event is lost. */
                        p->drop_line = false;
                        p->overflow = true;
                        buf_reset(&p->line);
                        continue;
                }
                if (buf_avail(&p->line) > 0) {
                        if (buf_append(&p->line, s, e) < 0) {
                                p->overflow = true;
                                buf_reset(&p->line);
                                continue;
                        }
                        l = buf_head(&p->line);
                        ln = buf_avail(&p->line);
                } else {
                        l = s;
                        ln = e;
                }
                if (ln > p->max + SSE_LINE_SLACK) {
                        /* Same verdict as for a line that came in pieces. */
                        p->overflow = true;
                        buf_reset(&p->line);
                        continue;
                }
                end = process_line(p, l, ln);
                buf_reset(&p->line);
                if (!end)
                        continue;

                *ret_consumed = i;
                if (p->overflow) {
                        event_reset(p);
                        return -E2BIG;
                }
                if (!p->has_data) {
                        /* Nothing to dispatch (the id, if any, stays as the last id). */
                        event_reset(p);
                        continue;
                }
                *ret = (struct sse_parsed_event){
                    .type = p->has_type && p->type[0] ? p->type : "message",
                    .data = buf_head(&p->data),
                    .data_len = buf_avail(&p->data),
                    .id = p->last_id,
                    .has_id = p->has_id,
                };
                p->reset_next = true;
                return 1;
        }
        *ret_consumed = len;
        return 0;
}
