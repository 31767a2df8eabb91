# shellcheck shell=bash
# Shared helpers for the end-to-end scenarios (tests/e2e/*.sh, one scenario
# each). Source it first; it makes a private temp dir $T, registers cleanup
# and prints the "N passed, N failed" summary at exit.
#
#   start_hub [VAR=VAL...]        hub on $T/hub.sock with $T/config.json, log $T/hub.log
#   start_front [VAR=VAL...]      front under systemd-socket-activate --accept on
#                                 127.0.0.1:$PORT, log $T/front.log
#   write_config JSON             $T/config.json; srv_fixture / srv_everything /
#                                 srv_filesystem build entries
#   req METHOD PATH [curl args]   any HTTP request: $CODE, $BODY, header NAME
#   mcp_initialize / mcp_post SESSION JSON / mcp_call SESSION TOOL ARGS
#   check/check_eq/check_jq/check_contains/pass/fail
#   wait_for SECONDS CMD...       poll until CMD succeeds
#   wait_upstream NAME STATE SECS via /health (with the key)
#   check_no_keys_in_logs KEY...  no API key in any log
#
# Every process started here carries E2E_MARK=$MARK in its environment (the
# hub and the front directly, upstreams through the config's "env"), so the
# exit check can prove that nothing of ours outlives the test.

set -uo pipefail

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$E2E_ROOT" || exit 1
BUILD=${BUILD:-build}
BUILD=$(realpath -m -- "$BUILD")
HUB_BIN=$BUILD/mcp-proxy-hub
FRONT_BIN=$BUILD/mcp-proxy
FIXTURE=$BUILD/tests/mcp-fixture
EVERYTHING=$E2E_ROOT/tests/node_modules/.bin/mcp-server-everything
FILESYSTEM=$E2E_ROOT/tests/node_modules/.bin/mcp-server-filesystem
SCENARIO=$(basename "$0" .sh)
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# Our logs are files the checks read: level words ("warning: ..."), not the
# "<N>" prefixes a JOURNAL_STREAM inherited from a service would select.
unset JOURNAL_STREAM

T=$(mktemp -d "${TMPDIR:-/tmp}/mcp-e2e-$SCENARIO.XXXXXX") || exit 1
chmod 700 "$T"
# Every hub started here binds its control socket in $T, not in /run.
export MCP_CONTROL_SOCKET=${MCP_CONTROL_SOCKET:-$T/control.sock}
MARK=mcp-e2e-$SCENARIO-$$-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
KEY=e2e-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
KEY_CLIENT=e2e-client
PORT=
URL=
HUB_PID=
SSA_PID=
PIDS=() # other background processes of ours, killed at exit
E2E_PASSED=0
E2E_FAILED=0
E2E_DONE=

# ---- reporting ----

pass() {
        E2E_PASSED=$((E2E_PASSED + 1))
        echo "PASS $1"
}

# fail NAME [detail...]
fail() {
        E2E_FAILED=$((E2E_FAILED + 1))
        echo "FAIL $1"
        shift
        local d
        for d in "$@"; do
                printf '    %s\n' "$(printf '%s' "$d" | head -c 2000)"
        done
}

# check NAME CMD...: passes when CMD exits 0.
check() {
        local name=$1
        shift
        if "$@"; then pass "$name"; else fail "$name" "command failed: $*"; fi
}

check_eq() { # NAME EXPECTED ACTUAL
        if [[ $2 == "$3" ]]; then pass "$1"; else fail "$1" "expected: $2" "got:      $3"; fi
}

check_contains() { # NAME HAYSTACK NEEDLE
        if [[ $2 == *"$3"* ]]; then pass "$1"; else fail "$1" "expected to contain: $3" "got: $2"; fi
}

