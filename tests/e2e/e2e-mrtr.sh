#!/usr/bin/env bash
# 2026-07-28 requests as an attacker with one valid key sees them (issue 16), with curl
# against server-everything (a 2025-era server) and the C fixture:
# - an elicitation the server asks mid-call comes back as input_required with a requestState;
#   the retry with inputResponses completes the same call;
# - that requestState is refused to another client, tampered, with other arguments, or once
#   used; an answer of the wrong shape is refused;
# - without the elicitation capability: -32021, HTTP 400, requiredCapabilities, call cancelled;
# - a call nobody resumes expires (MCP_INPUT_TIMEOUT) and the server hears "cancel";
# - the users file's rules hold for modern requests too; a 2025 session of the same client
#   runs beside them, and modern requests are no sessions in /health;
# - with the fixture's --asks tools on an instance of the client's own ("fc", timeout 1 s):
#   a call that times out upstream while it waits for input answers the retry with that
#   error (not a retry waiting for ever); what the server asks outside any request never
#   reaches the client's listen stream; one round holds at most 64 inputs, the rest are
#   refused to the server.
source "$(dirname "$0")/lib.sh"
require_binaries "$FIXTURE"
export CURL_MAX_TIME=20
[[ -x $EVERYTHING ]] || { fail "server-everything installed" "$EVERYTHING missing"; exit 1; }

newkey() { printf 'e2e-%s-%s' "$1" "$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"; }
KA=$(newkey alice)
KB=$(newkey bob)
jq -n --arg a "$KA" --arg b "$KB" '{($a): {client_id: "alice"}, ($b): {client_id: "bob"}}' >"$T/keys.json"
echo '{"bob": {"denied_tools": ["fx_add"]}}' >"$T/users.json"
write_config "$(config_of ev "$(srv_everything)" fx "$(srv_fixture fx)" lg "$(srv_fixture lg --log-calls)" \
        fc "$(srv_fixture fc --asks | jq -c '.isolation = "client" | .timeout = 1')")"
start_hub MCP_USERS_PATH="$T/users.json" MCP_INPUT_TIMEOUT=2 || exit 1
start_front "MCP_API_KEYS_PATH=$T/keys.json" || exit 1
KEY=$KA
for s in ev fx lg fc; do check "upstream $s becomes ready" wait_upstream "$s" ready 60; done

V=2026-07-28
# modern KEY METHOD PARAMS-JSON [CAPS-JSON] [NAME]: one 2026-07-28 POST; CODE, BODY (the
# JSON-RPC answer, from JSON or the stream's last message); LOG_LEVEL, if set, goes in _meta
modern() {
        local key=$1 method=$2 params=$3 caps=${4:-'{"elicitation":{}}'} name=${5:-}
        local body h=()
        next_id
        body=$(jq -cn --argjson id "$E2E_ID" --arg m "$method" --argjson p "$params" --argjson c "$caps" --arg v "$V" \
                --arg l "${LOG_LEVEL:-}" \
                '{jsonrpc: "2.0", id: $id, method: $m,
                  params: ($p + {_meta: ({"io.modelcontextprotocol/protocolVersion": $v,
                                          "io.modelcontextprotocol/clientCapabilities": $c}
                                         + (if $l == "" then {} else {"io.modelcontextprotocol/logLevel": $l} end))})}')
        [[ -n $name ]] && h=(-H "Mcp-Name: $name")
        req POST /mcp -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
                -H 'Accept: application/json, text/event-stream' -H "MCP-Protocol-Version: $V" \
                -H "Mcp-Method: $method" "${h[@]}" --data-binary "$body"
        if [[ $(header Content-Type) == text/event-stream* ]]; then
                BODY=$(sse_response "$RESP_BODY")
        fi
}
ELICIT='{"name":"ev_trigger-elicitation-request","arguments":{}}'
ANSWER='{"action":"accept","content":{"name":"Alice Liddell","check":true,"email":"a@example.org"}}'

# ---- a round trip ----
modern "$KA" tools/call "$ELICIT" '{"elicitation":{}}' ev_trigger-elicitation-request
check_code "alice: tools/call that elicits: 200" 200
check_jq "... input_required with one elicitation/create under elicit-1 and a requestState" \
        '.result.resultType == "input_required" and (.result.inputRequests | keys) == ["elicit-1"]
         and .result.inputRequests["elicit-1"].method == "elicitation/create"
         and (.result.inputRequests["elicit-1"].params.requestedSchema.properties | has("name"))
         and (.result.requestState | type) == "string" and (.id | type) == "number"'
