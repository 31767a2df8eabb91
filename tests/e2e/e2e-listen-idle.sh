#!/usr/bin/env bash
# mcp-proxy --listen under idle connections (issue 17, item 4): the listener
# holds connections that have sent nothing itself, without a process each, so
# with 1,000 and then 1,150 of them open (tests/e2e/idle-conns.mjs) /health,
# /health with a key and a tools/call still answer within 5 s (times printed);
# the listener's children stay few, its RSS stays flat (printed) and it raised
# its own RLIMIT_NOFILE soft limit to the hard one. The held ones are closed
# once MCP_HTTP_FIRST_REQUEST_TIMEOUT has passed since their accept, not
# before, with a notice; a head trickled a byte at a time gets 408 at that
# same deadline. With MCP_LISTEN_MAX_IDLE=100, 150 idle connections close the
# oldest 50 and a request is still served; under a hard RLIMIT_NOFILE of 100 the
# bound is lowered to 68 with a warning; with a single descriptor number left the
# connection a request comes on is not closed to make room. SIGTERM stops the listener.
# A listening socket from the service manager (Accept=no) gets the same listener.
source "$(dirname "$0")/lib.sh"
require_binaries "$FIXTURE"
export CURL_MAX_TIME=30

IDLE_S=20   # MCP_HTTP_FIRST_REQUEST_TIMEOUT of the first listener: long enough to measure under it
BOUND_MS=5000
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null
(($(ulimit -n) >= 1400)) || skip_all "RLIMIT_NOFILE hard limit $(ulimit -Hn), 1400 needed"

write_config "$(config_of fx "$(srv_fixture fx)")"
start_hub || exit 1

# start_listener LOG VAR=VAL...: mcp-proxy --listen on a new port, after the command
# $NOFILE: by default a soft RLIMIT_NOFILE of 1024 (what systemd gives a service), to
# see it raise its own.
NOFILE='ulimit -Sn 1024'
start_listener() {
        local log=$1
        shift
        PORT=$(pick_port)
        env E2E_MARK="$MARK" MCP_HUB_SOCKET="$T/hub.sock" MCP_API_KEYS="$KEY:$KEY_CLIENT" \
                MCP_LOG_LEVEL=debug "$@" bash -c "$NOFILE"' && exec "$@"' _ \
                "$FRONT_BIN" --listen "127.0.0.1:$PORT" >>"$T/$log" 2>&1 &
        LISTEN_PID=$!
        PIDS+=("$LISTEN_PID")
        URL=http://127.0.0.1:$PORT
        wait_for 10 port_listening "$PORT"
}

