#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# make bench: tools/call of `echo` through mcp-proxy (the front under
# systemd-socket-activate --accept, plus the hub) against the same
# @modelcontextprotocol/server-everything driven directly over its stdio
# pipes, in interleaved rounds; prints medians side by side with the targets
# and the peer figures of /work/shared/reference/peer-baseline.md.
#
# Environment:
#   BUILD               build directory with the binaries (default build)
#   BENCH_ROUNDS        interleaved rounds of direct and proxy (default 5)
#   BENCH_SEQ           sequential calls per round, after 10% warm-up (default 2000)
#   BENCH_CONC          calls per connection with 16 connections (default 600)
#   BENCH_COLD          cold GET /health requests per round (default 100)
#   BENCH_LIST          sequential tools/list requests per round (default 300)
#   BENCH_WARM          untimed calls that warm each server up first (default 10000)
#   BENCH_OUT           logs and raw RESULT lines (default bench/out/last)
#   MCP_EVERYTHING      server-everything binary (default tests/node_modules/.bin/...)
#   BENCH_LOG_LEVEL     MCP_LOG_LEVEL for hub and front (default: theirs)
#
# Exit status: 0 when every run completed without failed requests (a missed
# target is reported, not an error); 1 on failed requests or a broken setup.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

BUILD=${BUILD:-build}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
ROUNDS=${BENCH_ROUNDS:-5}
SEQ_N=${BENCH_SEQ:-2000}
SEQ_W=$((SEQ_N / 10))
CONC_CONNS=16
CONC_N=${BENCH_CONC:-600}
CONC_W=50
COLD_N=${BENCH_COLD:-100}
LIST_N=${BENCH_LIST:-300}
DIRECT_CONC_N=20000
# A fresh server-everything answers echo at ~110 us p50 and a warm one (V8 tiered up) at
# ~45 us: both sides get this many untimed calls first (the direct side every round, since
# each round spawns a new server; the proxy's upstream once, it lives through all rounds).
WARM_N=${BENCH_WARM:-10000}
HOLD_MS=1500
KEY=benchkey
OUT=${BENCH_OUT:-$ROOT/bench/out/last}
EVERYTHING=${MCP_EVERYTHING:-$ROOT/tests/node_modules/.bin/mcp-server-everything}
LOAD=$BUILD/bench/mcp-load
DIRECT=$BUILD/bench/stdio-direct
HELLO=$BUILD/bench/http-hello
HUB=$BUILD/mcp-proxy-hub
FRONT=$BUILD/mcp-proxy

errors=0
err() {
        echo "bench: $*" >&2
        errors=$((errors + 1))
}
die() {
        echo "bench: $*" >&2
        exit 1
}
now_ms() {
        echo $(($(date +%s%N) / 1000000))
}

# ---- dependencies: only through .ci/deps.sh, else npm in tests/ ----
if [[ ! -x $EVERYTHING ]]; then
        if [[ -x .ci/deps.sh ]]; then
                .ci/deps.sh test || die ".ci/deps.sh test failed"
        elif [[ -f tests/package-lock.json ]]; then
                npm ci --prefix tests --no-audit --no-fund --loglevel=error || die "npm ci failed"
        else
                npm install --no-save --prefix tests --no-audit --no-fund --loglevel=error \
                        @modelcontextprotocol/server-everything@2026.8.31 || die "npm install failed"
        fi
fi
[[ -x $EVERYTHING ]] || die "no server-everything at $EVERYTHING"
for b in "$LOAD" "$DIRECT"; do
        [[ -x $b ]] || die "missing $b (run: make $BUILD/bench/mcp-load $BUILD/bench/stdio-direct)"
done
have_proxy=1
for b in "$HUB" "$FRONT"; do
        if [[ ! -x $b ]]; then
                err "missing $b: measuring the direct side only"
                have_proxy=
        fi
done
if [[ -n $have_proxy ]] && ! command -v systemd-socket-activate >/dev/null; then
        err "systemd-socket-activate not found: measuring the direct side only"
        have_proxy=
fi

