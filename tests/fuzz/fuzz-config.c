/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for src/config/config.c. Beyond "no crash" it checks the
 * contract: the error message is always NUL-terminated (also in a tiny
 * buffer), a failed load leaves the struct zeroed, a successful one holds
 * only valid servers, and loading the same text twice gives the same
 * result and the same hashes. It also runs config_expand on the input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "mcp-limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_EXPAND_MAX 4096

static void check(bool ok)
{
        if (!ok)
                abort();
}

static void ignore_warning(void *userdata, const char *message)
{
        check(message != NULL);
}

static bool is_zero(const void *p, size_t n)
{
        const unsigned char *b = p;
        for (size_t i = 0; i < n; i++)
                if (b[i])
                        return false;
        return true;
}

static void check_strv(char **v)
{
        if (!v)
                return;
        for (; *v; v++)
                check(strlen(*v) <= CONFIG_FILE_MAX);
}

static void check_config(const struct config *c)
{
        check(c->path && strcmp(c->path, "fuzz.json") == 0);
        check(c->n_servers >= 1 && c->n_servers <= CONFIG_MAX_SERVERS);
        for (size_t i = 0; i < c->n_servers; i++) {
                const struct server_config *s = &c->servers[i];
                size_t n = strlen(s->name);

                check(n >= 1 && n <= CONFIG_SERVER_NAME_MAX);
                check(strspn(s->name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789_.-") == n);
                check(transport_to_string(s->transport) != NULL);
                check(!s->command != !s->url);
                check((s->transport == TRANSPORT_STDIO) == !!s->command);
                check(!s->args || s->command);
                check(!s->headers || s->url);
                check(!s->env || s->command);
                check(s->startup_timeout_ms > 0 && s->request_timeout_ms > 0 &&
                      s->connect_timeout_ms > 0);
                check(s->max_request_timeout_ms >= s->request_timeout_ms);
                check(s->max_restarts >= -1);
                check(strlen(s->hash) == 64 && strspn(s->hash, "0123456789abcdef") == 64);
                check_strv(s->args);
                check_strv(s->env);
                check_strv(s->headers);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct config c, again;
        char err[256], tiny[8];
        int r, r2;

        memset(err, 'x', sizeof(err));
        r = config_load_string((const char *)data, size, "fuzz.json", &c, err, sizeof(err),
                               ignore_warning, NULL);
        check(memchr(err, '\0', sizeof(err)) != NULL);

        memset(tiny, 'x', sizeof(tiny));
        r2 = config_load_string((const char *)data, size, "fuzz.json", &again, tiny, sizeof(tiny),
                                NULL, NULL);
        check(memchr(tiny, '\0', sizeof(tiny)) != NULL);
        check(r == r2);

        if (r < 0) {
                check(r == -EINVAL || r == -EBADMSG || r == -EFBIG || r == -ENOMEM);
                check(err[0] != '\0');
                check(is_zero(&c, sizeof(c)));
                check(is_zero(&again, sizeof(again)));
        } else {
                check(r == 0);
                check(err[0] == '\0');
                check_config(&c);
                check(c.n_servers == again.n_servers);
                for (size_t i = 0; i < c.n_servers; i++)
                        check(strcmp(c.servers[i].hash, again.servers[i].hash) == 0);
                config_done(&c);
                config_done(&again);
                check(is_zero(&c, sizeof(c)));
        }

        /* The expander on its own, on a NUL-terminated copy. */
        if (size <= FUZZ_EXPAND_MAX) {
                char *s = malloc(size + 1), *e;

                if (!s)
                        return 0;
                memcpy(s, data, size);
                s[size] = '\0';
                errno = 0;
                e = config_expand(s, NULL, NULL);
                check(e || errno == EINVAL || errno == ENOMEM || errno == E2BIG);
                free(e);
                free(s);
        }
        return 0;
}
