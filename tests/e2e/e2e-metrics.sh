#!/usr/bin/env bash
# Audit records and GET /metrics (issue 15): calls of every outcome (ok,
# isError, JSON-RPC error, timeout, cancelled) through mcp-fixture; the
# Prometheus text parsed and its counters, histogram and state gauges checked
# against them; /metrics 401 without a key and 403 for a key without the
# "metrics" scope; one audit record per call in the hub's stderr log with its
# outcome, duration, sizes and the SHA-256 of the compact arguments, and no
# API key or argument value anywhere in the logs.
source "$(dirname "$0")/lib.sh"
require_binaries "$FIXTURE"
export CURL_MAX_TIME=20
export LC_ALL=C # ${#var} counts bytes

newkey() { printf 'e2e-%s-%s' "$1" "$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"; }
KM=$(newkey metrics) # client "m", scope "metrics" only
KN=$(newkey calls)   # client "n", scope "mcp": calls, no metrics
jq -n --arg km "$KM" --arg kn "$KN" \
        '{($km): {client_id: "m", scopes: ["metrics"]}, ($kn): {client_id: "n", scopes: ["mcp"]}}' \
        >"$T/keys.json"
chmod 600 "$T/keys.json"
# lib.sh's helpers (mcp_post, health) use $KEY: the calls are client n's
KEY=$KN
KEY_CLIENT=n

# one server: names unprefixed, and any URI routes to it
write_config "$(config_of fx "$(srv_fixture fx | jq -c '.timeout = 1')")"
start_hub || exit 1
start_front "MCP_API_KEYS_PATH=$T/keys.json" || exit 1
check "fx becomes ready" wait_upstream fx ready 20

# ---- the exposition, parsed ----

# parse_metrics FILE: checks the text format (HELP and TYPE before a family's samples,
# names, label syntax and escapes, values) and prints one line per sample:
# "name<TAB>labels<TAB>value", labels sorted and unescaped as k=v joined by ",".
# Errors go to stderr as "BAD: ..." lines.
parse_metrics() {
        awk '
        function bad(why) { print "BAD: line " NR ": " why ": " $0 > "/dev/stderr"; nbad++ }
        # the family a sample belongs to: its name less a histogram suffix
        function family(n,   f) {
                if (n in type) return n
                f = n; sub(/_(bucket|sum|count)$/, "", f)
                if (f in type && type[f] == "histogram") return f
                return ""
        }
        /^# HELP / { if ($3 in help) bad("second HELP"); help[$3] = 1; next }
        /^# TYPE / {
                if ($3 in type) bad("second TYPE")
                if ($4 !~ /^(counter|gauge|histogram|summary|untyped)$/) bad("unknown type")
                if ($3 in seen) bad("TYPE after samples")
                type[$3] = $4; next
        }
        /^#/ || /^$/ { next }
        {
                line = $0
                if (!match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*/)) { bad("no metric name"); next }
                name = substr(line, 1, RLENGTH); line = substr(line, RLENGTH + 1)
                f = family(name)
                if (f == "") { bad("sample without TYPE"); next }
                if (!(f in help)) bad("sample without HELP")
                seen[f] = 1
                n = 0; delete kv
                if (substr(line, 1, 1) == "{") {
                        line = substr(line, 2)
                        while (substr(line, 1, 1) != "}") {
                                if (!match(line, /^[a-zA-Z_][a-zA-Z0-9_]*="/)) { bad("label syntax"); next }
                                k = substr(line, 1, RLENGTH - 2); line = substr(line, RLENGTH + 1)
                                v = ""
                                while (1) {
                                        c = substr(line, 1, 1)
                                        if (c == "") { bad("unterminated label value"); next }
                                        line = substr(line, 2)
                                        if (c == "\"") break
                                        if (c == "\\") {
                                                e = substr(line, 1, 1); line = substr(line, 2)
                                                if (e == "n") c = "\n"
                                                else if (e == "\\" || e == "\"") c = e
                                                else { bad("bad escape \\" e); next }
                                        }
                                        v = v c
                                }
                                kv[++n] = k "=" v
                                if (substr(line, 1, 1) == ",") line = substr(line, 2)
                                else if (substr(line, 1, 1) != "}") { bad("label list syntax"); next }
                        }
                        line = substr(line, 2)
                }
                if (line !~ /^ ([-+]?[0-9.eE+-]+|[-+]?Inf|NaN)( -?[0-9]+)?$/) { bad("value"); next }
                split(substr(line, 2), parts, " ")
                # sort the labels (insertion sort: a handful)
                for (i = 2; i <= n; i++) { t = kv[i]; for (j = i - 1; j >= 1 && kv[j] > t; j--) kv[j + 1] = kv[j]; kv[j + 1] = t }
                lab = ""; for (i = 1; i <= n; i++) lab = lab (i > 1 ? "," : "") kv[i]
                print name "\t" lab "\t" parts[1]
        }
        END { exit nbad > 0 }' "$1"
}

