/* SPDX-License-Identifier: MIT */
/*
 * mcp-proxy-hub: main, configuration, the socket, signals, shutdown.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth.h"
#include "hub/hub.h"
#include "hub/log-journal.h"
#include "json.h"
#include "mcp-limits.h"
#include "log.h"
#include "upstream/curl-glue.h"
#include "upstream/upstream.h"

static const char *arg_config;
static const char *arg_socket;
static bool arg_check_config;

static void config_warn(void *userdata, const char *message)
{
        log_warning("%s", message);
}

static void help(void)
{
        printf("Usage: mcp-proxy-hub [OPTIONS]\n\n"
               "The persistent daemon of mcp-proxy: owns the upstream MCP servers, the client\n"
               "sessions and the aggregated catalogue; fronts connect over a UNIX socket.\n\n"
               "  -c, --config PATH    upstream config (default $MCP_CONFIG_PATH or\n"
               "                       /etc/mcp-proxy/mcp_config.json)\n"
               "  -s, --socket PATH    hub socket (default $MCP_HUB_SOCKET,\n"
               "                       $RUNTIME_DIRECTORY/hub.sock, /run/mcp-proxy/hub.sock)\n"
               "      --check-config   validate the config and exit (0 valid, 1 invalid)\n"
               "  -h, --help           show this help\n"
               "      --version        show the version\n\n"
               "See mcp-proxy-hub(8) and mcp-proxy.conf(5).\n");
}

static int parse_argv(int argc, char **argv)
{
        enum { ARG_VERSION = 0x100, ARG_CHECK };
        static const struct option options[] = {
            {"config", required_argument, NULL, 'c'},
            {"socket", required_argument, NULL, 's'},
            {"check-config", no_argument, NULL, ARG_CHECK},
            {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, ARG_VERSION},
            {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "c:s:h", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        arg_config = optarg;
                        break;
                case 's':
                        arg_socket = optarg;
                        break;
                case ARG_CHECK:
                        arg_check_config = true;
                        break;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("mcp-proxy-hub %s\n", VERSION);
                        return 0;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                log_error("unexpected argument '%s'", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

static const char *config_path(void)
{
        const char *p = arg_config ? arg_config : getenv("MCP_CONFIG_PATH");
        return p && *p ? p : "/etc/mcp-proxy/mcp_config.json";
}

static int socket_path(char **ret)
{
        const char *p = arg_socket ? arg_socket : getenv("MCP_HUB_SOCKET");
        const char *rd = getenv("RUNTIME_DIRECTORY");

        if (p && *p)
                *ret = strdup(p);
        else if (rd && *rd) {
                /* RUNTIME_DIRECTORY may list several, colon-separated: use the first. */
                size_t l = strcspn(rd, ":");
                if (asprintf(ret, "%.*s/%s", (int)l, rd, HUB_SOCKET_NAME) < 0)
                        *ret = NULL;
        } else
                *ret = strdup(HUB_SOCKET_DEFAULT);
        return *ret ? 0 : -ENOMEM;
}

static int parse_seconds_env(const char *name, uint64_t def_usec, uint64_t *ret)
{
        const char *v = getenv(name);
        char *end;
        double d;

        *ret = def_usec;
        if (!v || !*v)
                return 0;
        errno = 0;
        d = strtod(v, &end);
        if (errno || *end || d < 0 || d > 30 * 86400) {
                log_warning("%s='%s' is not a number of seconds, using the default", name, v);
                return 0;
        }
        *ret = (uint64_t)(d * 1e6);
        return 0;
}

