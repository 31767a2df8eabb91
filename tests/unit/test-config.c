/* SPDX-License-Identifier: MIT */
/* mcp_config.json: parsing, validation messages, ${VAR} expansion and the identity hash. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/config.h"
#include "collect.h"
#include "harness.h"
#include "mcp-limits.h"
#include "macro.h"

static char err[1024];
static struct warnings warns;

/* Loads text as "t.json" into *c; warnings land in the global warns (reset first). */
static int load(const char *text, struct config *c)
{
        warnings_done(&warns);
        memset(err, 'x', sizeof(err));
        return config_load_string(text, strlen(text), "t.json", c, err, sizeof(err), collect,
                                  &warns);
}

/* The text must fail validation with exactly this message, leaving the struct zeroed. */
#define ASSERT_INVALID(text, message)                  \
        do {                                           \
                struct config _c;                      \
                memset(&_c, 0xa5, sizeof(_c));         \
                ASSERT_EQ(load(text, &_c), -EINVAL);   \
                ASSERT_STREQ(err, message);            \
                ASSERT_TRUE(is_zero(&_c, sizeof(_c))); \
        } while (0)

/* One server's JSON body under "mcpServers": {"s": BODY}. */
#define ONE(body) "{\"mcpServers\": {\"s\": " body "}}"

/* ---- basics ---- */

TEST(minimal_stdio)
{
        struct config c;

        ASSERT_EQ(load("{\"mcpServers\": {\"files\": {\"command\": \"npx\", \"args\": [\"-y\", "
                       "\"@mcp/fs\", \"/tmp\"]}}}",
                       &c),
                  0);
        ASSERT_STREQ(err, "");
        ASSERT_EQ(warns.n, 0);
        ASSERT_STREQ(c.path, "t.json");
        ASSERT_EQ(c.n_servers, 1);
        ASSERT_STREQ(c.servers[0].name, "files");
        ASSERT_EQ(c.servers[0].transport, TRANSPORT_STDIO);
        ASSERT_STREQ(c.servers[0].command, "npx");
        ASSERT_STREQ(c.servers[0].args[0], "-y");
        ASSERT_STREQ(c.servers[0].args[1], "@mcp/fs");
        ASSERT_STREQ(c.servers[0].args[2], "/tmp");
        ASSERT_NULL(c.servers[0].args[3]);
        ASSERT_NULL(c.servers[0].env);
        ASSERT_NULL(c.servers[0].cwd);
        ASSERT_NULL(c.servers[0].url);
        ASSERT_NULL(c.servers[0].headers);
        ASSERT_EQ(c.servers[0].startup_timeout_ms, STARTUP_TIMEOUT_MS_DEFAULT);
        ASSERT_EQ(c.servers[0].request_timeout_ms, REQUEST_TIMEOUT_MS_DEFAULT);
        ASSERT_EQ(c.servers[0].max_request_timeout_ms, REQUEST_MAX_TIMEOUT_MS);
        ASSERT_EQ(c.servers[0].connect_timeout_ms, CONNECT_TIMEOUT_MS_DEFAULT);
        ASSERT_EQ(c.servers[0].max_restarts, -1);
        ASSERT_FALSE(c.servers[0].disabled);
        ASSERT_EQ(strlen(c.servers[0].hash), 64);
        ASSERT_EQ(strspn(c.servers[0].hash, "0123456789abcdef"), 64);
        config_done(&c);
        ASSERT_TRUE(is_zero(&c, sizeof(c)));
}

TEST(command_without_args)
{
        struct config c;

        ASSERT_EQ(load(ONE("{\"command\": \"/usr/bin/server\"}"), &c), 0);
        ASSERT_NULL(c.servers[0].args);
        config_done(&c);
}

TEST(servers_in_file_order_disabled_included)
{
        struct config c;

        ASSERT_EQ(load("{\"mcpServers\": {\"zeta\": {\"command\": \"a\"}, \"alpha\": {\"command\": "
                       "\"b\", \"disabled\": true}, \"mid\": {\"url\": \"http://h/x\"}}}",
                       &c),
                  0);
        ASSERT_EQ(c.n_servers, 3);
        ASSERT_STREQ(c.servers[0].name, "zeta");
        ASSERT_STREQ(c.servers[1].name, "alpha");
        ASSERT_TRUE(c.servers[1].disabled);
        ASSERT_STREQ(c.servers[2].name, "mid");
        ASSERT_FALSE(c.servers[2].disabled);
        config_done(&c);
}

TEST(transport_strings)
{
        ASSERT_STREQ(transport_to_string(TRANSPORT_STDIO), "stdio");
        ASSERT_STREQ(transport_to_string(TRANSPORT_HTTP), "http");
        ASSERT_STREQ(transport_to_string(TRANSPORT_SSE), "sse");
        ASSERT_STREQ(transport_to_string(TRANSPORT_AUTO), "auto");
        ASSERT_NULL(transport_to_string(_TRANSPORT_MAX));
        ASSERT_NULL(transport_to_string(_TRANSPORT_INVALID));
}

TEST(no_warning_callback)
{
        struct config c;

        ASSERT_EQ(config_load_string(ONE("{\"command\": \"a\", \"zzz\": 1}"),
                                     strlen(ONE("{\"command\": \"a\", \"zzz\": 1}")), NULL, &c,
                                     NULL, 0, NULL, NULL),
                  0);
        ASSERT_STREQ(c.path, "<config>");
        config_done(&c);
}

/* ---- top level ---- */

TEST(top_level_errors)
{
        ASSERT_INVALID("[]", "t.json: $: expected an object with \"mcpServers\"");
        ASSERT_INVALID("\"x\"", "t.json: $: expected an object with \"mcpServers\"");
        ASSERT_INVALID("{}", "t.json: $: missing \"mcpServers\"");
        ASSERT_INVALID("{\"servers\": {}}", "t.json: $: missing \"mcpServers\"");
        ASSERT_INVALID("{\"mcpServers\": []}", "t.json: $.mcpServers: expected an object");
        ASSERT_INVALID("{\"mcpServers\": null}", "t.json: $.mcpServers: expected an object");
        ASSERT_INVALID("{\"mcpServers\": {}}", "t.json: $.mcpServers: no servers defined");
        ASSERT_INVALID("{\"mcpServers\": {\"a\": {\"command\": \"x\"}}, \"mcpServers\": {}}",
                       "t.json: $.mcpServers: duplicate key");
}

TEST(top_level_unknown_key_warns)
{
        struct config c;

        ASSERT_EQ(load("{\"version\": 2, \"mcpServers\": {\"a\": {\"command\": \"x\"}}, "
                       "\"odd.key\": {}}",
                       &c),
                  0);
        ASSERT_EQ(warns.n, 2);
        ASSERT_STREQ(warns.msg[0], "t.json: $.version: unknown key, ignoring");
        ASSERT_STREQ(warns.msg[1], "t.json: $[\"odd.key\"]: unknown key, ignoring");
        config_done(&c);
}

TEST(too_many_servers)
{
        size_t cap = 64 * (CONFIG_MAX_SERVERS + 2), off;
        char *text = malloc(cap);
        struct config c;

        ASSERT_NOT_NULL(text);
        for (int n = CONFIG_MAX_SERVERS; n <= CONFIG_MAX_SERVERS + 1; n++) {
                off = (size_t)snprintf(text, cap, "{\"mcpServers\": {");
                for (int i = 0; i < n; i++)
                        off += (size_t)snprintf(text + off, cap - off,
                                                "%s\"s%d\": {\"command\": \"x\"}", i ? "," : "", i);
                snprintf(text + off, cap - off, "}}");
                if (n == CONFIG_MAX_SERVERS) {
                        ASSERT_EQ(load(text, &c), 0);
                        ASSERT_EQ(c.n_servers, CONFIG_MAX_SERVERS);
                        config_done(&c);
                } else
                        ASSERT_INVALID(text,
                                       "t.json: $.mcpServers: too many servers (at most 256)");
        }
        free(text);
}

/* ---- server names ---- */

