/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

/* Send log entries to the journal with structured fields. */
void log_journal_enable(void);
/* Is stderr the journal (log_journal_enable() was called)? Then entries of our own
 * (audit records, record.c) go there with sd_journal_sendv() too. */
bool log_journal_enabled(void);
