#!/usr/bin/env bash
# Backpressure against legacy (2024-11-05 HTTP+SSE) clients, whose session is their stream
# and ends with its connection (issue 17; found by review):
# - answers over the 4 MiB a stream keeps, to a legacy client that reads nothing: never
#   forced onto its congested connection (they are lost instead), and the hub survives the
#   connection's end (it ended the session under the hub's feet: a use-after-free);
# - a client-isolated server paused for that client's congested legacy stream goes on once
#   the stream is closed and its session with it: another session of the same client is
#   answered (it stayed paused for good).
source "$(dirname "$0")/lib.sh"
require_binaries "$FIXTURE"
export CURL_MAX_TIME=20

write_config "$(config_of \
        sh "$(srv_fixture sh | jq -c '.isolation = "shared"')" \
        cl "$(srv_fixture cl | jq -c '.isolation = "client"')")"
start_hub MCP_SLOW_CLIENT_TIMEOUT=2 || exit 1
start_front || exit 1
check "sh becomes ready" wait_upstream sh ready 20

# slow_sse OUT: opens GET /sse with a small receive buffer, writes the endpoint to OUT,
# then never reads again (until killed)
cat >"$T/slow_sse.py" <<'PY'
import re, socket, sys, time
port, key, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", port))
s.sendall(f"GET /sse HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
          "Accept: text/event-stream\r\n\r\n".encode())
buf, pat = b"", rb"event: endpoint\r?\n(?:[0-9a-fA-F]+\r\n)?data: ?(\S+)\r?\n"
s.settimeout(15)
while not re.search(pat, buf):
    d = s.recv(4096)
    if not d:
        sys.exit(1)
    buf += d
open(out, "w").write(re.search(pat, buf).group(1).decode())
time.sleep(600)
PY
slow_sse() {
        rm -f "$1"
        python3 "$T/slow_sse.py" "$PORT" "$KEY" "$1" &
        SLOW_PID=$!
        PIDS+=("$SLOW_PID")
        wait_for 15 test -s "$1" || return 1
        EP=$(cat "$1")
        [[ $EP == /* ]] && EP="$URL$EP"
        return 0
}
post() { # post JSON: to the legacy endpoint $EP; prints the HTTP status
        curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -H "$(auth_h)" \
                -H 'Content-Type: application/json' --data-binary "$1" "$EP" 2>/dev/null
}
legacy_init() {
        post '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}' >/dev/null
        post '{"jsonrpc":"2.0","method":"notifications/initialized"}' >/dev/null
}

# ---- answers over 4 MiB to a legacy stream no one reads ----
check "a legacy client opens its stream, reads the endpoint, then reads nothing" slow_sse "$T/ep1"
legacy_init
codes=
for i in $(seq 2 14); do
        codes+="$(post "{\"jsonrpc\":\"2.0\",\"id\":$i,\"method\":\"tools/call\",\"params\":{\"name\":\"sh_big\",\"arguments\":{\"bytes\":6000000}}}") "
        hub_alive || break
        sleep 0.2
done
echo "    (13 calls of 6 MB answers: $codes)"
check "the hub lives through 13 answers of 6 MB to a legacy stream no one reads" hub_alive
check "hub log: they were not forced onto its connection but lost" \
        wait_for 10 grep -q "an event of 60000[0-9][0-9] bytes, over the 4194304 a stream keeps, found no connection to read it: lost" "$T/hub.log"
check "hub log: no output queue went over its 64 MiB cap" bash -c '! grep -q "output queue full" "$1"' _ "$T/hub.log"
check "after MCP_SLOW_CLIENT_TIMEOUT the stream is closed, and its legacy session with it" \
        wait_for 15 grep -q "legacy SSE session .* closed" "$T/hub.log"
check "the hub is alive after it" hub_alive
kill "$SLOW_PID" 2>/dev/null
mcp_initialize || fail "a new session after it" "$INIT_CODE"
mcp_call "$SESSION" sh_echo '{"message":"still here"}'
check_jq "... is served" '.result.content[0].text == "Echo: still here"'

# ---- a paused client-isolated server goes on once the legacy session is gone ----
S0=$SESSION
mcp_call "$S0" cl_echo '{"message":"before"}'
check_jq "the client's own cl instance answers a 2025 session" '.result.content[0].text == "Echo: before"'
n_paused=$(grep -c "cl.*a client reads slowly: not reading the server" "$T/hub.log")
n_again=$(grep -c "cl.*reading the server again" "$T/hub.log")
check "a legacy stream of the same client that reads nothing" slow_sse "$T/ep2"
legacy_init
for i in $(seq 2 9); do
        post "{\"jsonrpc\":\"2.0\",\"id\":$i,\"method\":\"tools/call\",\"params\":{\"name\":\"cl_big\",\"arguments\":{\"bytes\":3000000}}}" >/dev/null
        sleep 0.3
done
check "hub log: its congested stream pauses the client's cl instance" \
        wait_for 10 bash -c '(($(grep -c "cl.*a client reads slowly: not reading the server" "$1") > $2))' _ "$T/hub.log" "$n_paused"
check "hub log: the stream is closed after MCP_SLOW_CLIENT_TIMEOUT, and cl read again" \
        wait_for 20 bash -c '(($(grep -c "cl.*reading the server again" "$1") > $2))' _ "$T/hub.log" "$n_again"
kill "$SLOW_PID" 2>/dev/null
t0=$(now_ms)
mcp_call "$S0" cl_echo '{"message":"after"}'
check_jq "the 2025 session of the same client is answered by cl again ($(($(now_ms) - t0)) ms)" \
        '.result.content[0].text == "Echo: after"'
check "the hub is alive" hub_alive
