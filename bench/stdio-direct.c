/* SPDX-License-Identifier: MIT */
/*
 * stdio-direct: the floor any proxy adds to. Spawns an MCP server (the argv
 * after "--") on stdin/stdout pipes, initializes it, then times N sequential
 * tools/call requests (one in flight) and a throughput run with C requests
 * in flight (pipelined ids). Prints RESULT lines in the format of mcp-load:
 *
 *   RESULT name=direct-call mode=call conns=1 n=.. ok=.. fail=.. p50_us=.. ... rps=..
 *   RESULT name=direct-list mode=list conns=1 ...   (with --list-requests)
 *   RESULT name=direct-conc mode=conc inflight=16 n=.. ok=.. fail=.. ... rps=..
 *   RESULT name=direct-proc ready_ms=.. upstream_rss_kb=.. upstream_hwm_kb=..
 *
 * ready_ms runs from fork to the initialize response (node start included).
 *
 * The child is stopped at the end: stdin closed, then SIGTERM, then SIGKILL
 * (server-everything does not exit on EOF), and reaped.
 *
 * Exit status: 0 all requests succeeded, 1 failures or a runtime error, 2 usage.
 */
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "json.h"

#define LINE_MAX_BYTES    (16 * 1024 * 1024)
#define READ_CHUNK        (64 * 1024)
#define REQ_MAX           4096
#define STOP_EOF_WAIT_MS  300
#define STOP_TERM_WAIT_MS 2000

enum mode {
        MODE_CALL,
        MODE_LIST,
};

static uint64_t arg_requests = 2000;
static uint64_t arg_warmup = 200;
static uint64_t arg_inflight = 16;
static uint64_t arg_conc_requests = 20000;
static uint64_t arg_list_requests = 0;
static uint64_t arg_timeout_ms = 10000;
static const char *arg_tool = "echo";
static const char *arg_args = "{\"message\":\"hello\"}";
static const char *arg_name = "direct";
static const char *arg_stderr = "/dev/null";
static const char *arg_protocol = "2025-11-25";
static enum mode arg_mode = MODE_CALL;

struct child {
        pid_t pid;
        int in_fd;  /* we write the child's stdin */
        int out_fd; /* we read the child's stdout */
        char *buf;
        size_t start, end, cap;
        uint64_t other; /* messages that were not the awaited response */
};

static int child_spawn(struct child *c, char **argv)
{
        int in[2], out[2], errfd;
        pid_t pid;

        if (pipe2(in, O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(out, O_CLOEXEC) < 0) {
                int r = -errno;
                close(in[0]);
                close(in[1]);
                return r;
        }
        errfd = open(arg_stderr, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (errfd < 0) {
                int r = -errno;
                close(in[0]);
                close(in[1]);
                close(out[0]);
                close(out[1]);
                return r;
        }
        pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(in[0]);
                close(in[1]);
                close(out[0]);
                close(out[1]);
                close(errfd);
                return r;
        }
        if (pid == 0) {
                (void)prctl(PR_SET_PDEATHSIG, SIGTERM);
                if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(errfd, 2) < 0)
                        _exit(127);
                execvp(argv[0], argv);
                dprintf(errfd, "stdio-direct: exec '%s': %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        close(in[0]);
        close(out[1]);
        close(errfd);
        c->pid = pid;
        c->in_fd = in[1];
        c->out_fd = out[0];
        c->cap = READ_CHUNK * 4;
        c->buf = malloc(c->cap);
        if (!c->buf)
                return -ENOMEM;
        return 0;
}

static int wait_exit(pid_t pid, uint64_t ms)
{
        uint64_t deadline = now_ns() + ms * 1000000ULL;

        for (;;) {
                int status;
                pid_t p = waitpid(pid, &status, WNOHANG);
                if (p == pid || (p < 0 && errno == ECHILD))
                        return 0;
                if (now_ns() >= deadline)
                        return -ETIMEDOUT;
                usleep(10000);
        }
}

static void child_stop(struct child *c)
{
        c->in_fd = safe_close(c->in_fd);
        if (c->pid > 0) {
                if (wait_exit(c->pid, STOP_EOF_WAIT_MS) < 0) {
                        (void)kill(c->pid, SIGTERM);
                        if (wait_exit(c->pid, STOP_TERM_WAIT_MS) < 0) {
                                (void)kill(c->pid, SIGKILL);
                                (void)waitpid(c->pid, NULL, 0);
                        }
                }
                c->pid = 0;
        }
        c->out_fd = safe_close(c->out_fd);
        free(c->buf);
        c->buf = NULL;
}

static int write_all(int fd, const char *p, size_t n)
{
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t)k;
        }
        return 0;
}

