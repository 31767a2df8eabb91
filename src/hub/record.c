/* SPDX-License-Identifier: MIT */
/*
 * Audit records (issue 15): one per client request bound for a server, when
 * it ends (server.c) or is refused (route.c). Under journald a journal entry
 * with a MESSAGE_ID= of ours and MCP_* fields; otherwise one stderr line
 * "audit: record=call client=... outcome=ok ..." with the same facts as
 * key=value. Either way the record is counted for GET /metrics (metrics.c).
 *
 * A record holds names, sizes, times and a hash of the arguments: never an
 * API key, never an argument's value, never an error's message (a server's
 * may quote the arguments). Records are not a matter of verbosity:
 * MCP_LOG_LEVEL does not silence them. mcp-proxy-hub(8) lists the fields.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "hub/hub.h"
#include "hub/log-journal.h"
#include "log.h"
#include "mcp-limits.h"

/* The MESSAGE_ID= of each kind of record (journalctl MESSAGE_ID=...); never change them. */
#define RECORD_MESSAGE_ID_CALL    "4780e0871f941da3e3f3118222d51a77"
#define RECORD_MESSAGE_ID_DENIED  "bd9d86a479bf8d645ce7d9f2a64956c5"
#define RECORD_MESSAGE_ID_LIMITED "f7a501fe10d1637c857775afc2fe66a2"

/* A session is named by the first characters of its id, as elsewhere in the log. */
#define RECORD_SESSION_CHARS 16

static const char *const outcome_names[_RECORD_OUTCOME_MAX] = {
    [RECORD_OK] = "ok",           [RECORD_TOOL_ERROR] = "tool_error", [RECORD_ERROR] = "error",
    [RECORD_TIMEOUT] = "timeout", [RECORD_CANCELLED] = "cancelled",   [RECORD_DENIED] = "denied",
    [RECORD_LIMITED] = "limited",
};

const char *record_outcome_to_string(enum record_outcome o)
{
        return o < _RECORD_OUTCOME_MAX ? outcome_names[o] : "unknown";
}

enum {
        F_CLIENT,
        F_SESSION,
        F_UPSTREAM,
        F_METHOD,
        F_NAME,
        F_OUTCOME,
        F_DURATION,
        F_BYTES_IN,
        F_BYTES_OUT,
        F_ARGS,
        F_DETAIL,
        _F_MAX,
};

/* Journal field names; on the stderr line the same lower-cased without "MCP_". */
static const char *const field_names[_F_MAX] = {
    [F_CLIENT] = "MCP_CLIENT",
    [F_SESSION] = "MCP_SESSION",
    [F_UPSTREAM] = "MCP_UPSTREAM",
    [F_METHOD] = "MCP_METHOD",
    [F_NAME] = "MCP_NAME",
    [F_OUTCOME] = "MCP_OUTCOME",
    [F_DURATION] = "MCP_DURATION_USEC",
    [F_BYTES_IN] = "MCP_BYTES_IN",
    [F_BYTES_OUT] = "MCP_BYTES_OUT",
    [F_ARGS] = "MCP_ARGS_SHA256",
    [F_DETAIL] = "MCP_DETAIL",
};

static const char *record_kind(const struct record *r)
{
        return r->outcome == RECORD_DENIED    ? "denied"
               : r->outcome == RECORD_LIMITED ? "limited"
                                              : "call";
}

static const char *record_message_id(const struct record *r)
{
        return r->outcome == RECORD_DENIED    ? RECORD_MESSAGE_ID_DENIED
               : r->outcome == RECORD_LIMITED ? RECORD_MESSAGE_ID_LIMITED
                                              : RECORD_MESSAGE_ID_CALL;
}

/* A value goes bare when it is a plain word, else in double quotes with \", \\ and \xHH. */
static int append_value(struct buf *b, const char *v)
{
        size_t n = strnlen(v, AUDIT_VALUE_MAX);
        bool bare = n > 0;
        int r = 0;

        for (size_t i = 0; bare && i < n; i++) {
                unsigned char ch = (unsigned char)v[i];
                bare = ch > ' ' && ch != 0x7f && ch != '"' && ch != '\\' && ch != '=';
        }
        if (bare)
                return buf_append(b, v, n);
        r = buf_append(b, "\"", 1);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                unsigned char ch = (unsigned char)v[i];
                if (ch == '"' || ch == '\\')
                        r = buf_printf(b, "\\%c", ch);
                else if (ch < ' ' || ch == 0x7f)
                        r = buf_printf(b, "\\x%02x", ch);
                else
                        r = buf_append(b, v + i, 1);
        }
        if (r >= 0)
                r = buf_append(b, "\"", 1);
        return r;
}

