/* SPDX-License-Identifier: MIT */
/*
 * mcp-proxyctl's offline verbs: check-config (the hub's and the fronts' own
 * parsers, for the configuration, the key file and the users file), and key new/list/revoke on the key file. New keys come from
 * getrandom(2) and are stored only as "sha256:<hex>" entries, by an atomic
 * replacement that keeps the file's owner and mode; a key is printed once and
 * never again (list shows an id: the first 12 hex digits of its digest).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth.h"
#include "config/config.h"
#include "config/users.h"
#include "ctl/ctl.h"
#include "fileio.h"
#include "json.h"
#include "mcp-limits.h"
#include "random-util.h"
#include "sha256.h"

#define KEYS_DEFAULT   "/etc/mcp-proxy/keys.json"
#define CONFIG_DEFAULT "/etc/mcp-proxy/mcp_config.json"
#define USERS_DEFAULT  "/etc/mcp-proxy/users.json"
#define ID_HEX         12 /* digest digits shown as a key's id */

static const char *keys_path(const struct ctl *x)
{
        const char *p = getenv("MCP_API_KEYS_PATH");
        return x->keys ? x->keys : p && *p ? p : KEYS_DEFAULT;
}

/* ---------------------------------------------------------------- check-config */

static void print_warning(void *userdata, const char *message)
{
        fprintf(stderr, "warning: %s\n", message);
}

/* The users file check-config reads, and whether it was named (else it is read only when
 * there and readable). */
static const char *users_path(const struct ctl *x, bool *ret_given)
{
        const char *p = getenv("MCP_USERS_PATH");

        *ret_given = x->users || (p && *p);
        return x->users ? x->users : p && *p ? p : USERS_DEFAULT;
}

int verb_check_config(struct ctl *x)
{
        const char *env = getenv("MCP_CONFIG_PATH");
        const char *path = x->n_args > 0 ? x->args[0] : env && *env ? env : CONFIG_DEFAULT;
        struct config c = {};
        struct keyring kr = {};
        struct users u = {};
        char err[1024], uerr[1024] = "";
        bool keys_given = x->keys || (getenv("MCP_API_KEYS_PATH") && *getenv("MCP_API_KEYS_PATH"));
        bool users_given, users_read = false; /* users_given: see users_path() */
        const char *kp = keys_path(x), *up = users_path(x, &users_given);
        int r, rk = 0, nk = -1, ru = 0;
        size_t nu = 0;
        cJSON *o;

        if (x->n_args > 1)
                return ctl_usage_error("check-config takes at most one file");
        r = config_load_file(path, &c, err, sizeof(err), print_warning, NULL);
        /* The key file too: when named, or when the default one is there and readable (the
         * hub's own user, in ExecStartPre=, cannot read it, and need not). */
        if (keys_given || access(kp, R_OK) == 0) {
                rk = keyring_add_file(&kr, kp, print_warning, NULL);
                nk = rk >= 0 ? rk : -1;
                keyring_done(&kr);
        }
        /* And the users file: when --users names it, or when the one MCP_USERS_PATH names (or
         * the default) is there: like the hub, which reads no rules from a missing file (the
         * units name it whether or not the operator made one). */
        if (x->users || access(up, F_OK) == 0) {
                users_read = true;
                ru = users_load_file(up, &u, uerr, sizeof(uerr), print_warning, NULL);
                nu = u.n;
                users_done(&u);
        }
        if (x->json) {
                o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "config", path);
                cJSON_AddBoolToObject(o, "valid", r >= 0 && rk >= 0 && ru >= 0);
                if (r >= 0)
                        cJSON_AddNumberToObject(o, "servers", (double)c.n_servers);
                else
                        cJSON_AddStringToObject(o, "error", err);
                if (nk >= 0 || rk < 0) {
                        cJSON_AddStringToObject(o, "keys", kp);
                        if (rk >= 0)
                                cJSON_AddNumberToObject(o, "key_count", nk);
                        else
                                cJSON_AddStringToObject(o, "keys_error", strerror(-rk));
                }
                if (users_read) {
                        cJSON_AddStringToObject(o, "users", up);
                        if (ru >= 0)
                                cJSON_AddNumberToObject(o, "client_count", (double)nu);
                        else
                                cJSON_AddStringToObject(o, "users_error", uerr);
                }
                ctl_print_json(o);
                cJSON_Delete(o);
        }
        if (r < 0) {
                config_done(&c);
                return ctl_error("%s", err);
        }
        if (rk < 0) {
                config_done(&c);
                errno = -rk;
                return ctl_error("%s: %m", kp);
        }
        if (ru < 0) {
                config_done(&c);
                return ctl_error("%s", uerr);
        }
        if (!x->json) {
                printf("%s: valid, %zu server(s)\n", path, c.n_servers);
                if (nk >= 0)
                        printf("%s: valid, %d key(s)\n", kp, nk);
                if (users_read)
                        printf("%s: valid, %zu client(s)\n", up, nu);
        }
        config_done(&c);
        return EXIT_OK;
}

