/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdint.h>
#include <sys/random.h>

#include "random-util.h"

int random_bytes(void *p, size_t len)
{
        uint8_t *b = p;
        size_t got = 0;

        while (got < len) {
                ssize_t n = getrandom(b + got, len - got, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                got += (size_t)n;
        }
        return 0;
}
