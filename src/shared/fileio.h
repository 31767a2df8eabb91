/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/*
 * Reads all of fd, at most max bytes, into a malloc'd NUL-terminated buffer. A buffer that
 * has to grow is wiped before it is freed (key files hold secrets). Returns 0, -EFBIG past
 * max, -EISDIR, or -errno.
 */
int file_read_all(int fd, size_t max, char **ret, size_t *ret_len);
/* The 1-based line and column of offset upto in text. */
void text_line_column(const char *text, size_t upto, unsigned *ret_line, unsigned *ret_col);
/*
 * Replaces path with data atomically: a temporary file beside it (mode, O_EXCL), written,
 * fsync()ed, renamed over path. A reader sees the old content or the new, never half.
 * Returns 0 or -errno (the temporary file is removed).
 */
int file_write_atomic(const char *path, const void *data, size_t len, unsigned mode);
/* The same, the new file owned by uid and gid (each -1: left as created). */
int file_write_atomic_owned(const char *path, const void *data, size_t len, unsigned mode, long uid,
                            long gid);
