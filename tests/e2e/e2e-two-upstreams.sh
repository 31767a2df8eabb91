#!/usr/bin/env bash
# Several upstreams at once: server-everything and mcp-fixture (paged
# tools/list) are both reachable under "<server>_<tool>" names, and two
# fixtures whose prefixed names really collide ("a" with an extra tool
# "b_echo", "a_b" with "echo": both give "a_b_echo") show up in /health
# "collisions" and in the hub log.
source "$(dirname "$0")/lib.sh"
require_binaries "$FIXTURE"
[[ -x $EVERYTHING ]] || { fail "server-everything installed" "$EVERYTHING missing"; exit 1; }
export CURL_MAX_TIME=20

write_config "$(config_of \
        everything "$(srv_everything)" \
        fx "$(srv_fixture fx --page-size 5)" \
        a "$(srv_fixture a --extra-tool b_echo)" \
        a_b "$(srv_fixture a_b)")"
start_hub || exit 1
start_front || exit 1
for s in everything fx a a_b; do
        check "upstream $s becomes ready" wait_upstream "$s" ready 60
done

mcp_initialize || fail "initialize" "HTTP $INIT_CODE" "$INIT_BODY"
S=$SESSION
NAMES=$(all_tool_names "$S" | sort)
for n in everything_echo everything_get-sum fx_echo fx_add fx_cancelled a_echo a_b_echo; do
        check "tools/list has $n" grep -qx -- "$n" <<<"$NAMES"
done
check "no unprefixed echo with several upstreams" bash -c '! grep -qx echo <<<"$1"' _ "$NAMES"
check_eq "fx's 12 tools (3 pages of 5 upstream) are all there" 12 "$(grep -c '^fx_' <<<"$NAMES")"
check_eq "each name listed once" "$(sort -u <<<"$NAMES" | wc -l)" "$(wc -l <<<"$NAMES")"

mcp_call "$S" everything_echo '{"message":"to everything"}'
check_jq "everything_echo answers" '.result.content[0].text == "Echo: to everything"'
mcp_call "$S" fx_echo '{"message":"to fx"}'
check_jq "fx_echo answers" '.result.content[0].text == "Echo: to fx"'
mcp_call "$S" everything_get-sum '{"a":1,"b":2}'
check_jq "everything_get-sum answers" '.result.content[0].text | test("\\b3\\b")'
mcp_call "$S" fx_add '{"a":20,"b":22}'
check_jq "fx_add: structuredContent.sum 42" '.result.structuredContent.sum == 42'
mcp_call "$S" fx_nosuch '{}'
check_jq "unknown prefixed tool: JSON-RPC error -32602" '.error.code == -32602'
mcp_call "$S" nosuchserver_echo '{}'
check_jq "unknown server prefix: JSON-RPC error" '.error.code | type == "number"'

# concurrent calls to two upstreams over two connections
mcp_call "$S" fx_sleep '{"ms":1500}' >/dev/null &
SLEEP_PID=$!
PIDS+=("$SLEEP_PID")
sleep 0.2
t0=$(now_ms)
mcp_call "$S" everything_echo '{"message":"meanwhile"}'
dt=$(($(now_ms) - t0))
check_jq "everything answers while fx sleeps" '.result.content[0].text == "Echo: meanwhile"'
check "... without waiting for fx (${dt} ms < 1000)" test "$dt" -lt 1000
wait "$SLEEP_PID"

# the collision
mcp_call "$S" a_b_echo '{"message":"which one"}'
check_jq "the colliding name a_b_echo still answers" '.result.content[0].text == "Echo: which one"'
H=$(health)
check_jq "/health collisions lists a_b_echo" '.collisions | map(tostring) | any(test("a_b_echo"))' "$H"
check_jq "/health collisions names both servers" \
        '.collisions[] | select(tostring | test("a_b_echo")) | tostring | test("\"a\"") and test("\"a_b\"")' "$H"
check "hub log warns about the collision" grep -qE '^warning: .*a_b_echo' "$T/hub.log"
check_jq "/health lists four stdio upstreams with pids" \
        '[.upstreams[] | select(.transport == "stdio" and (.pid | type == "number"))] | length == 4' "$H"

check_no_keys_in_logs "$KEY"
stop_hub 10
check_eq "hub exits 0 on SIGTERM" 0 "$HUB_RC"
