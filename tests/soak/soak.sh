#!/usr/bin/env bash
# The soak (make soak; a 60 s run is tests/e2e/e2e-soak.sh): the real binaries for
# SOAK_SECONDS (default 300) with every fault at once, then a table.
#
#   upstreams  fx      mcp-fixture over stdio, "isolation": "shared", "timeout": 5
#              iso     mcp-fixture over stdio, "isolation": "client" (one child per client id)
#              web     remote-server.mjs, Streamable HTTP, "timeout": 5
#              legacy  server-everything in sse mode (the legacy HTTP+SSE transport)
#              web and legacy run in loops that start them again on their port when killed.
#   hub        under sock-holder (as under mcp-proxy-hub.socket): SIGTERM every SOAK_HUB_EVERY
#              seconds (default 60), started again on the same socket; STATE_DIRECTORY set, so
#              sessions outlive it.
#   front      mcp-proxy --listen on 127.0.0.1, its log (and every child's) in front.log.
#   load       tests/soak/soak-driver.mjs: SOAK_CLIENTS (16) MCP clients, 4 API keys (12 with
#              2025-11-25 sessions, 2 stateless 2026-07-28 ones, 2 on the legacy SSE transport); every
#              SOAK_FAULT_EVERY seconds (3) a fault in turn (SIGKILL of a stdio, the HTTP or the
#              SSE upstream, SIGSTOP of one for 8 s, calls to fixture tools that hang, write
#              garbage, write a SOAK_BIG_BYTES line (20 MB) or crash); SOAK_IDLE (1000) idle and
#              SOAK_LORIS (100) slow-loris connections held open all along.
#
# Every request has a deadline, SOAK_DEADLINE seconds (60: beyond the 5 and 10 s server
# timeouts, the hub's 10 s shutdown and 15 s start-up wait). At the end every process of the
# run is stopped and the table printed (also to SOAK_TABLE, default $BUILD/soak-table.txt):
# requests sent, answered with a result, with a JSON-RPC error, unanswered (must be 0), wrong
# echoes (must be 0); processes of the run left (must be 0); hub RSS at start, peak and end,
# per hub and overall; sanitizer reports in the hub's, fronts' and servers' logs (must be 0).
# Logs stay in the run's directory with E2E_KEEP=1.
source "$(dirname "$0")/../e2e/lib.sh"
HOLDER=$BUILD/tests/sock-holder
require_binaries "$FIXTURE" "$HOLDER"
[[ -x $EVERYTHING ]] || { fail "server-everything installed" "$EVERYTHING missing (make test-deps)"; exit 1; }

DURATION=${SOAK_SECONDS:-300}
CLIENTS=${SOAK_CLIENTS:-16}
IDLE=${SOAK_IDLE:-1000}
LORIS=${SOAK_LORIS:-100}
HUB_EVERY=${SOAK_HUB_EVERY:-60}
FAULT_EVERY=${SOAK_FAULT_EVERY:-3}
DEADLINE=${SOAK_DEADLINE:-60}
BIG_BYTES=${SOAK_BIG_BYTES:-20000000}
TABLE=${SOAK_TABLE:-$BUILD/soak-table.txt}
LOG_LEVEL=${SOAK_LOG_LEVEL:-info}
for v in DURATION CLIENTS IDLE LORIS HUB_EVERY FAULT_EVERY DEADLINE BIG_BYTES; do
        [[ ${!v} =~ ^[0-9]+$ && ${!v} -gt 0 ]] || { fail "SOAK_* values are positive integers" "$v=${!v}"; exit 1; }
done
E2E_DIR=$E2E_ROOT/tests/e2e
# ASan holds 256 MiB of freed memory by default (its quarantine, for use-after-free
# reports): the hub's RSS would mostly measure that.
[[ $ASAN_OPTIONS == *quarantine_size_mb* ]] || export ASAN_OPTIONS=$ASAN_OPTIONS:quarantine_size_mb=16
BUILT="without sanitizers"
grep -qa __asan_init "$HUB_BIN" && BUILT="ASan+UBSan, $(grep -o 'quarantine_size_mb=[0-9]*' <<<"$ASAN_OPTIONS")"

