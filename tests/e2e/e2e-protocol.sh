#!/usr/bin/env bash
# The MCP surface beyond tools through the proxy, with the official SDK client
# (tests/e2e/sdk-protocol.mjs) and server-everything over stdio (issue 3):
# progress, sampling, elicitation (form and URL), roots, logging, resources
# and subscriptions, prompts, completion, cancellation, error fidelity; then a
# config of server-everything plus several mcp-fixture upstreams: pagination
# over two hub pages, renamed URIs, upstream errors intact, a cancel the
# upstream sees. Plus the cancellation at the HTTP level with curl.
source "$(dirname "$0")/lib.sh"
require_binaries "$FIXTURE"
[[ -x $EVERYTHING ]] || { fail "server-everything installed" "$EVERYTHING missing (npm ci --prefix tests)"; exit 1; }
export CURL_MAX_TIME=20

# The node client and the server-everything it starts itself carry our marker.
sdk_protocol() { E2E_MARK=$MARK EVERYTHING_BIN=$EVERYTHING node tests/e2e/sdk-protocol.mjs "$@"; }

# ---------------------------------------------------------------- one upstream
# The client's roots reach its own instance (forwardRoots; e2e-roots.sh has the rest).
write_config "$(config_of everything "$(srv_everything | jq -c '.forwardRoots = true')")"
start_hub || exit 1
start_front || exit 1
check "upstream everything becomes ready" wait_upstream everything ready 60
EV_PID=$(upstream_field everything .pid)

relay_checks sdk_protocol "$URL/mcp" "$KEY" everything

# The SDK client cancelled one trigger-long-running-operation and then waited
# longer than it runs: the hub sent notifications/cancelled upstream, and the
# upstream, having seen it, never answered that request (the SDK server drops
# the answer of a request it aborted).
CANCELLED=$(sed -n "s/.*upstream 'everything\(\[[^]]*\]\)\?': request \([0-9]*\) (tools\/call) cancelled by the client.*/\2/p" "$T/hub.log" | head -n 1)
if [[ -n $CANCELLED ]]; then
        pass "hub log: the cancel was forwarded upstream (request $CANCELLED)"
        check "hub log: the upstream never answered the cancelled request (it saw the cancel)" \
                bash -c '! grep -q "late response to $1\b" "$2"' _ "$CANCELLED" "$T/hub.log"
        check "hub log: the upstream's later progress for it stayed in the hub" \
                grep -qE "everything(\[[^]]*\])?': progress for a finished request, ignoring" "$T/hub.log"
else
        fail "hub log: the cancel was forwarded upstream" "no 'cancelled by the client' line in hub.log"
fi

# Cancellation at the HTTP level: a POST streaming progress, then
# notifications/cancelled for its id on another POST.
if mcp_initialize; then pass "curl: initialize"; else fail "curl: initialize" "HTTP $INIT_CODE $INIT_BODY"; fi
S=$SESSION
curl -sS -N --max-time 20 -o "$T/cancel.body" -D "$T/cancel.headers" -H "$(auth_h)" \
        -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
        -H "Mcp-Session-Id: $S" -H "MCP-Protocol-Version: $MCP_VERSION" \
        --data-binary '{"jsonrpc":"2.0","id":"to-cancel","method":"tools/call","params":{"name":"trigger-long-running-operation","arguments":{"duration":4,"steps":8},"_meta":{"progressToken":"ct-1"}}}' \
        "$URL/mcp" 2>/dev/null &
CURL_PID=$!
PIDS+=("$CURL_PID")
if wait_for 5 grep -qs '"progress":1' "$T/cancel.body"; then
        pass "curl: the long operation streams its first progress"
        T0=$(now_ms)
        mcp_post "$S" '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"to-cancel","reason":"e2e curl"}}'
        check_code "curl: notifications/cancelled: 202" 202
        if wait_for 3 bash -c '! kill -0 "$1" 2>/dev/null' _ "$CURL_PID"; then
                pass "curl: the cancelled request's stream ends at once ($(($(now_ms) - T0)) ms)"
        else
                fail "curl: the cancelled request's stream ends at once" "still open 3 s after the cancel"
        fi
        N=$(sse_messages "$T/cancel.body" | jq -c 'select(.method == "notifications/progress")' | grep -c .)
        check "curl: few progress events, not all 8 ($N)" test "$N" -lt 4
        check_jq "curl: the progress carried the client's token" \
                'map(select(.method == "notifications/progress") | .params.progressToken) | unique == ["ct-1"]' \
                "$(sse_messages "$T/cancel.body" | jq -sc .)"
        ANSWER=$(sse_messages "$T/cancel.body" | jq -c 'select(.id == "to-cancel")')
        check_eq "curl: no response for the cancelled request (a cancel's receiver SHOULD NOT answer)" "" "$ANSWER"
else
        fail "curl: the long operation streams its first progress" "$(head -c 500 "$T/cancel.body")"
fi
stop_pid "$CURL_PID" 1
mcp_post "$S" '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"never-sent"}}'
check_code "curl: a cancel for an unknown request id is accepted and ignored (202)" 202
mcp_call "$S" echo '{"message":"after the cancel"}'
check_jq "curl: the session goes on after the cancel" '.result.content[0].text == "Echo: after the cancel"'
check_eq "server-everything was not restarted" "$EV_PID" "$(upstream_field everything .pid)"

stop_hub 10
check_eq "hub exits 0 on SIGTERM" 0 "$HUB_RC"

# ---------------------------------------------------------------- several upstreams
# 12 tools per fixture, listed 5 a page upstream; with server-everything's the
# aggregate needs two hub pages (100 a page).
NFX=8
CFG=(everything "$(srv_everything)")
for ((i = 1; i <= NFX; i++)); do CFG+=("fx$i" "$(srv_fixture "fx$i" --page-size 5)"); done
write_config "$(config_of "${CFG[@]}")"
start_hub || exit 1
check "several upstreams: everything ready" wait_upstream everything ready 60
for ((i = 1; i <= NFX; i++)); do
        wait_upstream "fx$i" ready 10 || fail "several upstreams: fx$i ready" "$(health)"
done
check_eq "several upstreams: every fixture read all its pages (12 tools each)" \
        "$(for ((i = 1; i <= NFX; i++)); do echo 12; done | paste -sd' ')" \
        "$(for ((i = 1; i <= NFX; i++)); do upstream_field "fx$i" .tools; done | paste -sd' ')"

relay_checks sdk_protocol "$URL/mcp" "$KEY" multi "$NFX"

check "the fixture logged the cancel it received" grep -q "fx2: notifications/cancelled received" "$T/hub.log"
check_no_keys_in_logs "$KEY"
