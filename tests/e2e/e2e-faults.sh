#!/usr/bin/env bash
# Upstream faults with mcp-fixture: crash during a call (error naming the
# server at once, restart, the other upstream unaffected), hang past the
# server's "timeout" (error + notifications/cancelled), garbage on stdout,
# slow start, exit at start (backoff, then failed), 1 MiB output, isError
# and JSON-RPC error results intact, the child's environment and cwd, stderr
# tagging, and SIGTERM of the hub (exit 0, no child left, even one that
# ignores SIGTERM and EOF); log lines with level words, <N> under JOURNAL_STREAM.
source "$(dirname "$0")/lib.sh"
require_binaries "$FIXTURE"
export CURL_MAX_TIME=20

mkdir -p "$T/work"
STDERR_LINE="fixture-stderr-line-$RANDOM$RANDOM"
FX=$(srv_fixture fx --stderr "$STDERR_LINE" |
        jq --arg cwd "$T/work" '.timeout = 2 | .env.FOO_FROM_CONFIG = "bar from config" | .cwd = $cwd')
write_config "$(config_of \
        fx "$FX" \
        other "$(srv_fixture other)" \
        slow "$(srv_fixture slow --slow-start 3000)" \
        dead "$(srv_fixture dead --exit-at-start 3 --starts-file "$T/dead.starts")" \
        garb "$(srv_fixture garb --garbage-at-start)" \
        stubborn "$(srv_fixture stubborn --ignore-sigterm --ignore-eof)" |
        # The faults of the one session that serves everyone (instances: e2e-instances.sh).
        jq -c '.mcpServers[] += {isolation: "shared"}')"

export SECRET_TOKEN=xyz-secret-of-the-hub
# MCP_STARTUP_TIMEOUT=0: clients are served at once, before "slow" is up (what a late
# server looks like to a session that is already open)
start_hub MCP_RESTART_DELAY=1 MCP_MAX_RETRIES=3 MCP_STARTUP_TIMEOUT=0 || exit 1
unset SECRET_TOKEN
start_front || exit 1

# a GET stream opened before "slow" is ready must hear about its tools
mcp_initialize || fail "initialize" "HTTP $INIT_CODE" "$INIT_BODY"
S=$SESSION
SLOW_EARLY=$(upstream_field slow .state)
curl -sS -N --max-time 60 -o "$T/get.body" -H "$(auth_h)" -H 'Accept: text/event-stream' \
        -H "Mcp-Session-Id: $S" -H 'MCP-Protocol-Version: 2025-11-25' "$URL/mcp" 2>/dev/null &
GET_PID=$!
PIDS+=("$GET_PID")

# record the states of "slow" and "dead" from the start
(
        for ((i = 0; i < 200; i++)); do
                health | jq -c '[.upstreams[]? | {(.name): .state}] | add' >>"$T/states.trace" 2>/dev/null
                sleep 0.05
        done
) &
TRACE_PID=$!
PIDS+=("$TRACE_PID")

for s in fx other garb stubborn; do
        check "upstream $s becomes ready" wait_upstream "$s" ready 20
done

# ---- slow start ----
check "slow: ready after its 3 s start" wait_upstream slow ready 20
check "slow: was seen \"starting\" first" grep -q '"slow":"starting"' "$T/states.trace"
if [[ $SLOW_EARLY == starting ]]; then
        check "GET stream gets notifications/tools/list_changed when slow's tools arrive" \
                wait_for 5 grep -qs 'notifications/tools/list_changed' "$T/get.body"
else
        echo "(slow was '$SLOW_EARLY', not starting, when the GET stream opened: list_changed check not applicable)"
fi
stop_pid "$GET_PID" 1
mcp_call "$S" slow_echo '{"message":"late"}'
check_jq "slow: calls work once ready" '.result.content[0].text == "Echo: late"'

# ---- exit at start: backoff, then failed ----
check "dead: \"failed\" after MCP_MAX_RETRIES=3 failed starts" wait_upstream dead failed 30
check "dead: was in \"backoff\" between attempts" grep -q '"dead":"backoff"' "$T/states.trace"
check_eq "dead: exactly MCP_MAX_RETRIES=3 failed starts before \"failed\"" 3 "$(wc -l <"$T/dead.starts")"
check_eq "dead: its stderr line is logged at every start" "$(wc -l <"$T/dead.starts")" \
        "$(grep -c 'dead: exiting at start with code 3' "$T/hub.log")"
check "dead: never \"ready\"" bash -c '! grep -q "\"dead\":\"ready\"" "$1"' _ "$T/states.trace"
D1=$(upstream_field dead .restarts)
check_jq "dead: last_error says why" '.upstreams[] | select(.name == "dead") | .last_error | type == "string" and length > 0' "$(health)"
sleep 2.5
check_eq "dead: stays failed, no more restarts" "failed $D1" "$(upstream_field dead .state) $(upstream_field dead .restarts)"
mcp_call "$S" other_echo '{"message":"unaffected"}'
check_jq "other: unaffected by dead" '.result.content[0].text == "Echo: unaffected"'
stop_pid "$TRACE_PID" 1

