/* SPDX-License-Identifier: MIT */
/* The users file: parsing, defaults from "*", glob rules, limits and every error message. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/users.h"
#include "collect.h"
#include "harness.h"
#include "mcp-limits.h"
#include "macro.h"
#include "strv.h"

static char err[1024];
static struct warnings warns;

/* Loads text as "t.json" into *u; warnings land in the global warns (reset first). */
static int load(const char *text, struct users *u)
{
        warnings_done(&warns);
        memset(err, 'x', sizeof(err));
        memset(u, 0xa5, sizeof(*u));
        return users_load_string(text, strlen(text), "t.json", u, err, sizeof(err), collect,
                                 &warns);
}

/* The text must be refused with exactly this message, leaving the struct zeroed. */
#define ASSERT_INVALID(text, message)                  \
        do {                                           \
                struct users _u;                       \
                ASSERT_EQ(load(text, &_u), -EINVAL);   \
                ASSERT_STREQ(err, message);            \
                ASSERT_TRUE(is_zero(&_u, sizeof(_u))); \
        } while (0)

#define TOOL(r, server, name)     user_rules_allow(r, USERS_TOOLS, server, name)
#define PROMPT(r, server, name)   user_rules_allow(r, USERS_PROMPTS, server, name)
#define RESOURCE(r, server, name) user_rules_allow(r, USERS_RESOURCES, server, name)

/* ---- the format ---- */

TEST(original_format)
{
        struct users u;
        const struct user_rules *r;

        ASSERT_EQ(load("{\"alice\": {\"name\": \"A\", \"allowed_tools\": [\"*\"]}}", &u), 0);
        ASSERT_EQ(warns.n, 0);
        ASSERT_EQ(u.n, 1);
        ASSERT_STREQ(u.path, "t.json");
        r = users_find(&u, "alice");
        ASSERT_TRUE(r == &u.v[0]);
        ASSERT_STREQ(r->client_id, "alice");
        ASSERT_STREQ(r->name, "A");
        ASSERT_EQ(strv_length(r->allowed[USERS_TOOLS]), 1);
        ASSERT_STREQ(r->allowed[USERS_TOOLS][0], "*");
        ASSERT_NULL(r->denied[USERS_TOOLS]);
        ASSERT_NULL(r->allowed[USERS_PROMPTS]);
        ASSERT_NULL(r->allowed_servers);
        ASSERT_NULL(r->denied_servers);
        ASSERT_EQ(r->requests_per_minute, 0);
        ASSERT_EQ(r->concurrent_calls, 0);
        ASSERT_EQ(r->max_sessions, 0);
        ASSERT_TRUE(TOOL(r, "fs", "fs_read_file"));
        ASSERT_TRUE(PROMPT(r, "fs", "anything"));
        ASSERT_TRUE(user_rules_allow_server(r, "fs"));
        users_done(&u);
        ASSERT_TRUE(is_zero(&u, sizeof(u)));
        users_done(&u);
        users_done(NULL);
}

TEST(empty_object)
{
        struct users u;

        ASSERT_EQ(load("{}", &u), 0);
        ASSERT_EQ(u.n, 0);
        ASSERT_STREQ(u.defaults.client_id, "*");
        ASSERT_TRUE(users_find(&u, "alice") == &u.defaults);
        ASSERT_TRUE(TOOL(users_find(&u, "alice"), "fs", "x"));
        users_done(&u);
}

