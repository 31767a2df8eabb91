/* SPDX-License-Identifier: MIT */
/*
 * Sessions that outlive the hub process. Two halves:
 *
 * The session key (32 bytes) seals every session id (sealed-id.h). It is
 * read from MCP_SESSION_KEY_FILE (several hosts sharing one key), else from
 * $STATE_DIRECTORY/session-key, made there at the first start; without
 * either, a random key for this process, and sessions end with it.
 *
 * The snapshot: at a clean stop the hub writes its Streamable HTTP sessions
 * (id, client, protocol, capabilities, client info, log level,
 * subscriptions, idle time) to $STATE_DIRECTORY/sessions.json (0600); the
 * next hub takes them back and removes the file. A session made before that
 * snapshot and not in it had ended: its id opens nothing. After a crash
 * there is no snapshot, and a sealed id alone brings its session back with
 * the protocol and capabilities the id carries.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "hub/hub.h"
#include "json.h"
#include "log.h"
#include "random-util.h"
#include "proto/jsonrpc.h"
#include "strv.h"

#define SNAPSHOT_VERSION 1
#define SNAPSHOT_MAX     (64u << 20)

static int log_oom(void)
{
        log_error("out of memory");
        return -ENOMEM;
}

/* ---------------------------------------------------------------- capabilities */

static const struct {
        const char *cap, *sub;
        uint8_t bit;
} cap_bits[] = {
    {"roots", NULL, SEALED_CAP_ROOTS},
    {"sampling", NULL, SEALED_CAP_SAMPLING},
    {"sampling", "tools", SEALED_CAP_SAMPLING_TOOLS},
    {"sampling", "context", SEALED_CAP_SAMPLING_CONTEXT},
    {"elicitation", NULL, SEALED_CAP_ELICITATION},
    {"elicitation", "form", SEALED_CAP_ELICITATION_FORM},
    {"elicitation", "url", SEALED_CAP_ELICITATION_URL},
};

uint8_t session_caps_to_bits(const cJSON *caps)
{
        uint8_t bits = 0;

        for (size_t i = 0; i < ELEMENTSOF(cap_bits); i++) {
                const cJSON *c = json_get(caps, cap_bits[i].cap);
                if (cJSON_IsObject(c) && (!cap_bits[i].sub || json_get(c, cap_bits[i].sub)))
                        bits |= cap_bits[i].bit;
        }
        if (cJSON_IsTrue(json_get(json_get(caps, "roots"), "listChanged")))
                bits |= SEALED_CAP_ROOTS_LIST_CHANGED;
        return bits;
}

cJSON *session_caps_from_bits(uint8_t bits)
{
        cJSON *caps = cJSON_CreateObject();

        for (size_t i = 0; caps && i < ELEMENTSOF(cap_bits); i++) {
                cJSON *c;
                if (!(bits & cap_bits[i].bit))
                        continue;
                c = json_get(caps, cap_bits[i].cap);
                if (!c && !(c = cJSON_AddObjectToObject(caps, cap_bits[i].cap)))
                        break;
                if (cap_bits[i].sub)
                        cJSON_AddObjectToObject(c, cap_bits[i].sub);
        }
        if (caps && (bits & SEALED_CAP_ROOTS_LIST_CHANGED) && json_get(caps, "roots"))
                cJSON_AddTrueToObject(json_get(caps, "roots"), "listChanged");
        return caps;
}

/* ---------------------------------------------------------------- the key */

static int parse_key(const char *text, size_t len, uint8_t key[SEALED_KEY_SIZE])
{
        /* 32 raw bytes (what we write), or 64 hex digits and optional white space (what an
         * operator makes with `openssl rand -hex 32`). */
        if (len == SEALED_KEY_SIZE) {
                memcpy(key, text, SEALED_KEY_SIZE);
                return 0;
        }
        while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ' || text[len - 1] == '\r'))
                len--;
        if (len != 2 * SEALED_KEY_SIZE)
                return -EINVAL;
        for (size_t i = 0; i < SEALED_KEY_SIZE; i++) {
                unsigned v;
                if (sscanf(text + 2 * i, "%2x", &v) != 1 ||
                    !strchr("0123456789abcdefABCDEF", text[2 * i]) ||
                    !strchr("0123456789abcdefABCDEF", text[2 * i + 1]))
                        return -EINVAL;
                key[i] = (uint8_t)v;
        }
        return 0;
}

static int read_key(const char *path, uint8_t key[SEALED_KEY_SIZE])
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        r = file_read_all(fd, 4096, &text, &len);
        close(fd);
        if (r < 0)
                return r;
        r = parse_key(text, len, key);
        explicit_bzero(text, len);
        return r;
}

