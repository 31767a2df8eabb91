/* SPDX-License-Identifier: MIT */
/*
 * Sessions that outlive the hub process.
 *
 * The session key (32 bytes) seals every session id (sealed-id.h). It is
 * read from MCP_SESSION_KEY_FILE (several hosts sharing one key: any of them
 * takes back an id another made, at any time), else from
 * $STATE_DIRECTORY/session-key, made there at the first start (and made
 * again, ending every session, when that file is damaged); without either, a
 * random key for this process, and sessions end with it.
 *
 * What ended stays ended: every Streamable HTTP session that ends (DELETE,
 * idle, evicted, killed) is appended to $STATE_DIRECTORY/ended.log at once,
 * and kept in memory, by a 64-bit tag of its MAC. A hub never takes back an
 * id in that set, nor one older than the floor (raised when the set is full)
 * or than HUB_SESSION_RESUME_MAX_DAYS.
 *
 * The checkpoint, $STATE_DIRECTORY/sessions.json (0600, replaced
 * atomically): the live sessions (id, client, protocol, capabilities, client
 * info, log level, subscriptions, idle time), the ended set and the floor.
 * Written at a clean stop, at start once the last one is read, and every
 * minute when something changed; ended.log is emptied after each. A new hub
 * restores the live sessions of the last checkpoint that did not end since,
 * as they were; one made after it (the former hub crashed) comes back from
 * its sealed id alone, with the protocol and capabilities the id carries.
 *
 * A stdio server runs as the hub's user and can read and write all of this:
 * it learns session ids and client ids, which are worth nothing without a
 * client's API key, and can damage the files, which costs sessions at the
 * next start but never stops the hub (a file that is not a regular file of
 * ours is ignored, a damaged one read as far as it is valid).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "hub/hub.h"
#include "json.h"
#include "log.h"
#include "mcp-limits.h"
#include "proto/jsonrpc.h"
#include "random-util.h"
#include "sha256.h"
#include "strv.h"

#define SNAPSHOT_VERSION 2
#define SNAPSHOT_MAX     (64u << 20)
#define ENDED_LOG_MAX    (64u << 20)
#define MS_PER_DAY       (86400ULL * 1000)

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

/* ---------------------------------------------------------------- files of ours */

/* Opens a file of the state directory for reading: a regular file owned by us, never a
 * link, a FIFO or a device (a stdio server may have put anything there). -errno, or
 * -EPERM for a file that is not ours. */
static int open_ours(const char *path)
{
        struct stat st;
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);

        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
                close(fd);
                return -EPERM;
        }
        return fd;
}

static int read_ours(const char *path, size_t max, char **ret, size_t *ret_len)
{
        int fd = open_ours(path), r;

        if (fd < 0)
                return fd;
        r = file_read_all(fd, max, ret, ret_len);
        close(fd);
        return r;
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
        return hex_decode(text, SEALED_KEY_SIZE, key);
}

static int read_key(const char *path, bool ours, uint8_t key[SEALED_KEY_SIZE])
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int fd, r;

        fd = ours ? open_ours(path) : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return fd == -1 ? -errno : fd;
        r = file_read_all(fd, 4096, &text, &len);
        close(fd);
        if (r < 0)
                return r;
        r = parse_key(text, len, key);
        explicit_bzero(text, len);
        return r;
}

static char *state_path(struct hub *h, const char *name)
{
        char *p = NULL;

        if (!h->state_dir || asprintf(&p, "%s/%s", h->state_dir, name) < 0)
                return NULL;
        return p;
}

