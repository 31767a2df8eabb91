/* SPDX-License-Identifier: MIT */
/* mcp-proxyctl: options, verbs, exit codes (see ctl.h and mcp-proxyctl(8)). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/ctl.h"

#define CONTROL_SOCKET_DEFAULT "/run/mcp-proxy-hub/control.sock"

int ctl_error(const char *fmt, ...)
{
        int saved = errno;
        va_list ap;

        fputs("mcp-proxyctl: ", stderr);
        va_start(ap, fmt);
        errno = saved;
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return EXIT_FAIL;
}

int ctl_usage_error(const char *fmt, ...)
{
        va_list ap;

        fputs("mcp-proxyctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs(" (see mcp-proxyctl --help)\n", stderr);
        return EXIT_USAGE;
}

void ctl_print_json(const cJSON *j)
{
        char *s = j ? cJSON_Print(j) : NULL;

        printf("%s\n", s ? s : "null");
        cJSON_free(s);
}

static void help(void)
{
        printf("mcp-proxyctl [OPTIONS] COMMAND [ARGS]\n"
               "\n"
               "Look at and steer mcp-proxy-hub, and manage API keys.\n"
               "\n"
               "Commands:\n"
               "  status                     the hub, its last reload and every server\n"
               "  servers                    the servers: transport, isolation, state, pid\n"
               "  instances [SERVER]         upstream instances, of one server or all\n"
               "  sessions [--client ID]     client sessions\n"
               "  sessions kill ID           end a session (its id or first 8+ characters)\n"
               "  tools [--client ID]        the tools a client sees\n"
               "  reload                     read the configuration again, apply the difference\n"
               "  restart SERVER             stop a server and start it afresh\n"
               "  check-config [FILE]        validate the configuration (and the key and\n"
               "                             users files)\n"
               "  key new CLIENT_ID          make a key, store it hashed, print it once\n"
               "  key list                   the keys, without the keys themselves\n"
               "  key revoke CLIENT_ID|ID    remove a client's keys, or one key by its id\n"
               "  call TOOL [JSON]           call a tool through the hub\n"
               "\n"
               "Options:\n"
               "  -j, --json                 JSON output, for scripts\n"
               "  -s, --socket PATH          the hub's control socket (MCP_CONTROL_SOCKET,\n"
               "                             default " CONTROL_SOCKET_DEFAULT ")\n"
               "  -c, --client ID            the client id to look at, or to call as\n"
               "      --keys FILE            the key file (MCP_API_KEYS_PATH, default\n"
               "                             /etc/mcp-proxy/keys.json)\n"
               "      --users FILE           check-config: the users file (MCP_USERS_PATH,\n"
               "                             default /etc/mcp-proxy/users.json if readable)\n"
               "      --expires WHEN         key new: +30d, +12h, 2027-01-31, epoch seconds\n"
               "      --scopes LIST          key new: comma-separated scopes (default *)\n"
               "  -h, --help                 this help\n"
               "      --version              the version\n"
               "\n"
               "Exit status: 0 success, 1 failure, 2 usage. See mcp-proxyctl(8).\n");
}

int main(int argc, char **argv)
{
        enum { OPT_KEYS = 0x100, OPT_USERS, OPT_EXPIRES, OPT_SCOPES, OPT_VERSION };
        static const struct option options[] = {
            {"json", no_argument, NULL, 'j'},
            {"socket", required_argument, NULL, 's'},
            {"client", required_argument, NULL, 'c'},
            {"keys", required_argument, NULL, OPT_KEYS},
            {"users", required_argument, NULL, OPT_USERS},
            {"expires", required_argument, NULL, OPT_EXPIRES},
            {"scopes", required_argument, NULL, OPT_SCOPES},
            {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, OPT_VERSION},
            {},
        };
        static const struct {
                const char *name;
                int (*fn)(struct ctl *x);
        } verbs[] = {
            {"status", verb_status},
            {"servers", verb_servers},
            {"instances", verb_instances},
            {"sessions", verb_sessions},
            {"tools", verb_tools},
            {"reload", verb_reload},
            {"restart", verb_restart},
            {"check-config", verb_check_config},
            {"key", verb_key},
            {"call", verb_call},
        };
        const char *env = getenv("MCP_CONTROL_SOCKET"), *nc = getenv("NO_COLOR");
        struct ctl x = {
            .socket_path = env && *env ? env : CONTROL_SOCKET_DEFAULT,
            .color = isatty(STDOUT_FILENO) && !(nc && *nc),
        };
        int c;

        /* A hub that refuses us closes the connection: EPIPE, not a signal. */
        signal(SIGPIPE, SIG_IGN);
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":js:c:h", options, NULL)) >= 0) {
                switch (c) {
                case 'j':
                        x.json = true;
                        break;
                case 's':
                        x.socket_path = optarg;
                        break;
                case 'c':
                        x.client = optarg;
                        break;
                case OPT_KEYS:
                        x.keys = optarg;
                        break;
                case OPT_USERS:
                        x.users = optarg;
                        break;
                case OPT_EXPIRES:
                        x.expires = optarg;
                        break;
                case OPT_SCOPES:
                        x.scopes = optarg;
                        break;
                case 'h':
                        help();
                        return EXIT_OK;
                case OPT_VERSION:
                        printf("mcp-proxyctl %s\n", VERSION);
                        return EXIT_OK;
                case ':':
                        return ctl_usage_error("option '%s' needs a value", argv[optind - 1]);
                default:
                        return ctl_usage_error("unknown option '%s'", argv[optind - 1]);
                }
        }
        if (optind >= argc)
                return ctl_usage_error("no command given");
        if (x.json)
                x.color = false;
        x.args = argv + optind + 1;
        x.n_args = argc - optind - 1;
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
                if (strcmp(argv[optind], verbs[i].name) == 0) {
                        int r = verbs[i].fn(&x);
                        if (fflush(stdout) != 0 && r == EXIT_OK)
                                return ctl_error("cannot write the output: %m");
                        return r;
                }
        return ctl_usage_error("unknown command '%s'", argv[optind]);
}
