/* SPDX-License-Identifier: MIT */
/*
 * The users file: parse with cJSON, validate into struct users (see users.h).
 * The first error refuses the whole file and is reported as
 * "<file>: <JSON path>: <problem>"; unknown fields are warned about in the
 * same shape and ignored. Fields a client leaves out are taken from "*" at
 * load time by borrowing its arrays: the defaults own every glob list they
 * hold, and a client frees only the lists that are not the defaults' own, so
 * a large "*" costs its memory once however many clients inherit it.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "config/json-load.h"
#include "config/users.h"
#include "json.h"
#include "mcp-limits.h"
#include "macro.h"
#include "strv.h"

#define USERS_DEFAULTS_ID "*"

enum field_type {
        FIELD_STRING,
        FIELD_GLOBS,
        FIELD_NUMBER,
};

/* The fields of an entry, in the order users.h documents them. */
static const struct users_field {
        const char *name;
        enum field_type type;
        size_t offset; /* in struct user_rules */
} users_fields[] = {
    {"name", FIELD_STRING, offsetof(struct user_rules, name)},
    {"allowed_tools", FIELD_GLOBS, offsetof(struct user_rules, allowed[USERS_TOOLS])},
    {"denied_tools", FIELD_GLOBS, offsetof(struct user_rules, denied[USERS_TOOLS])},
    {"allowed_prompts", FIELD_GLOBS, offsetof(struct user_rules, allowed[USERS_PROMPTS])},
    {"denied_prompts", FIELD_GLOBS, offsetof(struct user_rules, denied[USERS_PROMPTS])},
    {"allowed_resources", FIELD_GLOBS, offsetof(struct user_rules, allowed[USERS_RESOURCES])},
    {"denied_resources", FIELD_GLOBS, offsetof(struct user_rules, denied[USERS_RESOURCES])},
    {"allowed_servers", FIELD_GLOBS, offsetof(struct user_rules, allowed_servers)},
    {"denied_servers", FIELD_GLOBS, offsetof(struct user_rules, denied_servers)},
    {"requests_per_minute", FIELD_NUMBER, offsetof(struct user_rules, requests_per_minute)},
    {"concurrent_calls", FIELD_NUMBER, offsetof(struct user_rules, concurrent_calls)},
    {"max_sessions", FIELD_NUMBER, offsetof(struct user_rules, max_sessions)},
    {"max_buffer_mib", FIELD_NUMBER, offsetof(struct user_rules, max_buffer_mib)},
};

_Static_assert(ELEMENTSOF(users_fields) <= 32, "a bit per field in an unsigned");

/* What users_find() answers without a struct users: everything allowed, nothing limited. */
static const struct user_rules users_allow_all = {};

#define fail(c, ...) json_load_fail(c, -EINVAL, __VA_ARGS__)
#define oom(c)       json_load_fail(c, -ENOMEM, "out of memory")

static bool streq(const char *a, const char *b)
{
        return strcmp(a, b) == 0;
}

static char **globs_get(const struct user_rules *r, const struct users_field *f)
{
        return *(char **const *)((const char *)r + f->offset);
}

static char ***globs_at(struct user_rules *r, const struct users_field *f)
{
        return (char ***)((char *)r + f->offset);
}

static uint32_t *number_at(struct user_rules *r, const struct users_field *f)
{
        return (uint32_t *)((char *)r + f->offset);
}

static const struct users_field *field_lookup(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(users_fields); i++)
                if (streq(users_fields[i].name, name))
                        return &users_fields[i];
        return NULL;
}

/* Frees what r owns: everything but the glob lists it borrows from defaults (NULL: none). */
static void user_rules_done(struct user_rules *r, const struct user_rules *defaults)
{
        for (size_t i = 0; i < ELEMENTSOF(users_fields); i++) {
                const struct users_field *f = &users_fields[i];
                char **v;

                if (f->type != FIELD_GLOBS)
                        continue;
                v = globs_get(r, f);
                if (!defaults || v != globs_get(defaults, f))
                        strv_free(v);
        }
        free(r->client_id);
        free(r->name);
        *r = (struct user_rules){};
}

void users_done(struct users *u)
{
        if (!u)
                return;
        /* The clients first: they compare their lists with the defaults' own. */
        for (size_t i = 0; i < u->n; i++)
                user_rules_done(&u->v[i], &u->defaults);
        free(u->v);
        user_rules_done(&u->defaults, NULL);
        free(u->path);
        *u = (struct users){};
}

/* ---- fields ---- */

