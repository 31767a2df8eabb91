#!/usr/bin/env bash
# Exact JSON-RPC ids through the front and the hub (issue 17, item 3): ids of any
# JSON type and value (negative, fractional, beyond 2^53, exponents, long and
# escaped strings) come back to the client byte for byte, for ping (which the
# hub answers) and for tools/call (remapped to the hub's own id for the
# upstream and back); the upstream's own ids on its requests to the client come
# back to it byte for byte too. Clients answering a server's request with ids
# we never sent, and an upstream answering ids it was never asked, are ignored
# without disturbing anything (run it on the sanitizer build: BUILD=build/check).
# The responses are compared as raw bytes: jq reads numbers as doubles.
source "$(dirname "$0")/lib.sh"
require_binaries "$FIXTURE"
export CURL_MAX_TIME=20

write_config "$(config_of fx "$(srv_fixture fx --odd-ids)")"
start_hub || exit 1
start_front || exit 1
check "upstream fx becomes ready" wait_upstream fx ready 20

# A session that can be asked (elicitation).
mcp_post "" '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"'"$MCP_VERSION"'","capabilities":{"elicitation":{}},"clientInfo":{"name":"e2e-ids","version":"1.0"}}}'
S=$(header Mcp-Session-Id)
check "initialize with the elicitation capability" test "$CODE" = 200 -a -n "$S"
mcp_post "$S" '{"jsonrpc":"2.0","method":"notifications/initialized"}'

# post_raw BODY: POSTs BODY as it is; the response's bytes (JSON or an SSE stream) in $RAW_BODY.
post_raw() { mcp_post "$S" "$1"; }

LONG=\"$(printf 'x%.0s' {1..1000})\"
IDS=(
        0 -1 1.5 -9007199254740991 9007199254740993 1152921504606846977 1e3 -0 1.0
        1E+2 -2.50e-3 18446744073709551616 1e400 '"plain"' '""' "$LONG"
        '"\u00e9t\u00e9 \/ \" \\ caf'$'\xc3\xa9'' '$'\xe2\x82\xac'' \ud83d\ude00"'
)

for id in "${IDS[@]}"; do
        label=${id:0:40}
        post_raw '{"jsonrpc":"2.0","id":'"$id"',"method":"ping"}'
        check "ping, id $label: 200 and the id byte for byte" \
                grep -qF -- '{"jsonrpc":"2.0","id":'"$id"',"result":{}}' "$RESP_BODY"
        post_raw '{"jsonrpc":"2.0","id":'"$id"',"method":"tools/call","params":{"name":"echo","arguments":{"message":"m"}}}'
        check "tools/call, id $label: the upstream's answer under the id byte for byte" \
                bash -c 'grep -qF -- "$1" "$2" && grep -qF "Echo: m" "$2"' _ \
                '{"jsonrpc":"2.0","id":'"$id"',"result":{"content":[{"type":"text","text":"Echo: m"}]}}' \
                "$RESP_BODY"
done

# The hub's own error, and the front's, carry the id as it came.
post_raw '{"jsonrpc":"2.0","id":-9007199254740993.0,"method":"tools/call","params":{"name":"nope"}}'
check "hub error (unknown tool): the id byte for byte" \
        grep -qF '"id":-9007199254740993.0,"error":' "$RESP_BODY"
req POST /mcp -H "$(auth_h)" -H 'Content-Type: application/json' \
        -H 'Accept: application/json, text/event-stream' -H "Mcp-Session-Id: $S" \
        -H 'MCP-Protocol-Version: 1999-01-01' \
        --data-binary '{"jsonrpc":"2.0","id":1152921504606846977,"method":"ping"}'
check "front error (a protocol version not served): 4xx and the id byte for byte" \
        bash -c '[[ $1 == 4?? ]] && grep -qF "{\"jsonrpc\":\"2.0\",\"id\":1152921504606846977,\"error\":" "$2"' \
        _ "$CODE" "$RESP_BODY"

# A cancel names the request by the id as the client wrote it: beyond 2^53 too.
curl -sS -N --max-time 20 -o "$T/cancel.body" -H "$(auth_h)" \
        -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
        -H "Mcp-Session-Id: $S" -H "MCP-Protocol-Version: $MCP_VERSION" \
        --data-binary '{"jsonrpc":"2.0","id":9007199254740993,"method":"tools/call","params":{"name":"sleep","arguments":{"ms":15000}}}' \
        "$URL/mcp" 2>/dev/null &
