#!/usr/bin/env bash
# Several clients at once on one shared stdio upstream (server-everything):
# two SDK clients with different API keys (client ids alice and bob) and a third
# session of alice's without any client capability (tests/e2e/sdk-isolation.mjs).
# Each must get only its own responses, progress, server requests (sampling,
# elicitation) and resource updates; a session without the capability gets an
# error, never another client's handler.
source "$(dirname "$0")/lib.sh"
require_binaries
[[ -x $EVERYTHING ]] || { fail "server-everything installed" "$EVERYTHING missing (npm ci --prefix tests)"; exit 1; }
KEY2=e2e-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')

# One upstream session for everyone ("shared"): the hardest case for keeping clients apart.
write_config "$(config_of everything "$(srv_everything | jq -c '.isolation = "shared"')")"
start_hub || exit 1
start_front "MCP_API_KEYS=$KEY:alice,$KEY2:bob" || exit 1
check "upstream everything becomes ready" wait_upstream everything ready 60
EV_PID=$(upstream_field everything .pid)

sdk_isolation() { E2E_MARK=$MARK node tests/e2e/sdk-isolation.mjs "$@"; }
relay_checks sdk_isolation "$URL/mcp" "$KEY" "$KEY2"

check_eq "one upstream process served them all (not restarted)" "$EV_PID" "$(upstream_field everything .pid)"
check "hub log: sessions of both client ids" bash -c 'grep -q "client '\''alice'\'' opened session" "$1" && grep -q "client '\''bob'\'' opened session" "$1"' _ "$T/hub.log"
check_no_keys_in_logs "$KEY" "$KEY2"
