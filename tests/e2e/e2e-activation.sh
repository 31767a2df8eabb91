#!/usr/bin/env bash
# How the binaries get their sockets: the hub socket-activated
# (systemd-socket-activate -l hub.sock, LISTEN_FDS=1, started by the first
# connection); the front per connection (LISTEN_FDS, fd 3), inetd style
# (stdin/stdout, with and without --inetd) and in --listen / MCP_HOST+MCP_PORT
# mode with concurrent connections; --check-config, --version, --help.
source "$(dirname "$0")/lib.sh"
require_binaries "$FIXTURE"
export CURL_MAX_TIME=20

write_config "$(config_of fx "$(srv_fixture fx)")"

# ---- --check-config ----
out=$("$HUB_BIN" --check-config --config "$T/config.json" 2>&1)
check_eq "--check-config on a valid config: exit 0" 0 "$?"
printf '%s\n' '{"mcpServers":{"broken":{"command":"/bin/true","args":["ok",{"x":1}]}}}' >"$T/bad-args.json"
out=$("$HUB_BIN" --check-config --config "$T/bad-args.json" 2>&1)
rc=$?
check_eq "--check-config, args[1] is an object: exit 1" 1 "$rc"
check_contains "--check-config names the JSON path \$.mcpServers.broken.args[1]" "$out" '$.mcpServers.broken.args[1]'
printf '%s\n' '{"mcpServers":{"fx":{"command":"/bin/true","args":[],"timeout":"soon"}}}' >"$T/bad-timeout.json"
out=$(env MCP_CONFIG_PATH="$T/bad-timeout.json" "$HUB_BIN" --check-config 2>&1)
rc=$?
check_eq "--check-config via MCP_CONFIG_PATH, timeout a string: exit 1" 1 "$rc"
check_contains "--check-config names \$.mcpServers.fx.timeout" "$out" '$.mcpServers.fx.timeout'
printf '{"mcpServers": {\n  "x": {"command": "a",,}\n}}\n' >"$T/bad-syntax.json"
out=$("$HUB_BIN" --check-config --config "$T/bad-syntax.json" 2>&1)
rc=$?
check_eq "--check-config on a JSON syntax error: exit 1" 1 "$rc"
check_contains "--check-config names the file" "$out" "bad-syntax.json"
out=$("$HUB_BIN" --check-config --config "$T/missing.json" 2>&1)
check_eq "--check-config on a missing file: exit 1" 1 "$?"

for b in "$HUB_BIN" "$FRONT_BIN"; do
        out=$("$b" --version 2>&1)
        rc=$?
        check "$(basename "$b") --version: exit 0 and a version (${out:0:40})" test "$rc" = 0 -a -n "$out"
        "$b" --help >/dev/null 2>&1
        check_eq "$(basename "$b") --help: exit 0" 0 "$?"
        "$b" --no-such-option >/dev/null 2>&1
        rc=$?
        check "$(basename "$b") --no-such-option: non-zero exit ($rc)" test "$rc" -ne 0
done

# ---- hub socket-activated ----
systemd-socket-activate -l "$T/hub.sock" -E "E2E_MARK=$MARK" -E "MCP_CONFIG_PATH=$T/config.json" \
        -E "MCP_LOG_LEVEL=debug" -E ASAN_OPTIONS -E UBSAN_OPTIONS "$HUB_BIN" >>"$T/hub.log" 2>&1 &
HUB_PID=$!
check "systemd-socket-activate binds the hub socket" wait_for 5 test -S "$T/hub.sock"
start_front || exit 1
mcp_initialize
check_eq "socket-activated hub: initialize through the front" 200 "$INIT_CODE"
check_eq "the hub is exec'd by the first connection (LISTEN_FDS)" "$HUB_BIN" "$(readlink "/proc/$HUB_PID/exe")"
check "socket-activated hub: fx becomes ready" wait_upstream fx ready 20
S=$SESSION
mcp_call "$S" echo '{"message":"activated"}'
check_jq "socket-activated hub: tools/call" '.result.content[0].text == "Echo: activated"'
MAIN_URL=$URL

# ---- front, inetd style ----
FRONT_SSA_EXTRA=(--inetd)
start_front || exit 1
mcp_call "$S" echo '{"message":"inetd auto"}'
check_jq "front inetd style (stdin is a socket): tools/call" '.result.content[0].text == "Echo: inetd auto"'
req GET /health
check_jq "front inetd style: /health" '.status == "healthy"'
FRONT_ARGS=(--inetd)
start_front || exit 1
mcp_call "$S" echo '{"message":"inetd flag"}'
check_jq "front --inetd: tools/call" '.result.content[0].text == "Echo: inetd flag"'
out=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{num_connects}\n' -H "$(auth_h)" "$URL/health" \
        -o /dev/null -H "$(auth_h)" "$URL/health")
check_eq "front --inetd: keep-alive" "200 1
200 0" "$out"
FRONT_SSA_EXTRA=() FRONT_ARGS=()

# ---- front --listen ----
start_listener() { # LOG ARGS... (environment from the caller)
        local log=$1
        shift
        env E2E_MARK="$MARK" MCP_HUB_SOCKET="$T/hub.sock" MCP_API_KEYS="$KEY:$KEY_CLIENT" \
                MCP_LOG_LEVEL=debug "${LISTEN_ENV[@]}" "$FRONT_BIN" "$@" >>"$T/$log" 2>&1 &
        LISTEN_PID=$!
        PIDS+=("$LISTEN_PID")
        wait_for 10 port_listening "$PORT"
}
PORT=$(pick_port)
LISTEN_ENV=()
check "front --listen 127.0.0.1:PORT listens" start_listener listen.log --listen "127.0.0.1:$PORT"
URL=http://127.0.0.1:$PORT
mcp_call "$S" sleep '{"ms":2000}' >/dev/null &
SLOW=$!
PIDS+=("$SLOW")
sleep 0.3
t0=$(now_ms)
mcp_call "$S" echo '{"message":"concurrent"}'
dt=$(($(now_ms) - t0))
check_jq "front --listen: a second connection is served" '.result.content[0].text == "Echo: concurrent"'
check "front --listen: ... while the first is busy (${dt} ms < 1500)" test "$dt" -lt 1500
wait "$SLOW"
check_eq "front --listen: the first connection completes" 0 "$?"
mcp_call "$S" sleep '{"ms":300}'
check_jq "front --listen: sleep answered" '.result.content[0].text == "Slept 300 ms"'
stop_pid "$LISTEN_PID" 5
check "front --listen: exits on SIGTERM" bash -c '! kill -0 "$1" 2>/dev/null' _ "$LISTEN_PID"

PORT=$(pick_port)
LISTEN_ENV=(MCP_HOST=127.0.0.1 "MCP_PORT=$PORT")
check "front with MCP_HOST/MCP_PORT and no socket listens" start_listener listen2.log
URL=http://127.0.0.1:$PORT
req GET /health
check_jq "front with MCP_HOST/MCP_PORT: /health" '.status == "healthy"'
stop_pid "$LISTEN_PID" 5

URL=$MAIN_URL
stop_hub 10
check_eq "socket-activated hub: exit 0 on SIGTERM" 0 "$HUB_RC"
check_no_keys_in_logs "$KEY"
