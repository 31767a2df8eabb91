/* SPDX-License-Identifier: MIT */
/*
 * stdio transport: the server is a child process in its own process group,
 * speaking newline-delimited JSON-RPC on its stdin/stdout; its stderr lines
 * go to our log tagged with the server's name. Stop = close stdin, SIGTERM
 * to the group after a grace period, SIGKILL after another.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "fd-util.h"
#include "json.h"
#include "mcp-limits.h"
#include "proto/jsonrpc.h"
#include "proto/wire.h"
#include "log.h"
#include "strv.h"
#include "upstream/upstream.h"

struct stdio_transport {
        pid_t pid;
        int in_fd, out_fd, err_fd;
        sd_event_source *in_source, *out_source, *err_source, *child_source, *kill_timer;
        struct buf inq;  /* to the child's stdin */
        struct buf outb; /* from its stdout */
        struct buf errb; /* from its stderr */
        int kill_stage;  /* 0 none, 1 stdin closed, 2 SIGTERM sent, 3 SIGKILL sent */
        bool exited;
        bool out_eof;
        bool out_skip; /* dropping the rest of a line over UPSTREAM_MAX_LINE */
        bool down_reported;
        bool paused;     /* its stdout is not read (backpressure, see stdio_pause) */
        int exit_code;   /* when exited normally */
        int exit_signal; /* when killed */
};

static struct stdio_transport *T(struct upstream *u)
{
        return u->transport;
}

static void stdio_pause(struct upstream *u, bool paused);

/* Variables a launcher (npx, uvx, a shell script) needs; nothing else leaks through. */
static const char *const pass_env[] = {
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "LANG", "LC_ALL", "TZ", "TMPDIR", NULL,
};

static char **build_env(const struct server_config *cfg)
{
        size_t n = 0, k = 0;
        char **env;

        for (size_t i = 0; pass_env[i]; i++)
                n++;
        n += strv_length(cfg->env);
        env = calloc(n + 2, sizeof(char *));
        if (!env)
                return NULL;
        for (size_t i = 0; pass_env[i]; i++) {
                const char *v = getenv(pass_env[i]);
                bool overridden = false;
                size_t l = strlen(pass_env[i]);
                if (!v && strcmp(pass_env[i], "PATH") == 0)
                        v = "/usr/local/bin:/usr/bin:/bin";
                if (!v)
                        continue;
                for (size_t j = 0; cfg->env && cfg->env[j]; j++)
                        if (strncmp(cfg->env[j], pass_env[i], l) == 0 && cfg->env[j][l] == '=')
                                overridden = true;
                if (overridden)
                        continue;
                if (asprintf(&env[k], "%s=%s", pass_env[i], v) < 0)
                        goto fail;
                k++;
        }
        for (size_t i = 0; cfg->env && cfg->env[i]; i++)
                if (!(env[k++] = strdup(cfg->env[i])))
                        goto fail;
        return env;
fail:
        /* Filled from the start: the first NULL ends what there is to free. */
        return strv_free(env);
}

/* Finds the command the way execvp would, but in the PATH the child gets (the config's
 * "env" may set its own). */
static int resolve_command(const char *cmd, char **env, char **ret)
{
        const char *path = "/usr/local/bin:/usr/bin:/bin";
        struct stat st;

        if (strchr(cmd, '/')) {
                *ret = strdup(cmd);
                return *ret ? 0 : -ENOMEM;
        }
        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], "PATH=", 5) == 0)
                        path = env[i] + 5;
        for (const char *p = path;;) {
                const char *e = strchr(p, ':');
                size_t l = e ? (size_t)(e - p) : strlen(p);
                char *cand;
                if (asprintf(&cand, "%.*s%s%s", (int)l, p, l ? "/" : "", cmd) < 0)
                        return -ENOMEM;
                if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
                        *ret = cand;
                        return 0;
                }
                free(cand);
                if (!e)
                        break;
                p = e + 1;
        }
        return -ENOENT;
}

static void report_down(struct upstream *u, const char *reason)
{
        struct stdio_transport *t = T(u);

        if (t->down_reported)
                return;
        t->down_reported = true;
        upstream_transport_down(u, reason);
}

