/* SPDX-License-Identifier: MIT */
/* jsonrpc_parse: a peer's id kept byte for byte; jsonrpc_id_*() and json_int64() on such ids. */
#include <math.h>
#include <string.h>

#include "harness.h"
#include "json.h"
#include "proto/jsonrpc.h"

#define PARSE(lit) jsonrpc_parse(lit, sizeof(lit) - 1, NULL)

/* The text of j's "id" when it was kept exact, else NULL. */
static const char *raw_id(const cJSON *j)
{
        const cJSON *id = json_get(j, "id");
        return cJSON_IsRaw(id) ? id->valuestring : NULL;
}

/* Parses {"jsonrpc":"2.0","id":<id>,"method":"ping"} and prints it again: the id's bytes
 * must be in the printed text as they were sent. */
static int round_trip(const char *id)
{
        char in[2048], want[2048];
        cJSON *j, *copy;
        char *out;
        int ok;

        snprintf(in, sizeof(in), "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"ping\"}", id);
        snprintf(want, sizeof(want), "\"id\":%s,", id);
        j = jsonrpc_parse(in, strlen(in), NULL);
        copy = cJSON_Duplicate(j, true);
        out = copy ? cJSON_PrintUnformatted(copy) : NULL;
        ok = j && raw_id(j) && strcmp(raw_id(j), id) == 0 && out && strstr(out, want) &&
             jsonrpc_classify(j) == JSONRPC_REQUEST;
        if (!ok)
                printf("# id %s came back as %s\n", id, out ? out : "(nothing)");
        cJSON_free(out);
        cJSON_Delete(copy);
        cJSON_Delete(j);
        return ok;
}

TEST(exact_numbers)
{
        static const char *const ids[] = {
            "0",
            "-1",
            "1.5",
            "-9007199254740991",
            "9007199254740993",
            "1e3",
            "-0",
            "1.0",
            "1152921504606846977",
            "18446744073709551616",
            "1E+2",
            "1e400",
            "-1e-400",
            "007",
            "3.141592653589793238462643383279",
        };

        for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
                ASSERT_TRUE(round_trip(ids[i]));
}

TEST(exact_strings)
{
        static const char *const ids[] = {
            "\"\"",
            "\"a\"",
            "\"\\u00e9t\\u00E9 \\/ \\\" \\\\ \\n\"",
            "\"caf\xc3\xa9 \xe2\x82\xac\"",
            "\"\\ud83d\\ude00\"",
            "\"}{][,:\"",
        };
        char big[1100];

        for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
                ASSERT_TRUE(round_trip(ids[i]));
        big[0] = '"';
        memset(big + 1, 'x', 1000);
        big[1001] = '"';
        big[1002] = '\0';
        ASSERT_TRUE(round_trip(big));
}

TEST(exact_where_the_id_is)
{
        cJSON *j;

        /* whitespace anywhere cJSON allows it */
        j = PARSE(" \r\n{ \"id\" :\t -7.50 , \"x\" : 1 }\n");
        ASSERT_NOT_NULL(j);
        ASSERT_TRUE(raw_id(j) && strcmp(raw_id(j), "-7.50") == 0);
        cJSON_Delete(j);
        /* an escaped key is the same key: json_get() takes it, so does the walk */
        j = PARSE("{\"method\":\"ping\",\"\\u0069d\":1e2}");
        ASSERT_TRUE(raw_id(j) && strcmp(raw_id(j), "1e2") == 0);
        cJSON_Delete(j);
        /* "id" keys deeper down, and in strings, are not the message's */
        j = PARSE("{\"params\":{\"id\":9,\"a\":[{\"id\":8},\"\\\"id\\\":5\"]},\"s\":\"}\\\\\","
                  "\"id\":3}");
        ASSERT_TRUE(raw_id(j) && strcmp(raw_id(j), "3") == 0);
        ASSERT_TRUE(cJSON_IsNumber(json_get(json_get(j, "params"), "id")));
        cJSON_Delete(j);
        /* duplicates: the first, the one json_get() answers with */
        j = PARSE("{\"id\":1.0,\"id\":2}");
        ASSERT_TRUE(raw_id(j) && strcmp(raw_id(j), "1.0") == 0);
        ASSERT_TRUE(cJSON_IsNumber(j->child->next));
        cJSON_Delete(j);
        /* a key that starts with "id" is another key */
        j = PARSE("{\"idx\":4,\"id\":5}");
        ASSERT_TRUE(raw_id(j) && strcmp(raw_id(j), "5") == 0);
        cJSON_Delete(j);
        /* a byte order mark, which cJSON skips */
        j = PARSE("\xef\xbb\xbf{\"id\":12}");
        ASSERT_TRUE(raw_id(j) && strcmp(raw_id(j), "12") == 0);
        cJSON_Delete(j);
        /* cJSON lets raw control characters and NULs through in strings: printed from the
         * value as before (escaped), never raw */
        j = jsonrpc_parse("{\"id\":\"a\x01\"}", 11, NULL);
        ASSERT_TRUE(cJSON_IsString(json_get(j, "id")));
        cJSON_Delete(j);
        j = jsonrpc_parse("{\"id\":\"a\0b\"}", 12, NULL);
        ASSERT_TRUE(!j || cJSON_IsString(json_get(j, "id")));
        cJSON_Delete(j);
}