# helper_start: idle-conns.mjs on $PORT as a coprocess; helper CMD: one command, answer in $OUT.
helper_start() {
        coproc IDLE { exec node tests/e2e/idle-conns.mjs "$PORT"; }
        PIDS+=("$IDLE_PID")
}
helper() {
        OUT=
        echo "$1" >&"${IDLE[1]}" && IFS= read -r -t 120 OUT <&"${IDLE[0]}"
}
helper_stop() { # the coprocess's variables go when it exits: no answer to read
        local pid=$IDLE_PID
        echo exit >&"${IDLE[1]}"
        wait "$pid" 2>/dev/null
}
field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }' <<<"$OUT"; }
fds_of() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
fds_at_least() { (($(fds_of "$1") >= $2)); }
children_of() { grep -ls "^PPid:[[:space:]]*$1\$" /proc/[0-9]*/status 2>/dev/null | wc -l; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
helper_open_is() { helper status && [[ $(field open) == "$1" ]]; }

# timed_requests WHAT: /health, /health with the key and a tools/call, each within BOUND_MS.
timed_requests() {
        local what=$1 t0 dt
        t0=$(now_ms)
        req GET /health
        dt=$(($(now_ms) - t0))
        check "$what: /health answers 200 in ${dt} ms (< $BOUND_MS)" \
                test "$CODE" = 200 -a "$dt" -lt "$BOUND_MS"
        t0=$(now_ms)
        req GET /health -H "$(auth_h)"
        dt=$(($(now_ms) - t0))
        check "$what: /health with the key shows fx ready in ${dt} ms (< $BOUND_MS)" \
                test "$CODE" = 200 -a "$dt" -lt "$BOUND_MS" -a \
                "$(jq -r '.upstreams[]? | select(.name == "fx") | .state' <<<"$BODY" 2>/dev/null)" = ready
        t0=$(now_ms)
        mcp_call "$SESSION" echo "{\"message\":\"$what\"}"
        dt=$(($(now_ms) - t0))
        check_jq "$what: tools/call answered in ${dt} ms" '.result.content[0].text == "Echo: '"$what"'"'
        check "$what: ... within $BOUND_MS ms" test "$dt" -lt "$BOUND_MS"
}

# ---- 1,000 then 1,150 idle connections ----
check "front --listen listens" start_listener listen.log MCP_HTTP_FIRST_REQUEST_TIMEOUT=$IDLE_S
check "upstream fx becomes ready" wait_upstream fx ready 30
check "initialize through the listener" mcp_initialize
soft=$(awk '/^Max open files/ { print $4 }' "/proc/$LISTEN_PID/limits")
hard=$(awk '/^Max open files/ { print $5 }' "/proc/$LISTEN_PID/limits")
check_eq "the listener raised its soft RLIMIT_NOFILE (started at 1024) to the hard one" "$hard" "$soft"
rss0=$(rss_kb "$LISTEN_PID")

helper_start
helper trickle
check_eq "a client starts trickling a request head" trickling "$OUT"
t_open=$(now_ms)
helper "open 1000"
check_eq "1000 idle connections open" "opened 1000 failed 0" "$OUT"
check "... and the listener holds them itself ($(fds_of "$LISTEN_PID") descriptors)" \
        wait_for 30 fds_at_least "$LISTEN_PID" 1000
n=$(children_of "$LISTEN_PID")
check "... with no process for them: $n children (< 5)" test "$n" -lt 5
has_child() { (($(children_of "$LISTEN_PID") > 0)); }
wait_for 10 has_child
child=$(grep -ls "^PPid:[[:space:]]*$LISTEN_PID\$" /proc/[0-9]*/status 2>/dev/null | head -n 1 | cut -d/ -f3)
n=$( [[ -n $child ]] && ls "/proc/$child/fd" | tr '\n' ' ')
check "the trickling connection's child holds none of them (its descriptors: $n)" \
        test -n "$child" -a "$(fds_of "${child:-0}")" -le 5
timed_requests "1000 idle"

helper "open 150"
check_eq "150 more idle connections open" "opened 150 failed 0" "$OUT"
check "... held by the listener ($(fds_of "$LISTEN_PID") descriptors)" \
        wait_for 30 fds_at_least "$LISTEN_PID" 1150
timed_requests "1150 idle"
n=$(children_of "$LISTEN_PID")
check "1150 idle connections: still $n children (< 5)" test "$n" -lt 5
rss1=$(rss_kb "$LISTEN_PID")
check "the listener's RSS: $rss0 kB before, $rss1 kB with 1150 held (grew < 4096 kB)" \
        test $((rss1 - rss0)) -lt 4096
helper status
check_eq "no idle connection closed before its time" 0 "$(field closed)"

# ---- the first-request deadline ----
check "every idle connection is closed by the listener" \
        wait_for $((IDLE_S + 60)) helper_open_is 0
helper status
check_eq "... all 1150" 1150 "$(field closed)"
first=$(($(field first_close_at) - t_open)) max_age=$(field max_age)
check "... none before MCP_HTTP_FIRST_REQUEST_TIMEOUT=${IDLE_S}s (the first ${first} ms after opening began)" \
        test "$first" -ge $((IDLE_S * 1000))
check "... none long after it (latest after ${max_age} ms)" test "$max_age" -le $((IDLE_S * 1000 + 15000))
check "... told by a notice (listen.log)" \
        grep -qE 'notice: closed connections: [0-9]+ sent nothing within '"$((IDLE_S * 1000))"' ms' "$T/listen.log"
trickle_done() { helper status && [[ $OUT != *"trickle open"* ]]; }
check "the trickled head is answered and closed" wait_for 30 trickle_done
tr=$(sed 's/.*trickle //' <<<"$OUT")
read -r _ tr_ms tr_code <<<"$tr"
check_eq "the trickled head gets 408 ($tr)" 408 "$tr_code"
check "... at the first-request deadline (${tr_ms} ms after connecting)" \
        test "$tr_ms" -ge $((IDLE_S * 1000 - 1000)) -a "$tr_ms" -le $((IDLE_S * 1000 + 15000))
n=$(fds_of "$LISTEN_PID")
check "the listener is back to a few descriptors ($n)" test "$n" -lt 20
timed_requests "after the idle ones"
helper_stop

stop_pid "$LISTEN_PID" 10
check "the listener exits on SIGTERM" bash -c '! kill -0 "$1" 2>/dev/null' _ "$LISTEN_PID"
check "... saying so" grep -q 'stopping the listener' "$T/listen.log"

# ---- MCP_LISTEN_MAX_IDLE: the oldest make room ----
check "front --listen with MCP_LISTEN_MAX_IDLE=100 listens" \
        start_listener listen2.log MCP_LISTEN_MAX_IDLE=100 MCP_HTTP_FIRST_REQUEST_TIMEOUT=60
mcp_initialize
helper_start
helper "open 100"
check_eq "100 idle connections open" "opened 100 failed 0" "$OUT"
check "... held" wait_for 30 fds_at_least "$LISTEN_PID" 100
helper "open 50"
check_eq "50 more open" "opened 50 failed 0" "$OUT"
closed_50() { helper status && (($(field closed) >= 50)); }
check "50 are closed to make room" wait_for 30 closed_50
helper status
check_eq "... exactly 50 ($OUT)" 50 "$(field closed)"
check_eq "... the oldest: indexes 0 to 49" "0 49" "$(field first_closed) $(field last_closed)"
timed_requests "at MCP_LISTEN_MAX_IDLE"
helper_stop
stop_pid "$LISTEN_PID" 10

# ---- a hard RLIMIT_NOFILE of 100: the bound is lowered to fit ----
NOFILE='ulimit -n 100'
check "front --listen under a hard RLIMIT_NOFILE of 100 listens" start_listener listen3.log
check "... and warns that it holds at most 68 idle connections" \
        grep -q 'RLIMIT_NOFILE is 100: at most 68 idle connections are held, not 4096' "$T/listen3.log"
mcp_initialize
helper_start
helper "open 150"
check_eq "150 idle connections open" "opened 150 failed 0" "$OUT"
closed_82() { helper status && (($(field closed) >= 82)); }
check "the oldest 82 are closed" wait_for 30 closed_82
helper status
check_eq "... exactly those ($OUT)" "82 0 81" "$(field closed) $(field first_closed) $(field last_closed)"
timed_requests "68 idle held under 100 descriptors"
helper_stop
stop_pid "$LISTEN_PID" 10

# ---- Accept=no: the service manager's listening socket gets the same listener ----
PORT=$(pick_port)
systemd-socket-activate -l "127.0.0.1:$PORT" -E "E2E_MARK=$MARK" -E "MCP_HUB_SOCKET=$T/hub.sock" \
        -E "MCP_API_KEYS=$KEY:$KEY_CLIENT" -E MCP_LOG_LEVEL=debug -E ASAN_OPTIONS -E UBSAN_OPTIONS \
        "$FRONT_BIN" >>"$T/accept-no.log" 2>&1 &
LISTEN_PID=$! # the first connection makes it exec the front, same pid
PIDS+=("$LISTEN_PID")
URL=http://127.0.0.1:$PORT
check "systemd-socket-activate (Accept=no) listens" wait_for 10 port_listening "$PORT"
helper_start
helper "open 200"
check_eq "Accept=no: 200 idle connections open" "opened 200 failed 0" "$OUT"
check "... and the front holds them itself" wait_for 30 fds_at_least "$LISTEN_PID" 200
n=$(children_of "$LISTEN_PID")
check "... with no process for them: $n children (< 5)" test "$n" -lt 5
mcp_initialize
timed_requests "Accept=no, 200 idle"
helper_stop
stop_pid "$LISTEN_PID" 10
check "Accept=no: the front exits on SIGTERM, saying so" grep -q 'stopping the listener' "$T/accept-no.log"

# ---- one descriptor number left: accept() says EMFILE even when nobody waits ----
NOFILE='ulimit -n 16 && exec 3<&- 4<&- 5<&- 6<&- 7</dev/null 8</dev/null 9</dev/null 10</dev/null 11</dev/null 12</dev/null 13</dev/null 14</dev/null'
check "front --listen with one descriptor number to spare listens" start_listener listen4.log
helper_start
helper "open 3"
check_eq "3 idle connections open" "opened 3 failed 0" "$OUT"
closed_2() { helper status && (($(field closed) >= 2)); }
check "the first 2 are closed to make room" wait_for 30 closed_2
mcp_initialize
check_eq "a client that then comes is served (its connection was not taken for room)" 200 "$INIT_CODE"
timed_requests "one descriptor to spare"
check "... the listener said so" grep -q 'notice: closed connections: .* idle ones made room' "$T/listen4.log"
helper_stop
stop_pid "$LISTEN_PID" 10

check_no_keys_in_logs "$KEY"