/* Returns the next line (without '\n') from the child's stdout, borrowed until the next call. */
static int child_next_line(struct child *c, char **ret, size_t *ret_len)
{
        for (;;) {
                char *nl = memchr(c->buf + c->start, '\n', c->end - c->start);
                if (nl) {
                        *ret = c->buf + c->start;
                        *ret_len = (size_t)(nl - *ret);
                        c->start += *ret_len + 1;
                        return 0;
                }
                if (c->start > 0) {
                        memmove(c->buf, c->buf + c->start, c->end - c->start);
                        c->end -= c->start;
                        c->start = 0;
                }
                if (c->cap - c->end < READ_CHUNK) {
                        char *b;
                        if (c->cap >= LINE_MAX_BYTES)
                                return -E2BIG;
                        b = realloc(c->buf, c->cap * 2);
                        if (!b)
                                return -ENOMEM;
                        c->buf = b;
                        c->cap *= 2;
                }
                struct pollfd pfd = {.fd = c->out_fd, .events = POLLIN};
                int r = poll(&pfd, 1, (int)arg_timeout_ms);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (r == 0)
                        return -ETIMEDOUT;
                ssize_t k = read(c->out_fd, c->buf + c->end, c->cap - c->end);
                if (k < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -EPIPE;
                c->end += (size_t)k;
        }
}

/*
 * Reads messages until a response (a message with an "id" and no "method").
 * Returns 1 and the id when the response is a good result, 0 and the id when it
 * is an error or malformed result, -errno on I/O failure.
 */
static int child_read_response(struct child *c, enum mode mode, int64_t *ret_id, cJSON **ret_msg)
{
        for (;;) {
                char *line = NULL;
                size_t len = 0;
                int r = child_next_line(c, &line, &len);
                if (r < 0)
                        return r;
                if (len == 0)
                        continue;
                _cleanup_json_ cJSON *m = cJSON_ParseWithLength(line, len);
                if (!m) {
                        c->other++;
                        continue;
                }
                cJSON *id = json_get(m, "id");
                if (!cJSON_IsNumber(id) || json_get(m, "method")) {
                        c->other++; /* notification or request from the server */
                        continue;
                }
                *ret_id = (int64_t)id->valuedouble;
                cJSON *res = json_get(m, "result");
                bool ok = cJSON_IsObject(res);
                if (ok && mode == MODE_CALL && cJSON_IsTrue(json_get(res, "isError")))
                        ok = false;
                if (ok && mode == MODE_LIST && !cJSON_IsArray(json_get(res, "tools")))
                        ok = false;
                if (ret_msg)
                        *ret_msg = TAKE_PTR(m);
                return ok ? 1 : 0;
        }
}

static int format_request(char *buf, size_t size, enum mode mode, int64_t id)
{
        int n;

        if (mode == MODE_LIST)
                n = snprintf(buf, size,
                             "{\"jsonrpc\":\"2.0\",\"id\":%" PRId64
                             ",\"method\":\"tools/list\",\"params\":{}}\n",
                             id);
        else
                n = snprintf(buf, size,
                             "{\"jsonrpc\":\"2.0\",\"id\":%" PRId64 ",\"method\":\"tools/call\","
                             "\"params\":{\"name\":\"%s\",\"arguments\":%s}}\n",
                             id, arg_tool, arg_args);
        if (n < 0 || (size_t)n >= size)
                return -E2BIG;
        return n;
}

static int child_initialize(struct child *c, uint64_t *ret_init_ns)
{
        char req[REQ_MAX];
        int n, r;
        int64_t id;
        uint64_t t0;

        n = snprintf(req, sizeof(req),
                     "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
                     "\"protocolVersion\":\"%s\",\"capabilities\":{},"
                     "\"clientInfo\":{\"name\":\"stdio-direct\",\"version\":\"0.1\"}}}\n",
                     arg_protocol);
        if (n < 0 || (size_t)n >= sizeof(req))
                return -E2BIG;
        t0 = now_ns();
        r = write_all(c->in_fd, req, (size_t)n);
        if (r < 0)
                return r;
        do {
                r = child_read_response(c, MODE_CALL, &id, NULL);
                if (r < 0)
                        return r;
        } while (id != 0);
        if (r == 0)
                return -EPROTO;
        *ret_init_ns = now_ns() - t0;
        static const char initialized[] =
            "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n";
        return write_all(c->in_fd, initialized, sizeof(initialized) - 1);
}

/* One request in flight: warmup, then arg_requests timed calls. */
static int run_sequential(struct child *c, enum mode mode, uint64_t warmup, uint64_t requests,
                          int64_t *next_id, struct lat *l, uint64_t *ret_ok, uint64_t *ret_fail,
                          uint64_t *ret_elapsed_ns)
{
        char req[REQ_MAX];
        uint64_t ok = 0, fail = 0, t_start = 0;

        for (uint64_t i = 0; i < warmup + requests; i++) {
                int64_t id = (*next_id)++, got;
                int n = format_request(req, sizeof(req), mode, id), r;
                if (n < 0)
                        return n;
                if (i == warmup)
                        t_start = now_ns();
                uint64_t t0 = now_ns();
                r = write_all(c->in_fd, req, (size_t)n);
                if (r < 0)
                        return r;
                do {
                        r = child_read_response(c, mode, &got, NULL);
                        if (r < 0)
                                return r;
                } while (got < id); /* late answers to earlier ids are skipped */
                uint64_t t1 = now_ns();
                if (i < warmup)
                        continue;
                if (r == 1 && got == id) {
                        ok++;
                        r = lat_add(l, t1 - t0);
                        if (r < 0)
                                return r;
                } else
                        fail++;
        }
        *ret_ok = ok;
        *ret_fail = fail;
        *ret_elapsed_ns = now_ns() - t_start;
        return 0;
}

/* arg_inflight requests in flight on the one pipe until arg_conc_requests are answered. */
static int run_pipelined(struct child *c, int64_t *next_id, struct lat *l, uint64_t *ret_ok,
                         uint64_t *ret_fail, uint64_t *ret_elapsed_ns)
{
        char req[REQ_MAX];
        uint64_t total = arg_conc_requests, sent = 0, done = 0, ok = 0, fail = 0, t_start;
        int64_t base = *next_id;
        _cleanup_free_ uint64_t *sent_at = calloc(total, sizeof(uint64_t));
        int r;

        if (!sent_at)
                return -ENOMEM;
        *next_id += (int64_t)total;
        t_start = now_ns();
        while (done < total) {
                while (sent < total && sent - done < arg_inflight) {
                        int n = format_request(req, sizeof(req), arg_mode, base + (int64_t)sent);
                        if (n < 0)
                                return n;
                        sent_at[sent] = now_ns();
                        r = write_all(c->in_fd, req, (size_t)n);
                        if (r < 0)
                                return r;
                        sent++;
                }
                int64_t got;
                r = child_read_response(c, arg_mode, &got, NULL);
                if (r < 0)
                        return r;
                if (got < base || got >= base + (int64_t)sent || sent_at[got - base] == 0) {
                        c->other++;
                        continue;
                }
                uint64_t t1 = now_ns();
                if (r == 1) {
                        ok++;
                        r = lat_add(l, t1 - sent_at[got - base]);
                        if (r < 0)
                                return r;
                } else
                        fail++;
                sent_at[got - base] = 0;
                done++;
        }
        *ret_ok = ok;
        *ret_fail = fail;
        *ret_elapsed_ns = now_ns() - t_start;
        return 0;
}

/* Reads "Key:   123 kB" from /proc/PID/status; -1 when unavailable. */
static long proc_status_kb(pid_t pid, const char *key)
{
        char path[64], line[256];
        size_t klen = strlen(key);
        long v = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
                        v = strtol(line + klen + 1, NULL, 10);
                        break;
                }
        fclose(f);
        return v;
}