int session_store_setup(struct hub *h)
{
        const char *keyfile = getenv("MCP_SESSION_KEY_FILE");
        const char *sd = getenv("STATE_DIRECTORY");
        _cleanup_free_ char *path = NULL;
        int r;

        h->started_ms = now_realtime_msec();
        h->ended_fd = -EBADF;
        if (sd && *sd) {
                /* systemd may list several, colon-separated: ours is the first. */
                h->state_dir = strndup(sd, strcspn(sd, ":"));
                if (!h->state_dir)
                        return log_oom();
        }
        if (keyfile && *keyfile) {
                /* The operator's (shared by several hosts): wrong is a configuration error. */
                r = read_key(keyfile, false, h->session_key);
                if (r < 0)
                        return log_error_errno(r,
                                               "MCP_SESSION_KEY_FILE '%s': %m (it must hold 32 "
                                               "bytes, or 64 hex digits)",
                                               keyfile);
                log_info("session ids sealed with the key in '%s', shared: sessions other hosts "
                         "made are taken back",
                         keyfile);
                h->key_shared = true;
                return 0;
        }
        if (!h->state_dir) {
                r = random_bytes(h->session_key, SEALED_KEY_SIZE);
                if (r < 0)
                        return log_error_errno(r, "getrandom(): %m");
                log_info("no STATE_DIRECTORY: client sessions end with this process");
                return 0;
        }
        path = state_path(h, "session-key");
        if (!path)
                return log_oom();
        r = read_key(path, true, h->session_key);
        if (r >= 0)
                return 0;
        /* Ours, in our state directory: missing (the first start) or damaged, make one. A
         * damaged key ends every session; it never keeps the hub from starting. */
        if (r != -ENOENT)
                log_error_errno(r,
                                "the session key '%s' is unreadable or damaged (%m): making a "
                                "new one, every client session ends",
                                path);
        r = random_bytes(h->session_key, SEALED_KEY_SIZE);
        if (r >= 0) {
                (void)unlink(path);
                r = file_write_atomic(path, h->session_key, SEALED_KEY_SIZE, 0600);
        }
        if (r < 0)
                log_error_errno(r,
                                "cannot save the session key '%s': %m; sessions will not "
                                "outlive this process",
                                path);
        else
                log_notice("made a new session key in '%s'", path);
        return 0;
}

/* ---------------------------------------------------------------- what ended */

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}

static int older_than(void *v, const void *userdata)
{
        return (uint64_t)(uintptr_t)v <= *(const uint64_t *)userdata;
}

/* The ended set: tag -> creation time (ms). Over HUB_ENDED_MAX, the oldest quarter goes and
 * the floor rises past them: what is older is never taken back either. */
static void ended_trim(struct hub *h)
{
        uint64_t *t;
        size_t n = 0, i = 0;
        void *v;

        if (h->ended.n <= HUB_ENDED_MAX)
                return;
        t = malloc(h->ended.n * sizeof(*t));
        if (!t)
                return;
        while (hmap_next(&h->ended, &i, NULL, &v))
                t[n++] = (uint64_t)(uintptr_t)v;
        qsort(t, n, sizeof(*t), cmp_u64);
        h->resume_floor_ms = MAX(h->resume_floor_ms, t[n / 4]);
        free(t);
        (void)hmap_remove_if(&h->ended, older_than, NULL, &h->resume_floor_ms);
        log_notice("more than %d ended sessions remembered: sessions made before %llu (ms since "
                   "the epoch) are no longer taken back after a restart",
                   HUB_ENDED_MAX, (unsigned long long)h->resume_floor_ms);
}

static void ended_add(struct hub *h, uint64_t tag, uint64_t created_ms)
{
        if (!tag || created_ms <= h->resume_floor_ms)
                return;
        if (hmap_put(&h->ended, tag, (void *)(uintptr_t)(created_ms ? created_ms : 1)) < 0)
                /* Cannot remember it: then nothing that old may come back. */
                h->resume_floor_ms = MAX(h->resume_floor_ms, created_ms);
        ended_trim(h);
}

bool session_store_ended(struct hub *h, const char *id, uint64_t created_ms)
{
        return created_ms <= h->resume_floor_ms || hmap_get(&h->ended, sealed_id_tag(id));
}

void session_store_note_end(struct hub *h, const struct session *s)
{
        struct sealed_id si;
        char line[SEALED_ID_LEN + 2];

        if (s->legacy || sealed_id_peek(s->id, &si) < 0)
                return;
        ended_add(h, sealed_id_tag(s->id), si.created_ms);
        h->sessions_dirty = true;
        if (h->ended_fd < 0)
                return;
        /* At once, before the client hears it ended: a crash right after must not bring it
         * back. */
        snprintf(line, sizeof(line), "%s\n", s->id);
        if (write(h->ended_fd, line, strlen(line)) != (ssize_t)strlen(line))
                log_warning_errno(errno, "cannot append to ended.log: %m");
}

/* ---------------------------------------------------------------- the checkpoint */

static cJSON *session_json(const struct session *s, uint64_t now)
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
        for (size_t i = 0; subs && s->subs_pending && s->subs_pending[i]; i++)
                cJSON_AddItemToArray(subs, cJSON_CreateString(s->subs_pending[i]));
        return o;
}

