/* SPDX-License-Identifier: MIT */
/* libcurl is loaded on first use (curl-dl.c); true when it could be. */
#pragma once

#include <stdbool.h>

bool curl_dl_available(void);
