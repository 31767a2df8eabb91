#!/usr/bin/env bash
# The hub's memory budget and backpressure (issue 17, items 1 and 2).
#
# - /health shows memory in use by kind, against MCP_MEMORY_MAX_MIB.
# - 16 sessions each making calls with progress and large results, whose client goes away
#   mid-stream: the events kept for resumption stay within the per-stream, per-session and
#   hub-wide limits, the hub's RSS stays bounded, and once the sessions end the kept bytes
#   are 0 and the RSS is back near where it was idle.
# - Near the budget a new session gets 503 with Retry-After and a JSON-RPC error, while an
#   existing session goes on working; once the budget frees, initialize works again.
# - An answer larger than a stream keeps, for a client that went away: not kept; a resume
#   of that stream gets a JSON-RPC error for the request's id instead of nothing.
# - Backpressure: a client that reads nothing of a stream of progress events: the hub
#   holds at most about HUB_CONN_OUT_HIGH for it, stops reading its own (session-isolated)
#   server, another client is answered meanwhile as fast as before, and after
#   MCP_SLOW_CLIENT_TIMEOUT the hub closes that one stream and reads the server again.
source "$(dirname "$0")/lib.sh"
require_binaries "$FIXTURE"
export CURL_MAX_TIME=30

newkey() { printf 'e2e-%s-%s' "$1" "$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"; }
KA=$(newkey alice)
KB=$(newkey bob)
jq -n --arg a "$KA" --arg b "$KB" '{($a): {client_id: "alice"}, ($b): {client_id: "bob"}}' >"$T/keys.json"
# alice's budget is larger than the hub's, so that the hub's own limit is what holds.
echo '{"alice": {"max_buffer_mib": 200}}' >"$T/users.json"
# iso: one instance per session; --log-calls: a notification first, so a call is a stream.
# rem: a Streamable HTTP server (remote-server.mjs), an MCP session of its own per session.
P_REM=$(pick_port)
env E2E_MARK="$MARK" node "$(dirname "$0")/remote-server.mjs" "$T/rem-requests.log" "$P_REM" >>"$T/rem.log" 2>&1 &
REM_PID=$!
check "remote-server listens on 127.0.0.1:$P_REM" wait_for 15 port_listening "$P_REM"
write_config "$(config_of \
        iso "$(srv_fixture iso --log-calls | jq -c '.isolation = "session" | .maxInstances = 64')" \
        sh "$(srv_fixture sh | jq -c '.isolation = "shared"')" \
        rem "{\"url\":\"http://127.0.0.1:$P_REM/mcp\",\"transport\":\"http\",\"isolation\":\"session\"}")"
BUDGET_MIB=24
# A small ASan quarantine, so that freed memory shows in the RSS as it would without ASan.
start_hub MCP_USERS_PATH="$T/users.json" MCP_MEMORY_MAX_MIB=$BUDGET_MIB MCP_SLOW_CLIENT_TIMEOUT=4 \
        ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=4:thread_local_quarantine_size_kb=64" || exit 1
start_front "MCP_API_KEYS_PATH=$T/keys.json" || exit 1
KEY=$KA
check "sh becomes ready" wait_upstream sh ready 20

mem() { health | jq -r ".memory.$1"; } # mem FIELD
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$HUB_PID/status"; }

BODY=$(health)
check_jq "/health: memory.budget_bytes is MCP_MEMORY_MAX_MIB" ".memory.budget_bytes == $((BUDGET_MIB << 20))"
check_jq "/health: memory by kind (replay, front and server queues, rss)" \
        '.memory | (.replay_bytes, .front_queue_bytes, .server_queue_bytes, .rss_bytes, .used_bytes) | numbers'

# ---- 16 sessions, calls with progress and large answers, the client goes away ----
# call_and_leave SESSION BYTES: a call with progress (so its answer comes on a stream) whose
# client goes away after 1 s; the answer, 2 s late, comes when no one reads.
call_and_leave() {
        local body
        body=$(jq -cn --argjson b "$2" '{jsonrpc: "2.0", id: 7, method: "tools/call",
                params: {name: "sh_big", arguments: {bytes: $b, progress: 3, ms: 2000},
                         _meta: {progressToken: "p"}}}')
        curl -sS -o /dev/null --max-time 1 -H "$(auth_h)" -H 'Content-Type: application/json' \
                -H 'Accept: application/json, text/event-stream' -H "Mcp-Session-Id: $1" \
                -H "MCP-Protocol-Version: $MCP_VERSION" --data-binary "$body" "$URL/mcp" 2>/dev/null
        return 0
}