static int bind_socket(struct hub *h)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        mode_t old;
        int r;

        if (strlen(h->socket_path) >= sizeof(sa.sun_path))
                return log_error_errno(ENAMETOOLONG, "socket path '%s' is too long",
                                       h->socket_path);
        strcpy(sa.sun_path, h->socket_path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return log_error_errno(errno, "socket(): %m");
        /* A socket left by a dead hub is removed; a live hub's is not stolen. */
        if (lstat(h->socket_path, &st) == 0 && S_ISSOCK(st.st_mode)) {
                _cleanup_close_ int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0)
                        return log_error_errno(
                            EADDRINUSE, "another hub is already listening on '%s'", h->socket_path);
                (void)unlink(h->socket_path);
        }
        {
                /* Create the parent for the default /run path. */
                char *slash = strrchr(sa.sun_path, '/');
                if (slash && slash != sa.sun_path) {
                        *slash = 0;
                        if (mkdir(sa.sun_path, 0755) < 0 && errno != EEXIST)
                                log_debug_errno(errno, "mkdir '%s': %m", sa.sun_path);
                        *slash = '/';
                }
        }
        old = umask(0117);
        r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
        umask(old);
        if (r < 0)
                return log_error_errno(errno, "cannot bind '%s': %m", h->socket_path);
        if (listen(fd, FRONT_LISTEN_BACKLOG) < 0)
                return log_error_errno(errno, "listen(): %m");
        h->listen_fd = TAKE_FD(fd);
        h->listen_fd_owned = true;
        return 0;
}

static int setup_socket(struct hub *h)
{
        int n = sd_listen_fds(true);

        if (n < 0)
                return log_error_errno(n, "LISTEN_FDS: %m");
        if (n > 1)
                return log_error_errno(EINVAL,
                                       "expected one socket from the service manager, got %d", n);
        if (n == 1) {
                int fd = SD_LISTEN_FDS_START;
                if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0)
                        return log_error_errno(EINVAL,
                                               "the passed fd is not a listening AF_UNIX stream "
                                               "socket");
                (void)fcntl(fd, F_SETFL, O_NONBLOCK);
                (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
                h->listen_fd = fd;
                log_info("listening on the socket passed by the service manager");
                return 0;
        }
        return bind_socket(h);
}

static int load_config(struct hub *h)
{
        char err[1024];
        int r;

        r = config_load_file(h->config_path, &h->config, err, sizeof(err), config_warn, NULL);
        if (r < 0)
                return log_error_errno(r, "invalid configuration: %s", err);
        return 0;
}

/* MCP_LOG_LEVELS="name:level,...": a level per upstream, for its own lines and its stderr. */
static void apply_log_levels(struct hub *h)
{
        const char *v = getenv("MCP_LOG_LEVELS");
        _cleanup_free_ char *copy = NULL;
        char *save = NULL;

        if (!v || !*v)
                return;
        copy = strdup(v);
        if (!copy)
                return;
        for (char *e = strtok_r(copy, ",", &save); e; e = strtok_r(NULL, ",", &save)) {
                char *colon = strchr(e, ':');
                bool found = false;
                int level;

                while (*e == ' ' || *e == '\t')
                        e++;
                if (colon) {
                        /* Trim around both halves: "a : debug , b:info" */
                        char *end = colon;
                        while (end > e && (end[-1] == ' ' || end[-1] == '\t'))
                                end--;
                        *end = 0;
                        for (char *t = colon + strlen(colon);
                             t > colon + 1 && (t[-1] == ' ' || t[-1] == '\t');)
                                *--t = 0;
                        while (colon[1] == ' ' || colon[1] == '\t')
                                memmove(colon + 1, colon + 2, strlen(colon + 2) + 1);
                }
                if (!colon) {
                        log_warning("MCP_LOG_LEVELS entry '%s' has no ':', ignoring", e);
                        continue;
                }
                *colon = 0;
                level = log_level_from_string(colon + 1);
                if (level < 0) {
                        log_warning("MCP_LOG_LEVELS: unknown level '%s' for '%s', ignoring",
                                    colon + 1, e);
                        continue;
                }
                for (size_t i = 0; i < h->n_servers; i++)
                        if (strcmp(h->servers[i]->name, e) == 0) {
                                /* Its instances are made later and look here. */
                                h->servers[i]->hub_inst->u->log_level = level;
                                found = true;
                        }
                if (!found)
                        log_warning("MCP_LOG_LEVELS: no upstream named '%s', ignoring", e);
        }
}

static int sweep_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct hub *h = userdata;

        sessions_expire(h, h->session_idle_usec);
        srv_requests_sweep(h);
        /* A checkpoint a minute at most old when something changed: after a crash the next
         * hub restores from it, and what ended since is in ended.log. */
        if (h->sessions_dirty)
                (void)sessions_save(h);
        (void)sd_event_source_set_time_relative(s, SESSION_SWEEP_MS * USEC_PER_MSEC);
        return 0;
}