TEST(globs)
{
        struct users u;
        const struct user_rules *r;

        ASSERT_EQ(
            load("{\"alice\": {\"allowed_tools\": [\"fs_read*\", \"git_?og\", \"[ab]_x\"]}}", &u),
            0);
        r = users_find(&u, "alice");
        ASSERT_TRUE(TOOL(r, "fs", "fs_read"));
        ASSERT_TRUE(TOOL(r, "fs", "fs_read_file"));
        ASSERT_FALSE(TOOL(r, "fs", "fs_write_file"));
        ASSERT_FALSE(TOOL(r, "fs", "xfs_read"));
        ASSERT_TRUE(TOOL(r, "git", "git_log"));
        ASSERT_TRUE(TOOL(r, "git", "git_fog"));
        ASSERT_FALSE(TOOL(r, "git", "git_logs"));
        ASSERT_FALSE(TOOL(r, "git", "git_og"));
        ASSERT_TRUE(TOOL(r, "s", "a_x"));
        ASSERT_FALSE(TOOL(r, "s", "c_x"));
        /* Case matters, and '*' crosses '/' (no flags): URIs match as a whole. */
        ASSERT_FALSE(TOOL(r, "fs", "FS_READ"));
        users_done(&u);

        ASSERT_EQ(load("{\"b\": {\"allowed_resources\": [\"file://fs/docs/*\"]}}", &u), 0);
        r = users_find(&u, "b");
        ASSERT_TRUE(RESOURCE(r, "fs", "file://fs/docs/a/b/c.txt"));
        ASSERT_FALSE(RESOURCE(r, "fs", "file://fs/etc/passwd"));
        users_done(&u);
}

TEST(denied_wins_over_allowed)
{
        struct users u;
        const struct user_rules *r;

        ASSERT_EQ(load("{\"alice\": {\"allowed_tools\": [\"*\"], \"denied_tools\": [\"*_delete*\", "
                       "\"fs_write_file\"]},"
                       " \"bob\": {\"denied_tools\": [\"fs_*\"]}}",
                       &u),
                  0);
        r = users_find(&u, "alice");
        ASSERT_TRUE(TOOL(r, "fs", "fs_read_file"));
        ASSERT_FALSE(TOOL(r, "fs", "fs_delete_file"));
        ASSERT_FALSE(TOOL(r, "fs", "fs_write_file"));
        /* Denied without an allowed list: everything else is allowed. */
        r = users_find(&u, "bob");
        ASSERT_FALSE(TOOL(r, "fs", "fs_read_file"));
        ASSERT_TRUE(TOOL(r, "git", "git_log"));
        users_done(&u);
}

TEST(empty_allowed_list_allows_nothing)
{
        struct users u;
        const struct user_rules *r;

        ASSERT_EQ(load("{\"alice\": {\"allowed_tools\": [], \"denied_prompts\": []}}", &u), 0);
        r = users_find(&u, "alice");
        ASSERT_NOT_NULL(r->allowed[USERS_TOOLS]);
        ASSERT_EQ(strv_length(r->allowed[USERS_TOOLS]), 0);
        ASSERT_FALSE(TOOL(r, "fs", "fs_read_file"));
        ASSERT_TRUE(PROMPT(r, "fs", "p"));
        users_done(&u);
}

TEST(server_rules)
{
        struct users u;
        const struct user_rules *r;

        ASSERT_EQ(load("{\"alice\": {\"allowed_servers\": [\"fs\", \"git*\"], "
                       "\"denied_servers\": [\"gitlab\"], \"allowed_tools\": [\"*\"]},"
                       " \"bob\": {\"denied_servers\": [\"secrets\"]}}",
                       &u),
                  0);
        r = users_find(&u, "alice");
        ASSERT_TRUE(user_rules_allow_server(r, "fs"));
        ASSERT_TRUE(user_rules_allow_server(r, "github"));
        ASSERT_FALSE(user_rules_allow_server(r, "gitlab"));
        ASSERT_FALSE(user_rules_allow_server(r, "web"));
        ASSERT_TRUE(TOOL(r, "fs", "fs_read_file"));
        ASSERT_TRUE(TOOL(r, "github", "github_search"));
        /* Whole servers, every kind, whatever the per-kind lists say. */
        ASSERT_FALSE(TOOL(r, "gitlab", "gitlab_issues"));
        ASSERT_FALSE(TOOL(r, "web", "web_fetch"));
        ASSERT_FALSE(PROMPT(r, "web", "web_summary"));
        ASSERT_FALSE(RESOURCE(r, "web", "https://web/x"));
        ASSERT_TRUE(RESOURCE(r, "fs", "file://fs/x"));

        r = users_find(&u, "bob");
        ASSERT_FALSE(user_rules_allow_server(r, "secrets"));
        ASSERT_FALSE(TOOL(r, "secrets", "secrets_get"));
        ASSERT_TRUE(TOOL(r, "fs", "fs_read_file"));
        ASSERT_TRUE(user_rules_allow_server(r, "anything"));
        users_done(&u);
}