# ---- crash during a call ----
FX_PID=$(upstream_field fx .pid)
check "fx: /health has its pid" test -n "$FX_PID"
(
        for ((i = 0; i < 15; i++)); do
                mcp_call "$S" other_echo "{\"message\":\"tick $i\"}"
                echo "$CODE $(jq -c '.result.content[0].text // .error' <<<"$BODY" 2>/dev/null)"
                sleep 0.2
        done
) >"$T/other.trace" 2>&1 &
OTHER_LOOP=$!
PIDS+=("$OTHER_LOOP")
t0=$(now_ms)
mcp_call "$S" fx_crash '{}'
dt=$(($(now_ms) - t0))
check_jq "crash: the client gets a JSON-RPC error" '.error.code | type == "number"'
check_jq "crash: the error names the server fx" '.error | tostring | test("\\bfx\\b")'
check "crash: the error comes quickly (${dt} ms < 5000)" test "$dt" -lt 5000
fx_restarted() {
        local st pid
        st=$(upstream_field fx .state)
        pid=$(upstream_field fx .pid)
        [[ $st == ready && -n $pid && $pid != "$FX_PID" ]]
}
check "crash: fx restarts with a new pid" wait_for 20 fx_restarted
check_jq "crash: restarts counted" '.upstreams[] | select(.name == "fx") | .restarts >= 1' "$(health)"
mcp_call "$S" fx_echo '{"message":"back"}'
check_jq "crash: fx answers again" '.result.content[0].text == "Echo: back"'
wait "$OTHER_LOOP"
check_eq "other kept answering all along (15 of 15)" 15 "$(grep -c '^200 "Echo: tick' "$T/other.trace")"

# ---- hang past the timeout, cancellation ----
t0=$(now_ms)
mcp_call "$S" fx_hang '{}'
dt=$(($(now_ms) - t0))
check_jq "hang: JSON-RPC error after the timeout" '.error.code | type == "number"'
check "hang: after about 2 s (${dt} ms in 1500..6000)" test "$dt" -ge 1500 -a "$dt" -le 6000
mcp_call "$S" fx_cancelled '{}'
check_jq "hang: the fixture received notifications/cancelled" '.result.structuredContent.cancelled | length >= 1'
N1=$(jq '.result.structuredContent.cancelled | length' <<<"$BODY")
mcp_call "$S" fx_sleep '{"ms":5000}'
check_jq "sleep 5000 > timeout 2: JSON-RPC error" '.error.code | type == "number"'
mcp_call "$S" fx_cancelled '{}'
check_jq "sleep past the timeout: cancelled too" ".result.structuredContent.cancelled | length == ${N1:-0} + 1"
mcp_call "$S" fx_sleep '{"ms":500}'
check_jq "sleep 500 < timeout: answered" '.result.content[0].text == "Slept 500 ms"'
mcp_call "$S" fx_sleep '{"ms":1500}' >/dev/null &
BG=$!
PIDS+=("$BG")
sleep 0.2
t0=$(now_ms)
mcp_call "$S" fx_echo '{"message":"not blocked"}'
dt=$(($(now_ms) - t0))
check_jq "a call to fx while another is pending answers" '.result.content[0].text == "Echo: not blocked"'
check "... at once (${dt} ms < 1000)" test "$dt" -lt 1000
wait "$BG"

# ---- garbage ----
mcp_call "$S" fx_garbage '{}'
check_jq "garbage line before the answer: the call still succeeds" '.result.content[0].text == "garbage sent"'
check "garbage: the hub logs a warning naming fx" grep -qE '^warning: .*\bfx\b.*(JSON|json)' "$T/hub.log"
mcp_call "$S" garb_echo '{"message":"despite garbage"}'
check_jq "garbage at start: garb works" '.result.content[0].text == "Echo: despite garbage"'

# ---- big output ----
mcp_call "$S" fx_big '{"bytes":1048576}'
check_jq "1 MiB text block passes intact" '.result.content[0].text | length == 1048576 and test("^x+$")'
# over the 16 MiB a message may have: dropped whole (not its first 16 MiB, then the rest
# read as a line of its own), the call gets its error, the server goes on
t0=$(now_ms)
mcp_call "$S" fx_big '{"bytes":17000000}'
t_big=$(($(now_ms) - t0))
check_jq "17 MB line: the call gets a JSON-RPC error" '.error.code | type == "number"'
check_jq "... at once, saying why (the answer was too large), not at its timeout" \
        '.error.code == -32603 and (.error.message | test("over 16 MiB"))'
