#!/usr/bin/env bash
# A server's log lines reach only the session they belong to
# (tests/e2e/sdk-attribution.mjs): mcp-fixture --log-calls logs every call's
# arguments; alice (debug, GET stream open) never sees bob's markers, in every
# isolation mode; bob gets his own lines. On a "shared" server, bob's lines
# written while alice's call is in flight cannot be attributed: they are in the
# hub's log ("not attributable", naming the server) and on no client's stream.
source "$(dirname "$0")/lib.sh"
require_binaries "$FIXTURE"
KEY2=e2e-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')

write_config "$(config_of \
        lshared "$(srv_fixture lshared --log-calls | jq '.isolation = "shared"')" \
        lclient "$(srv_fixture lclient --log-calls | jq '.isolation = "client"')" \
        lsession "$(srv_fixture lsession --log-calls | jq '.isolation = "session"')")"
start_hub || exit 1
start_front "MCP_API_KEYS=$KEY:alice,$KEY2:bob" || exit 1
for s in lshared lclient lsession; do
        check "upstream $s becomes ready" wait_upstream "$s" ready 20
done

sdk_attribution() { E2E_MARK=$MARK node tests/e2e/sdk-attribution.mjs "$@"; }
relay_checks sdk_attribution "$URL/mcp" "$KEY" "$KEY2"

check "hub log: lines of lshared that could not be attributed are logged (\"not attributable\", naming lshared)" \
        grep -qE 'not attributable.*\blshared\b|\blshared\b.*not attributable' "$T/hub.log"
check "hub log: nothing of lclient or lsession (one session per instance) was unattributable" \
        bash -c '! grep -E "not attributable" "$1" | grep -qE "\blclient\b|\blsession\b"' _ "$T/hub.log"
check_no_keys_in_logs "$KEY" "$KEY2"