static void print_result(const char *suffix, const char *mode, const char *extra, uint64_t ok,
                         uint64_t fail, struct lat *l, uint64_t elapsed_ns)
{
        lat_sort(l);
        printf("RESULT name=%s-%s mode=%s %s n=%" PRIu64 " ok=%" PRIu64 " fail=%" PRIu64, arg_name,
               suffix, mode, extra, ok + fail, ok, fail);
        lat_print(stdout, "", l);
        printf(" rps=%.0f elapsed_s=%.3f\n", elapsed_ns ? (double)ok * 1e9 / (double)elapsed_ns : 0,
               elapsed_ns / 1e9);
        fflush(stdout);
}

static void help(void)
{
        printf("Usage: stdio-direct [OPTIONS] -- COMMAND [ARGS...]\n"
               "  --requests N       sequential timed requests (default 2000)\n"
               "  --warmup N         untimed requests before them (default 200)\n"
               "  --inflight C       requests in flight in the throughput run (default 16)\n"
               "  --conc-requests N  requests in the throughput run, 0 skips it (default 20000)\n"
               "  --list-requests N  sequential tools/list requests after the calls (default 0)\n"
               "  --mode call|list   tools/call (default) or tools/list\n"
               "  --tool NAME        tool to call (default echo)\n"
               "  --args JSON        its arguments (default {\"message\":\"hello\"})\n"
               "  --name NAME        RESULT name prefix (default direct)\n"
               "  --stderr FILE      the child's stderr (default /dev/null)\n"
               "  --protocol VER     protocolVersion to offer (default 2025-11-25)\n"
               "  --timeout-ms MS    per response (default 10000)\n");
}

