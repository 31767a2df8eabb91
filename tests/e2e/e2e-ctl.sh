#!/usr/bin/env bash
# mcp-proxyctl, the admin CLI (issue 14), against a running hub with real upstreams (the
# fixture, shared, and server-everything with one instance per client): every verb, human
# and --json, its failures with exit codes and one-line messages, the control socket's
# peer check, colour only on a terminal, and keys made and revoked while everything runs.
source "$(dirname "$0")/lib.sh"
CTL_BIN=$BUILD/mcp-proxyctl
require_binaries "$FIXTURE" "$CTL_BIN"
export CURL_MAX_TIME=20
[[ -x $EVERYTHING ]] || { fail "server-everything installed" "$EVERYTHING missing"; exit 1; }

# The control socket in a directory anyone may enter, so that the peer check (not the
# file system) is what refuses another user.
CTLDIR=$(mktemp -d /tmp/mcp-e2e-ctl.XXXXXX)
chmod 755 "$CTLDIR"
export MCP_CONTROL_SOCKET=$CTLDIR/control.sock
KEYS=$T/keys.json
printf '{"%s": {"client_id": "%s"}}\n' "$KEY" "$KEY_CLIENT" >"$KEYS"
chmod 640 "$KEYS"
CONFIG1=$(config_of fx "$(srv_fixture fx | jq -c '.isolation = "shared"')" \
        ev "$(srv_everything | jq -c '.isolation = "client"')")
write_config "$CONFIG1"
mkdir -m 700 "$T/state"
start_hub STATE_DIRECTORY="$T/state" MCP_CONTROL_SOCKET="$MCP_CONTROL_SOCKET" || exit 1
start_front "MCP_API_KEYS_PATH=$KEYS" || exit 1
for s in fx ev; do check "upstream $s becomes ready" wait_upstream "$s" ready 60; done

# ctl ARGS...: runs mcp-proxyctl; OUT, ERR, RC
ctl() {
        "$CTL_BIN" "$@" >"$T/ctl.out" 2>"$T/ctl.err"
        RC=$?
        OUT=$(cat "$T/ctl.out")
        ERR=$(cat "$T/ctl.err")
}
# one line on stderr, starting "mcp-proxyctl: " (and saying PATTERN)
one_line_error() { [[ $(wc -l <<<"$ERR") == 1 && $ERR == "mcp-proxyctl: "* ]]; }
err_says() { one_line_error && grep -qE -- "$1" <<<"$ERR"; }

# ---- status, servers ----
ctl status
check_eq "status: exit 0" 0 "$RC"
check "status: the hub, its config and both servers ready" bash -c \
        'grep -q "^mcp-proxy-hub " <<<"$1" && grep -q "config: *$2" <<<"$1" && grep -qE "^fx +stdio +shared +ready" <<<"$1" && grep -qE "^ev +stdio +client +ready" <<<"$1"' \
        _ "$OUT" "$T/config.json"
check "status through a pipe: no colour" bash -c '! grep -q $'"'"'\033'"'"' <<<"$1"' _ "$OUT"
ctl status --json
check_jq "status --json: the pid, two servers, counters" \
        ".pid == $HUB_PID and (.upstreams | length) == 2 and (.sessions | type) == \"number\" and .ok == null" "$OUT"
TTY_OUT=$(script -qec "$CTL_BIN status" /dev/null 2>&1)
check "status on a terminal: colour" grep -q $'\033\\[32mready' <<<"$TTY_OUT"
TTY_OUT=$(NO_COLOR=1 script -qec "$CTL_BIN status" /dev/null 2>&1)
check "status on a terminal with NO_COLOR: none" bash -c '! grep -q $'"'"'\033'"'"' <<<"$1"' _ "$TTY_OUT"
ctl servers --json
check_jq "servers --json: fx and ev with their states" \
        '[.[] | {(.name): .state}] | add == {"fx": "ready", "ev": "ready"}' "$OUT"
ctl servers
check "servers: a table with a header" grep -qE '^SERVER +TRANSPORT +ISOLATION +STATE +PID' <<<"$OUT"

