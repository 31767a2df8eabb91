/* SPDX-License-Identifier: MIT */
/*
 * The socket-activation protocol (sd_listen_fds(3)) without libsystemd:
 * the front links only libc and cJSON, which keeps its exec cheap (each
 * shared library costs time at every connection under Accept=yes).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "front/front.h"

int front_listen_fds(void)
{
        const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
        char *end;
        long p, n;
        int r = 0;

        if (!pid || !fds)
                goto out;
        errno = 0;
        p = strtol(pid, &end, 10);
        if (errno || *end || p != (long)getpid())
                goto out;
        n = strtol(fds, &end, 10);
        if (errno || *end || n < 0 || n > 64) {
                r = -EINVAL;
                goto out;
        }
        for (int fd = FRONT_LISTEN_FDS_START; fd < FRONT_LISTEN_FDS_START + n; fd++)
                (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
        r = (int)n;
out:
        /* Like sd_listen_fds(true): children must not inherit the variables. */
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_FDNAMES");
        return r;
}

int front_fd_is_listening_stream(int fd)
{
        int type = 0, acc = 0;
        socklen_t l = sizeof(type);

        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0)
                return -errno;
        if (type != SOCK_STREAM)
                return -ENOTSOCK;
        l = sizeof(acc);
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l) < 0)
                return -errno;
        return acc ? 1 : 0;
}