/* Remembers the users file's identity; true when it differs from the last time. */
static bool users_stat(struct hub *h)
{
        const char *p = getenv("MCP_USERS_PATH");
        struct stat st = {};
        char now[128];
        bool changed;

        if (!p || !*p || stat(p, &st) < 0)
                snprintf(now, sizeof(now), "none");
        else
                snprintf(now, sizeof(now), "%llu:%llu:%lld:%lld.%09ld",
                         (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
                         (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
        changed = strcmp(now, h->users_id) != 0;
        snprintf(h->users_id, sizeof(h->users_id), "%s", now);
        return changed;
}

/*
 * SIGHUP (ExecReload=, the path unit, MCP_LIVE_RELOAD): the new configuration is read
 * and checked first; a bad one leaves everything as it was, and says why in the log,
 * the service manager's STATUS= and /health. A good one is applied by difference
 * (servers_reload()).
 */
int hub_reload(struct hub *h)
{
        struct users u = {};
        struct config c = {};
        char err[1024], status[1200];
        int r;

        (void)sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, now_usec());
        log_notice("reloading '%s'", h->config_path);
        h->reload_usec = now_usec();
        free(h->reload_error);
        h->reload_error = NULL;
        r = config_load_file(h->config_path, &c, err, sizeof(err), config_warn, NULL);
        /* The users file with it: both valid, or nothing changes. */
        if (r >= 0)
                r = access_load(h, &u, err, sizeof(err));
        if (r >= 0) {
                r = servers_reload(h, &c, NULL);
                if (r < 0)
                        users_done(&u);
                if (r < 0)
                        snprintf(err, sizeof(err), "%s", strerror(-r));
        }
        if (r < 0) {
                log_error("reload failed, keeping the running configuration: %s", err);
                h->reload_error = strdup(err);
                config_done(&c);
                snprintf(status, sizeof(status),
                         "Reload failed, serving the previous configuration: %s", err);
                (void)sd_notifyf(false, "READY=1\nSTATUS=%s", status);
                return -EINVAL;
        }
        config_done(&h->config);
        h->config = c;
        access_set(h, &u);
        apply_log_levels(h);
        hub_lists_changed(h);
        /* Changed rules change what each client sees: every list, for everyone. */
        if (users_stat(h))
                hub_lists_changed_all(h);
        loglevel_recompute(h, NULL);
        (void)sd_notify(false, "READY=1\nSTATUS=Serving");
        return 0;
}

int hub_restart_server(struct hub *h, const char *name)
{
        int r;

        for (size_t i = 0; i < h->n_servers; i++)
                if (strcmp(h->servers[i]->name, name) == 0) {
                        log_notice("restarting upstream '%s' as asked", name);
                        r = servers_reload(h, &h->config, name);
                        if (r < 0)
                                return r;
                        apply_log_levels(h);
                        hub_lists_changed(h);
                        loglevel_recompute(h, NULL);
                        return 0;
                }
        return -ENOENT;
}

static int on_reload(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        struct hub *h = userdata;

        if (!h->shutting_down)
                (void)hub_reload(h);
        return 0;
}

/* MCP_LIVE_RELOAD: the config's directory is watched; a write closed on it or a file moved
 * onto it (an editor's atomic save) reloads, once things have been quiet for a while. */
static int live_reload_timer_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct hub *h = userdata;

        if (!h->shutting_down)
                (void)hub_reload(h);
        return 0;
}

static int live_reload_inotify_cb(sd_event_source *s, const struct inotify_event *ev,
                                  void *userdata)
{
        struct hub *h = userdata;
        const char *base = strrchr(h->config_path, '/');

        base = base ? base + 1 : h->config_path;
        if (!ev->len || strcmp(ev->name, base) != 0)
                return 0;
        log_debug("'%s' changed, reloading in %d ms unless it changes again", h->config_path,
                  LIVE_RELOAD_DEBOUNCE_MS);
        (void)sd_event_source_set_time_relative(h->live_reload_timer,
                                                LIVE_RELOAD_DEBOUNCE_MS * USEC_PER_MSEC);
        (void)sd_event_source_set_enabled(h->live_reload_timer, SD_EVENT_ONESHOT);
        return 0;
}

static int live_reload_setup(struct hub *h)
{
        _cleanup_free_ char *dir = strdup(h->config_path);
        char *slash;
        int r;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (!slash)
                strcpy(dir, ".");
        else if (slash == dir)
                dir[1] = 0;
        else
                *slash = 0;
        r = sd_event_add_time(h->event, &h->live_reload_timer, CLOCK_MONOTONIC, UINT64_MAX,
                              10 * USEC_PER_MSEC, live_reload_timer_cb, h);
        if (r >= 0)
                r = sd_event_source_set_enabled(h->live_reload_timer, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_inotify(h->event, &h->live_reload_watch, dir,
                                         IN_CLOSE_WRITE | IN_MOVED_TO, live_reload_inotify_cb, h);
        if (r < 0)
                return log_error_errno(r, "MCP_LIVE_RELOAD: cannot watch '%s': %m", dir);
        log_info("MCP_LIVE_RELOAD: watching '%s' for changes of '%s'", dir, h->config_path);
        return 0;
}

/* The start is over once every server has been ready, or given up for now (backoff,
 * failed), or at HUB_STARTUP_WAIT_MS: the exchanges that waited go on. */
void hub_check_started(struct hub *h, bool force)
{
        if (!h->starting)
                return;
        for (size_t i = 0; !force && i < h->n_servers; i++) {
                enum upstream_state st = h->servers[i]->hub_inst->u->state;
                if (st == UPSTREAM_STARTING || st == UPSTREAM_STOPPED)
                        return;
        }
        h->starting = false;
        h->startup_timer = sd_event_source_disable_unref(h->startup_timer);
        log_info("started in %llu ms%s",
                 (unsigned long long)((now_usec() - h->started_usec) / USEC_PER_MSEC),
                 force ? ", some servers still starting" : "");
        subs_restore(h);
        conns_unpark(h);
}

static int startup_timeout_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        hub_check_started(userdata, true);
        return 0;
}

static int shutdown_timeout_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct hub *h = userdata;

        log_warning("upstreams still running after %d s, killing them", HUB_SHUTDOWN_MAX_MS / 1000);
        return sd_event_exit(h->event, 0);
}