check "... within 20 s ($t_big ms)" test "$t_big" -lt 20000
check_eq "17 MB line: one warning, 'message over'" 1 "$(grep -c "fx.*message over" "$T/hub.log")"
check_eq "17 MB line: its tail is not read as a line of its own" 0 "$(grep -c "fx.*stdout line is not JSON (xxx" "$T/hub.log")"
mcp_call "$S" fx_echo '{"message":"after the big line"}'
check_jq "17 MB line: the next call is answered" '.result.content[0].text == "Echo: after the big line"'

# ---- results intact ----
mcp_call "$S" fx_fail '{}'
check_jq "fail: isError result with both blocks, structuredContent and _meta" \
        '.result.isError == true and (.result.content | length == 2)
         and .result.content[0].text == "first failure block" and .result.content[1].text == "second failure block"
         and .result.structuredContent == {"reason": "fixture failure", "code": 7} and .result._meta.fixture == true'
mcp_call "$S" fx_error '{}'
check_jq "error: code -32042, message and data intact" \
        '.error.code == -32042 and .error.message == "fixture error" and .error.data == {"detail": "x"}'
check_jq "error: keeps the client id" ".id == $E2E_ID"
mcp_call "$S" fx_add '{"a":2,"b":3}'
check_jq "add: structuredContent intact" '.result.structuredContent == {"sum": 5}'

# ---- environment and cwd ----
mcp_call "$S" fx_env '{"name":"FOO_FROM_CONFIG"}'
check_jq "env: the config env reaches the child" '.result.content[0].text == "bar from config"'
mcp_call "$S" fx_env '{"name":"PATH"}'
check_jq "env: the child has PATH" '.result.content[0].text | . != "(unset)" and length > 0'
mcp_call "$S" fx_env '{"name":"SECRET_TOKEN"}'
check_jq "env: a secret in the hub's environment does not reach the child" '.result.content[0].text == "(unset)"'
mcp_call "$S" fx_env '{"name":"MCP_CONFIG_PATH"}'
check_jq "env: the hub's MCP_* variables do not reach the child" '.result.content[0].text == "(unset)"'
mcp_call "$S" fx_cwd '{}'
check_jq "cwd: the config cwd" ".result.content[0].text == \"$T/work\""
check "stderr: the child's stderr line is logged tagged with fx" grep -qE "fx.*$STDERR_LINE" "$T/hub.log"

# ---- process group ----
FXP=$(upstream_field fx .pid)
check_eq "fx runs in its own process group" "$FXP" "$(awk '{print $5}' "/proc/$FXP/stat" 2>/dev/null)"

# ---- SIGTERM ----
CHILDREN=()
for s in fx other slow garb stubborn; do
        p=$(fixture_pid "$s")
        [[ -n $p ]] && CHILDREN+=("$p")
done
check_eq "five running fixture pids known" 5 "${#CHILDREN[@]}"
stop_hub 15
check_eq "hub SIGTERM: exit status 0" 0 "$HUB_RC"
check "hub SIGTERM: exits within 6 s, SIGKILLing one that ignores SIGTERM (${HUB_STOP_MS} ms)" test "$HUB_STOP_MS" -lt 6000
check "hub SIGTERM: removes its socket" test ! -e "$T/hub.sock"
alive=()
for p in "${CHILDREN[@]}"; do
        kill -0 "$p" 2>/dev/null && alive+=("$p")
done
check_eq "hub SIGTERM: no fixture process remains" "" "${alive[*]}"

# ---- log lines: level words where people read them, <N> where systemd does ----
LEVEL_RE='^(emergency|alert|critical|error|warning|notice|info|debug): '
check "every hub log line starts with its level word (no JOURNAL_STREAM)" \
        bash -c '! grep -qvE "$2" "$1"' _ "$T/hub.log" "$LEVEL_RE"
check "front log: request lines start with their level word" grep -qE '^info: .* client=.* status=200 ' "$T/front.log"
check "front log: no <N> prefix without JOURNAL_STREAM" bash -c '! grep -qE "^<[0-7]>" "$1"' _ "$T/front.log"
printf '{"mcpServers": {"x": {}}}\n' >"$T/bad-config.json"
out=$("$HUB_BIN" --check-config -c "$T/bad-config.json" 2>&1)
check_contains "hub --check-config, no JOURNAL_STREAM: 'error: invalid configuration'" "$out" "error: invalid configuration"
out=$(JOURNAL_STREAM=9:99 "$HUB_BIN" --check-config -c "$T/bad-config.json" 2>&1)
check "hub --check-config, JOURNAL_STREAM set: '<3>invalid configuration'" grep -qE '^<3>invalid configuration' <<<"$out"
start_front JOURNAL_STREAM=9:99 || exit 1
req GET /health # the hub is gone: 503, logged as an error
check_code "front with JOURNAL_STREAM, hub stopped: /health 503" 503
check "front with JOURNAL_STREAM: its request line has the <3> prefix" \
        wait_for 5 grep -qE '^<3>.*GET /health.*status=503' "$T/front.log"
check_no_keys_in_logs "$KEY"
