#!/usr/bin/env bash
# Remote upstreams (Streamable HTTP and legacy SSE over libcurl in the hub's
# loop), all behind the proxy at once with a stdio one:
#   web     server-everything streamableHttp, no "transport": detected
#   legacy  server-everything sse, URL ending in /sse
#   old     the same sse server as ".../SSE": no transport, the POST initialize
#           gets 404, the hub falls back to legacy SSE
#   rec     remote-server.mjs: records every request it gets; config headers
#           with ${VAR}; "timeout": 2
#   hole    accepts connections and never answers ("startupTimeout": 3)
#   gone    nothing listens there
#   tls     remote-server.mjs over https with a self-signed certificate: refused
#   fx      the stdio fixture
# The SDK client (sdk-remote.mjs) lists and calls them with progress, then a
# hanging call to rec times out while stdio calls keep their latency; then
# both server-everything processes are killed (/health: backoff, the others
# answer) and started again on the same ports: the same client session works
# again. Every HTTP upstream is asked server/discover first: these 2025-era ones refuse it
# and get a session. With curl: the remote server loses our session (404: transparent new
# session and retry), its GET stream drops (reopened with Last-Event-ID), a
# list_changed on the GET stream refreshes the tools, DELETE on hub stop.
# Every server listens on 127.0.0.1 only (server-everything has no option for
# it: loopback-only.cjs makes its listen() bind 127.0.0.1).
source "$(dirname "$0")/lib.sh"
require_binaries "$FIXTURE"
[[ -x $EVERYTHING ]] || { fail "server-everything installed" "$EVERYTHING missing"; exit 1; }
[[ -d $E2E_ROOT/tests/node_modules/@modelcontextprotocol/sdk ]] ||
        { fail "the SDK is installed" "tests/node_modules/@modelcontextprotocol/sdk missing"; exit 1; }
export CURL_MAX_TIME=30
E2E_DIR=$E2E_ROOT/tests/e2e