# ---- remote upstreams, started again whenever they die ----
pick_ports() { # N: N distinct free ports into PORTS
        PORTS=()
        local p
        while ((${#PORTS[@]} < $1)); do
                p=$(pick_port) || return 1
                [[ " ${PORTS[*]} " == *" $p "* ]] || PORTS+=("$p")
        done
}
pick_ports 3 || { fail "free ports"; exit 1; }
P_HTTP=${PORTS[0]} P_SSE=${PORTS[1]} PORT=${PORTS[2]}

# respawn LOG CMD...: CMD, and again 0.5 s after each exit until $T/stop exists.
respawn() {
        local log=$1
        shift
        (
                trap - INT TERM HUP EXIT
                while [[ ! -e $T/stop ]]; do
                        "$@" >>"$log" 2>&1 & # not in the foreground: no "Killed" note
                        wait "$!"
                        sleep 0.5
                done
        ) &
        PIDS+=("$!")
}
respawn "$T/web.log" env E2E_MARK="$MARK" node "$E2E_DIR/remote-server.mjs" /dev/null "$P_HTTP"
respawn "$T/legacy.log" env E2E_MARK="$MARK" PORT="$P_SSE" node -r "$E2E_DIR/loopback-only.cjs" "$EVERYTHING" sse
for p in "$P_HTTP" "$P_SSE"; do
        wait_for 30 port_listening "$p" || { fail "remote upstream listens on $p" "$(tail -n 5 "$T"/web.log "$T"/legacy.log)"; exit 1; }
done

# ---- the hub under sock-holder ----
KEYS=() KEYS_ENV=
for i in 0 1 2 3; do
        k=soak$i-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
        KEYS+=("$k")
        KEYS_ENV+=${KEYS_ENV:+,}$k:soak-client-$i
done
write_config "$(config_of \
        fx "$(srv_fixture fx | jq -c '.isolation = "shared" | .timeout = 5')" \
        iso "$(srv_fixture iso | jq -c '.isolation = "client" | .timeout = 5')" \
        web "{\"url\":\"http://127.0.0.1:$P_HTTP/mcp\",\"timeout\":5}" \
        legacy "{\"url\":\"http://127.0.0.1:$P_SSE/sse\",\"timeout\":10}")"
STATE=$T/state
mkdir -m 700 "$STATE"
# MCP_MAX_RETRIES: killed every few seconds, a server would otherwise be "failed" for good
env E2E_MARK="$MARK" MCP_CONFIG_PATH="$T/config.json" STATE_DIRECTORY="$STATE" \
        MCP_LOG_LEVEL="$LOG_LEVEL" MCP_RESTART_DELAY=0.2 MCP_MAX_RETRIES=1000000 \
        "$HOLDER" "$T/hub.sock" "$T/hub.pid" "$HUB_BIN" >>"$T/hub.log" 2>&1 &
HOLDER_PID=$!
PIDS+=("$HOLDER_PID")
wait_for 15 test -S "$T/hub.sock" -a -s "$T/hub.pid" ||
        { fail "hub under sock-holder starts" "$(tail -n 20 "$T/hub.log")"; exit 1; }

# ---- the front: mcp-proxy --listen ----
env E2E_MARK="$MARK" MCP_HUB_SOCKET="$T/hub.sock" MCP_API_KEYS="$KEYS_ENV" MCP_LOG_LEVEL="$LOG_LEVEL" \
        "$FRONT_BIN" --listen "127.0.0.1:$PORT" >>"$T/front.log" 2>&1 &
FRONT_PID=$!
PIDS+=("$FRONT_PID")
wait_for 10 port_listening "$PORT" || { fail "front listens on $PORT" "$(tail -n 20 "$T/front.log")"; exit 1; }
URL=http://127.0.0.1:$PORT
KEY=${KEYS[0]}
for s in fx iso web legacy; do
        check "upstream $s becomes ready" wait_upstream "$s" ready 60
done

# ---- the run ----
jq -n --arg port "$PORT" --arg keys "$KEYS_ENV" --arg mark "$MARK" --arg T "$T" \
        --argjson clients "$CLIENTS" --argjson seconds "$DURATION" --argjson deadline "$DEADLINE" \
        --argjson fault "$FAULT_EVERY" --argjson hub "$HUB_EVERY" --argjson idle "$IDLE" \
        --argjson loris "$LORIS" --argjson big "$BIG_BYTES" \
        '{host: "127.0.0.1", port: ($port | tonumber), clients: $clients, seconds: $seconds,
          keys: ($keys | split(",") | map(split(":"))), deadlineMs: ($deadline * 1000),
          faultEveryMs: ($fault * 1000), hubEveryMs: ($hub * 1000), stopMs: 8000, idle: $idle,
          loris: $loris, lorisByteMs: 1000, bigBytes: $big, hubPidFile: ($T + "/hub.pid"),
          mark: $mark, summary: ($T + "/summary.json")}' >"$T/driver.json"
echo "soak: ${DURATION} s, $CLIENTS clients, $IDLE idle + $LORIS slow-loris connections, a fault every ${FAULT_EVERY} s, hub restart every ${HUB_EVERY} s ($T)"
env E2E_MARK="$MARK" node "$E2E_ROOT/tests/soak/soak-driver.mjs" "$T/driver.json" 2>"$T/driver.log" &
DRIVER_PID=$!
PIDS+=("$DRIVER_PID")
wait "$DRIVER_PID"
DRIVER_RC=$?
check_eq "the load driver ran to its end" 0 "$DRIVER_RC"
[[ -s $T/summary.json ]] || { fail "the driver wrote its summary" "$(tail -n 20 "$T/driver.log")"; exit 1; }
RSS_BEFORE_STOP=$(grep -s VmRSS "/proc/$(cat "$T/hub.pid")/status" | awk '{print $2}')

# ---- stop everything, in the order systemd would ----
stop_pid "$FRONT_PID" 10 # the listener; its children end with their connections
front_children() { [[ -z $(marked_cmd "$FRONT_BIN") ]]; }
marked_cmd() { # PATTERN: pids of our marked processes whose argv contains PATTERN
        local pid
        for pid in $(marked_pids); do
                tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$1" && echo "$pid"
        done
}
wait_for 30 front_children
stop_pid "$HOLDER_PID" 20 # SIGTERM to the hub, which stops its servers
touch "$T/stop"
for pid in $(marked_cmd remote-server.mjs) $(marked_cmd mcp-server-everything); do stop_pid "$pid" 5; done
for pid in "${PIDS[@]}"; do stop_pid "$pid" 5; done
PIDS=()
LEFT=()
for ((i = 0; i < 100; i++)); do
        mapfile -t LEFT < <(marked_pids)
        ((${#LEFT[@]} == 0)) && break
        sleep 0.1
done
LEFT_DESC=()
for pid in "${LEFT[@]}"; do
        LEFT_DESC+=("pid $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | head -c 200)")
        kill -KILL "$pid" 2>/dev/null
done
SAN=$(cat "$T"/*.log 2>/dev/null | grep -cE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)')

# ---- the table ----
S=$T/summary.json
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
{
        echo "soak: $(jq .seconds "$S") s, $CLIENTS clients, $IDLE idle + $LORIS slow-loris connections," \
                "a fault every ${FAULT_EVERY} s, hub SIGTERM every ${HUB_EVERY} s; $BUILT"
        printf '%-42s %s\n' \
                "requests sent" "$(jq .sent "$S")" \
                "  answered with a result" "$(jq .result "$S")" \
                "  answered with a JSON-RPC error" "$(jq .error "$S")" \
                "  unanswered (must be 0)" "$(jq .unanswered "$S")" \
                "  echoes with a wrong text (must be 0)" "$(jq .wrong "$S")" \
                "processes of the run left (must be 0)" "${#LEFT[@]}" \
                "hub RSS start / peak / end (MiB)" \
                "$(mib "$(jq '.hubs[0].first' "$S")") / $(mib "$(jq '[.hubs[].peak] | max' "$S")") / $(mib "$(jq '.hubs[-1].last' "$S")")" \
                "sanitizer reports (must be 0)" "$SAN"
        echo "per hub (pid: start / peak / end MiB, seconds sampled):"
        jq -r '.hubs[] | "  \(.pid): \(.first / 1024 * 10 | round / 10) / \(.peak / 1024 * 10 | round / 10) / \(.last / 1024 * 10 | round / 10) (\(.samples) s from t=\(.since); every 10 s: \(.trace | join(" ")))"' "$S"
        jq -r '"hub restarts asked: \(.hubRestarts); unexpected hub exits: \(.hubUnexpected | length)",
                "faults: \(.faults | to_entries | map("\(.key) \(.value)") | join(", "))" +
                        (if (.faultMisses | length) > 0 then "; no target: \(.faultMisses | tostring)" else "" end),
                "requests by client kind: \(.byKind | tostring); sessions opened: \(.sessions) (again after a 404: \(.reinit); legacy streams opened: \(.legacyStreams)); notifications/initialized 202: \(.notifications.accepted) of \(.notifications.sent)",
                "latency of answered requests: p50 \(.latency.p50) ms, p99 \(.latency.p99) ms, max \(.latency.max) ms",
                "GET /health every second: \(.health.ok) of \(.health.sent) answered 200; p50 \(.health.p50) ms, p99 \(.health.p99) ms, max \(.health.max) ms",
                "idle connections: held \(.idle.heldMin) min / \(.idle.heldAvg) avg of \(.idle.target); \(.idle.connects) opened, \(.idle.closedByServer) closed by the front (after p50 \(.idle.lifeP50) ms, max \(.idle.lifeMax) ms), \(.idle.connectErrors) failed to connect \(.idle.connectErrorCodes | tostring)",
                "slow-loris connections: held \(.loris.heldMin) min / \(.loris.heldAvg) avg of \(.loris.target); \(.loris.connects) opened, \(.loris.closedByServer) closed by the front (after p50 \(.loris.lifeP50) ms), answers \(.loris.statuses | tostring), \(.loris.connectErrors) failed to connect \(.loris.connectErrorCodes | tostring)",
                "per request kind (sent result error unanswered max_ms):",
                (.byOp | to_entries[] | "  \(.key) \(.value.sent) \(.value.result) \(.value.error) \(.value.unanswered) \(.value.maxMs)"),
                "JSON-RPC errors by kind:",
                (.errors | to_entries | sort_by(-.value) | .[:12][] | "  \(.value) \(.key)"),
                (if .unanswered > 0 then "unanswered, why:", (.unansweredWhy | to_entries[] | "  \(.value) \(.key)"),
                        (.unansweredExamples[] | "  e.g. \(tostring)") else empty end),
                (if .wrong > 0 then (.wrongExamples[] | "  wrong: \(tostring)") else empty end)' "$S"
        ((${#LEFT_DESC[@]})) && printf '  left: %s\n' "${LEFT_DESC[@]}"
        ((SAN)) && grep -hE -m 5 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$T"/*.log | sed 's/^/  /'
} | tee "$TABLE"
[[ -n $RSS_BEFORE_STOP ]] && echo "(hub VmRSS just before the stop: $(mib "$RSS_BEFORE_STOP") MiB)"

# ---- the checks ----
check "requests were answered with results" test "$(jq .result "$S")" -gt 0
check_eq "no request unanswered" 0 "$(jq .unanswered "$S")"
check_eq "no echo with a wrong text" 0 "$(jq .wrong "$S")"
check_eq "no process of the run left after the stop" 0 "${#LEFT[@]}"
for kind in kill-stdio kill-http kill-sse stop-upstream hang-call garbage-call big-line-call crash-call; do
        if ((DURATION >= 9 * FAULT_EVERY)); then
                check "fault $kind happened" test "$(jq --arg k "$kind" '.faults[$k] // 0' "$S")" -gt 0
        fi
done
if ((DURATION > HUB_EVERY)); then
        check "the hub was restarted" test "$(jq '.hubs | length' "$S")" -gt 1
fi
check_eq "no unexpected hub exit" 0 "$(jq '.hubUnexpected | length' "$S")"
check_eq "every notifications/initialized accepted" "$(jq .notifications.sent "$S")" "$(jq .notifications.accepted "$S")"