rm -rf "$OUT"
mkdir -p "$OUT" || die "cannot create $OUT"
RESULTS=$OUT/results.txt
: >"$RESULTS"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mcp-bench.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$TMP"' EXIT

# Run copies, so a rebuild of $BUILD during the run cannot swap a binary under us.
snapshot() { # VAR: copy the binary VAR names into $TMP/bin and point VAR at the copy
        local src=${!1} dst i
        dst=$TMP/bin/$(basename "$src")
        mkdir -p "$TMP/bin"
        for ((i = 0; i < 10; i++)); do
                if cp "$src" "$dst" 2>/dev/null && "$dst" --help >/dev/null 2>&1; then
                        printf -v "$1" '%s' "$dst"
                        return 0
                fi
                sleep 1 # being relinked right now
        done
        die "cannot take a working copy of $src"
}
snapshot LOAD
snapshot DIRECT
[[ -x $HELLO ]] && HELLO_SRC=$HELLO && cp "$HELLO_SRC" "$TMP/bin/" && HELLO=$TMP/bin/http-hello
if [[ -n $have_proxy ]]; then
        snapshot HUB
        snapshot FRONT
fi

# ---- processes: every one we start is recorded and stopped by PID ----
hub_pid= ssa_pid= bg_pid= hello_pid=
upstream_pids=()

is_running() { # a live process, not a zombie
        local st
        [[ -r /proc/$1/stat ]] || return 1
        st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
        [[ -n $st && $st != Z ]]
}

stop_pid() { # PID [grace tenths]: TERM, wait, KILL; reaps it when it is our child
        local pid=$1 tenths=${2:-30} i
        [[ -n $pid ]] || return 0
        if is_running "$pid"; then
                kill -TERM "$pid" 2>/dev/null
                for ((i = 0; i < tenths; i++)); do
                        is_running "$pid" || break
                        sleep 0.1
                done
                is_running "$pid" && kill -KILL "$pid" 2>/dev/null
        fi
        wait "$pid" 2>/dev/null
        return 0
}

children_of() {
        pgrep -P "$1" 2>/dev/null || true
}

