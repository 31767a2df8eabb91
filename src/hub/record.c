/* SPDX-License-Identifier: MIT */
/* Audit records and metrics (issue 15): a first cut, logging only; see hub.h. */
#include "hub/hub.h"
#include "log.h"

static const char *const outcome_names[_RECORD_OUTCOME_MAX] = {
    [RECORD_OK] = "ok",           [RECORD_TOOL_ERROR] = "tool_error", [RECORD_ERROR] = "error",
    [RECORD_TIMEOUT] = "timeout", [RECORD_CANCELLED] = "cancelled",   [RECORD_DENIED] = "denied",
    [RECORD_LIMITED] = "limited",
};

const char *record_outcome_to_string(enum record_outcome o)
{
        return o < _RECORD_OUTCOME_MAX ? outcome_names[o] : "unknown";
}

void hub_record(struct hub *h, const struct record *r)
{
        log_info("audit: client '%s' %s '%s' on '%s': %s%s%s", r->client ? r->client : "-",
                 r->method ? r->method : "-", r->name ? r->name : "", r->server ? r->server : "-",
                 record_outcome_to_string(r->outcome), r->detail ? ": " : "",
                 r->detail ? r->detail : "");
}