TEST(server_names)
{
        char name[CONFIG_SERVER_NAME_MAX + 2], text[256];
        struct config c;

        ASSERT_EQ(load("{\"mcpServers\": {\"a.b-c_D9\": {\"command\": \"x\"}}}", &c), 0);
        ASSERT_STREQ(c.servers[0].name, "a.b-c_D9");
        config_done(&c);

        ASSERT_INVALID("{\"mcpServers\": {\"bad name\": {\"command\": \"x\"}}}",
                       "t.json: $.mcpServers[\"bad name\"]: invalid server name (1-64 characters "
                       "from A-Z a-z 0-9 _ . -)");
        ASSERT_INVALID("{\"mcpServers\": {\"\": {\"command\": \"x\"}}}",
                       "t.json: $.mcpServers[\"\"]: invalid server name (1-64 characters from A-Z "
                       "a-z 0-9 _ . -)");
        ASSERT_INVALID("{\"mcpServers\": {\"a\\\"b\\\\c\\u0001\": {\"command\": \"x\"}}}",
                       "t.json: $.mcpServers[\"a\\\"b\\\\c\\x01\"]: invalid server name (1-64 "
                       "characters from A-Z a-z 0-9 _ . -)");
        ASSERT_INVALID("{\"mcpServers\": {\"caf\\u00e9\": {\"command\": \"x\"}}}",
                       "t.json: $.mcpServers[\"caf\\xc3\\xa9\"]: invalid server name (1-64 "
                       "characters from A-Z a-z 0-9 _ . -)");

        /* 64 characters are fine, 65 are not. */
        memset(name, 'n', CONFIG_SERVER_NAME_MAX);
        name[CONFIG_SERVER_NAME_MAX] = '\0';
        snprintf(text, sizeof(text), "{\"mcpServers\": {\"%s\": {\"command\": \"x\"}}}", name);
        ASSERT_EQ(load(text, &c), 0);
        config_done(&c);
        strcat(name, "n");
        snprintf(text, sizeof(text), "{\"mcpServers\": {\"%s\": {\"command\": \"x\"}}}", name);
        ASSERT_EQ(load(text, &c), -EINVAL);
        /* The path shows at most 64 characters of a key. */
        ASSERT_CONTAINS(err,
                        "t.json: $.mcpServers[\"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
                        "nnnnnnnnnnnnnnnnn...\"]: invalid server name");
}

TEST(server_structure_errors)
{
        ASSERT_INVALID(ONE("\"npx\""), "t.json: $.mcpServers.s: expected an object");
        ASSERT_INVALID(ONE("[]"), "t.json: $.mcpServers.s: expected an object");
        ASSERT_INVALID(
            "{\"mcpServers\": {\"s\": {\"command\": \"a\"}, \"s\": {\"command\": \"b\"}}}",
            "t.json: $.mcpServers.s: duplicate server name");
        ASSERT_INVALID(ONE("{\"command\": \"a\", \"command\": \"b\"}"),
                       "t.json: $.mcpServers.s.command: duplicate key");
        ASSERT_INVALID(ONE("{}"), "t.json: $.mcpServers.s: needs \"command\" (stdio) or \"url\" "
                                  "(remote)");
        ASSERT_INVALID(ONE("{\"description\": \"nothing\"}"),
                       "t.json: $.mcpServers.s: needs \"command\" (stdio) or \"url\" (remote)");
        ASSERT_INVALID(ONE("{\"command\": \"a\", \"url\": \"http://h/\"}"),
                       "t.json: $.mcpServers.s: both \"command\" (stdio) and \"url\" (remote) "
                       "given; use one");
        ASSERT_INVALID(ONE("{\"url\": \"http://h/\", \"args\": [\"x\"]}"),
                       "t.json: $.mcpServers.s.args: only valid with \"command\"");
        /* Dotted names are bracket-quoted in every path below them. */
        ASSERT_INVALID("{\"mcpServers\": {\"a.b\": {\"command\": \"x\", \"args\": [1, {}]}}}",
                       "t.json: $.mcpServers[\"a.b\"].args[1]: expected a string or a number");
}

TEST(unknown_and_informational_keys)
{
        struct config c;

        ASSERT_EQ(load(ONE("{\"command\": \"a\", \"description\": \"d\", \"icon\": 5, "
                           "\"autoApprove\": [\"${NOT_EXPANDED_ANYWHERE}\"], \"x.y\": 1}"),
                       &c),
                  0);
        ASSERT_EQ(warns.n, 2);
        ASSERT_STREQ(warns.msg[0], "t.json: $.mcpServers.s.autoApprove: unknown key, ignoring");
        ASSERT_STREQ(warns.msg[1], "t.json: $.mcpServers.s[\"x.y\"]: unknown key, ignoring");
        config_done(&c);
}

/* ---- stdio keys ---- */

TEST(command_errors)
{
        ASSERT_INVALID(ONE("{\"command\": 1}"),
                       "t.json: $.mcpServers.s.command: expected a string");
        ASSERT_INVALID(ONE("{\"command\": null}"),
                       "t.json: $.mcpServers.s.command: expected a string");
        ASSERT_INVALID(ONE("{\"command\": \"\"}"),
                       "t.json: $.mcpServers.s.command: must not be empty");
        unsetenv("CFG_TEST_EMPTY");
        ASSERT_INVALID(ONE("{\"command\": \"${CFG_TEST_EMPTY}\"}"),
                       "t.json: $.mcpServers.s.command: must not be empty");
        ASSERT_INVALID(ONE("{\"command\": \"run ${X\"}"),
                       "t.json: $.mcpServers.s.command: unterminated \"${\"");
}

TEST(args_strings_and_numbers)
{
        struct config c;
        char **a;

        ASSERT_EQ(load(ONE("{\"command\": \"a\", \"args\": [\"--port\", 8080, 1.5, -3, 0, -0, 1e3, "
                           "12345678901234, 0.1, 1e300, \"\"]}"),
                       &c),
                  0);
        a = c.servers[0].args;
        ASSERT_STREQ(a[0], "--port");
        ASSERT_STREQ(a[1], "8080");
        ASSERT_STREQ(a[2], "1.5");
        ASSERT_STREQ(a[3], "-3");
        ASSERT_STREQ(a[4], "0");
        ASSERT_STREQ(a[5], "0");
        ASSERT_STREQ(a[6], "1000");
        ASSERT_STREQ(a[7], "12345678901234");
        ASSERT_STREQ(a[8], "0.1");
        ASSERT_STREQ(a[9], "1e+300");
        ASSERT_STREQ(a[10], "");
        ASSERT_NULL(a[11]);
        config_done(&c);

        ASSERT_EQ(load(ONE("{\"command\": \"a\", \"args\": []}"), &c), 0);
        ASSERT_NOT_NULL(c.servers[0].args);
        ASSERT_NULL(c.servers[0].args[0]);
        config_done(&c);
}

TEST(args_errors)
{
        ASSERT_INVALID(
            "{\"mcpServers\": {\"files\": {\"command\": \"x\", \"args\": [\"a\", true]}}}",
            "t.json: $.mcpServers.files.args[1]: expected a string or a number");
        ASSERT_INVALID(ONE("{\"command\": \"x\", \"args\": [null]}"),
                       "t.json: $.mcpServers.s.args[0]: expected a string or a number");
        ASSERT_INVALID(ONE("{\"command\": \"x\", \"args\": [[\"nested\"]]}"),
                       "t.json: $.mcpServers.s.args[0]: expected a string or a number");
        ASSERT_INVALID(ONE("{\"command\": \"x\", \"args\": \"-y pkg\"}"),
                       "t.json: $.mcpServers.s.args: expected an array of strings");
        ASSERT_INVALID(ONE("{\"command\": \"x\", \"args\": [1e999]}"),
                       "t.json: $.mcpServers.s.args[0]: number out of range");
        ASSERT_INVALID(ONE("{\"command\": \"x\", \"args\": [\"a\", \"b\", \"${\"]}"),
                       "t.json: $.mcpServers.s.args[2]: unterminated \"${\"");
}

TEST(env_values)
{
        struct config c;

        ASSERT_EQ(
            load(ONE("{\"command\": \"a\", \"env\": {\"B\": \"2\", \"A\": \"x=y\", \"EMPTY\": "
                     "\"\", \"lower.dot\": \"ok\"}}"),
                 &c),
            0);
        ASSERT_STREQ(c.servers[0].env[0], "B=2");
        ASSERT_STREQ(c.servers[0].env[1], "A=x=y");
        ASSERT_STREQ(c.servers[0].env[2], "EMPTY=");
        ASSERT_STREQ(c.servers[0].env[3], "lower.dot=ok");
        ASSERT_NULL(c.servers[0].env[4]);
        config_done(&c);

        ASSERT_EQ(load(ONE("{\"command\": \"a\", \"env\": {}}"), &c), 0);
        ASSERT_NULL(c.servers[0].env[0]);
        config_done(&c);
}