static int on_terminate(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        struct hub *h = userdata;
        size_t i = 0;
        void *v;

        if (h->shutting_down)
                return 0;
        h->shutting_down = true;
        (void)sd_notify(false, "STOPPING=1");
        log_notice("received %s, shutting down", strsignal((int)si->ssi_signo));
        (void)sd_event_source_set_enabled(h->listen_source, SD_EVENT_OFF);
        (void)sd_event_source_set_enabled(h->control_source, SD_EVENT_OFF);
        (void)sd_event_add_time_relative(h->event, NULL, CLOCK_MONOTONIC,
                                         HUB_SHUTDOWN_MAX_MS * USEC_PER_MSEC, USEC_PER_MSEC,
                                         shutdown_timeout_cb, h);
        /* Exchanges not yet dispatched (idle between two, waiting, half read) are closed
         * without a word: the front sends them again, to the next hub. */
        for (bool again = true; again;) {
                again = false;
                i = 0;
                while (hmap_next(&h->conns, &i, NULL, &v)) {
                        struct conn *c = v;
                        if (!c->dispatched) {
                                hub_conn_close(c);
                                again = true;
                                break;
                        }
                }
        }
        /* 2026-07-28 listen streams end with their final result (listen.c). */
        listen_shutdown(h);
        /* End open SSE streams so fronts finish their responses. */
        i = 0;
        while (hmap_next(&h->conns, &i, NULL, &v)) {
                struct conn *c = v;
                if (c->stream)
                        c->stream = 0;
        }
        i = 0;
        while (hmap_next(&h->sessions, &i, NULL, &v)) {
                struct session *ss = v;
                for (struct sse_stream *st = ss->streams; st; st = st->next) {
                        struct conn *c;
                        /* A legacy session's stream is the only way to the answers of its
                         * requests (their POSTs got 202): it stays for the errors of those
                         * in flight, and ends when this hub closes its connections. */
                        if (ss->legacy && st->id == ss->get_stream)
                                continue;
                        c = hub_conn_get(h, st->conn_id);
                        st->conn_id = 0;
                        if (c)
                                (void)conn_send_simple(c, WIRE_REPLY_END);
                }
        }
        servers_stop_all(h);
        if (servers_all_stopped(h))
                return sd_event_exit(h->event, 0);
        return 0;
}