check_jq() { # NAME JQ-EXPR [JSON, default $BODY]
        local json=${3-$BODY}
        # jq -e on no input at all exits 0: an empty answer must not pass.
        if [[ -n ${json//[[:space:]]/} ]] && jq -e "$2" >/dev/null 2>&1 <<<"$json"; then
                pass "$1"
        else
                fail "$1" "jq -e '$2' is not true for:" "$json"
        fi
}

# check_code NAME EXPECTED: $CODE of the last req/mcp_post.
check_code() {
        if [[ $CODE == "$2" ]]; then pass "$1"; else fail "$1" "expected HTTP $2, got $CODE" "body: $BODY"; fi
}

# skip_all REASON: the scenario cannot run here (prints one passed "skip" check).
skip_all() {
        echo "SKIP $SCENARIO: $1"
        exit 0
}

# ---- cleanup ----

# Pids of processes (not zombies) that carry our marker.
marked_pids() {
        local f pid
        for f in /proc/[0-9]*/environ; do
                pid=${f#/proc/}
                pid=${pid%/environ}
                [[ $pid == "$$" ]] && continue
                if grep -qz -- "^E2E_MARK=$MARK\$" "$f" 2>/dev/null; then
                        echo "$pid"
                fi
        done
}

# stop_pid PID [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 5).
# Returns the exit status when PID is our child, else 0.
stop_pid() {
        local pid=$1 secs=${2:-5} i
        [[ -n $pid ]] || return 0
        kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return $?; }
        for ((i = 0; i < secs * 20; i++)); do
                kill -0 "$pid" 2>/dev/null || break
                # a zombie child of ours counts as gone
                [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]] && break
                sleep 0.05
        done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
}

e2e_dump_logs() {
        local f
        for f in "$T"/*.log; do
                [[ -s $f ]] || continue
                echo "---- tail of $(basename "$f") ----"
                tail -n "${E2E_LOG_LINES:-60}" "$f" | cut -c1-400 | sed 's/^/    /'
        done
}

e2e_scan_sanitizers() {
        local hits
        hits=$(grep -h -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)' "$T"/*.log 2>/dev/null | head -5)
        if [[ -n $hits ]]; then
                fail "no sanitizer report in any log" "$hits"
        else
                pass "no sanitizer report in any log"
        fi
}

e2e_exit() {
        local rc=$? pid left
        [[ -n $E2E_DONE ]] && return
        E2E_DONE=1
        trap '' INT TERM HUP # finish the cleanup even when signalled again
        local -a all=("${PIDS[@]}")
        [[ -n $SSA_PID ]] && all+=("$SSA_PID")
        [[ -n $HUB_PID ]] && all+=("$HUB_PID")
        for pid in "${all[@]}"; do
                stop_pid "$pid" 5
        done
        # anything else still carrying our marker is a leak (a stray upstream
        # child, a front that did not exit): report it, then kill it by pid
        left=
        for ((i = 0; i < 50; i++)); do
                left=$(marked_pids)
                [[ -z $left ]] && break
                sleep 0.1
        done
        if [[ -n $left ]]; then
                local desc=()
                for pid in $left; do
                        desc+=("pid $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | head -c 200)")
                done
                fail "no process of ours left behind" "${desc[@]}"
                for pid in $left; do kill -KILL "$pid" 2>/dev/null; done
        else
                pass "no process of ours left behind"
        fi
        e2e_scan_sanitizers
        if ((rc != 0 && rc < 128 && E2E_FAILED == 0)); then
                fail "scenario script ran to completion" "exit status $rc"
        fi
        ((E2E_FAILED)) && e2e_dump_logs
        if [[ -n ${E2E_KEEP:-} ]]; then
                echo "kept $T"
        else
                rm -rf "$T" 2>/dev/null || { sleep 0.5; rm -rf "$T"; }
        fi
        echo "$E2E_PASSED passed, $E2E_FAILED failed"
        ((E2E_FAILED == 0)) && exit 0
        exit 1
}
trap e2e_exit EXIT
trap 'fail "scenario interrupted by a signal"; exit 1' INT TERM HUP

# ---- waiting ----

# wait_for SECONDS CMD...: polls CMD every 0.1 s; returns 0 once it succeeds.
wait_for() {
        local secs=$1 end
        shift
        end=$(($(date +%s%N) + secs * 1000000000))
        while :; do
                "$@" && return 0
                (($(date +%s%N) >= end)) && return 1
                sleep 0.1
        done
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- ports ----

# port_listening PORT: something listens on TCP PORT (IPv4 or IPv6).
port_listening() {
        local hex
        hex=$(printf '%04X' "$1")
        awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
                /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

port_in_use() {
        local hex
        hex=$(printf '%04X' "$1")
        awk -v p=":$hex" 'NR > 1 && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
                /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

pick_port() {
        local p i
        for ((i = 0; i < 100; i++)); do
                p=$((20000 + RANDOM % 40000))
                port_in_use "$p" || { echo "$p"; return 0; }
        done
        return 1
}

# ---- config ----

# srv_fixture NAME [fixture flags...]: a stdio server entry running mcp-fixture.
srv_fixture() {
        local name=$1
        shift
        local extra='[]'
        (($#)) && extra=$(printf '%s\n' "$@" | jq -R . | jq -sc .)
        jq -n --arg cmd "$FIXTURE" --arg name "$name" --arg mark "$MARK" \
                --arg pidfile "$T/fixture-$name.pid" --argjson extra "$extra" \
                '{command: $cmd, args: (["--name", $name, "--pidfile", $pidfile] + $extra),
                  env: {E2E_MARK: $mark}}'
}

# srv_everything: server-everything over stdio.
srv_everything() {
        jq -n --arg cmd "$EVERYTHING" --arg mark "$MARK" \
                '{command: $cmd, args: ["stdio"], env: {E2E_MARK: $mark}}'
}

# srv_filesystem DIR...: server-filesystem over stdio, allowed to see DIR...
srv_filesystem() {
        local dirs
        dirs=$(printf '%s\n' "$@" | jq -R . | jq -sc .)
        jq -n --arg cmd "$FILESYSTEM" --arg mark "$MARK" --argjson dirs "$dirs" \
                '{command: $cmd, args: $dirs, env: {E2E_MARK: $mark}}'
}

# config_of NAME JSON [NAME JSON...]: prints {"mcpServers": {...}}.
config_of() {
        local out='{"mcpServers":{}}'
        while (($# >= 2)); do
                out=$(jq -c --arg n "$1" --argjson s "$2" '.mcpServers[$n] = $s' <<<"$out") || return 1
                shift 2
        done
        echo "$out"
}

write_config() { printf '%s\n' "$1" >"$T/config.json"; }

fixture_pid() { cat "$T/fixture-$1.pid" 2>/dev/null; }

# ---- hub ----

# start_hub [VAR=VAL...]: starts the hub in the background, waits for its socket.
start_hub() {
        [[ -x $HUB_BIN ]] || { fail "hub binary exists" "$HUB_BIN missing"; return 1; }
        rm -f "$T/hub.sock"
        env E2E_MARK="$MARK" MCP_HUB_SOCKET="$T/hub.sock" MCP_CONFIG_PATH="$T/config.json" \
                MCP_LOG_LEVEL="${E2E_LOG_LEVEL:-debug}" "$@" "$HUB_BIN" >>"$T/hub.log" 2>&1 &
        HUB_PID=$!
        if ! wait_for 15 hub_socket_ready; then
                fail "hub starts and binds $T/hub.sock" "$(tail -n 20 "$T/hub.log")"
                return 1
        fi
}

hub_socket_ready() {
        [[ -S $T/hub.sock ]] && return 0
        kill -0 "$HUB_PID" 2>/dev/null || return 2
        return 1
}

hub_alive() { [[ -n $HUB_PID ]] && kill -0 "$HUB_PID" 2>/dev/null; }

# stop_hub [SECONDS]: SIGTERM; sets HUB_RC and HUB_STOP_MS; clears HUB_PID.
stop_hub() {
        local secs=${1:-10} t0 i
        HUB_RC=
        t0=$(now_ms)
        kill -TERM "$HUB_PID" 2>/dev/null
        for ((i = 0; i < secs * 20; i++)); do
                kill -0 "$HUB_PID" 2>/dev/null || break
                [[ $(awk '{print $3}' "/proc/$HUB_PID/stat" 2>/dev/null) == Z ]] && break
                sleep 0.05
        done
        if kill -0 "$HUB_PID" 2>/dev/null && [[ $(awk '{print $3}' "/proc/$HUB_PID/stat" 2>/dev/null) != Z ]]; then
                kill -KILL "$HUB_PID"
                HUB_RC=killed
        fi
        wait "$HUB_PID" 2>/dev/null
        local rc=$?
        [[ -z $HUB_RC ]] && HUB_RC=$rc
        HUB_STOP_MS=$(($(now_ms) - t0))
        HUB_PID=
}

# ---- front ----

# Environment every front gets (socket-activate passes only -E variables).
front_env_args() {
        local a=(-E "E2E_MARK=$MARK" -E "MCP_HUB_SOCKET=$T/hub.sock" -E ASAN_OPTIONS -E UBSAN_OPTIONS
                -E "MCP_LOG_LEVEL=${E2E_LOG_LEVEL:-debug}")
        local v
        for v in "$@"; do a+=(-E "$v"); done
        printf '%s\0' "${a[@]}"
}

FRONT_SSA_EXTRA=() # more systemd-socket-activate flags (e.g. --inetd)
FRONT_ARGS=()      # arguments of mcp-proxy
# start_front [VAR=VAL...]: mcp-proxy under systemd-socket-activate --accept on
# 127.0.0.1:$PORT (retrying other ports when the bind fails). Without any
# MCP_API_KEYS* / MCP_DISABLE_AUTH argument, MCP_API_KEYS=$KEY:$KEY_CLIENT is added.
start_front() {
        [[ -x $FRONT_BIN ]] || { fail "front binary exists" "$FRONT_BIN missing"; return 1; }
        local args=("$@") v auth=
        for v in "${args[@]}"; do
                [[ $v == MCP_API_KEYS* || $v == MCP_DISABLE_AUTH* || $v == E2E_NOKEY ]] && auth=1
        done
        [[ -z $auth ]] && args+=("MCP_API_KEYS=$KEY:$KEY_CLIENT")
        local filtered=()
        for v in "${args[@]}"; do [[ $v == E2E_NOKEY ]] || filtered+=("$v"); done
        local envargs try
        mapfile -d '' -t envargs < <(front_env_args "${filtered[@]}")
        [[ -n $SSA_PID ]] && PIDS+=("$SSA_PID") # an earlier front stays until exit
        for ((try = 0; try < 5; try++)); do
                PORT=$(pick_port) || break
                systemd-socket-activate --accept "${FRONT_SSA_EXTRA[@]}" -l "127.0.0.1:$PORT" \
                        "${envargs[@]}" "$FRONT_BIN" "${FRONT_ARGS[@]}" >>"$T/front.log" 2>&1 &
                SSA_PID=$!
                if wait_for 5 front_listening; then
                        URL=http://127.0.0.1:$PORT
                        return 0
                fi
                stop_pid "$SSA_PID" 1
                SSA_PID=
        done
        fail "front listens on 127.0.0.1" "$(tail -n 20 "$T/front.log")"
        return 1
}

front_listening() {
        kill -0 "$SSA_PID" 2>/dev/null || return 2
        port_listening "$PORT"
}

stop_front() {
        stop_pid "$SSA_PID" 5
        SSA_PID=
}

# ---- HTTP ----

CODE=
BODY=
RESP_HEADERS=/dev/null
RESP_BODY=/dev/null
# req METHOD PATH [curl args...]: sets CODE, BODY; headers in $RESP_HEADERS.
req() {
        local method=$1 path=$2
        shift 2
        # per-process files, so calls in background subshells do not mix
        RESP_HEADERS=$T/resp.$BASHPID.headers RESP_BODY=$T/resp.$BASHPID.body
        : >"$RESP_HEADERS"
        : >"$RESP_BODY"
        CODE=$(curl -sS -o "$RESP_BODY" -D "$RESP_HEADERS" -w '%{http_code}' \
                --max-time "${CURL_MAX_TIME:-30}" -X "$method" "$@" "${URL}${path}" 2>"$T/curl.$BASHPID.err")
        BODY=$(cat "$RESP_BODY")
}

# header NAME: the value of response header NAME (last one), without CR.
header() {
        awk -v n="$(tr '[:upper:]' '[:lower:]' <<<"$1")" -F': *' '
                { sub(/\r$/, "") }
                tolower($1) == n { v = substr($0, index($0, ":") + 1); sub(/^ +/, "", v); val = v }
                END { print val }' "$RESP_HEADERS"
}

auth_h() { printf 'Authorization: Bearer %s' "${1-$KEY}"; }

# sse_messages FILE: every event's data of an SSE stream, one JSON per line.
sse_messages() {
        awk '
                { sub(/\r$/, "") }
                /^data:/ { d = substr($0, 6); sub(/^ /, "", d); buf = buf (buf == "" ? "" : "\n") d; next }
                /^$/ { if (buf != "") print buf; buf = ""; next }
                END { if (buf != "") print buf }' "$1" | jq -c . 2>/dev/null
}

# sse_response FILE: the last JSON-RPC response (result or error) in an SSE stream.
sse_response() {
        sse_messages "$1" | jq -c 'select(type == "object" and (has("result") or has("error")))' | tail -n 1
}

MCP_VERSION=2025-11-25
# mcp_post SESSION JSON [curl args...]: POST /mcp with the key; BODY is the
# JSON-RPC response even when the front answered with an SSE stream (the raw
# body is in $RAW_BODY, the stream itself stays in $RESP_BODY).
mcp_post() {
        local session=$1 json=$2
        shift 2
        local h=(-H "$(auth_h)" -H 'Content-Type: application/json'
                -H 'Accept: application/json, text/event-stream')
        [[ -n $session ]] && h+=(-H "Mcp-Session-Id: $session" -H "MCP-Protocol-Version: $MCP_VERSION")
        req POST "${MCP_PREFIX:-}/mcp" "${h[@]}" --data-binary "$json" "$@"
        RAW_BODY=$BODY
        if [[ $(header Content-Type) == text/event-stream* ]]; then
                BODY=$(sse_response "$RESP_BODY")
        fi
}

E2E_ID=0
next_id() { E2E_ID=$((E2E_ID + 1)); }

# mcp_initialize [curl args...]: initialize + notifications/initialized; sets
# SESSION (empty when it failed) and INIT_BODY.
mcp_initialize() {
        SESSION=
        next_id
        mcp_post "" "{\"jsonrpc\":\"2.0\",\"id\":$E2E_ID,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"$MCP_VERSION\",\"capabilities\":{},\"clientInfo\":{\"name\":\"e2e-curl\",\"version\":\"1.0\"}}}" "$@"
        INIT_BODY=$BODY
        INIT_CODE=$CODE
        SESSION=$(header Mcp-Session-Id)
        [[ $CODE == 200 && -n $SESSION ]] || return 1
        mcp_post "$SESSION" '{"jsonrpc":"2.0","method":"notifications/initialized"}' "$@"
        [[ $CODE == 202 ]]
}

# mcp_call SESSION TOOL ARGS-JSON [curl args...]: tools/call; BODY = response.
mcp_call() {
        local session=$1 tool=$2 args=${3:-'{}'}
        shift $(($# < 3 ? $# : 3))
        next_id
        mcp_post "$session" "$(jq -cn --argjson id "$E2E_ID" --arg t "$tool" --argjson a "$args" \
                '{jsonrpc: "2.0", id: $id, method: "tools/call", params: {name: $t, arguments: $a}}')" "$@"
}

mcp_tools_list() { # SESSION [CURSOR]
        next_id
        if [[ -n ${2:-} ]]; then
                mcp_post "$1" "$(jq -cn --argjson id "$E2E_ID" --arg c "$2" '{jsonrpc: "2.0", id: $id, method: "tools/list", params: {cursor: $c}}')"
        else
                mcp_post "$1" "{\"jsonrpc\":\"2.0\",\"id\":$E2E_ID,\"method\":\"tools/list\"}"
        fi
}

# all_tool_names SESSION: every tool name over all pages, one per line.
all_tool_names() {
        local cursor= n=0
        while :; do
                mcp_tools_list "$1" "$cursor"
                jq -r '.result.tools[]?.name' <<<"$BODY"
                cursor=$(jq -r '.result.nextCursor // empty' <<<"$BODY")
                [[ -z $cursor ]] && break
                ((++n > 100)) && break
        done
}

# ---- health ----

health() { # prints the /health JSON seen with the key
        curl -sS --max-time 5 -H "$(auth_h)" "$URL/health" 2>/dev/null
}

# upstream_field NAME JQ-FIELD: e.g. upstream_field fixture .state
upstream_field() {
        health | jq -r --arg n "$1" ".upstreams[]? | select(.name == \$n) | $2" 2>/dev/null
}

upstream_in_state() { [[ $(upstream_field "$1" .state) == "$2" ]]; }

# wait_upstream NAME STATE SECONDS
wait_upstream() { wait_for "$3" upstream_in_state "$1" "$2"; }

# ---- raw sockets ----

# raw_http BYTES [SECONDS]: sends BYTES (printf %b escapes) on one connection,
# half-closes, prints what came back within SECONDS (default 3).
raw_http() {
        printf '%b' "$1" | timeout $((${2:-3} + 5)) socat -t "${2:-3}" - "TCP:127.0.0.1:$PORT" 2>/dev/null
}

# raw_exchange BYTES [SECONDS]: sends BYTES (printf %b escapes) on a new
# connection WITHOUT half-closing and reads for up to SECONDS (default 3).
# Sets RAW_OUT (what came back) and RAW_CLOSED=1 when the server closed the
# connection within that time.
raw_exchange() {
        local fd rc
        RAW_OUT= RAW_CLOSED=0
        exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" || return 1
        printf '%b' "$1" >&"$fd"
        RAW_OUT=$(timeout "${2:-3}" cat <&"$fd")
        rc=$?
        ((rc == 0)) && RAW_CLOSED=1
        exec {fd}>&-
        return 0
}

# status_lines TEXT: the HTTP status codes of every response in TEXT, space separated.
# (a response may start right after the previous body, without a newline)
status_lines() { grep -aoE 'HTTP/1\.[01] [0-9]{3} ' <<<"$1" | awk '{printf "%s%s", sep, $2; sep=" "}'; }

# relay_checks CMD...: runs CMD (e.g. a node client) and turns each "PASS x" /
# "FAIL x" line it prints into a check; other lines are shown indented.
relay_checks() {
        local out rc line n=0 failed=0
        out=$("$@" 2>&1)
        rc=$?
        while IFS= read -r line; do
                case $line in
                "PASS "*) pass "${line#PASS }"; n=$((n + 1)) ;;
                "FAIL "*) fail "${line#FAIL }"; n=$((n + 1)); failed=1 ;;
                *) [[ -n $line ]] && printf '    | %s\n' "${line:0:300}" ;;
                esac
        done <<<"$out"
        ((n == 0)) && fail "$(basename "$1") $(basename "${2:-}") printed checks" "exit $rc, no PASS/FAIL line"
        ((rc != 0 && failed == 0)) && fail "$(basename "$1") $(basename "${2:-}") exits 0" "exit $rc"
        return 0
}

# ---- secrets ----

# check_no_keys_in_logs KEY...: no key appears in any file under $T except the
# config and keys files the test itself wrote.
check_no_keys_in_logs() {
        local k f hits=()
        for k in "$@"; do
                for f in "$T"/*.log; do
                        [[ -f $f ]] || continue
                        grep -qF -- "$k" "$f" && hits+=("key ${k:0:6}... appears in $(basename "$f")")
                done
        done
        if ((${#hits[@]})); then fail "no API key in any log" "${hits[@]}"; else pass "no API key in any log"; fi
}

# require_binaries: fail the scenario early when the binaries are missing.
require_binaries() {
        local b missing=()
        for b in "$HUB_BIN" "$FRONT_BIN" "$@"; do [[ -x $b ]] || missing+=("$b"); done
        if ((${#missing[@]})); then
                fail "binaries exist" "missing: ${missing[*]}"
                exit 1
        fi
}

# ---- a booted Debian 12 (e2e-systemd, e2e-deb) ----

# debian_tree: sets TREE to a Debian 12 tree from debootstrap, made once and cached under
# $MCP_TEST_CACHE (default /var/cache/mcp-proxy-tests) for every later run and scenario;
# skips the scenario where the machine cannot make or boot one (not root, no
# systemd-nspawn or debootstrap, no mirror).
debian_tree() {
        ((EUID == 0)) || skip_all "needs root"
        command -v systemd-nspawn >/dev/null && command -v debootstrap >/dev/null ||
                skip_all "needs systemd-nspawn and debootstrap (systemd-container, debootstrap)"
        local cache=${MCP_TEST_CACHE:-/var/cache/mcp-proxy-tests} t0
        local pkgs=systemd,systemd-sysv,dbus,libcjson1,libcurl4,ca-certificates,procps,curl,jq
        TREE=$cache/bookworm
        [[ -x $TREE/usr/bin/jq ]] && return 0
        mkdir -p "$cache"
        rm -rf "$TREE.new"
        t0=$(now_ms)
        if ! timeout 300 debootstrap --variant=minbase --include="$pkgs" bookworm "$TREE.new" \
                http://deb.debian.org/debian >"$T/debootstrap.log" 2>&1; then
                rm -rf "$TREE.new"
                skip_all "debootstrap of bookworm failed (no mirror?): $(tail -n 1 "$T/debootstrap.log")"
        fi
        mv "$TREE.new" "$TREE"
        printf '    | INFO debootstrap of the tree: %d ms (cached for later runs)\n' $(($(now_ms) - t0))
}

# tree_node_binds: NODE_BINDS, the systemd-nspawn arguments that give the container the
# host's node as /usr/local/bin/node and the tests (the SDK clients and their
# node_modules) as /opt/tests; NODE_BIN is empty, and so are they, without node.
tree_node_binds() {
        NODE_BIN=
        NODE_BINDS=()
        command -v node >/dev/null && [[ -d $E2E_ROOT/tests/node_modules/@modelcontextprotocol/sdk ]] &&
                NODE_BIN=$(readlink -f "$(command -v node)")
        [[ -n $NODE_BIN ]] || return 0
        NODE_BINDS=(--bind-ro="$NODE_BIN:/usr/local/bin/node" --bind-ro="$E2E_ROOT/tests:/opt/tests")
        # a worktree's node_modules may be a link to another checkout's: bound where it points
        [[ -L $E2E_ROOT/tests/node_modules ]] &&
                NODE_BINDS+=(--bind-ro="$(readlink -f "$E2E_ROOT/tests/node_modules")")
        return 0
}

# boot_tree [systemd-nspawn args...]: boots $TREE (--volatile=overlay: the tree stays
# clean; --private-network: the ports are the container's), log $T/nspawn.log; sets
# NSPAWN (its pid) and L (the container's init, for nsenter); S CMD... runs CMD inside.
# Skips the scenario when the container does not come up; checks that it boots.
boot_tree() {
        local t0
        t0=$(now_ms)
        systemd-nspawn -D "$TREE" -b --register=no --keep-unit --console=passive --volatile=overlay \
                --private-network -M "mcpt$$" "$@" >"$T/nspawn.log" 2>&1 &
        NSPAWN=$!
        PIDS+=("$NSPAWN")
        wait_for 10 nspawn_leader_up || true
        L=$(nspawn_leader)
        [[ -n $L ]] || skip_all "systemd-nspawn did not boot here: $(tail -n 3 "$T/nspawn.log")"
        check "the container boots (systemctl is-system-running)" wait_for 60 tree_booted
        printf '    | INFO boot: %d ms\n' $(($(now_ms) - t0))
}
nspawn_leader() { pgrep -P "$NSPAWN" | head -n 1; }
nspawn_leader_up() { [[ -n $(nspawn_leader) ]]; }
S() { nsenter -t "$L" -a "$@"; }
tree_booted() { [[ $(S systemctl is-system-running 2>/dev/null) =~ ^(running|degraded)$ ]]; }

# poweroff_tree: stops the container and checks that it went.
poweroff_tree() {
        kill -TERM "$NSPAWN"
        wait_for 20 bash -c '! kill -0 "$1" 2>/dev/null' _ "$NSPAWN"
        check "the container powers off" bash -c '! kill -0 "$1" 2>/dev/null' _ "$NSPAWN"
}