TEST(env_errors)
{
        ASSERT_INVALID(ONE("{\"command\": \"a\", \"env\": {\"PORT\": 8080}}"),
                       "t.json: $.mcpServers.s.env.PORT: expected a string");
        ASSERT_INVALID(ONE("{\"command\": \"a\", \"env\": {\"DEBUG\": true}}"),
                       "t.json: $.mcpServers.s.env.DEBUG: expected a string");
        ASSERT_INVALID(ONE("{\"command\": \"a\", \"env\": {\"X\": null}}"),
                       "t.json: $.mcpServers.s.env.X: expected a string");
        ASSERT_INVALID(ONE("{\"command\": \"a\", \"env\": [\"A=1\"]}"),
                       "t.json: $.mcpServers.s.env: expected an object of strings");
        ASSERT_INVALID(ONE("{\"command\": \"a\", \"env\": {\"A=B\": \"1\"}}"),
                       "t.json: $.mcpServers.s.env[\"A=B\"]: invalid variable name (empty or "
                       "contains '=')");
        ASSERT_INVALID(ONE("{\"command\": \"a\", \"env\": {\"\": \"1\"}}"),
                       "t.json: $.mcpServers.s.env[\"\"]: invalid variable name (empty or "
                       "contains '=')");
        ASSERT_INVALID(
            ONE("{\"command\": \"a\", \"env\": {\"A\": \"1\", \"B\": \"2\", \"A\": \"3\"}}"),
            "t.json: $.mcpServers.s.env.A: duplicate variable");
}

TEST(cwd)
{
        struct config c;

        ASSERT_EQ(load(ONE("{\"command\": \"a\", \"cwd\": \"/srv/data\"}"), &c), 0);
        ASSERT_STREQ(c.servers[0].cwd, "/srv/data");
        config_done(&c);
        ASSERT_INVALID(ONE("{\"command\": \"a\", \"cwd\": 7}"),
                       "t.json: $.mcpServers.s.cwd: expected a string");
        ASSERT_INVALID(ONE("{\"command\": \"a\", \"cwd\": \"\"}"),
                       "t.json: $.mcpServers.s.cwd: must not be empty");
}

/* ---- remote keys ---- */

static enum upstream_transport transport_of(const char *body)
{
        char text[512];
        struct config c;
        enum upstream_transport t;

        snprintf(text, sizeof(text), "{\"mcpServers\": {\"r\": %s}}", body);
        if (load(text, &c) < 0)
                return _TRANSPORT_INVALID;
        t = c.servers[0].transport;
        config_done(&c);
        return t;
}

TEST(transport_values)
{
        ASSERT_EQ(transport_of("{\"url\": \"http://h/\", \"transport\": \"http\"}"),
                  TRANSPORT_HTTP);
        ASSERT_EQ(transport_of("{\"url\": \"http://h/\", \"transport\": \"streamable-http\"}"),
                  TRANSPORT_HTTP);
        ASSERT_EQ(transport_of("{\"url\": \"http://h/\", \"transport\": \"streamableHttp\"}"),
                  TRANSPORT_HTTP);
        ASSERT_EQ(transport_of("{\"url\": \"http://h/\", \"transport\": \"sse\"}"), TRANSPORT_SSE);
        ASSERT_EQ(transport_of("{\"url\": \"http://h/sse\", \"transport\": \"http\"}"),
                  TRANSPORT_HTTP);
        ASSERT_EQ(transport_of("{\"url\": \"http://h/\", \"type\": \"sse\"}"), TRANSPORT_SSE);
        ASSERT_EQ(transport_of("{\"url\": \"http://h/\", \"type\": \"http\", \"transport\": "
                               "\"streamable-http\"}"),
                  TRANSPORT_HTTP);
        ASSERT_EQ(transport_of("{\"command\": \"a\", \"transport\": \"stdio\"}"), TRANSPORT_STDIO);
        ASSERT_EQ(transport_of("{\"command\": \"a\", \"type\": \"stdio\"}"), TRANSPORT_STDIO);
        ASSERT_EQ(transport_of("{\"command\": \"a\"}"), TRANSPORT_STDIO);

        setenv("CFG_TEST_TR", "sse", 1);
        ASSERT_EQ(transport_of("{\"url\": \"http://h/\", \"transport\": \"${CFG_TEST_TR}\"}"),
                  TRANSPORT_SSE);
        unsetenv("CFG_TEST_TR");
}

TEST(transport_errors)
{
        ASSERT_INVALID(ONE("{\"url\": \"http://h/\", \"transport\": \"websocket\"}"),
                       "t.json: $.mcpServers.s.transport: expected one of \"stdio\", \"http\", "
                       "\"streamable-http\", \"streamableHttp\", \"sse\"");
        ASSERT_INVALID(ONE("{\"url\": \"http://h/\", \"type\": \"HTTP\"}"),
                       "t.json: $.mcpServers.s.type: expected one of \"stdio\", \"http\", "
                       "\"streamable-http\", \"streamableHttp\", \"sse\"");
        ASSERT_INVALID(ONE("{\"url\": \"http://h/\", \"transport\": 1}"),
                       "t.json: $.mcpServers.s.transport: expected a string");
        ASSERT_INVALID(
            ONE("{\"url\": \"http://h/\", \"transport\": \"stdio\"}"),
            "t.json: $.mcpServers.s.transport: \"stdio\" needs \"command\", not \"url\"");
        ASSERT_INVALID(ONE("{\"command\": \"a\", \"transport\": \"streamable-http\"}"),
                       "t.json: $.mcpServers.s.transport: \"http\" needs \"url\", not \"command\"");
        ASSERT_INVALID(ONE("{\"command\": \"a\", \"type\": \"sse\"}"),
                       "t.json: $.mcpServers.s.type: \"sse\" needs \"url\", not \"command\"");
        ASSERT_INVALID(ONE("{\"url\": \"http://h/\", \"transport\": \"http\", \"type\": \"sse\"}"),
                       "t.json: $.mcpServers.s.type: conflicts with \"transport\"");
}

TEST(sse_guess_from_url)
{
        static const struct {
                const char *url;
                enum upstream_transport t;
        } cases[] = {
            {"https://h/sse", TRANSPORT_SSE},
            {"https://h/sse/", TRANSPORT_SSE},
            {"https://h/sse?session=1", TRANSPORT_SSE},
            {"https://h/sse/?x", TRANSPORT_SSE},
            {"https://h/sse#top", TRANSPORT_SSE},
            {"https://h:8443/api/v1/sse", TRANSPORT_SSE},
            {"HTTP://H/sse", TRANSPORT_SSE},
            {"https://h/mcp", TRANSPORT_AUTO},
            {"https://h/", TRANSPORT_AUTO},
            {"https://h", TRANSPORT_AUTO},
            {"https://sse", TRANSPORT_AUTO},
            {"https://h/ssex", TRANSPORT_AUTO},
            {"https://h/xsse", TRANSPORT_AUTO},
            {"https://h/SSE", TRANSPORT_AUTO},
            {"https://h/sse//", TRANSPORT_AUTO},
            {"https://h?next=/sse", TRANSPORT_AUTO},
            {"https://h/mcp?path=/sse", TRANSPORT_AUTO},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char body[256];
                snprintf(body, sizeof(body), "{\"url\": \"%s\"}", cases[i].url);
                if (transport_of(body) != cases[i].t)
                        HARNESS_FAIL("%s: got %d, want %d", cases[i].url, transport_of(body),
                                     cases[i].t);
        }
}

TEST(url_errors)
{
        struct config c;

        ASSERT_EQ(load(ONE("{\"url\": \"HTTPS://Example.COM:8443/mcp?a=b\"}"), &c), 0);
        ASSERT_STREQ(c.servers[0].url, "HTTPS://Example.COM:8443/mcp?a=b");
        config_done(&c);

        ASSERT_INVALID(
            ONE("{\"url\": \"ftp://h/x\"}"),
            "t.json: $.mcpServers.s.url: expected an http:// or https:// URL with a host");
        ASSERT_INVALID(
            ONE("{\"url\": \"h/x\"}"),
            "t.json: $.mcpServers.s.url: expected an http:// or https:// URL with a host");
        ASSERT_INVALID(
            ONE("{\"url\": \"http://\"}"),
            "t.json: $.mcpServers.s.url: expected an http:// or https:// URL with a host");
        ASSERT_INVALID(
            ONE("{\"url\": \"http:///x\"}"),
            "t.json: $.mcpServers.s.url: expected an http:// or https:// URL with a host");
        ASSERT_INVALID(
            ONE("{\"url\": \"\"}"),
            "t.json: $.mcpServers.s.url: expected an http:// or https:// URL with a host");
        ASSERT_INVALID(ONE("{\"url\": \"http://h/a b\"}"),
                       "t.json: $.mcpServers.s.url: URL must not contain spaces or control "
                       "characters");
        ASSERT_INVALID(ONE("{\"url\": \"http://h/\\n\"}"),
                       "t.json: $.mcpServers.s.url: URL must not contain spaces or control "
                       "characters");
        ASSERT_INVALID(ONE("{\"url\": [\"http://h/\"]}"),
                       "t.json: $.mcpServers.s.url: expected a string");
}