# ---- a client session: instances, sessions, kill ----
mcp_initialize || fail "initialize" "HTTP $INIT_CODE" "$INIT_BODY"
S=$SESSION
mcp_call "$S" ev_echo '{"message":"x"}'
ctl instances --json
check_jq "instances --json: the client's instance of ev" \
        'any(.[]; .server == "ev" and .client == "e2e-client" and .state == "ready" and (.pid | type) == "number")' "$OUT"
ctl instances ev
check "instances ev: a table row for e2e-client" grep -qE '^ev +[0-9]+ +e2e-client ' <<<"$OUT"
ctl instances nosuch
check_eq "instances nosuch: exit 1" 1 "$RC"
check "... with one line naming it" err_says "no server .nosuch."
ctl sessions --json
check_jq "sessions --json: the session, its client and protocol" \
        "any(.[]; .id == \"$S\" and .client == \"e2e-client\" and .protocol == \"2025-11-25\" and .client_name == \"e2e-curl\")" "$OUT"
ctl sessions --client somebody-else --json
check_jq "sessions --client other: none" 'length == 0' "$OUT"
ctl sessions
check "sessions: the id's first 16 characters in a table" grep -qE "^${S:0:16} +e2e-client +2025-11-25" <<<"$OUT"
ctl sessions kill deadbeefdead
check_eq "sessions kill of an unknown id: exit 1" 1 "$RC"
check "... one line: no session" err_says "no session"
ctl sessions kill "${S:0:12}"
check_eq "sessions kill by a 12-character prefix: exit 0" 0 "$RC"
mcp_call "$S" fx_echo '{"message":"x"}'
check_code "the killed session is gone for its client (404)" 404
ctl sessions kill abc
check_eq "sessions kill with 3 characters: exit 1" 1 "$RC"

# ---- tools, call ----
ctl tools --json
check_jq "tools --json: fx_echo from fx, ev_echo from ev" \
        'any(.[]; .name == "fx_echo" and .server == "fx") and any(.[]; .name == "ev_echo" and .server == "ev")' "$OUT"
ctl tools
check "tools: a table" grep -qE '^fx_echo +fx +' <<<"$OUT"
ctl call fx_echo '{"message":"from ctl"}'
check_eq "call fx_echo: exit 0" 0 "$RC"
check_eq "call fx_echo: the text" "Echo: from ctl" "$OUT"
ctl call --json --client alice ev_echo '{"message":"json"}'
check_jq "call --json --client alice: the JSON-RPC response" '.result.content[0].text == "Echo: json"' "$OUT"
# (the hub log, not `instances`: call ends its session at once, and with it alice's only
# instance, which may be gone before a listing; that once failed a CI run)
check "the hub ran it as client alice (its own instance)" \
        grep -q "upstream 'ev\[alice\]': starting an instance for client 'alice'" "$T/hub.log"
ctl call fx_error
check_eq "call of a tool that answers a JSON-RPC error: exit 1" 1 "$RC"
check "... one line with the error" one_line_error
ctl call fx_fail
check_eq "call of a tool that returns isError: exit 1" 1 "$RC"
ctl call nosuch_tool
check_eq "call of an unknown tool: exit 1" 1 "$RC"
check "... one line: unknown tool" err_says "[Uu]nknown tool"
ctl call fx_echo 'not json'
check_eq "call with arguments that are not JSON: exit 2 (usage)" 2 "$RC"

# ---- restart, reload ----
FX_PID=$(upstream_field fx .pid)
ctl restart fx
check_eq "restart fx: exit 0" 0 "$RC"
fx_new() { [[ $(upstream_field fx .state) == ready && $(upstream_field fx .pid) != "$FX_PID" ]]; }
check "fx comes back with a new pid" wait_for 20 fx_new
ctl restart nosuch
check_eq "restart nosuch: exit 1" 1 "$RC"
check "... one line: no server" err_says "no server"
write_config "$(jq -c --argjson s "$(srv_fixture fx2 | jq -c '.isolation = "shared"')" '.mcpServers.fx2 = $s' <<<"$CONFIG1")"
ctl reload
check_eq "reload after adding fx2: exit 0" 0 "$RC"
check "fx2 becomes ready" wait_upstream fx2 ready 20
printf '{"mcpServers": {"fx": {"command": 3}}}\n' >"$T/config.json"
ctl reload
check_eq "reload of an invalid config: exit 1" 1 "$RC"
check "... one line with the file and JSON path" err_says "config\.json.*mcpServers\.fx\.command"
ctl status --json
check_jq "status: the failed reload, the old config still serving" \
        '.reload.ok == false and any(.upstreams[]; .name == "fx2" and .state == "ready")' "$OUT"
