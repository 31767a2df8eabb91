/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"

static const char *log_ident = "mcp-proxy";
static int log_max_level = LOG_INFO;
static log_journal_sink_t log_journal;
/* 1: "<N>" prefixes for systemd, 0: level words for people, -1: not decided yet. */
static int log_priority_prefix = -1;

/* $JOURNAL_STREAM is set when systemd connected stderr to the journal (or a
 * stream it reads), which parses "<N>" prefixes; anywhere else a person reads. */
static bool journal_stream_set(void)
{
        const char *e = getenv("JOURNAL_STREAM");
        return e && *e;
}

void log_setup(const char *ident)
{
        log_ident = ident;
        log_priority_prefix = journal_stream_set();
}

void log_set_max_level(int level)
{
        log_max_level = level;
}

int log_get_max_level(void)
{
        return log_max_level;
}

void log_set_journal_sink(log_journal_sink_t sink)
{
        log_journal = sink;
}

int log_level_from_string(const char *s)
{
        static const struct {
                const char *name;
                int level;
        } table[] = {
            {"debug", LOG_DEBUG},     {"info", LOG_INFO},     {"notice", LOG_NOTICE},
            {"warning", LOG_WARNING}, {"warn", LOG_WARNING},  {"error", LOG_ERR},
            {"err", LOG_ERR},         {"critical", LOG_CRIT}, {"crit", LOG_CRIT},
        };
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (strcasecmp(s, table[i].name) == 0)
                        return table[i].level;
        return -EINVAL;
}

static const char *level_word(int level)
{
        static const char *const words[] = {
            [LOG_EMERG] = "emergency", [LOG_ALERT] = "alert",     [LOG_CRIT] = "critical",
            [LOG_ERR] = "error",       [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
            [LOG_INFO] = "info",       [LOG_DEBUG] = "debug",
        };

        if (level < 0 || (size_t)level >= ELEMENTSOF(words))
                return "log";
        return words[level];
}

bool log_stderr_is_journal(void)
{
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* Expands %m to strerror(error) since vsnprintf would use the current errno. */
static void format_message(char *out, size_t n, int error, const char *fmt, va_list ap)
{
        char fmtbuf[1024];
        const char *f = fmt;

        if (error != 0 && strstr(fmt, "%m")) {
                size_t j = 0;
                const char *es = strerror(error);
                for (const char *p = fmt; *p && j + 1 < sizeof(fmtbuf); p++) {
                        if (p[0] == '%' && p[1] == '%') {
                                if (j + 2 >= sizeof(fmtbuf))
                                        break;
                                fmtbuf[j++] = '%';
                                fmtbuf[j++] = '%';
                                p++;
                        } else if (p[0] == '%' && p[1] == 'm') {
                                for (const char *q = es; *q && j + 2 < sizeof(fmtbuf); q++) {
                                        if (*q == '%')
                                                fmtbuf[j++] = '%';
                                        fmtbuf[j++] = *q;
                                }
                                p++;
                        } else
                                fmtbuf[j++] = *p;
                }
                fmtbuf[j] = 0;
                f = fmtbuf;
        }
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        vsnprintf(out, n, f, ap);
#pragma GCC diagnostic pop
}

int log_internalv(int level, int error, const char *fields, const char *fmt, va_list ap)
{
        int saved = errno;
        char msg[4096];

        if (error < 0)
                error = -error;
        format_message(msg, sizeof(msg), error, fmt, ap);
        /* One line per entry: never let a message break the line framing. */
        for (char *p = msg; *p; p++)
                if (*p == '\n' || *p == '\r')
                        *p = ' ';

        if (log_journal && log_journal(level, log_ident, msg, fields) >= 0)
                goto out;

        {
                char line[4600], lead[16];
                int len;

                if (log_priority_prefix < 0) /* logging before log_setup() */
                        log_priority_prefix = journal_stream_set();
                if (log_priority_prefix)
                        snprintf(lead, sizeof(lead), "<%d>", level);
                else
                        snprintf(lead, sizeof(lead), "%s: ", level_word(level));
                if (fields && *fields) {
                        char f[512];
                        size_t j = 0;
                        /* KEY=value\nKEY2=v2 -> "key=value key2=v2" */
                        for (const char *p = fields; *p && j + 2 < sizeof(f); p++) {
                                char c = *p;
                                if (c == '\n')
                                        c = ' ';
                                f[j++] = c;
                        }
                        f[j] = 0;
                        len = snprintf(line, sizeof(line), "%s%s [%s]\n", lead, msg, f);
                } else
                        len = snprintf(line, sizeof(line), "%s%s\n", lead, msg);
                if (len > (int)sizeof(line) - 1)
                        len = (int)sizeof(line) - 1;
                /* One write() per line so concurrent processes do not interleave. */
                ssize_t w = write(STDERR_FILENO, line, (size_t)len);
                (void)w;
        }
out:
        errno = saved;
        return -error;
}

int log_internal(int level, int error, const char *fields, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = log_internalv(level, error, fields, fmt, ap);
        va_end(ap);
        return r;
}