/* ---------------------------------------------------------------- the key file */

struct keyfile {
        const char *path;
        cJSON *root;
        struct stat st;
        bool exists;
};

static int keyfile_load(struct keyfile *k, const char *path)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int fd, r;

        *k = (struct keyfile){.path = path};
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                if (errno != ENOENT)
                        return ctl_error("cannot open the key file '%s': %m", path);
                k->root = cJSON_CreateObject();
                return k->root ? EXIT_OK : ctl_error("out of memory");
        }
        k->exists = true;
        if (fstat(fd, &k->st) < 0) {
                close(fd);
                return ctl_error("%s: %m", path);
        }
        r = file_read_all(fd, KEYS_FILE_MAX, &text, &len);
        close(fd);
        if (r < 0) {
                errno = -r;
                return ctl_error("cannot read the key file '%s': %m", path);
        }
        k->root = cJSON_ParseWithLength(text, len);
        explicit_bzero(text, len);
        if (!cJSON_IsObject(k->root))
                return ctl_error("the key file '%s' is not a JSON object: fix it first", path);
        return EXIT_OK;
}

/* cJSON keeps every name (an API key, for plain entries) in its own allocation. */
static void keyfile_done(struct keyfile *k)
{
        cJSON *e;

        cJSON_ArrayForEach(e, k->root) if (e->string) explicit_bzero(e->string, strlen(e->string));
        cJSON_Delete(k->root);
        k->root = NULL;
}

static int keyfile_save(struct keyfile *k)
{
        _cleanup_cjson_str_ char *text = cJSON_Print(k->root);
        size_t len;
        int r;

        if (!text)
                return ctl_error("out of memory");
        len = strlen(text);
        /* Same owner and mode as before (root:mcp-proxy 0640 as installed); a new file is
         * root's alone until the operator says otherwise. */
        r = file_write_atomic_owned(k->path, text, len, k->exists ? k->st.st_mode & 07777 : 0600,
                                    k->exists ? (long)k->st.st_uid : -1,
                                    k->exists ? (long)k->st.st_gid : -1);
        explicit_bzero(text, len);
        if (r < 0) {
                errno = -r;
                return ctl_error("cannot write the key file '%s': %m", k->path);
        }
        return EXIT_OK;
}

/* The digest of an entry, in hex: its name for hashed entries, computed for plain ones. */
static bool entry_digest(const cJSON *e, char hex[2 * SHA256_DIGEST_SIZE + 1], bool *ret_hashed)
{
        const char *n = e->string;
        uint8_t d[SHA256_DIGEST_SIZE];
        int r;

        if (!n)
                return false;
        /* As the fronts read it: a hashed entry's digest, else the digest of the plain key. A
         * malformed hashed entry is one they ignore. */
        r = auth_hashed_key_digest(n, d);
        if (r < 0)
                return false;
        if (r == 0)
                sha256(n, strlen(n), d);
        hex_encode(d, sizeof(d), hex);
        explicit_bzero(d, sizeof(d));
        *ret_hashed = r == 1;
        return true;
}

