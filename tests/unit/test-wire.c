/* SPDX-License-Identifier: MIT */
/* The front-hub wire: envelopes both ways, reply kinds, refusals, line framing. */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "json.h"
#include "proto/jsonrpc.h"
#include "proto/wire.h"

TEST(envelope_round_trip)
{
        struct wire_envelope e = {.op = WIRE_OP_POST,
                                  .client = "alice",
                                  .session = "abc",
                                  .proto = "2025-11-25",
                                  .last_event_id = "7",
                                  .sse = true};
        struct wire_envelope d;
        _cleanup_json_ cJSON *j = wire_envelope_to_json(&e);
        _cleanup_cjson_str_ char *line = NULL;
        _cleanup_json_ cJSON *back = NULL;
        size_t len;

        ASSERT_NOT_NULL(j);
        line = wire_print_line(j, &len);
        ASSERT_NOT_NULL(line);
        ASSERT_EQ(line[len - 1], '\n');
        ASSERT_NULL(memchr(line, '\n', len - 1));
        back = cJSON_ParseWithLength(line, len - 1);
        ASSERT_OK(wire_envelope_from_json(back, &d));
        ASSERT_EQ(d.op, WIRE_OP_POST);
        ASSERT_STREQ(d.client, "alice");
        ASSERT_STREQ(d.session, "abc");
        ASSERT_STREQ(d.proto, "2025-11-25");
        ASSERT_STREQ(d.last_event_id, "7");
        ASSERT_TRUE(d.sse);
}

TEST(envelope_optional_fields_absent)
{
        struct wire_envelope e = {.op = WIRE_OP_HEALTH, .client = "x"}, d;
        _cleanup_json_ cJSON *j = wire_envelope_to_json(&e);

        ASSERT_OK(wire_envelope_from_json(j, &d));
        ASSERT_EQ(d.op, WIRE_OP_HEALTH);
        ASSERT_NULL(d.session);
        ASSERT_NULL(d.proto);
        ASSERT_NULL(d.last_event_id);
        ASSERT_FALSE(d.sse);
}

static int decode(const char *text)
{
        _cleanup_json_ cJSON *j = cJSON_Parse(text);
        struct wire_envelope d;
        if (!j)
                return -EBADMSG;
        return wire_envelope_from_json(j, &d);
}

TEST(envelope_refusals)
{
        ASSERT_EQ(decode("{\"v\":2,\"op\":\"post\",\"client\":\"a\"}"), -EPROTO);
        ASSERT_EQ(decode("{\"op\":\"post\",\"client\":\"a\"}"), -EPROTO);
        ASSERT_EQ(decode("{\"v\":\"1\",\"op\":\"post\",\"client\":\"a\"}"), -EPROTO);
        ASSERT_EQ(decode("{\"v\":1,\"op\":\"put\",\"client\":\"a\"}"), -EINVAL);
        ASSERT_EQ(decode("{\"v\":1,\"op\":\"post\"}"), -EINVAL);
        ASSERT_EQ(decode("{\"v\":1,\"op\":\"post\",\"client\":\"\"}"), -EINVAL);
        ASSERT_EQ(decode("{\"v\":1,\"op\":\"post\",\"client\":\"a\",\"session\":5}"), -EINVAL);
        ASSERT_EQ(decode("{\"v\":1,\"op\":\"post\",\"client\":\"a\",\"sse\":\"yes\"}"), -EINVAL);
        ASSERT_EQ(decode("[1,2]"), -EINVAL);
        ASSERT_EQ(decode("{\"v\":1,\"op\":\"get\",\"client\":\"a\",\"session\":null}"), 0);
}

TEST(ops_map_both_ways)
{
        for (int i = 0; i < _WIRE_OP_MAX; i++)
                ASSERT_EQ(wire_op_from_string(wire_op_to_string((enum wire_op)i)), i);
        ASSERT_EQ(wire_op_from_string("POST"), _WIRE_OP_INVALID);
        ASSERT_EQ(wire_op_from_string(NULL), _WIRE_OP_INVALID);
        ASSERT_NULL(wire_op_to_string(_WIRE_OP_MAX));
}