TEST(headers)
{
        struct config c;

        setenv("CFG_TEST_TOKEN", "s3cr3t", 1);
        ASSERT_EQ(load(ONE("{\"url\": \"https://h/mcp\", \"headers\": {\"Authorization\": \"Bearer "
                           "${CFG_TEST_TOKEN}\", \"X-Api-Key\": \"k\", \"X-Empty\": \"\"}}"),
                       &c),
                  0);
        ASSERT_STREQ(c.servers[0].headers[0], "Authorization: Bearer s3cr3t");
        ASSERT_STREQ(c.servers[0].headers[1], "X-Api-Key: k");
        ASSERT_STREQ(c.servers[0].headers[2], "X-Empty: ");
        ASSERT_NULL(c.servers[0].headers[3]);
        config_done(&c);
        unsetenv("CFG_TEST_TOKEN");

        ASSERT_INVALID(ONE("{\"url\": \"http://h/\", \"headers\": {\"Bad Name\": \"v\"}}"),
                       "t.json: $.mcpServers.s.headers[\"Bad Name\"]: invalid header name "
                       "(expected an HTTP token)");
        ASSERT_INVALID(ONE("{\"url\": \"http://h/\", \"headers\": {\"X:Y\": \"v\"}}"),
                       "t.json: $.mcpServers.s.headers[\"X:Y\"]: invalid header name (expected "
                       "an HTTP token)");
        ASSERT_INVALID(ONE("{\"url\": \"http://h/\", \"headers\": {\"\": \"v\"}}"),
                       "t.json: $.mcpServers.s.headers[\"\"]: invalid header name (expected an "
                       "HTTP token)");
        ASSERT_INVALID(
            ONE("{\"url\": \"http://h/\", \"headers\": {\"X-A\": \"a\\r\\nInjected: 1\"}}"),
            "t.json: $.mcpServers.s.headers.X-A: header value must not contain CR or LF");
        ASSERT_INVALID(
            ONE("{\"url\": \"http://h/\", \"headers\": {\"X-A\": \"a\\nb\"}}"),
            "t.json: $.mcpServers.s.headers.X-A: header value must not contain CR or LF");
        ASSERT_INVALID(ONE("{\"url\": \"http://h/\", \"headers\": {\"X-Port\": 80}}"),
                       "t.json: $.mcpServers.s.headers.X-Port: expected a string");
        ASSERT_INVALID(ONE("{\"url\": \"http://h/\", \"headers\": [\"X-A: 1\"]}"),
                       "t.json: $.mcpServers.s.headers: expected an object of strings");
        ASSERT_INVALID(
            ONE("{\"url\": \"http://h/\", \"headers\": {\"X-A\": \"1\", \"x-a\": \"2\"}}"),
            "t.json: $.mcpServers.s.headers.x-a: duplicate header");
}

TEST(settings_for_the_other_kind_warn_and_drop)
{
        struct config c;

        ASSERT_EQ(
            load(ONE("{\"url\": \"http://h/\", \"env\": {\"A\": \"1\"}, \"cwd\": \"/x\"}"), &c), 0);
        ASSERT_EQ(warns.n, 2);
        ASSERT_STREQ(warns.msg[0],
                     "t.json: $.mcpServers.s.env: only used by stdio servers, ignoring");
        ASSERT_STREQ(warns.msg[1],
                     "t.json: $.mcpServers.s.cwd: only used by stdio servers, ignoring");
        ASSERT_NULL(c.servers[0].env);
        ASSERT_NULL(c.servers[0].cwd);
        config_done(&c);

        ASSERT_EQ(load(ONE("{\"command\": \"a\", \"headers\": {\"X\": \"1\"}}"), &c), 0);
        ASSERT_EQ(warns.n, 1);
        ASSERT_STREQ(warns.msg[0],
                     "t.json: $.mcpServers.s.headers: only used by remote servers, ignoring");
        ASSERT_NULL(c.servers[0].headers);
        config_done(&c);
}

/* ---- numbers ---- */

TEST(timeouts)
{
        struct config c;

        ASSERT_EQ(load(ONE("{\"command\": \"a\", \"timeout\": 1.5, \"startupTimeout\": 30, "
                           "\"connectTimeout\": 0.25, \"maxTimeout\": 120}"),
                       &c),
                  0);
        ASSERT_EQ(c.servers[0].request_timeout_ms, 1500);
        ASSERT_EQ(c.servers[0].startup_timeout_ms, 30000);
        ASSERT_EQ(c.servers[0].connect_timeout_ms, 250);
        ASSERT_EQ(c.servers[0].max_request_timeout_ms, 120000);
        config_done(&c);

        /* A tiny positive value still means at least 1 ms. */
        ASSERT_EQ(load(ONE("{\"command\": \"a\", \"timeout\": 0.0001}"), &c), 0);
        ASSERT_EQ(c.servers[0].request_timeout_ms, 1);
        config_done(&c);

        /* "timeout" above the default maximum raises the maximum with it. */
        ASSERT_EQ(load(ONE("{\"command\": \"a\", \"timeout\": 900}"), &c), 0);
        ASSERT_EQ(c.servers[0].request_timeout_ms, 900000);
        ASSERT_EQ(c.servers[0].max_request_timeout_ms, 900000);
        config_done(&c);

        /* Equal is fine. */
        ASSERT_EQ(load(ONE("{\"command\": \"a\", \"timeout\": 10, \"maxTimeout\": 10}"), &c), 0);
        config_done(&c);

        ASSERT_INVALID(ONE("{\"command\": \"a\", \"timeout\": 0}"),
                       "t.json: $.mcpServers.s.timeout: expected a positive number of seconds");
        ASSERT_INVALID(ONE("{\"command\": \"a\", \"startupTimeout\": -1}"),
                       "t.json: $.mcpServers.s.startupTimeout: expected a positive number of "
                       "seconds");
        ASSERT_INVALID(ONE("{\"command\": \"a\", \"connectTimeout\": \"10\"}"),
                       "t.json: $.mcpServers.s.connectTimeout: expected a positive number of "
                       "seconds");
        ASSERT_INVALID(ONE("{\"command\": \"a\", \"maxTimeout\": 1e12}"),
                       "t.json: $.mcpServers.s.maxTimeout: more than 31536000 seconds");
        ASSERT_INVALID(ONE("{\"command\": \"a\", \"maxTimeout\": 30}"),
                       "t.json: $.mcpServers.s.maxTimeout: must not be less than \"timeout\"");
        ASSERT_INVALID(ONE("{\"command\": \"a\", \"maxTimeout\": 5, \"timeout\": 6}"),
                       "t.json: $.mcpServers.s.maxTimeout: must not be less than \"timeout\"");
}

TEST(max_restarts_and_disabled)
{
        struct config c;

        ASSERT_EQ(load(ONE("{\"command\": \"a\", \"maxRestarts\": 0, \"disabled\": false}"), &c),
                  0);
        ASSERT_EQ(c.servers[0].max_restarts, 0);
        ASSERT_FALSE(c.servers[0].disabled);
        config_done(&c);
        ASSERT_EQ(load(ONE("{\"command\": \"a\", \"maxRestarts\": 25, \"disabled\": true}"), &c),
                  0);
        ASSERT_EQ(c.servers[0].max_restarts, 25);
        ASSERT_TRUE(c.servers[0].disabled);
        config_done(&c);

        ASSERT_INVALID(ONE("{\"command\": \"a\", \"maxRestarts\": -1}"),
                       "t.json: $.mcpServers.s.maxRestarts: expected a non-negative integer");
        ASSERT_INVALID(ONE("{\"command\": \"a\", \"maxRestarts\": 1.5}"),
                       "t.json: $.mcpServers.s.maxRestarts: expected a non-negative integer");
        ASSERT_INVALID(ONE("{\"command\": \"a\", \"maxRestarts\": \"3\"}"),
                       "t.json: $.mcpServers.s.maxRestarts: expected a non-negative integer");
        ASSERT_INVALID(ONE("{\"command\": \"a\", \"maxRestarts\": 1e10}"),
                       "t.json: $.mcpServers.s.maxRestarts: expected a non-negative integer");
        ASSERT_INVALID(ONE("{\"command\": \"a\", \"disabled\": \"yes\"}"),
                       "t.json: $.mcpServers.s.disabled: expected true or false");
        ASSERT_INVALID(ONE("{\"command\": \"a\", \"disabled\": 1}"),
                       "t.json: $.mcpServers.s.disabled: expected true or false");
}