TEST(exact_other_values_untouched)
{
        cJSON *j;

        j = PARSE("{\"id\":null,\"result\":{}}");
        ASSERT_TRUE(cJSON_IsNull(json_get(j, "id")));
        cJSON_Delete(j);
        j = PARSE("{\"id\":true}");
        ASSERT_TRUE(cJSON_IsTrue(json_get(j, "id")));
        cJSON_Delete(j);
        j = PARSE("{\"id\":{\"id\":1}}");
        ASSERT_TRUE(cJSON_IsObject(json_get(j, "id")));
        ASSERT_TRUE(cJSON_IsNumber(json_get(json_get(j, "id"), "id")));
        cJSON_Delete(j);
        j = PARSE("{}");
        ASSERT_NOT_NULL(j);
        cJSON_Delete(j);
        j = PARSE("\"id\"");
        ASSERT_TRUE(cJSON_IsString(j));
        cJSON_Delete(j);
        j = PARSE("[]");
        ASSERT_TRUE(cJSON_IsArray(j));
        cJSON_Delete(j);
}

/* What names a request or its progress in params is kept too, nothing else there. */
TEST(exact_in_params)
{
        cJSON *j, *p, *meta;

        j = PARSE("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
                  "\"params\":{\"requestId\":9007199254740993,\"reason\":\"x\"}}");
        p = json_get(j, "params");
        ASSERT_TRUE(cJSON_IsRaw(json_get(p, "requestId")));
        ASSERT_TRUE(strcmp(json_get(p, "requestId")->valuestring, "9007199254740993") == 0);
        ASSERT_TRUE(cJSON_IsString(json_get(p, "reason")));
        cJSON_Delete(j);
        j = PARSE("{\"method\":\"notifications/progress\",\"params\":{\"progressToken\":"
                  "\"t\\u0031\",\"progress\":1.50}}");
        p = json_get(j, "params");
        ASSERT_TRUE(cJSON_IsRaw(json_get(p, "progressToken")));
        ASSERT_TRUE(strcmp(json_get(p, "progressToken")->valuestring, "\"t\\u0031\"") == 0);
        ASSERT_TRUE(cJSON_IsNumber(json_get(p, "progress")));
        cJSON_Delete(j);
        j = PARSE("{\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"a\",\"id\":2,"
                  "\"arguments\":{\"progressToken\":3},\"_meta\":{\"progressToken\":-1e3}}}");
        p = json_get(j, "params");
        meta = json_get(p, "_meta");
        ASSERT_TRUE(raw_id(j) && strcmp(raw_id(j), "1") == 0);
        ASSERT_TRUE(cJSON_IsNumber(json_get(p, "id")));
        ASSERT_TRUE(cJSON_IsNumber(json_get(json_get(p, "arguments"), "progressToken")));
        ASSERT_TRUE(cJSON_IsRaw(json_get(meta, "progressToken")));
        ASSERT_TRUE(strcmp(json_get(meta, "progressToken")->valuestring, "-1e3") == 0);
        cJSON_Delete(j);
        /* only where each belongs: no requestId at the top, no id in _meta */
        j = PARSE("{\"requestId\":1,\"params\":{\"_meta\":{\"id\":2,\"requestId\":3}}}");
        ASSERT_TRUE(cJSON_IsNumber(json_get(j, "requestId")));
        meta = json_get(json_get(j, "params"), "_meta");
        ASSERT_TRUE(cJSON_IsNumber(json_get(meta, "id")));
        ASSERT_TRUE(cJSON_IsNumber(json_get(meta, "requestId")));
        cJSON_Delete(j);
}

