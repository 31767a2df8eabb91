/* SPDX-License-Identifier: MIT */
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fd-util.h"

void fd_close_from(int lowest)
{
        struct rlimit rl;

        if (syscall(SYS_close_range, (unsigned)lowest, ~0U, 0) == 0)
                return;
        /* No close_range(2) (before Linux 5.9): up to the limit. */
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
            rl.rlim_cur > 1048576)
                rl.rlim_cur = 65536;
        for (rlim_t fd = (rlim_t)lowest; fd < rl.rlim_cur; fd++)
                (void)close((int)fd);
}