/* ---- instances and roots ---- */

TEST(isolation_defaults_and_values)
{
        struct config c;

        ASSERT_EQ(load(ONE("{\"command\": \"a\"}"), &c), 0);
        ASSERT_EQ(c.servers[0].isolation, ISOLATION_CLIENT);
        ASSERT_EQ(c.servers[0].idle_timeout_ms, INSTANCE_IDLE_MS_DEFAULT);
        ASSERT_EQ(c.servers[0].max_instances, INSTANCE_MAX_DEFAULT);
        ASSERT_FALSE(c.servers[0].forward_roots);
        ASSERT_NULL(c.servers[0].roots);
        config_done(&c);
        ASSERT_EQ(load(ONE("{\"url\": \"http://h/mcp\"}"), &c), 0);
        ASSERT_EQ(c.servers[0].isolation, ISOLATION_SESSION);
        config_done(&c);
        ASSERT_EQ(load(ONE("{\"command\": \"a\", \"isolation\": \"shared\", \"idleTimeout\": 2.5, "
                           "\"maxInstances\": 3}"),
                       &c),
                  0);
        ASSERT_EQ(c.servers[0].isolation, ISOLATION_SHARED);
        ASSERT_EQ(c.servers[0].idle_timeout_ms, 2500);
        ASSERT_EQ(c.servers[0].max_instances, 3);
        config_done(&c);
        ASSERT_EQ(load(ONE("{\"url\": \"http://h/mcp\", \"isolation\": \"client\", "
                           "\"forwardRoots\": true}"),
                       &c),
                  0);
        ASSERT_EQ(c.servers[0].isolation, ISOLATION_CLIENT);
        ASSERT_TRUE(c.servers[0].forward_roots);
        config_done(&c);

        ASSERT_INVALID(ONE("{\"command\": \"a\", \"isolation\": \"per-user\"}"),
                       "t.json: $.mcpServers.s.isolation: expected one of \"shared\", \"client\", "
                       "\"session\"");
        ASSERT_INVALID(ONE("{\"command\": \"a\", \"maxInstances\": 0}"),
                       "t.json: $.mcpServers.s.maxInstances: expected an integer from 1 to 4096");
        ASSERT_INVALID(ONE("{\"command\": \"a\", \"maxInstances\": 4097}"),
                       "t.json: $.mcpServers.s.maxInstances: expected an integer from 1 to 4096");
        ASSERT_INVALID(ONE("{\"command\": \"a\", \"idleTimeout\": 0}"),
                       "t.json: $.mcpServers.s.idleTimeout: expected a positive number of seconds");
        ASSERT_INVALID(ONE("{\"command\": \"a\", \"forwardRoots\": 1}"),
                       "t.json: $.mcpServers.s.forwardRoots: expected true or false");
}

TEST(forward_roots_needs_an_isolated_instance)
{
        ASSERT_INVALID(
            ONE("{\"command\": \"a\", \"isolation\": \"shared\", \"forwardRoots\": true}"),
            "t.json: $.mcpServers.s.forwardRoots: needs \"isolation\": \"client\" or "
            "\"session\" (a client's roots would apply to every client's calls)");
        /* in either order of the keys */
        ASSERT_INVALID(
            ONE("{\"command\": \"a\", \"forwardRoots\": true, \"isolation\": \"shared\"}"),
            "t.json: $.mcpServers.s.forwardRoots: needs \"isolation\": \"client\" or "
            "\"session\" (a client's roots would apply to every client's calls)");
}

TEST(roots)
{
        struct config c;

        setenv("MCP_TEST_ROOT", "/srv/x", 1);
        ASSERT_EQ(load(ONE("{\"command\": \"a\", \"roots\": [\"/srv/share\", \"file:///data\", "
                           "{\"uri\": \"${MCP_TEST_ROOT}\", \"name\": \"X\"}]}"),
                       &c),
                  0);
        ASSERT_STREQ(c.servers[0].roots[0], "file:///srv/share");
        ASSERT_STREQ(c.servers[0].roots[1], "file:///data");
        ASSERT_STREQ(c.servers[0].roots[2], "file:///srv/x");
        ASSERT_NULL(c.servers[0].roots[3]);
        ASSERT_STREQ(c.servers[0].root_names[0], "");
        ASSERT_STREQ(c.servers[0].root_names[2], "X");
        config_done(&c);
        ASSERT_EQ(load(ONE("{\"command\": \"a\", \"roots\": []}"), &c), 0);
        ASSERT_NOT_NULL(c.servers[0].roots);
        ASSERT_NULL(c.servers[0].roots[0]);
        config_done(&c);

        ASSERT_INVALID(ONE("{\"command\": \"a\", \"roots\": \"/srv\"}"),
                       "t.json: $.mcpServers.s.roots: expected an array of paths, file:// URIs or "
                       "{\"uri\", \"name\"}");
        ASSERT_INVALID(
            ONE("{\"command\": \"a\", \"roots\": [\"srv\"]}"),
            "t.json: $.mcpServers.s.roots[0]: expected an absolute path or a file:/// URI");
        ASSERT_INVALID(
            ONE("{\"command\": \"a\", \"roots\": [\"http://h/x\"]}"),
            "t.json: $.mcpServers.s.roots[0]: expected an absolute path or a file:/// URI");
        ASSERT_INVALID(ONE("{\"command\": \"a\", \"roots\": [{\"name\": \"n\"}]}"),
                       "t.json: $.mcpServers.s.roots[0].uri: missing");
}

TEST(server_config_copy)
{
        struct config c;
        struct server_config d;

        ASSERT_EQ(load(ONE("{\"command\": \"a\", \"args\": [\"x\"], \"env\": {\"K\": \"v\"}, "
                           "\"roots\": [\"/r\"], \"isolation\": \"session\"}"),
                       &c),
                  0);
        ASSERT_OK(server_config_copy(&c.servers[0], &d));
        ASSERT_TRUE(d.command != c.servers[0].command);
        ASSERT_STREQ(d.command, "a");
        ASSERT_STREQ(d.args[0], "x");
        ASSERT_STREQ(d.env[0], "K=v");
        ASSERT_STREQ(d.roots[0], "file:///r");
        ASSERT_EQ(d.isolation, ISOLATION_SESSION);
        ASSERT_STREQ(d.hash, c.servers[0].hash);
        config_done(&c);
        ASSERT_STREQ(d.args[0], "x"); /* its own */
        server_config_done(&d);
        ASSERT_NULL(d.command);
}

/* ---- JSON syntax ---- */

TEST(syntax_errors)
{
        struct config c;

        memset(&c, 0xa5, sizeof(c));
        ASSERT_EQ(load("{\n  \"mcpServers\": {\n    \"a\": {\"command\": ,}\n  }\n}", &c),
                  -EBADMSG);
        ASSERT_STREQ(err, "t.json: line 3, column 22: invalid JSON");
        ASSERT_TRUE(is_zero(&c, sizeof(c)));

        ASSERT_EQ(load("", &c), -EBADMSG);
        ASSERT_STREQ(err, "t.json: line 1, column 1: invalid JSON");
        ASSERT_EQ(load("   \n  ", &c), -EBADMSG);
        ASSERT_EQ(load("{\"mcpServers\": {\"a\": {\"command\": \"x\"}}}\n}", &c), -EBADMSG);
        ASSERT_STREQ(err, "t.json: line 2, column 1: invalid JSON");
        ASSERT_EQ(load("{\"mcpServers\": {\"a\": {\"command\": \"x\"}}", &c), -EBADMSG);
        ASSERT_EQ(load("{\"mcpServers\": {\"a\": {\"command\": \"x\"}}} \n\t\r\n", &c), 0);
        config_done(&c);

        /* An embedded NUL byte is reported where it is, not silently cut at. */
        ASSERT_EQ(config_load_string("{\"mcpServers\":\n {\"a\": {\"command\": \"x\0y\"}}}", 42,
                                     "t.json", &c, err, sizeof(err), NULL, NULL),
                  -EBADMSG);
        ASSERT_STREQ(err, "t.json: line 2, column 22: invalid JSON (NUL character)");
        ASSERT_TRUE(is_zero(&c, sizeof(c)));
        /* Written as \u0000 it would cut the string as well; an escaped backslash is fine. */
        ASSERT_EQ(load(ONE("{\"command\": \"a\\u0000b\"}"), &c), -EBADMSG);
        ASSERT_STREQ(err, "t.json: line 1, column 36: invalid JSON (NUL character)");
        ASSERT_EQ(load(ONE("{\"command\": \"a\\u0041\\\\u0000\"}"), &c), 0);
        ASSERT_STREQ(c.servers[0].command, "aA\\u0000");
        config_done(&c);

        /* The text need not be NUL-terminated: only len bytes are read. */
        ASSERT_EQ(config_load_string(ONE("{\"command\": \"x\"}") "garbage",
                                     strlen(ONE("{\"command\": \"x\"}")), "t.json", &c, err,
                                     sizeof(err), NULL, NULL),
                  0);
        config_done(&c);
}

