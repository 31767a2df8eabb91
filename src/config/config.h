/* SPDX-License-Identifier: MIT */
/*
 * The upstream configuration file: Claude's {"mcpServers": {NAME: {...}}}
 * format, with ${VAR} and ${VAR:-default} expanded in every string value
 * (not in keys), then validated. Errors name the file, the JSON path and
 * the problem: "/etc/mcp-proxy/mcp_config.json: $.mcpServers.files.args[1]:
 * expected a string or a number".
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum upstream_transport {
        TRANSPORT_STDIO,
        TRANSPORT_HTTP, /* "http" or "streamable-http" */
        TRANSPORT_SSE,
        TRANSPORT_AUTO, /* url without "transport": detect at connect time */
        _TRANSPORT_MAX,
        _TRANSPORT_INVALID = -22,
};

const char *transport_to_string(enum upstream_transport t);

/* Who shares an upstream session ("isolation"). */
enum isolation {
        ISOLATION_SHARED,  /* one for all clients */
        ISOLATION_CLIENT,  /* one per client id */
        ISOLATION_SESSION, /* one per client session */
        _ISOLATION_MAX,
        _ISOLATION_INVALID = -22,
};

const char *isolation_to_string(enum isolation i);
enum isolation isolation_from_string(const char *s);

struct server_config {
        char *name; /* [A-Za-z0-9_.-]{1,64} */
        enum upstream_transport transport;
        /* stdio */
        char *command;
        char **args; /* NULL-terminated; numbers are converted to strings */
        char **env;  /* NULL-terminated "KEY=value" */
        char *cwd;
        /* remote */
        char *url;
        char **headers; /* NULL-terminated "Name: value" */
        /* timeouts in milliseconds (config values are seconds, may be fractional) */
        int64_t startup_timeout_ms;     /* "startupTimeout", default STARTUP_TIMEOUT_MS_DEFAULT */
        int64_t request_timeout_ms;     /* "timeout", default REQUEST_TIMEOUT_MS_DEFAULT */
        int64_t max_request_timeout_ms; /* "maxTimeout", default REQUEST_MAX_TIMEOUT_MS */
        int64_t connect_timeout_ms;     /* "connectTimeout", default CONNECT_TIMEOUT_MS_DEFAULT */
        int max_restarts;               /* "maxRestarts"; -1 = the global default */
        bool disabled;                  /* "disabled": true skips the server */
        /* upstream instances */
        enum isolation isolation; /* "isolation"; default: client (stdio), session (remote) */
        int64_t idle_timeout_ms;  /* "idleTimeout", default INSTANCE_IDLE_MS_DEFAULT */
        int max_instances;        /* "maxInstances", default INSTANCE_MAX_DEFAULT */
        int max_concurrency;      /* "maxConcurrency": requests in flight per process, 0 none */
        /* roots the hub answers roots/list with ("roots"): file:// URIs and names ("" none) */
        char **roots;
        char **root_names;
        bool forward_roots; /* "forwardRoots": a client's own roots reach its own instance */
        /* sha256 hex of the server's normalised, expanded config (its identity on reload) */
        char hash[65];
};

struct config {
        char *path;
        struct server_config *servers; /* in file order; disabled ones included */
        size_t n_servers;
};

/* Receives a warning such as "…: $.mcpServers.x.foo: unknown key, ignoring"
 * or "…: $.mcpServers.x.env.TOKEN: environment variable ${TOKEN} is not set,
 * using an empty string". */
typedef void (*config_warn_cb)(void *userdata, const char *message);

/*
 * Loads and validates a file. Returns 0, or -errno with a message in
 * err[0..errlen): -ENOENT/-EACCES (cannot open), -EFBIG (over
 * CONFIG_FILE_MAX), -EBADMSG (JSON syntax error, with line and column),
 * -EINVAL (validation error, with the JSON path).
 */
int config_load_file(const char *path, struct config *ret, char *err, size_t errlen,
                     config_warn_cb warn, void *userdata);
/* Same for text in memory; path is used in messages only. */
int config_load_string(const char *text, size_t len, const char *path, struct config *ret,
                       char *err, size_t errlen, config_warn_cb warn, void *userdata);
void config_done(struct config *c);
/* A deep copy of one server's config into ret (zeroed on failure): 0 or -ENOMEM. */
int server_config_copy(const struct server_config *src, struct server_config *ret);
/* Frees what a server_config holds (secrets wiped) and zeroes it. */
void server_config_done(struct server_config *s);

/*
 * Expands ${NAME} and ${NAME:-default} (NAME = [A-Za-z_][A-Za-z0-9_]*) in s
 * using getenv. Shell semantics: the default applies when NAME is unset or
 * empty. "$NAME" without braces and a lone '$' are left alone; "$$" is a
 * literal '$' only when followed by '{' ("$${X}" gives "${X}"). An unset
 * NAME without default expands to "" and calls warn with the name.
 * Returns a malloc'd string, or NULL on OOM or an unterminated "${"
 * (errno EINVAL).
 */
char *config_expand(const char *s, void (*unset_cb)(void *userdata, const char *name),
                    void *userdata);
