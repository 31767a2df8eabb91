#!/usr/bin/env bash
# A remote upstream that speaks ONLY 2026-07-28 (tests/e2e/modern-server.mjs: no
# initialize, no session, input_required, subscriptions/listen) behind the proxy: the hub
# finds it by server/discover and uses it statelessly. A 2025 SDK client
# (sdk-modern-upstream.mjs) and 2025/2026 curl clients list and call its tools, read its
# resource; a list change on its listen stream reaches the clients (the SDK session and a
# 2026 client's own subscriptions/listen through the proxy), and again after that stream
# drops and the hub reopens it; its input_required
# tool asks the 2025 client (elicitation/create in its session; without the capability,
# a clear error) and the 2026 client (input_required with the hub's state), then goes
# again with the answers and the upstream's requestState; /health shows it
# ready with protocol 2026-07-28. The server's request log shows the 2026-07-28 wire:
# every request with MCP-Protocol-Version, Mcp-Method, Mcp-Name and _meta, never
# initialize, never an Mcp-Session-Id, no GET stream, no DELETE at the end; a request that
# times out is cancelled by closing its POST, without notifications/cancelled.
source "$(dirname "$0")/lib.sh"
require_binaries
export CURL_MAX_TIME=20
[[ -d $E2E_ROOT/tests/node_modules/@modelcontextprotocol/sdk ]] ||
        { fail "the SDK is installed" "tests/node_modules/@modelcontextprotocol/sdk missing"; exit 1; }
E2E_DIR=$E2E_ROOT/tests/e2e

P_MO=$(pick_port) || { fail "a free port"; exit 1; }
MO_LOG=$T/mo-requests.jsonl
: >"$MO_LOG"
env E2E_MARK="$MARK" node "$E2E_DIR/modern-server.mjs" "$MO_LOG" "$P_MO" >>"$T/modern-server.log" 2>&1 &
PIDS+=("$!")
wait_for 15 port_listening "$P_MO" || { fail "modern-server.mjs listens" "$(tail -n 5 "$T/modern-server.log")"; exit 1; }

write_config "$(config_of mo "{\"url\":\"http://127.0.0.1:$P_MO/mcp\",\"isolation\":\"shared\",\"timeout\":3}" \
        fx "$(srv_fixture fx)")"
start_hub || exit 1
start_front || exit 1
check "upstream mo becomes ready" wait_upstream mo ready 30
H=$(health)
check_jq "/health: mo ready, protocol 2026-07-28, stateless, no session" \
        '.upstreams[] | select(.name == "mo") | .state == "ready" and .protocol_version == "2026-07-28" and .stateless == true and .session == false' "$H"
check_jq "/health: mo's serverInfo comes from server/discover's _meta" \
        '.upstreams[] | select(.name == "mo") | .server_info.name == "modern-only"' "$H"
check "/health: mo's listen stream is open" wait_for 5 bash -c '[[ $(curl -sS -H "$1" "$2/health" | jq -r ".upstreams[] | select(.name == \"mo\") | .listen_stream") == open ]]' _ "$(auth_h)" "$URL"

# ---- a 2025 client with curl ----
mcp_initialize || fail "curl 2025: initialize" "HTTP $INIT_CODE" "$INIT_BODY"
check "curl 2025: tools/list shows mo_echo and mo_ask" bash -c 'grep -qx mo_echo <<<"$1" && grep -qx mo_ask <<<"$1"' _ "$(all_tool_names "$SESSION")"
mcp_call "$SESSION" mo_echo '{"message":"curl 2025"}'
check_jq "curl 2025: mo_echo answers" '.result.content[0].text == "Echo: curl 2025"'
check_jq "curl 2025: no resultType, ttlMs or cacheScope in the result" '.result | has("resultType") or has("ttlMs") or has("cacheScope") | not'
mcp_call "$SESSION" mo_ask '{}'
check_jq "curl 2025 without elicitation: mo_ask (input_required) fails clearly, naming mo and the capability" \
        '.error.message | test("mo") and test("elicitation")'

