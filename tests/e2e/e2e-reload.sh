#!/usr/bin/env bash
# Reload by diff on SIGHUP, without systemd (issue 13): servers whose name and configuration
# are unchanged keep their process, their instances and the client's session; a changed one
# restarts; a removed one stops, its call in flight getting an error; a new one starts and
# its tools appear; an invalid configuration changes nothing and says why in /health and the
# log.
source "$(dirname "$0")/lib.sh"
require_binaries "$FIXTURE"
export CURL_MAX_TIME=20

shared() { srv_fixture "$@" | jq -c '.isolation = "shared"'; }
write_config "$(config_of \
        keep "$(shared keep)" \
        keepc "$(srv_fixture keepc)" \
        change "$(shared change)" \
        drop "$(shared drop)")"
start_hub || exit 1
start_front || exit 1
for s in keep keepc change drop; do
        check "upstream $s becomes ready" wait_upstream "$s" ready 20
done
mcp_initialize || fail "initialize" "HTTP $INIT_CODE" "$INIT_BODY"
S=$SESSION
mcp_call "$S" keepc_echo '{"message":"before"}'
check_jq "keepc (client isolation) answers before the reload" '.result.content[0].text == "Echo: before"'
KEEP_PID=$(upstream_field keep .pid)
KEEPC_PID=$(upstream_field keepc '.instances[0].pid')
CHANGE_PID=$(upstream_field change .pid)
DROP_PID=$(upstream_field drop .pid)
check "pids known: keep $KEEP_PID, keepc's instance $KEEPC_PID, change $CHANGE_PID, drop $DROP_PID" \
        test -n "$KEEP_PID" -a -n "$KEEPC_PID" -a -n "$CHANGE_PID" -a -n "$DROP_PID"

# a call in flight on drop when it is removed
(
        mcp_call "$S" drop_sleep '{"ms":8000}'
        printf '%s\n' "$BODY" >"$T/drop-call.json"
) &
DROP_CALL=$!
PIDS+=("$DROP_CALL")
sleep 0.5

write_config "$(config_of \
        keep "$(shared keep)" \
        keepc "$(srv_fixture keepc)" \
        change "$(shared change --extra-tool fresh)" \
        add "$(shared add)")"
kill -HUP "$HUB_PID"
check "after SIGHUP: the new server add becomes ready" wait_upstream add ready 20
changed_back() { [[ $(upstream_field change .state) == ready && $(upstream_field change .pid) != "$CHANGE_PID" ]]; }
check "the changed server restarts with a new pid" wait_for 20 changed_back
check_eq "the untouched server keeps its process" "$KEEP_PID" "$(upstream_field keep .pid)"
check_eq "the untouched client-isolated server keeps its instance" "$KEEPC_PID" \
        "$(upstream_field keepc '.instances[0].pid')"
drop_gone() { [[ -z $(upstream_field drop .name) ]] && ! kill -0 "$DROP_PID" 2>/dev/null; }
check "the removed server leaves /health and its process exits" wait_for 10 drop_gone
wait "$DROP_CALL"
check_jq "the call in flight on the removed server gets a JSON-RPC error naming it" \
        '.error.data.server == "drop" or (.error.message | test("\\bdrop\\b"))' "$(cat "$T/drop-call.json")"
check_jq "/health: the reload went well" '.reload.ok == true' "$(health)"

mcp_call "$S" keepc_echo '{"message":"after"}'
check_jq "the same session: keepc answers after the reload" '.result.content[0].text == "Echo: after"'
mcp_call "$S" keep_echo '{"message":"k"}'
check_jq "the same session: keep answers" '.result.content[0].text == "Echo: k"'
mcp_call "$S" add_echo '{"message":"a"}'
check_jq "the same session: the new server answers" '.result.content[0].text == "Echo: a"'
names=$(all_tool_names "$S")
check "tools/list: the new server's tools and the changed server's new tool are there" \
        bash -c 'grep -qx add_echo <<<"$1" && grep -qx change_fresh <<<"$1"' _ "$names"
check "tools/list: none of the removed server's" bash -c '! grep -q "^drop_" <<<"$1"' _ "$names"

# an invalid configuration: nothing changes
printf '{"mcpServers": {"keep": {"command": "%s", "args": [{"x": 1}]}}}\n' "$FIXTURE" >"$T/config.json"
kill -HUP "$HUB_PID"
reload_failed() { [[ $(health | jq -r '.reload.ok') == false ]]; }
check "/health: the invalid reload is reported" wait_for 10 reload_failed
check_jq "/health: with the file and JSON path" \
        '.reload.error | test("config.json") and test("mcpServers.keep.args\\[0\\]")' "$(health)"
check "hub log: reload failed, keeping the running configuration" \
        grep -q "reload failed, keeping the running configuration" "$T/hub.log"
check_eq "keep still runs the same process" "$KEEP_PID" "$(upstream_field keep .pid)"
check_jq "add is still there" '[.upstreams[].name] | index("add") != null' "$(health)"
mcp_call "$S" keep_echo '{"message":"still"}'
check_jq "the session still works" '.result.content[0].text == "Echo: still"'
check "the hub is still running" hub_alive

stop_hub 10
check_eq "hub exits 0 on SIGTERM" 0 "$HUB_RC"

# ---- MCP_LIVE_RELOAD: the hub watches the file itself ----
write_config "$(config_of keep "$(shared keep)")"
start_hub MCP_LIVE_RELOAD=true || exit 1
check "live: keep becomes ready" wait_upstream keep ready 20
KEEP_PID=$(upstream_field keep .pid)
# an editor's atomic save: a new file renamed over the old one
config_of keep "$(shared keep)" late "$(shared late)" >"$T/config.json.new"
mv "$T/config.json.new" "$T/config.json"
check "live: after an atomic save, the new server late becomes ready (no signal)" \
        wait_upstream late ready 20
check_eq "live: keep keeps its process" "$KEEP_PID" "$(upstream_field keep .pid)"
# sed -i, then writes in place in quick succession: the last one wins
sed -i 's/"late"/"later"/' "$T/config.json"
for i in 1 2 3 4 5; do write_config "$(config_of keep "$(shared keep)" "final$i" "$(shared "final$i")")"; done
check "live: after quick edits, the last configuration is served" wait_upstream final5 ready 20
only_final() { [[ $(health | jq -c '[.upstreams[].name] | sort') == '["final5","keep"]' ]]; }
check "live: and nothing else (late, later and final1-4 gone)" wait_for 10 only_final
check_eq "live: keep still keeps its process" "$KEEP_PID" "$(upstream_field keep .pid)"
n=$(grep -c "reloading '" "$T/hub.log")
check "live: the quick edits were debounced (reloads in all: $n, at most 6)" test "$n" -le 6
stop_hub 10
check_eq "hub exits 0 on SIGTERM (live reload on)" 0 "$HUB_RC"
check_no_keys_in_logs "$KEY"