TEST(kinds_are_independent)
{
        struct users u;
        const struct user_rules *r;

        ASSERT_EQ(load("{\"alice\": {\"allowed_tools\": [\"fs_*\"], \"denied_prompts\": "
                       "[\"secret*\"], \"allowed_resources\": [\"file://*\"]}}",
                       &u),
                  0);
        r = users_find(&u, "alice");
        /* A tools list does not restrict prompts or resources, and the other way round. */
        ASSERT_FALSE(TOOL(r, "git", "git_log"));
        ASSERT_TRUE(PROMPT(r, "git", "git_log"));
        ASSERT_TRUE(TOOL(r, "fs", "fs_read"));
        ASSERT_FALSE(PROMPT(r, "fs", "secret_prompt"));
        ASSERT_FALSE(TOOL(r, "fs", "secret_tool")); /* by allowed_tools, not denied_prompts */
        ASSERT_TRUE(RESOURCE(r, "fs", "file:///etc"));
        ASSERT_FALSE(RESOURCE(r, "web", "https://x"));
        ASSERT_TRUE(PROMPT(r, "web", "summary"));
        /* An unknown kind is refused. */
        ASSERT_FALSE(user_rules_allow(r, _USERS_KIND_MAX, "fs", "fs_read"));
        ASSERT_FALSE(user_rules_allow(r, (enum users_kind) - 1, "fs", "fs_read"));
        users_done(&u);
}

/* ---- "*" and clients absent from the file ---- */

static const char defaults_text[] =
    "{\"alice\": {\"name\": \"Alice\", \"allowed_tools\": [\"fs_*\"], \"requests_per_minute\": 0},"
    " \"*\": {\"name\": \"everyone\", \"allowed_tools\": [\"git_*\"], \"denied_tools\": "
    "[\"*_push\"],"
    "  \"denied_prompts\": [\"p*\"], \"allowed_servers\": [\"fs\", \"git\"],"
    "  \"requests_per_minute\": 60, \"concurrent_calls\": 4, \"max_sessions\": 2,"
    "  \"max_buffer_mib\": 16},"
    " \"bob\": {\"denied_servers\": [\"git\"], \"max_sessions\": 9, \"max_buffer_mib\": 1},"
    " \"carol\": {}}";

TEST(defaults_from_star)
{
        struct users u;
        const struct user_rules *d, *r;

        ASSERT_EQ(load(defaults_text, &u), 0);
        ASSERT_EQ(u.n, 3);
        d = &u.defaults;
        ASSERT_STREQ(d->client_id, "*");
        ASSERT_STREQ(d->name, "everyone");
        ASSERT_EQ(d->requests_per_minute, 60);
        ASSERT_EQ(d->concurrent_calls, 4);
        ASSERT_EQ(d->max_sessions, 2);
        ASSERT_EQ(d->max_buffer_mib, 16);

        /* Absent: the defaults themselves. */
        r = users_find(&u, "dave");
        ASSERT_TRUE(r == d);
        ASSERT_TRUE(TOOL(r, "git", "git_log"));
        ASSERT_FALSE(TOOL(r, "git", "git_push"));
        ASSERT_FALSE(TOOL(r, "fs", "fs_read"));
        ASSERT_FALSE(TOOL(r, "web", "git_log"));
        ASSERT_FALSE(PROMPT(r, "fs", "plan"));
        ASSERT_TRUE(users_find(&u, "*") == d);
        ASSERT_TRUE(users_find(&u, NULL) == d);
        ASSERT_TRUE(users_find(&u, "") == d);

        /* An empty entry: every rule from "*", but not its name. */
        r = users_find(&u, "carol");
        ASSERT_STREQ(r->client_id, "carol");
        ASSERT_NULL(r->name);
        ASSERT_TRUE(r->allowed[USERS_TOOLS] == d->allowed[USERS_TOOLS]);
        ASSERT_TRUE(r->denied[USERS_TOOLS] == d->denied[USERS_TOOLS]);
        ASSERT_TRUE(r->allowed_servers == d->allowed_servers);
        ASSERT_EQ(r->requests_per_minute, 60);
        ASSERT_EQ(r->concurrent_calls, 4);
        ASSERT_EQ(r->max_sessions, 2);
        ASSERT_FALSE(TOOL(r, "git", "git_push"));
        users_done(&u);
}

