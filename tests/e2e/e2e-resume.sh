#!/usr/bin/env bash
# SSE resumption (issue 3): event ids "<stream>-<seq>", a priming event first,
# a dropped GET stream resumed with GET + Last-Event-ID (every event after that
# id exactly once, in order), one GET stream per session (409), and a POST's
# progress stream dropped mid-way and resumed with a GET (tests/e2e/sse-resume.mjs,
# plain fetch), against server-everything over stdio.
source "$(dirname "$0")/lib.sh"
require_binaries
[[ -x $EVERYTHING ]] || { fail "server-everything installed" "$EVERYTHING missing (npm ci --prefix tests)"; exit 1; }
export CURL_MAX_TIME=20

write_config "$(config_of everything "$(srv_everything)")"
start_hub || exit 1
start_front || exit 1
check "upstream everything becomes ready" wait_upstream everything ready 60

# The bytes of a priming event, as curl sees them.
if mcp_initialize; then pass "curl: initialize"; else fail "curl: initialize" "HTTP $INIT_CODE $INIT_BODY"; fi
curl -sS -N --max-time 2 -o "$T/get.body" -D "$T/get.headers" -H "$(auth_h)" -H 'Accept: text/event-stream' \
        -H "Mcp-Session-Id: $SESSION" -H "MCP-Protocol-Version: $MCP_VERSION" "$URL/mcp" 2>/dev/null
check "curl: GET stream: text/event-stream" grep -qi '^content-type: text/event-stream' "$T/get.headers"
check "curl: GET stream starts with 'id: <stream>-<seq>' and an empty 'data:' line" \
        bash -c 'head -c 200 "$1" | tr -d "\r" | head -n 3 | paste -sd"|" | grep -qE "^id: [0-9]+-[0-9]+\|data: ?\|$"' _ "$T/get.body"
# A Last-Event-ID for a stream the session does not have: a new GET stream, not an error.
req GET /mcp -H "$(auth_h)" -H 'Accept: text/event-stream' -H "Mcp-Session-Id: $SESSION" \
        -H "MCP-Protocol-Version: $MCP_VERSION" -H 'Last-Event-ID: 999-5' --max-time 2
check "curl: Last-Event-ID of an unknown stream: 200 with a fresh priming event" \
        bash -c '[[ $1 == 200 ]] && tr -d "\r" <"$2" | grep -qE "^id: [0-9]+-0$"' _ "$CODE" "$RESP_BODY"

sse_resume() { E2E_MARK=$MARK node tests/e2e/sse-resume.mjs "$@"; }
relay_checks sse_resume "$URL/mcp" "$KEY"

check "hub log: the resumptions were logged" grep -q "resumes stream" "$T/hub.log"
check "hub log: no events lost in the replay buffer" bash -c '! grep -q "events lost" "$1"' _ "$T/hub.log"
check_no_keys_in_logs "$KEY"