cleanup() {
        local p fronts=()
        trap - EXIT INT TERM
        stop_pid "$bg_pid" 20
        stop_pid "$hello_pid" 20
        if [[ -n $ssa_pid ]]; then
                mapfile -t fronts < <(children_of "$ssa_pid")
                stop_pid "$ssa_pid" 20
                for p in "${fronts[@]}"; do
                        is_running "$p" && kill -TERM "$p" 2>/dev/null
                done
        fi
        stop_pid "$hub_pid" 60
        # The hub stops its children itself; only a crashed hub leaves one behind.
        for p in "${upstream_pids[@]}"; do
                if is_running "$p" && grep -qa mcp-server-everything "/proc/$p/cmdline" 2>/dev/null; then
                        kill -TERM "$p" 2>/dev/null
                fi
        done
        rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

status_kb() { # PID FIELD: the kB value of FIELD in /proc/PID/status, or empty
        awk -v f="$2:" '$1 == f { print $2; exit }' "/proc/$1/status" 2>/dev/null
}

free_port() {
        local p i
        for ((i = 0; i < 50; i++)); do
                p=$((20000 + RANDOM % 30000))
                if ! ss -Htln 2>/dev/null | awk '{ print $4 }' | grep -q ":$p\$"; then
                        echo "$p"
                        return 0
                fi
        done
        return 1
}

record() { # ROUND < RESULT lines on stdin
        grep '^RESULT ' | sed "s/\$/ round=$1/" >>"$RESULTS"
}

# ---- the proxy: hub, then the front under socket activation ----
start_proxy() {
        local t0 i body
        cat >"$TMP/config.json" <<EOF
{"mcpServers":{"everything":{"command":"$EVERYTHING","args":["stdio"]}}}
EOF
        t0=$(now_ms)
        (
                export MCP_HUB_SOCKET=$TMP/hub.sock MCP_CONFIG_PATH=$TMP/config.json
                [[ -n ${BENCH_LOG_LEVEL:-} ]] && export MCP_LOG_LEVEL=$BENCH_LOG_LEVEL
                exec "$HUB"
        ) 2>>"$OUT/hub.log" </dev/null >/dev/null &
        hub_pid=$!
        for ((i = 0; i < 100; i++)); do
                [[ -S $TMP/hub.sock ]] && break
                is_running "$hub_pid" || break
                sleep 0.1
        done
        [[ -S $TMP/hub.sock ]] || {
                err "the hub did not create $TMP/hub.sock (see $OUT/hub.log)"
                return 1
        }

        PORT=$(free_port) || {
                err "no free port"
                return 1
        }
        (
                export MCP_HUB_SOCKET=$TMP/hub.sock MCP_API_KEYS=$KEY:bench
                [[ -n ${BENCH_LOG_LEVEL:-} ]] && export MCP_LOG_LEVEL=$BENCH_LOG_LEVEL
                env_args=(-E MCP_HUB_SOCKET -E MCP_API_KEYS)
                [[ -n ${BENCH_LOG_LEVEL:-} ]] && env_args+=(-E MCP_LOG_LEVEL)
                exec systemd-socket-activate --accept -l "127.0.0.1:$PORT" "${env_args[@]}" "$FRONT"
        ) 2>>"$OUT/front.log" </dev/null >/dev/null &
        ssa_pid=$!
        for ((i = 0; i < 50; i++)); do
                ss -Htln 2>/dev/null | awk '{ print $4 }' | grep -q "^127.0.0.1:$PORT\$" && break
                is_running "$ssa_pid" || break
                sleep 0.1
        done
        is_running "$ssa_pid" || {
                err "systemd-socket-activate exited (see $OUT/front.log)"
                return 1
        }

        # Ready when /health (with the key) lists the upstream as ready.
        for ((i = 0; i < 150; i++)); do
                body=$("$LOAD" --port "$PORT" --key "$KEY" --mode health-cold --requests 1 \
                        --warmup 0 --print-body --name probe 2>/dev/null | grep -v '^RESULT ')
                if grep -Eq '"state" *: *"ready"' <<<"$body"; then
                        PROXY_READY_MS=$(($(now_ms) - t0))
                        echo "$body" >"$OUT/health.json"
                        mapfile -t upstream_pids < <(children_of "$hub_pid")
                        return 0
                fi
                is_running "$hub_pid" || break
                sleep 0.2
        done
        echo "$body" >"$OUT/health.json"
        err "the upstream never became ready in /health (see $OUT/health.json, $OUT/hub.log)"
        return 1
}

# The floor of a cold connection: systemd-socket-activate starting a C program that
# links nothing but libc and answers one fixed response.
start_floor() {
        local i
        [[ -x $HELLO ]] || return 1
        HELLO_PORT=$(free_port) || return 1
        systemd-socket-activate --accept --inetd -l "127.0.0.1:$HELLO_PORT" "$HELLO" \
                2>>"$OUT/hello.log" </dev/null >/dev/null &
        hello_pid=$!
        for ((i = 0; i < 50; i++)); do
                ss -Htln 2>/dev/null | awk '{ print $4 }' | grep -q "^127.0.0.1:$HELLO_PORT\$" &&
                        return 0
                is_running "$hello_pid" || break
                sleep 0.1
        done
        err "systemd-socket-activate for http-hello did not listen (see $OUT/hello.log)"
        stop_pid "$hello_pid" 20
        hello_pid=
        return 1
}

# ---- one round of each side ----
run_direct() { # ROUND
        local out rc
        out=$("$DIRECT" --requests "$SEQ_N" --warmup "$WARM_N" --list-requests "$LIST_N" \
                --inflight 16 --conc-requests "$DIRECT_CONC_N" --stderr "$OUT/direct-stderr.log" \
                -- "$EVERYTHING" stdio 2>>"$OUT/direct.err")
        rc=$?
        record "$1" <<<"$out"
        ((rc == 0)) || err "round $1: stdio-direct failed (rc $rc, see $OUT/direct.err)"
}

sample_fronts() { # ROUND: VmHWM of every front serving a held connection (two looks)
        local p hwm rss anon max=0 n=0 maxn=0 maxrss=0 maxanon=0 look
        for look in 1 2; do
                n=0
                for p in $(children_of "$ssa_pid"); do
                        hwm=$(status_kb "$p" VmHWM)
                        rss=$(status_kb "$p" VmRSS)
                        anon=$(status_kb "$p" RssAnon)
                        [[ -n $hwm ]] || continue
                        n=$((n + 1))
                        ((hwm > max)) && max=$hwm
                        ((${rss:-0} > maxrss)) && maxrss=${rss:-0}
                        ((${anon:-0} > maxanon)) && maxanon=${anon:-0}
                done
                ((n > maxn)) && maxn=$n
                ((look == 1)) && sleep 0.3
        done
        n=$maxn
        echo "RESULT name=front-rss fronts=$n front_hwm_kb=$max front_rss_kb=$maxrss" \
                "front_anon_kb=$maxanon round=$1" >>"$RESULTS"
        ((n > 0)) || err "round $1: found no front process under systemd-socket-activate"
}

run_proxy() { # ROUND
        local out rc i common=(--port "$PORT" --key "$KEY")
        out=$("$LOAD" "${common[@]}" --conns 1 --requests "$SEQ_N" --warmup "$SEQ_W" \
                --name proxy-call 2>>"$OUT/load.err")
        rc=$?
        record "$1" <<<"$out"
        ((rc == 0)) || err "round $1: sequential tools/call had failures (see $OUT/load.err)"

        # ping is answered by the hub itself: HTTP + front + hub, no upstream.
        out=$("$LOAD" "${common[@]}" --mode ping --conns 1 --requests "$SEQ_N" --warmup "$SEQ_W" \
                --name proxy-ping 2>>"$OUT/load.err")
        rc=$?
        record "$1" <<<"$out"
        ((rc == 0)) || err "round $1: ping had failures (see $OUT/load.err)"

        out=$("$LOAD" "${common[@]}" --mode list --conns 1 --requests "$LIST_N" \
                --warmup $((LIST_N / 10)) --name proxy-list 2>>"$OUT/load.err")
        rc=$?
        record "$1" <<<"$out"
        ((rc == 0)) || err "round $1: tools/list had failures (see $OUT/load.err)"

        # 16 connections; they stay open HOLD_MS after the RESULT line for the RSS sample.
        : >"$TMP/conc.out"
        "$LOAD" "${common[@]}" --conns "$CONC_CONNS" --requests "$CONC_N" --warmup "$CONC_W" \
                --hold-ms "$HOLD_MS" --name proxy-conc >"$TMP/conc.out" 2>>"$OUT/load.err" &
        bg_pid=$!
        for ((i = 0; i < 1200; i++)); do
                grep -q '^RESULT ' "$TMP/conc.out" && break
                is_running "$bg_pid" || break
                sleep 0.05
        done
        if grep -q '^RESULT ' "$TMP/conc.out" && is_running "$bg_pid"; then
                sample_fronts "$1"
        else
                err "round $1: no front RSS sample (the concurrent run ended early or took > 60 s)"
        fi
        wait "$bg_pid"
        rc=$?
        bg_pid=
        record "$1" <"$TMP/conc.out"
        ((rc == 0)) || err "round $1: concurrent tools/call had failures (see $OUT/load.err)"

        out=$("$LOAD" "${common[@]}" --mode health-cold --requests "$COLD_N" --warmup 10 \
                --name proxy-cold 2>>"$OUT/load.err")
        rc=$?
        record "$1" <<<"$out"
        ((rc == 0)) || err "round $1: cold /health had failures (see $OUT/load.err)"

        if [[ -n $hello_pid ]]; then
                out=$("$LOAD" --port "$HELLO_PORT" --mode health-cold --requests "$COLD_N" \
                        --warmup 10 --name floor-cold 2>>"$OUT/load.err")
                rc=$?
                record "$1" <<<"$out"
                ((rc == 0)) || err "round $1: cold floor (http-hello) had failures"
        fi
}

# ---- main ----
t_begin=$(now_ms)
load_begin=$(cut -d' ' -f1 /proc/loadavg)
PROXY_READY_MS=
if [[ -n $have_proxy ]]; then
        start_floor
        if start_proxy; then
                sleep 0.5
                echo "RESULT name=hub-idle hub_rss_kb=$(status_kb "$hub_pid" VmRSS)" \
                        "hub_hwm_kb=$(status_kb "$hub_pid" VmHWM)" \
                        "hub_anon_kb=$(status_kb "$hub_pid" RssAnon) ready_ms=$PROXY_READY_MS" \
                        >>"$RESULTS"
                if ! "$LOAD" --port "$PORT" --key "$KEY" --conns 1 --requests "$WARM_N" \
                        --warmup 0 --name proxy-warmup >"$OUT/warmup.txt" 2>>"$OUT/load.err"; then
                        err "the warm-up through the proxy had failures (see $OUT/load.err)"
                fi
        else
                have_proxy=
        fi
fi

for ((r = 1; r <= ROUNDS; r++)); do
        echo "bench: round $r/$ROUNDS" >&2
        if ((r % 2)) || [[ -z $have_proxy ]]; then
                run_direct "$r"
                [[ -n $have_proxy ]] && run_proxy "$r"
        else
                run_proxy "$r"
                run_direct "$r"
        fi
        if [[ -n $have_proxy ]] && ! is_running "$hub_pid"; then
                err "the hub died during round $r (see $OUT/hub.log)"
                have_proxy=
        fi
done

if [[ -n $have_proxy ]]; then
        up_hwm=0
        for p in "${upstream_pids[@]}"; do
                v=$(status_kb "$p" VmHWM)
                [[ -n $v ]] && ((v > up_hwm)) && up_hwm=$v
        done
        echo "RESULT name=hub-peak hub_rss_kb=$(status_kb "$hub_pid" VmRSS)" \
                "hub_hwm_kb=$(status_kb "$hub_pid" VmHWM)" \
                "hub_anon_kb=$(status_kb "$hub_pid" RssAnon) upstream_hwm_kb=$up_hwm" >>"$RESULTS"
fi
t_total=$((($(now_ms) - t_begin) / 1000))
load_end=$(cut -d' ' -f1 /proc/loadavg)

# ---- report ----
med() { # NAME FIELD: median over rounds, or "-"
        awk -v n="$1" -v f="$2" '$1 == "RESULT" {
                name = ""; val = ""
                for (i = 2; i <= NF; i++) {
                        eq = index($i, "=")
                        k = substr($i, 1, eq - 1)
                        if (k == "name") name = substr($i, eq + 1)
                        if (k == f) val = substr($i, eq + 1)
                }
                if (name == n && val != "") print val
        }' "$RESULTS" | sort -g | awk '{ a[NR] = $1 }
                END { if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2];
                      else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
sum_field() { # FIELD: summed over every RESULT line
        awk -v f="$1" '$1 == "RESULT" { for (i = 2; i <= NF; i++) {
                eq = index($i, "="); if (substr($i, 1, eq - 1) == f) s += substr($i, eq + 1) } }
                END { print s + 0 }' "$RESULTS"
}
calc() { # awk expression over numbers; "-" when an operand is missing
        local e=$1
        shift
        for a in "$@"; do [[ $a == - || -z $a ]] && { echo -; return; }; done
        awk "BEGIN { $e }" /dev/null
}
mb() { calc "printf \"%.1f\", $1 / 1024" "$1"; }
num() { calc "printf \"%.0f\", $1" "$1"; }