TEST(defaults_field_by_field)
{
        struct users u;
        const struct user_rules *r;

        ASSERT_EQ(load(defaults_text, &u), 0);
        /* alice: her own allowed_tools and a limit of 0 (given: unlimited, not 60); the rest
         * from "*". */
        r = users_find(&u, "alice");
        ASSERT_STREQ(r->name, "Alice");
        ASSERT_TRUE(TOOL(r, "fs", "fs_read"));
        ASSERT_FALSE(TOOL(r, "git", "git_log"));      /* her list replaces the default one */
        ASSERT_FALSE(TOOL(r, "fs", "fs_force_push")); /* denied_tools from "*" */
        ASSERT_FALSE(PROMPT(r, "fs", "plan"));        /* denied_prompts from "*" */
        ASSERT_FALSE(TOOL(r, "web", "fs_read"));      /* allowed_servers from "*" */
        ASSERT_EQ(r->requests_per_minute, 0);
        ASSERT_EQ(r->concurrent_calls, 4);
        ASSERT_EQ(r->max_sessions, 2);
        ASSERT_EQ(r->max_buffer_mib, 16);

        /* bob: denied_servers and max_sessions his own; allowed_servers still from "*". */
        r = users_find(&u, "bob");
        ASSERT_NULL(r->name);
        ASSERT_FALSE(TOOL(r, "git", "git_log"));
        ASSERT_FALSE(user_rules_allow_server(r, "git"));
        ASSERT_TRUE(user_rules_allow_server(r, "fs"));
        ASSERT_FALSE(user_rules_allow_server(r, "web"));
        ASSERT_EQ(r->max_sessions, 9);
        ASSERT_EQ(r->max_buffer_mib, 1);
        ASSERT_EQ(r->requests_per_minute, 60);
        users_done(&u);
}

TEST(absent_without_star)
{
        struct users u, zero = {};
        const struct user_rules *r;

        ASSERT_EQ(load("{\"alice\": {\"allowed_tools\": [\"fs_*\"], \"max_sessions\": 3}}", &u), 0);
        r = users_find(&u, "bob");
        ASSERT_TRUE(r == &u.defaults);
        ASSERT_STREQ(r->client_id, "*");
        ASSERT_TRUE(TOOL(r, "git", "git_push"));
        ASSERT_TRUE(PROMPT(r, "git", "p"));
        ASSERT_TRUE(RESOURCE(r, "web", "https://x"));
        ASSERT_TRUE(user_rules_allow_server(r, "web"));
        ASSERT_EQ(r->requests_per_minute, 0);
        ASSERT_EQ(r->concurrent_calls, 0);
        ASSERT_EQ(r->max_sessions, 0);
        users_done(&u);

        /* No file at all: a zeroed struct, or none. */
        r = users_find(&zero, "bob");
        ASSERT_TRUE(r == &zero.defaults);
        ASSERT_TRUE(TOOL(r, "fs", "x"));
        r = users_find(NULL, "bob");
        ASSERT_NOT_NULL(r);
        ASSERT_TRUE(TOOL(r, "fs", "x"));
        ASSERT_TRUE(user_rules_allow_server(r, "fs"));
        ASSERT_EQ(r->max_sessions, 0);
}

