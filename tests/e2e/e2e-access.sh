#!/usr/bin/env bash
# Who may call what, and how much (issue 15): the users file's access rules through the SDK
# client (tests/e2e/sdk-access.mjs), then limits with curl: requests per minute (429 with
# Retry-After, another client unaffected), calls in flight, sessions per client (never
# another client's), a server's maxConcurrency, a reload of the rules, mcp-proxyctl tools
# --client, and the audit lines of denials and limits.
source "$(dirname "$0")/lib.sh"
require_binaries "$FIXTURE"
export CURL_MAX_TIME=20
[[ -x $EVERYTHING ]] || { fail "server-everything installed" "$EVERYTHING missing"; exit 1; }

declare -A K
for c in alice bob carol dave erin; do K[$c]=e2e-$c-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n'); done
{
        printf '{'
        sep=
        for c in alice bob carol dave erin; do printf '%s"%s": {"client_id": "%s"}' "$sep" "${K[$c]}" "$c"; sep=,; done
        printf '}\n'
} >"$T/keys.json"
cat >"$T/users.json" <<'EOF'
{
  "*":     {"allowed_tools": ["fx_*"]},
  "alice": {"name": "Alice", "allowed_tools": ["*"]},
  "bob":   {"allowed_tools": ["ev_echo", "fx_e*"], "denied_tools": ["fx_error"]},
  "carol": {"denied_servers": ["ev"]},
  "dave":  {"requests_per_minute": 30, "concurrent_calls": 2, "max_sessions": 2}
}
EOF
write_config "$(config_of \
        ev "$(srv_everything | jq -c '.isolation = "shared"')" \
        fx "$(srv_fixture fx | jq -c '.isolation = "shared"')" \
        slow "$(srv_fixture slow | jq -c '.isolation = "shared" | .maxConcurrency = 1')")"
start_hub MCP_USERS_PATH="$T/users.json" || exit 1
start_front "MCP_API_KEYS_PATH=$T/keys.json" || exit 1
KEY=${K[alice]}
for s in ev fx slow; do check "upstream $s becomes ready" wait_upstream "$s" ready 60; done

# ---- access rules, through the SDK ----
E2E_HUB_PID=$HUB_PID E2E_USERS_PATH=$T/users.json relay_checks node tests/e2e/sdk-access.mjs "$URL/mcp" "${K[alice]}" "${K[bob]}" "${K[carol]}" "${K[erin]}"
check "hub log: the denials are audited" grep -q "audit: record=denied client=bob .*name=fx_error .*outcome=denied" "$T/hub.log"

# ---- requests per minute: a burst gets 429 with Retry-After; alice is not slowed ----
KEY=${K[dave]} mcp_initialize || fail "dave initializes" "$INIT_CODE"
D1=$SESSION
codes=()
for i in $(seq 40); do
        KEY=${K[dave]} mcp_post "$D1" "{\"jsonrpc\":\"2.0\",\"id\":$i,\"method\":\"ping\"}"
        codes+=("$CODE")
        [[ $CODE == 429 ]] && RA=$(header Retry-After) && LIMITED_BODY=$BODY
done
n429=$(printf '%s\n' "${codes[@]}" | grep -c '^429$')
n200=$(printf '%s\n' "${codes[@]}" | grep -c '^200$')
echo "    (dave's 40 pings at 30 a minute: $n200 answered, $n429 refused)"
check "a burst over requests_per_minute gets 429 (some of 40 at 30 a minute)" test "$n429" -ge 5
check "... after the bucket's 30 (or fewer, it was used by initialize) went through" test "$n200" -ge 25 -a "$n200" -le 30
check "... with Retry-After in seconds" grep -qE '^[0-9]+$' <<<"${RA:-}"
check_jq "... and a JSON-RPC error for the request, naming the limit" \
        '.error.code == -32004 and .error.data.limit == "requests_per_minute" and (.id | type) == "number"' "${LIMITED_BODY:-{\}}"