TEST(error_buffer_is_bounded)
{
        const char *text = ONE("{\"command\": 1}");
        char small[12];
        struct config c;

        memset(small, 'x', sizeof(small));
        ASSERT_EQ(
            config_load_string(text, strlen(text), "t.json", &c, small, sizeof(small), NULL, NULL),
            -EINVAL);
        ASSERT_STREQ(small, "t.json: $.m");
        memset(small, 'x', sizeof(small));
        ASSERT_EQ(config_load_string("{", 1, "a-long-file-name.json", &c, small, 1, NULL, NULL),
                  -EBADMSG);
        ASSERT_EQ(small[0], '\0');
        ASSERT_EQ(small[1], 'x');
        ASSERT_EQ(config_load_string(text, strlen(text), "t.json", &c, NULL, 0, NULL, NULL),
                  -EINVAL);
        ASSERT_EQ(config_load_string(text, strlen(text), "t.json", &c, small, 0, NULL, NULL),
                  -EINVAL);
        ASSERT_EQ(small[0], '\0');
}

/* ---- expansion ---- */

struct unset_log {
        char names[8][64];
        size_t n;
};

static void record_unset(void *userdata, const char *name)
{
        struct unset_log *l = userdata;
        if (l->n < 8)
                snprintf(l->names[l->n], sizeof(l->names[0]), "%s", name);
        l->n++;
}

static struct unset_log unset_log;

static char *last_expanded;

static char *expand(const char *s)
{
        char *last;
        free(last_expanded);
        unset_log = (struct unset_log){};
        errno = 0;
        last = last_expanded = config_expand(s, record_unset, &unset_log);
        return last;
}

TEST(expand_basic)
{
        setenv("CFG_A", "1", 1);
        setenv("CFG_B", "two", 1);
        ASSERT_STREQ(expand("${CFG_A}${CFG_B}"), "1two");
        ASSERT_STREQ(expand("x-${CFG_A}-y-${CFG_B}-z"), "x-1-y-two-z");
        ASSERT_STREQ(expand(""), "");
        ASSERT_STREQ(expand("plain text"), "plain text");
        ASSERT_EQ(unset_log.n, 0);

        /* Values are not expanded again. */
        setenv("CFG_A", "${CFG_B}", 1);
        ASSERT_STREQ(expand("${CFG_A}"), "${CFG_B}");
        unsetenv("CFG_A");
        unsetenv("CFG_B");
}

TEST(expand_defaults)
{
        unsetenv("CFG_A");
        ASSERT_STREQ(expand("${CFG_A:-x}"), "x");
        ASSERT_EQ(unset_log.n, 0);
        ASSERT_STREQ(expand("${CFG_A:-}"), "");
        ASSERT_EQ(unset_log.n, 0);
        ASSERT_STREQ(expand("${CFG_A:-a b:c-d}"), "a b:c-d");
        /* A default is literal text: "$HOME" and "$$" stay. */
        ASSERT_STREQ(expand("${CFG_A:-$HOME$$}"), "$HOME$$");

        /* Shell semantics: an empty value takes the default too. */
        setenv("CFG_A", "", 1);
        ASSERT_STREQ(expand("${CFG_A:-x}"), "x");
        ASSERT_STREQ(expand("[${CFG_A}]"), "[]");
        ASSERT_EQ(unset_log.n, 0);

        setenv("CFG_A", "set", 1);
        ASSERT_STREQ(expand("${CFG_A:-x}"), "set");
        unsetenv("CFG_A");
}

TEST(expand_unset_warns)
{
        unsetenv("CFG_NOPE");
        unsetenv("CFG_NOPE2");
        ASSERT_STREQ(expand("a${CFG_NOPE}b${CFG_NOPE2}c"), "abc");
        ASSERT_EQ(unset_log.n, 2);
        ASSERT_STREQ(unset_log.names[0], "CFG_NOPE");
        ASSERT_STREQ(unset_log.names[1], "CFG_NOPE2");
        /* No callback: still expands. */
        free(last_expanded);
        last_expanded = config_expand("${CFG_NOPE}", NULL, NULL);
        ASSERT_STREQ(last_expanded, "");
}

TEST(expand_nested_default_not_supported)
{
        /*
         * The default ends at the first '}' and is not expanded, so
         * "${A:-${B}}" gives "${B" + "}" when A is unset, and A's value
         * followed by a stray "}" when it is set.
         */
        unsetenv("CFG_A");
        setenv("CFG_B", "bee", 1);
        ASSERT_STREQ(expand("${CFG_A:-${CFG_B}}"), "${CFG_B}");
        ASSERT_EQ(unset_log.n, 0);
        setenv("CFG_A", "a", 1);
        ASSERT_STREQ(expand("${CFG_A:-${CFG_B}}"), "a}");
        /* Likewise a default cannot contain '}'. */
        unsetenv("CFG_A");
        ASSERT_STREQ(expand("${CFG_A:-x}y}"), "xy}");
        unsetenv("CFG_B");
}

TEST(expand_dollars_and_escapes)
{
        setenv("CFG_A", "v", 1);
        ASSERT_STREQ(expand("$${CFG_A}"), "${CFG_A}");
        ASSERT_STREQ(expand("$$${CFG_A}"), "$${CFG_A}");
        ASSERT_STREQ(expand("$$"), "$$");
        ASSERT_STREQ(expand("$$CFG_A"), "$$CFG_A");
        ASSERT_STREQ(expand("$CFG_A"), "$CFG_A");
        ASSERT_STREQ(expand("$"), "$");
        ASSERT_STREQ(expand("price: 5$"), "price: 5$");
        ASSERT_STREQ(expand("$ {CFG_A}"), "$ {CFG_A}");
        ASSERT_STREQ(expand("a$${CFG_A}b${CFG_A}"), "a${CFG_A}bv");
        unsetenv("CFG_A");
}

TEST(expand_invalid_references)
{
        setenv("CFG_A", "v", 1);
        /* Not a NAME: left as text. */
        ASSERT_STREQ(expand("${1A}"), "${1A}");
        ASSERT_STREQ(expand("${}"), "${}");
        ASSERT_STREQ(expand("${CFG_A-x}"), "${CFG_A-x}");
        ASSERT_STREQ(expand("${CFG_A:x}"), "${CFG_A:x}");
        ASSERT_STREQ(expand("${ CFG_A}"), "${ CFG_A}");
        ASSERT_STREQ(expand("${CFG_A ${CFG_A}"), "${CFG_A v");
        ASSERT_EQ(unset_log.n, 0);

        /* Unterminated: NULL with EINVAL. */
        ASSERT_NULL(expand("${"));
        ASSERT_EQ(errno, EINVAL);
        ASSERT_NULL(expand("abc ${CFG_A"));
        ASSERT_EQ(errno, EINVAL);
        ASSERT_NULL(expand("${1A"));
        ASSERT_EQ(errno, EINVAL);
        ASSERT_NULL(expand("${CFG_A} ${CFG_A:-x"));
        ASSERT_EQ(errno, EINVAL);
        unsetenv("CFG_A");
}

TEST(expand_is_bounded_and_linear)
{
        size_t n = 1024 * 1024, i;
        char *big = malloc(n + 1), *text;
        struct config c;

        ASSERT_NOT_NULL(big);
        /* Many "${" that are not references, one '}' at the very end: no quadratic rescans. */
        for (i = 0; i + 3 <= n - 1; i += 3)
                memcpy(big + i, "${1", 3);
        big[i] = '}';
        big[i + 1] = '\0';
        ASSERT_NOT_NULL(expand(big));
        ASSERT_EQ(strlen(last_expanded), i + 1);

        /* One value may not grow past CONFIG_FILE_MAX bytes. */
        memset(big, 'v', n);
        big[n] = '\0';
        setenv("CFG_BIG", big, 1);
        ASSERT_NULL(expand("${CFG_BIG}${CFG_BIG}${CFG_BIG}${CFG_BIG}${CFG_BIG}"));
        ASSERT_EQ(errno, E2BIG);
        ASSERT_NOT_NULL(expand("${CFG_BIG}${CFG_BIG}${CFG_BIG}${CFG_BIG}"));
        ASSERT_EQ(strlen(last_expanded), 4 * n);
        text = strdup(ONE("{\"command\": \"${CFG_BIG}${CFG_BIG}${CFG_BIG}${CFG_BIG}x\"}"));
        ASSERT_NOT_NULL(text);
        ASSERT_EQ(load(text, &c), -EINVAL);
        ASSERT_STREQ(err, "t.json: $.mcpServers.s.command: longer than 4194304 bytes after "
                          "expansion");
        unsetenv("CFG_BIG");
        free(text);
        free(big);
}