static void write_stderr(const struct record *r, int level, const char *const *values)
{
        struct buf b;
        int k;

        buf_init(&b, 4000); /* one log line */
        k = buf_printf(&b, "audit: record=%s", record_kind(r));
        for (size_t i = 0; k >= 0 && i < _F_MAX; i++) {
                char key[32];
                size_t j;
                if (!values[i])
                        continue;
                /* "MCP_BYTES_IN" -> "bytes_in" */
                for (j = 0; field_names[i][4 + j] && j + 1 < sizeof(key); j++)
                        key[j] = (char)tolower((unsigned char)field_names[i][4 + j]);
                key[j] = 0;
                k = buf_printf(&b, " %s=", key);
                if (k >= 0)
                        k = append_value(&b, values[i]);
        }
        if (k < 0) {
                log_warning("audit: cannot write a record of client '%s' (%s), ignoring",
                            r->client ? r->client : "-", record_outcome_to_string(r->outcome));
                buf_done(&b);
                return;
        }
        (void)log_internal(level, 0, NULL, "%s", b.data);
        buf_done(&b);
}

/* One journal entry: PRIORITY=, SYSLOG_IDENTIFIER=, MESSAGE=, MESSAGE_ID=, the fields. */
static int write_journal(const struct record *r, int level, const char *const *values,
                         const char *message)
{
        struct iovec iov[_F_MAX + 4];
        size_t offsets[_F_MAX + 4], n = 0;
        struct buf b;
        int k;

        buf_init(&b, 1024 * 1024);
        offsets[n++] = b.len;
        k = buf_printf(&b, "PRIORITY=%d", level);
        if (k >= 0) {
                offsets[n++] = b.len;
                k = buf_append_str(&b, "SYSLOG_IDENTIFIER=mcp-proxy-hub");
        }
        if (k >= 0) {
                offsets[n++] = b.len;
                k = buf_printf(&b, "MESSAGE_ID=%s", record_message_id(r));
        }
        if (k >= 0) {
                offsets[n++] = b.len;
                k = buf_printf(&b, "MESSAGE=%s", message);
        }
        for (size_t i = 0; k >= 0 && i < _F_MAX; i++) {
                if (!values[i])
                        continue;
                offsets[n++] = b.len;
                k = buf_printf(&b, "%s=%.*s", field_names[i], AUDIT_JOURNAL_VALUE_MAX, values[i]);
        }
        if (k < 0) {
                buf_done(&b);
                return k;
        }
        /* The pieces lie end to end in b (which may have moved while it grew). */
        for (size_t i = 0; i < n; i++) {
                size_t end = i + 1 < n ? offsets[i + 1] : b.len;
                iov[i] = (struct iovec){b.data + offsets[i], end - offsets[i]};
        }
        k = sd_journal_sendv(iov, (int)n);
        buf_done(&b);
        return k;
}

void hub_record(struct hub *h, const struct record *r)
{
        char session[RECORD_SESSION_CHARS + 1], duration[32], in[32], out[32], message[1024];
        const char *values[_F_MAX] = {};
        int level =
            r->outcome == RECORD_DENIED || r->outcome == RECORD_LIMITED ? LOG_NOTICE : LOG_INFO;

        metrics_count(h, r);

        if (r->session)
                snprintf(session, sizeof(session), "%s", r->session);
        snprintf(duration, sizeof(duration), "%" PRIu64, r->duration_usec);
        snprintf(in, sizeof(in), "%zu", r->bytes_in);
        snprintf(out, sizeof(out), "%zu", r->bytes_out);
        values[F_CLIENT] = r->client;
        values[F_SESSION] = r->session ? session : NULL;
        values[F_UPSTREAM] = r->server;
        values[F_METHOD] = r->method;
        values[F_NAME] = r->name;
        values[F_OUTCOME] = record_outcome_to_string(r->outcome);
        values[F_DURATION] = duration;
        values[F_BYTES_IN] = in;
        values[F_BYTES_OUT] = out;
        values[F_ARGS] = r->args_hash;
        values[F_DETAIL] = r->detail;

        if (log_journal_enabled()) {
                char took[48] = "";
                if (level == LOG_INFO) /* it went to the server */
                        snprintf(took, sizeof(took), " in %.3f ms",
                                 (double)r->duration_usec / 1000.0);
                snprintf(message, sizeof(message),
                         "client '%.128s' %s%s%.200s%s on '%s': %s%s%s%.200s",
                         r->client ? r->client : "-", r->method ? r->method : "-",
                         r->name ? " '" : "", r->name ? r->name : "", r->name ? "'" : "",
                         r->server ? r->server : "-", record_outcome_to_string(r->outcome), took,
                         r->detail ? ": " : "", r->detail ? r->detail : "");
                if (write_journal(r, level, values, message) >= 0)
                        return;
        }
        write_stderr(r, level, values);
}