int sessions_save(struct hub *h)
{
        _cleanup_free_ char *path = state_path(h, "sessions.json");
        _cleanup_json_ cJSON *root = cJSON_CreateObject();
        _cleanup_cjson_str_ char *text = NULL;
        cJSON *arr, *ended;
        uint64_t now = now_usec(), key;
        size_t i = 0, n = 0;
        void *v;
        int r;

        if (!h->state_dir)
                return 0;
        if (!path || !root)
                return log_oom();
        cJSON_AddNumberToObject(root, "v", SNAPSHOT_VERSION);
        cJSON_AddNumberToObject(root, "saved_ms", (double)now_realtime_msec());
        cJSON_AddNumberToObject(root, "floor_ms", (double)h->resume_floor_ms);
        arr = cJSON_AddArrayToObject(root, "sessions");
        ended = cJSON_AddArrayToObject(root, "ended");
        if (!arr || !ended)
                return log_oom();
        while (hmap_next(&h->sessions, &i, NULL, &v)) {
                const struct session *s = v;
                cJSON *o;
                /* A legacy session lives on its SSE connection, which ends with us; a modern
                 * request's, with its exchange. */
                if (s->legacy || s->modern)
                        continue;
                o = session_json(s, now);
                if (!o)
                        return log_oom();
                cJSON_AddItemToArray(arr, o);
                n++;
        }
        i = 0;
        while (hmap_next(&h->ended, &i, &key, &v)) {
                char e[48];
                snprintf(e, sizeof(e), "%016llx:%llu", (unsigned long long)key,
                         (unsigned long long)(uintptr_t)v);
                cJSON_AddItemToArray(ended, cJSON_CreateString(e));
        }
        text = cJSON_PrintUnformatted(root);
        if (!text)
                return log_oom();
        r = file_write_atomic(path, text, strlen(text), 0600);
        if (r < 0)
                return log_error_errno(r, "cannot save the sessions to '%s': %m", path);
        /* Everything in ended.log is in the checkpoint now. */
        if (h->ended_fd >= 0 && ftruncate(h->ended_fd, 0) < 0)
                log_warning_errno(errno, "cannot empty ended.log: %m");
        h->sessions_dirty = false;
        log_debug("saved %zu session(s) and %zu ended to '%s'", n, (size_t)h->ended.n, path);
        return 0;
}

/* A number we wrote: finite, whole, from 0 to 2^53. */
static bool number_ok(const cJSON *v, uint64_t *ret)
{
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
            v->valuedouble > 9007199254740992.0)
                return false;
        *ret = (uint64_t)v->valuedouble;
        return true;
}

static int restore_one(struct hub *h, const cJSON *o, uint64_t downtime_ms, uint64_t idle_ms,
                       struct hmap *per_client)
{
        const char *id = json_get_string(o, "id"), *client = json_get_string(o, "client");
        const char *proto = json_get_string(o, "protocol");
        const cJSON *lvl = json_get(o, "logLevel"), *e;
        struct sealed_id si;
        struct session *s;
        uint64_t was_idle, ck;
        size_t mine, k = 0;

        if (!id || !client || !proto || !number_ok(json_get(o, "idleMs"), &was_idle))
                return -EINVAL;
        /* Only what this key sealed, for that client, as a Streamable HTTP session. */
        if (sealed_id_open(h->session_key, id, client, &si) < 0 || si.format != SEALED_FORMAT ||
            !mcp_protocol_supported(proto) || session_get(h, id) ||
            session_store_ended(h, id, si.created_ms))
                return -EINVAL;
        if (was_idle >= idle_ms || downtime_ms >= idle_ms - was_idle)
                return 0; /* it would have expired meanwhile */
        was_idle += downtime_ms;
        ck = hash_string(client);
        mine = (size_t)(uintptr_t)hmap_get(per_client, ck);
        if (h->sessions.n >= HUB_MAX_SESSIONS || mine >= HUB_MAX_SESSIONS_PER_CLIENT)
                return 0;
        s = session_insert(h, id, client, proto);
        if (!s || hmap_put(per_client, ck, (void *)(uintptr_t)(mine + 1)) < 0)
                return -ENOMEM;
        s->client_capabilities = cJSON_Duplicate(json_get(o, "capabilities"), true);
        s->client_info = cJSON_Duplicate(json_get(o, "clientInfo"), true);
        s->initialized = cJSON_IsTrue(json_get(o, "initialized"));
        if (cJSON_IsNumber(lvl) && lvl->valuedouble >= 0 && lvl->valuedouble <= 7)
                s->log_level = (int)lvl->valuedouble;
        s->last_used_usec = now_usec() - MIN(was_idle * USEC_PER_MSEC, now_usec());
        cJSON_ArrayForEach(e, json_get(o, "subscriptions"))
        {
                char **n;
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
                k++;
        }
        return 1;
}

