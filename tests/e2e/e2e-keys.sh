#!/usr/bin/env bash
# The key file follows its changes (issues 14, 15): on ONE kept-alive
# connection a key removed from MCP_API_KEYS_PATH (the file replaced with mv)
# is refused at the next request and a key added is accepted; a file that
# becomes invalid accepts none of its keys (MCP_API_KEYS still does) and is
# logged once; "sha256:<hex>" entries authenticate the key whose digest they
# are; in --listen mode new connections see the changes without a restart.
source "$(dirname "$0")/lib.sh"
require_binaries "$FIXTURE"
export CURL_MAX_TIME=15
export LC_ALL=C # read -N counts bytes
trap "" PIPE   # a closed connection fails a write instead of ending the script

newkey() { printf 'e2e-%s-%s' "$1" "$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"; }
K1=$(newkey k1) K2=$(newkey k2) K3=$(newkey k3) K4=$(newkey k4) K5=$(newkey k5) K6=$(newkey k6)
digest() { printf %s "$1" | sha256sum | cut -d' ' -f1; }

# write_keys KEY=CLIENT...: replaces $T/keys.json atomically (a new file, then mv
# over the old one); a KEY starting with "#" is written as its sha256: digest.
write_keys() {
        local kv k json='{}'
        for kv in "$@"; do
                k=${kv%%=*}
                [[ $k == "#"* ]] && k=sha256:$(digest "${k#\#}")
                json=$(jq -c --arg k "$k" --arg c "${kv#*=}" '.[$k] = {client_id: $c}' <<<"$json")
        done
        printf '%s\n' "$json" >"$T/keys.json.new"
        chmod 600 "$T/keys.json.new"
        mv -f "$T/keys.json.new" "$T/keys.json"
}

INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}'

# conn_open / conn_close: one TCP connection to $PORT on fd $CONN.
conn_open() { exec {CONN}<>"/dev/tcp/127.0.0.1/$PORT"; }
conn_close() { exec {CONN}>&-; }

