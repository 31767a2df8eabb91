/* SPDX-License-Identifier: MIT */
/*
 * One logging API for every binary. Lines go to stderr: with sd-daemon(3)
 * "<N>" priority prefixes when $JOURNAL_STREAM is set (systemd reads the
 * stream), else as "warning: message" for a person; or, when the hub's
 * stderr is the journal ($JOURNAL_STREAM matches), through a sink that calls
 * sd_journal_send with structured fields. Functions preserve errno; the *_errno variants return -abs(r) so
 * callers can write "return log_error_errno(r, ...)". "%m" expands to
 * strerror(abs(r)) in the *_errno variants.
 *
 * Never pass an API key or an Authorization header to these functions.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

#include "macro.h"

/* Set once at start-up; also decides between "<N>" prefixes and level words. */
void log_setup(const char *ident);
/* Maximum priority printed (LOG_DEBUG .. LOG_ERR); from MCP_LOG_LEVEL. */
void log_set_max_level(int level);
int log_get_max_level(void);
/* Parse "debug", "info", "notice", "warning"/"warn", "error", "critical"
 * (any case) into a syslog priority; -EINVAL when unknown. */
int log_level_from_string(const char *s);
/* Where structured entries go instead of stderr (the hub sets the journal's, see
 * src/hub/log-journal.c, so the front need not link libsystemd). NULL: stderr. */
typedef int (*log_journal_sink_t)(int level, const char *ident, const char *message,
                                  const char *fields);
void log_set_journal_sink(log_journal_sink_t sink);
bool log_stderr_is_journal(void);

/* Emits a line; fields (may be NULL) are extra "KEY=value" journal fields
 * separated by '\n', shown as "key=value" on stderr after the message. */
int log_internal(int level, int error, const char *fields, const char *fmt, ...) _printf_(4, 5);
int log_internalv(int level, int error, const char *fields, const char *fmt, va_list ap);

#define log_full_errno(level, error, ...)                                             \
        ({                                                                            \
                int _l = (level), _e = (error);                                       \
                (log_get_max_level() >= _l) ? log_internal(_l, _e, NULL, __VA_ARGS__) \
                                            : -(_e < 0 ? -_e : _e);                   \
        })

#define log_debug(...)   log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...)    log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...)  log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...)   log_full_errno(LOG_ERR, 0, __VA_ARGS__)

#define log_debug_errno(e, ...)   log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...)    log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_notice_errno(e, ...)  log_full_errno(LOG_NOTICE, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...)   log_full_errno(LOG_ERR, e, __VA_ARGS__)

/* With structured fields, e.g. "MCP_UPSTREAM=files". */
#define log_fields(level, fields, ...)                                                        \
        ({                                                                                    \
                int _l = (level);                                                             \
                (log_get_max_level() >= _l) ? log_internal(_l, 0, (fields), __VA_ARGS__) : 0; \
        })
