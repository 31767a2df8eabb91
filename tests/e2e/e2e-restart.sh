#!/usr/bin/env bash
# A hub restart loses no session (issue 13), without a booted systemd: sock-holder keeps
# the hub's socket and starts the hub again when it exits, as systemd does with
# mcp-proxy-hub.socket and Restart=always. Sessions come back from the snapshot a clean
# stop leaves in STATE_DIRECTORY, or, after a crash, from their sealed ids; an ended
# session, another client's id or a forged one never does. A request the hub had not taken
# is sent again by the front; one a server was working on gets a JSON-RPC error, never a
# hang. The real SDK client keeps its session (and its sampling capability) across both.
source "$(dirname "$0")/lib.sh"
HOLDER=$BUILD/tests/sock-holder
require_binaries "$FIXTURE" "$HOLDER"
export CURL_MAX_TIME=20
[[ -x $EVERYTHING ]] || { fail "server-everything installed" "$EVERYTHING missing (make test-deps)"; exit 1; }

STATE=$T/state
mkdir -m 700 "$STATE"
KEY2=e2e-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
write_config "$(config_of \
        ev "$(srv_everything | jq -c '.isolation = "shared"')" \
        fx "$(srv_fixture fx | jq -c '.isolation = "shared"')")"

# The hub under sock-holder: $HELD_PID is the hub of the moment.
HOLDER_PID=
start_held_hub() {
        rm -f "$T/hub.sock" "$T/hub.pid"
        env E2E_MARK="$MARK" MCP_CONFIG_PATH="$T/config.json" STATE_DIRECTORY="$STATE" \
                MCP_LOG_LEVEL="${E2E_LOG_LEVEL:-debug}" "$@" \
                "$HOLDER" "$T/hub.sock" "$T/hub.pid" "$HUB_BIN" >>"$T/hub.log" 2>&1 &
        HOLDER_PID=$!
        PIDS+=("$HOLDER_PID")
        wait_for 10 test -S "$T/hub.sock" -a -s "$T/hub.pid"
}
held_pid() { cat "$T/hub.pid" 2>/dev/null; }
# a new hub (not OLD) runs and has started its servers
restarted() { local p; p=$(held_pid); [[ -n $p && $p != "$1" ]] && kill -0 "$p" 2>/dev/null; }
ready_count() { grep -c "mcp-proxy-hub .* ready on" "$T/hub.log"; }

start_held_hub || { fail "hub under sock-holder starts" "$(tail -n 20 "$T/hub.log")"; exit 1; }
start_front "MCP_API_KEYS=$KEY:$KEY_CLIENT,$KEY2:other" || exit 1
for s in ev fx; do check "upstream $s becomes ready" wait_upstream "$s" ready 60; done

# ---- sealed ids and the key ----
mcp_initialize || fail "initialize" "HTTP $INIT_CODE" "$INIT_BODY"
S=$SESSION
check "session id: 64 hex digits, format 01 (sealed)" grep -qE '^01[0-9a-f]{62}$' <<<"$S"
check_eq "the session key is made in STATE_DIRECTORY, 32 bytes, mode 600" "32 600" \
        "$(stat -c '%s %a' "$STATE/session-key" 2>/dev/null)"
mcp_initialize && S2=$SESSION
req DELETE /mcp -H "$(auth_h)" -H "Mcp-Session-Id: $S2"
check_code "a second session is deleted" 200
mcp_call "$S2" fx_echo '{"message":"x"}'
check_code "... and is gone (404)" 404
mcp_post "$S" '{"jsonrpc":"2.0","id":"lvl","method":"logging/setLevel","params":{"level":"warning"}}'
check_jq "logging/setLevel on the session" '.result == {}'
KEY=$KEY2 mcp_call "$S" fx_echo '{"message":"x"}'
check_code "another client presenting the id: 404" 404
TAMPERED=${S:0:63}$([[ ${S:63} == 0 ]] && echo 1 || echo 0)
mcp_call "$TAMPERED" fx_echo '{"message":"x"}'
check_code "the id with its last digit changed: 404" 404