TEST(limits)
{
        struct users u;
        const struct user_rules *r;

        ASSERT_EQ(load("{\"a\": {\"requests_per_minute\": 120, \"concurrent_calls\": 0, "
                       "\"max_sessions\": 1000000},"
                       " \"b\": {\"requests_per_minute\": 1e3, \"concurrent_calls\": 5.0}}",
                       &u),
                  0);
        r = users_find(&u, "a");
        ASSERT_EQ(r->requests_per_minute, 120);
        ASSERT_EQ(r->concurrent_calls, 0);
        ASSERT_EQ(r->max_sessions, 1000000);
        r = users_find(&u, "b");
        ASSERT_EQ(r->requests_per_minute, 1000);
        ASSERT_EQ(r->concurrent_calls, 5);
        ASSERT_EQ(r->max_sessions, 0);
        users_done(&u);
}

TEST(sorted_lookup)
{
        struct users u;
        char *text = NULL, *id;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        unsigned n = 500;

        ASSERT_NOT_NULL(f);
        fputc('{', f);
        /* In an order that is not sorted. */
        for (unsigned i = 0; i < n; i++)
                fprintf(f, "%s\"client-%u\": {\"max_sessions\": %u}", i ? ", " : "", (i * 7919) % n,
                        (i * 7919) % n + 1);
        fputc('}', f);
        fclose(f);
        ASSERT_EQ(load(text, &u), 0);
        free(text);
        ASSERT_EQ(u.n, n);
        for (size_t i = 1; i < u.n; i++)
                ASSERT_TRUE(strcmp(u.v[i - 1].client_id, u.v[i].client_id) < 0);
        for (unsigned i = 0; i < n; i++) {
                ASSERT_TRUE(asprintf(&id, "client-%u", i) > 0);
                ASSERT_EQ(users_find(&u, id)->max_sessions, i + 1);
                free(id);
        }
        ASSERT_TRUE(users_find(&u, "client-") == &u.defaults);
        ASSERT_TRUE(users_find(&u, "client-5000") == &u.defaults);
        ASSERT_TRUE(users_find(&u, "a") == &u.defaults);
        ASSERT_TRUE(users_find(&u, "z") == &u.defaults);
        users_done(&u);
}

/* ---- warnings and errors ---- */

TEST(unknown_field_warned)
{
        struct users u;

        ASSERT_EQ(load("{\"alice\": {\"colour\": \"red\", \"allowed_tools\": [\"x\"]},"
                       " \"*\": {\"Allowed_Tools\": 1, \"we\\\"ird\": null}}",
                       &u),
                  0);
        ASSERT_EQ(warns.n, 3);
        ASSERT_STREQ(warns.msg[0], "t.json: $[\"*\"].Allowed_Tools: unknown field, ignoring");
        ASSERT_STREQ(warns.msg[1], "t.json: $[\"*\"][\"we\\\"ird\"]: unknown field, ignoring");
        ASSERT_STREQ(warns.msg[2], "t.json: $.alice.colour: unknown field, ignoring");
        ASSERT_STREQ(users_find(&u, "alice")->allowed[USERS_TOOLS][0], "x");
        users_done(&u);
}

