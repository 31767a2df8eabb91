#!/usr/bin/env bash
# More than one host behind HAProxy (issue 18): two hub + front pairs, "a" and "b", with
# their own ports, sockets, state directories and stdio servers, and one session key file
# between them (MCP_SESSION_KEY_FILE), behind a HAProxy this test starts: round robin, no
# stickiness, each request to the next host. A session made on one host is taken back
# from its sealed id by the other, whose hub starts its own instance of the server for
# it. The curl client and the real SDK client make their calls, answered by both hosts in
# turn; then host "a" goes away (hub, front and its connections killed) in the middle of
# the sessions, and the next calls are answered by "b" alone. A second HAProxy with the
# sticky backend of mcp-proxy-units(7) keeps a session on the host that answered its
# initialize, and moves it to "b" when "a" goes away.
# The fixture's env tool answers HOSTLABEL, which each host's config sets to its name.
source "$(dirname "$0")/lib.sh"
require_binaries "$FIXTURE"
command -v haproxy >/dev/null || skip_all "needs haproxy (apt-get install haproxy; .ci/deps.sh test)"
export CURL_MAX_TIME=20

od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$T/session-key"
chmod 600 "$T/session-key"

# host NAME: its directory, config and hub
declare -A HUBPID FRONTPID FRONTPORT
start_host() {
        local n=$1 d=$T/$1
        mkdir -p "$d/state"
        chmod 700 "$d/state"
        printf '{"mcpServers": {"fx": %s}}\n' "$(srv_fixture fx | jq -c --arg n "$n" \
                '.env.HOSTLABEL = $n')" >"$d/config.json"
        env E2E_MARK="$MARK" MCP_HUB_SOCKET="$d/hub.sock" MCP_CONFIG_PATH="$d/config.json" \
                MCP_CONTROL_SOCKET="$d/control.sock" STATE_DIRECTORY="$d/state" \
                MCP_SESSION_KEY_FILE="$T/session-key" MCP_LOG_LEVEL=debug \
                "$HUB_BIN" >>"$T/hub-$n.log" 2>&1 &
        HUBPID[$n]=$!
        PIDS+=("${HUBPID[$n]}")
        wait_for 15 test -S "$d/hub.sock" || { fail "hub $n binds its socket" "$(tail -n 20 "$T/hub-$n.log")"; return 1; }
        local try p
        for ((try = 0; try < 5; try++)); do
                p=$(pick_port) || break
                systemd-socket-activate --accept -l "127.0.0.1:$p" -E "E2E_MARK=$MARK" \
                        -E "MCP_HUB_SOCKET=$d/hub.sock" -E "MCP_API_KEYS=$KEY:$KEY_CLIENT" \
                        -E MCP_LOG_LEVEL=debug -E ASAN_OPTIONS -E UBSAN_OPTIONS \
                        "$FRONT_BIN" >>"$T/front-$n.log" 2>&1 &
                FRONTPID[$n]=$!
                if wait_for 5 port_listening "$p"; then
                        FRONTPORT[$n]=$p
                        PIDS+=("${FRONTPID[$n]}")
                        return 0
                fi
                stop_pid "${FRONTPID[$n]}" 1
        done
        fail "front $n listens" "$(tail -n 20 "$T/front-$n.log")"
        return 1
}
not_listening() { ! port_listening "$1"; }
start_host a || exit 1
start_host b || exit 1
for n in a b; do
        URL=http://127.0.0.1:${FRONTPORT[$n]}
        check "host $n: fx becomes ready" wait_upstream fx ready 30
done

# ---- HAProxy: the configuration of mcp-proxy-units(7), "Several hosts", on loopback ----
HP=$(pick_port)
cat >"$T/haproxy.cfg" <<EOF
global
    log stdout format raw local0 info

defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout http-keep-alive 10s
    retries 2
    option redispatch 1
    retry-on conn-failure

frontend mcp
    bind 127.0.0.1:$HP
    default_backend mcp_hosts

backend mcp_hosts
    balance roundrobin
    option httpchk GET /health
    http-check expect status 200
    server a 127.0.0.1:${FRONTPORT[a]} check inter 1s fall 2 rise 2
    server b 127.0.0.1:${FRONTPORT[b]} check inter 1s fall 2 rise 2
EOF
check "haproxy -c accepts the configuration" haproxy -c -q -f "$T/haproxy.cfg"
env E2E_MARK="$MARK" haproxy -db -f "$T/haproxy.cfg" >"$T/haproxy.log" 2>&1 &
HAPROXY=$!
PIDS+=("$HAPROXY")
check "haproxy listens" wait_for 10 port_listening "$HP"
URL=http://127.0.0.1:$HP

# ---- a curl client: initialize on one host, calls answered by both ----
mcp_initialize || fail "initialize through haproxy" "HTTP $INIT_CODE" "$INIT_BODY"
S=$SESSION
labels=()
bad=0
for i in $(seq 8); do
        mcp_call "$S" env '{"name":"HOSTLABEL"}'
        l=$(jq -r '.result.content[0].text // empty' <<<"$BODY")
        [[ $l == a || $l == b ]] || { bad=$((bad + 1)); printf '    | call %d: HTTP %s %s\n' "$i" "$CODE" "${BODY:0:200}"; }
        labels+=("$l")