static int parse_argv(int argc, char **argv)
{
        enum {
                ARG_REQUESTS = 0x100,
                ARG_WARMUP,
                ARG_INFLIGHT,
                ARG_CONC,
                ARG_LIST,
                ARG_MODE,
                ARG_TOOL,
                ARG_ARGS,
                ARG_NAME,
                ARG_STDERR,
                ARG_PROTOCOL,
                ARG_TIMEOUT,
        };
        static const struct option options[] = {
            {"help", no_argument, NULL, 'h'},
            {"requests", required_argument, NULL, ARG_REQUESTS},
            {"warmup", required_argument, NULL, ARG_WARMUP},
            {"inflight", required_argument, NULL, ARG_INFLIGHT},
            {"conc-requests", required_argument, NULL, ARG_CONC},
            {"list-requests", required_argument, NULL, ARG_LIST},
            {"mode", required_argument, NULL, ARG_MODE},
            {"tool", required_argument, NULL, ARG_TOOL},
            {"args", required_argument, NULL, ARG_ARGS},
            {"name", required_argument, NULL, ARG_NAME},
            {"stderr", required_argument, NULL, ARG_STDERR},
            {"protocol", required_argument, NULL, ARG_PROTOCOL},
            {"timeout-ms", required_argument, NULL, ARG_TIMEOUT},
            {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "+hn:", options, NULL)) >= 0) {
                int r = 0;
                switch (c) {
                case 'h':
                        help();
                        exit(0);
                case 'n':
                case ARG_REQUESTS:
                        r = parse_u64(optarg, &arg_requests);
                        break;
                case ARG_WARMUP:
                        r = parse_u64(optarg, &arg_warmup);
                        break;
                case ARG_INFLIGHT:
                        r = parse_u64(optarg, &arg_inflight);
                        if (r == 0 && arg_inflight == 0)
                                r = -EINVAL;
                        break;
                case ARG_CONC:
                        r = parse_u64(optarg, &arg_conc_requests);
                        break;
                case ARG_LIST:
                        r = parse_u64(optarg, &arg_list_requests);
                        break;
                case ARG_MODE:
                        if (strcmp(optarg, "call") == 0)
                                arg_mode = MODE_CALL;
                        else if (strcmp(optarg, "list") == 0)
                                arg_mode = MODE_LIST;
                        else
                                r = -EINVAL;
                        break;
                case ARG_TOOL:
                        arg_tool = optarg;
                        break;
                case ARG_ARGS:
                        arg_args = optarg;
                        break;
                case ARG_NAME:
                        arg_name = optarg;
                        break;
                case ARG_STDERR:
                        arg_stderr = optarg;
                        break;
                case ARG_PROTOCOL:
                        arg_protocol = optarg;
                        break;
                case ARG_TIMEOUT:
                        r = parse_u64(optarg, &arg_timeout_ms);
                        break;
                default:
                        return -EINVAL;
                }
                if (r < 0) {
                        fprintf(stderr, "stdio-direct: invalid value '%s' for option\n", optarg);
                        return r;
                }
        }
        if (optind >= argc) {
                fprintf(stderr, "stdio-direct: no command given after --\n");
                return -EINVAL;
        }
        return optind;
}