# ---- a clean restart: the snapshot ----
OLD=$(held_pid)
kill -TERM "$OLD"
t0=$(now_ms)
mcp_call "$S" fx_echo '{"message":"during"}'
T_DURING=$(($(now_ms) - t0))
check_jq "a call made while the hub restarts waits for the new hub and succeeds" \
        '.result.content[0].text == "Echo: during"'
echo "    (that call took $T_DURING ms)"
check "a new hub runs" restarted "$OLD"
check "the old hub saved 1 session (the deleted one is not among them)" \
        grep -q "saved 1 session(s) and [0-9]* ended to '$STATE/sessions.json'" "$T/hub.log"
check "the new hub took it back" grep -q "took back 1 client session(s)" "$T/hub.log"
mcp_call "$S2" fx_echo '{"message":"x"}'
check_code "the session deleted before the restart stays gone (404)" 404
KEY=$KEY2 mcp_call "$S" fx_echo '{"message":"x"}'
check_code "another client presenting the id after the restart: 404" 404
req GET /mcp -H "$(auth_h)" -H 'Accept: text/event-stream' -H "Mcp-Session-Id: $S" \
        -H "MCP-Protocol-Version: $MCP_VERSION" --max-time 2
check_eq "a GET stream on the session after the restart: 200, not 404" 200 "$CODE"

# ---- a crash: the checkpoint, the sealed id, and what ended stays ended ----
mcp_initialize && S5=$SESSION # made after the last checkpoint: only its seal knows it
mcp_initialize && S6=$SESSION
req DELETE /mcp -H "$(auth_h)" -H "Mcp-Session-Id: $S6"
OLD=$(held_pid)
kill -KILL "$OLD"
check "after SIGKILL a new hub runs" wait_for 10 restarted "$OLD"
mcp_call "$S" fx_echo '{"message":"after crash"}'
check_jq "the session works after a crash (from the checkpoint)" \
        '.result.content[0].text == "Echo: after crash"'
mcp_call "$S5" fx_echo '{"message":"sealed"}'
check_jq "a session made after the last checkpoint works after the crash (its sealed id)" \
        '.result.content[0].text == "Echo: sealed"'
check "hub log: taken back from its sealed id" grep -q "session ${S5:0:8}\.\.\. .*taken back from its sealed id" "$T/hub.log"
mcp_call "$S2" fx_echo '{"message":"x"}'
check_code "the session deleted two hubs ago stays gone after a crash (404)" 404
mcp_call "$S6" fx_echo '{"message":"x"}'
check_code "the session deleted just before the crash stays gone (ended.log, 404)" 404
req DELETE /mcp -H "$(auth_h)" -H "Mcp-Session-Id: $S5"
check_code "the resumed session is deleted" 200
mcp_call "$S5" fx_echo '{"message":"x"}'
check_code "... and stays gone (404)" 404
OLD=$(held_pid)
kill -KILL "$OLD"
wait_for 10 restarted "$OLD"
mcp_call "$S5" fx_echo '{"message":"x"}'
check_code "... after another crash too (404)" 404
mcp_call "$S" fx_echo '{"message":"still"}'
check_jq "the first session still works after two crashes" '.result.content[0].text == "Echo: still"'
mcp_initialize && S3=$SESSION
req DELETE /mcp -H "$(auth_h)" -H "Mcp-Session-Id: $S3"
mcp_call "$S3" fx_echo '{"message":"x"}'
check_code "a session made and deleted by this hub stays gone (404)" 404

