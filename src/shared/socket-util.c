/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "socket-util.h"

int unix_connect(const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

bool peer_in_group(int fd, const struct ucred *cred, gid_t gid)
{
        gid_t groups[64];
        socklen_t l = sizeof(groups);

        if (cred->gid == gid)
                return true;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &l) == 0)
                for (size_t i = 0; i < l / sizeof(gid_t); i++)
                        if (groups[i] == gid)
                                return true;
        return false;
}