TEST(errors)
{
        char big[USERS_GLOB_MAX_LEN + 64];

        ASSERT_INVALID("[]", "t.json: $: expected an object keyed by client id");
        ASSERT_INVALID("\"alice\"", "t.json: $: expected an object keyed by client id");
        ASSERT_INVALID("{\"alice\": []}", "t.json: $.alice: expected an object");
        ASSERT_INVALID("{\"alice\": null}", "t.json: $.alice: expected an object");
        ASSERT_INVALID("{\"*\": 1}", "t.json: $[\"*\"]: expected an object");
        ASSERT_INVALID("{\"alice\": {\"name\": 1}}", "t.json: $.alice.name: expected a string");
        ASSERT_INVALID("{\"alice\": {\"name\": \"a\\nb\"}}",
                       "t.json: $.alice.name: contains a control character");
        ASSERT_INVALID("{\"alice\": {\"allowed_tools\": \"*\"}}",
                       "t.json: $.alice.allowed_tools: expected an array of strings");
        ASSERT_INVALID("{\"alice\": {\"denied_tools\": null}}",
                       "t.json: $.alice.denied_tools: expected an array of strings");
        ASSERT_INVALID("{\"alice\": {\"allowed_prompts\": {}}}",
                       "t.json: $.alice.allowed_prompts: expected an array of strings");
        ASSERT_INVALID("{\"alice\": {\"denied_prompts\": [\"a\", 1]}}",
                       "t.json: $.alice.denied_prompts[1]: expected a non-empty string");
        ASSERT_INVALID("{\"alice\": {\"allowed_resources\": [\"\"]}}",
                       "t.json: $.alice.allowed_resources[0]: expected a non-empty string");
        ASSERT_INVALID("{\"alice\": {\"denied_resources\": [[\"x\"]]}}",
                       "t.json: $.alice.denied_resources[0]: expected a non-empty string");
        ASSERT_INVALID("{\"alice\": {\"allowed_servers\": [null]}}",
                       "t.json: $.alice.allowed_servers[0]: expected a non-empty string");
        ASSERT_INVALID("{\"*\": {\"denied_servers\": [\"ok\", \"\"]}}",
                       "t.json: $[\"*\"].denied_servers[1]: expected a non-empty string");
        ASSERT_INVALID("{\"alice\": {\"requests_per_minute\": -1}}",
                       "t.json: $.alice.requests_per_minute: expected a whole number from 0 to "
                       "1000000");
        ASSERT_INVALID("{\"alice\": {\"concurrent_calls\": 1.5}}",
                       "t.json: $.alice.concurrent_calls: expected a whole number from 0 to "
                       "1000000");
        ASSERT_INVALID("{\"alice\": {\"max_sessions\": 1000001}}",
                       "t.json: $.alice.max_sessions: expected a whole number from 0 to 1000000");
        ASSERT_INVALID("{\"alice\": {\"max_sessions\": 1e300}}",
                       "t.json: $.alice.max_sessions: expected a whole number from 0 to 1000000");
        ASSERT_INVALID("{\"alice\": {\"max_sessions\": \"3\"}}",
                       "t.json: $.alice.max_sessions: expected a whole number from 0 to 1000000");
        ASSERT_INVALID("{\"*\": {\"requests_per_minute\": true}}",
                       "t.json: $[\"*\"].requests_per_minute: expected a whole number from 0 to "
                       "1000000");
        ASSERT_INVALID("{\"alice\": {\"name\": \"a\", \"name\": \"b\"}}",
                       "t.json: $.alice.name: duplicate field");
        ASSERT_INVALID("{\"alice\": {}, \"bob\": {}, \"alice\": {}}",
                       "t.json: $.alice: duplicate client id");
        ASSERT_INVALID("{\"*\": {}, \"*\": {}}", "t.json: $[\"*\"]: duplicate client id");
        /* The first error is the one reported, and the struct is left zeroed after a
         * half-built entry. */
        ASSERT_INVALID("{\"alice\": {\"allowed_tools\": [\"a\"], \"denied_tools\": [\"b\", 2],"
                       " \"max_sessions\": -1}}",
                       "t.json: $.alice.denied_tools[1]: expected a non-empty string");

        /* Bounds. */
        memset(big, 'g', sizeof(big));
        snprintf(big, sizeof(big), "{\"a\": {\"allowed_tools\": [\"%0*d\"]}}",
                 USERS_GLOB_MAX_LEN + 1, 0);
        ASSERT_INVALID(big, "t.json: $.a.allowed_tools[0]: longer than 512 bytes");
        snprintf(big, sizeof(big), "{\"a\": {\"allowed_tools\": [\"%0*d\"]}}", USERS_GLOB_MAX_LEN,
                 0);
        {
                struct users u;
                ASSERT_EQ(load(big, &u), 0);
                users_done(&u);
        }
        snprintf(big, sizeof(big), "{\"a\": {\"name\": \"%0*d\"}}", USERS_GLOB_MAX_LEN + 1, 0);
        ASSERT_INVALID(big, "t.json: $.a.name: longer than 512 bytes");
}

/* A list of n globs "g0", "g1"... for field. */
static char *many_globs(const char *field, unsigned n)
{
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                return NULL;
        fprintf(f, "{\"alice\": {\"%s\": [", field);
        for (unsigned i = 0; i < n; i++)
                fprintf(f, "%s\"g%u\"", i ? "," : "", i);
        fputs("]}}", f);
        fclose(f);
        return text;
}