for i in $(seq 1 8); do sleep 0.1; done # a quiet moment for the idle figure
IDLE_KIB=$(rss_kib)
SESSIONS=()
for i in $(seq 1 16); do
        mcp_initialize || { fail "session $i initializes" "$INIT_CODE $BODY"; break; }
        SESSIONS+=("$SESSION")
done
check_eq "16 sessions" 16 "${#SESSIONS[@]}"
PEAK_KIB=0 MAX_REPLAY=0
for s in "${SESSIONS[@]}"; do
        pids=()
        for k in 1 2 3 4; do
                call_and_leave "$s" 1000000 &
                pids+=($!)
        done
        wait "${pids[@]}"
        r=$(rss_kib)
        ((r > PEAK_KIB)) && PEAK_KIB=$r
        m=$(mem replay_bytes)
        ((m > MAX_REPLAY)) && MAX_REPLAY=$m
done
sleep 2 # the last answers come 2 s late
for _ in 1 2 3; do
        m=$(mem replay_bytes)
        ((m > MAX_REPLAY)) && MAX_REPLAY=$m
        r=$(rss_kib)
        ((r > PEAK_KIB)) && PEAK_KIB=$r
        sleep 0.5
done
echo "    (64 calls of 4 x 1 MB, their answers into streams no one read: kept at most $MAX_REPLAY bytes;" \
        "hub RSS idle $IDLE_KIB KiB, peak $PEAK_KIB KiB)"
check "kept events never above the hub's budget ($MAX_REPLAY <= $((BUDGET_MIB << 20)))" \
        test "$MAX_REPLAY" -le $((BUDGET_MIB << 20))
check "... and something was kept ($MAX_REPLAY > 4 MB)" test "$MAX_REPLAY" -gt 4000000
check "hub log: over the budget, kept events were dropped" \
        grep -q "memory: over the budget of $((BUDGET_MIB << 20)) bytes (MCP_MEMORY_MAX_MIB): dropped" "$T/hub.log"
check "the hub's RSS stayed bounded (peak $PEAK_KIB KiB < idle + 64 MiB)" \
        test "$PEAK_KIB" -lt $((IDLE_KIB + 64 * 1024))

# ---- near the budget: new sessions 503 with Retry-After, existing ones go on ----
# The 16 sessions' streams now hold close to the budget (the hub drops down to it).
used=$(mem used_bytes)
echo "    (in use now: $used of $((BUDGET_MIB << 20)) bytes)"
if ((used >= (BUDGET_MIB << 20) / 100 * 90)); then
        mcp_initialize
        check_eq "initialize near the budget: 503" 503 "$INIT_CODE"
        check_eq "... with Retry-After" 5 "$(header Retry-After)"
        check_jq "... and a JSON-RPC error naming the limit" '.error.code == -32004 and .error.data.limit == "memory"'
        check "hub log: refusing new sessions" grep -q "memory: .* bytes in use (MCP_MEMORY_MAX_MIB): refusing new sessions (client 'alice')" "$T/hub.log"
        next_id
        mcp_post "${SESSIONS[0]}" "{\"jsonrpc\":\"2.0\",\"id\":$E2E_ID,\"method\":\"ping\"}"
        check_eq "an existing session still answers meanwhile" 200 "$CODE"
        check_jq "... its ping" '.result == {}'
else
        fail "the streams hold at least 90% of the budget for the 503 check" "$used"
fi

# ---- the sessions end: nothing kept, RSS back near idle ----
for s in "${SESSIONS[@]}"; do
        req DELETE /mcp -H "$(auth_h)" -H "Mcp-Session-Id: $s" -H "MCP-Protocol-Version: $MCP_VERSION"
done
check_eq "after the sessions ended: 0 bytes kept" 0 "$(mem replay_bytes)"
mcp_initialize
check_eq "... and initialize works again" 200 "$INIT_CODE"
S1=$SESSION
settle() { (($(rss_kib) < IDLE_KIB + 16 * 1024)); }
wait_for 10 settle
END_KIB=$(rss_kib)
echo "    (hub RSS after: $END_KIB KiB, idle was $IDLE_KIB KiB)"
check "the hub's RSS is back near idle ($END_KIB < $IDLE_KIB + 16 MiB)" test "$END_KIB" -lt $((IDLE_KIB + 16 * 1024))