static void hub_done(struct hub *h)
{
        size_t i = 0;
        void *v;

        while (hmap_next(&h->conns, &i, NULL, &v))
                conn_free(v);
        hmap_done(&h->conns);
        sd_event_source_disable_unref(h->startup_timer);
        /* Freeing an upstream kills and reaps its child if it still runs. */
        servers_free(h);
        /* The upstreams took their easy handles out; then the multi, then its sources. */
        curl_glue_free(&h->upstream_env);
        catalogue_free(h);
        srv_requests_free_all(h);
        subs_free_all(h);
        listen_free_all(h);
        sessions_free_all(h);
        mrtrs_free_all(h);
        sd_event_source_disable_unref(h->listen_source);
        control_done(h);
        sd_event_source_disable_unref(h->sweep_timer);
        memory_done(h);
        if (h->listen_fd_owned && h->socket_path)
                (void)unlink(h->socket_path);
        if (h->listen_fd >= 0)
                safe_close(h->listen_fd);
        config_done(&h->config);
        free(h->reload_error);
        metrics_free(h);
        sd_event_source_disable_unref(h->live_reload_watch);
        sd_event_source_disable_unref(h->live_reload_timer);
        free(h->socket_path);
        session_store_done(h);
        access_done(h);
        free(h->state_dir);
        explicit_bzero(h->session_key, sizeof(h->session_key));
        sd_event_unref(h->event);
}