# port_wildcard PORT: something listens on PORT on every interface (0.0.0.0 or ::).
port_wildcard() {
        local hex
        hex=$(printf '%04X' "$1")
        awk -v a="00000000:$hex" -v b="00000000000000000000000000000000:$hex" \
                '$4 == "0A" && ($2 == a || $2 == b) { f = 1 } END { exit !f }' \
                /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# start_everything MODE PORT: server-everything in MODE on 127.0.0.1:PORT; sets EV_PID.
start_everything() {
        local mode=$1 port=$2
        env E2E_MARK="$MARK" PORT="$port" node -r "$E2E_DIR/loopback-only.cjs" "$EVERYTHING" "$mode" \
                >>"$T/everything-$mode.log" 2>&1 &
        EV_PID=$!
        PIDS+=("$EV_PID")
        if ! wait_for 30 port_listening "$port"; then
                fail "server-everything $mode listens on $port" "$(tail -n 5 "$T/everything-$mode.log")"
                return 1
        fi
        if port_wildcard "$port"; then
                fail "server-everything $mode listens on 127.0.0.1 only" "bound to every interface"
                kill -KILL "$EV_PID"
                exit 1
        fi
}

pick_ports() { # N: N distinct free ports into PORTS
        PORTS=()
        local p
        while ((${#PORTS[@]} < $1)); do
                p=$(pick_port) || return 1
                [[ " ${PORTS[*]} " == *" $p "* ]] || PORTS+=("$p")
        done
}

pick_ports 6 || { fail "free ports"; exit 1; }
P_HTTP=${PORTS[0]} P_SSE=${PORTS[1]} P_REC=${PORTS[2]} P_HOLE=${PORTS[3]} P_GONE=${PORTS[4]}
P_TLS=${PORTS[5]}
REC_LOG=$T/rec-requests.jsonl
: >"$REC_LOG"

start_everything streamableHttp "$P_HTTP" || exit 1
HTTP_PID=$EV_PID
start_everything sse "$P_SSE" || exit 1
SSE_PID=$EV_PID
TLS_ARGS=()
if command -v openssl >/dev/null &&
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
                -addext subjectAltName=IP:127.0.0.1 -keyout "$T/tls.key" -out "$T/tls.crt" >/dev/null 2>&1; then
        TLS_ARGS=("$P_TLS" "$T/tls.crt" "$T/tls.key")
else
        echo "SKIP the https check: no openssl to make a certificate"
fi
env E2E_MARK="$MARK" node "$E2E_DIR/remote-server.mjs" "$REC_LOG" "$P_REC" "$P_HOLE" "${TLS_ARGS[@]}" \
        >>"$T/rec.log" 2>&1 &
PIDS+=("$!")
check "remote-server listens on 127.0.0.1:$P_REC and :$P_HOLE" \
        wait_for 15 bash -c "$(declare -f port_listening); port_listening $P_REC && port_listening $P_HOLE"
((${#TLS_ARGS[@]})) && check "remote-server listens with https on 127.0.0.1:$P_TLS" wait_for 15 port_listening "$P_TLS"
check "remote-server listens on 127.0.0.1 only" bash -c "$(declare -f port_wildcard); ! port_wildcard $P_REC"

UP_TOKEN=up-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
UP_KEY=key-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
write_config "$(config_of \
        web "{\"url\":\"http://127.0.0.1:$P_HTTP/mcp\"}" \
        legacy "{\"url\":\"http://127.0.0.1:$P_SSE/sse\"}" \
        old "{\"url\":\"http://127.0.0.1:$P_SSE/SSE\"}" \
        rec "{\"url\":\"http://127.0.0.1:$P_REC/mcp\",\"transport\":\"http\",\"timeout\":2,
              \"headers\":{\"Authorization\":\"Bearer \${E2E_UP_TOKEN}\",\"X-Upstream-Key\":\"\${E2E_UP_KEY}\"}}" \
        hole "{\"url\":\"http://127.0.0.1:$P_HOLE/mcp\",\"startupTimeout\":3}" \
        gone "{\"url\":\"http://127.0.0.1:$P_GONE/mcp\",\"transport\":\"streamable-http\"}" \
        tls "{\"url\":\"https://127.0.0.1:$P_TLS/mcp\",\"transport\":\"http\"}" \
        fx "$(srv_fixture fx)" |
        # The transports' own behaviour, on the one session that serves everyone (instances of
        # remote servers: e2e-instances.sh).
        jq -c '.mcpServers[] += {isolation: "shared"}' |
        # ... and rec once more as "recs", with an MCP session per client session (the default).
        jq -c '.mcpServers.recs = (.mcpServers.rec | del(.isolation) | .idleTimeout = 30)')"
start_hub MCP_RESTART_DELAY=0.2 E2E_UP_TOKEN="$UP_TOKEN" E2E_UP_KEY="$UP_KEY" || exit 1
start_front || exit 1
for s in web legacy old rec fx; do
        check "upstream $s becomes ready" wait_upstream "$s" ready 60
done

# A stdio server started while remote ones hold sockets inherits none of the hub's
# descriptors (libcurl's sockets are not close-on-exec on Debian 12): restart fx now.
old_fx=$(fixture_pid fx)
"$BUILD/mcp-proxyctl" restart fx >/dev/null 2>&1
fx_restarted() { [[ $(fixture_pid fx) != "$old_fx" ]] && wait_upstream fx ready 1; }
check "fx restarted while the remote upstreams are connected" wait_for 20 fx_restarted
check_eq "... its descriptors are 0, 1 and 2 only (nothing of the hub's, no socket)" "0 1 2" \
        "$(ls "/proc/$(fixture_pid fx)/fd" 2>/dev/null | sort -n | xargs)"

# ... and the hub's own descriptors without close-on-exec (flags octal 02000000), if any
no_cloexec=$(for f in /proc/$HUB_PID/fdinfo/*; do
        n=${f##*/}
        ((n > 2)) || continue
        fl=$(awk '/^flags:/ {print $2}' "$f" 2>/dev/null) || continue
        [[ -n $fl ]] && (((8#$fl & 8#2000000) == 0)) && echo "$n:$(readlink "/proc/$HUB_PID/fd/$n")"
done | xargs)
echo "    (hub descriptors without close-on-exec: ${no_cloexec:-none})"

H=$(health)
check_jq "/health: web detected as Streamable HTTP, with a session and a GET stream" \
        '.upstreams[] | select(.name == "web") | .detected == "streamable-http" and .session == true and .get_stream == "open"' "$H"
check_jq "/health: old detected as legacy SSE (its POST initialize got 404)" \
        '.upstreams[] | select(.name == "old") | .detected == "sse" and (.endpoint | startswith("http://127.0.0.1"))' "$H"
check_jq "/health: the legacy endpoint is shown without its query (the session id)" \
        '.upstreams[] | select(.name == "legacy") | .endpoint | test("\\?") | not' "$H"
check_jq "/health: rec is shown by url, transport http" \
        ".upstreams[] | select(.name == \"rec\") | .url == \"http://127.0.0.1:$P_REC/mcp\" and .transport == \"http\"" "$H"
check "upstream gone (nothing listens) goes to backoff" wait_upstream gone backoff 10
check_jq "/health: gone's last_error says it cannot be reached" \
        '.upstreams[] | select(.name == "gone") | .last_error | test("cannot be reached")' "$(health)"
if ((${#TLS_ARGS[@]})); then
        check "upstream tls (self-signed certificate) is refused: backoff" wait_upstream tls backoff 10
        check_jq "/health: tls's last_error is about the certificate" \
                '.upstreams[] | select(.name == "tls") | .last_error | test("certificate"; "i")' "$(health)"
        check_eq "no MCP request got through the refused TLS connection" 0 \
                "$(jq -s --argjson p "$P_TLS" '[.[] | select(.port == $p)] | length' "$REC_LOG")"
fi
check_jq "/health: hole (never answers) is starting or backing off, not ready" \
        '.upstreams[] | select(.name == "hole") | .state == "starting" or .state == "backoff"' "$(health)"

# ---- the SDK client, one session for the whole run
mkfifo "$T/sdk.in"
node "$E2E_DIR/sdk-remote.mjs" "$URL/mcp" "$KEY" <"$T/sdk.in" >"$T/sdk.out" 2>&1 &
SDK_PID=$!
PIDS+=("$SDK_PID")
exec {SDKIN}>"$T/sdk.in"
sdk_waits() { grep -q "^WAIT $1\$" "$T/sdk.out" || ! kill -0 "$SDK_PID" 2>/dev/null; }

if wait_for 120 sdk_waits down && kill -0 "$SDK_PID" 2>/dev/null; then
        # ---- kill both server-everything processes
        kill -KILL "$HTTP_PID" "$SSE_PID"
        wait "$HTTP_PID" "$SSE_PID" 2>/dev/null
        t0=$(now_ms)
        check "/health shows web down (backoff) after its server was killed" wait_upstream web backoff 10
        t_down=$(($(now_ms) - t0))
        check "/health shows legacy down (backoff) after its server was killed" wait_upstream legacy backoff 10
        check_jq "/health: rec and fx stay ready meanwhile" \
                '[.upstreams[] | select(.name == "rec" or .name == "fx") | .state] == ["ready","ready"]' "$(health)"
        mcp_initialize || fail "curl: initialize while web is down" "HTTP $INIT_CODE" "$INIT_BODY"
        S2=$SESSION
        mcp_call "$S2" fx_echo '{"message":"curl while down"}'
        check_jq "curl: fx_echo answers while the remotes are down" '.result.content[0].text == "Echo: curl while down"'
        mcp_call "$S2" web_echo '{"message":"x"}'
        check_jq "curl: web_echo while down: JSON-RPC error naming web" '.error.message | test("web")'
        echo down >&"$SDKIN"
        if wait_for 60 sdk_waits up && kill -0 "$SDK_PID" 2>/dev/null; then
                sleep 1 # the hub keeps retrying meanwhile, with a growing delay
                start_everything streamableHttp "$P_HTTP" || exit 1
                start_everything sse "$P_SSE" || exit 1
                t0=$(now_ms)
                check "web recovers (ready) once its server runs again" wait_upstream web ready 40
                t_rec=$(($(now_ms) - t0))
                check "legacy recovers (ready) once its server runs again" wait_upstream legacy ready 40
                t_rec2=$(($(now_ms) - t0))
                echo "INFO web seen down after ${t_down} ms; recovered ${t_rec} ms (legacy ${t_rec2} ms) after the servers listened again"
                check_jq "/health: web counts its restarts" \
                        '.upstreams[] | select(.name == "web") | .restarts >= 1' "$(health)"
                echo up >&"$SDKIN"
        else
                fail "sdk-remote.mjs reaches the 'up' phase" "$(tail -n 5 "$T/sdk.out")"
        fi
else
        fail "sdk-remote.mjs reaches the 'down' phase" "$(tail -n 5 "$T/sdk.out")"
fi
wait_for 60 bash -c "! kill -0 $SDK_PID 2>/dev/null"
exec {SDKIN}>&-
wait "$SDK_PID" 2>/dev/null
SDK_RC=$?
while IFS= read -r line; do
        case $line in
        "PASS "*) pass "${line#PASS }" ;;
        "FAIL "*) fail "${line#FAIL }" ;;
        "INFO "*) echo "$line" ;;
        "WAIT "*) ;;
        *) [[ -n $line ]] && printf '    | %s\n' "${line:0:300}" ;;
        esac
done <"$T/sdk.out"
check_eq "sdk-remote.mjs exits 0" 0 "$SDK_RC"

# ---- what the remote server saw (rec)
mcp_initialize || fail "curl: initialize" "HTTP $INIT_CODE" "$INIT_BODY"
S=$SESSION
rec_reqs() { jq -c --argjson p "$P_REC" 'select(.port == $p)' "$REC_LOG"; }
check "rec saw requests" test -n "$(rec_reqs)"
check_eq "no request to rec carried the client's key" 0 "$(grep -cF -- "$KEY" "$REC_LOG")"
check_eq "every request to rec carried the config Authorization (\${E2E_UP_TOKEN})" \
        "$(rec_reqs | wc -l)" "$(rec_reqs | jq -r --arg t "Bearer $UP_TOKEN" 'select(.headers.authorization == $t) | 1' | wc -l)"
check_eq "every request to rec carried X-Upstream-Key (\${E2E_UP_KEY})" \
        "$(rec_reqs | wc -l)" "$(rec_reqs | jq -r --arg k "$UP_KEY" 'select(.headers["x-upstream-key"] == $k) | 1' | wc -l)"
check_jq "POSTs accept JSON and SSE and send JSON" \
        '[.[] | select(.method == "POST")] | length > 0 and all(.headers.accept == "application/json, text/event-stream" and .headers["content-type"] == "application/json")' \
        "$(rec_reqs | jq -s .)"
check_jq "a 2025-era server: server/discover (2026-07-28 headers, no session) refused, then initialize" \
        '[.[] | select(.rpc.method == "server/discover")] | length >= 1 and all(.status >= 400 and .headers["mcp-session-id"] == null and .headers["mcp-protocol-version"] == "2026-07-28" and .headers["mcp-method"] == "server/discover")' \
        "$(rec_reqs | jq -s .)"
check_jq "every request after initialize carries Mcp-Session-Id and MCP-Protocol-Version 2025-11-25" \
        '[.[] | select(.rpc.method != "initialize" and .rpc.method != "server/discover")] | length > 0 and all(.headers["mcp-session-id"] != null and .headers["mcp-protocol-version"] == "2025-11-25")' \
        "$(rec_reqs | jq -s .)"
check_jq "initialize itself carries neither" \
        '[.[] | select(.rpc.method == "initialize")] | length >= 1 and all(.headers["mcp-session-id"] == null and .headers["mcp-protocol-version"] == null)' \
        "$(rec_reqs | jq -s .)"
check_jq "the GET stream asks for text/event-stream" \
        '[.[] | select(.method == "GET")] | length >= 1 and all(.headers.accept == "text/event-stream")' \
        "$(rec_reqs | jq -s .)"
check_jq "the hung request was cancelled upstream after the timeout" \
        '[.[] | select(.rpc.method == "notifications/cancelled")] | length >= 1' "$(rec_reqs | jq -s .)"

# big answers, as JSON and as one SSE event; over the 16 MiB cap: an error, the rest goes on
for sse in false true; do
        mcp_call "$S" rec_big "{\"bytes\":3000000,\"sse\":$sse}"
        check_jq "a 3 MB answer comes through whole (sse: $sse)" '.result.content[0].text | length == 3000000'
done
mcp_call "$S" rec_big '{"bytes":17000000}'
check_jq "a 17 MB JSON answer: an error naming rec and the cap" \
        '.error.message | test("rec") and test("over 16777216 bytes")'
mcp_call "$S" rec_big '{"bytes":17000000,"sse":true}'
check_jq "a 17 MB SSE event: dropped, the request gets an error" '.error.message | test("rec")'
mcp_call "$S" rec_echo '{"message":"after the big ones"}'
check_jq "rec answers normally afterwards" '.result.content[0].text == "Echo: after the big ones"'

# many calls at once over the remote transports
conc_call() { # TOOL I
        local out
        mcp_call "$S" "$1" "{\"message\":\"c$2\"}"
        out=$(jq -r '.result.content[0].text // .error.message' <<<"$BODY")
        [[ $out == "Echo: c$2" ]] || echo "$1 $2: $out"
}
: >"$T/conc.out"
CONC=()
for i in $(seq 1 20); do
        for tool in web_echo legacy_echo rec_echo; do
                conc_call "$tool" "$i" >>"$T/conc.out" &
                CONC+=("$!")
        done
done
wait "${CONC[@]}"
check_eq "60 concurrent calls to web, legacy and rec all answer right" "" "$(head -c 600 "$T/conc.out")"

# the GET stream drops: reopened with Last-Event-ID
mcp_call "$S" rec_drop-stream '{}'
check_jq "rec_drop-stream answers" '.result.content[0].text | startswith("dropped after ev-")'
EV=$(jq -r '.result.content[0].text | sub("dropped after "; "")' <<<"$BODY")
check "after the drop the hub reopens the GET stream with Last-Event-ID: $EV" \
        wait_for 10 bash -c "jq -se --arg e '$EV' 'any(.[]; .method == \"GET\" and .headers[\"last-event-id\"] == \$e)' '$REC_LOG' >/dev/null"
rec_has() { all_tool_names "$S" | grep -qx "$1"; }
check "the list_changed queued while the stream was down is replayed: rec_late appears" \
        wait_for 10 rec_has rec_late

# list_changed on the GET stream: the catalogue follows
mcp_call "$S" rec_add-tool '{}'
check_jq "rec_add-tool answers" '.result.content[0].text == "added"'
check "notifications/tools/list_changed on the GET stream adds rec_extra" wait_for 10 rec_has rec_extra
mcp_call "$S" rec_extra '{}'
check_jq "rec_extra answers" '.result.content[0].text == "extra"'

# the server loses our session: a new one, transparently, and the request is retried once
rec_inits() { rec_reqs | jq -s '[.[] | select(.rpc.method == "initialize")] | length'; }
n_init=$(rec_inits)
mcp_call "$S" rec_forget '{}'
check_jq "rec_forget answers" '.result.content[0].text == "forgotten"'
mcp_call "$S" rec_echo '{"message":"after the loss"}'
check_jq "rec_echo right after the server lost our session still answers" \
        '.result.content[0].text == "Echo: after the loss"'
check_eq "... after a new initialize of our own" "$((n_init + 1))" "$(rec_inits)"
check_jq "... the call got 404 with the old session, then 200 with the new one" \
        '[.[] | select(.rpc.params.arguments.message == "after the loss")] | length == 2 and (.[0].status == 404) and (.[1].status == 200) and (.[0].headers["mcp-session-id"] != .[1].headers["mcp-session-id"])' \
        "$(rec_reqs | jq -s .)"
check "the hub log says the server lost our session" grep -q "lost our session" "$T/hub.log"
check "a GET stream opens in the new session" wait_for 10 bash -c \
        "[[ \$(jq -s '[.[] | select(.port == $P_REC and .method == \"GET\")] | .[-1].headers[\"mcp-session-id\"]' '$REC_LOG') == \
           \$(jq -s '[.[] | select(.port == $P_REC and .rpc.method == \"tools/call\")] | .[-1].headers[\"mcp-session-id\"]' '$REC_LOG') ]]"
check_jq "/health: rec counts one new session" '.upstreams[] | select(.name == "rec") | .new_sessions == 1' "$(health)"

# ... and when the GET stream goes with it, the hub finds out alone (a ping with the session
# gets 404) and initializes a new session before any client asks
mcp_call "$S" rec_forget '{"cut":true}'
check_jq "rec_forget with the stream cut answers" '.result.content[0].text == "forgotten"'
rec_new_sessions() { [[ $(upstream_field rec .new_sessions) == 2 ]]; }
check "the hub initializes a second new session by itself" wait_for 10 rec_new_sessions
check_jq "... after its own ping got 404" \
        '[.[] | select(.rpc.method == "ping" and .status == 404)] | length >= 1' "$(rec_reqs | jq -s .)"
mcp_call "$S" rec_echo '{"message":"third session"}'
check_jq "rec_echo answers in the third session" '.result.content[0].text == "Echo: third session"'

# a call to the hanging server's tools cannot happen (it never got ready): clear error
mcp_call "$S" hole_anything '{}'
check_jq "a call to the never-ready server gets an error naming it" '.error.message | test("hole")'

SID=$(rec_reqs | jq -rs '[.[] | select(.rpc.method == "tools/call")] | .[-1].headers["mcp-session-id"]')

# ---- instances of a remote server: one MCP session upstream per client session
mcp_initialize || fail "curl: initialize (recs 1)" "HTTP $INIT_CODE" "$INIT_BODY"
R1=$SESSION
mcp_initialize || fail "curl: initialize (recs 2)" "HTTP $INIT_CODE" "$INIT_BODY"
R2=$SESSION
mcp_call "$R1" recs_echo '{"message":"r1"}'
check_jq "recs: session 1's call answers" '.result.content[0].text == "Echo: r1"'
mcp_call "$R2" recs_echo '{"message":"r2"}'
check_jq "recs: session 2's call answers" '.result.content[0].text == "Echo: r2"'
recs_sid() { # MESSAGE: the upstream session id the call carrying it came with
        rec_reqs | jq -rs --arg m "$1" \
                '[.[] | select(.rpc.method == "tools/call" and .rpc.params.arguments.message == $m)]
                 | .[-1].headers["mcp-session-id"] // empty'
}
U1=$(recs_sid r1) U2=$(recs_sid r2)
check "recs: each client session's call reached the server in an MCP session of its own" \
        test -n "$U1" -a -n "$U2" -a "$U1" != "$U2" -a "$U1" != "$SID" -a "$U2" != "$SID"
check_jq "/health: recs lists two ready instances, each with its upstream session" \
        '.isolation == "session" and ([.instances[] | select(.state == "ready" and .upstream_session == true)] | length == 2)' \
        "$(health | jq -c '.upstreams[] | select(.name == "recs")')"
mcp_post "$R2" '{}' -X DELETE
recs_one_left() { [[ $(upstream_field recs '.instances | length') == 1 ]]; }
check "recs: the instance of a deleted client session stops" wait_for 5 recs_one_left
recs_deleted() {
        rec_reqs | jq -es --arg s "$U2" '[.[] | select(.method == "DELETE" and .headers["mcp-session-id"] == $s)] | length == 1' >/dev/null
}
check "recs: ... and the hub DELETEd its upstream session" wait_for 5 recs_deleted

# ---- stop: DELETE of the upstream sessions, nothing left behind
check_no_keys_in_logs "$KEY" "$UP_TOKEN" "$UP_KEY"
stop_hub 15
check_eq "hub exits 0 on SIGTERM" 0 "$HUB_RC"
check "hub stops within 5 s (DELETE with a short timeout; the blackhole does not hold it)" test "$HUB_STOP_MS" -lt 5000
check_jq "the hub DELETEd its session at rec on stop" \
        "[.[] | select(.method == \"DELETE\" and .headers[\"mcp-session-id\"] == \"$SID\")] | length == 1" \
        "$(rec_reqs | jq -s .)"