int session_store_setup(struct hub *h)
{
        const char *keyfile = getenv("MCP_SESSION_KEY_FILE");
        const char *sd = getenv("STATE_DIRECTORY");
        _cleanup_free_ char *path = NULL;
        int r;

        h->started_ms = now_realtime_msec();
        if (sd && *sd) {
                /* systemd may list several, colon-separated: ours is the first. */
                h->state_dir = strndup(sd, strcspn(sd, ":"));
                if (!h->state_dir)
                        return log_oom();
        }
        if (keyfile && *keyfile) {
                r = read_key(keyfile, h->session_key);
                if (r < 0)
                        return log_error_errno(r,
                                               "MCP_SESSION_KEY_FILE '%s': %m (it must hold 32 "
                                               "bytes, or 64 hex digits)",
                                               keyfile);
                log_info("session ids sealed with the key in '%s'", keyfile);
                return 0;
        }
        if (!h->state_dir) {
                r = random_bytes(h->session_key, SEALED_KEY_SIZE);
                if (r < 0)
                        return log_error_errno(r, "getrandom(): %m");
                log_info("no STATE_DIRECTORY: client sessions end with this process");
                return 0;
        }
        if (asprintf(&path, "%s/session-key", h->state_dir) < 0)
                return log_oom();
        r = read_key(path, h->session_key);
        if (r == -ENOENT) {
                r = random_bytes(h->session_key, SEALED_KEY_SIZE);
                if (r >= 0)
                        r = file_write_atomic(path, h->session_key, SEALED_KEY_SIZE, 0600);
                if (r < 0)
                        return log_error_errno(r, "cannot make the session key '%s': %m", path);
                log_notice("made a new session key in '%s'", path);
                return 0;
        }
        if (r < 0)
                return log_error_errno(r, "session key '%s': %m", path);
        return 0;
}

/* ---------------------------------------------------------------- the snapshot */

static char *snapshot_path(struct hub *h)
{
        char *p = NULL;

        if (!h->state_dir || asprintf(&p, "%s/sessions.json", h->state_dir) < 0)
                return NULL;
        return p;
}

static cJSON *strv_json(char **v, cJSON *arr)
{
        for (size_t i = 0; arr && v && v[i]; i++)
                cJSON_AddItemToArray(arr, cJSON_CreateString(v[i]));
        return arr;
}

static cJSON *session_json(struct hub *h, const struct session *s, uint64_t now)
{
        cJSON *o = cJSON_CreateObject(), *subs;

        if (!o)
                return NULL;
        cJSON_AddStringToObject(o, "id", s->id);
        cJSON_AddStringToObject(o, "client", s->client);
        cJSON_AddStringToObject(o, "protocol", s->protocol_version);
        if (s->client_capabilities)
                cJSON_AddItemToObject(o, "capabilities",
                                      cJSON_Duplicate(s->client_capabilities, true));
        if (s->client_info)
                cJSON_AddItemToObject(o, "clientInfo", cJSON_Duplicate(s->client_info, true));
        if (s->log_level >= 0)
                cJSON_AddNumberToObject(o, "logLevel", s->log_level);
        cJSON_AddBoolToObject(o, "initialized", s->initialized);
        cJSON_AddNumberToObject(o, "idleMs",
                                (double)((now - MIN(s->last_used_usec, now)) / USEC_PER_MSEC));
        subs = cJSON_AddArrayToObject(o, "subscriptions");
        for (size_t i = 0; subs && i < s->n_subs; i++)
                cJSON_AddItemToArray(subs, cJSON_CreateString(s->subs[i]));
        (void)strv_json(s->subs_pending, subs);
        return o;
}

int sessions_save(struct hub *h)
{
        _cleanup_free_ char *path = snapshot_path(h);
        _cleanup_json_ cJSON *root = cJSON_CreateObject();
        _cleanup_cjson_str_ char *text = NULL;
        cJSON *arr;
        uint64_t now = now_usec();
        size_t i = 0, n = 0;
        void *v;
        int r;

        if (!h->state_dir)
                return 0;
        if (!path || !root)
                return log_oom();
        cJSON_AddNumberToObject(root, "v", SNAPSHOT_VERSION);
        cJSON_AddNumberToObject(root, "saved_ms", (double)now_realtime_msec());
        arr = cJSON_AddArrayToObject(root, "sessions");
        if (!arr)
                return log_oom();
        while (hmap_next(&h->sessions, &i, NULL, &v)) {
                const struct session *s = v;
                cJSON *o;
                /* A legacy session lives on its SSE connection, which ends with us. */
                if (s->legacy)
                        continue;
                o = session_json(h, s, now);
                if (!o)
                        return log_oom();
                cJSON_AddItemToArray(arr, o);
                n++;
        }
        text = cJSON_PrintUnformatted(root);
        if (!text)
                return log_oom();
        r = file_write_atomic(path, text, strlen(text), 0600);
        if (r < 0)
                return log_error_errno(r, "cannot save the sessions to '%s': %m", path);
        log_info("saved %zu session(s) to '%s' for the next start", n, path);
        return 0;
}