mcp_initialize && A=$SESSION
t0=$(now_ms)
ok=0
for i in $(seq 20); do mcp_post "$A" "{\"jsonrpc\":\"2.0\",\"id\":$i,\"method\":\"ping\"}"; [[ $CODE == 200 ]] && ok=$((ok + 1)); done
check_eq "meanwhile alice's 20 pings all answered" 20 "$ok"
echo "    (alice's 20 pings took $(($(now_ms) - t0)) ms)"
check "hub log: the limit is audited" grep -q "audit: record=limited client=dave .*detail=requests_per_minute" "$T/hub.log"

# ---- sessions per client: dave's cap costs only dave ----
sleep 4 # a few tokens back for dave
mcp_initialize && A2=$SESSION
KEY=${K[dave]} mcp_initialize && D2=$SESSION
KEY=${K[dave]} mcp_initialize && D3=$SESSION
check "dave's third session opens (his own oldest unused one makes room)" test -n "$D3"
KEY=${K[dave]} mcp_post "$D1" '{"jsonrpc":"2.0","id":1,"method":"ping"}'
check_code "dave's first session was the one ended (404)" 404
mcp_post "$A" '{"jsonrpc":"2.0","id":1,"method":"ping"}'
check_code "alice's sessions are untouched" 200
mcp_post "$A2" '{"jsonrpc":"2.0","id":1,"method":"ping"}'
check_code "... both of them" 200

# ---- calls in flight: dave may have 2 ----
sleep 3
jobs_=()
for i in 1 2 3; do
        (KEY=${K[dave]} mcp_call "$D3" fx_sleep '{"ms":1500}'; echo "$CODE" >"$T/conc.$i") &
        jobs_+=($!)
done
wait "${jobs_[@]}"
codes=$(cat "$T"/conc.{1,2,3} | sort | xargs)
check_eq "three calls at once with concurrent_calls 2: two answered, one 429" "200 200 429" "$codes"

# ---- a server's maxConcurrency: the second call waits its turn ----
t0=$(now_ms)
jobs_=()
for i in 1 2; do
        (mcp_call "$A" slow_sleep '{"ms":1000}'; printf '%s %s\n' "$CODE" "$BODY" >"$T/slow.$i") &
        jobs_+=($!)
done
wait "${jobs_[@]}"
dt=$(($(now_ms) - t0))
check "maxConcurrency 1: two calls of 1 s both answered" bash -c 'grep -q "^200 .*Slept 1000 ms" "$1" && grep -q "^200 .*Slept 1000 ms" "$2"' _ "$T/slow.1" "$T/slow.2"
check "... one after the other ($dt ms, at least 2000)" test "$dt" -ge 1950

# ---- mcp-proxyctl tools --client, and a reload of the rules ----
check_eq "mcp-proxyctl tools --client bob: what bob sees" "ev_echo fx_echo fx_env" \
        "$("$BUILD/mcp-proxyctl" tools --client bob --json | jq -r '.[].name' | sort | xargs)"
KEY=${K[erin]} mcp_initialize && E=$SESSION
KEY=${K[erin]} mcp_call "$E" ev_echo '{"message":"x"}'
check_jq "erin may not call ev_echo yet" '.error.code == -32003'
jq -c '.erin = {"allowed_tools": ["ev_echo", "fx_*"]}' "$T/users.json" >"$T/users.json.new" && mv "$T/users.json.new" "$T/users.json"
kill -HUP "$HUB_PID"
erin_may() { KEY=${K[erin]} mcp_call "$E" ev_echo '{"message":"now"}'; [[ $(jq -r '.result.content[0].text // empty' <<<"$BODY") == *now* ]]; }
check "after SIGHUP with erin's new rule, the same session may call ev_echo" wait_for 10 erin_may
echo '{"erin": {"allowed_tools": "not a list"}}' >"$T/users.json"
kill -HUP "$HUB_PID"
bad_reload() { [[ $(health | jq -r '.reload.ok') == false ]]; }
check "an invalid users file: the reload fails (/health)" wait_for 10 bad_reload
check_jq "... naming the file and the JSON path" '.reload.error | test("users.json") and test("erin")' "$(health)"
KEY=${K[erin]} mcp_call "$E" ev_echo '{"message":"still"}'
check_jq "... and the rules in force stay" '.result.content[0].text | test("still")'
check_no_keys_in_logs "${K[@]}"