static void process_stdout_lines(struct upstream *u)
{
        struct stdio_transport *t = T(u);

        for (;;) {
                long n;
                const char *line = buf_head(&t->outb);
                cJSON *msg;
                size_t len;

                if (t->out_skip) {
                        /* The rest of a dropped line is not a message of its own. */
                        const char *nl = memchr(line, '\n', buf_avail(&t->outb));
                        if (!nl) {
                                buf_reset(&t->outb);
                                return;
                        }
                        buf_consume(&t->outb, (size_t)(nl - line) + 1);
                        t->out_skip = false;
                        continue;
                }
                n = wire_find_line(line, buf_avail(&t->outb), UPSTREAM_MAX_LINE);
                if (n == 0)
                        return;
                if (n < 0) {
                        int64_t id;
                        bool answer = jsonrpc_peek_response_id(
                            line, MIN(buf_avail(&t->outb), (size_t)UPSTREAM_PEEK_BYTES), &id);

                        upstream_log(u, LOG_WARNING, "message over %d bytes, dropping it%s",
                                     UPSTREAM_MAX_LINE,
                                     answer ? " (an answer: its request fails)" : "");
                        buf_reset(&t->outb);
                        t->out_skip = true;
                        /* Its request fails now rather than at its timeout. */
                        if (answer && (msg = jsonrpc_error_new(
                                           NULL, JSONRPC_INTERNAL_ERROR,
                                           "the server's answer was over 16 MiB, the most the "
                                           "proxy reads of one message",
                                           NULL))) {
                                json_set(msg, "id", cJSON_CreateNumber((double)id));
                                upstream_transport_message(u, msg);
                                if (!u->transport)
                                        return;
                                t = T(u);
                        }
                        continue;
                }
                len = (size_t)n - 1;
                if (len > 0 && line[len - 1] == '\r')
                        len--;
                /* Skip blank lines quietly. */
                if (len == 0 || strspn(line, " \t\r") >= len) {
                        buf_consume(&t->outb, (size_t)n);
                        continue;
                }
                msg = jsonrpc_parse(line, len, NULL);
                if (!msg)
                        upstream_log(u, LOG_WARNING, "stdout line is not JSON (%.60s%s), ignoring",
                                     line, len > 60 ? "..." : "");
                buf_consume(&t->outb, (size_t)n);
                if (msg) {
                        upstream_transport_message(u, msg);
                        /* The callback may have torn us down. */
                        if (!u->transport)
                                return;
                        t = T(u);
                }
        }
}

static int read_into(int fd, struct buf *b, size_t chunk, bool *eof)
{
        for (;;) {
                char *p = buf_reserve(b, chunk);
                ssize_t n;
                if (!p) {
                        /* Over the cap: the caller's line scan will find no newline and drop. */
                        return -E2BIG;
                }
                n = read(fd, p, chunk);
                if (n > 0) {
                        buf_commit(b, (size_t)n);
                        if ((size_t)n < chunk)
                                return 0;
                        continue;
                }
                if (n == 0) {
                        *eof = true;
                        return 0;
                }
                if (errno == EINTR)
                        continue;
                if (errno == EAGAIN)
                        return 0;
                return -errno;
        }
}

static void close_out(struct stdio_transport *t)
{
        t->out_source = sd_event_source_disable_unref(t->out_source);
        t->out_fd = safe_close(t->out_fd);
}

static int on_stdout(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct upstream *u = userdata;
        struct stdio_transport *t = T(u);
        bool eof = false;
        int r = 0;

        /* The buffer full is not one line over the cap: it may hold complete messages
         * before a partial one. Take them out, and read on a few times at most (the
         * source stays ready while the child has more). */
        for (int i = 0; i < 4; i++) {
                r = read_into(fd, &t->outb, 65536, &eof);
                process_stdout_lines(u);
                if (!u->transport)
                        return 0;
                t = T(u);
                if (r != -E2BIG || t->paused)
                        break;
        }
        buf_shrink(&t->outb, BUF_SHRINK_ABOVE);
        if (eof || (r < 0 && r != -E2BIG)) {
                t->out_eof = true;
                close_out(t);
                report_down(u, "closed its stdout");
        }
        return 0;
}

static void flush_stderr_lines(struct upstream *u, bool all)
{
        struct stdio_transport *t = T(u);
        for (;;) {
                const char *line = buf_head(&t->errb);
                size_t avail = buf_avail(&t->errb);
                const char *nl = memchr(line, '\n', avail);
                size_t len;

                if (!nl) {
                        if (!all && avail < UPSTREAM_STDERR_LINE)
                                return;
                        if (avail == 0)
                                return;
                        len = MIN(avail, (size_t)UPSTREAM_STDERR_LINE);
                        upstream_log_stderr(u, line, len);
                        buf_consume(&t->errb, len);
                        continue;
                }
                len = (size_t)(nl - line);
                if (len > 0 && line[len - 1] == '\r')
                        len--;
                if (len > 0)
                        upstream_log_stderr(u, line, MIN(len, (size_t)UPSTREAM_STDERR_LINE));
                buf_consume(&t->errb, (size_t)(nl - line) + 1);
        }
}