TEST(too_many)
{
        struct users u;
        char *text;
        FILE *f;
        size_t size = 0;

        text = many_globs("denied_servers", USERS_GLOBS_MAX);
        ASSERT_NOT_NULL(text);
        ASSERT_EQ(load(text, &u), 0);
        ASSERT_EQ(strv_length(users_find(&u, "alice")->denied_servers), USERS_GLOBS_MAX);
        ASSERT_FALSE(user_rules_allow_server(users_find(&u, "alice"), "g1023"));
        users_done(&u);
        free(text);

        text = many_globs("denied_servers", USERS_GLOBS_MAX + 1);
        ASSERT_NOT_NULL(text);
        ASSERT_INVALID(text, "t.json: $.alice.denied_servers: more than 1024 entries");
        free(text);

        text = NULL;
        f = open_memstream(&text, &size);
        ASSERT_NOT_NULL(f);
        fputs("{\"*\": {}", f);
        for (unsigned i = 0; i <= USERS_MAX_CLIENTS; i++)
                fprintf(f, ", \"c%u\": {}", i);
        fputc('}', f);
        fclose(f);
        ASSERT_INVALID(text, "t.json: $: more than 4096 clients");
        free(text);
}

TEST(client_ids)
{
        char id[CLIENT_ID_MAX_LEN + 2], text[CLIENT_ID_MAX_LEN + 32];
        struct users u;

        ASSERT_INVALID("{\"a b\": {}}", "t.json: $[\"a b\"]: client id must be printable ASCII "
                                        "without spaces, quotes or backslashes");
        ASSERT_INVALID("{\"a\\\"b\": {}}", "t.json: $[\"a\\\"b\"]: client id must be printable "
                                           "ASCII without spaces, quotes or backslashes");
        ASSERT_INVALID("{\"caf\\u00e9\": {}}", "t.json: $[\"caf\\xc3\\xa9\"]: client id must be "
                                               "printable ASCII without spaces, quotes or "
                                               "backslashes");
        ASSERT_INVALID("{\"\": {}}", "t.json: $[\"\"]: empty client id");

        memset(id, 'a', sizeof(id));
        id[CLIENT_ID_MAX_LEN + 1] = '\0';
        snprintf(text, sizeof(text), "{\"%s\": {}}", id);
        ASSERT_EQ(load(text, &u), -EINVAL);
        ASSERT_CONTAINS(err, ": client id longer than 128 bytes");
        id[CLIENT_ID_MAX_LEN] = '\0';
        snprintf(text, sizeof(text), "{\"%s\": {}}", id);
        ASSERT_EQ(load(text, &u), 0);
        users_done(&u);

        /* What the key file accepts: e-mail addresses, dots, colons. */
        ASSERT_EQ(load("{\"ci@example.com\": {}, \"svc:reader.1\": {}}", &u), 0);
        ASSERT_TRUE(users_find(&u, "ci@example.com") != &u.defaults);
        ASSERT_TRUE(users_find(&u, "svc:reader.1") != &u.defaults);
        users_done(&u);
}

TEST(syntax_errors)
{
        struct users u;

        memset(&u, 0xa5, sizeof(u));
        ASSERT_EQ(load("{\n  \"alice\": {\n    \"allowed_tools\": [\"x\",]\n  }\n}", &u), -EBADMSG);
        ASSERT_STREQ(err, "t.json: line 3, column 27: invalid JSON");
        ASSERT_TRUE(is_zero(&u, sizeof(u)));
        ASSERT_EQ(load("", &u), -EBADMSG);
        ASSERT_STREQ(err, "t.json: line 1, column 1: invalid JSON");
        ASSERT_EQ(load("{}\n{}", &u), -EBADMSG);
        ASSERT_STREQ(err, "t.json: line 2, column 1: invalid JSON");
        ASSERT_EQ(load("{\"a\\u0000b\": {}}", &u), -EBADMSG);
        ASSERT_STREQ(err, "t.json: line 1, column 4: invalid JSON (NUL character)");
        ASSERT_EQ(users_load_string("{}", 2, NULL, &u, err, sizeof(err), NULL, NULL), 0);
        ASSERT_NULL(u.path);
        users_done(&u);
        ASSERT_EQ(users_load_string("[", 1, NULL, &u, err, sizeof(err), NULL, NULL), -EBADMSG);
        ASSERT_STREQ(err, "<users>: line 1, column 1: invalid JSON");
}