CURL_PID=$!
PIDS+=("$CURL_PID")
# requests in flight on fx and its instances
in_flight() { health | jq -r '[.upstreams[] | select(.name == "fx") | .in_flight, .instances[]?.in_flight] | add'; }
in_flight_is() { [[ $(in_flight) == "$1" ]]; }
check "the call of 9007199254740993 is in flight" wait_for 10 in_flight_is 1
# (9007199254740992 is another id: as doubles both would be the same)
post_raw '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":9007199254740992}}'
check "a cancel for 9007199254740992 (202) leaves the call of 9007199254740993 alone" \
        bash -c '[[ $1 == 202 ]] && kill -0 "$2" && [[ $3 == 1 ]]' _ "$CODE" "$CURL_PID" "$(in_flight)"
post_raw '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":9007199254740993}}'
check "a cancel for 9007199254740993 ends that call" \
        wait_for 10 bash -c '! kill -0 "$1" 2>/dev/null' _ "$CURL_PID"
check "the upstream heard the cancel" wait_for 10 in_flight_is 0

# ---------------------------------------------------------------- a server's requests
# ask_id UPSTREAM-ID: the server asks under that id; $ASK is the hub's id for it.
ask_id() {
        post_raw "$(jq -cn --arg id "$1" '{jsonrpc: "2.0", id: 77, method: "tools/call", params: {name: "ask_id", arguments: {id: $id}}}')"
        ASK=$(grep -aoE '"id":[0-9]+,"method":"elicitation/create"' "$RESP_BODY" | grep -oE '[0-9]+' | head -n 1)
}
# server_asks WHO ANSWERS-FILE PREFIX: the server WHO asks under odd ids; the client answers
# under ids the hub never sent, then under the right one; only that one reaches the server,
# as PREFIX{"jsonrpc":"2.0","id":<its id>,"result":... in ANSWERS-FILE.
server_asks() {
        local who=$1 file=$2 prefix=$3 up odd
        for up in 9007199254740993 -1.5e-3 '"\u00e9-ask"' 1e400; do
                ask_id "$up"
                if [[ -z $ASK ]]; then
                        fail "$who: a request under id $up reaches the client with the hub's id" "$(head -c 600 "$RESP_BODY")"
                        continue
                fi
                pass "$who: a request under id $up reaches the client with the hub's id ($ASK)"
                # Answers to ids the hub never sent: accepted (202), nothing reaches the server.
                for odd in "$ASK.5" "-$ASK" "$ASK"e300 1e300 -0 18446744073709551616 "\"$ASK\"" null; do
                        post_raw '{"jsonrpc":"2.0","id":'"$odd"',"result":{"action":"decline"}}'
                        [[ $CODE == 202 ]] || fail "$who: answer under id $odd: 202" "HTTP $CODE $RAW_BODY"
                done
                post_raw '{"jsonrpc":"2.0","id":'"$ASK"',"result":{"action":"accept","content":{"up":"'"${up//\"/}"'"}}}'
                check_code "$who: the right answer: 202" 202
                check "$who gets the answer under its own id $up, byte for byte, and only that one" \
                        wait_for 10 bash -c '[[ $(grep -cF "$3{\"jsonrpc\":\"2.0\",\"id\":$1,\"result\":" "$2") == 1 ]] &&
                                grep -qF "$3{\"jsonrpc\":\"2.0\",\"id\":$1,\"result\":{\"action\":\"accept\"" "$2"' \
                        _ "$up" "$file" "$prefix"
        done
        check "$who: no answer under an odd id reached it" bash -c '! grep -q "decline" "$1"' _ "$file"
}

# server_strays WHO [JSON]: the server answers 15 ids never asked, then the call.
STRAYS='["-1","1e300","1.5","-0","18446744073709551616","9223372036854775808","-9223372036854775809","1e400","1e-400","\"x\"","null","{}","[1]","true","999999999"]'
server_strays() {
        post_raw "$(jq -cn --argjson ids "$STRAYS" --argjson json "${2:-false}" '{jsonrpc: "2.0", id: "strays", method: "tools/call", params: {name: "stray_ids", arguments: {ids: $ids, json: $json}}}')"
        check "$1: answers to ids never asked are ignored; the call itself is answered" \
                grep -qF '"id":"strays","result":{"content":[{"type":"text","text":"strays sent"}]}' "$RESP_BODY"
}

server_asks fx "$T/hub.log" "fx: answer "
server_strays fx
check "hub log: answers under ids we never sent are ignored" \
        grep -qE "fx(\[[^]]*\])?': response with an id we never sent, ignoring" "$T/hub.log"