TEST(replies_map_both_ways)
{
        for (int i = 0; i < _WIRE_REPLY_MAX; i++) {
                const char *name = wire_reply_to_string((enum wire_reply)i);
                ASSERT_NOT_NULL(name); /* every member has its name in the table */
                ASSERT_EQ(wire_reply_from_string(name), i);
        }
        /* The names on the wire: changing one bumps WIRE_VERSION. */
        ASSERT_STREQ(wire_reply_to_string(WIRE_REPLY_JSON), "json");
        ASSERT_STREQ(wire_reply_to_string(WIRE_REPLY_ACCEPTED), "accepted");
        ASSERT_STREQ(wire_reply_to_string(WIRE_REPLY_OK), "ok");
        ASSERT_STREQ(wire_reply_to_string(WIRE_REPLY_SSE), "sse");
        ASSERT_STREQ(wire_reply_to_string(WIRE_REPLY_EVENT), "event");
        ASSERT_STREQ(wire_reply_to_string(WIRE_REPLY_ENDPOINT), "endpoint");
        ASSERT_STREQ(wire_reply_to_string(WIRE_REPLY_END), "end");
        ASSERT_STREQ(wire_reply_to_string(WIRE_REPLY_HEALTH), "health");
        ASSERT_STREQ(wire_reply_to_string(WIRE_REPLY_ERROR), "error");
        ASSERT_STREQ(wire_reply_to_string(WIRE_REPLY_TAKEN), "taken");
        ASSERT_STREQ(wire_reply_to_string(WIRE_REPLY_METRICS), "metrics");
        ASSERT_STREQ(wire_op_to_string(WIRE_OP_METRICS), "metrics");
}

TEST(replies_unknown_and_invalid)
{
        static const char *const unknown[] = {"",     "JSON", "End", "end ", " end", "en",
                                              "ends", "post", "get", "0",    "t"};

        for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
                if (wire_reply_from_string(unknown[i]) != _WIRE_REPLY_INVALID)
                        HARNESS_FAIL("\"%s\" is not a reply kind", unknown[i]);
        ASSERT_EQ(wire_reply_from_string(NULL), _WIRE_REPLY_INVALID);
        ASSERT_EQ(_WIRE_REPLY_INVALID, -EINVAL);
        ASSERT_NULL(wire_reply_to_string(_WIRE_REPLY_MAX));
        ASSERT_NULL(wire_reply_to_string(_WIRE_REPLY_INVALID));
        ASSERT_NULL(wire_reply_to_string((enum wire_reply)1000));
        ASSERT_NULL(wire_reply_new(_WIRE_REPLY_MAX));
        ASSERT_NULL(wire_reply_new(_WIRE_REPLY_INVALID));
}

TEST(reply_line_round_trip)
{
        for (int i = 0; i < _WIRE_REPLY_MAX; i++) {
                _cleanup_json_ cJSON *j = wire_reply_new((enum wire_reply)i);
                _cleanup_cjson_str_ char *line = NULL;
                _cleanup_json_ cJSON *back = NULL;
                size_t len;

                ASSERT_NOT_NULL(j);
                line = wire_print_line(j, &len);
                ASSERT_NOT_NULL(line);
                back = cJSON_ParseWithLength(line, len - 1);
                ASSERT_NOT_NULL(back);
                ASSERT_EQ(wire_reply_from_string(json_get_string(back, "t")), i);
        }
        {
                _cleanup_json_ cJSON *j = wire_reply_new(WIRE_REPLY_END);
                _cleanup_cjson_str_ char *line = NULL;
                size_t len;

                ASSERT_NOT_NULL(j);
                line = wire_print_line(j, &len);
                ASSERT_NOT_NULL(line);
                ASSERT_MEMEQ(line, len, "{\"t\":\"end\"}\n");
        }
}

TEST(line_framing)
{
        ASSERT_EQ(wire_find_line("abc", 3, 10), 0);
        ASSERT_EQ(wire_find_line("abc\nde", 6, 10), 4);
        ASSERT_EQ(wire_find_line("\n", 1, 10), 1);
        ASSERT_EQ(wire_find_line("abcdefghijk", 11, 10), -E2BIG);
        /* A newline past the cap does not count. */
        ASSERT_EQ(wire_find_line("abcdefghijk\n", 12, 10), -E2BIG);
        ASSERT_EQ(wire_find_line("abcdefghi\n", 10, 10), 10);
}

