#!/usr/bin/env bash
# What a client's sessions may hold (issue 15): the events the hub keeps on SSE streams, for
# delivery and for replay after a Last-Event-ID, count against the client's budget
# ("max_buffer_mib" in the users file, 32 MiB by default). Over it the oldest events of that
# client's streams are dropped (answers already sent and read first), logged and audited at
# most every 10 s, counted in mcp_proxy_limited_total; the answers themselves still arrive,
# and another client's streams are not touched.
source "$(dirname "$0")/lib.sh"
require_binaries "$FIXTURE"
export CURL_MAX_TIME=20

newkey() { printf 'e2e-%s-%s' "$1" "$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"; }
KA=$(newkey alice)
KF=$(newkey frank)
jq -n --arg a "$KA" --arg f "$KF" '{($a): {client_id: "alice"}, ($f): {client_id: "frank"}}' >"$T/keys.json"
echo '{"frank": {"max_buffer_mib": 1}}' >"$T/users.json"
# --log-calls: a notification before each answer, so every call's exchange is an SSE stream
write_config "$(config_of lg "$(srv_fixture lg --log-calls | jq -c '.isolation = "shared"')")"
start_hub MCP_USERS_PATH="$T/users.json" || exit 1
start_front "MCP_API_KEYS_PATH=$T/keys.json" || exit 1
KEY=$KA
check "lg becomes ready" wait_upstream lg ready 20

# big CALLER BYTES: calls big (as the current $KEY and $SESSION); prints the exchange's
# stream id, from its priming event "id: <stream>-0"
big() {
        mcp_call "$SESSION" big "{\"bytes\":$2}"
        [[ $CODE == 200 ]] || { echo "HTTP $CODE" >&2; return 1; }
        printf '%s' "$RAW_BODY" | tr -d '\r' | sed -n 's/^id: \([0-9]*\)-0$/\1/p' | head -n 1
        jq -r '.result.content[0].text | length' <<<"$BODY" >"$T/big.len"
}

# replay STREAM: GET with Last-Event-ID STREAM-0 (the current $KEY and $SESSION); the body
# in $RESP_BODY
replay() {
        req GET /mcp -H "$(auth_h)" -H 'Accept: text/event-stream' -H "Mcp-Session-Id: $SESSION" \
                -H "MCP-Protocol-Version: $MCP_VERSION" -H "Last-Event-ID: $1-0" --max-time 3
}
xs_in() { grep -c 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' "$1"; } # lines with a big answer

KEY=$KA
mcp_initialize || fail "alice initializes" "$INIT_CODE"
SA=$SESSION
AS=$(big alice 500000)
check "alice: a call answered on an SSE stream ($AS)" test -n "$AS"
check_eq "... with the 500000 bytes asked for" 500000 "$(cat "$T/big.len")"

KEY=$KF
mcp_initialize || fail "frank initializes" "$INIT_CODE"
SF=$SESSION
FS=()
for i in 1 2 3 4 5; do
        FS+=("$(big frank 400000)")
        check_eq "frank's call $i (400000 bytes) is answered whole, budget or not" 400000 "$(cat "$T/big.len")"
done
check "hub log: frank's streams went over his 1 MiB: the oldest events dropped" \
        grep -q "client 'frank': its sessions' streams held more than 1048576 bytes: dropped the [0-9]* oldest event(s) (max_buffer_mib)" "$T/hub.log"
check "... audited as a limit hit" grep -q "audit: record=limited client=frank .*outcome=limited" "$T/hub.log"
check_eq "... once, however many events went (at most every 10 s)" 1 "$(grep -c "client 'frank': its sessions' streams held" "$T/hub.log")"

replay "${FS[0]}"
check_eq "frank's first answer is no longer kept for replay" 0 "$(xs_in "$RESP_BODY")"
replay "${FS[4]}"
check_eq "his last one is" 1 "$(xs_in "$RESP_BODY")"
kept=0
for s in "${FS[@]}"; do
        replay "$s"
        kept=$((kept + $(xs_in "$RESP_BODY")))
done
echo "    (frank's answers kept for replay: $kept of 5, 400000 bytes each, 1 MiB budget)"
check "at most what fits in 1 MiB is kept (2 of 400000 bytes)" test "$kept" -le 2

KEY=$KA
SESSION=$SA
replay "$AS"
check_eq "alice's answer, older than all of frank's, is still kept (another client's budget)" 1 "$(xs_in "$RESP_BODY")"
check_eq "... whole" 500000 "$(tr -d '\r' <"$RESP_BODY" | sed -n 's/^data: //p' | jq -r 'select(.result) | .result.content[0].text | length')"
check "hub log: nothing dropped of alice's" bash -c '! grep -q "client '\''alice'\'': its sessions" "$1"' _ "$T/hub.log"

req GET /metrics -H "Authorization: Bearer $KA"
check_code "/metrics (alice's key has every scope)" 200
check "mcp_proxy_limited_total{client=frank,limit=max_buffer_mib} 1" \
        grep -qx 'mcp_proxy_limited_total{client="frank",limit="max_buffer_mib"} 1' "$RESP_BODY"
check "... not counted as a request" bash -c '! grep "^mcp_proxy_requests_total" "$1" | grep -q "method=\"buffer\""' _ "$RESP_BODY"

# a reload raises frank's budget: kept again
echo '{"frank": {"max_buffer_mib": 8}}' >"$T/users.json"
kill -HUP "$HUB_PID"
reloaded() { grep -q "reloaded" "$T/hub.log"; }
check "reload with frank's budget at 8 MiB" wait_for 10 reloaded
KEY=$KF
SESSION=$SF
FS2=()
for i in 1 2 3; do FS2+=("$(big frank 400000)"); done
kept=0
for s in "${FS2[@]}"; do
        replay "$s"
        kept=$((kept + $(xs_in "$RESP_BODY")))
done
check_eq "after it, his next three answers are all kept" 3 "$kept"

check_no_keys_in_logs "$KA" "$KF"
