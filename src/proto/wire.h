/* SPDX-License-Identifier: MIT */
/*
 * The front <-> hub wire.
 *
 * One UNIX stream connection per front process, reused by its exchanges one
 * at a time (a POST, a GET stream, a DELETE, a health query): an exchange
 * starts with an envelope and ends with a final line from the hub. Framing
 * in both directions: newline-delimited compact JSON, one object per line
 * (cJSON escapes newlines in strings, so a line never contains a raw '\n').
 * Readable with socat:
 *
 *   socat - UNIX-CONNECT:/run/mcp-proxy/hub.sock
 *
 * Front -> hub, first line, the envelope:
 *   {"v":1,"op":"post","client":"alice","session":"<id>","proto":"2025-11-25",
 *    "sse":true,"lei":"<Last-Event-ID>","legacy":true}
 *   op      post | get | delete | health | sse       (required)
 *           sse: the legacy 2024-11-05 transport's GET /sse (opens a session)
 *   client  client id the front authenticated        (required; "anonymous" when auth is off)
 *   session Mcp-Session-Id header (or the legacy sessionId= query), if any
 *   proto   MCP-Protocol-Version header, if any
 *   sse     the client accepts text/event-stream
 *   lei     Last-Event-ID header (get), if any
 *   legacy  a POST to a legacy session's message endpoint
 * For op=post, the second line is the JSON-RPC message: the request body as
 * it came, any raw CR/LF (only possible between JSON tokens) made spaces.
 *
 * Hub -> front, one line each. A line with "body":true is followed by its
 * payload on the next line (compact JSON), which the front passes on without
 * parsing it:
 *   {"t":"json","status":200,"session":"<id>","body":true} + payload line
 *        The answer: one JSON body with this HTTP status (the session id, if
 *        set, goes into Mcp-Session-Id). Ends the exchange.
 *   {"t":"accepted"}                 202, no body. Ends the exchange.
 *   {"t":"ok"}                       200, no body (DELETE). Ends the exchange.
 *   {"t":"sse","session":"<id>"}     Start an SSE response (200,
 *        text/event-stream); "event" lines follow until "end" or EOF.
 *   {"t":"event","id":"<stream>-<seq>","body":true} + payload line
 *        One SSE event. Without a payload it is the priming event (an id
 *        and empty data); without "id" (legacy streams) the front names it
 *        "event: message".
 *   {"t":"endpoint","session":"<id>"}
 *        Legacy streams: the front writes "event: endpoint" with its own
 *        message URL and ?sessionId=<id>.
 *   {"t":"end"}                      Close the SSE response.
 *   {"t":"health","body":true} + payload   op=health answer: the hub's state.
 *   {"t":"error","status":400,"body":true} + payload
 *        An HTTP-level refusal (unknown session 404, bad version 400, ...)
 *        with a JSON body. Ends the exchange.
 *
 * Unknown "v" or "op", a missing envelope field or an over-long line: the
 * hub logs an error, answers {"t":"error","status":400,...} where it can and
 * closes that connection only. Bump WIRE_VERSION on any incompatible change.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>

#define WIRE_VERSION 1

enum wire_op {
        WIRE_OP_POST,
        WIRE_OP_GET,
        WIRE_OP_DELETE,
        WIRE_OP_HEALTH,
        WIRE_OP_SSE, /* legacy 2024-11-05 transport: GET /sse opens a session and its stream */
        _WIRE_OP_MAX,
        _WIRE_OP_INVALID = -22,
};

struct wire_envelope {
        enum wire_op op;
        const char *client;  /* borrowed from the parsed tree */
        const char *session; /* NULL when absent */
        const char *proto;   /* NULL when absent */
        const char *last_event_id;
        bool sse;
        bool legacy; /* a POST to a legacy session's message endpoint */
};

const char *wire_op_to_string(enum wire_op op);
enum wire_op wire_op_from_string(const char *s);

/* Builds the envelope object (caller frees). NULL on OOM. */
cJSON *wire_envelope_to_json(const struct wire_envelope *e);
/* Validates and reads an envelope. Strings borrow from j. Returns 0 or
 * -EPROTO (bad version), -EINVAL (missing/invalid field). */
int wire_envelope_from_json(const cJSON *j, struct wire_envelope *ret);

/*
 * Prints j compactly with a trailing '\n' into a malloc'd buffer; *ret_len
 * gets its length. NULL on OOM.
 */
char *wire_print_line(const cJSON *j, size_t *ret_len);

/*
 * Line framing, "consume or need-more": looks for '\n' in buf[0..len).
 * Returns the line length including '\n' (> 0), 0 when more data is needed,
 * or -E2BIG when no '\n' appears within max bytes.
 */
long wire_find_line(const char *buf, size_t len, size_t max);