# ---- an answer larger than a stream keeps, for a client that went away ----
body=$(jq -cn '{jsonrpc: "2.0", id: "lost-1", method: "tools/call",
        params: {name: "iso_big", arguments: {bytes: 5000000, ms: 1500}}}')
req POST /mcp -H "$(auth_h)" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
        -H "Mcp-Session-Id: $S1" -H "MCP-Protocol-Version: $MCP_VERSION" --data-binary "$body" --max-time 1
STREAM=$(tr -d '\r' <"$RESP_BODY" | sed -n 's/^id: \([0-9]*\)-0$/\1/p' | head -n 1)
check "a 5 MB answer's stream opened (stream $STREAM), and the client went away" test -n "$STREAM"
check "hub log: the 5 MB answer found no one to read it: lost" \
        wait_for 10 grep -q "session ${S1:0:8}...: an event of 50000[0-9][0-9] bytes, over the 4194304 a stream keeps, found no connection to read it: lost" "$T/hub.log"
req GET /mcp -H "$(auth_h)" -H 'Accept: text/event-stream' -H "Mcp-Session-Id: $S1" \
        -H "MCP-Protocol-Version: $MCP_VERSION" -H "Last-Event-ID: $STREAM-0" --max-time 3
BODY=$(sse_response "$RESP_BODY")
check_jq "a resume of that stream gets an error for the request's own id" '.id == "lost-1" and .error.code == -32004'
check_jq "... that says what happened" '.error.message | test("was too large to keep for a stream no one read; send the request again")'

# ---- backpressure: a client that stops reading for a while gets everything, in order ----
# slow_reader SESSION BODY: POSTs BODY, reads nothing for 1.5 s, then reads the whole
# response (chunked SSE) into $T/slow.sse
slow_reader() {
        python3 - "$PORT" "$KEY" "$1" "$MCP_VERSION" "$2" >"$T/slow.sse" <<'PY'
import http.client, sys, time
port, key, session, version, body = sys.argv[1:]
c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=60)
c.request("POST", "/mcp", body.encode(), {
    "Authorization": "Bearer " + key, "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream", "Mcp-Session-Id": session,
    "MCP-Protocol-Version": version})
time.sleep(1.5)  # the headers and the first events wait in the sockets meanwhile
r = c.getresponse()
sys.stdout.write(r.read().decode())
PY
}
mcp_initialize || fail "a session for the reader that pauses" "$INIT_CODE"
n_paused=$(grep -c "a client reads slowly: not reading the server" "$T/hub.log")
t0=$(now_ms)
slow_reader "$SESSION" "$(jq -cn '{jsonrpc: "2.0", id: "slow-1", method: "tools/call",
        params: {name: "iso_big", arguments: {bytes: 200000, progress: 60},
                 _meta: {progressToken: "sr"}}}')"
echo "    (60 progress events and the answer, 200 kB each, to a client that paused 1.5 s: $(($(now_ms) - t0)) ms)"
sse_messages "$T/slow.sse" >"$T/slow.jsonl"
check_eq "a client that paused gets all 60 progress events, in order" \
        "$(seq 1 60 | tr '\n' ' ')" "$(jq -r 'select(.method == "notifications/progress") | .params.progress' "$T/slow.jsonl" | tr '\n' ' ')"
check_eq "... whole, and then the answer" 200000 "$(jq -r 'select(.id == "slow-1") | .result.content[0].text | length' "$T/slow.jsonl")"
check "hub log: meanwhile its server was held back" \
        test "$(grep -c "a client reads slowly: not reading the server" "$T/hub.log")" -gt "$n_paused"
check "... and read again" grep -q "reading the server again" "$T/hub.log"
check "... and the connection was never closed for it" bash -c '! grep -q "not read for" "$1"' _ "$T/hub.log"

# post_unread SESSION BODY: POSTs BODY as alice on a connection (fd $SLOWFD) from which
# nothing is ever read
post_unread() {
        exec {SLOWFD}<>"/dev/tcp/127.0.0.1/$PORT"
        printf 'POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMcp-Session-Id: %s\r\nMCP-Protocol-Version: %s\r\nContent-Length: %d\r\n\r\n%s' \
                "$KA" "$1" "$MCP_VERSION" "${#2}" "$2" >&"$SLOWFD"
}