static int on_stderr(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct upstream *u = userdata;
        struct stdio_transport *t = T(u);
        bool eof = false;
        int r = read_into(fd, &t->errb, 4096, &eof);

        flush_stderr_lines(u, r == -E2BIG);
        if (eof || (r < 0 && r != -E2BIG)) {
                flush_stderr_lines(u, true);
                t->err_source = sd_event_source_disable_unref(t->err_source);
                t->err_fd = safe_close(t->err_fd);
        }
        return 0;
}

static void close_in(struct stdio_transport *t)
{
        t->in_source = sd_event_source_disable_unref(t->in_source);
        t->in_fd = safe_close(t->in_fd);
        buf_reset(&t->inq);
}

static int flush_stdin(struct upstream *u)
{
        struct stdio_transport *t = T(u);
        int r = buf_flush_fd(&t->inq, t->in_fd, false);

        if (r < 0)
                return r;
        buf_shrink(&t->inq, BUF_SHRINK_ABOVE);
        return sd_event_source_set_enabled(t->in_source,
                                           buf_avail(&t->inq) > 0 ? SD_EVENT_ON : SD_EVENT_OFF);
}

static int on_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct upstream *u = userdata;
        int r = flush_stdin(u);

        if (r < 0) {
                close_in(T(u));
                report_down(u, "closed its stdin");
        }
        return 0;
}

static void finish_if_done(struct upstream *u)
{
        struct stdio_transport *t = T(u);

        if (!t->exited)
                return;
        /* Anything it wrote before dying still counts. */
        if (t->out_fd >= 0) {
                bool eof = false;
                (void)read_into(t->out_fd, &t->outb, 65536, &eof);
                process_stdout_lines(u);
                if (!u->transport)
                        return;
                t = T(u);
                close_out(t);
        }
        if (t->err_fd >= 0) {
                bool eof = false;
                (void)read_into(t->err_fd, &t->errb, 4096, &eof);
                flush_stderr_lines(u, true);
                t->err_source = sd_event_source_disable_unref(t->err_source);
                t->err_fd = safe_close(t->err_fd);
        }
        close_in(t);
        t->kill_timer = sd_event_source_disable_unref(t->kill_timer);
        if (!t->down_reported) {
                char why[128];
                if (t->exit_signal)
                        snprintf(why, sizeof(why), "was killed by signal %s",
                                 sigabbrev_np(t->exit_signal) ? sigabbrev_np(t->exit_signal) : "?");
                else
                        snprintf(why, sizeof(why), "exited with status %d", t->exit_code);
                report_down(u, why);
                if (!u->transport)
                        return;
        }
        u->ops->free(u);
        upstream_transport_stopped(u);
}

static int on_child(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        struct upstream *u = userdata;
        struct stdio_transport *t = T(u);

        t->exited = true;
        if (si->si_code == CLD_EXITED)
                t->exit_code = si->si_status;
        else
                t->exit_signal = si->si_status;
        /* Take the rest of its process group with it: nothing may outlive the server. */
        (void)kill(-t->pid, SIGKILL);
        upstream_log(u, LOG_DEBUG, "pid %d exited", (int)t->pid);
        finish_if_done(u);
        return 0;
}

