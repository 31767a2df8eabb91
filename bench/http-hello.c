/* SPDX-License-Identifier: MIT */
/*
 * http-hello: the floor for a cold connection under socket activation. Run as
 * `systemd-socket-activate --accept --inetd -l ADDR http-hello`: it reads one
 * request head from stdin, answers a fixed 200 JSON body on stdout, and exits.
 * mcp-load --mode health-cold against it measures accept + fork + exec of a
 * small C program + one HTTP exchange, which every front start pays too.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_MAX   16384
#define TIMEOUT_MS 5000

static int read_head(int fd)
{
        char buf[HEAD_MAX];
        size_t n = 0;

        while (n < sizeof(buf)) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                ssize_t k;

                if (poll(&p, 1, TIMEOUT_MS) <= 0)
                        return -ETIMEDOUT;
                k = read(fd, buf + n, sizeof(buf) - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -EPIPE;
                n += (size_t)k;
                if (memmem(buf, n, "\r\n\r\n", 4))
                        return 0;
        }
        return -E2BIG;
}

int main(void)
{
        static const char body[] = "{\"status\":\"healthy\",\"service\":\"http-hello\"}";
        char resp[256];
        int n;

        if (read_head(0) < 0)
                return 1;
        n = snprintf(resp, sizeof(resp),
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     sizeof(body) - 1, body);
        if (n < 0 || (size_t)n >= sizeof(resp))
                return 1;
        for (int off = 0; off < n;) {
                ssize_t k = write(1, resp + off, (size_t)(n - off));
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return 1;
                }
                off += (int)k;
        }
        /* Half-close and wait for the client's close, so unread bytes cause no reset. */
        (void)shutdown(1, SHUT_WR);
        struct pollfd p = {.fd = 0, .events = POLLIN};
        char sink[512];
        for (int i = 0; i < 64 && poll(&p, 1, TIMEOUT_MS) > 0; i++)
                if (read(0, sink, sizeof(sink)) <= 0)
                        break;
        return 0;
}
