/* SPDX-License-Identifier: MIT */
#pragma once

/* Closes every descriptor from lowest on; for a forked child before it runs
 * other code (plain system calls only, async-signal-safe). */
void fd_close_from(int lowest);
