/* SPDX-License-Identifier: MIT */
/*
 * mcp-proxyctl: the operator's command line. Reading verbs talk to the
 * hub's control socket (src/hub/control.c) with the front-hub wire's "ctl"
 * envelope and print tables on a terminal or JSON with --json; check-config
 * and the key verbs work offline, with the same parsers the hub and the
 * fronts use. Exit status: 0 success, 1 failure, 2 usage.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

enum {
        EXIT_OK = 0,
        EXIT_FAIL = 1,
        EXIT_USAGE = 2,
};

struct ctl {
        bool json;
        bool color;
        const char *socket_path;
        const char *client;  /* --client */
        const char *expires; /* --expires */
        const char *scopes;  /* --scopes */
        const char *keys;    /* --keys: the key file */
        const char *users;   /* --users: the users file */
        char **args;         /* the verb's arguments */
        int n_args;
};

/* One line on stderr, "mcp-proxyctl: ...". Returns EXIT_FAIL. */
int ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same for a usage error. Returns EXIT_USAGE. */
int ctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints j pretty on stdout. */
void ctl_print_json(const cJSON *j);

/* ---- output.c: tables ---- */
struct table;
struct table *table_new(const struct ctl *x, const char *const *headers, int n_cols);
/* Adds a row of n_cols cells (NULL prints "-"); state: the cell to colour by state, -1. */
void table_row(struct table *t, const char *const *cells, int state_col);
void table_print(struct table *t);
void table_free(struct table *t);
/* "3d 4h", "2h 3m", "45s" into buf. */
const char *format_duration(double seconds, char *buf, size_t len);
const char *color_on(const struct ctl *x, const char *seq);
const char *color_off(const struct ctl *x);

/* ---- hubctl.c: verbs answered by the running hub ---- */
/* Sends {"op":"ctl","cmd":cmd,"args":args} (takes args, may be NULL); *ret the answer body
 * when it said ok. Returns EXIT_OK, or EXIT_FAIL after printing the error. */
int hub_command(const struct ctl *x, const char *cmd, cJSON *args, cJSON **ret);
int verb_status(struct ctl *x);
int verb_servers(struct ctl *x);
int verb_instances(struct ctl *x);
int verb_sessions(struct ctl *x);
int verb_tools(struct ctl *x);
int verb_reload(struct ctl *x);
int verb_restart(struct ctl *x);
int verb_call(struct ctl *x);

/* ---- keys.c: offline verbs ---- */
int verb_check_config(struct ctl *x);
int verb_key(struct ctl *x);