static int spawn(struct upstream *u, struct stdio_transport *t)
{
        int in[2] = {-EBADF, -EBADF}, out[2] = {-EBADF, -EBADF}, err[2] = {-EBADF, -EBADF};
        _cleanup_close_ int pidfd = -EBADF;
        char **env = NULL, **argv = NULL;
        _cleanup_free_ char *exe = NULL;
        size_t nargs = strv_length(u->cfg.args);
        pid_t pid;
        int r = 0;

        argv = calloc(nargs + 2, sizeof(char *));
        env = build_env(&u->cfg);
        if (!argv || !env) {
                r = -ENOMEM;
                goto out;
        }
        r = resolve_command(u->cfg.command, env, &exe);
        if (r < 0) {
                if (r == -ENOENT)
                        upstream_log(u, LOG_ERR, "command '%s' not found in PATH", u->cfg.command);
                goto out;
        }
        argv[0] = u->cfg.command;
        for (size_t i = 0; i < nargs; i++)
                argv[i + 1] = u->cfg.args[i];

        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
                r = -errno;
                goto out;
        }
        pid = fork();
        if (pid < 0) {
                r = -errno;
                goto out;
        }
        if (pid == 0) {
                sigset_t all;
                /* Child: only async-signal-safe calls from here on. */
                (void)setpgid(0, 0);
                sigemptyset(&all);
                for (int sig = 1; sig < NSIG; sig++)
                        (void)signal(sig, SIG_DFL);
                (void)sigprocmask(SIG_SETMASK, &all, NULL);
                if (dup2(in[0], STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0 ||
                    dup2(err[1], STDERR_FILENO) < 0)
                        _exit(126);
                /* Nothing of the hub's beyond the three: a descriptor a library opened
                 * without close-on-exec (libcurl's sockets and wake-up pipes are, on Debian
                 * 12) must not reach a server. */
                fd_close_from(3);
                if (u->cfg.cwd && chdir(u->cfg.cwd) < 0) {
                        static const char m[] = "mcp-proxy-hub: cannot chdir to the server's cwd\n";
                        ssize_t w = write(STDERR_FILENO, m, sizeof(m) - 1);
                        (void)w;
                        _exit(126);
                }
                execve(exe, argv, env);
                {
                        static const char m[] =
                            "mcp-proxy-hub: cannot execute the server's command\n";
                        ssize_t w = write(STDERR_FILENO, m, sizeof(m) - 1);
                        (void)w;
                }
                _exit(127);
        }
        /* Parent: also set the group here, closing the race with an early kill. */
        (void)setpgid(pid, pid);
        t->pid = pid;
        t->in_fd = TAKE_FD(in[1]);
        t->out_fd = TAKE_FD(out[0]);
        t->err_fd = TAKE_FD(err[0]);
        (void)fcntl(t->in_fd, F_SETFL, O_NONBLOCK);
        (void)fcntl(t->out_fd, F_SETFL, O_NONBLOCK);
        (void)fcntl(t->err_fd, F_SETFL, O_NONBLOCK);

        pidfd = pidfd_open(pid, 0);
        if (pidfd < 0) {
                r = -errno;
                (void)kill(-pid, SIGKILL);
                (void)waitpid(pid, NULL, 0);
                goto out;
        }
        r = sd_event_add_child_pidfd(u->env->event, &t->child_source, pidfd, WEXITED, on_child, u);
        if (r < 0) {
                (void)kill(-pid, SIGKILL);
                (void)waitpid(pid, NULL, 0);
                goto out;
        }
        (void)sd_event_source_set_child_pidfd_own(t->child_source, true);
        pidfd = -EBADF;
        /* Freeing the source (hub teardown) kills and reaps the child. */
        (void)sd_event_source_set_child_process_own(t->child_source, true);

        if ((r = sd_event_add_io(u->env->event, &t->out_source, t->out_fd, EPOLLIN, on_stdout, u)) <
                0 ||
            (r = sd_event_add_io(u->env->event, &t->err_source, t->err_fd, EPOLLIN, on_stderr, u)) <
                0 ||
            (r = sd_event_add_io(u->env->event, &t->in_source, t->in_fd, EPOLLOUT, on_stdin, u)) <
                0)
                goto out;
        (void)sd_event_source_set_enabled(t->in_source, SD_EVENT_OFF);
        if (u->paused)
                stdio_pause(u, true);
        upstream_log(u, LOG_INFO, "started pid %d: %s", (int)pid, u->cfg.command);
out:
        safe_close(in[0]);
        safe_close(in[1]);
        safe_close(out[0]);
        safe_close(out[1]);
        safe_close(err[0]);
        safe_close(err[1]);
        free(argv);
        strv_free(env);
        return r;
}

static void stdio_free(struct upstream *u);

static int stdio_start(struct upstream *u)
{
        struct stdio_transport *t;
        int r;

        if (u->transport)
                return -EBUSY;
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        *t = (struct stdio_transport){.in_fd = -EBADF, .out_fd = -EBADF, .err_fd = -EBADF};
        buf_init(&t->inq, UPSTREAM_STDIN_MAX);
        buf_init(&t->outb, UPSTREAM_MAX_LINE + 65536);
        buf_init(&t->errb, UPSTREAM_STDERR_LINE * 4);
        u->transport = t;
        r = spawn(u, t);
        if (r < 0) {
                stdio_free(u);
                return r;
        }
        upstream_transport_up(u);
        return 0;
}

