#!/usr/bin/env bash
# The legacy 2024-11-05 HTTP+SSE transport (issue 3): GET /sse opens a session
# whose first event, "endpoint", names /messages?sessionId=<id>; the client
# POSTs its messages there (202) and every answer comes on the event stream as
# "event: message". First with curl, then with the SDK's SSEClientTransport
# (tests/e2e/sdk-legacy.mjs), server-everything over stdio behind.
source "$(dirname "$0")/lib.sh"
require_binaries
[[ -x $EVERYTHING ]] || { fail "server-everything installed" "$EVERYTHING missing (npm ci --prefix tests)"; exit 1; }
export CURL_MAX_TIME=10
KEY2=e2e-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')

write_config "$(config_of everything "$(srv_everything)")"
start_hub || exit 1
start_front "MCP_API_KEYS=$KEY:$KEY_CLIENT,$KEY2:other" || exit 1
check "upstream everything becomes ready" wait_upstream everything ready 60

# ---- refusals
req GET /sse -H 'Accept: text/event-stream'
check_code "GET /sse without the key: 401" 401
check_eq "GET /sse without the key: WWW-Authenticate Bearer" 'Bearer realm="mcp-proxy"' "$(header WWW-Authenticate)"
req GET /sse -H 'Authorization: Bearer wrong-key' -H 'Accept: text/event-stream'
check_code "GET /sse with a wrong key: 401" 401
req POST "/messages?sessionId=no-such-session" -H "$(auth_h)" -H 'Content-Type: application/json' \
        --data-binary '{"jsonrpc":"2.0","id":1,"method":"ping"}'
check_code "POST to an unknown sessionId: 404" 404
check_jq "... with a JSON-RPC error for the request's id (-32001)" '.id == 1 and .error.code == -32001'
req POST /messages -H "$(auth_h)" -H 'Content-Type: application/json' --data-binary '{"jsonrpc":"2.0","id":1,"method":"ping"}'
check_code "POST /messages without a sessionId: 400" 400
req POST "/messages?sessionId=x" -H 'Content-Type: application/json' --data-binary '{"jsonrpc":"2.0","id":1,"method":"ping"}'
check_code "POST /messages without the key: 401" 401

# ---- a legacy session by hand
curl -sS -N --max-time 40 -o "$T/sse.body" -D "$T/sse.headers" -H "$(auth_h)" -H 'Accept: text/event-stream' \
        "$URL/sse" 2>/dev/null &
SSE_PID=$!
PIDS+=("$SSE_PID")
if wait_for 5 grep -qs '^event: endpoint' "$T/sse.body"; then
        pass "GET /sse: the first event is 'event: endpoint'"
else
        fail "GET /sse: the first event is 'event: endpoint'" "$(head -c 300 "$T/sse.body")"
