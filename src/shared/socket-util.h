/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

/* A blocking, close-on-exec AF_UNIX stream connection to path: the fd or -errno. */
int unix_connect(const char *path);
/* Is the peer of fd (credentials cred, from SO_PEERCRED) in group gid, as its primary
 * group or a supplementary one (SO_PEERGROUPS)? */
bool peer_in_group(int fd, const struct ucred *cred, gid_t gid);