TEST(exact_batch)
{
        cJSON *j = PARSE("[ {\"id\":1.50}, 3, {\"a\":{\"id\":1}}, {\"id\":\"\\u0078\"} ]");
        cJSON *e;

        ASSERT_NOT_NULL(j);
        e = cJSON_GetArrayItem(j, 0);
        ASSERT_TRUE(raw_id(e) && strcmp(raw_id(e), "1.50") == 0);
        ASSERT_TRUE(cJSON_IsNumber(json_get(json_get(cJSON_GetArrayItem(j, 2), "a"), "id")));
        e = cJSON_GetArrayItem(j, 3);
        ASSERT_TRUE(raw_id(e) && strcmp(raw_id(e), "\"\\u0078\"") == 0);
        cJSON_Delete(j);
}

TEST(parse_end_and_errors)
{
        static const char text[] = "{\"id\":1} trailing";
        const char *end = NULL;
        cJSON *j = jsonrpc_parse(text, sizeof(text) - 1, &end);

        ASSERT_NOT_NULL(j);
        ASSERT_EQ(end - text, 8);
        cJSON_Delete(j);
        /* len bounds the text: the id is cut, the parse fails */
        ASSERT_NULL(jsonrpc_parse("{\"id\":12}", 7, NULL));
        ASSERT_NULL(jsonrpc_parse("", 0, NULL));
        ASSERT_NULL(jsonrpc_parse(NULL, 0, NULL));
        ASSERT_NULL(PARSE("{\"id\":}"));
        ASSERT_NULL(PARSE("{\"id\":1"));
        ASSERT_NULL(PARSE("{\"id\":\"abc}"));
}

/* Replies built from a kept id carry it as it came. */
TEST(replies_keep_the_id)
{
        cJSON *j = PARSE("{\"jsonrpc\":\"2.0\",\"id\":9007199254740993,\"method\":\"x\"}");
        cJSON *e = jsonrpc_error_new(json_get(j, "id"), -32601, "no", NULL);
        cJSON *r = jsonrpc_result_new(json_get(j, "id"), cJSON_CreateObject());
        char *se = cJSON_PrintUnformatted(e), *sr = cJSON_PrintUnformatted(r);

        ASSERT_TRUE(se && strstr(se, "\"id\":9007199254740993,"));
        ASSERT_TRUE(sr && strstr(sr, "\"id\":9007199254740993,"));
        ASSERT_EQ(jsonrpc_classify(e), JSONRPC_RESPONSE);
        ASSERT_EQ(jsonrpc_classify(r), JSONRPC_RESPONSE);
        cJSON_free(se);
        cJSON_free(sr);
        cJSON_Delete(e);
        cJSON_Delete(r);
        cJSON_Delete(j);
}

static cJSON *id_of(const char *text)
{
        char in[256];
        cJSON *j, *id;

        snprintf(in, sizeof(in), "{\"id\":%s}", text);
        j = jsonrpc_parse(in, strlen(in), NULL);
        id = cJSON_DetachItemFromObject(j, "id");
        cJSON_Delete(j);
        return id;
}

static int equal(const char *a, const char *b)
{
        cJSON *x = id_of(a), *y = id_of(b);
        int r = jsonrpc_id_equal(x, y);

        cJSON_Delete(x);
        cJSON_Delete(y);
        return r;
}

TEST(id_equal)
{
        cJSON *plain;

        ASSERT_TRUE(equal("1", "1"));
        ASSERT_TRUE(equal("1", "1.0"));
        ASSERT_TRUE(equal("1e3", "1000"));
        ASSERT_TRUE(equal("-0", "0"));
        ASSERT_TRUE(equal("1.5", "1.50"));
        ASSERT_TRUE(equal("\"a\"", "\"\\u0061\""));
        ASSERT_TRUE(equal("9007199254740993", "9007199254740993"));
        ASSERT_FALSE(equal("9007199254740993", "9007199254740992"));
        ASSERT_FALSE(equal("1", "\"1\""));
        ASSERT_FALSE(equal("1.5", "1"));
        ASSERT_FALSE(equal("\"a\"", "\"b\""));
        /* a kept id against one the hub or cJSON made */
        plain = cJSON_CreateNumber(9007199254740992.0);
        {
                cJSON *x = id_of("9007199254740993"), *y = id_of("9007199254740992");
                ASSERT_FALSE(jsonrpc_id_equal(x, plain));
                ASSERT_TRUE(jsonrpc_id_equal(y, plain));
                ASSERT_TRUE(jsonrpc_id_equal(plain, y));
                cJSON_Delete(x);
                cJSON_Delete(y);
        }
        cJSON_Delete(plain);
        plain = cJSON_CreateString("\xc3\xa9");
        {
                cJSON *x = id_of("\"\\u00e9\"");
                ASSERT_TRUE(jsonrpc_id_equal(x, plain));
                cJSON_Delete(x);
        }
        cJSON_Delete(plain);
        ASSERT_FALSE(jsonrpc_id_equal(NULL, NULL));
}