TEST(strings_with_newlines_stay_on_one_line)
{
        _cleanup_json_ cJSON *j = cJSON_CreateObject();
        _cleanup_cjson_str_ char *line = NULL;
        size_t len;

        cJSON_AddStringToObject(j, "s", "two\nlines\r\nand a \"quote\"");
        line = wire_print_line(j, &len);
        ASSERT_NOT_NULL(line);
        ASSERT_EQ(wire_find_line(line, len, 1000), (long)len);
}

TEST(jsonrpc_classification)
{
        static const struct {
                const char *text;
                int kind;
        } cases[] = {
            {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", JSONRPC_REQUEST},
            {"{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"ping\",\"params\":{}}",
             JSONRPC_REQUEST},
            {"{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"roots/list\"}", JSONRPC_REQUEST},
            {"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
             JSONRPC_NOTIFICATION},
            {"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", JSONRPC_RESPONSE},
            {"{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":1}}", JSONRPC_RESPONSE},
            {"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}", _JSONRPC_KIND_INVALID},
            {"{\"id\":1,\"method\":\"ping\"}", _JSONRPC_KIND_INVALID},
            {"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", _JSONRPC_KIND_INVALID},
            /* MCP's RequestId is string | number; JSON-RPC only says SHOULD NOT be fractional */
            {"{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}", JSONRPC_REQUEST},
            {"{\"jsonrpc\":\"2.0\",\"id\":-1e300,\"result\":{}}", JSONRPC_RESPONSE},
            {"{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"ping\"}", _JSONRPC_KIND_INVALID},
            {"{\"jsonrpc\":\"2.0\",\"id\":[1],\"result\":{}}", _JSONRPC_KIND_INVALID},
            {"{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}", _JSONRPC_KIND_INVALID},
            {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\"}", _JSONRPC_KIND_INVALID},
            {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":3}", _JSONRPC_KIND_INVALID},
            {"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{},\"error\":{}}", _JSONRPC_KIND_INVALID},
            {"{\"jsonrpc\":\"2.0\",\"id\":1}", _JSONRPC_KIND_INVALID},
            {"[]", _JSONRPC_KIND_INVALID},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                _cleanup_json_ cJSON *j = cJSON_Parse(cases[i].text);
                /* the same with the id kept exact */
                _cleanup_json_ cJSON *x = jsonrpc_parse(cases[i].text, strlen(cases[i].text), NULL);
                ASSERT_NOT_NULL(j);
                ASSERT_NOT_NULL(x);
                if ((int)jsonrpc_classify(j) != cases[i].kind ||
                    (int)jsonrpc_classify(x) != cases[i].kind)
                        HARNESS_FAIL("case %zu (%s): got %d (%d kept exact), want %d", i,
                                     cases[i].text, (int)jsonrpc_classify(j),
                                     (int)jsonrpc_classify(x), cases[i].kind);
        }
}

TEST(jsonrpc_error_keeps_id_and_data)
{
        _cleanup_json_ cJSON *id = cJSON_CreateString("req-7");
        _cleanup_json_ cJSON *data = cJSON_CreateObject();
        _cleanup_json_ cJSON *e = NULL;
        const cJSON *err;

        cJSON_AddStringToObject(data, "server", "files");
        e = jsonrpc_error_new(id, -32000, "gone", TAKE_PTR(data));
        ASSERT_NOT_NULL(e);
        ASSERT_STREQ(json_get_string(e, "id"), "req-7");
        err = json_get(e, "error");
        ASSERT_EQ(json_get(err, "code")->valuedouble, -32000);
        ASSERT_STREQ(json_get_string(json_get(err, "data"), "server"), "files");
        ASSERT_EQ(jsonrpc_classify(e), JSONRPC_RESPONSE);
}

TEST(protocol_versions)
{
        ASSERT_TRUE(mcp_protocol_supported("2025-11-25"));
        ASSERT_TRUE(mcp_protocol_supported("2025-06-18"));
        ASSERT_TRUE(mcp_protocol_supported("2025-03-26"));
        ASSERT_FALSE(mcp_protocol_supported("2024-11-05"));
        ASSERT_TRUE(mcp_protocol_header_ok("2024-11-05"));
        ASSERT_FALSE(mcp_protocol_header_ok("2026-07-28"));
        ASSERT_FALSE(mcp_protocol_header_ok(""));
        ASSERT_FALSE(mcp_protocol_supported(NULL));
}

HARNESS_MAIN()
