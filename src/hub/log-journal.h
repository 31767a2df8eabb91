/* SPDX-License-Identifier: MIT */
#pragma once

/* Send log entries to the journal with structured fields. */
void log_journal_enable(void);