write_config "$CONFIG1"

# ---- check-config ----
ctl check-config "$T/config.json"
check_eq "check-config of a valid file: exit 0" 0 "$RC"
check_contains "... says valid, 2 servers" "$OUT" "valid, 2 server(s)"
printf '{"mcpServers": {"a": {"command": "x", "args": [{"b": 1}]}}}\n' >"$T/bad.json"
ctl check-config "$T/bad.json"
check_eq "check-config of an invalid file: exit 1" 1 "$RC"
check "... one line with the file and JSON path" err_says "bad\.json.*mcpServers\.a\.args\[0\]"
printf '{"mcpServers": {\n  "a": {"command": "x",}\n}}\n' >"$T/syntax.json"
ctl check-config "$T/syntax.json"
check_eq "check-config of a syntax error: exit 1" 1 "$RC"
check "... one line with the line" err_says "syntax\.json.*line 2"
ctl check-config --json "$T/bad.json"
check_jq "check-config --json: valid false with the error" '.valid == false and (.error | test("args"))' "$OUT"
ctl check-config --keys "$KEYS" "$T/config.json"
check_contains "check-config --keys: the key file too" "$OUT" "valid, 1 key(s)"
echo '[1' >"$T/badkeys.json"
ctl check-config --keys "$T/badkeys.json" "$T/config.json"
check_eq "check-config with a broken key file: exit 1" 1 "$RC"
printf '{"*": {"max_sessions": 4}, "alice": {"allowed_tools": ["fs_*"]}, "bob": {}}\n' >"$T/users.json"
ctl check-config --users "$T/users.json" "$T/config.json"
check_eq "check-config --users: exit 0" 0 "$RC"
check_contains "... the users file too, its clients counted without \"*\"" "$OUT" "users.json: valid, 2 client(s)"
printf '{"alice": {"requests_per_minute": -5}}\n' >"$T/badusers.json"
MCP_USERS_PATH=$T/badusers.json ctl check-config "$T/config.json"
check_eq "check-config with MCP_USERS_PATH naming an invalid users file: exit 1" 1 "$RC"
check "... one line with the file and JSON path" err_says "badusers\.json: \\$\.alice\.requests_per_minute: expected a whole number"
printf '{\n  "alice": {"allowed_tools": ["x",]}\n}\n' >"$T/syntaxusers.json"
ctl check-config --users "$T/syntaxusers.json" "$T/config.json"
check_eq "check-config --users with a syntax error: exit 1" 1 "$RC"
check "... one line with the line and column" err_says "syntaxusers\.json: line 2, column [0-9]+: invalid JSON"
ctl check-config --json --users "$T/badusers.json" "$T/config.json"
check_jq "check-config --json: the users file's error" \
        '.valid == false and .servers == 2 and (.users_error | test("requests_per_minute"))' "$OUT"
printf '{"alice": {"colour": "red"}}\n' >"$T/warnusers.json"
ctl check-config --users "$T/warnusers.json" "$T/config.json"
check "check-config: an unknown field is a warning naming the client and field, exit 0" \
        bash -c '[[ $1 == 0 ]] && grep -qF "warning: $2: \$.alice.colour: unknown field, ignoring" <<<"$3"' \
        _ "$RC" "$T/warnusers.json" "$ERR"

# ---- keys, while everything runs ----
ctl key new alice --keys "$KEYS"
check_eq "key new alice: exit 0" 0 "$RC"
NEWKEY=$OUT
check "the key is printed once, on stdout: mcp_ and 43 characters" grep -qE '^mcp_[A-Za-z0-9_-]{43}$' <<<"$NEWKEY"
check "the file holds its hash, not the key" bash -c 'grep -q "\"sha256:$(printf %s "$1" | sha256sum | cut -c1-64)\"" "$2" && ! grep -qF -- "$1" "$2"' _ "$NEWKEY" "$KEYS"
check_eq "the file keeps its mode" 640 "$(stat -c %a "$KEYS")"
KEY=$NEWKEY mcp_initialize
check_eq "a client with the new key is served (no restart)" 200 "$INIT_CODE"
ctl key list --keys "$KEYS" --json
check_jq "key list --json: alice hashed, e2e-client plain" \
        'any(.[]; .client_id == "alice" and .hashed == true) and any(.[]; .client_id == "e2e-client" and .hashed == false)' "$OUT"