# ---- requests in flight ----
inflight() { # SIGNAL: a 6 s call in flight when the hub gets SIGNAL
        local old t0
        old=$(held_pid)
        INFLIGHT_ID=$((E2E_ID + 1)) # mcp_call counts in the subshell
        (
                mcp_call "$S" fx_sleep '{"ms":6000}'
                printf '%s\n' "$BODY" >"$T/inflight.json"
                printf '%s\n' "$CODE" >"$T/inflight.code"
        ) &
        local p=$!
        sleep 1
        t0=$(now_ms)
        kill "-$1" "$old"
        wait "$p"
        INFLIGHT_MS=$(($(now_ms) - t0))
        E2E_ID=$INFLIGHT_ID
        wait_for 10 restarted "$old"
}
inflight TERM
check_jq "a call in flight at SIGTERM gets a JSON-RPC error for its id" \
        ".id == $INFLIGHT_ID and (.error.code | type == \"number\")" "$(cat "$T/inflight.json")"
check "... at once, not after the 6 s call ($INFLIGHT_MS ms)" test "$INFLIGHT_MS" -lt 5000
inflight KILL
check_jq "a call in flight when the hub is killed gets a JSON-RPC error for its id" \
        ".id == $INFLIGHT_ID and (.error.message | test(\"mcp-proxy-hub stopped\"))" "$(cat "$T/inflight.json")"
check "... at once ($INFLIGHT_MS ms)" test "$INFLIGHT_MS" -lt 5000
check_eq "... HTTP 200 (a JSON-RPC answer, not a gateway error)" 200 "$(cat "$T/inflight.code")"

# ---- a legacy SSE client's request in flight at SIGTERM ----
# Its POST got 202 and its answer can only come on its stream, which ends with this hub:
# the error comes on the stream first.
curl -sS -N --max-time 30 -o "$T/legacy.body" -H "$(auth_h)" -H 'Accept: text/event-stream' \
        "$URL/sse" 2>/dev/null &
LEGACY_PID=$!
PIDS+=("$LEGACY_PID")
wait_for 10 grep -qs '^event: endpoint' "$T/legacy.body"
EP=$(tr -d '\r' <"$T/legacy.body" | awk '/^event: endpoint/ { getline; sub(/^data: ?/, ""); print; exit }')
legacy_post() { req POST "$EP" -H "$(auth_h)" -H 'Content-Type: application/json' --data-binary "$1"; }
legacy_post '{"jsonrpc":"2.0","id":"li","method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'
legacy_post '{"jsonrpc":"2.0","method":"notifications/initialized"}'
legacy_post '{"jsonrpc":"2.0","id":"slow","method":"tools/call","params":{"name":"fx_sleep","arguments":{"ms":6000}}}'
check_code "legacy: the call is taken (202)" 202
OLD=$(held_pid)
sleep 0.5
kill -TERM "$OLD"
wait "$LEGACY_PID"
legacy_slow=$(tr -d '\r' <"$T/legacy.body" | sed -n 's/^data: \({.*\)$/\1/p' | jq -c 'select(.id == "slow")' 2>/dev/null)
check_jq "legacy: the call in flight at SIGTERM gets its JSON-RPC error on the stream before it ends" \
        '.error.code | type == "number"' "$legacy_slow"
wait_for 10 restarted "$OLD"

# ---- a request the hub had not taken is sent again ----
# fx starts slowly now: a new hub holds new requests until its servers are up, so a
# request sent then is not taken yet when that hub dies.
write_config "$(config_of \
        ev "$(srv_everything | jq -c '.isolation = "shared"')" \
        fx "$(srv_fixture fx --slow-start 2500 | jq -c '.isolation = "shared"')")"
OLD=$(held_pid)
kill -TERM "$OLD"
wait_for 10 restarted "$OLD"
OLD=$(held_pid)
(
        mcp_call "$S" fx_echo '{"message":"waited"}'
        printf '%s\n' "$BODY" >"$T/parked.json"
) &
P=$!
sleep 1
kill -KILL "$OLD"
wait "$P"
check_jq "a request held by a starting hub that dies is sent again, and answered by the next" \
        '.result.content[0].text == "Echo: waited"' "$(cat "$T/parked.json")"