int main(int argc, char **argv)
{
        struct hub h = {.listen_fd = -EBADF, .control_fd = -EBADF, .ended_fd = -EBADF};
        const char *lvl = getenv("MCP_LOG_LEVEL");
        sigset_t mask;
        uint64_t delay;
        int r;

        log_setup("mcp-proxy-hub");
        /* Not dumpable: a process of our uid (a stdio upstream, say) cannot read our
         * /proc/PID/environ or memory, where keys and tokens are; no core dumps either. */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                log_warning_errno(errno, "prctl(PR_SET_DUMPABLE): %m, continuing");
        if (lvl && *lvl) {
                int l = log_level_from_string(lvl);
                if (l < 0)
                        log_warning("invalid MCP_LOG_LEVEL '%s', using info", lvl);
                else
                        log_set_max_level(l);
        }
        if (log_stderr_is_journal())
                log_journal_enable();

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? 2 : 0;

        h.config_path = config_path();
        if (arg_check_config) {
                struct users u;
                char err[1024];
                r = load_config(&h);
                if (r >= 0 && (r = access_load(&h, &u, err, sizeof(err))) < 0)
                        log_error_errno(r, "invalid users file: %s", err);
                else if (r >= 0)
                        users_done(&u);
                if (r >= 0)
                        printf("%s: valid, %zu server(s)\n", h.config_path, h.config.n_servers);
                config_done(&h.config);
                return r < 0 ? 1 : 0;
        }

        parse_seconds_env("MCP_RESTART_DELAY", RESTART_DELAY_MS_DEFAULT * USEC_PER_MSEC, &delay);
        /* Some delay always: a crash loop must not spin. */
        h.upstream_env.restart_delay_usec =
            MAX(delay, (uint64_t)RESTART_DELAY_MS_MIN * USEC_PER_MSEC);
        h.upstream_env.max_streak = RESTART_MAX_STREAK_DEFAULT;
        {
                const char *v = getenv("MCP_MAX_RETRIES");
                char *end;
                long n;
                if (v && *v) {
                        errno = 0;
                        n = strtol(v, &end, 10);
                        if (errno || *end || n < 0 || n > 1000000)
                                log_warning("MCP_MAX_RETRIES='%s' is not a count, using %d", v,
                                            RESTART_MAX_STREAK_DEFAULT);
                        else
                                h.upstream_env.max_streak = (unsigned)n;
                }
        }
        parse_seconds_env("MCP_SESSION_IDLE_TIMEOUT", HUB_SESSION_IDLE_MS * USEC_PER_MSEC,
                          &h.session_idle_usec);
        if (h.session_idle_usec == 0)
                h.session_idle_usec = HUB_SESSION_IDLE_MS * USEC_PER_MSEC;
        parse_seconds_env("MCP_INPUT_TIMEOUT", MRTR_TTL_MS * USEC_PER_MSEC, &h.mrtr_ttl_usec);
        if (h.mrtr_ttl_usec < USEC_PER_SEC / 10)
                h.mrtr_ttl_usec = USEC_PER_SEC / 10;
        /* 0 (or under a second): the default, set by memory_setup() */
        parse_seconds_env("MCP_SLOW_CLIENT_TIMEOUT", HUB_SLOW_CLIENT_MS_DEFAULT * USEC_PER_MSEC,
                          &h.slow_client_usec);
        if (h.slow_client_usec < USEC_PER_SEC)
                h.slow_client_usec = 0;
        h.started_usec = now_usec();

        /* Block the signals we handle before anything can fork. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);

        r = load_config(&h);
        if (r < 0)
                goto finish;
        {
                struct users u;
                char err[1024];
                r = access_load(&h, &u, err, sizeof(err));
                if (r < 0) {
                        log_error_errno(r, "invalid users file: %s", err);
                        goto finish;
                }
                access_set(&h, &u);
                users_stat(&h);
        }
        r = session_store_setup(&h);
        if (r < 0)
                goto finish;
        (void)sessions_load(&h);
        r = socket_path(&h.socket_path);
        if (r < 0)
                goto finish;
        r = sd_event_default(&h.event);
        if (r < 0) {
                log_error_errno(r, "cannot create the event loop: %m");
                goto finish;
        }
        r = setup_socket(&h);
        if (r < 0)
                goto finish;
        (void)control_setup(&h);
        if ((r = sd_event_add_signal(h.event, NULL, SIGTERM, on_terminate, &h)) < 0 ||
            (r = sd_event_add_signal(h.event, NULL, SIGINT, on_terminate, &h)) < 0 ||
            (r = sd_event_add_signal(h.event, NULL, SIGHUP, on_reload, &h)) < 0) {
                log_error_errno(r, "cannot watch signals: %m");
                goto finish;
        }
        (void)sd_event_set_watchdog(h.event, true);
        r = sd_event_add_time_relative(h.event, &h.sweep_timer, CLOCK_MONOTONIC,
                                       SESSION_SWEEP_MS * USEC_PER_MSEC, 1000 * USEC_PER_MSEC,
                                       sweep_cb, &h);
        if (r < 0) {
                log_error_errno(r, "cannot add a timer: %m");
                goto finish;
        }
        (void)sd_event_source_set_enabled(h.sweep_timer, SD_EVENT_ON);
        r = memory_setup(&h);
        if (r < 0) {
                log_error_errno(r, "cannot add a timer: %m");
                goto finish;
        }
        r = hub_listen_start(&h);
        if (r < 0) {
                log_error_errno(r, "cannot watch the socket: %m");
                goto finish;
        }
        h.upstream_env.event = h.event;
        r = servers_setup(&h);
        if (r < 0)
                goto finish;
        apply_log_levels(&h);
        if (env_is_true(getenv("MCP_LIVE_RELOAD")) && live_reload_setup(&h) < 0)
                log_warning("MCP_LIVE_RELOAD: reload with SIGHUP instead");
        (void)catalogue_rebuild(&h, NULL);
        parse_seconds_env("MCP_STARTUP_TIMEOUT", HUB_STARTUP_WAIT_MS * USEC_PER_MSEC, &delay);
        h.starting = delay > 0;
        r = h.starting ? sd_event_add_time_relative(h.event, &h.startup_timer, CLOCK_MONOTONIC,
                                                    delay, USEC_PER_MSEC, startup_timeout_cb, &h)
                       : 0;
        if (r < 0) {
                log_error_errno(r, "cannot add a timer: %m");
                goto finish;
        }
        servers_start(&h);
        hub_check_started(&h, false);
        log_notice("mcp-proxy-hub %s ready on '%s' with %zu upstream(s) from '%s'", VERSION,
                   h.listen_fd_owned ? h.socket_path : "(socket activation)", h.n_servers,
                   h.config_path);
        (void)sd_notify(false, "READY=1\nSTATUS=Serving");

        r = sd_event_loop(h.event);
        if (r < 0)
                log_error_errno(r, "event loop failed: %m");
        else
                /* A clean stop: the next hub takes the sessions back. */
                (void)sessions_save(&h);
finish:
        hub_done(&h);
        log_info("stopped");
        return r < 0 ? 1 : 0;
}