TEST(id_valid)
{
        cJSON *v;

        v = cJSON_CreateNumber(1.5);
        ASSERT_TRUE(jsonrpc_id_valid(v));
        cJSON_Delete(v);
        v = cJSON_CreateNumber(INFINITY);
        ASSERT_FALSE(jsonrpc_id_valid(v));
        cJSON_Delete(v);
        v = id_of("1e400"); /* kept as written: it goes back as it came */
        ASSERT_TRUE(jsonrpc_id_valid(v));
        cJSON_Delete(v);
        v = id_of("\"x\"");
        ASSERT_TRUE(jsonrpc_id_valid(v));
        cJSON_Delete(v);
        v = id_of("[1]");
        ASSERT_FALSE(jsonrpc_id_valid(v));
        cJSON_Delete(v);
        v = cJSON_CreateRaw("{}");
        ASSERT_FALSE(jsonrpc_id_valid(v));
        cJSON_Delete(v);
        ASSERT_FALSE(jsonrpc_id_valid(NULL));
}

TEST(id_strdup)
{
        cJSON *v = id_of("\"mcp-proxy-\\u0031\"");
        char *s = jsonrpc_id_strdup(v);

        ASSERT_TRUE(s && strcmp(s, "mcp-proxy-1") == 0);
        free(s);
        cJSON_Delete(v);
        v = id_of("12");
        ASSERT_NULL(jsonrpc_id_strdup(v));
        cJSON_Delete(v);
}

static int int64_of(const char *text, int64_t *ret)
{
        cJSON *v = id_of(text);
        int r = cJSON_IsRaw(v) && json_int64(v, ret);

        cJSON_Delete(v);
        return r;
}

TEST(int64_of_kept_ids)
{
        int64_t n = 0;

        ASSERT_TRUE(int64_of("9007199254740993", &n));
        ASSERT_EQ(n, 9007199254740993LL);
        ASSERT_TRUE(int64_of("-9223372036854775808", &n));
        ASSERT_EQ(n, INT64_MIN);
        ASSERT_TRUE(int64_of("9223372036854775807", &n));
        ASSERT_EQ(n, INT64_MAX);
        ASSERT_TRUE(int64_of("-0", &n));
        ASSERT_EQ(n, 0);
        ASSERT_TRUE(int64_of("1.0e1", &n));
        ASSERT_EQ(n, 10);
        n = 42;
        ASSERT_FALSE(int64_of("9223372036854775808", &n));
        ASSERT_FALSE(int64_of("-9223372036854775809", &n));
        ASSERT_FALSE(int64_of("18446744073709551617", &n));
        ASSERT_FALSE(int64_of("1.5", &n));
        ASSERT_FALSE(int64_of("1e300", &n));
        ASSERT_FALSE(int64_of("1e400", &n));
        ASSERT_FALSE(int64_of("1e-400", &n));
        ASSERT_FALSE(int64_of("\"1\"", &n));
        ASSERT_EQ(n, 42);
}

/* The id of a response too large to read, from its first bytes. */
TEST(peek_response_id)
{
        int64_t id = 0;
#define PEEK(s) jsonrpc_peek_response_id(s, strlen(s), &id)
        ASSERT_TRUE(
            PEEK("{\"jsonrpc\":\"2.0\",\"id\":42,\"result\":{\"content\":[{\"text\":\"xxx"));
        ASSERT_EQ(id, 42);
        ASSERT_TRUE(PEEK("{ \"id\" : -7 , \"error\": {\"code\""));
        ASSERT_EQ(id, -7);
        ASSERT_TRUE(PEEK("{\"result\":{\"a\":1},\"id\":9}"));
        ASSERT_EQ(id, 9);
        ASSERT_FALSE(PEEK("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"sampling/"
                          "createMessage\",\"params\":{\"result\":1"));
        ASSERT_FALSE(PEEK("{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"result\":{"));
        ASSERT_FALSE(PEEK("{\"jsonrpc\":\"2.0\",\"id\":1.5,\"result\":{"));
        ASSERT_FALSE(PEEK("{\"jsonrpc\":\"2.0\",\"result\":{\"text\":\"xxxxxxxx"));
        ASSERT_FALSE(PEEK("{\"jsonrpc\":\"2.0\",\"id\":12"));
        ASSERT_FALSE(PEEK("{\"id\":99999999999999999999999,\"result\":1}"));
#undef PEEK
}

HARNESS_MAIN()
