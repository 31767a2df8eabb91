#!/usr/bin/env bash
# Every HTTP status of the front, with curl and raw sockets: auth (401/503,
# disabled auth), routing (404/405), content negotiation (406/415), JSON-RPC
# framing (400 -32700/-32600), sessions (400/404), protocol version, Origin
# and Host (403), limits (431/413/400/408), keep-alive, pipelining, chunked
# bodies, Expect: 100-continue, CORS preflight, MCP_PATH_PREFIX and /health.
source "$(dirname "$0")/lib.sh"
require_binaries "$FIXTURE"
export CURL_MAX_TIME=15

FILEKEY=e2e-file-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
EXPIRED=e2e-expired-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
BADKEY=e2e-bad-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
jq -n --arg f "$FILEKEY" --arg e "$EXPIRED" \
        '{($f): {client_id: "file-client"}, ($e): {client_id: "old-client", expires_at: 1000000000}}' \
        >"$T/keys.json"
chmod 600 "$T/keys.json"

write_config "$(config_of fx "$(srv_fixture fx)")"
start_hub || exit 1
start_front "MCP_API_KEYS=$KEY:$KEY_CLIENT" "MCP_API_KEYS_PATH=$T/keys.json" \
        "MCP_ALLOWED_ORIGINS=https://app.example.com" || exit 1
MAIN_URL=$URL MAIN_PORT=$PORT
check "upstream fx becomes ready" wait_upstream fx ready 20

