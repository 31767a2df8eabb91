/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for src/config/users.c. Beyond "no crash" it checks the
 * contract: the error message is always NUL-terminated (also in a tiny
 * buffer), a failed load leaves the struct zeroed, a successful one holds
 * sorted valid client ids and bounded lists, every client is found by
 * users_find(), and the rules answer without crashing for a few names.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/users.h"
#include "mcp-limits.h"
#include "strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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

static void check_globs(char **v)
{
        if (!v)
                return;
        check(strv_length(v) <= USERS_GLOBS_MAX);
        for (; *v; v++)
                check(**v && strlen(*v) <= USERS_GLOB_MAX_LEN);
}

static void check_rules(const struct user_rules *r)
{
        static const char *const names[] = {"fs_read", "x", "file:///a/b", ""};

        check(r->client_id && *r->client_id && strlen(r->client_id) <= CLIENT_ID_MAX_LEN);
        for (int k = 0; k < _USERS_KIND_MAX; k++) {
                check_globs(r->allowed[k]);
                check_globs(r->denied[k]);
                for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                        (void)user_rules_allow(r, (enum users_kind)k, "fs", names[i]);
        }
        check_globs(r->allowed_servers);
        check_globs(r->denied_servers);
        (void)user_rules_allow_server(r, "fs");
        check(r->requests_per_minute <= USERS_LIMIT_MAX && r->concurrent_calls <= USERS_LIMIT_MAX &&
              r->max_sessions <= USERS_LIMIT_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct users u, again;
        char err[256], tiny[8];
        int r, r2;

        memset(err, 'x', sizeof(err));
        r = users_load_string((const char *)data, size, "fuzz.json", &u, err, sizeof(err),
                              ignore_warning, NULL);
        check(memchr(err, '\0', sizeof(err)) != NULL);

        memset(tiny, 'x', sizeof(tiny));
        r2 = users_load_string((const char *)data, size, "fuzz.json", &again, tiny, sizeof(tiny),
                               NULL, NULL);
        check(memchr(tiny, '\0', sizeof(tiny)) != NULL);
        check(r == r2);

        if (r < 0) {
                check(r == -EINVAL || r == -EBADMSG || r == -EFBIG || r == -ENOMEM);
                check(err[0] != '\0');
                check(is_zero(&u, sizeof(u)));
                check(is_zero(&again, sizeof(again)));
                return 0;
        }
        check(r == 0 && err[0] == '\0');
        check(u.n <= USERS_MAX_CLIENTS && u.n == again.n);
        check(strcmp(u.defaults.client_id, "*") == 0);
        check_rules(&u.defaults);
        for (size_t i = 0; i < u.n; i++) {
                check_rules(&u.v[i]);
                check(i == 0 || strcmp(u.v[i - 1].client_id, u.v[i].client_id) < 0);
                check(users_find(&u, u.v[i].client_id) == &u.v[i]);
        }
        check(users_find(&u, "*") == &u.defaults);
        users_done(&u);
        users_done(&again);
        check(is_zero(&u, sizeof(u)));
        return 0;
}