int main(int argc, char **argv)
{
        struct child c = {.in_fd = -EBADF, .out_fd = -EBADF};
        struct lat seq = {}, conc = {};
        uint64_t init_ns = 0, ok = 0, fail = 0, total_fail = 0, elapsed = 0, t_spawn;
        int64_t next_id = 1;
        long rss, hwm;
        const char *mode = arg_mode == MODE_LIST ? "list" : "call";
        char extra[64];
        int r, first;

        first = parse_argv(argc, argv);
        if (first < 0)
                return 2;
        mode = arg_mode == MODE_LIST ? "list" : "call";
        signal(SIGPIPE, SIG_IGN);

        t_spawn = now_ns();
        r = child_spawn(&c, argv + first);
        if (r < 0) {
                fprintf(stderr, "stdio-direct: failed to spawn '%s': %s\n", argv[first],
                        strerror(-r));
                return 1;
        }
        r = child_initialize(&c, &init_ns);
        if (r < 0) {
                fprintf(stderr, "stdio-direct: initialize failed: %s\n", strerror(-r));
                goto finish;
        }
        uint64_t ready_ns = now_ns() - t_spawn;

        if (arg_requests > 0) {
                r = run_sequential(&c, arg_mode, arg_warmup, arg_requests, &next_id, &seq, &ok,
                                   &fail, &elapsed);
                if (r < 0) {
                        fprintf(stderr, "stdio-direct: sequential run failed: %s\n", strerror(-r));
                        goto finish;
                }
                total_fail += fail;
                print_result(mode, mode, "conns=1", ok, fail, &seq, elapsed);
        }
        if (arg_list_requests > 0) {
                struct lat list = {};
                r = run_sequential(&c, MODE_LIST, arg_warmup / 10, arg_list_requests, &next_id,
                                   &list, &ok, &fail, &elapsed);
                if (r < 0) {
                        fprintf(stderr, "stdio-direct: tools/list run failed: %s\n", strerror(-r));
                        lat_done(&list);
                        goto finish;
                }
                total_fail += fail;
                print_result("list", "list", "conns=1", ok, fail, &list, elapsed);
                lat_done(&list);
        }
        if (arg_conc_requests > 0) {
                r = run_pipelined(&c, &next_id, &conc, &ok, &fail, &elapsed);
                if (r < 0) {
                        fprintf(stderr, "stdio-direct: throughput run failed: %s\n", strerror(-r));
                        goto finish;
                }
                total_fail += fail;
                snprintf(extra, sizeof(extra), "inflight=%" PRIu64, arg_inflight);
                print_result("conc", "conc", extra, ok, fail, &conc, elapsed);
        }
        rss = proc_status_kb(c.pid, "VmRSS");
        hwm = proc_status_kb(c.pid, "VmHWM");
        printf("RESULT name=%s-proc ready_ms=%.1f upstream_rss_kb=%ld "
               "upstream_hwm_kb=%ld other_msgs=%" PRIu64 "\n",
               arg_name, ready_ns / 1e6, rss, hwm, c.other);
        fflush(stdout);
finish:
        child_stop(&c);
        lat_done(&seq);
        lat_done(&conc);
        if (r < 0)
                return 1;
        return total_fail > 0 ? 1 : 0;
}
