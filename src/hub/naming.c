/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/naming.h"

char *naming_name_out(const char *server, const char *name)
{
        char *s;

        if (asprintf(&s, "%s_%s", server, name) < 0)
                return NULL;
        return s;
}

char *naming_uri_out(const char *server, const char *uri)
{
        const char *sep = strstr(uri, "://");
        char *s;

        if (sep) {
                if (asprintf(&s, "%.*s://%s/%s", (int)(sep - uri), uri, server, sep + 3) < 0)
                        return NULL;
        } else if (asprintf(&s, "%s:%s", server, uri) < 0)
                return NULL;
        return s;
}

int naming_uri_in(const char *uri, const char *const *servers, size_t n, char **ret_orig)
{
        const char *sep = strstr(uri, "://");

        *ret_orig = NULL;
        if (sep) {
                const char *server = sep + 3, *slash = strchr(server, '/');
                size_t l = slash ? (size_t)(slash - server) : strlen(server);
                for (size_t i = 0; i < n; i++)
                        if (strlen(servers[i]) == l && strncmp(server, servers[i], l) == 0) {
                                if (asprintf(ret_orig, "%.*s://%s", (int)(sep - uri), uri,
                                             slash ? slash + 1 : "") < 0) {
                                        *ret_orig = NULL;
                                        return -ENOMEM;
                                }
                                return (int)i;
                        }
        }
        for (size_t i = 0; i < n; i++) {
                size_t l = strlen(servers[i]);
                if (strncmp(uri, servers[i], l) == 0 && uri[l] == ':' &&
                    strncmp(uri + l, "://", 3) != 0) {
                        *ret_orig = strdup(uri + l + 1);
                        return *ret_orig ? (int)i : -ENOMEM;
                }
        }
        return -ENOENT;
}