done
printf '    | INFO curl, 8 calls after initialize, answered by: %s\n' "${labels[*]}"
check_eq "8 calls on one session through round robin: every one answered" 0 "$bad"
check "both hosts answered some of them" bash -c '[[ " $1 " == *" a "* && " $1 " == *" b "* ]]' _ "${labels[*]}"
check "one hub took back the session it did not make, from its sealed id" \
        grep -q "session ${S:0:8}\.\.\. .*taken back from its sealed id" "$T/hub-a.log" "$T/hub-b.log"
for n in a b; do
        check "host $n started its own fx instance for the client" \
                grep -q "fx\[$KEY_CLIENT\]': starting an instance for client '$KEY_CLIENT'" "$T/hub-$n.log"
done

# ---- the sticky backend of mcp-proxy-units(7): a session stays on the host that made it ----
HS=$(pick_port)
sed -e "s/^    bind .*/    bind 127.0.0.1:$HS/" -e '/^    balance roundrobin$/a\
    stick-table type string len 64 size 100k expire 25h\
    stick on req.hdr(Mcp-Session-Id)\
    stick store-response res.hdr(Mcp-Session-Id)' "$T/haproxy.cfg" >"$T/haproxy-sticky.cfg"
check "haproxy -c accepts the sticky configuration" haproxy -c -q -f "$T/haproxy-sticky.cfg"
env E2E_MARK="$MARK" haproxy -db -f "$T/haproxy-sticky.cfg" >"$T/haproxy-sticky.log" 2>&1 &
PIDS+=($!)
check "the sticky haproxy listens" wait_for 10 port_listening "$HS"
URL=http://127.0.0.1:$HS
mcp_initialize || fail "initialize through the sticky haproxy" "HTTP $INIT_CODE" "$INIT_BODY"
SS=$SESSION
sticky=()
for i in $(seq 6); do
        mcp_call "$SS" env '{"name":"HOSTLABEL"}'
        sticky+=("$(jq -r '.result.content[0].text // empty' <<<"$BODY")")
done
printf '    | INFO sticky: 6 calls answered by: %s\n' "${sticky[*]}"
check "sticky: the 6 calls all answered by one host" \
        bash -c '[[ $1 == "a a a a a a" || $1 == "b b b b b b" ]]' _ "${sticky[*]}"
URL=http://127.0.0.1:$HP

# ---- the SDK client, and host "a" goes away in the middle ----
GO=$T/go
node "$E2E_ROOT/tests/e2e/sdk-hosts.mjs" "$URL/mcp" "$KEY" 12 6 "$GO" >"$T/sdk.out" 2>&1 &
NODE=$!
PIDS+=("$NODE")
if check "the SDK client made its first 6 calls" wait_for 60 grep -q '^AT 6' "$T/sdk.out"; then
        # the whole host: its hub, its front listener and every front process it started
        fronts=$(pgrep -P "${FRONTPID[a]}" | tr '\n' ' ')
        kill -KILL "${HUBPID[a]}" "${FRONTPID[a]}" $fronts 2>/dev/null
        wait "${HUBPID[a]}" "${FRONTPID[a]}" 2>/dev/null
        printf '    | INFO host a killed: hub %s, front listener %s, fronts [%s]\n' \
                "${HUBPID[a]}" "${FRONTPID[a]}" "${fronts% }"
        check "host a no longer listens" not_listening "${FRONTPORT[a]}"
        mcp_call "$S" env '{"name":"HOSTLABEL"}'
        check_eq "the curl session's next call is answered, by host b" b \
                "$(jq -r '.result.content[0].text // empty' <<<"$BODY")"
        touch "$GO"
fi
wait "$NODE"
relay_checks cat "$T/sdk.out"
after=()
for i in $(seq 4); do
        mcp_call "$S" env '{"name":"HOSTLABEL"}'
        after+=("$(jq -r '.result.content[0].text // empty' <<<"$BODY")")
done
check_eq "4 more curl calls, all answered by host b" "b b b b" "${after[*]}"
URL=http://127.0.0.1:$HS
mcp_call "$SS" env '{"name":"HOSTLABEL"}'
check_eq "sticky: the session's next call is answered, by host b" b "$(jq -r '.result.content[0].text // empty' <<<"$BODY")"
URL=http://127.0.0.1:$HP
check "haproxy's health check marked host a down" wait_for 15 grep -q "Server mcp_hosts/a is DOWN" "$T/haproxy.log"
sed -n 's/^.*\(Server mcp_hosts\/a is DOWN[^.]*\).*/    | INFO haproxy: \1/p' "$T/haproxy.log" | head -n 1
req DELETE /mcp -H "$(auth_h)" -H "Mcp-Session-Id: $S"
check_code "the session ends with DELETE, on host b" 200
check_no_keys_in_logs "$KEY"