STATE=$(jq -r '.result.requestState' <<<"$BODY")
retry_params() { # STATE ANSWER [ARGS]
        jq -cn --arg s "$1" --argjson a "$2" --argjson args "${3:-{\}}" \
                '{name: "ev_trigger-elicitation-request", arguments: $args, requestState: $s,
                  inputResponses: {"elicit-1": $a}}'
}
modern "$KB" tools/call "$(retry_params "$STATE" "$ANSWER")" '{"elicitation":{}}' ev_trigger-elicitation-request
check_jq "bob retrying with alice's requestState: -32602, nothing resumed" \
        '.error.code == -32602 and (.error.message | test("unknown|expired"))'
modern "$KA" tools/call "$(retry_params "${STATE}X" "$ANSWER")" '{"elicitation":{}}' ev_trigger-elicitation-request
check_jq "a tampered requestState: -32602" '.error.code == -32602'
T2=${STATE:0:40}$( [[ ${STATE:40:1} == 0 ]] && echo 1 || echo 0)${STATE:41}
modern "$KA" tools/call "$(retry_params "$T2" "$ANSWER")" '{"elicitation":{}}' ev_trigger-elicitation-request
check_jq "one digit of the state changed: -32602 (the MAC)" '.error.code == -32602'
modern "$KA" tools/call "$(retry_params "$STATE" "$ANSWER" '{"x":1}')" '{"elicitation":{}}' ev_trigger-elicitation-request
check_jq "other arguments with the state: -32602" '.error.code == -32602 and (.error.message | test("params differ"))'
modern "$KA" tools/call "$(retry_params "$STATE" '{"action":"maybe"}')" '{"elicitation":{}}' ev_trigger-elicitation-request
check_jq "an answer that is no ElicitResult: -32602" '.error.code == -32602 and (.error.message | test("elicit-1"))'
modern "$KA" tools/call "$(retry_params "$STATE" "$ANSWER")" '{"elicitation":{}}' ev_trigger-elicitation-request
check_code "alice's own retry: 200" 200
check_jq "... completes the call with her answer" \
        '.result.resultType == "complete" and (.result.content | map(.text) | join(" ") | test("Alice Liddell"))'
modern "$KA" tools/call "$(retry_params "$STATE" "$ANSWER")" '{"elicitation":{}}' ev_trigger-elicitation-request
check_jq "the same state again: -32602" '.error.code == -32602'

# ---- without the capability ----
modern "$KA" tools/call "$ELICIT" '{}' ev_trigger-elicitation-request
check_code "no elicitation capability declared: HTTP 400" 400
check_jq "... -32021 with requiredCapabilities.elicitation" \
        '.error.code == -32021 and (.error.data.requiredCapabilities.elicitation | type) == "object"'
check "... the call was cancelled at the server (hub log)" \
        bash -c 'grep -A2 "Missing required client capability: the server needs .elicitation." "$1" | grep -q "(tools/call) cancelled by the client"' _ "$T/hub.log"

# ---- nobody comes back ----
modern "$KA" tools/call "$ELICIT" '{"elicitation":{}}' ev_trigger-elicitation-request
check_jq "another input_required" '.result.resultType == "input_required"'
S3=$(jq -r '.result.requestState' <<<"$BODY")
expired() { grep -q "did not give the input asked for in time, cancelled" "$T/hub.log"; }
check "after MCP_INPUT_TIMEOUT (2 s) the call is cancelled (hub log)" wait_for 10 expired
check "... audited as cancelled" grep -q "audit: record=call client=alice .*name=ev_trigger-elicitation-request outcome=cancelled" "$T/hub.log"
modern "$KA" tools/call "$(retry_params "$S3" "$ANSWER")" '{"elicitation":{}}' ev_trigger-elicitation-request
check_jq "its state then: -32602" '.error.code == -32602'

# ---- log messages: only with a logLevel, only at or above it ----
LG='{"name":"lg_echo","arguments":{"message":"logged"}}'
LOG_LEVEL=info modern "$KA" tools/call "$LG" '{}' lg_echo
check_jq "logLevel info: the answer" '.result.content[0].text == "Echo: logged"'
check "... after the server's log message for it, on the same stream" \
        grep -q '"method":"notifications/message".*"level":"info"' "$RESP_BODY"
