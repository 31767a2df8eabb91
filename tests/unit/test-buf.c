/* SPDX-License-Identifier: MIT */
/* buf_flush_fd: everything out, a full pipe (EAGAIN) keeps the rest, errors as -errno. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "harness.h"

#define BIG (1024 * 1024)

static size_t drain(int fd)
{
        char tmp[65536];
        size_t total = 0;
        ssize_t n;

        while ((n = read(fd, tmp, sizeof(tmp))) > 0)
                total += (size_t)n;
        return total;
}

TEST(flush_empty)
{
        struct buf b;

        buf_init(&b, 16);
        ASSERT_EQ(buf_flush_fd(&b, -1, false), 0); /* nothing to write: fd untouched */
        buf_done(&b);
}

TEST(flush_all_pipe)
{
        struct buf b;
        char out[8] = {};
        int p[2];

        ASSERT_OK(pipe2(p, O_NONBLOCK | O_CLOEXEC));
        buf_init(&b, 64);
        ASSERT_OK(buf_append_str(&b, "hello"));
        ASSERT_EQ(buf_flush_fd(&b, p[1], false), 0);
        ASSERT_EQ(buf_avail(&b), 0);
        ASSERT_EQ(read(p[0], out, sizeof(out)), 5);
        ASSERT_STREQ(out, "hello");
        buf_done(&b);
        close(p[0]);
        close(p[1]);
}

TEST(flush_full_pipe_keeps_rest)
{
        struct buf b;
        char *w;
        size_t left, got;
        int p[2];

        ASSERT_OK(pipe2(p, O_NONBLOCK | O_CLOEXEC));
        buf_init(&b, BIG);
        w = buf_reserve(&b, BIG);
        ASSERT_NOT_NULL(w);
        memset(w, 'x', BIG);
        buf_commit(&b, BIG);

        ASSERT_EQ(buf_flush_fd(&b, p[1], false), 0);
        left = buf_avail(&b);
        ASSERT_TRUE(left > 0 && left < BIG);
        got = drain(p[0]);
        ASSERT_EQ(got + left, BIG);
        while (buf_avail(&b) > 0) {
                ASSERT_EQ(buf_flush_fd(&b, p[1], false), 0);
                got += drain(p[0]);
        }
        ASSERT_EQ(got, BIG);
        buf_done(&b);
        close(p[0]);
        close(p[1]);
}

TEST(flush_socket)
{
        struct buf b;
        char out[8] = {};
        int s[2];

        ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, s));
        buf_init(&b, 64);
        ASSERT_OK(buf_append_str(&b, "abc"));
        ASSERT_EQ(buf_flush_fd(&b, s[0], true), 0);
        ASSERT_EQ(buf_avail(&b), 0);
        ASSERT_EQ(read(s[1], out, sizeof(out)), 3);
        ASSERT_STREQ(out, "abc");

        /* The peer is gone: -EPIPE, and no SIGPIPE kills us. */
        close(s[1]);
        ASSERT_OK(buf_append_str(&b, "def"));
        ASSERT_EQ(buf_flush_fd(&b, s[0], true), -EPIPE);
        ASSERT_EQ(buf_avail(&b), 3);
        buf_done(&b);
        close(s[0]);
}

TEST(flush_bad_fd)
{
        struct buf b;

        buf_init(&b, 64);
        ASSERT_OK(buf_append_str(&b, "x"));
        ASSERT_EQ(buf_flush_fd(&b, -1, false), -EBADF);
        ASSERT_EQ(buf_flush_fd(&b, -1, true), -EBADF);
        ASSERT_EQ(buf_avail(&b), 1);
        buf_done(&b);
}

/* buf_shrink: an emptied buffer above keep gives its memory back and still works; one
 * with bytes in it, or small enough, keeps it. */
TEST(shrink)
{
        struct buf b;
        char big[4096];

        memset(big, 'x', sizeof(big));
        buf_init(&b, 1 << 20);
        ASSERT_OK(buf_append(&b, big, sizeof(big)));
        buf_shrink(&b, 1024);
        ASSERT_TRUE(b.alloc >= sizeof(big)); /* not empty: kept */
        buf_consume(&b, 100);
        buf_shrink(&b, 1024);
        ASSERT_TRUE(b.alloc >= sizeof(big));
        buf_consume(&b, sizeof(big));
        ASSERT_EQ(buf_avail(&b), 0);
        buf_shrink(&b, 1 << 20); /* under keep: kept */
        ASSERT_TRUE(b.alloc >= sizeof(big));
        buf_shrink(&b, 1024);
        ASSERT_EQ(b.alloc, 0);
        ASSERT_TRUE(b.data == NULL);
        ASSERT_EQ(b.max, 1 << 20); /* the cap stays */
        ASSERT_OK(buf_append_str(&b, "again"));
        ASSERT_EQ(buf_avail(&b), 5);
        ASSERT_TRUE(strcmp(buf_head(&b), "again") == 0);
        buf_done(&b);
}

HARNESS_MAIN()