check "front log: sending it again" grep -q "closed the connection before taking the exchange, sending it again" "$T/front.log"
check "the next hub runs" restarted "$OLD"

# ---- the SDK client across a clean restart and a crash ----
write_config "$(config_of \
        ev "$(srv_everything | jq -c '.isolation = "shared"')" \
        fx "$(srv_fixture fx | jq -c '.isolation = "shared"')")"
OLD=$(held_pid)
kill -TERM "$OLD"
wait_for 10 restarted "$OLD"
for s in ev fx; do wait_upstream "$s" ready 60; done
E2E_MARK=$MARK node tests/e2e/sdk-restart.mjs "$URL/mcp" "$KEY" "$T" 2 >"$T/sdk.out" 2>&1 &
NODE=$!
PIDS+=("$NODE")
if wait_for 60 grep -q "^PHASE 1" "$T/sdk.out"; then
        OLD=$(held_pid)
        t0=$(now_ms)
        kill -TERM "$OLD"
        wait_for 10 restarted "$OLD"
        for s in ev fx; do wait_upstream "$s" ready 60; done
        echo "    (clean restart until both servers were ready again: $(($(now_ms) - t0)) ms)"
        touch "$T/go1"
fi
if wait_for 60 grep -q "^PHASE 2" "$T/sdk.out"; then
        OLD=$(held_pid)
        kill -KILL "$OLD"
        wait_for 10 restarted "$OLD"
        for s in ev fx; do wait_upstream "$s" ready 60; done
        touch "$T/go2"
fi
wait "$NODE"
relay_checks cat "$T/sdk.out"

# ---- what a stdio server (the hub's user) may do to the state directory ----
kill -TERM "$HOLDER_PID"
wait "$HOLDER_PID"
check_eq "a clean stop leaves the checkpoint, mode 600" 600 "$(stat -c %a "$STATE/sessions.json" 2>/dev/null)"
check "the checkpoint holds no API key" bash -c '! grep -qF -- "$1" "$2" && ! grep -qF -- "$3" "$2"' _ \
        "$KEY" "$STATE/sessions.json" "$KEY2"
printf 'garbage' >"$STATE/session-key"
rm -f "$STATE/sessions.json"
mkfifo "$STATE/sessions.json"
start_hub STATE_DIRECTORY="$STATE" || exit 1
check "a damaged key and a FIFO for the checkpoint do not stop the hub" wait_upstream fx ready 30
check "hub log: a new key, every session ends" grep -q "damaged .*making a new one" "$T/hub.log"
mcp_call "$S" fx_echo '{"message":"x"}'
check_code "with the new key the old session id is unknown (404)" 404
check_eq "the key file is ours again, 32 bytes" "32 600" "$(stat -c '%s %a' "$STATE/session-key")"
check "the FIFO was replaced by a checkpoint file" test -f "$STATE/sessions.json" -a ! -p "$STATE/sessions.json"
stop_hub 10
printf '{"v":2,"saved_ms":1e300,"floor_ms":-5,"sessions":[{"id":"x","client":"y","protocol":"2025-11-25","idleMs":1e300}],"ended":["zz:1"]}' \
        >"$STATE/sessions.json"
start_hub STATE_DIRECTORY="$STATE" || exit 1
check "a checkpoint with absurd numbers is set aside, the hub serves" wait_upstream fx ready 30
stop_hub 10

# ---- without STATE_DIRECTORY: sessions end with the process ----
start_hub || exit 1
wait_upstream fx ready 30
mcp_initialize && S4=$SESSION
stop_hub 10
start_hub || exit 1
wait_upstream fx ready 30
mcp_call "$S4" fx_echo '{"message":"x"}'
check_code "without STATE_DIRECTORY a session does not outlive the hub (404)" 404
check "hub log says so" grep -q "no STATE_DIRECTORY: client sessions end with this process" "$T/hub.log"
stop_hub 10
check_no_keys_in_logs "$KEY" "$KEY2"