# ---- a 2026-07-28 client with curl ----
V=2026-07-28
modern() { # METHOD PARAMS-JSON [NAME]
        local method=$1 params=$2 name=${3:-} h=()
        next_id
        [[ -n $name ]] && h=(-H "Mcp-Name: $name")
        req POST /mcp -H "$(auth_h)" -H 'Content-Type: application/json' \
                -H 'Accept: application/json, text/event-stream' -H "MCP-Protocol-Version: $V" \
                -H "Mcp-Method: $method" "${h[@]}" --data-binary "$(jq -cn --argjson id "$E2E_ID" \
                --arg m "$method" --argjson p "$params" --arg v "$V" '{jsonrpc: "2.0", id: $id, method: $m,
                params: ($p + {_meta: {"io.modelcontextprotocol/protocolVersion": $v,
                               "io.modelcontextprotocol/clientCapabilities": {elicitation: {}}}})}')"
        [[ $(header Content-Type) == text/event-stream* ]] && BODY=$(sse_response "$RESP_BODY")
        return 0
}
modern tools/list "{}"
check_jq "curl 2026: tools/list shows mo_echo, with resultType and ttlMs" \
        '(.result.tools | map(.name) | index("mo_echo")) and .result.resultType == "complete" and (.result.ttlMs | type == "number")'
modern tools/call '{"name":"mo_echo","arguments":{"message":"curl 2026"}}' mo_echo
check_jq "curl 2026: mo_echo answers, resultType complete" '.result.content[0].text == "Echo: curl 2026" and .result.resultType == "complete"'
modern tools/call '{"name":"mo_ask","arguments":{}}' mo_ask
check_jq "curl 2026: mo_ask answers input_required with the upstream's elicitation, under the upstream's key (who), and a requestState of the hub's" \
        '.result.resultType == "input_required" and (.result.inputRequests | to_entries | length == 1 and .[0].key == "who" and .[0].value.method == "elicitation/create" and .[0].value.params.message == "Who are you?" and (.[0].value.params._meta // {} | has("io.modelcontextprotocol/inputKey") | not)) and (.result.requestState | type == "string" and (startswith("ask-round-") | not))'
KEYNAME=$(jq -r '.result.inputRequests | keys[0]' <<<"$BODY")
STATE=$(jq -r '.result.requestState' <<<"$BODY")
modern tools/call "$(jq -cn --arg k "$KEYNAME" --arg s "$STATE" '{name: "mo_ask", arguments: {}, requestState: $s,
        inputResponses: {($k): {action: "accept", content: {name: "Bob"}}}}')" mo_ask
check_jq "curl 2026: the retry with inputResponses completes through the upstream's own round" \
        '.result.content[0].text == "Hello, Bob" and .result.resultType == "complete"'

# ---- the 2025 SDK client, and the list change (also to a 2026 client's listen stream) ----
curl -sN --max-time 60 -H "$(auth_h)" -H 'Content-Type: application/json' \
        -H 'Accept: application/json, text/event-stream' -H "MCP-Protocol-Version: $V" \
        -H 'Mcp-Method: subscriptions/listen' --data-binary "$(jq -cn --arg v "$V" '{jsonrpc: "2.0", id: 77,
        method: "subscriptions/listen", params: {notifications: {toolsListChanged: true},
        _meta: {"io.modelcontextprotocol/protocolVersion": $v, "io.modelcontextprotocol/clientCapabilities": {}}}}')" \
        "$URL/mcp" >"$T/listen.sse" 2>/dev/null &
LISTEN_PID=$!
PIDS+=("$LISTEN_PID")
check "curl 2026: its listen stream is acknowledged" \
        wait_for 5 bash -c 'grep -q "notifications/subscriptions/acknowledged" "$1"' _ "$T/listen.sse"
relay_checks node "$E2E_DIR/sdk-modern-upstream.mjs" "$URL/mcp" "$KEY"
check "curl 2026: tools/list_changed arrived on its listen stream, tagged with its id" \
        wait_for 5 bash -c 'sse_messages() { awk "/^data:/ { sub(/^data: ?/, \"\"); print }" "$1"; }
                sse_messages "$1" | jq -se "map(select(.method == \"notifications/tools/list_changed\" and .params._meta[\"io.modelcontextprotocol/subscriptionId\"] == 77)) | length >= 1" >/dev/null' _ "$T/listen.sse"
kill "$LISTEN_PID" 2>/dev/null
wait "$LISTEN_PID" 2>/dev/null
check "hub log: mo's list change came on its listen stream and refreshed the tools" \
        grep -q "upstream 'mo': notifications/tools/list_changed, refreshing" "$T/hub.log"

