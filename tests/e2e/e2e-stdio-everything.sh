#!/usr/bin/env bash
# @modelcontextprotocol/server-everything over stdio as the only upstream
# (tool names unprefixed): curl through the whole exchange, then the official
# SDK client (StreamableHTTPClientTransport) with and without the key.
source "$(dirname "$0")/lib.sh"
require_binaries
[[ -x $EVERYTHING ]] || { fail "server-everything installed" "$EVERYTHING missing (npm ci --prefix tests)"; exit 1; }
export CURL_MAX_TIME=20

write_config "$(config_of everything "$(srv_everything)")"
start_hub || exit 1
start_front || exit 1
check "upstream everything becomes ready" wait_upstream everything ready 60
EV_PID=$(upstream_field everything .pid)
check "/health shows the child's pid" test -n "$EV_PID" -a -d "/proc/$EV_PID"

if mcp_initialize; then pass "initialize: 200 with Mcp-Session-Id"; else
        fail "initialize: 200 with Mcp-Session-Id" "HTTP $INIT_CODE" "$INIT_BODY"
fi
check_jq "initialize: negotiated 2025-11-25, serverInfo mcp-proxy" \
        '.result.protocolVersion == "2025-11-25" and .result.serverInfo.name == "mcp-proxy"' "$INIT_BODY"
S=$SESSION

NAMES=$(all_tool_names "$S" | sort)
check "tools/list has echo (unprefixed)" grep -qx echo <<<"$NAMES"
check "tools/list has get-sum (unprefixed)" grep -qx get-sum <<<"$NAMES"
check "tools/list has no prefixed names" bash -c '! grep -q "^everything_" <<<"$1"' _ "$NAMES"
mcp_tools_list "$S"
check_jq "tools carry their inputSchema" '.result.tools[] | select(.name == "get-sum") | .inputSchema.properties | has("a") and has("b")'

mcp_call "$S" echo '{"message":"hello everything"}'
check_code "tools/call echo: 200" 200
check_jq "tools/call echo returns the text" '.result.content[0].text == "Echo: hello everything"'
check_jq "tools/call keeps the client's id" ".id == $E2E_ID"
mcp_call "$S" get-sum '{"a":17,"b":25}'
check_jq "tools/call get-sum returns the sum" '.result.content[0].text | test("\\b42\\b")'
mcp_call "$S" no-such-tool '{}'
check_jq "unknown tool: a JSON-RPC error or an isError result" '(.error.code | type == "number") or .result.isError == true'
next_id
mcp_post "$S" "{\"jsonrpc\":\"2.0\",\"id\":$E2E_ID,\"method\":\"tools/call\",\"params\":{\"name\":\"trigger-long-running-operation\",\"arguments\":{\"duration\":1,\"steps\":3},\"_meta\":{\"progressToken\":\"tok-e2e\"}}}"
check_code "progress: 200" 200
check_eq "progress: the answer is an SSE stream" text/event-stream "$(header Content-Type | cut -d';' -f1)"
PROGRESS=$(sse_messages "$RESP_BODY" | jq -c 'select(.method == "notifications/progress")')
check_eq "progress: three notifications/progress events before the answer" 3 "$(grep -c . <<<"$PROGRESS")"
check_jq "progress: events carry the client's progressToken and count up" \
        'map(.params) | map(.progressToken) == ["tok-e2e", "tok-e2e", "tok-e2e"] and (map(.progress) == [1, 2, 3])' \
        "$(jq -sc . <<<"$PROGRESS")"
check_jq "progress: then the result with the client's id" ".id == $E2E_ID and (.result.content[0].text | test(\"completed\"))"
mcp_post "$S" '{"jsonrpc":"2.0","id":"p-1","method":"ping"}'
check_jq "ping answered by the hub" '.id == "p-1" and .result == {}'
mcp_post "$S" '{"jsonrpc":"2.0","id":77,"method":"no/such/method"}'
check_jq "unknown method: -32601" '.error.code == -32601'

# GET stream: SSE, a second one is refused with 409
curl -sS -N --max-time 30 -o "$T/get1.body" -D "$T/get1.headers" -H "$(auth_h)" \
        -H 'Accept: text/event-stream' -H "Mcp-Session-Id: $S" -H 'MCP-Protocol-Version: 2025-11-25' \
        "$URL/mcp" 2>/dev/null &
GET_PID=$!
PIDS+=("$GET_PID")
if wait_for 5 grep -qs '^HTTP/1.1 ' "$T/get1.headers"; then
        check_eq "GET /mcp with a session: 200" 200 "$(awk 'NR == 1 {print $2}' "$T/get1.headers")"
        check "GET /mcp: text/event-stream" grep -qi '^content-type: text/event-stream' "$T/get1.headers"
        req GET /mcp -H "$(auth_h)" -H 'Accept: text/event-stream' -H "Mcp-Session-Id: $S" -H 'MCP-Protocol-Version: 2025-11-25'
        check_code "second GET stream on the same session: 409" 409
else
        fail "GET /mcp with a session answers" "no response headers within 5 s"
fi
mcp_call "$S" echo '{"message":"while streaming"}'
check_jq "POST still answered while the GET stream is open" '.result.content[0].text == "Echo: while streaming"'
stop_pid "$GET_PID" 2

req DELETE /mcp -H "$(auth_h)" -H "Mcp-Session-Id: $S" -H 'MCP-Protocol-Version: 2025-11-25'
check_code "DELETE the session: 200" 200
mcp_call "$S" echo '{"message":"gone"}'
check_code "the deleted session: 404" 404
check_jq "the deleted session: -32001" '.error.code == -32001'

# The official SDK client
relay_checks node tests/e2e/sdk-basic.mjs "$URL/mcp" "$KEY" echo get-sum

check_eq "the child was not restarted meanwhile" "$EV_PID" "$(upstream_field everything .pid)"
check_no_keys_in_logs "$KEY"

stop_hub 10
check_eq "hub exits 0 on SIGTERM" 0 "$HUB_RC"
check "server-everything (stdio, ignores EOF) is gone after the hub stops" bash -c '! kill -0 "$1" 2>/dev/null' _ "$EV_PID"
