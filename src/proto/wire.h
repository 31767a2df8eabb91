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
 *   op      post | get | delete | health | sse | ctl | metrics (required)
 *           sse: the legacy 2024-11-05 transport's GET /sse (opens a session)
 *           metrics: GET /metrics, asked only for a key with the "metrics"
 *           scope (the front checks it); answered with one "metrics" line
 *           ctl: an mcp-proxyctl command, on the control socket only:
 *           {"v":1,"op":"ctl","client":"mcp-proxyctl","cmd":"status","args":{..}},
 *           answered with one "json" line (status 200, 400 or 404 and a body
 *           {"ok":true,...} or {"ok":false,"error":"..."})
 *   client  client id the front authenticated        (required; "anonymous" when auth is off)
 *   session Mcp-Session-Id header (or the legacy sessionId= query), if any
 *   proto   MCP-Protocol-Version header, if any
 *   sse     the client accepts text/event-stream
 *   lei     Last-Event-ID header (get), if any
 *   legacy  a POST to a legacy session's message endpoint
 *   ack     the front wants a "taken" line when the request goes to a server
 *   modern  a 2026-07-28 request (the front checked its headers and _meta): served
 *           without a session; "session" and "lei" are not sent
 *   hparams modern: its Mcp-Param-{Name} headers, {"<name lower-cased>": "<value as
 *           sent>"}, checked by the hub against the tool's x-mcp-header arguments
 * For op=post, the second line is the JSON-RPC message: the request body as
 * it came, any raw CR/LF (only possible between JSON tokens) made spaces.
 *
 * Hub -> front, one line each, its kind in "t" (enum wire_reply below). A
 * line with "body":true is followed by its payload on the next line (compact
 * JSON), which the front passes on without parsing it:
 *   {"t":"json","status":200,"session":"<id>","body":true} + payload line
 *        WIRE_REPLY_JSON. The answer: one JSON body with this HTTP status
 *        (the session id, if set, goes into Mcp-Session-Id). Ends the
 *        exchange.
 *   {"t":"accepted"}                 WIRE_REPLY_ACCEPTED. 202, no body. Ends
 *        the exchange.
 *   {"t":"ok"}                       WIRE_REPLY_OK. 200, no body (DELETE).
 *        Ends the exchange.
 *   {"t":"sse","session":"<id>"}     WIRE_REPLY_SSE. Start an SSE response
 *        (200, text/event-stream); "event" lines follow until "end" or EOF.
 *   {"t":"event","id":"<stream>-<seq>","body":true} + payload line
 *        WIRE_REPLY_EVENT. One SSE event. Without a payload it is the
 *        priming event (an id and empty data); without "id" (legacy
 *        streams) the front names it "event: message".
 *   {"t":"endpoint","session":"<id>"}
 *        WIRE_REPLY_ENDPOINT. Legacy streams, after "sse": the front writes
 *        "event: endpoint" with its own message URL and ?sessionId=<id>.
 *   {"t":"end"}                      WIRE_REPLY_END. Close the SSE response.
 *   {"t":"health","body":true} + payload
 *        WIRE_REPLY_HEALTH. op=health answer: the hub's state.
 *   {"t":"error","status":400,"body":true} + payload
 *        WIRE_REPLY_ERROR. An HTTP-level refusal (unknown session 404, bad
 *        version 400, ...) with a JSON body. Ends the exchange. With
 *        "retry_after":N (a 429 over a limit) the front adds Retry-After: N.
 *   {"t":"taken"}                    WIRE_REPLY_TAKEN. Only when the envelope
 *        asked ("ack"): the request is on its way to a server, so sending it
 *        again could do twice what it asks. Until then the exchange had no
 *        effect a second try could repeat (the hub answered nothing that
 *        reached a server), and a front whose hub connection breaks before
 *        "taken" and before any answer sends it once more, on a new
 *        connection (a hub restart). After it, a broken connection is a
 *        JSON-RPC error for that request.
 *   {"t":"metrics","body":true} + payload
 *        WIRE_REPLY_METRICS. op=metrics answer: the payload is one JSON
 *        string, the Prometheus text exposition (format 0.0.4) the front
 *        serves as it is once decoded. Ends the exchange. (A hub older than
 *        op=metrics refuses the envelope with an "error" line: the front
 *        answers its client 503.)
 *
 * Unknown "v" or "op", a missing envelope field or an over-long line: the
 * hub logs an error, answers {"t":"error","status":400,...} where it can and
 * closes that connection only. An unknown or missing "t", or a line that is
 * not JSON: the front logs an error, answers its client 502 (or, once an SSE
 * response has started, closes the client connection) and drops that hub
 * connection.
 *
 * Versioning (tmux-protocol.h): every kind of line in either direction is a
 * member of a numbered enum here, enum wire_op front -> hub and enum
 * wire_reply hub -> front, and each enum has one name table in wire.c, the
 * only place the "op" and "t" strings are spelled. The wire carries the
 * names, so the lines stay readable. Adding a member at the end of an enum,
 * or an optional field, is compatible: the hub sends a new kind only in
 * answer to something only a newer front asks for, since an older front
 * answers an unknown "t" with 502. Changing or removing a member (its name
 * or what it means) or a field bumps WIRE_VERSION.
 */
#pragma once

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>

#define WIRE_VERSION 1

enum wire_op {
        WIRE_OP_POST,
        WIRE_OP_GET,
        WIRE_OP_DELETE,
        WIRE_OP_HEALTH,
        WIRE_OP_SSE,     /* legacy 2024-11-05 transport: GET /sse opens a session and its stream */
        WIRE_OP_CTL,     /* mcp-proxyctl, on the control socket */
        WIRE_OP_METRICS, /* GET /metrics */
        _WIRE_OP_MAX,
        _WIRE_OP_INVALID = -EINVAL,
};

/* The kind of a hub -> front line, its "t"; see above. Append only. */
enum wire_reply {
        WIRE_REPLY_JSON,
        WIRE_REPLY_ACCEPTED,
        WIRE_REPLY_OK,
        WIRE_REPLY_SSE,
        WIRE_REPLY_EVENT,
        WIRE_REPLY_ENDPOINT,
        WIRE_REPLY_END,
        WIRE_REPLY_HEALTH,
        WIRE_REPLY_ERROR,
        WIRE_REPLY_TAKEN,
        WIRE_REPLY_METRICS,
        _WIRE_REPLY_MAX,
        _WIRE_REPLY_INVALID = -EINVAL,
};

struct wire_envelope {
        enum wire_op op;
        const char *client;  /* borrowed from the parsed tree */
        const char *session; /* NULL when absent */
        const char *proto;   /* NULL when absent */
        const char *last_event_id;
        bool sse;
        bool legacy;          /* a POST to a legacy session's message endpoint */
        bool ack;             /* send WIRE_REPLY_TAKEN before the request goes to a server */
        bool modern;          /* a 2026-07-28 request: no session, its context in its own _meta */
        const cJSON *hparams; /* modern: {"<name>": "<raw value>"} of its Mcp-Param-{Name}
                               * headers, names lower-cased (borrowed; NULL: none) */
};

const char *wire_op_to_string(enum wire_op op);
enum wire_op wire_op_from_string(const char *s);
/* NULL for a value outside the enum. */
const char *wire_reply_to_string(enum wire_reply t);
/* _WIRE_REPLY_INVALID for NULL or an unknown name (names are case-sensitive). */
enum wire_reply wire_reply_from_string(const char *s);

/* A new hub -> front line {"t":"<t>"} for the caller to fill in and send.
 * NULL on OOM or for a t outside the enum. */
cJSON *wire_reply_new(enum wire_reply t);

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