# get_metrics: GET /metrics with KM into $T/metrics.txt, parsed into $T/metrics.tsv.
get_metrics() {
        req GET /metrics -H "Authorization: Bearer $KM"
        cp "$RESP_BODY" "$T/metrics.txt"
        parse_metrics "$T/metrics.txt" >"$T/metrics.tsv" 2>"$T/metrics.err"
}

# mval NAME LABELS: the value of one sample (labels as parse_metrics prints them), or
# "none".
mval() {
        awk -F '\t' -v n="$1" -v l="$2" '$1 == n && $2 == l { v = $3; f = 1 } END { print f ? v : "none" }' \
                "$T/metrics.tsv"
}

# ---- who may read it ----
req GET /metrics
check_code "/metrics without a key: 401" 401
check_contains "401 names the Bearer scheme" "$(header WWW-Authenticate)" Bearer
req GET /metrics -H "Authorization: Bearer $KN"
check_code "/metrics with a key lacking the \"metrics\" scope: 403" 403
req GET /metrics -H "Authorization: Bearer e2e-no-such-key"
check_code "/metrics with an unknown key: 401" 401
req POST /metrics -H "Authorization: Bearer $KM"
check_code "POST /metrics: 405" 405
# the "metrics" key is a Prometheus server's: it calls no tool
req POST /mcp -H "Authorization: Bearer $KM" -H "Content-Type: application/json" \
        -H "Accept: application/json, text/event-stream" \
        -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"m","version":"1"}}}'
check_code "POST /mcp with a key whose only scope is \"metrics\": 403" 403
check_contains "... naming the missing scope" "$BODY" 'lacks the \"mcp\" scope'
req GET /sse -H "Authorization: Bearer $KM" -H "Accept: text/event-stream"
check_code "GET /sse (legacy) with it: 403 too" 403
check "front log: the refusal names the client and the scope" \
        grep -q "client 'm' has no \"mcp\" scope, refusing /mcp" "$T/front.log"

get_metrics
check_code "/metrics with the \"metrics\" scope: 200" 200
check_eq "Content-Type is the text format 0.0.4" "text/plain; version=0.0.4; charset=utf-8" \
        "$(header Content-Type)"
check "the exposition parses (before any call)" test ! -s "$T/metrics.err"
for fam in mcp_proxy_requests_total:counter mcp_proxy_request_duration_seconds:histogram \
        mcp_proxy_denied_total:counter mcp_proxy_limited_total:counter mcp_proxy_upstream_up:gauge \
        mcp_proxy_upstream_restarts_total:counter mcp_proxy_instances:gauge mcp_proxy_sessions:gauge; do
        check "HELP and TYPE ${fam#*:} for ${fam%%:*}" \
                bash -c 'grep -qx "# TYPE $1 $2" "$3" && grep -q "^# HELP $1 ." "$3"' _ "${fam%%:*}" "${fam#*:}" "$T/metrics.txt"
done
check_eq "no request counted yet" "" "$(awk -F '\t' '$1 == "mcp_proxy_requests_total"' "$T/metrics.tsv")"
check_eq "mcp_proxy_upstream_up{server=fx} 1" 1 "$(mval mcp_proxy_upstream_up server=fx)"
check_eq "mcp_proxy_sessions 0 before initialize" 0 "$(mval mcp_proxy_sessions '')"

# ---- the calls ----
SECRET_A=arg-value-a-$RANDOM$RANDOM
SECRET_B=arg-value-b-$RANDOM$RANDOM
mcp_initialize || fail "initialize" "HTTP $INIT_CODE" "$INIT_BODY"
S=$SESSION

# call NAME ARGS: a tools/call; sets SENT (the body) and RAW_BODY (the answer).
call() {
        next_id
        SENT=$(jq -cn --argjson id "$E2E_ID" --arg t "$1" --argjson a "$2" \
                '{jsonrpc: "2.0", id: $id, method: "tools/call", params: {name: $t, arguments: $a}}')
        mcp_post "$S" "$SENT"
}

