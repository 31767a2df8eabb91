/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "front/front.h"

uint64_t front_now_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

int front_writev_all(int fd, const struct iovec *iov_in, int n, int timeout_ms)
{
        struct iovec iov[8];
        int cnt = n > 8 ? 8 : n;
        int first = 0;
        uint64_t deadline = front_now_usec() + (uint64_t)timeout_ms * 1000;

        for (int i = 0; i < cnt; i++)
                iov[i] = iov_in[i];
        while (first < cnt) {
                ssize_t w = writev(fd, iov + first, cnt - first);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                struct pollfd p = {.fd = fd, .events = POLLOUT};
                                uint64_t now = front_now_usec();
                                int left;
                                if (now >= deadline)
                                        return -ETIMEDOUT;
                                left = (int)((deadline - now) / 1000) + 1;
                                if (poll(&p, 1, left) == 0)
                                        return -ETIMEDOUT;
                                continue;
                        }
                        return -errno;
                }
                while (first < cnt && (size_t)w >= iov[first].iov_len) {
                        w -= (ssize_t)iov[first].iov_len;
                        first++;
                }
                if (first < cnt) {
                        iov[first].iov_base = (char *)iov[first].iov_base + w;
                        iov[first].iov_len -= (size_t)w;
                }
        }
        return 0;
}

int front_write_all(int fd, const void *data, size_t len, int timeout_ms)
{
        struct iovec v = {.iov_base = (void *)(uintptr_t)data, .iov_len = len};
        return front_writev_all(fd, &v, 1, timeout_ms);
}