static char *write_temp(const char *text, size_t len)
{
        char *path = strdup("/tmp/test-users-XXXXXX");
        int fd;

        if (!path)
                return NULL;
        fd = mkstemp(path);
        if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
                free(path);
                return NULL;
        }
        close(fd);
        return path;
}

TEST(load_file)
{
        static const char good[] = "{\"alice\": {\"allowed_tools\": [\"*\"]}}\n";
        struct users u;
        char *path, expect[256];

        path = write_temp(good, strlen(good));
        ASSERT_NOT_NULL(path);
        ASSERT_EQ(users_load_file(path, &u, err, sizeof(err), NULL, NULL), 0);
        ASSERT_STREQ(u.path, path);
        ASSERT_EQ(u.n, 1);
        users_done(&u);
        unlink(path);
        free(path);

        path = write_temp("{\n  \"a\": {\"max_sessions\": -2}\n}\n", 32);
        ASSERT_NOT_NULL(path);
        memset(&u, 0xa5, sizeof(u));
        ASSERT_EQ(users_load_file(path, &u, err, sizeof(err), NULL, NULL), -EINVAL);
        snprintf(expect, sizeof(expect),
                 "%s: $.a.max_sessions: expected a whole number from 0 to 1000000", path);
        ASSERT_STREQ(err, expect);
        ASSERT_TRUE(is_zero(&u, sizeof(u)));
        unlink(path);
        free(path);

        ASSERT_EQ(users_load_file("/nonexistent/users.json", &u, err, sizeof(err), NULL, NULL),
                  -ENOENT);
        ASSERT_STREQ(err, "/nonexistent/users.json: cannot open: No such file or directory");
        ASSERT_EQ(users_load_file("/tmp", &u, err, sizeof(err), NULL, NULL), -EISDIR);
        ASSERT_STREQ(err, "/tmp: is a directory");
        ASSERT_EQ(users_load_file(NULL, &u, err, sizeof(err), NULL, NULL), -EINVAL);
        ASSERT_STREQ(err, "no users file given");
}

TEST(file_too_large)
{
        struct users u;
        char tmpl[] = "/tmp/test-users-big-XXXXXX", expect[256];
        int fd;

        fd = mkstemp(tmpl);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(ftruncate(fd, USERS_FILE_MAX + 1), 0);
        close(fd);
        memset(&u, 0xa5, sizeof(u));
        ASSERT_EQ(users_load_file(tmpl, &u, err, sizeof(err), NULL, NULL), -EFBIG);
        snprintf(expect, sizeof(expect), "%s: larger than %d bytes", tmpl, USERS_FILE_MAX);
        ASSERT_STREQ(err, expect);
        ASSERT_TRUE(is_zero(&u, sizeof(u)));
        unlink(tmpl);

        ASSERT_EQ(users_load_string("{}", (size_t)USERS_FILE_MAX + 1, "t.json", &u, err,
                                    sizeof(err), NULL, NULL),
                  -EFBIG);
        snprintf(expect, sizeof(expect), "t.json: larger than %d bytes", USERS_FILE_MAX);
        ASSERT_STREQ(err, expect);
}

TEST(small_error_buffer)
{
        struct users u;
        char small[8];

        ASSERT_EQ(users_load_string("[]", 2, "t.json", &u, small, sizeof(small), NULL, NULL),
                  -EINVAL);
        ASSERT_STREQ(small, "t.json:");
        ASSERT_EQ(users_load_string("[]", 2, "t.json", &u, NULL, 0, NULL, NULL), -EINVAL);
}

TEST(zz_cleanup)
{
        warnings_done(&warns);
}

HARNESS_MAIN()
