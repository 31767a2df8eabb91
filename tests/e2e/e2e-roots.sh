#!/usr/bin/env bash
# Roots belong to the operator (tests/e2e/sdk-roots.mjs): server-filesystem,
# allowed to see directory A only, in each isolation mode ("shared", "client",
# "session"); a client whose roots point at directory B (outside A) announces
# them (notifications/roots/list_changed) and still cannot read B's secret,
# while A reads fine. A server with "roots" in its config gets those. With
# "forwardRoots": true on a "session" server, the client's roots apply to its
# own instance only: it reads B, another client (another key) cannot.
# --check-config refuses forwardRoots on a "shared" server, and the hub does
# not start with it.
source "$(dirname "$0")/lib.sh"
require_binaries
[[ -x $FILESYSTEM ]] || { fail "server-filesystem installed" "$FILESYSTEM missing (npm ci --prefix tests)"; exit 1; }
KEY2=e2e-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')

DA=$T/dir-a DB=$T/dir-b DC=$T/dir-c
mkdir -p "$DA" "$DB" "$DC"
export TEXT_A=content-of-a-$RANDOM$RANDOM SECRET_B=secret-of-b-$RANDOM$RANDOM TEXT_C=content-of-c-$RANDOM$RANDOM
echo "$TEXT_A" >"$DA/a.txt"
echo "$SECRET_B" >"$DB/secret.txt"
echo "$TEXT_C" >"$DC/c.txt"

# ---- --check-config and start-up refuse forwardRoots on a shared server ----
check_config() { # FILE: sets CC_RC, CC_OUT
        CC_OUT=$(env E2E_MARK="$MARK" timeout 10 "$HUB_BIN" --check-config --config "$1" 2>&1)
        CC_RC=$?
}
FS=$(srv_filesystem "$DA")
config_of fsshared "$(jq '.isolation = "shared" | .forwardRoots = true' <<<"$FS")" >"$T/bad.json"
check_config "$T/bad.json"
check_eq "--check-config: forwardRoots with \"shared\" exits 1" 1 "$CC_RC"
# (a hub that does not know the key warns "unknown key" naming it: that does not count)
CC_ERR=$(grep -v 'unknown key' <<<"$CC_OUT" | grep forwardRoots)
check_contains "--check-config: an error (not an unknown-key warning) names forwardRoots" "$CC_ERR" forwardRoots
check_contains "--check-config: ... and the server" "$CC_ERR" fsshared
for iso in client session; do
        config_of good "$(jq --arg i "$iso" '.isolation = $i | .forwardRoots = true' <<<"$FS")" >"$T/good-$iso.json"
        check_config "$T/good-$iso.json"
        check_eq "--check-config: forwardRoots with \"$iso\" is valid" 0 "$CC_RC"
done
config_of good "$(jq '.forwardRoots = true | .roots = [$d, {uri: ("file://" + $d), name: "c"}]' --arg d "$DC" <<<"$FS")" >"$T/good-default.json"
check_config "$T/good-default.json"
check_eq "--check-config: forwardRoots on a stdio server (default \"client\") and \"roots\" strings and objects are valid" 0 "$CC_RC"

# the hub itself does not start with it (bounded: a hub that accepts it runs on)
env E2E_MARK="$MARK" MCP_HUB_SOCKET="$T/bad.sock" MCP_CONFIG_PATH="$T/bad.json" \
        timeout 8 "$HUB_BIN" >"$T/bad-hub.log" 2>&1
rc=$?
check "hub with forwardRoots on a shared server refuses to start (exit $rc, not 0, not killed by the timeout)" \
        test "$rc" -ne 0 -a "$rc" -ne 124
check "... and its log says why, naming forwardRoots" bash -c 'grep -v "unknown key" "$1" | grep -q forwardRoots' _ "$T/bad-hub.log"

# ---- the servers ----
write_config "$(config_of \
        shared "$(jq '.isolation = "shared"' <<<"$FS")" \
        client "$(jq '.isolation = "client"' <<<"$FS")" \
        session "$(jq '.isolation = "session"' <<<"$FS")" \
        op "$(jq --arg d "$DC" '.isolation = "client" | .roots = [{uri: ("file://" + $d), name: "operator-c"}]' <<<"$FS")" \
        fwd "$(jq '.isolation = "session" | .forwardRoots = true' <<<"$FS")")"
start_hub || exit 1
start_front "MCP_API_KEYS=$KEY:alice,$KEY2:bob" || exit 1
for s in shared client session op fwd; do
        check "upstream $s becomes ready" wait_upstream "$s" ready 40
done

sdk_roots() { E2E_MARK=$MARK node tests/e2e/sdk-roots.mjs "$@"; }
relay_checks sdk_roots "$URL/mcp" "$KEY" "$KEY2" "$DA" "$DB" "$DC"

check_no_keys_in_logs "$KEY" "$KEY2"