/* "+30d", "+12h", "+90m", "+3600s", "2027-01-31", "2027-01-31T12:00:00Z" or epoch seconds. */
static int parse_expires(const char *s, int64_t *ret)
{
        struct tm tm = {};
        char *end;
        long long v;

        if (s[0] == '+') {
                errno = 0;
                v = strtoll(s + 1, &end, 10);
                if (errno || v <= 0 || end == s + 1 || end[1] != 0)
                        return -EINVAL;
                switch (*end) {
                case 'd':
                        v *= 86400;
                        break;
                case 'h':
                        v *= 3600;
                        break;
                case 'm':
                        v *= 60;
                        break;
                case 's':
                        break;
                default:
                        return -EINVAL;
                }
                *ret = (int64_t)time(NULL) + v;
                return 0;
        }
        end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (!end || *end) {
                memset(&tm, 0, sizeof(tm));
                end = strptime(s, "%Y-%m-%d", &tm);
        }
        if (end && !*end) {
                *ret = (int64_t)timegm(&tm);
                return 0;
        }
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno || *end || v <= 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int key_new(struct ctl *x, struct keyfile *k)
{
        static const char b64[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        const char *client = x->args[1];
        uint8_t raw[32], d[SHA256_DIGEST_SIZE];
        char key[4 + 44], name[8 + 2 * SHA256_DIGEST_SIZE], hex[2 * SHA256_DIGEST_SIZE + 1];
        int64_t expires = 0;
        size_t j = 0;
        cJSON *e;
        int r;

        if (x->n_args != 2)
                return ctl_usage_error("key new takes one client id");
        if (!*client || strlen(client) > CLIENT_ID_MAX_LEN ||
            strspn(client, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.@") !=
                strlen(client))
                return ctl_usage_error("a client id is 1 to %d letters, digits, '-', '_', '.' or "
                                       "'@'",
                                       CLIENT_ID_MAX_LEN);
        if (x->expires && (parse_expires(x->expires, &expires) < 0 || expires <= time(NULL)))
                return ctl_usage_error("--expires '%s' is not a time in the future (+30d, +12h, "
                                       "2027-01-31, 2027-01-31T12:00:00Z, epoch seconds)",
                                       x->expires);
        r = random_bytes(raw, sizeof(raw));
        if (r < 0) {
                errno = -r;
                return ctl_error("getrandom(): %m");
        }
        /* "mcp_" and 43 base64url characters: 256 bits. */
        memcpy(key, "mcp_", 4);
        j = 4;
        for (size_t i = 0; i < sizeof(raw); i += 3) {
                uint32_t v = (uint32_t)raw[i] << 16 |
                             (i + 1 < sizeof(raw) ? (uint32_t)raw[i + 1] << 8 : 0) |
                             (i + 2 < sizeof(raw) ? raw[i + 2] : 0);
                size_t chars = i + 2 < sizeof(raw) ? 4 : i + 1 < sizeof(raw) ? 3 : 2;
                for (size_t q = 0; q < chars; q++)
                        key[j++] = b64[(v >> (18 - 6 * q)) & 63];
        }
        key[j] = 0;
        explicit_bzero(raw, sizeof(raw));
        sha256(key, j, d);
        hex_encode(d, sizeof(d), hex);
        snprintf(name, sizeof(name), "sha256:%s", hex);
        e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "client_id", client);
        if (x->scopes) {
                cJSON *arr = cJSON_AddArrayToObject(e, "scopes");
                char *dup = strdup(x->scopes), *save = NULL;
                for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save))
                        if (*t)
                                cJSON_AddItemToArray(arr, cJSON_CreateString(t));
                free(dup);
        }
        if (expires)
                cJSON_AddNumberToObject(e, "expires_at", (double)expires);
        cJSON_AddItemToObject(k->root, name, e);
        r = keyfile_save(k);
        if (r != EXIT_OK) {
                explicit_bzero(key, sizeof(key));
                return r;
        }
        if (x->json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "client_id", client);
                cJSON_AddStringToObject(o, "key", key);
                hex[ID_HEX] = 0;
                cJSON_AddStringToObject(o, "id", hex);
                if (expires)
                        cJSON_AddNumberToObject(o, "expires_at", (double)expires);
                ctl_print_json(o);
                /* the printed copy inside o */
                explicit_bzero(json_get(o, "key")->valuestring, j);
                cJSON_Delete(o);
        } else {
                fprintf(stderr,
                        "New key for '%s' (id %.*s), stored hashed in %s. It is shown "
                        "this once:\n",
                        client, ID_HEX, hex, k->path);
                printf("%s\n", key);
        }
        explicit_bzero(key, sizeof(key));
        return EXIT_OK;
}

