/* SPDX-License-Identifier: MIT */
/*
 * mcp-proxy: where the connection comes from. Socket activation with
 * Accept=yes (fd 3 is the connection), inetd style (stdin/stdout), or
 * --listen for machines without systemd (listener.c: accept, and fork one
 * child per connection once it has sent something, each running the same code).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "front/front.h"
#include "mcp-limits.h"
#include "log.h"

static const char *arg_listen;
static bool arg_listen_set;
static bool arg_inetd;

static void help(void)
{
        printf("Usage: mcp-proxy [--listen [HOST:]PORT | --inetd]\n\n"
               "The per-connection front of mcp-proxy: HTTP/1.1, API keys, and MCP\n"
               "Streamable HTTP relayed to mcp-proxy-hub.\n\n"
               "  -l, --listen [HOST:]PORT  accept connections itself, one child each\n"
               "                            (default $MCP_HOST:$MCP_PORT, 0.0.0.0:8080)\n"
               "      --inetd               serve the connection on stdin/stdout\n"
               "  -h, --help                show this help\n"
               "      --version             show the version\n\n"
               "With LISTEN_FDS (systemd Accept=yes) fd 3 is the connection. See mcp-proxy(8).\n");
}

static int parse_argv(int argc, char **argv)
{
        enum { ARG_VERSION = 0x100, ARG_INETD };
        static const struct option options[] = {
            {"listen", optional_argument, NULL, 'l'},
            {"inetd", no_argument, NULL, ARG_INETD},
            {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, ARG_VERSION},
            {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "l::h", options, NULL)) >= 0)
                switch (c) {
                case 'l':
                        arg_listen_set = true;
                        /* Accept "--listen ADDR" as well as "--listen=ADDR". */
                        if (!optarg && optind < argc && argv[optind][0] != '-')
                                optarg = argv[optind++];
                        arg_listen = optarg;
                        break;
                case ARG_INETD:
                        arg_inetd = true;
                        break;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("mcp-proxy %s\n", VERSION);
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

static int split_host_port(const char *spec, char *host, size_t hn, char *port, size_t pn)
{
        const char *env_host = getenv("MCP_HOST"), *env_port = getenv("MCP_PORT");
        const char *colon;

        snprintf(host, hn, "%s", env_host && *env_host ? env_host : FRONT_DEFAULT_HOST);
        if (env_port && *env_port)
                snprintf(port, pn, "%s", env_port);
        else
                snprintf(port, pn, "%d", FRONT_DEFAULT_PORT);
        if (!spec || !*spec)
                return 0;
        if (spec[0] == '[') {
                const char *rb = strchr(spec, ']');
                if (!rb)
                        return -EINVAL;
                snprintf(host, hn, "%.*s", (int)(rb - spec - 1), spec + 1);
                if (rb[1] == ':')
                        snprintf(port, pn, "%s", rb + 2);
                return 0;
        }
        colon = strrchr(spec, ':');
        if (!colon) {
                /* A bare number is a port; anything else a host. */
                if (strspn(spec, "0123456789") == strlen(spec))
                        snprintf(port, pn, "%s", spec);
                else
                        snprintf(host, hn, "%s", spec);
                return 0;
        }
        snprintf(host, hn, "%.*s", (int)(colon - spec), spec);
        snprintf(port, pn, "%s", colon + 1);
        return 0;
}

static int listen_on(const char *spec)
{
        char host[256], port[32];
        struct addrinfo hints = {.ai_family = AF_UNSPEC,
                                 .ai_socktype = SOCK_STREAM,
                                 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
        struct addrinfo *res = NULL;
        int fd = -EBADF, r, one = 1;

        if (split_host_port(spec, host, sizeof(host), port, sizeof(port)) < 0)
                return log_error_errno(EINVAL, "invalid listen address '%s'", spec);
        r = getaddrinfo(host, port, &hints, &res);
        if (r != 0)
                return log_error_errno(EINVAL, "cannot resolve '%s:%s': %s", host, port,
                                       gai_strerror(r));
        for (struct addrinfo *a = res; a; a = a->ai_next) {
                fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        continue;
                (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 &&
                    listen(fd, FRONT_LISTEN_BACKLOG) == 0)
                        break;
                r = -errno;
                close(fd);
                fd = r;
        }
        freeaddrinfo(res);
        if (fd < 0)
                return log_error_errno(fd, "cannot listen on %s:%s: %m", host, port);
        log_notice("mcp-proxy %s listening on %s:%s", VERSION, host, port);
        return fd;
}

int main(int argc, char **argv)
{
        struct front_settings set = {};
        struct stat st;
        int n, r;

        log_setup("mcp-proxy");
        /* Not dumpable: a process of our uid (a stdio upstream, say) cannot read our
         * /proc/PID/environ or memory, where keys and tokens are; no core dumps either. */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                log_warning_errno(errno, "prctl(PR_SET_DUMPABLE): %m, continuing");
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? 2 : 0;
        signal(SIGPIPE, SIG_IGN);
        r = front_settings_load(&set);
        if (r < 0)
                return 1;

        n = front_listen_fds();
        if (n < 0) {
                log_error_errno(n, "invalid LISTEN_FDS: %m");
                r = n;
        } else if (n > 1) {
                log_error("expected one socket from the service manager, got %d", n);
                r = -EINVAL;
        } else if (n == 1) {
                int fd = FRONT_LISTEN_FDS_START;
                int listening = front_fd_is_listening_stream(fd);
                if (listening < 0) {
                        log_error_errno(listening, "fd 3 from the service manager is not a "
                                                   "stream socket: %m");
                        r = listening;
                } else if (listening > 0)
                        r = front_listener_run(&set, fd); /* Accept=no: we accept ourselves */
                else {
                        front_serve(&set, fd, fd, front_now_usec());
                        r = 0;
                }
        } else if (arg_inetd ||
                   (!arg_listen_set && fstat(STDIN_FILENO, &st) == 0 && S_ISSOCK(st.st_mode))) {
                front_serve(&set, STDIN_FILENO, STDOUT_FILENO, front_now_usec());
                r = 0;
        } else {
                int lfd = listen_on(arg_listen);
                if (set.auth_disabled)
                        log_warning("authentication is DISABLED (MCP_DISABLE_AUTH): anyone who "
                                    "can connect may use every upstream");
                else if (set.keys.n_keys == 0)
                        log_error("no API keys configured: every request will get 503. Set "
                                  "MCP_API_KEYS or MCP_API_KEYS_PATH, or MCP_DISABLE_AUTH=true");
                r = lfd < 0 ? lfd : front_listener_run(&set, lfd);
        }
        front_settings_done(&set);
        return r < 0 ? 1 : 0;
}