modern "$KA" tools/call "$LG" '{}' lg_echo
check_jq "no logLevel: the answer" '.result.content[0].text == "Echo: logged"'
check "... and no log message" bash -c '! grep -q "notifications/message" "$1"' _ "$RESP_BODY"
LOG_LEVEL=error modern "$KA" tools/call "$LG" '{}' lg_echo
check "logLevel error: no info message" bash -c '! grep -q "notifications/message" "$1"' _ "$RESP_BODY"
LOG_LEVEL=loud modern "$KA" tools/call "$LG" '{}' lg_echo
check_code "an unknown logLevel: 400" 400
check_jq "... -32602" '.error.code == -32602'

# ---- rules, and a 2025 session beside ----
modern "$KB" tools/call '{"name":"fx_add","arguments":{"a":1,"b":2}}' '{}' fx_add
check_jq "bob's modern call of a tool the users file denies him: -32003" '.error.code == -32003'
modern "$KB" tools/list '{}' '{}'
check_jq "... and his modern tools/list leaves it out (cacheScope private: a users file filters)" \
        '(.result.tools | map(.name) | index("fx_add")) == null and (.result.tools | length) > 0
         and .result.cacheScope == "private" and .result.resultType == "complete"'
KEY=$KA
mcp_initialize || fail "alice's 2025 session" "$INIT_CODE"
modern "$KA" tools/call '{"name":"fx_echo","arguments":{"message":"modern"}}' '{}' fx_echo
check_jq "a modern call" '.result.content[0].text == "Echo: modern"'
mcp_call "$SESSION" fx_echo '{"message":"session"}'
check_jq "the 2025 session beside it answers its own" '.result.content[0].text == "Echo: session"'
check_eq "/health counts the one session, not the modern requests" 1 "$(health | jq '.sessions')"
check "mcp-proxyctl sessions lists only it" \
        bash -c '[[ $("$1" -s "$2" sessions --json | jq length) == 1 ]]' _ "$BUILD/mcp-proxyctl" "$MCP_CONTROL_SOCKET"

# ---- the fixture asks (fc: alice's own instance, timeout 1 s) ----
modern "$KA" tools/call '{"name":"fc_ask_many","arguments":{"count":1}}' '{"elicitation":{}}' fc_ask_many
check_jq "fc_ask_many 1: input_required under its hint q0" \
        '.result.resultType == "input_required" and (.result.inputRequests | keys) == ["q0"]'
S4=$(jq -r '.result.requestState' <<<"$BODY")
fc_timed_out() { grep -q "fc\[alice\]'.*(tools/call) timed out" "$T/hub.log"; }
check "... its call times out upstream (1 s) while it waits for input" wait_for 10 fc_timed_out
modern "$KA" tools/call "$(jq -cn --arg s "$S4" '{name: "fc_ask_many", arguments: {count: 1},
        requestState: $s, inputResponses: {q0: {action: "decline"}}}')" '{"elicitation":{}}' fc_ask_many
check_jq "... the retry gets that timeout at once, not a wait for ever" \
        '.error.code == -32001 and (.error.message | test("timed out"))'

LISTEN='{"jsonrpc":"2.0","id":"L1","method":"subscriptions/listen","params":{"notifications":{"toolsListChanged":true},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"elicitation":{}}}}}'
curl -sS -N --max-time 3 -X POST "$URL/mcp" -H "Authorization: Bearer $KB" \
        -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
        -H "MCP-Protocol-Version: $V" -H 'Mcp-Method: subscriptions/listen' \
        --data-binary "$LISTEN" >"$T/listen.out" 2>/dev/null &
LISTEN_PID=$!
sleep 0.5
modern "$KB" tools/call '{"name":"fc_ask_later","arguments":{}}' '{"elicitation":{}}' fc_ask_later
check_jq "fc_ask_later answers (and asks 200 ms later, outside any request)" \
        '.result.content[0].text == "asking later"'
wait "$LISTEN_PID"
check_eq "bob's listen stream (he has no 2025 session) hears only its acknowledgement, no input_required" \
        '["notifications/subscriptions/acknowledged"]' "$(sse_messages "$T/listen.out" | jq -sc 'map(.method)')"
check "... the server hears it cannot ask outside a request" \
        grep -q "fc\[bob\]: fc: answer .*cannot ask a client outside its request" "$T/hub.log"

modern "$KA" tools/call '{"name":"fc_ask_many","arguments":{"count":100}}' '{"elicitation":{}}' fc_ask_many
check_jq "fc_ask_many 100: one round asks at most 64 of them" \
        '.result.resultType == "input_required" and (.result.inputRequests | length) == 64'
check "... the server hears the others refused" \
        grep -q "fc\[alice\]: fc: answer .*Too many requests for one client round" "$T/hub.log"

check_no_keys_in_logs "$KA" "$KB"