static int parse_name(struct json_load *c, const cJSON *v, char **ret)
{
        const char *s;

        if (!cJSON_IsString(v))
                return fail(c, "expected a string");
        s = v->valuestring;
        if (strlen(s) > USERS_GLOB_MAX_LEN)
                return fail(c, "longer than %d bytes", USERS_GLOB_MAX_LEN);
        for (const char *p = s; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        return fail(c, "contains a control character");
        *ret = strdup(s);
        return *ret ? 0 : oom(c);
}

static int parse_globs(struct json_load *c, const cJSON *v, char ***ret)
{
        _cleanup_strv_free_ char **globs = NULL;
        const cJSON *e;
        size_t n, i = 0;

        if (!cJSON_IsArray(v))
                return fail(c, "expected an array of strings");
        n = (size_t)cJSON_GetArraySize(v);
        if (n > USERS_GLOBS_MAX)
                return fail(c, "more than %d entries", USERS_GLOBS_MAX);
        globs = calloc(n + 1, sizeof(char *));
        if (!globs)
                return oom(c);
        cJSON_ArrayForEach(e, v)
        {
                size_t old = jpath_push_index(&c->jp, i);

                if (!cJSON_IsString(e) || !e->valuestring[0])
                        return fail(c, "expected a non-empty string");
                if (strlen(e->valuestring) > USERS_GLOB_MAX_LEN)
                        return fail(c, "longer than %d bytes", USERS_GLOB_MAX_LEN);
                globs[i] = strdup(e->valuestring);
                if (!globs[i])
                        return oom(c);
                jpath_pop(&c->jp, old);
                i++;
        }
        *ret = TAKE_PTR(globs);
        return 0;
}

static int parse_number(struct json_load *c, const cJSON *v, uint32_t *ret)
{
        double d = cJSON_IsNumber(v) ? v->valuedouble : -1;

        /* NaN fails the first test; a value in range converts exactly or was not whole. */
        if (!(d >= 0 && d <= USERS_LIMIT_MAX) || d != (double)(uint32_t)d)
                return fail(c, "expected a whole number from 0 to %d", USERS_LIMIT_MAX);
        *ret = (uint32_t)d;
        return 0;
}

/* One entry into r, which is zeroed or half-built; *ret_seen: a bit per field given. */
static int parse_entry(struct json_load *c, const cJSON *item, struct user_rules *r,
                       unsigned *ret_seen)
{
        const cJSON *e;
        unsigned seen = 0;

        if (!cJSON_IsObject(item))
                return fail(c, "expected an object");
        cJSON_ArrayForEach(e, item)
        {
                const struct users_field *f = field_lookup(e->string);
                size_t old = jpath_push_key(&c->jp, e->string);
                unsigned bit;
                int k;

                if (!f) {
                        json_load_warn(c, "unknown field, ignoring");
                        jpath_pop(&c->jp, old);
                        continue;
                }
                bit = 1u << (f - users_fields);
                if (seen & bit)
                        return fail(c, "duplicate field");
                seen |= bit;
                switch (f->type) {
                case FIELD_STRING:
                        k = parse_name(c, e, &r->name);
                        break;
                case FIELD_GLOBS:
                        k = parse_globs(c, e, globs_at(r, f));
                        break;
                case FIELD_NUMBER:
                        k = parse_number(c, e, number_at(r, f));
                        break;
                default:
                        k = fail(c, "internal error");
                }
                if (k < 0)
                        return k;
                jpath_pop(&c->jp, old);
        }
        *ret_seen = seen;
        return 0;
}

/* The rules a client left out, from the defaults: lists borrowed, numbers copied. The name
 * describes the entry, not a rule, and is not inherited. */
static void inherit(struct user_rules *r, const struct user_rules *defaults, unsigned seen)
{
        for (size_t i = 0; i < ELEMENTSOF(users_fields); i++) {
                const struct users_field *f = &users_fields[i];

                if (seen & (1u << i))
                        continue;
                if (f->type == FIELD_GLOBS)
                        *globs_at(r, f) = globs_get(defaults, f);
                else if (f->type == FIELD_NUMBER)
                        *number_at(r, f) = *(const uint32_t *)((const char *)defaults + f->offset);
        }
}

static int cmp_rules(const void *a, const void *b)
{
        const struct user_rules *x = a, *y = b;
        return strcmp(x->client_id, y->client_id);
}

static int parse_users(struct json_load *c, const cJSON *root, struct users *u)
{
        const cJSON *e, *star = NULL;
        size_t n = 0, old;
        unsigned seen = 0;
        int r;

        if (!cJSON_IsObject(root))
                return fail(c, "expected an object keyed by client id");
        cJSON_ArrayForEach(e, root)
        {
                if (!star && streq(e->string, USERS_DEFAULTS_ID))
                        star = e;
                else
                        n++;
        }
        if (n > USERS_MAX_CLIENTS)
                return fail(c, "more than %d clients", USERS_MAX_CLIENTS);

        /* The defaults first, wherever "*" is: every other entry inherits from them. */
        u->defaults.client_id = strdup(USERS_DEFAULTS_ID);
        if (!u->defaults.client_id)
                return oom(c);
        if (star) {
                old = jpath_push_key(&c->jp, star->string);
                r = parse_entry(c, star, &u->defaults, &seen);
                if (r < 0)
                        return r;
                jpath_pop(&c->jp, old);
        }

        u->v = calloc(MAX(n, (size_t)1), sizeof(struct user_rules));
        if (!u->v)
                return oom(c);
        cJSON_ArrayForEach(e, root)
        {
                struct user_rules *rules;
                const char *problem;

                if (e == star)
                        continue;
                old = jpath_push_key(&c->jp, e->string);
                if (streq(e->string, USERS_DEFAULTS_ID))
                        return fail(c, "duplicate client id");
                problem = auth_client_id_problem(e->string, strlen(e->string));
                if (problem)
                        return fail(c, "%s", problem);
                /* Counted before it is filled, so that users_done() frees a half-built one. */
                rules = &u->v[u->n++];
                rules->client_id = strdup(e->string);
                if (!rules->client_id)
                        return oom(c);
                r = parse_entry(c, e, rules, &seen);
                if (r < 0)
                        return r;
                inherit(rules, &u->defaults, seen);
                jpath_pop(&c->jp, old);
        }

        qsort(u->v, u->n, sizeof(struct user_rules), cmp_rules);
        for (size_t i = 1; i < u->n; i++)
                if (streq(u->v[i - 1].client_id, u->v[i].client_id)) {
                        jpath_push_key(&c->jp, u->v[i].client_id);
                        return fail(c, "duplicate client id");
                }
        return 0;
}

int users_load_string(const char *text, size_t len, const char *path, struct users *ret, char *err,
                      size_t errlen, users_warn_cb warn, void *userdata)
{
        struct json_load c = {
            .path = path ? path : "<users>",
            .err = err,
            .errlen = errlen,
            .warn = warn,
            .userdata = userdata,
        };
        _cleanup_json_ cJSON *root = NULL;
        struct users u = {};
        int r;

        *ret = (struct users){};
        if (err && errlen > 0)
                err[0] = '\0';
        jpath_init(&c.jp);

        r = json_load_parse(text, len, USERS_FILE_MAX, c.path, &root, err, errlen);
        if (r < 0)
                return r;
        r = parse_users(&c, root, &u);
        if (r >= 0 && path) {
                u.path = strdup(path);
                if (!u.path)
                        r = json_load_error(err, errlen, -ENOMEM, "%s: out of memory", path);
        }
        if (r < 0) {
                users_done(&u);
                return r;
        }
        *ret = u;
        return 0;
}

int users_load_file(const char *path, struct users *ret, char *err, size_t errlen,
                    users_warn_cb warn, void *userdata)
{
        char *data = NULL;
        size_t len = 0;
        int r;

        *ret = (struct users){};
        if (err && errlen > 0)
                err[0] = '\0';
        if (!path)
                return json_load_error(err, errlen, -EINVAL, "no users file given");

        r = json_load_read(path, USERS_FILE_MAX, &data, &len, err, errlen);
        if (r < 0)
                return r;
        r = users_load_string(data, len, path, ret, err, errlen, warn, userdata);
        free(data);
        return r;
}

/* ---- lookups: no allocation (fnmatch(3) allocates nothing in the C locale) ---- */

const struct user_rules *users_find(const struct users *u, const char *client_id)
{
        size_t lo = 0, hi;

        if (!u)
                return &users_allow_all;
        if (!client_id)
                return &u->defaults;
        hi = u->n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int d = strcmp(client_id, u->v[mid].client_id);

                if (d == 0)
                        return &u->v[mid];
                if (d < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return &u->defaults;
}

static bool match_any(char *const *globs, const char *s)
{
        for (; *globs; globs++)
                if (fnmatch(*globs, s, 0) == 0)
                        return true;
        return false;
}

bool user_rules_allow_server(const struct user_rules *r, const char *server)
{
        if (!server)
                server = "";
        if (r->denied_servers && match_any(r->denied_servers, server))
                return false;
        return !r->allowed_servers || match_any(r->allowed_servers, server);
}

bool user_rules_allow(const struct user_rules *r, enum users_kind kind, const char *server,
                      const char *name)
{
        if ((unsigned)kind >= _USERS_KIND_MAX)
                return false;
        if (!server)
                server = "";
        if (!name)
                name = "";
        /* Denials first: a denied server or name wins over any allowed list. */
        if (r->denied_servers && match_any(r->denied_servers, server))
                return false;
        if (r->denied[kind] && match_any(r->denied[kind], name))
                return false;
        if (r->allowed_servers && !match_any(r->allowed_servers, server))
                return false;
        return !r->allowed[kind] || match_any(r->allowed[kind], name);
}