# conn_read: one response from the open connection; sets CODE, BODY and
# CONN_CLOSE=1 when it says Connection: close. CODE is empty when no complete
# answer came.
conn_read() {
        local line len= name
        CODE= BODY= CONN_CLOSE=0
        IFS= read -r -t 10 line <&"$CONN" || return 1
        [[ $line =~ ^HTTP/1\.1\ ([0-9]{3}) ]] || return 1
        local code=${BASH_REMATCH[1]}
        while IFS= read -r -t 10 line <&"$CONN"; do
                line=${line%$'\r'}
                [[ -z $line ]] && break
                name=${line%%:*}
                name=${name,,}
                [[ $name == content-length ]] && len=${line#*: }
                [[ $name == connection && ${line,,} == *close* ]] && CONN_CLOSE=1
        done
        [[ -n $len ]] || return 1
        IFS= read -r -N "$len" -t 10 BODY <&"$CONN" || return 1
        CODE=$code
}

# conn_init KEY: an initialize on the open connection (200 when KEY is accepted).
conn_init() {
        printf 'POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: %d\r\n\r\n%s' \
                "$PORT" "$1" "${#INIT}" "$INIT" >&"$CONN" || { CODE= && return 1; }
        conn_read
}

# conn_delete KEY: DELETE of a session that does not exist, a request without
# a body, so a refusal keeps the connection open: 401 when KEY is refused,
# 404 from the hub when it is accepted.
conn_delete() {
        printf 'DELETE /mcp HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nAuthorization: Bearer %s\r\nMcp-Session-Id: e2e-no-such-session\r\nMCP-Protocol-Version: 2025-11-25\r\n\r\n' \
                "$PORT" "$1" >&"$CONN" || { CODE= && return 1; }
        conn_read
}

# front_log_count REGEX: lines of front.log matching REGEX.
front_log_count() { grep -cE -- "$1" "$T/front.log"; }

write_config "$(config_of fx "$(srv_fixture fx)")"
write_keys "$K1=one" "$K2=two" "#$K3=hashed"
start_hub || exit 1
start_front "MCP_API_KEYS=$KEY:$KEY_CLIENT" "MCP_API_KEYS_PATH=$T/keys.json" || exit 1
check "upstream fx becomes ready" wait_upstream fx ready 20

# ---- one kept-alive connection ----
conn_open
conn_init "$K1"
check_eq "kept-alive connection: K1 from the file: 200" 200 "$CODE"
check_jq "kept-alive connection: initialize answered" '.result.serverInfo.name == "mcp-proxy"'
check_eq "kept-alive connection: stays open" 0 "$CONN_CLOSE"
conn_init "$K3"
check_eq "kept-alive connection: K3 through its sha256: entry: 200" 200 "$CODE"

conn_delete "$K1"
check_eq "kept-alive connection: K1 passes authentication on a DELETE (404 from the hub)" 404 "$CODE"

write_keys "$K2=two" "#$K3=hashed" "$K4=four" # K1 revoked, K4 added
conn_delete "$K1"
check_eq "K1 removed from the file (mv): the next request on the same connection gets 401" 401 "$CODE"
check_jq "401 says the key is invalid" '.error.message | test("invalid API key")'
check_eq "the 401 keeps the connection open" 0 "$CONN_CLOSE"
conn_init "$K4"
check_eq "K4 added to the file: accepted on the same connection" 200 "$CODE"
conn_init "$K2"
check_eq "K2, still in the file: 200 on the same connection" 200 "$CODE"
check_eq "the front logged the change once" 1 "$(front_log_count "keys.json' changed: 3 API keys loaded")"

# A file that cannot be parsed gives no key (fail closed); MCP_API_KEYS stays.
printf '{"%s": {"client_id": "two"},\n' "$K2" >"$T/keys.json.new"
mv -f "$T/keys.json.new" "$T/keys.json"
conn_delete "$K2"
check_eq "invalid key file: its keys get 401 on the same connection" 401 "$CODE"
conn_delete "$K4"
check_eq "invalid key file: every one of its keys gets 401" 401 "$CODE"
conn_init "$KEY"
check_eq "invalid key file: the MCP_API_KEYS key still works" 200 "$CODE"
check_eq "invalid key file: one error, however many requests" 1 \
        "$(front_log_count "keys.json' changed and cannot be loaded: .*none of its keys is accepted")"
rm -f "$T/keys.json"
conn_delete "$K4"
check_eq "key file removed: 401" 401 "$CODE"
check_eq "key file removed: one more error" 2 "$(front_log_count "keys.json' changed and cannot be loaded")"
write_keys "$K4=four" "#$K5=hashed5"
conn_init "$K4"
check_eq "key file back: K4 works again on the same connection" 200 "$CODE"
conn_init "$K5"
check_eq "key file back: K5, given as a digest only, works on the same connection" 200 "$CODE"
check_eq "the same connection served every request" 0 "$CONN_CLOSE"
conn_close

# ---- new connections (one process each under socket activation) ----
req POST /mcp -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
        -H "$(auth_h "$K5")" --data-binary "$INIT"
check_code "new connection: K5 (sha256: entry) 200" 200
req POST /mcp -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
        -H "$(auth_h "$K1")" --data-binary "$INIT"
check_code "new connection: revoked K1 401" 401
req POST /mcp -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
        -H "$(auth_h "sha256:$(digest "$K5")")" --data-binary "$INIT"
check_code "new connection: the sha256: entry's own text is not a key: 401" 401

# ---- --listen: one listening process forks a child per connection ----
write_keys "$K1=one"
PORT=$(pick_port)
env E2E_MARK="$MARK" MCP_HUB_SOCKET="$T/hub.sock" MCP_API_KEYS_PATH="$T/keys.json" MCP_LOG_LEVEL=debug \
        "$FRONT_BIN" --listen "127.0.0.1:$PORT" >>"$T/listen.log" 2>&1 &
LISTEN_PID=$!
PIDS+=("$LISTEN_PID")
check "front --listen listens" wait_for 10 port_listening "$PORT"
URL=http://127.0.0.1:$PORT
listen_init() { # KEY: initialize on a new connection
        req POST /mcp -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
                -H "$(auth_h "$1")" --data-binary "$INIT"
}
listen_init "$K6"
check_code "--listen: K6 not in the file yet: 401" 401
write_keys "$K1=one" "$K6=six"
listen_init "$K6"
check_code "--listen: K6 added to the file: 200 on a new connection, no restart" 200
write_keys "$K6=six"
listen_init "$K1"
check_code "--listen: K1 removed: 401 on a new connection" 401
check "--listen: the listener is the one started at first" kill -0 "$LISTEN_PID"
check_eq "--listen: the listener read each change once" 2 \
        "$(grep -cE "keys.json' changed: [0-9]+ API keys loaded" "$T/listen.log")"

check_no_keys_in_logs "$KEY" "$K1" "$K2" "$K3" "$K4" "$K5" "$K6"
