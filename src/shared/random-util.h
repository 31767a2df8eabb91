/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/* Fills p with len bytes from getrandom(2) (the kernel's CSPRNG, blocking until it is
 * seeded). 0 or -errno. */
int random_bytes(void *p, size_t len);
