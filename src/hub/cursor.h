/* SPDX-License-Identifier: MIT */
/*
 * Opaque cursors for the aggregated lists: base64url("mcp-proxy:<list>:<offset>").
 * A cursor of another list, or anything we did not make, does not decode.
 * Pure: no hub state, unit tested alone.
 */
#pragma once

#include <stddef.h>

#define CURSOR_MAX 96

void cursor_encode(int kind, size_t offset, char out[CURSOR_MAX]);
/* 0, or -EINVAL when s is not a cursor of this list. */
int cursor_decode(const char *s, int kind, size_t *ret_offset);