static int restore_one(struct hub *h, const cJSON *o, uint64_t downtime_ms, uint64_t idle_ms)
{
        const char *id = json_get_string(o, "id"), *client = json_get_string(o, "client");
        const char *proto = json_get_string(o, "protocol");
        const cJSON *idle = json_get(o, "idleMs"), *lvl = json_get(o, "logLevel");
        const cJSON *subs = json_get(o, "subscriptions"), *e;
        struct sealed_id si;
        struct session *s;
        uint64_t was_idle;

        if (!id || !client || !proto || !cJSON_IsNumber(idle) || idle->valuedouble < 0)
                return -EINVAL;
        /* Only what this key sealed, for that client, as a Streamable HTTP session. */
        if (sealed_id_open(h->session_key, id, client, &si) < 0 || si.format != SEALED_FORMAT ||
            !mcp_protocol_supported(proto) || session_get(h, id))
                return -EINVAL;
        was_idle = (uint64_t)idle->valuedouble + downtime_ms;
        if (was_idle >= idle_ms)
                return 0; /* it would have expired meanwhile */
        s = session_insert(h, id, client, proto);
        if (!s)
                return -ENOMEM;
        s->client_capabilities = cJSON_Duplicate(json_get(o, "capabilities"), true);
        s->client_info = cJSON_Duplicate(json_get(o, "clientInfo"), true);
        s->initialized = cJSON_IsTrue(json_get(o, "initialized"));
        if (cJSON_IsNumber(lvl) && lvl->valuedouble >= 0 && lvl->valuedouble <= 7)
                s->log_level = (int)lvl->valuedouble;
        s->last_used_usec = now_usec() - MIN(was_idle * USEC_PER_MSEC, now_usec());
        cJSON_ArrayForEach(e, subs)
        {
                char **n;
                size_t k = strv_length(s->subs_pending);
                if (!cJSON_IsString(e) || k >= 4096)
                        continue;
                n = realloc(s->subs_pending, (k + 2) * sizeof(char *));
                if (!n)
                        break;
                s->subs_pending = n;
                n[k] = strdup(e->valuestring);
                n[k + 1] = NULL;
                if (!n[k])
                        break;
        }
        return 1;
}

int sessions_load(struct hub *h)
{
        _cleanup_free_ char *path = snapshot_path(h), *text = NULL;
        _cleanup_json_ cJSON *root = NULL;
        const cJSON *saved, *o;
        size_t len = 0, taken = 0, skipped = 0;
        uint64_t now = now_realtime_msec(), downtime;
        int fd, r;

        if (!path)
                return 0;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                return log_warning_errno(errno, "cannot read '%s': %m, sessions not restored",
                                         path);
        }
        r = file_read_all(fd, SNAPSHOT_MAX, &text, &len);
        close(fd);
        /* Read once: a crash later must not bring back what this hub ends. */
        if (unlink(path) < 0)
                log_warning_errno(errno, "cannot remove '%s': %m", path);
        if (r < 0)
                return log_warning_errno(r, "cannot read '%s': %m, sessions not restored", path);
        root = cJSON_ParseWithLength(text, len);
        saved = json_get(root, "saved_ms");
        if (!root || !cJSON_IsNumber(json_get(root, "v")) ||
            json_get(root, "v")->valueint != SNAPSHOT_VERSION || !cJSON_IsNumber(saved) ||
            saved->valuedouble <= 0) {
                log_warning("'%s' is not a session snapshot of this version, ignoring it", path);
                return 0;
        }
        h->snapshot_ms = (uint64_t)saved->valuedouble;
        downtime = now > h->snapshot_ms ? now - h->snapshot_ms : 0;
        cJSON_ArrayForEach(o, json_get(root, "sessions"))
        {
                r = restore_one(h, o, downtime, h->session_idle_usec / USEC_PER_MSEC);
                if (r > 0)
                        taken++;
                else
                        skipped++;
        }
        log_notice("took back %zu client session(s) saved %llu ms ago (%zu expired or not ours)",
                   taken, (unsigned long long)downtime, skipped);
        return 0;
}