static int stdio_send(struct upstream *u, const char *data, size_t len)
{
        struct stdio_transport *t = T(u);
        int r;

        if (!t || t->in_fd < 0)
                return -ENOTCONN;
        if (buf_avail(&t->inq) + len + 1 > UPSTREAM_STDIN_MAX)
                return -ENOBUFS;
        if ((r = buf_append(&t->inq, data, len)) < 0 || (r = buf_append(&t->inq, "\n", 1)) < 0)
                return r;
        r = flush_stdin(u);
        if (r < 0) {
                close_in(t);
                return r;
        }
        return 0;
}

static int kill_timer_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct upstream *u = userdata;
        struct stdio_transport *t = T(u);

        t->kill_timer = sd_event_source_disable_unref(t->kill_timer);
        if (t->exited)
                return 0;
        if (t->kill_stage < 2) {
                t->kill_stage = 2;
                upstream_log(u, LOG_INFO, "sending SIGTERM to process group %d", (int)t->pid);
                (void)kill(-t->pid, SIGTERM);
        } else {
                t->kill_stage = 3;
                upstream_log(u, LOG_WARNING, "still running, sending SIGKILL");
                (void)kill(-t->pid, SIGKILL);
                return 0;
        }
        (void)sd_event_add_time_relative(u->env->event, &t->kill_timer, CLOCK_MONOTONIC,
                                         CHILD_STOP_GRACE_MS * USEC_PER_MSEC, USEC_PER_MSEC,
                                         kill_timer_cb, u);
        return 0;
}

static void stdio_stop(struct upstream *u)
{
        struct stdio_transport *t = T(u);

        if (!t) {
                upstream_transport_stopped(u);
                return;
        }
        if (t->exited) {
                finish_if_done(u);
                return;
        }
        if (t->kill_stage > 0)
                return;
        t->kill_stage = 1;
        close_in(t);
        /* A crashed or dead-pipe server gets no grace: go straight to SIGTERM. */
        (void)sd_event_add_time_relative(u->env->event, &t->kill_timer, CLOCK_MONOTONIC,
                                         (t->down_reported && u->state != UPSTREAM_STOPPING)
                                             ? 1
                                             : CHILD_STOP_GRACE_MS * USEC_PER_MSEC,
                                         USEC_PER_MSEC, kill_timer_cb, u);
}

static void stdio_free(struct upstream *u)
{
        struct stdio_transport *t = T(u);

        if (!t)
                return;
        close_in(t);
        close_out(t);
        t->err_source = sd_event_source_disable_unref(t->err_source);
        t->err_fd = safe_close(t->err_fd);
        t->kill_timer = sd_event_source_disable_unref(t->kill_timer);
        if (t->child_source && !t->exited)
                (void)kill(-t->pid, SIGKILL);
        /* Owning the child: unref kills (if still alive) and reaps it. */
        t->child_source = sd_event_source_disable_unref(t->child_source);
        buf_done(&t->inq);
        buf_done(&t->outb);
        buf_done(&t->errb);
        free(t);
        u->transport = NULL;
}

static void stdio_describe(struct upstream *u, cJSON *o)
{
        struct stdio_transport *t = T(u);

        if (t && !t->exited)
                cJSON_AddNumberToObject(o, "pid", t->pid);
}

/* Backpressure: while paused its stdout is not read, so a server that writes more than the
 * pipe holds waits in write(2); its exit is still seen (the child's pidfd), and what it wrote
 * before is read then. */
static void stdio_pause(struct upstream *u, bool paused)
{
        struct stdio_transport *t = T(u);

        if (!t || t->paused == paused)
                return;
        t->paused = paused;
        if (t->out_source)
                (void)sd_event_source_set_enabled(t->out_source,
                                                  paused ? SD_EVENT_OFF : SD_EVENT_ON);
}

static size_t stdio_buffered(struct upstream *u)
{
        struct stdio_transport *t = T(u);

        return t ? t->inq.alloc + t->outb.alloc + t->errb.alloc : 0;
}

const struct upstream_ops upstream_stdio_ops = {
    .name = "stdio",
    .start = stdio_start,
    .send = stdio_send,
    .stop = stdio_stop,
    .free = stdio_free,
    .describe = stdio_describe,
    .pause = stdio_pause,
    .buffered = stdio_buffered,
};