fi
check "GET /sse: 200 text/event-stream" bash -c 'head -n 1 "$1" | grep -q " 200" && grep -qi "^content-type: text/event-stream" "$1"' _ "$T/sse.headers"
check "GET /sse: the endpoint event is first in the stream" bash -c 'grep -v "^:" "$1" | head -n 1 | tr -d "\r" | grep -qx "event: endpoint"' _ "$T/sse.body"
EP=$(tr -d '\r' <"$T/sse.body" | awk '/^event: endpoint/ { getline; sub(/^data: ?/, ""); print; exit }')
check "endpoint data: /messages?sessionId=<id>" bash -c '[[ $1 =~ ^/messages\?sessionId=[!-~]+$ ]]' _ "$EP"
LSID=${EP#*sessionId=}

# legacy_messages: the JSON messages of the legacy stream so far, one a line
# (sse_messages would stop at the endpoint event, whose data is a URL).
legacy_messages() {
        tr -d '\r' <"$T/sse.body" | sed -n 's/^data: \({.*\)$/\1/p' | jq -c . 2>/dev/null
}
# legacy_post JSON [KEY]: POST to the announced endpoint.
legacy_post() {
        req POST "$EP" -H "$(auth_h "${2-$KEY}")" -H 'Content-Type: application/json' --data-binary "$1"
}
# legacy_answer ID: the "event: message" answer with that id on the stream (waits up to 5 s).
legacy_answer() {
        local i
        for ((i = 0; i < 50; i++)); do
                ANSWER=$(legacy_messages | jq -c --argjson id "$1" 'select(.id == $id)' 2>/dev/null | tail -n 1)
                [[ -n $ANSWER ]] && return 0
                sleep 0.1
        done
        return 1
}
legacy_post '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"e2e-curl-legacy","version":"1"}}}'
check_code "legacy initialize: 202" 202
check_eq "legacy initialize: no body on the POST" "" "$BODY"
if legacy_answer 1; then pass "legacy initialize: the answer comes on the event stream"; else fail "legacy initialize: the answer comes on the event stream" "$(tail -c 500 "$T/sse.body")"; fi
check_jq "legacy initialize: an old client asking 2024-11-05 gets 2024-11-05, serverInfo mcp-proxy" \
        '.result.protocolVersion == "2024-11-05" and .result.serverInfo.name == "mcp-proxy"' "$ANSWER"
check "legacy: answers are 'event: message' events" bash -c 'tr -d "\r" <"$1" | grep -B1 "^data: {" | grep -q "^event: message"' _ "$T/sse.body"
check "legacy: no event ids on the legacy stream" bash -c '! tr -d "\r" <"$1" | grep -q "^id:"' _ "$T/sse.body"
legacy_post '{"jsonrpc":"2.0","method":"notifications/initialized"}'
check_code "legacy notifications/initialized: 202" 202
legacy_post '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"by hand"}}}'
check_code "legacy tools/call: 202" 202
legacy_answer 2 && check_jq "legacy tools/call echo: the answer on the stream" '.result.content[0].text == "Echo: by hand"' "$ANSWER" \
        || fail "legacy tools/call echo: the answer on the stream" "$(tail -c 500 "$T/sse.body")"
legacy_post '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"trigger-long-running-operation","arguments":{"duration":0.6,"steps":2},"_meta":{"progressToken":"legacy-tok"}}}'
legacy_answer 3 || fail "legacy progress: the answer" "$(tail -c 500 "$T/sse.body")"
check_jq "legacy progress: notifications/progress with the client's token before the answer" \
        'map(select(.method == "notifications/progress") | [.params.progressToken, .params.progress]) == [["legacy-tok", 1], ["legacy-tok", 2]]' \
        "$(legacy_messages | jq -sc .)"
legacy_post '{"jsonrpc":"2.0","id":4,"method":"ping"}' "$KEY2"
check_code "legacy: another client's key on this sessionId: 404" 404
req POST /mcp -H "$(auth_h)" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
        -H "Mcp-Session-Id: $LSID" -H "MCP-Protocol-Version: $MCP_VERSION" --data-binary '{"jsonrpc":"2.0","id":5,"method":"ping"}'
check_code "legacy sessionId used as Mcp-Session-Id on /mcp: 404" 404
legacy_post 'not json'
check_code "legacy: invalid JSON: 400" 400
stop_pid "$SSE_PID" 1
gone() { legacy_post '{"jsonrpc":"2.0","id":6,"method":"ping"}'; [[ $CODE == 404 ]]; }
check "legacy: once its SSE connection closes, the session is gone (404)" wait_for 5 gone

# ---- the SDK's SSEClientTransport
sdk_legacy() { E2E_MARK=$MARK node tests/e2e/sdk-legacy.mjs "$@"; }
relay_checks sdk_legacy "$URL" "$KEY"

check "hub log: legacy sessions opened and closed" bash -c 'grep -q "opened legacy SSE session" "$1" && grep -q "legacy SSE session .* closed" "$1"' _ "$T/hub.log"
check_no_keys_in_logs "$KEY" "$KEY2"