# ---- the listen stream drops: reopened, and list changes arrive again ----
mcp_call "$SESSION" mo_drop-listen '{}'
check_jq "curl 2025: mo_drop-listen ended the one listen stream" '.result.content[0].text == "dropped 1"'
check "the hub opens a new subscriptions/listen stream" wait_for 10 bash -c '(( $(jq -s "map(select(.rpc.method == \"subscriptions/listen\")) | length" "$1") == 2 ))' _ "$MO_LOG"
check "/health: mo's listen stream is open again" wait_for 5 bash -c '[[ $(curl -sS -H "$1" "$2/health" | jq -r ".upstreams[] | select(.name == \"mo\") | .listen_stream") == open ]]' _ "$(auth_h)" "$URL"
mcp_call "$SESSION" mo_add-tool '{}'
check "hub log: a list change on the new listen stream refreshed the tools again" \
        wait_for 5 bash -c '(( $(grep -c "upstream .mo.: notifications/tools/list_changed, refreshing" "$1") >= 2 ))' _ "$T/hub.log"

# ---- cancellation: the request's POST is closed, nothing else is sent ----
mcp_call "$SESSION" mo_hang '{}'
check_jq "curl 2025: mo_hang times out with an error naming mo" '.error.message | test("mo")'
check "mo saw the hung request's stream closed (a 2026-07-28 cancellation)" \
        wait_for 5 bash -c 'jq -se "map(select(.closed == \"hang\")) | length == 1" "$1" >/dev/null' _ "$MO_LOG"

# ---- the wire the modern server saw ----
check "mo saw server/discover first" test "$(head -n 1 "$MO_LOG" | jq -r .rpc.method)" = server/discover
check "mo never saw initialize, ping or a notification" \
        bash -c 'jq -se "map(select(has(\"closed\") | not)) | map(select(.rpc.method == \"initialize\" or .rpc.method == \"ping\" or (.rpc | has(\"id\") | not))) | length == 0" "$1" >/dev/null' _ "$MO_LOG"
check "mo saw mo_ask retried with inputResponses.who and its own requestState (SDK and curl 2026)" \
        bash -c 'jq -se "map(select(has(\"closed\") | not)) | map(select(.rpc.params.name == \"ask\" and (.rpc.params.requestState | type == \"string\") and .rpc.params.inputResponses.who.action == \"accept\")) | length == 2" "$1" >/dev/null' _ "$MO_LOG"
check "mo saw no Mcp-Session-Id and no GET" \
        bash -c 'jq -se "map(select(has(\"closed\") | not)) | map(select(.headers[\"mcp-session-id\"] or .method != \"POST\")) | length == 0" "$1" >/dev/null' _ "$MO_LOG"
check "every request carried MCP-Protocol-Version 2026-07-28, Mcp-Method and _meta" \
        bash -c 'jq -se "map(select(has(\"closed\") | not)) | map(select(.headers[\"mcp-protocol-version\"] != \"2026-07-28\" or .headers[\"mcp-method\"] != .rpc.method or .rpc.params._meta[\"io.modelcontextprotocol/protocolVersion\"] != \"2026-07-28\" or (.rpc.params._meta[\"io.modelcontextprotocol/clientCapabilities\"] | type) != \"object\")) | length == 0" "$1" >/dev/null' _ "$MO_LOG"
check "tools/call carried Mcp-Name" \
        bash -c 'jq -se "map(select(.rpc.method == \"tools/call\" and .headers[\"mcp-name\"] != .rpc.params.name)) | length == 0" "$1" >/dev/null' _ "$MO_LOG"
check "mo was refused nothing (no 4xx)" bash -c 'jq -se "map(select(.status >= 400)) | length == 0" "$1" >/dev/null' _ "$MO_LOG"
check "the subscriptions/listen streams asked for tools and resources list changes" \
        bash -c 'jq -se "map(select(.rpc.method == \"subscriptions/listen\")) | length == 2 and all(.rpc.params.notifications | .toolsListChanged and .resourcesListChanged)" "$1" >/dev/null' _ "$MO_LOG"

stop_front
N=$(wc -l <"$MO_LOG")
stop_hub
check "no request to mo at the hub's stop (no DELETE)" test "$(wc -l <"$MO_LOG")" -eq "$N"
check_no_keys_in_logs "$KEY"
