/* SPDX-License-Identifier: MIT */
/*
 * The users file (MCP_USERS_PATH, users.json): who may call what, and how
 * much, per client id. The original project's format keeps working:
 *
 *   {"<client_id>": {"name": "...", "allowed_tools": ["*"]}}
 *
 * extended with, per client:
 *   "denied_tools":        globs that win over allowed_tools
 *   "allowed_prompts", "denied_prompts": the same for prompt names
 *   "allowed_resources", "denied_resources": the same for resource and template URIs
 *   "allowed_servers", "denied_servers": server names (globs), whole servers
 *   "requests_per_minute": token bucket, refilled continuously (0: unlimited)
 *   "concurrent_calls":    calls in flight at once (0: unlimited)
 *   "max_sessions":        sessions at once (0: the hub's own cap)
 *   "max_buffer_mib":      MiB its sessions' streams may hold for delivery and replay
 *                          (0: the hub's default, HUB_CLIENT_BUFFER_DEFAULT)
 * and an entry "*" whose fields are the defaults of every client not named
 * (and of every field a named client leaves out). Globs (fnmatch(3), no
 * flags) match the names clients see: tool and prompt names, resource and
 * template URIs, prefixed with the server when several are configured. A kind
 * without an allowed list is allowed whole (within the server lists).
 * Without a file, or for a client absent from it and without "*", all is
 * allowed and nothing is limited (the original project's behaviour).
 * Pure: no hub state; unit tested alone.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum users_kind {
        USERS_TOOLS,
        USERS_PROMPTS,
        USERS_RESOURCES, /* resources and resource templates, by URI */
        _USERS_KIND_MAX,
};

struct user_rules {
        char *client_id;                 /* "*" for the defaults */
        char *name;                      /* informational */
        char **allowed[_USERS_KIND_MAX]; /* NULL-terminated globs; NULL: all of that kind */
        char **denied[_USERS_KIND_MAX];  /* NULL-terminated globs; NULL: none */
        char **allowed_servers;          /* NULL: every server */
        char **denied_servers;
        uint32_t requests_per_minute; /* 0: unlimited */
        uint32_t concurrent_calls;    /* 0: unlimited */
        uint32_t max_sessions;        /* 0: the hub's cap */
        uint32_t max_buffer_mib;      /* 0: HUB_CLIENT_BUFFER_DEFAULT */
};

struct users {
        struct user_rules *v; /* sorted by client_id, the defaults not among them */
        size_t n;
        struct user_rules defaults; /* from "*", else everything allowed, no limit */
        char *path;                 /* NULL: no file */
};

typedef void (*users_warn_cb)(void *userdata, const char *message);

/*
 * Loads a users file. Returns 0, or -errno with a message in err naming the
 * file and the JSON path (or line and column for a syntax error): a client
 * entry that is not an object, a field of the wrong type, a glob list that
 * is not an array of non-empty strings, a limit that is not a whole number
 * from 0 to 1000000. Unknown fields are warned about and ignored.
 */
int users_load_file(const char *path, struct users *ret, char *err, size_t errlen,
                    users_warn_cb warn, void *userdata);
int users_load_string(const char *text, size_t len, const char *path, struct users *ret, char *err,
                      size_t errlen, users_warn_cb warn, void *userdata);
void users_done(struct users *u);

/* The rules of a client: its entry, the fields it leaves out filled from "*" (done at load
 * time), or the defaults. Never NULL. */
const struct user_rules *users_find(const struct users *u, const char *client_id);

/* May a client with rules r use this name of this kind (a tool or prompt name, a resource or
 * template URI, as clients see it) of this server? A denied server or a denied glob: no;
 * then the server must be allowed (when servers are listed) and the name match an allowed
 * glob (when that kind lists some). */
bool user_rules_allow(const struct user_rules *r, enum users_kind kind, const char *server,
                      const char *name);
/* May it use the server at all (server lists only)? */
bool user_rules_allow_server(const struct user_rules *r, const char *server);
