/* SPDX-License-Identifier: MIT */
/* Reading a bounded file whole, writing one atomically, and positions in text. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

/*
 * Reads a whole file of at most max bytes, NUL-terminated. When the buffer
 * has to grow (the file changed under us, or is not a regular file), the old
 * one is wiped before it is freed: the key file holds secrets.
 */
int file_read_all(int fd, size_t max, char **ret, size_t *ret_len)
{
        struct stat st;
        size_t alloc, len = 0;
        char *data;
        int r;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (S_ISREG(st.st_mode) && st.st_size > (off_t)max)
                return -EFBIG;

        /* Regular files: room for the NUL and one byte more, so EOF is seen without growing. */
        alloc = S_ISREG(st.st_mode) ? (size_t)st.st_size + 2 : 4096;
        data = malloc(alloc);
        if (!data)
                return -ENOMEM;

        for (;;) {
                ssize_t n;

                if (len + 1 >= alloc) {
                        size_t na = MIN(alloc * 2, max + 2);
                        char *nd;

                        if (alloc >= max + 2) {
                                r = -EFBIG;
                                goto fail;
                        }
                        /* Not realloc: the old block is wiped before it goes back to the heap. */
                        nd = malloc(na);
                        if (!nd) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        memcpy(nd, data, len);
                        explicit_bzero(data, len);
                        free(data);
                        data = nd;
                        alloc = na;
                }
                n = read(fd, data + len, alloc - 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        goto fail;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > max) {
                        r = -EFBIG;
                        goto fail;
                }
        }
        data[len] = '\0';
        *ret = data;
        *ret_len = len;
        return 0;

fail:
        explicit_bzero(data, len);
        free(data);
        return r;
}

void text_line_column(const char *text, size_t upto, unsigned *ret_line, unsigned *ret_col)
{
        unsigned line = 1, col = 1;

        for (size_t i = 0; i < upto; i++) {
                if (text[i] == '\n') {
                        line++;
                        col = 1;
                } else
                        col++;
        }
        *ret_line = line;
        *ret_col = col;
}

int file_write_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
        return file_write_atomic_owned(path, data, len, mode, -1, -1);
}

int file_write_atomic_owned(const char *path, const void *data, size_t len, unsigned mode, long uid,
                            long gid)
{
        char tmp[4096];
        const char *p = data;
        int fd, r = 0, n;

        n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
        if (n < 0 || (size_t)n >= sizeof(tmp))
                return -ENAMETOOLONG;
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, (mode_t)mode);
        if (fd < 0 && errno == EEXIST) {
                /* Left by an earlier process of ours that died: ours to replace. */
                (void)unlink(tmp);
                fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, (mode_t)mode);
        }
        if (fd < 0)
                return -errno;
        while (len > 0) {
                ssize_t w = write(fd, p, len);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                p += w;
                len -= (size_t)w;
        }
        if (r == 0 && (uid >= 0 || gid >= 0) &&
            fchown(fd, uid >= 0 ? (uid_t)uid : (uid_t)-1, gid >= 0 ? (gid_t)gid : (gid_t)-1) < 0)
                r = -errno;
        if (r == 0 && fchmod(fd, (mode_t)mode) < 0)
                r = -errno;
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                (void)unlink(tmp);
        return r;
}