static int key_list(struct ctl *x, struct keyfile *k)
{
        static const char *const hdr[] = {"CLIENT", "ID", "STORED", "SCOPES", "EXPIRES"};
        struct table *t = x->json ? NULL : table_new(x, hdr, 5);
        cJSON *out = cJSON_CreateArray();
        time_t now = time(NULL);
        const cJSON *e;

        if (x->n_args != 1) {
                table_free(t);
                cJSON_Delete(out);
                return ctl_usage_error("key list takes no argument");
        }
        cJSON_ArrayForEach(e, k->root)
        {
                char hex[2 * SHA256_DIGEST_SIZE + 1], scopes[256] = "", exp[64] = "never";
                const cJSON *s, *ex = json_get(e, "expires_at");
                bool hashed;
                if (!cJSON_IsObject(e) || !entry_digest(e, hex, &hashed))
                        continue;
                hex[ID_HEX] = 0;
                cJSON_ArrayForEach(s, json_get(e, "scopes")) if (cJSON_IsString(s))
                {
                        if (*scopes)
                                strncat(scopes, ",", sizeof(scopes) - strlen(scopes) - 1);
                        strncat(scopes, s->valuestring, sizeof(scopes) - strlen(scopes) - 1);
                }
                if (!json_get(e, "scopes"))
                        snprintf(scopes, sizeof(scopes), "*");
                if (cJSON_IsNumber(ex)) {
                        time_t tt = (time_t)ex->valuedouble;
                        struct tm tm;
                        if (tt <= now)
                                snprintf(exp, sizeof(exp), "EXPIRED");
                        else if (gmtime_r(&tt, &tm))
                                strftime(exp, sizeof(exp), "%Y-%m-%d %H:%M UTC", &tm);
                }
                if (x->json) {
                        cJSON *o = cJSON_CreateObject();
                        cJSON_AddStringToObject(o, "client_id", json_get_string(e, "client_id"));
                        cJSON_AddStringToObject(o, "id", hex);
                        cJSON_AddBoolToObject(o, "hashed", hashed);
                        cJSON_AddItemToObject(o, "scopes",
                                              json_get(e, "scopes")
                                                  ? cJSON_Duplicate(json_get(e, "scopes"), true)
                                                  : cJSON_Parse("[\"*\"]"));
                        if (cJSON_IsNumber(ex)) {
                                cJSON_AddNumberToObject(o, "expires_at", ex->valuedouble);
                                cJSON_AddBoolToObject(o, "expired", ex->valuedouble <= (double)now);
                        }
                        cJSON_AddItemToArray(out, o);
                        continue;
                }
                const char *cells[] = {json_get_string(e, "client_id"), hex,
                                       hashed ? "hashed" : "plain", scopes, exp};
                table_row(t, cells, 4);
        }
        if (x->json)
                ctl_print_json(out);
        else
                table_print(t);
        cJSON_Delete(out);
        table_free(t);
        return EXIT_OK;
}

static int key_revoke(struct ctl *x, struct keyfile *k)
{
        const char *what;
        size_t n = 0, plen;
        bool by_client = false;
        cJSON *e, *next;

        if (x->n_args != 2)
                return ctl_usage_error("key revoke takes a client id or a key id");
        what = x->args[1];
        if (strncmp(what, "sha256:", 7) == 0)
                what += 7;
        cJSON_ArrayForEach(e, k->root) if (cJSON_IsObject(e) && json_get_string(e, "client_id") &&
                                           strcmp(json_get_string(e, "client_id"), what) == 0)
            by_client = true;
        plen = strlen(what);
        if (!by_client && (plen < 8 || strspn(what, "0123456789abcdefABCDEF") != plen))
                return ctl_error("no key of client '%s' (a key id is at least 8 hex digits)",
                                 x->args[1]);
        for (e = k->root->child; e; e = next) {
                char hex[2 * SHA256_DIGEST_SIZE + 1];
                bool hashed, match;
                next = e->next;
                if (by_client)
                        match = json_get_string(e, "client_id") &&
                                strcmp(json_get_string(e, "client_id"), what) == 0;
                else
                        match = entry_digest(e, hex, &hashed) && strncasecmp(hex, what, plen) == 0;
                if (!match)
                        continue;
                explicit_bzero(e->string, strlen(e->string));
                cJSON_Delete(cJSON_DetachItemViaPointer(k->root, e));
                n++;
        }
        if (n == 0)
                return ctl_error("no key matches '%s'", x->args[1]);
        if (keyfile_save(k) != EXIT_OK)
                return EXIT_FAIL;
        if (x->json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddNumberToObject(o, "revoked", (double)n);
                ctl_print_json(o);
                cJSON_Delete(o);
        } else
                printf("revoked %zu key(s) %s '%s'; new requests with them get 401 at once\n", n,
                       by_client ? "of client" : "with id", x->args[1]);
        return EXIT_OK;
}

int verb_key(struct ctl *x)
{
        struct keyfile k;
        int r;

        if (x->n_args < 1)
                return ctl_usage_error("key needs new, list or revoke");
        if (strcmp(x->args[0], "new") && strcmp(x->args[0], "list") && strcmp(x->args[0], "revoke"))
                return ctl_usage_error("unknown key verb '%s' (new, list, revoke)", x->args[0]);
        r = keyfile_load(&k, keys_path(x));
        if (r != EXIT_OK) {
                keyfile_done(&k);
                return r;
        }
        if (!strcmp(x->args[0], "new"))
                r = key_new(x, &k);
        else if (!strcmp(x->args[0], "list"))
                r = key_list(x, &k);
        else
                r = key_revoke(x, &k);
        keyfile_done(&k);
        return r;
}