pc50=$(med proxy-call p50_us) dc50=$(med direct-call p50_us)
pc90=$(med proxy-call p90_us) dc90=$(med direct-call p90_us)
pc99=$(med proxy-call p99_us) dc99=$(med direct-call p99_us)
pcmax=$(med proxy-call max_us) dcmax=$(med direct-call max_us)
pl50=$(med proxy-list p50_us) dl50=$(med direct-list p50_us)
pp50=$(med proxy-ping p50_us) pp99=$(med proxy-ping p99_us)
leg50=$(calc "printf \"%.0f\", $pc50 - $pp50" "$pc50" "$pp50")
overleg=$(calc "printf \"%+.0f us\", $pc50 - $pp50 - $dc50" "$pc50" "$pp50" "$dc50")
pcrps=$(med proxy-call rps) dcrps=$(med direct-call rps)
pqrps=$(med proxy-conc rps) dqrps=$(med direct-conc rps)
pq50=$(med proxy-conc p50_us) dq50=$(med direct-conc p50_us)
pq99=$(med proxy-conc p99_us) dq99=$(med direct-conc p99_us)
cold50=$(med proxy-cold p50_us) cold99=$(med proxy-cold p99_us)
ttfb50=$(med proxy-cold ttfb_p50_us)
floor50=$(med floor-cold p50_us) floor99=$(med floor-cold p99_us)
floorttfb=$(med floor-cold ttfb_p50_us)
overcold=$(calc "printf \"%+.0f us\", $cold50 - $floor50" "$cold50" "$floor50")
coldrps=$(med proxy-cold rps)
init50=$(med proxy-call init_p50_us)
dready=$(med direct-proc ready_ms) pready=$(med hub-idle ready_ms)
hub_idle=$(med hub-idle hub_rss_kb) hub_peak=$(med hub-peak hub_hwm_kb)
hub_anon=$(med hub-peak hub_anon_kb)
front_hwm=$(awk '$2 == "name=front-rss" { for (i = 3; i <= NF; i++) if ($i ~ /^front_hwm_kb=/) {
        v = substr($i, 14) + 0; if (v > m) m = v } } END { if (m) print m; else print "-" }' "$RESULTS")