declare -A SENT_LEN GOT_LEN
call echo "{\"message\":\"$SECRET_A\"}"
check_jq "echo: ok" ".result.content[0].text == \"Echo: $SECRET_A\""
SENT_LEN[echo]=${#SENT} GOT_LEN[echo]=${#RAW_BODY}
call echo "{\"message\":\"$SECRET_A\"}"
call fail '{}'
check_jq "fail: an isError result" '.result.isError == true'
SENT_LEN[fail]=${#SENT} GOT_LEN[fail]=${#RAW_BODY}
call error "{\"note\":\"$SECRET_B\"}"
check_jq "error: a JSON-RPC error" '.error.code == -32042'
SENT_LEN[error]=${#SENT} GOT_LEN[error]=${#RAW_BODY}
t0=$(now_ms)
call sleep '{"ms":3000}'
check_jq "sleep 3 s past the server's 1 s timeout: an error" '.error | type == "object"'
check "the timeout came after about 1 s" test $(($(now_ms) - t0)) -lt 2900
call no-such-tool '{}'
check_jq "unknown tool: an error from the hub (no call, no record)" '.error.code == -32602'

# a call cancelled by the client
next_id
CANCEL_ID=$E2E_ID
(
        mcp_post "$S" "{\"jsonrpc\":\"2.0\",\"id\":$CANCEL_ID,\"method\":\"tools/call\",\"params\":{\"name\":\"sleep\",\"arguments\":{\"ms\":2500}}}"
        echo "$CODE" >"$T/cancelled.code"
) &
CPID=$!
PIDS+=("$CPID")
# (the hub logs each call at debug: the second sleep is on its way)
sleeps_sent() { (($(grep -c "tools/call 'sleep' on upstream" "$T/hub.log") >= 2)); }
check "the call to cancel is in flight" wait_for 5 sleeps_sent
sleep 0.2
mcp_post "$S" "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":$CANCEL_ID,\"reason\":\"e2e\"}}"
check_code "notifications/cancelled: 202" 202
wait "$CPID"

# a resource URI with a quote, a backslash and a space: escaped in both outputs
WEIRD_URI='fx://odd/a"b\c d'
next_id
mcp_post "$S" "$(jq -cn --argjson id "$E2E_ID" --arg u "$WEIRD_URI" '{jsonrpc: "2.0", id: $id, method: "resources/read", params: {uri: $u}}')"
WEIRD_OUTCOME=$(jq -r 'if .error then "error" else "ok" end' <<<"$BODY")

# ---- the counters ----
get_metrics
check "the exposition parses (after the calls)" test ! -s "$T/metrics.err"
[[ -s $T/metrics.err ]] && fail "parse errors" "$(head -5 "$T/metrics.err")"
lab() { printf 'client=n,method=%s,name=%s,outcome=%s,server=fx' "$1" "$2" "$3"; }
check_eq "requests_total echo ok: 2" 2 "$(mval mcp_proxy_requests_total "$(lab tools/call echo ok)")"
check_eq "requests_total fail tool_error: 1" 1 "$(mval mcp_proxy_requests_total "$(lab tools/call fail tool_error)")"
check_eq "requests_total error error: 1" 1 "$(mval mcp_proxy_requests_total "$(lab tools/call error error)")"
check_eq "requests_total sleep timeout: 1" 1 "$(mval mcp_proxy_requests_total "$(lab tools/call sleep timeout)")"
check_eq "requests_total sleep cancelled: 1" 1 "$(mval mcp_proxy_requests_total "$(lab tools/call sleep cancelled)")"
check_eq "requests_total resources/read with the odd URI, unescaped back: 1" 1 \
        "$(mval mcp_proxy_requests_total "$(lab resources/read "$WEIRD_URI" "$WEIRD_OUTCOME")")"
check_eq "nothing for the unknown tool" "" "$(grep -F 'no-such-tool' "$T/metrics.tsv")"
check_eq "requests_total sums to the 7 calls" 7 \
        "$(awk -F '\t' '$1 == "mcp_proxy_requests_total" { s += $3 } END { print s + 0 }' "$T/metrics.tsv")"
check_contains "the odd URI is escaped in the text" "$(cat "$T/metrics.txt")" 'name="fx://odd/a\"b\\c d"'

H=mcp_proxy_request_duration_seconds
check_eq "duration count for tools/call: 6" 6 "$(mval ${H}_count method=tools/call,server=fx)"
check_eq "bucket +Inf equals the count" 6 "$(mval ${H}_bucket le=+Inf,method=tools/call,server=fx)"
check "buckets never decrease and end with +Inf" bash -c '
        awk -F "\t" -v n="$2" '\''$1 == n && $2 ~ /method=tools\/call,server=fx$/ {
                if ($3 + 0 < last) bad = 1; last = $3 + 0; le = $2 } END { exit bad || le !~ /^le=\+Inf,/ }'\'' "$1"' \
        _ "$T/metrics.tsv" "${H}_bucket"
check_eq "the 1 s timeout is past le=1, the rest within" "5 6" \
        "$(mval ${H}_bucket le=1,method=tools/call,server=fx) $(mval ${H}_bucket le=2.5,method=tools/call,server=fx)"
check "duration sum at least the 1 s timeout" awk -v s="$(mval ${H}_sum method=tools/call,server=fx)" 'BEGIN { exit !(s >= 1 && s < 10) }'
check_eq "mcp_proxy_upstream_restarts_total{server=fx} 0" 0 "$(mval mcp_proxy_upstream_restarts_total server=fx)"
check_eq "mcp_proxy_sessions 1" 1 "$(mval mcp_proxy_sessions '')"
check_eq "mcp_proxy_instances 1 (client n's instance of fx)" 1 "$(mval mcp_proxy_instances '')"
check_eq "mcp_proxy_denied_total: no series" "" "$(awk -F '\t' '$1 == "mcp_proxy_denied_total"' "$T/metrics.tsv")"

# ---- the audit records ----
mapfile -t REC < <(grep 'audit: record=' "$T/hub.log")
check_eq "one audit record per call (7)" 7 "${#REC[@]}"
# afield LINE KEY: a key=value field of a record line, unquoted
afield() {
        local re=" $2=(\"(([^\"\\\\]|\\\\.)*)\"|([^ ]*))"
        [[ " $1" =~ $re ]] || return 1
        if [[ -n ${BASH_REMATCH[2]} || ${BASH_REMATCH[1]} == '""' ]]; then
                printf '%b' "${BASH_REMATCH[2]//\\\"/\"}"
        else
                printf '%s' "${BASH_REMATCH[4]}"
        fi
}
# rec NAME OUTCOME: the first record line of that name and outcome
rec() {
        local l
        for l in "${REC[@]}"; do
                [[ $(afield "$l" name) == "$1" && $(afield "$l" outcome) == "$2" ]] && { printf '%s' "$l"; return 0; }
        done
        return 1
}
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
for spec in "echo ok {\"message\":\"$SECRET_A\"}" "fail tool_error {}" \
        "error error {\"note\":\"$SECRET_B\"}" 'sleep timeout {"ms":3000}' 'sleep cancelled {"ms":2500}'; do
        read -r name outcome args <<<"$spec"
        line=$(rec "$name" "$outcome")
        if [[ -z $line ]]; then
                fail "audit: a record for $name $outcome" "records:" "${REC[@]}"
                continue
        fi
        check_eq "audit $name $outcome: client, session, upstream, method" \
                "n ${S:0:16} fx tools/call" \
                "$(afield "$line" client) $(afield "$line" session) $(afield "$line" upstream) $(afield "$line" method)"
        check_eq "audit $name $outcome: args_sha256 is sha256 of the compact arguments" \
                "$(sha "$args")" "$(afield "$line" args_sha256)"
        check "audit $name $outcome: duration_usec, bytes_in, bytes_out are numbers" \
                bash -c '[[ $1 =~ ^[0-9]+$ && $2 =~ ^[1-9][0-9]*$ && $3 =~ ^[0-9]+$ ]]' _ \
                "$(afield "$line" duration_usec)" "$(afield "$line" bytes_in)" "$(afield "$line" bytes_out)"
done
for name in echo fail error; do
        outcome=$(case $name in echo) echo ok ;; fail) echo tool_error ;; *) echo error ;; esac)
        line=$(rec "$name" "$outcome")
        check_eq "audit $name: bytes_in is the body as sent" "${SENT_LEN[$name]}" "$(afield "$line" bytes_in)"
        check_eq "audit $name: bytes_out is the answer as delivered" "${GOT_LEN[$name]}" "$(afield "$line" bytes_out)"
done
line=$(rec sleep timeout)
check "audit timeout: duration at least the 1 s timeout" test "$(afield "$line" duration_usec)" -ge 1000000
check_eq "audit cancelled: nothing delivered" 0 "$(afield "$(rec sleep cancelled)" bytes_out)"
check_contains "audit error: the code, not the message" "$(rec error error)" 'detail="JSON-RPC error -32042 from the server"'
line=$(rec "$WEIRD_URI" "$WEIRD_OUTCOME")
check_eq "audit resources/read: the odd URI quoted and back" "resources/read $WEIRD_URI" \
        "$(afield "$line" method) $(afield "$line" name)"
check "audit resources/read: no arguments, no hash" bash -c '[[ $1 != *args_sha256=* ]]' _ "$line"

# ---- nothing secret ----
check_no_keys_in_logs "$KM" "$KN"
for s in "$SECRET_A" "$SECRET_B"; do
        check "argument value ${s%-*} in no log" bash -c '! grep -qF -- "$1" "$2"/*.log' _ "$s" "$T"
done