TEST(expansion_applies_to_every_string_value)
{
        struct config c;

        setenv("CFG_CMD", "/usr/bin/tool", 1);
        setenv("CFG_ARG", "--flag", 1);
        setenv("CFG_VAL", "value", 1);
        setenv("CFG_DIR", "/srv", 1);
        setenv("CFG_HOST", "example.com", 1);
        ASSERT_EQ(load("{\"mcpServers\": {"
                       "\"l\": {\"command\": \"${CFG_CMD}\", \"args\": [\"${CFG_ARG}\", "
                       "\"x${CFG_VAL}\"], \"env\": {\"${CFG_VAL}\": \"${CFG_VAL}\"}, \"cwd\": "
                       "\"${CFG_DIR}/d\"},"
                       "\"r\": {\"url\": \"https://${CFG_HOST}/mcp\", \"headers\": {\"X-V\": "
                       "\"${CFG_VAL}\"}}}}",
                       &c),
                  0);
        ASSERT_EQ(warns.n, 0);
        ASSERT_STREQ(c.servers[0].command, "/usr/bin/tool");
        ASSERT_STREQ(c.servers[0].args[0], "--flag");
        ASSERT_STREQ(c.servers[0].args[1], "xvalue");
        /* Keys are not expanded. */
        ASSERT_STREQ(c.servers[0].env[0], "${CFG_VAL}=value");
        ASSERT_STREQ(c.servers[0].cwd, "/srv/d");
        ASSERT_STREQ(c.servers[1].url, "https://example.com/mcp");
        ASSERT_STREQ(c.servers[1].headers[0], "X-V: value");
        config_done(&c);

        /* Expansion comes before validation. */
        setenv("CFG_HOST", "bad host", 1);
        ASSERT_INVALID(ONE("{\"url\": \"https://${CFG_HOST}/\"}"),
                       "t.json: $.mcpServers.s.url: URL must not contain spaces or control "
                       "characters");
        setenv("CFG_URL", "https://h/events/sse", 1);
        ASSERT_EQ(transport_of("{\"url\": \"${CFG_URL}\"}"), TRANSPORT_SSE);

        unsetenv("CFG_CMD");
        unsetenv("CFG_ARG");
        unsetenv("CFG_VAL");
        unsetenv("CFG_DIR");
        unsetenv("CFG_HOST");
        unsetenv("CFG_URL");
}

TEST(expansion_warnings_carry_the_path)
{
        struct config c;

        unsetenv("TOKEN");
        unsetenv("CFG_UNSET");
        ASSERT_EQ(
            load("{\"mcpServers\": {\"x\": {\"command\": \"a\", \"args\": [\"ok\", "
                 "\"${CFG_UNSET}\"], \"env\": {\"TOKEN\": \"${TOKEN}\", \"D\": "
                 "\"${CFG_UNSET:-d}\"}},"
                 "\"r.1\": {\"url\": \"http://h/\", \"headers\": {\"Authorization\": \"Bearer "
                 "${TOKEN}\"}}}}",
                 &c),
            0);
        ASSERT_EQ(warns.n, 3);
        ASSERT_STREQ(warns.msg[0], "t.json: $.mcpServers.x.args[1]: environment variable "
                                   "${CFG_UNSET} is not set, using an empty string");
        ASSERT_STREQ(warns.msg[1], "t.json: $.mcpServers.x.env.TOKEN: environment variable "
                                   "${TOKEN} is not set, using an empty string");
        ASSERT_STREQ(warns.msg[2], "t.json: $.mcpServers[\"r.1\"].headers.Authorization: "
                                   "environment variable ${TOKEN} is not set, using an empty "
                                   "string");
        ASSERT_STREQ(c.servers[0].env[1], "D=d");
        config_done(&c);
}

/* ---- the hash ---- */

static int hash_of(const char *text, char out[65])
{
        struct config c;
        int r = load(text, &c);

        if (r < 0)
                return r;
        memcpy(out, c.servers[0].hash, 65);
        config_done(&c);
        return 0;
}

TEST(hash_ignores_order_and_whitespace)
{
        char a[65], b[65];

        ASSERT_OK(hash_of("{\"mcpServers\": {\"s\": {\"command\": \"run\", \"args\": [\"a\", 1], "
                          "\"env\": {\"X\": \"1\", \"Y\": \"2\"}, \"cwd\": \"/d\", \"timeout\": 5, "
                          "\"description\": \"one\"}}}",
                          a));
        ASSERT_OK(hash_of("{\n\t\"mcpServers\" : {\n  \"other\" : {\n    \"timeout\": 5.0,\n    "
                          "\"env\": {\"Y\": \"2\",\n \"X\": \"1\"},\n    \"cwd\": \"/d\",\n"
                          "    \"args\": [\"a\", \"1\"],\n    \"command\": \"run\",\n"
                          "    \"description\": \"two\", \"icon\": \"i\", \"unknown\": 1\n  }\n}}",
                          b));
        ASSERT_STREQ(a, b);

        ASSERT_OK(hash_of(ONE("{\"url\": \"https://h/mcp\", \"headers\": {\"A\": \"1\", \"B\": "
                              "\"2\"}, \"transport\": \"http\"}"),
                          a));
        ASSERT_OK(hash_of(ONE("{\"type\": \"streamable-http\", \"headers\": {\"B\": \"2\", \"A\": "
                              "\"1\"}, \"url\": \"https://h/mcp\"}"),
                          b));
        ASSERT_STREQ(a, b);

        /* Defaults written out are the same as defaults left out. */
        ASSERT_OK(hash_of(ONE("{\"command\": \"run\"}"), a));
        ASSERT_OK(hash_of(ONE("{\"command\": \"run\", \"timeout\": 60, \"disabled\": false}"), b));
        ASSERT_STREQ(a, b);
}

TEST(hash_changes_with_every_meaningful_field)
{
        static const char *const variants[] = {
            ONE("{\"command\": \"run\"}"),
            ONE("{\"command\": \"run2\"}"),
            ONE("{\"command\": \"run\", \"args\": []}"),
            ONE("{\"command\": \"run\", \"args\": [\"a\"]}"),
            ONE("{\"command\": \"run\", \"args\": [\"a\", \"b\"]}"),
            ONE("{\"command\": \"run\", \"args\": [\"b\", \"a\"]}"),
            ONE("{\"command\": \"run\", \"args\": [\"ab\"]}"),
            ONE("{\"command\": \"run\", \"args\": [\"a\", \"\"]}"),
            ONE("{\"command\": \"run\", \"env\": {}}"),
            ONE("{\"command\": \"run\", \"env\": {\"A\": \"1\"}}"),
            ONE("{\"command\": \"run\", \"env\": {\"A\": \"2\"}}"),
            ONE("{\"command\": \"run\", \"env\": {\"B\": \"1\"}}"),
            ONE("{\"command\": \"run\", \"cwd\": \"/a\"}"),
            ONE("{\"command\": \"run\", \"cwd\": \"/b\"}"),
            ONE("{\"command\": \"run\", \"startupTimeout\": 1}"),
            ONE("{\"command\": \"run\", \"timeout\": 1}"),
            ONE("{\"command\": \"run\", \"maxTimeout\": 900}"),
            ONE("{\"command\": \"run\", \"connectTimeout\": 1}"),
            ONE("{\"command\": \"run\", \"maxRestarts\": 0}"),
            ONE("{\"command\": \"run\", \"maxRestarts\": 1}"),
            ONE("{\"command\": \"run\", \"disabled\": true}"),
            ONE("{\"url\": \"https://h/mcp\"}"),
            ONE("{\"url\": \"https://h/mcp2\"}"),
            ONE("{\"url\": \"https://h/mcp\", \"transport\": \"http\"}"),
            ONE("{\"url\": \"https://h/mcp\", \"transport\": \"sse\"}"),
            ONE("{\"url\": \"https://h/mcp\", \"headers\": {\"A\": \"1\"}}"),
            ONE("{\"url\": \"https://h/mcp\", \"headers\": {\"A\": \"2\"}}"),
            ONE("{\"url\": \"https://h/mcp\", \"headers\": {\"A\": \"1\", \"B\": \"1\"}}"),
            ONE("{\"command\": \"run\", \"isolation\": \"shared\"}"),
            ONE("{\"command\": \"run\", \"isolation\": \"session\"}"),
            ONE("{\"command\": \"run\", \"idleTimeout\": 1}"),
            ONE("{\"command\": \"run\", \"maxInstances\": 1}"),
            ONE("{\"command\": \"run\", \"forwardRoots\": true}"),
            ONE("{\"command\": \"run\", \"roots\": [\"/a\"]}"),
            ONE("{\"command\": \"run\", \"roots\": [{\"uri\": \"/a\", \"name\": \"A\"}]}"),
        };
        char hashes[ELEMENTSOF(variants)][65];

        for (size_t i = 0; i < ELEMENTSOF(variants); i++) {
                ASSERT_OK(hash_of(variants[i], hashes[i]));
                for (size_t j = 0; j < i; j++)
                        if (strcmp(hashes[i], hashes[j]) == 0)
                                HARNESS_FAIL("variants %zu and %zu hash alike", j, i);
        }
}