# An answer with its id twice ({"id":9,"id":10,...}): the hub would read the first, the
# client's parser the last, so a server could answer under an id not its own: dropped.
post_raw '{"jsonrpc":"2.0","id":"dup","method":"tools/call","params":{"name":"stray_ids","arguments":{"ids":["9,\"id\":10"]}}}'
check "an upstream message with its id twice is dropped, and logged" \
        wait_for 5 grep -qE "fx(\[[^]]*\])?': sent a message with the member \"id\" twice, dropping it" "$T/hub.log"
post_raw '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"still"}}}'
check "the session goes on" grep -qF "Echo: still" "$RESP_BODY"
check "the upstream was never restarted" test "$(upstream_field fx .restarts)" = 0
check "the hub is alive" hub_alive
stop_hub 10
check_eq "hub exits 0 on SIGTERM" 0 "$HUB_RC"

# ---------------------------------------------------------------- a remote server
# The same through Streamable HTTP: ids-server.mjs writes ids as raw JSON text, in SSE
# events and in a JSON array, and logs every POST body as it came.
P_IDS=$(pick_port)
env E2E_MARK="$MARK" node tests/e2e/ids-server.mjs "$T/ids-posts.log" "$P_IDS" >>"$T/ids-server.log" 2>&1 &
PIDS+=("$!")
check "ids-server listens on 127.0.0.1:$P_IDS" wait_for 15 port_listening "$P_IDS"
write_config "$(config_of rid "{\"url\":\"http://127.0.0.1:$P_IDS/mcp\",\"transport\":\"http\"}")"
start_hub || exit 1
check "remote upstream rid becomes ready" wait_upstream rid ready 20
mcp_post "" '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"'"$MCP_VERSION"'","capabilities":{"elicitation":{}},"clientInfo":{"name":"e2e-ids","version":"1.0"}}}'
S=$(header Mcp-Session-Id)
check "rid: initialize with the elicitation capability" test "$CODE" = 200 -a -n "$S"
mcp_post "$S" '{"jsonrpc":"2.0","method":"notifications/initialized"}'
for id in 9007199254740993 -2.50e-3 '"\u00e9\/"'; do
        post_raw '{"jsonrpc":"2.0","id":'"$id"',"method":"tools/call","params":{"name":"stray_ids","arguments":{"ids":[]}}}'
        check "rid: tools/call, id $id: the answer under the id byte for byte" \
                grep -qF '{"jsonrpc":"2.0","id":'"$id"',"result":{"content":[{"type":"text","text":"strays sent"}]}}' "$RESP_BODY"
done
# A name twice in one object: the hub (cJSON) would read the first, a server's JSON.parse
# the last, so the tool the access rules check would not be the one called: refused.
: >"$T/ids-posts.log"
post_raw '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"stray_ids","arguments":{"ids":[]},"name":"ask_id"}}'
check "a name twice in params: 400 -32600, naming it, and nothing reaches the server" \
        bash -c '[[ $1 == 400 ]] && grep -qF "\"id\":3,\"error\":{\"code\":-32600," "$2" &&
                grep -qF "appears twice in one object (\\\"name\\\")" "$2" && ! [[ -s $3 ]]' \
        _ "$CODE" "$RESP_BODY" "$T/ids-posts.log"
post_raw '{"jsonrpc":"2.0","id":4,"\u0069d":5,"method":"ping"}'
check "an id twice (once escaped): 400 -32600 under id null (which one would be a guess)" \
        bash -c '[[ $1 == 400 ]] && grep -qF "\"id\":null,\"error\":{\"code\":-32600," "$2"' _ "$CODE" "$RESP_BODY"
check "front log: the refusal" grep -q "a member name appears twice in one object of its message, refusing" "$T/front.log"
server_asks rid "$T/ids-posts.log" ""
server_strays rid
server_strays "rid (one JSON array)" true
check "hub log: rid's answers under ids we never sent are ignored" \
        grep -qE "rid(\[[^]]*\])?': response with an id we never sent, ignoring" "$T/hub.log"
check "the hub is alive" hub_alive

stop_hub 10
check_eq "hub exits 0 on SIGTERM" 0 "$HUB_RC"
check "no sanitizer report in the logs" bash -c '! grep -qE "runtime error|AddressSanitizer|LeakSanitizer" "$1"/*.log' _ "$T"
check_no_keys_in_logs "$KEY"
