/* SPDX-License-Identifier: MIT */
/*
 * The front's settings, from the environment, read once per process; the
 * key file is read again whenever stat() shows it changed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "front/front.h"
#include "mcp-limits.h"
#include "log.h"
#include "strv.h"

static void key_warn(void *userdata, const char *message)
{
        log_warning("%s", message);
}

static void key_file_id_get(const char *path, struct front_key_file_id *ret)
{
        struct stat st;

        if (stat(path, &st) < 0) {
                *ret = (struct front_key_file_id){.error = errno};
                return;
        }
        *ret = (struct front_key_file_id){
            .dev = st.st_dev,
            .ino = st.st_ino,
            .size = st.st_size,
            .mtime = st.st_mtim,
            .ctime = st.st_ctim, /* chmod, chown: the file may have become unreadable */
        };
}

static bool key_file_id_equal(const struct front_key_file_id *a, const struct front_key_file_id *b)
{
        return a->error == b->error && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
               a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
               a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/*
 * Builds the keyring anew: MCP_API_KEYS (warned about on the first load
 * only), then the key file, whose identity is taken before it is read so
 * that a change while reading shows at the next check. A file that cannot
 * be loaded contributes no key: a revoked key must not survive a broken
 * edit.
 */
static void keys_load(struct front_settings *s, bool first)
{
        struct keyring kr = {};
        const char *v = getenv("MCP_API_KEYS");
        int r;

        if (v && *v)
                (void)keyring_add_env(&kr, v, first ? key_warn : NULL, NULL);
        if (s->keys_path) {
                key_file_id_get(s->keys_path, &s->keys_file_id);
                r = keyring_add_file(&kr, s->keys_path, key_warn, NULL);
                if (r < 0 && first)
                        log_error_errno(r, "cannot load API keys from '%s': %m", s->keys_path);
                else if (r < 0)
                        log_error_errno(r,
                                        "'%s' changed and cannot be loaded: %m; none of its keys "
                                        "is accepted",
                                        s->keys_path);
                else if (!first)
                        log_info("'%s' changed: %d API keys loaded from it", s->keys_path, r);
        }
        keyring_done(&s->keys);
        s->keys = kr;
        if (s->keys.n_keys > 0 && s->auth_disabled) {
                log_warning("MCP_DISABLE_AUTH is set but API keys are configured: "
                            "authentication stays on");
                s->auth_disabled = false;
        }
}

void front_settings_refresh_keys(struct front_settings *s)
{
        struct front_key_file_id id;

        if (!s->keys_path)
                return;
        key_file_id_get(s->keys_path, &id);
        if (!key_file_id_equal(&id, &s->keys_file_id))
                keys_load(s, false);
}

static size_t env_size(const char *name, size_t def, size_t min, size_t max)
{
        const char *v = getenv(name);
        char *end;
        unsigned long long n;

        if (!v || !*v)
                return def;
        errno = 0;
        n = strtoull(v, &end, 10);
        if (errno || *end || n < min || n > max) {
                log_warning("%s='%s' is not a number in %zu..%zu, using %zu", name, v, min, max,
                            def);
                return def;
        }
        return (size_t)n;
}

static int env_seconds_ms(const char *name, int def_ms)
{
        const char *v = getenv(name);
        char *end;
        double d;

        if (!v || !*v)
                return def_ms;
        errno = 0;
        d = strtod(v, &end);
        if (errno || *end || d <= 0 || d > 86400) {
                log_warning("%s='%s' is not a number of seconds, using %d", name, v, def_ms / 1000);
                return def_ms;
        }
        return (int)(d * 1000);
}

/* Split "a, b,c" into a NULL-terminated list of trimmed entries. */
static char **split_list(const char *v)
{
        size_t n = 1, k = 0;
        char **list;
        const char *p;

        if (!v || !*v)
                return NULL;
        for (p = v; *p; p++)
                if (*p == ',')
                        n++;
        list = calloc(n + 1, sizeof(char *));
        if (!list)
                return NULL;
        p = v;
        for (;;) {
                const char *e = strchr(p, ',');
                size_t l = e ? (size_t)(e - p) : strlen(p);
                while (l > 0 && (*p == ' ' || *p == '\t'))
                        p++, l--;
                while (l > 0 && (p[l - 1] == ' ' || p[l - 1] == '\t' || p[l - 1] == '/'))
                        l--;
                if (l > 0)
                        list[k++] = strndup(p, l);
                if (!e)
                        break;
                p = e + 1;
        }
        return list;
}

int front_settings_load(struct front_settings *s)
{
        const char *v, *rd;

        *s = (struct front_settings){};
        v = getenv("MCP_LOG_LEVEL");
        if (v && *v) {
                int l = log_level_from_string(v);
                if (l < 0)
                        log_warning("invalid MCP_LOG_LEVEL '%s', using info", v);
                else
                        log_set_max_level(l);
        }
        s->max_header =
            env_size("MCP_HTTP_MAX_HEADER_BYTES", HTTP_MAX_HEADER_BYTES_DEFAULT, 1024, 1024 * 1024);
        s->max_body = env_size("MCP_HTTP_MAX_BODY_BYTES", HTTP_MAX_BODY_BYTES_DEFAULT, 1024,
                               256 * 1024 * 1024);
        s->idle_ms = env_seconds_ms("MCP_HTTP_IDLE_TIMEOUT", HTTP_IDLE_TIMEOUT_MS_DEFAULT);
        s->read_ms = env_seconds_ms("MCP_HTTP_READ_TIMEOUT", HTTP_READ_TIMEOUT_MS_DEFAULT);
        s->head_ms =
            env_seconds_ms("MCP_HTTP_FIRST_REQUEST_TIMEOUT", HTTP_FIRST_REQUEST_TIMEOUT_MS_DEFAULT);
        s->listen_max_idle = (unsigned)env_size("MCP_LISTEN_MAX_IDLE",
                                                FRONT_LISTEN_MAX_IDLE_DEFAULT, 1, 1024 * 1024);

        v = getenv("MCP_HUB_SOCKET");
        rd = getenv("RUNTIME_DIRECTORY");
        if (v && *v)
                s->hub_socket = strdup(v);
        else if (rd && *rd) {
                size_t l = strcspn(rd, ":");
                if (asprintf(&s->hub_socket, "%.*s/%s", (int)l, rd, HUB_SOCKET_NAME) < 0)
                        s->hub_socket = NULL;
        } else
                s->hub_socket = strdup(HUB_SOCKET_DEFAULT);

        v = getenv("MCP_PATH_PREFIX");
        if (v && *v) {
                /* "x", "/x", "/x/" all mean "/x/mcp". */
                while (*v == '/')
                        v++;
                size_t l = strlen(v);
                while (l > 0 && v[l - 1] == '/')
                        l--;
                if (asprintf(&s->mcp_path, l ? "/%.*s/mcp" : "/mcp", (int)l, v) < 0)
                        s->mcp_path = NULL;
                if (asprintf(&s->sse_path, l ? "/%.*s/sse" : "/sse", (int)l, v) < 0)
                        s->sse_path = NULL;
                if (asprintf(&s->messages_path, l ? "/%.*s/messages" : "/messages", (int)l, v) < 0)
                        s->messages_path = NULL;
        } else {
                s->mcp_path = strdup("/mcp");
                s->sse_path = strdup("/sse");
                s->messages_path = strdup("/messages");
        }
        if (!s->hub_socket || !s->mcp_path || !s->sse_path || !s->messages_path)
                return log_error_errno(ENOMEM, "out of memory");

        s->allowed_origins = split_list(getenv("MCP_ALLOWED_ORIGINS"));
        s->allowed_hosts = split_list(getenv("MCP_ALLOWED_HOSTS"));

        s->auth_disabled = env_is_true(getenv("MCP_DISABLE_AUTH"));
        v = getenv("MCP_API_KEYS_PATH");
        if (v && *v) {
                s->keys_path = strdup(v);
                if (!s->keys_path)
                        return log_error_errno(ENOMEM, "out of memory");
        }
        /* Once keys are configured, auth_disabled stays false for good (fail closed). */
        keys_load(s, true);
        if (s->auth_disabled)
                log_debug("authentication is DISABLED (MCP_DISABLE_AUTH): anyone who can "
                          "connect may use every upstream");
        return 0;
}

void front_settings_done(struct front_settings *s)
{
        keyring_done(&s->keys);
        free(s->keys_path);
        free(s->hub_socket);
        free(s->mcp_path);
        free(s->sse_path);
        free(s->messages_path);
        strv_free(s->allowed_origins);
        strv_free(s->allowed_hosts);
}