TEST(hash_follows_expanded_values)
{
        char a[65], b[65];

        setenv("CFG_HV", "one", 1);
        ASSERT_OK(hash_of(ONE("{\"command\": \"run\", \"env\": {\"T\": \"${CFG_HV}\"}}"), a));
        ASSERT_OK(hash_of(ONE("{\"command\": \"run\", \"env\": {\"T\": \"one\"}}"), b));
        ASSERT_STREQ(a, b);
        setenv("CFG_HV", "two", 1);
        ASSERT_OK(hash_of(ONE("{\"command\": \"run\", \"env\": {\"T\": \"${CFG_HV}\"}}"), b));
        ASSERT_TRUE(strcmp(a, b) != 0);
        unsetenv("CFG_HV");
}

/* ---- files and lifetime ---- */

static char *write_temp(const char *text, size_t n)
{
        char tmpl[] = "/tmp/test-config-XXXXXX";
        int fd = mkstemp(tmpl);

        if (fd < 0)
                return NULL;
        if (write(fd, text, n) != (ssize_t)n) {
                close(fd);
                unlink(tmpl);
                return NULL;
        }
        close(fd);
        return strdup(tmpl);
}

TEST(load_file)
{
        const char *good = ONE("{\"command\": \"x\"}");
        const char *bad = "{\n\"mcpServers\": 1 2}";
        struct config c;
        char *path, expect[256];

        path = write_temp(good, strlen(good));
        ASSERT_NOT_NULL(path);
        ASSERT_EQ(config_load_file(path, &c, err, sizeof(err), collect, &warns), 0);
        ASSERT_STREQ(c.path, path);
        ASSERT_EQ(c.n_servers, 1);
        config_done(&c);
        unlink(path);
        free(path);

        path = write_temp(bad, strlen(bad));
        ASSERT_NOT_NULL(path);
        memset(&c, 0xa5, sizeof(c));
        ASSERT_EQ(config_load_file(path, &c, err, sizeof(err), NULL, NULL), -EBADMSG);
        snprintf(expect, sizeof(expect), "%s: line 2, column 17: invalid JSON", path);
        ASSERT_STREQ(err, expect);
        ASSERT_TRUE(is_zero(&c, sizeof(c)));
        unlink(path);
        free(path);

        path = write_temp(ONE("{}"), strlen(ONE("{}")));
        ASSERT_NOT_NULL(path);
        ASSERT_EQ(config_load_file(path, &c, err, sizeof(err), NULL, NULL), -EINVAL);
        snprintf(expect, sizeof(expect),
                 "%s: $.mcpServers.s: needs \"command\" (stdio) or \"url\" (remote)", path);
        ASSERT_STREQ(err, expect);
        unlink(path);
        free(path);
}

TEST(load_file_errors)
{
        struct config c;
        char tmpl[] = "/tmp/test-config-big-XXXXXX";
        char expect[256];
        int fd;

        memset(&c, 0xa5, sizeof(c));
        ASSERT_EQ(
            config_load_file("/nonexistent/mcp_config.json", &c, err, sizeof(err), NULL, NULL),
            -ENOENT);
        ASSERT_STREQ(err, "/nonexistent/mcp_config.json: cannot open: No such file or directory");
        ASSERT_TRUE(is_zero(&c, sizeof(c)));

        ASSERT_EQ(config_load_file("/tmp", &c, err, sizeof(err), NULL, NULL), -EISDIR);
        ASSERT_STREQ(err, "/tmp: is a directory");

        fd = mkstemp(tmpl);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(ftruncate(fd, CONFIG_FILE_MAX + 1), 0);
        close(fd);
        ASSERT_EQ(config_load_file(tmpl, &c, err, sizeof(err), NULL, NULL), -EFBIG);
        snprintf(expect, sizeof(expect), "%s: larger than %d bytes", tmpl, CONFIG_FILE_MAX);
        ASSERT_STREQ(err, expect);
        ASSERT_TRUE(is_zero(&c, sizeof(c)));
        unlink(tmpl);

        ASSERT_EQ(config_load_string("{}", (size_t)CONFIG_FILE_MAX + 1, "t.json", &c, err,
                                     sizeof(err), NULL, NULL),
                  -EFBIG);

        /* Not a regular file: read with a bound all the same. */
        ASSERT_EQ(config_load_file("/dev/null", &c, err, sizeof(err), NULL, NULL), -EBADMSG);
        ASSERT_STREQ(err, "/dev/null: line 1, column 1: invalid JSON");
}

/* Feeds n bytes of text (repeated from pattern) through a pipe from a child process. */
static int pipe_from_child(const char *head, const char *fill, size_t fill_times, const char *tail)
{
        int fds[2];
        pid_t pid;

        if (pipe(fds) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                close(fds[0]);
                if (write(fds[1], head, strlen(head)) < 0)
                        _exit(1);
                for (size_t i = 0; i < fill_times; i++)
                        if (write(fds[1], fill, strlen(fill)) < 0)
                                _exit(1);
                if (write(fds[1], tail, strlen(tail)) < 0)
                        _exit(1);
                _exit(0);
        }
        close(fds[1]);
        return fds[0];
}

TEST(load_from_pipe)
{
        struct config c;
        char path[64];
        int fd;

        /* Not a regular file and bigger than the first buffer: read in growing steps. */
        fd = pipe_from_child("{\"mcpServers\": {\"p\": {\"command\": \"x\", \"args\": [", "\"a\", ",
                             20000, "\"z\"]}}}");
        ASSERT_TRUE(fd >= 0);
        snprintf(path, sizeof(path), "/dev/fd/%d", fd);
        ASSERT_EQ(config_load_file(path, &c, err, sizeof(err), NULL, NULL), 0);
        ASSERT_STREQ(c.servers[0].args[20000], "z");
        config_done(&c);
        close(fd);
        while (wait(NULL) > 0)
                ;

        /* An endless stream stops at CONFIG_FILE_MAX. */
        fd = pipe_from_child("", "                ", CONFIG_FILE_MAX / 16 + 1, "");
        ASSERT_TRUE(fd >= 0);
        snprintf(path, sizeof(path), "/dev/fd/%d", fd);
        ASSERT_EQ(config_load_file(path, &c, err, sizeof(err), NULL, NULL), -EFBIG);
        ASSERT_TRUE(is_zero(&c, sizeof(c)));
        close(fd);
        while (wait(NULL) > 0)
                ;
}

TEST(done_is_safe)
{
        struct config c = {};
        struct config half = {};

        config_done(&c);
        config_done(NULL);
        ASSERT_TRUE(is_zero(&c, sizeof(c)));

        /* A half-built config: one server with a name only, and room for another. */
        half.servers = calloc(2, sizeof(*half.servers));
        ASSERT_NOT_NULL(half.servers);
        half.n_servers = 1;
        half.servers[0].name = strdup("x");
        half.servers[0].args = calloc(1, sizeof(char *));
        config_done(&half);
        ASSERT_TRUE(is_zero(&half, sizeof(half)));

        /* Failures after some servers were built free them (valgrind/ASan check the leak). */
        ASSERT_INVALID("{\"mcpServers\": {\"a\": {\"command\": \"x\", \"args\": [\"1\"], \"env\": "
                       "{\"A\": \"1\"}}, \"b\": {\"url\": \"http://h/\", \"headers\": {\"A\": "
                       "\"1\"}}, \"c\": {\"command\": \"x\", \"env\": {\"A\": \"1\", \"B\": 2}}}}",
                       "t.json: $.mcpServers.c.env.B: expected a string");
}

TEST(zz_cleanup)
{
        warnings_done(&warns);
        free(last_expanded);
        last_expanded = NULL;
}

HARNESS_MAIN()
