#!/usr/bin/env bash
# Per-client and per-session upstream instances (tests/e2e/sdk-instances.mjs),
# server-everything over stdio, four API keys (alice, bob, carol, dave):
# - "client": bob's echo calls answer in under 0.5 s each while alice's 4 s
#   trigger-long-running-operation runs;
# - "client" and "session": 16 sessions (4 per key) calling at once all succeed,
#   each sees only its own progress, sampling and elicitation; /health lists 4
#   instances (one per client id) and 16 (one per session) with their pids;
# - "idleTimeout": 3: the instances stop (list empty, pids gone) while the
#   sessions stay open; the catalogue session stays;
# - "maxInstances": 2: a third client gets a -32000 error naming the server and
#   maxInstances (error.data.server); an instance stops when its client's last
#   session ends, and the freed slot serves the third client.
source "$(dirname "$0")/lib.sh"
require_binaries
[[ -x $EVERYTHING ]] || { fail "server-everything installed" "$EVERYTHING missing (npm ci --prefix tests)"; exit 1; }
K=()
for i in 1 2 3 4; do K+=("e2e-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"); done

EV=$(srv_everything)
write_config "$(config_of \
        evc "$(jq '.isolation = "client" | .idleTimeout = 3' <<<"$EV")" \
        evs "$(jq '.isolation = "session" | .idleTimeout = 3' <<<"$EV")" \
        evm "$(jq '.isolation = "client" | .maxInstances = 2' <<<"$EV")")"
# info: 16 instances of server-everything at debug level fill the log for nothing
E2E_LOG_LEVEL=${E2E_LOG_LEVEL:-info} start_hub || exit 1
KEY=${K[0]} # health() and wait_upstream with alice's key
start_front "MCP_API_KEYS=${K[0]}:alice,${K[1]}:bob,${K[2]}:carol,${K[3]}:dave" || exit 1
for s in evc evs evm; do
        check "upstream $s becomes ready" wait_upstream "$s" ready 60
done

sdk_instances() { E2E_MARK=$MARK node tests/e2e/sdk-instances.mjs "$@"; }
t0=$(now_ms)
relay_checks sdk_instances "$URL" "${K[@]}"
echo "(the node part took $(($(now_ms) - t0)) ms)"

no_instances() { [[ $(health | jq -c '.instances') == 0 ]]; }
check "no instance left once every session ended" wait_for 8 no_instances
check "hub log: sessions of all four client ids" bash -c 'for c in alice bob carol dave; do grep -q "client '\''$c'\'' opened session" "$1" || exit 1; done' _ "$T/hub.log"
check_no_keys_in_logs "${K[@]}"