check "key list shows no key" bash -c '! grep -qF -- "$1" <<<"$2" && ! grep -qF -- "$3" <<<"$2"' _ "$NEWKEY" "$OUT" "$KEY"
ctl key list --keys "$KEYS"
check "key list: a table" grep -qE '^CLIENT +ID +STORED +SCOPES +EXPIRES' <<<"$OUT"
ctl key new bob --keys "$KEYS" --expires +1d --scopes metrics,tools
ctl key list --keys "$KEYS" --json
check_jq "key new --expires +1d --scopes: stored" \
        "any(.[]; .client_id == \"bob\" and .scopes == [\"metrics\",\"tools\"] and .expires_at > $(date +%s) + 86000)" "$OUT"
ctl key new carol --keys "$KEYS" --expires 2001-01-01
check_eq "key new with an expiry in the past: exit 2" 2 "$RC"
ctl key revoke alice --keys "$KEYS"
check_eq "key revoke alice: exit 0" 0 "$RC"
KEY=$NEWKEY mcp_initialize
check_eq "the revoked key gets 401 at once (no restart)" 401 "$INIT_CODE"
BOBID=$("$CTL_BIN" key list --keys "$KEYS" --json | jq -r '.[] | select(.client_id == "bob") | .id')
ctl key revoke "${BOBID:0:8}" --keys "$KEYS"
check_eq "key revoke by an 8-digit id prefix: exit 0" 0 "$RC"
ctl key revoke nobody --keys "$KEYS"
check_eq "key revoke of nothing: exit 1" 1 "$RC"
check "... one line" one_line_error

# ---- who may use the control socket ----
if command -v setpriv >/dev/null && ((EUID == 0)); then
        setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL_BIN" status >"$T/ctl.out" 2>"$T/ctl.err"
        RC=$?
        ERR=$(cat "$T/ctl.err")
        check_eq "another user (nobody) is refused: exit 1" 1 "$RC"
        check "... one line saying who may" err_says "mcp-proxy-admin"
        check "hub log: refused, not root nor in the admin group" grep -q "not root nor in the admin group" "$T/hub.log"
fi

# ---- bash completion (config/mcp-proxyctl.bash), with the running hub ----
complete_words() { # WORD... (the last one being completed): prints COMPREPLY
        bash -c 'PATH=$1:$PATH; source "$2"; shift 2; COMP_WORDS=(mcp-proxyctl "$@"); COMP_CWORD=$#
                _mcp_proxyctl; printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$(dirname "$CTL_BIN")" \
                "$E2E_ROOT/config/mcp-proxyctl.bash" "$@"
}
check_eq "completion: commands" "reload restart" "$(complete_words re | xargs)"
check_eq "completion: restart offers the running servers" "$("$CTL_BIN" servers --json | jq -r '.[].name' | sort | xargs)" \
        "$(complete_words restart '' | xargs)"
check_eq "completion: key offers its verbs" "list new revoke" "$(complete_words key '' | xargs)"
check "completion: --client offers client ids from the key file" \
        grep -qx e2e-client <<<"$(MCP_API_KEYS_PATH=$KEYS complete_words sessions --client '')"
check "completion: call offers tools" grep -qx fx_echo <<<"$(complete_words call fx_)"

# ---- usage and a hub that is down ----
ctl
check_eq "no command: exit 2" 2 "$RC"
ctl status --bogus
check_eq "an unknown option: exit 2" 2 "$RC"
ctl restart
check_eq "restart without a server: exit 2" 2 "$RC"
ctl --help
check "--help lists the commands" bash -c 'grep -q "^Commands:" <<<"$1" && grep -q "  key revoke" <<<"$1"' _ "$OUT"
stop_hub 10
ctl status
check_eq "the hub down: status exits 1" 1 "$RC"
check "... one line: cannot reach mcp-proxy-hub" err_says "cannot reach mcp-proxy-hub"
check "the control socket is removed at exit" test ! -e "$MCP_CONTROL_SOCKET"
rmdir "$CTLDIR"
check_no_keys_in_logs "$KEY" "$NEWKEY"
