/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>
#include <time.h>

#define USEC_PER_MSEC 1000ULL
#define USEC_PER_SEC  1000000ULL

/* CLOCK_MONOTONIC in microseconds. */
static inline uint64_t now_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}