/* ended.log: one id per line, appended as sessions end. */
static void load_ended_log(struct hub *h, const char *path)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0, n = 0;
        int r = read_ours(path, ENDED_LOG_MAX, &text, &len);

        if (r < 0) {
                if (r != -ENOENT)
                        log_warning_errno(r,
                                          "cannot read '%s' (%m): sessions that ended since "
                                          "the last checkpoint may come back",
                                          path);
                return;
        }
        for (char *line = text, *nl; line < text + len; line = nl + 1) {
                struct sealed_id si;
                nl = memchr(line, '\n', (size_t)(text + len - line));
                if (!nl)
                        break;
                *nl = 0;
                if (sealed_id_peek(line, &si) == 0) {
                        ended_add(h, sealed_id_tag(line), si.created_ms);
                        n++;
                }
        }
        log_debug("%zu ended session(s) from '%s'", n, path);
}

int sessions_load(struct hub *h)
{
        _cleanup_free_ char *path = state_path(h, "sessions.json");
        _cleanup_free_ char *log_path = state_path(h, "ended.log"), *text = NULL;
        _cleanup_json_ cJSON *root = NULL;
        struct hmap per_client = {};
        const cJSON *o;
        size_t len = 0, taken = 0, skipped = 0;
        uint64_t now = now_realtime_msec(), saved = 0, floor_ms = 0, downtime;
        int r, fd;

        if (!path || !log_path)
                return 0;
        load_ended_log(h, log_path);
        r = read_ours(path, SNAPSHOT_MAX, &text, &len);
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "cannot read '%s' (%m): sessions not restored", path);
        root = r >= 0 ? cJSON_ParseWithLength(text, len) : NULL;
        if (r >= 0 && (!cJSON_IsNumber(json_get(root, "v")) ||
                       json_get(root, "v")->valueint != SNAPSHOT_VERSION ||
                       !number_ok(json_get(root, "saved_ms"), &saved))) {
                log_warning("'%s' is not a session checkpoint of this version, ignoring it", path);
                cJSON_Delete(root);
                root = NULL;
        }
        if (root) {
                if (number_ok(json_get(root, "floor_ms"), &floor_ms))
                        h->resume_floor_ms = MAX(h->resume_floor_ms, floor_ms);
                cJSON_ArrayForEach(o, json_get(root, "ended"))
                {
                        unsigned long long tag, created;
                        int end = 0;
                        if (cJSON_IsString(o) &&
                            sscanf(o->valuestring, "%16llx:%llu%n", &tag, &created, &end) == 2 &&
                            o->valuestring[end] == 0 && tag)
                                ended_add(h, tag, created);
                }
                downtime = now > saved ? now - saved : 0;
                cJSON_ArrayForEach(o, json_get(root, "sessions"))
                {
                        r = restore_one(h, o, downtime, h->session_idle_usec / USEC_PER_MSEC,
                                        &per_client);
                        if (r > 0)
                                taken++;
                        else
                                skipped++;
                }
                log_notice("took back %zu client session(s) saved %llu ms ago (%zu ended, "
                           "expired or not ours)",
                           taken, (unsigned long long)downtime, skipped);
        }
        hmap_done(&per_client);
        /* From now on ended sessions are appended here, and a checkpoint empties it. */
        fd = open(log_path,
                  O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK,
                  0600);
        if (fd >= 0) {
                struct stat st;
                if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
                        close(fd);
                        fd = -EBADF;
                }
        }
        if (fd < 0) {
                /* Something else sits there: replace it with a file of ours. */
                (void)unlink(log_path);
                fd =
                    open(log_path,
                         O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW,
                         0600);
        }
        if (fd < 0)
                log_warning_errno(errno,
                                  "cannot open '%s': %m; a session ended after the next "
                                  "checkpoint could come back after a crash",
                                  log_path);
        h->ended_fd = fd;
        /* The state as it is now, so that ended.log starts empty. */
        return sessions_save(h);
}

/* An id this hub could have made and does not know now ended here (DELETE, idle, evicted,
 * killed): made before it started, or by another host sharing the key, which this hub
 * cannot tell from its own. What ended on another host is not known here. */
bool session_store_resumable(struct hub *h, uint64_t created_ms)
{
        uint64_t now = now_realtime_msec();

        return (created_ms < h->started_ms || h->key_shared) && created_ms > h->resume_floor_ms &&
               now - MIN(created_ms, now) <= HUB_SESSION_RESUME_MAX_DAYS * MS_PER_DAY;
}

void session_store_done(struct hub *h)
{
        if (h->ended_fd >= 0)
                close(h->ended_fd);
        h->ended_fd = -EBADF;
        hmap_done(&h->ended);
}
