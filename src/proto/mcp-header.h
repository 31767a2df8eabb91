/* SPDX-License-Identifier: MIT */
/*
 * 2026-07-28 request headers that repeat the body (streamable-http §6): Mcp-Method, Mcp-Name
 * and Mcp-Param-{Name}. Values are compared case-sensitively after trimming surrounding
 * white space; a value wholly wrapped as =?base64?<standard base64>?= is that base64 decoded
 * (strictly: padding required, no stray characters), anything else is literal.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * Decodes a header value (len bytes, not NUL-terminated) into a malloc'd NUL-terminated
 * string in *ret. Returns 0, -EINVAL for a malformed base64 sentinel (or a decoded value
 * holding a NUL byte), -ENOMEM.
 */
int mcp_header_value_decode(const char *value, size_t len, char **ret);
/*
 * The header value that carries value (NUL-terminated): itself when it is visible ASCII
 * with at most inner spaces, else its =?base64?...?= sentinel. A malloc'd string in *ret;
 * 0 or -ENOMEM.
 */
int mcp_header_value_encode(const char *value, char **ret);