# ---- backpressure: a client that reads nothing ----
mcp_initialize || fail "a session for the slow client" "$INIT_CODE"
SLOW=$SESSION
check "iso is ready for it" wait_for 20 bash -c 'curl -sS -H "Authorization: Bearer $1" "$2/health" | jq -e ".upstreams[] | select(.name == \"iso\")" >/dev/null' _ "$KA" "$URL"
body=$(jq -cn '{jsonrpc: "2.0", id: 1, method: "tools/call",
        params: {name: "iso_big", arguments: {bytes: 200000, progress: 300},
                 _meta: {progressToken: "slow"}}}')
n_paused=$(grep -c "a client reads slowly: not reading the server" "$T/hub.log")
post_unread "$SLOW" "$body"
check "hub log: it reads nothing, so its own server is not read" \
        wait_for 20 bash -c '(($(grep -c "a client reads slowly: not reading the server" "$1") > $2))' _ "$T/hub.log" "$n_paused"
sleep 1
q=$(mem front_queue_bytes)
echo "    (queued to its front: $q bytes; kept: $(mem replay_bytes) bytes)"
check "what the hub queues to that front stays small ($q < 8 MiB)" test "$q" -lt $((8 << 20))
KEY=$KB
mcp_initialize || fail "bob initializes meanwhile" "$INIT_CODE"
worst=0
for i in $(seq 1 10); do
        t0=$(now_ms)
        mcp_call "$SESSION" sh_echo "{\"message\":\"b$i\"}"
        dt=$(($(now_ms) - t0))
        ((dt > worst)) && worst=$dt
        [[ $(jq -r '.result.content[0].text' <<<"$BODY") == "Echo: b$i" ]] || fail "bob's call $i answered" "$BODY"
done
echo "    (bob's 10 calls meanwhile: the slowest took $worst ms)"
check "bob's calls are answered meanwhile, each within 2 s ($worst ms)" test "$worst" -lt 2000
KEY=$KA
check "after MCP_SLOW_CLIENT_TIMEOUT the hub closes that stream" \
        wait_for 20 grep -q "front connection [0-9]*: [0-9]* bytes not read for [0-9]* s (session ${SLOW:0:8}...), closing it" "$T/hub.log"
check "... and reads its server again" wait_for 10 grep -q "reading the server again" "$T/hub.log"
check_jq "/health counts it" '.memory.slow_fronts_closed >= 1' "$(health)"
exec {SLOWFD}>&-
check "the call's events then go to its stream, within its limits (kept <= budget)" \
        test "$(mem replay_bytes)" -le $((BUDGET_MIB << 20))

# ---- backpressure on a remote server: its transfer is paused ----
mcp_initialize || fail "a session for the client that reads nothing of a remote server" "$INIT_CODE"
SLOWR=$SESSION
body=$(jq -cn '{jsonrpc: "2.0", id: 2, method: "tools/call",
        params: {name: "rem_progress", arguments: {steps: 400, bytes: 100000, gap: 0},
                 _meta: {progressToken: "slowr"}}}')
n_rem=$(grep -c "rem.*a client reads slowly: not reading the server" "$T/hub.log")
post_unread "$SLOWR" "$body"
check "hub log: the remote server's transfer for it is paused" \
        wait_for 20 bash -c '(($(grep -c "rem.*a client reads slowly: not reading the server" "$1") > $2))' _ "$T/hub.log" "$n_rem"
sleep 1
sq1=$(mem server_queue_bytes)
sleep 1
sq2=$(mem server_queue_bytes)
echo "    (40 MB of progress from a remote server to a client that reads nothing: server queues $sq1 then $sq2 bytes, front queue $(mem front_queue_bytes))"
check "what the hub holds from the remote server stays small ($sq2 < 4 MiB) and does not grow" \
        bash -c '(($2 < 4194304 && $2 <= $1 + 1048576))' _ "$sq1" "$sq2"
check "after MCP_SLOW_CLIENT_TIMEOUT: closed, and the remote server read again" \
        wait_for 20 bash -c 'grep -q "not read for [0-9]* s (session ${2:0:8}...), closing it" "$1" && grep -q "rem.*reading the server again" "$1"' _ "$T/hub.log" "$SLOWR"
exec {SLOWFD}>&-
mcp_call "$SLOWR" rem_echo '{"message":"after"}'
check_jq "the remote server answers that session again" '.result.content[0].text == "Echo: after"'
kill "$REM_PID" 2>/dev/null
check_no_keys_in_logs "$KA" "$KB"