front_anon=$(med front-rss front_anon_kb)
up_proxy=$(med hub-peak upstream_hwm_kb) up_direct=$(med direct-proc upstream_hwm_kb)
fails=$(sum_field fail)
reconn=$(sum_field reconnects) lingers=$(sum_field lingers)

over50=$(calc "printf \"%+.0f us (x%.2f)\", $pc50 - $dc50, $pc50 / $dc50" "$pc50" "$dc50")
over90=$(calc "printf \"%+.0f us\", $pc90 - $dc90" "$pc90" "$dc90")
over99=$(calc "printf \"%+.0f us\", $pc99 - $dc99" "$pc99" "$dc99")
overl=$(calc "printf \"%+.0f us (x%.2f)\", $pl50 - $dl50, $pl50 / $dl50" "$pl50" "$dl50")
ratioq=$(calc "printf \"x%.2f\", $pqrps / $dqrps" "$pqrps" "$dqrps")
ratioc=$(calc "printf \"x%.2f\", $pcrps / $dcrps" "$pcrps" "$dcrps")

row() { printf '%-40s | %-16s | %-14s | %-20s | %s\n' "$@"; }
{
        echo
        echo "mcp-proxy bench: tools/call echo {\"message\":\"hello\"} to server-everything, medians of $ROUNDS interleaved rounds (${t_total}s)"
        echo "load average $load_begin at the start, $load_end at the end, on $(nproc) CPUs (above ~1 per CPU the figures are noisy)"
        echo "proxy = mcp-load -> 127.0.0.1 -> systemd-socket-activate --accept -> mcp-proxy -> hub -> stdio; direct = stdio-direct on the server's pipes"
        echo
        row "metric" "proxy" "direct stdio" "overhead / ratio" "peers (peer-baseline.md)"
        row "----------------------------------------" "----------------" "--------------" "--------------------" "------------------------"
        row "tools/call p50 (us), 1 conn sequential" "$(num "$pc50")" "$(num "$dc50")" "$over50" "mcp-proxy 757, supergateway 706 (floor 93)"
        row "tools/call p90 (us)" "$(num "$pc90")" "$(num "$dc90")" "$over90" "-"
        row "tools/call p99 (us)" "$(num "$pc99")" "$(num "$dc99")" "$over99" "5573, 6270 (floor 2253)"
        row "tools/call max (us)" "$(num "$pcmax")" "$(num "$dcmax")" "" "-"
        row "tools/call sequential (req/s)" "$(num "$pcrps")" "$(num "$dcrps")" "$ratioc" "-"
        row "ping p50 / p99 (us), hub answers" "$(num "$pp50") / $(num "$pp99")" "-" "HTTP+front+hub only" "-"
        row "call p50 - ping p50: upstream leg (us)" "$leg50" "$(num "$dc50")" "$overleg" "-"
        row "tools/list p50 (us)" "$(num "$pl50")" "$(num "$dl50")" "$overl" "2130, 1886"
        row "tools/call 16 conc (req/s)" "$(num "$pqrps")" "$(num "$dqrps")" "$ratioq" "2421, 2282 (floor 50447)"
        row "tools/call 16 conc p50 / p99 (us)" "$(num "$pq50") / $(num "$pq99")" "$(num "$dq50") / $(num "$dq99")" "" "-"
        row "cold GET /health p50 / p99 (us)" "$(num "$cold50") / $(num "$cold99")" "-" "$overcold over floor" "832, 737 (no exec)"
        row "cold time to first byte p50 (us)" "$(num "$ttfb50")" "-" "$(num "$coldrps") conn/s" "-"
        row "cold floor p50 / p99 (us), ttfb p50" "$(num "$floor50") / $(num "$floor99")" "-" "ttfb $(num "$floorttfb")" "(ssa + exec of a libc-only C responder)"
        row "initialize p50 (us), incl. front exec" "$(num "$init50")" "-" "" "23843, 277325"
        row "ready (ms): start -> upstream ready" "$(num "$pready")" "$(num "$dready")" "" "842, 743"
        row "hub RSS idle -> peak (MB)" "$(mb "$hub_idle") -> $(mb "$hub_peak")" "-" "anon $(mb "$hub_anon") MB" "99->246, 134->296"
        row "front RSS peak (MB, max of 16)" "$(mb "$front_hwm")" "-" "anon $(mb "$front_anon") MB" "(one process)"
        row "upstream RSS peak (MB, not counted)" "$(mb "$up_proxy")" "$(mb "$up_direct")" "" "118, 120"
        row "failed requests (all runs)" "$fails" "" "reconnects $reconn, lingers $lingers" "0"
        echo
        echo "targets (issue):"
        t1=$(calc "print (($pc50 - $dc50 <= 100) ? \"PASS\" : \"MISS\")" "$pc50" "$dc50")
        t2=$(calc "print (($hub_peak <= 8192) ? \"PASS\" : \"MISS\")" "$hub_peak")
        t3=$(calc "print (($front_hwm <= 2048) ? \"PASS\" : \"MISS\")" "$front_hwm")
        printf '  %-4s proxy overhead on tools/call p50 <= 100 us over direct stdio: %s\n' "$t1" "$over50"
        printf '  %-4s hub RSS <= 8 MB: peak %s MB (VmHWM; idle %s MB)\n' "$t2" "$(mb "$hub_peak")" "$(mb "$hub_idle")"
        printf '  %-4s front RSS <= 2 MB: peak %s MB (VmHWM, largest of the fronts)\n' "$t3" "$(mb "$front_hwm")"
        echo
        echo "peers: Node proxies add 600-800 us p50 per call, serve 2-3k req/s and hold 150-300 MB RSS"
        echo "(peer-baseline.md: 5 interleaved rounds, same server, 2-core machine; orders of magnitude)."
        echo "RSS is VmRSS/VmHWM from /proc/PID/status (shared library pages included; 'anon' = RssAnon);"
        echo "the upstream (the hub's child) is not counted in the hub's figure."
        echo "both servers warmed up with $WARM_N untimed calls (BENCH_WARM) before any timed run."
        echo "tools/list through the proxy is answered from the hub's aggregated catalogue, not forwarded."
        echo "cold = new TCP connection per GET /health: systemd-socket-activate forks and execs one front"
        echo "per connection; the floor is the same for bench/http-hello, a libc-only C responder."
        echo "raw RESULT lines and logs: $OUT"
} | tee "$OUT/table.txt"

if ((fails > 0)); then
        err "$fails failed requests"
fi
if ((errors > 0)); then
        echo "bench: $errors error(s)" >&2
        exit 1
fi
exit 0
