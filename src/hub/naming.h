/* SPDX-License-Identifier: MIT */
/*
 * Client-visible names when several servers are aggregated (FastMCP's
 * convention): tools and prompts "<server>_<name>", resource URIs
 * "<scheme>://<server>/<rest>", a URI without "://" "<server>:<uri>"; and the
 * way back from a client URI to the server and its own URI. Pure: unit
 * tested alone. With one server, nothing is renamed (the caller's choice).
 */
#pragma once

#include <stddef.h>

/* malloc'd; NULL on OOM. */
char *naming_name_out(const char *server, const char *name);
char *naming_uri_out(const char *server, const char *uri);
/* The index in servers[0..n) that uri names, with *ret_orig the URI as that server
 * knows it (malloc'd); -ENOENT when it names none, -ENOMEM. */
int naming_uri_in(const char *uri, const char *const *servers, size_t n, char **ret_orig);