INIT='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}'
H_JSON=(-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream')

check_401() { # NAME: the last response is a proper 401
        check_code "$1: 401" 401
        # RFC 6750 allows more auth-params after the realm (error="invalid_token")
        check "$1: WWW-Authenticate: Bearer realm=\"mcp-proxy\"" \
                grep -qE '^Bearer realm="mcp-proxy"(,.*)?$' <<<"$(header WWW-Authenticate)"
        check_jq "$1: JSON-RPC error body with id null" \
                '.jsonrpc == "2.0" and has("id") and .id == null and .error.code == -32000 and (.error.message | type == "string")'
}

# ---- 401 ----
req POST /mcp "${H_JSON[@]}" --data-binary "$INIT"
check_401 "POST without a key"
req POST /mcp "${H_JSON[@]}" -H "Authorization: Bearer $BADKEY" --data-binary "$INIT"
check_401 "POST with a bad key"
req POST /mcp "${H_JSON[@]}" -H "Authorization: Bearer $EXPIRED" --data-binary "$INIT"
check_401 "POST with an expired key (keys file, expires_at in the past)"
req POST /mcp "${H_JSON[@]}" -H "Authorization: Basic $(printf 'u:%s' "$KEY" | base64 -w0)" --data-binary "$INIT"
check_401 "POST with a Basic credential"
req GET /mcp -H 'Accept: text/event-stream'
check_code "GET /mcp without a key: 401" 401
req DELETE /mcp -H 'Mcp-Session-Id: x'
check_code "DELETE /mcp without a key: 401" 401

req POST /mcp "${H_JSON[@]}" -H "Authorization: Bearer $FILEKEY" --data-binary "$INIT"
check_code "POST with a key from MCP_API_KEYS_PATH: 200" 200
req POST /mcp "${H_JSON[@]}" -H "Authorization: bEaReR   $KEY" --data-binary "$INIT"
check_code "scheme in any case, several spaces: 200" 200

# ---- a session for the rest ----
if mcp_initialize; then pass "initialize with the key gives a session"; else
        fail "initialize with the key gives a session" "HTTP $INIT_CODE" "$INIT_BODY"
fi
check_jq "initialize result: mcp-proxy, version, tools.listChanged" \
        '.result.protocolVersion == "2025-11-25" and .result.serverInfo.name == "mcp-proxy" and .result.capabilities.tools.listChanged == true' "$INIT_BODY"
check "session id is visible ASCII (0x21-0x7E)" grep -qE '^[!-~]+$' <<<"$SESSION"
S=$SESSION

mcp_post "$S" '{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"x","progress":1}}'
check_code "notification: 202" 202
check_eq "notification: no body" "" "$RAW_BODY"
mcp_call "$S" echo '{"message":"hello"}'
check_code "tools/call: 200" 200
check_jq "tools/call echo answers" '.result.content[0].text == "Echo: hello"'
check_eq "tools/call: application/json" application/json "$(header Content-Type | cut -d';' -f1)"
mcp_post "$S" '{"jsonrpc":"2.0","id":"str-id-7","method":"ping"}'
check_jq "ping with a string id: result {} and the same id" '.id == "str-id-7" and .result == {}'
mcp_post "$S" '{"jsonrpc":"2.0","id":0,"method":"ping"}'
check_jq "ping with id 0 keeps id 0" '.id == 0 and .result == {}'

# ---- 503 without keys; auth disabled ----
start_front E2E_NOKEY || exit 1
req POST /mcp "${H_JSON[@]}" -H "Authorization: Bearer $KEY" --data-binary "$INIT"
check_code "no keys configured: POST /mcp 503" 503
check_jq "503 body names MCP_API_KEYS, MCP_API_KEYS_PATH and MCP_DISABLE_AUTH" \
        'tostring | test("MCP_API_KEYS") and test("MCP_API_KEYS_PATH") and test("MCP_DISABLE_AUTH")'
req GET /health
check_code "no keys configured: /health 503" 503

start_front MCP_DISABLE_AUTH=true || exit 1
req POST /mcp "${H_JSON[@]}" --data-binary "$INIT"
check_code "MCP_DISABLE_AUTH=true: initialize without a key: 200" 200
NS=$(header Mcp-Session-Id)
req POST /mcp "${H_JSON[@]}" -H "Mcp-Session-Id: $NS" -H 'MCP-Protocol-Version: 2025-11-25' \
        --data-binary '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"open"}}}'
check_jq "MCP_DISABLE_AUTH=true: tools/call works" '.result.content[0].text == "Echo: open"'

URL=$MAIN_URL PORT=$MAIN_PORT

# ---- routing ----
req GET /nope -H "$(auth_h)"
check_code "unknown path: 404" 404
check_jq "404 has a JSON body" 'type == "object"'
req PUT /mcp -H "$(auth_h)" "${H_JSON[@]}" --data-binary '{}'
check_code "PUT /mcp: 405" 405
check "405 Allow lists GET, POST, DELETE" bash -c '[[ $1 == *GET* && $1 == *POST* && $1 == *DELETE* ]]' _ "$(header Allow)"
req POST /health -H "$(auth_h)" --data-binary '{}'
check_code "POST /health: 405" 405
check_contains "405 on /health: Allow has GET" "$(header Allow)" GET

# ---- content negotiation and framing ----
req POST /mcp -H "$(auth_h)" -H 'Content-Type: application/json' -H 'Accept: application/json' \
        -H "Mcp-Session-Id: $S" --data-binary '{"jsonrpc":"2.0","id":3,"method":"ping"}'
check_code "Accept without text/event-stream: 406" 406
req POST /mcp -H "$(auth_h)" -H 'Content-Type: text/plain' -H 'Accept: application/json, text/event-stream' \
        -H "Mcp-Session-Id: $S" --data-binary '{"jsonrpc":"2.0","id":3,"method":"ping"}'
check_code "Content-Type text/plain: 415" 415
mcp_post "$S" '{"jsonrpc":"2.0","id":4,"method":"ping"'
check_code "invalid JSON: 400" 400
check_jq "invalid JSON: -32700" '.error.code == -32700'
mcp_post "$S" '[{"jsonrpc":"2.0","id":5,"method":"ping"},{"jsonrpc":"2.0","id":6,"method":"ping"}]'
check_code "batch: 400" 400
check_jq "batch: -32600" '.error.code == -32600'
mcp_post "$S" '{"hello":"world"}'
check_code "not a JSON-RPC message: 400" 400
check_jq "not a JSON-RPC message: -32600" '.error.code == -32600'

# ---- sessions and protocol version ----
mcp_post "" '{"jsonrpc":"2.0","id":7,"method":"tools/list"}'
check_code "request without Mcp-Session-Id: 400" 400
mcp_post "no-such-session-0123456789" '{"jsonrpc":"2.0","id":8,"method":"tools/list"}'
check_code "unknown session: 404" 404
check_jq "unknown session: -32001" '.error.code == -32001'
req GET /mcp -H "$(auth_h)" -H 'Accept: text/event-stream'
check_code "GET /mcp without Mcp-Session-Id: 400" 400
req DELETE /mcp -H "$(auth_h)" -H 'Mcp-Session-Id: no-such-session-0123456789'
check_code "DELETE of an unknown session: 404" 404
req POST /mcp "${H_JSON[@]}" -H "Mcp-Session-Id: $S" --data-binary '{"jsonrpc":"2.0","id":8,"method":"ping"}'
check_code "a valid session id without a key: 401 (sessions are not auth)" 401
req POST /mcp "${H_JSON[@]}" -H "Authorization: Bearer $FILEKEY" -H "Mcp-Session-Id: $S" \
        --data-binary '{"jsonrpc":"2.0","id":8,"method":"ping"}'
check "another client's session id is refused (4xx, got $CODE)" test "$CODE" -ge 400 -a "$CODE" -lt 500
MCP_VERSION=1999-01-01 mcp_post "$S" '{"jsonrpc":"2.0","id":9,"method":"tools/list"}'
check_code "MCP-Protocol-Version 1999-01-01: 400" 400
MCP_VERSION=2025-06-18 mcp_post "$S" '{"jsonrpc":"2.0","id":10,"method":"ping"}'
check_code "MCP-Protocol-Version 2025-06-18 is accepted" 200
MCP_VERSION=2024-11-05 mcp_post "$S" '{"jsonrpc":"2.0","id":10,"method":"ping"}'
check_code "MCP-Protocol-Version 2024-11-05 is tolerated" 200
req POST /mcp -H "$(auth_h)" "${H_JSON[@]}" -H "Mcp-Session-Id: $S" --data-binary '{"jsonrpc":"2.0","id":10,"method":"ping"}'
check_code "no MCP-Protocol-Version header (assume 2025-03-26): 200" 200
for v in 2025-06-18 2025-03-26; do
        mcp_post "" "${INIT/2025-11-25/$v}"
        check_jq "initialize asking $v negotiates $v" ".result.protocolVersion == \"$v\""
done
mcp_post "" "${INIT/2025-11-25/1999-01-01}"
check_jq "initialize asking an unknown version gets 2025-11-25" '.result.protocolVersion == "2025-11-25"'

# ---- Origin, Host ----
mcp_post "$S" '{"jsonrpc":"2.0","id":11,"method":"ping"}' -H 'Origin: https://evil.example.com'
check_code "Origin https://evil.example.com: 403" 403
mcp_post "$S" '{"jsonrpc":"2.0","id":12,"method":"ping"}' -H 'Origin: http://localhost:5173'
check_code "Origin http://localhost:5173 (loopback): 200" 200
mcp_post "$S" '{"jsonrpc":"2.0","id":13,"method":"ping"}' -H 'Host: evil.example.com'
check_code "Host evil.example.com on a loopback connection: 403" 403
mcp_post "$S" '{"jsonrpc":"2.0","id":14,"method":"ping"}' -H "Host: localhost:$PORT"
check_code "Host localhost:PORT: 200" 200

# ---- CORS (MCP_ALLOWED_ORIGINS=https://app.example.com) ----
req OPTIONS /mcp -H 'Origin: https://app.example.com' -H 'Access-Control-Request-Method: POST' \
        -H 'Access-Control-Request-Headers: authorization, content-type, mcp-session-id, mcp-protocol-version'
check "preflight from an allowed origin: 200 or 204 without a key" bash -c '[[ $1 == 200 || $1 == 204 ]]' _ "$CODE"
check_eq "preflight: Access-Control-Allow-Origin" https://app.example.com "$(header Access-Control-Allow-Origin)"
check_contains "preflight: Allow-Methods has POST" "$(header Access-Control-Allow-Methods)" POST
ALLOW_H=$(header Access-Control-Allow-Headers | tr '[:upper:]' '[:lower:]')
check "preflight: Allow-Headers has authorization and mcp-session-id" \
        bash -c '[[ ($1 == *authorization* || $1 == "*") && ($1 == *mcp-session-id* || $1 == "*") ]]' _ "$ALLOW_H"
mcp_post "$S" '{"jsonrpc":"2.0","id":15,"method":"ping"}' -H 'Origin: https://app.example.com'
check_code "POST from the allowed origin: 200" 200
check_eq "POST from the allowed origin: Access-Control-Allow-Origin" https://app.example.com \
        "$(header Access-Control-Allow-Origin)"
check_contains "POST from the allowed origin: Expose-Headers has Mcp-Session-Id" \
        "$(header Access-Control-Expose-Headers | tr '[:upper:]' '[:lower:]')" mcp-session-id
req OPTIONS /mcp -H 'Origin: https://other.example.com' -H 'Access-Control-Request-Method: POST'
check_code "preflight from another origin: 403" 403

# ---- limits ----
BIGH=$(head -c 20000 /dev/zero | tr '\0' 'a')
req GET /health -H "X-Big: $BIGH"
check_code "20 KB of headers: 431" 431
raw_exchange "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer $KEY\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 5000000\r\n\r\n" 5
check_eq "Content-Length 5000000 (> 4 MiB): 413 before any body" 413 "$(status_lines "$RAW_OUT")"
head -c 5000000 /dev/zero | tr '\0' ' ' >"$T/big.json"
req POST /mcp -H "$(auth_h)" "${H_JSON[@]}" -H "Mcp-Session-Id: $S" --data-binary @"$T/big.json"
check_code "a 5 MB body sent by curl: 413" 413
raw_exchange "GARBAGE\r\n\r\n" 5
check_eq "malformed request line: 400" 400 "$(status_lines "$RAW_OUT")"
check_eq "malformed request line: connection closed" 1 "$RAW_CLOSED"
raw_exchange "GET /health HTTP/1.1\nHost: 127.0.0.1\n\n" 5
check_eq "bare LF line endings: 400" 400 "$(status_lines "$RAW_OUT")"
raw_exchange "GET /health HTTP/1.1\r\n\r\nGET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" 5
check_eq "HTTP/1.1 without Host: 400, and the request after it is not read" 400 "$(status_lines "$RAW_OUT")"
check_eq "... the connection closed, as for every malformed head" 1 "$RAW_CLOSED"
raw_exchange "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: 127.0.0.1\r\n\r\n" 5
check_eq "two Host lines: 400, closed" "400 1" "$(status_lines "$RAW_OUT") $RAW_CLOSED"
raw_exchange "GET http://127.0.0.1:$PORT/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" 5
check_eq "absolute-form target (RFC 9112 3.2.2): GET http://127.0.0.1:PORT/health is 200" 200 "$(status_lines "$RAW_OUT")"
raw_exchange "GET http://evil.example.com/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" 5
check_eq "... its authority is the host checked: a foreign one on a loopback socket is 403" 403 "$(status_lines "$RAW_OUT")"

# a refusal before the body is read keeps the connection when the body is all in (it is
# dropped), and closes it when it is not
b='{"jsonrpc":"2.0","id":30,"method":"ping"}'
raw_exchange "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer e2e-wrong-key\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: ${#b}\r\n\r\n${b}GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" 5
check_eq "401 for a POST whose body came with it: the body dropped, the next request answered" "401 200" "$(status_lines "$RAW_OUT")"
raw_exchange "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer e2e-wrong-key\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"jsonrpc\"" 5
check_eq "401 for a POST whose body has not all come: answered, then closed" "401 1" "$(status_lines "$RAW_OUT") $RAW_CLOSED"

# ---- control characters in a body: a parse error, the hub's connection untouched ----
printf '{"jsonrpc":"2.0","id":31,"method":"ping","params":{"x":"a\0b"}}' >"$T/nul.json"
req POST /mcp -H "$(auth_h)" "${H_JSON[@]}" -H "Mcp-Session-Id: $S" --data-binary @"$T/nul.json"
check_code "a raw NUL inside a JSON string: 400" 400
check_jq "... -32700 (parse error)" '.error.code == -32700'
printf '{"jsonrpc":"2.0","id":32,"method":"ping","params":{"x":"a\nb"}}' >"$T/lf.json"
req POST /mcp -H "$(auth_h)" "${H_JSON[@]}" -H "Mcp-Session-Id: $S" --data-binary @"$T/lf.json"
check_jq "a raw LF inside a string (JSON wants it escaped): 400, -32700, not turned into a space" '.error.code == -32700'
printf '{"jsonrpc":"2.0","id":33,"method":"ping","params":{"x":"a\\u0000b"}}' >"$T/u0.json"
req POST /mcp -H "$(auth_h)" "${H_JSON[@]}" -H "Mcp-Session-Id: $S" --data-binary @"$T/u0.json"
check_jq "an escaped NUL (\\u0000) a C string would cut: 400, -32700" '.error.code == -32700'
printf '{"jsonrpc":"2.0",\r\n"id":34,\n"method":"ping","params":{"x":"a\\nb\\u0001"}}' >"$T/ok.json"
req POST /mcp -H "$(auth_h)" "${H_JSON[@]}" -H "Mcp-Session-Id: $S" --data-binary @"$T/ok.json"
check_jq "CR/LF between tokens and escaped controls in strings: answered" '.id == 34 and .result == {}'
check "the hub never saw a line it could not read" bash -c '! grep -q "not JSON" "$1"' _ "$T/hub.log"

start_front "MCP_API_KEYS=$KEY:$KEY_CLIENT" MCP_HTTP_READ_TIMEOUT=1 MCP_HTTP_IDLE_TIMEOUT=2 || exit 1
t0=$(now_ms)
raw_exchange "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" 8
dt=$(($(now_ms) - t0))
check_eq "idle keep-alive: the answer first" 200 "$(status_lines "$RAW_OUT")"
check_eq "idle keep-alive: MCP_HTTP_IDLE_TIMEOUT=2 closes the connection" 1 "$RAW_CLOSED"
check "idle keep-alive: after about 2 s (${dt} ms in 1500..6000)" test "$dt" -ge 1500 -a "$dt" -le 6000
t0=$(now_ms)
raw_exchange "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Len" 6
dt=$(($(now_ms) - t0))
check_eq "request stalled mid-headers, MCP_HTTP_READ_TIMEOUT=1: 408" 408 "$(status_lines "$RAW_OUT")"
check_eq "408 closes the connection" 1 "$RAW_CLOSED"
check "408 comes after about 1 s (0.8-4 s): ${dt} ms" test "$dt" -ge 800 -a "$dt" -le 4000
raw_exchange "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer $KEY\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMcp-Session-Id: $S\r\nContent-Length: 100\r\n\r\n{\"jsonrpc\"" 6
check_eq "request stalled mid-body: 408" 408 "$(status_lines "$RAW_OUT")"
URL=$MAIN_URL PORT=$MAIN_PORT

# ---- keep-alive, pipelining, chunked, 100-continue ----
out=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{num_connects}\n' "$URL/health" -o /dev/null "$URL/health")
check_eq "keep-alive: two requests, one connection (curl num_connects 1 then 0)" "200 1
200 0" "$out"
body1='{"jsonrpc":"2.0","id":101,"method":"tools/call","params":{"name":"echo","arguments":{"message":"first"}}}'
body2='{"jsonrpc":"2.0","id":102,"method":"tools/call","params":{"name":"echo","arguments":{"message":"second"}}}'
hdrs="Host: 127.0.0.1\r\nAuthorization: Bearer $KEY\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMcp-Session-Id: $S\r\nMCP-Protocol-Version: 2025-11-25\r\n"
raw_exchange "POST /mcp HTTP/1.1\r\n${hdrs}Content-Length: ${#body1}\r\n\r\n${body1}POST /mcp HTTP/1.1\r\n${hdrs}Connection: close\r\nContent-Length: ${#body2}\r\n\r\n${body2}" 8
check_eq "pipelined: two responses" "200 200" "$(status_lines "$RAW_OUT")"
first=$(grep -abo 'Echo: first' <<<"$RAW_OUT" | head -1 | cut -d: -f1)
second=$(grep -abo 'Echo: second' <<<"$RAW_OUT" | head -1 | cut -d: -f1)
check "pipelined: answered in order" test -n "$first" -a -n "$second" -a "${first:-0}" -lt "${second:-0}"
check_eq "Connection: close is honoured (server closed)" 1 "$RAW_CLOSED"

printf '%s' '{"jsonrpc":"2.0","id":103,"method":"tools/call","params":{"name":"echo","arguments":{"message":"chunked"}}}' >"$T/chunked.json"
mcp_post "$S" @"$T/chunked.json" -H 'Transfer-Encoding: chunked'
# mcp_post passes JSON via --data-binary; "@file" makes curl read the file
check_code "chunked request body: 200" 200
check_jq "chunked request body: echoed" '.result.content[0].text == "Echo: chunked"'
c1='{"jsonrpc":"2.0"'
c2=',"id":104,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hand"}}}'
raw_exchange "POST /mcp HTTP/1.1\r\n${hdrs}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n$(printf %x ${#c1})\r\n${c1}\r\n$(printf %x ${#c2})\r\n${c2}\r\n0\r\n\r\n" 8
check_contains "hand-made chunked body (two chunks) answered" "$RAW_OUT" 'Echo: hand'

body3='{"jsonrpc":"2.0","id":105,"method":"tools/call","params":{"name":"echo","arguments":{"message":"continued"}}}'
exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
printf '%b' "POST /mcp HTTP/1.1\r\n${hdrs}Expect: 100-continue\r\nConnection: close\r\nContent-Length: ${#body3}\r\n\r\n" >&"$fd"
line=
IFS= read -r -t 5 line <&"$fd"
check_eq "Expect: 100-continue: the front sends HTTP/1.1 100 Continue first" "HTTP/1.1 100 Continue" "${line%$'\r'}"
printf '%s' "$body3" >&"$fd"
rest=$(timeout 8 cat <&"$fd")
exec {fd}>&-
check_contains "Expect: 100-continue: then the answer" "$rest" 'Echo: continued'
check_eq "Expect: 100-continue: final status 200" 200 "$(status_lines "$rest")"

# ---- MCP_PATH_PREFIX ----
# ---- a new connection must send its first request soon (MCP_HTTP_FIRST_REQUEST_TIMEOUT) ----
start_front "MCP_API_KEYS=$KEY:$KEY_CLIENT" MCP_HTTP_FIRST_REQUEST_TIMEOUT=1 MCP_HTTP_IDLE_TIMEOUT=5 || exit 1
t0=$(now_ms)
raw_exchange "" 6
dt=$(($(now_ms) - t0))
check "a connection that sends nothing is closed after about 1 s (${dt} ms in 800..4000)" \
        test "$RAW_CLOSED" = 1 -a "$dt" -ge 800 -a "$dt" -le 4000
check_eq "... without an answer" "" "$RAW_OUT"
t0=$(now_ms)
raw_exchange "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n" 6
dt=$(($(now_ms) - t0))
check_eq "a first request head still incomplete after 1 s: 408" 408 "$(status_lines "$RAW_OUT")"
check "... after about 1 s (${dt} ms in 800..4000)" test "$dt" -ge 800 -a "$dt" -le 4000
exec {kfd}<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' >&"$kfd"
sleep 2
printf 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&"$kfd"
out=$(timeout 6 cat <&"$kfd")
exec {kfd}>&-
check_eq "only the first request has that deadline: a second one 2 s later on the same connection" \
        "200 200" "$(status_lines "$out")"

start_front "MCP_API_KEYS=$KEY:$KEY_CLIENT" MCP_PATH_PREFIX=/x || exit 1
MCP_PREFIX=/x mcp_post "" "$INIT"
check_code "MCP_PATH_PREFIX=/x: POST /x/mcp initialize 200" 200
mcp_post "" "$INIT"
check_code "MCP_PATH_PREFIX=/x: POST /mcp 404" 404
URL=$MAIN_URL PORT=$MAIN_PORT

# ---- /health ----
req GET /health
check_code "/health without a key: 200" 200
check_jq "/health without a key: status, service, version and no details" \
        '.status == "healthy" and .service == "mcp-proxy" and (.version | type == "string") and (has("upstreams") | not)'
req GET /health -H "$(auth_h)"
check_code "/health with the key: 200" 200
check_jq "/health with the key: client, upstreams, collisions, sessions" \
        '.client == "e2e-client" and (.upstreams | type == "array") and has("collisions") and has("sessions")'
check_jq "/health with the key: upstream fx fields" \
        '.upstreams[] | select(.name == "fx") | .transport == "stdio" and .state == "ready" and (.pid | type == "number") and has("restarts") and .tools >= 12'

# ---- DELETE ----
req DELETE /mcp -H "$(auth_h)" -H "Mcp-Session-Id: $S" -H 'MCP-Protocol-Version: 2025-11-25'
check_code "DELETE the session: 200" 200
mcp_post "$S" '{"jsonrpc":"2.0","id":16,"method":"ping"}'
check_code "after DELETE the id gives 404" 404

# ---- request log lines ----
check "front logs one line per request with client, method, path, MCP method, status" \
        grep -qE "$KEY_CLIENT.*POST.*/mcp.*tools/call.*200" "$T/front.log"

# ---- hub down ----
stop_hub 10
req GET /health
check_code "/health when the hub is down: 503" 503
check_jq "/health when the hub is down: unhealthy" '.status == "unhealthy"'

check_no_keys_in_logs "$KEY" "$FILEKEY" "$EXPIRED" "$BADKEY"
