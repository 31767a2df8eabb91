/* SPDX-License-Identifier: MIT */
/* The hub's journal sink for log.c: structured fields (MCP_UPSTREAM=, MCP_SESSION=). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "hub/log-journal.h"
#include "log.h"
#include "macro.h"

static int journal_sink(int level, const char *ident, const char *msg, const char *fields)
{
        struct iovec iov[16];
        char prio[32], id[128], m[4200], fbuf[1024];
        size_t n = 0;

        snprintf(prio, sizeof(prio), "PRIORITY=%d", level);
        snprintf(id, sizeof(id), "SYSLOG_IDENTIFIER=%s", ident);
        snprintf(m, sizeof(m), "MESSAGE=%s", msg);
        iov[n++] = (struct iovec){prio, strlen(prio)};
        iov[n++] = (struct iovec){id, strlen(id)};
        iov[n++] = (struct iovec){m, strlen(m)};
        if (fields) {
                char *save = NULL;
                snprintf(fbuf, sizeof(fbuf), "%s", fields);
                for (char *t = strtok_r(fbuf, "\n", &save); t && n < ELEMENTSOF(iov);
                     t = strtok_r(NULL, "\n", &save))
                        iov[n++] = (struct iovec){t, strlen(t)};
        }
        return sd_journal_sendv(iov, (int)n);
}

static bool enabled;

void log_journal_enable(void)
{
        log_set_journal_sink(journal_sink);
        enabled = true;
}

bool log_journal_enabled(void)
{
        return enabled;
}
