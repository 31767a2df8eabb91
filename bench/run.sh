#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# make bench: tools/call of `echo` through mcp-proxy (the front under
# systemd-socket-activate --accept, plus the hub) against the same
# @modelcontextprotocol/server-everything driven directly over its stdio
# pipes, in interleaved rounds; prints medians side by side with the targets
# and the peer figures of /work/shared/reference/peer-baseline.md.
#
# Then the isolation section: 16 connections, each its own client session, on
# server-everything with "isolation": "session" (16 upstream instances) against
# the same load on a "shared" server (one upstream session), interleaved rounds,
# throughput ratio beside the target (>= 60%).
#
# Then the remote sections: server-everything in streamableHttp (and legacy
# sse) mode on 127.0.0.1, measured directly with mcp-load (--transport http or
# sse) and through the proxy with the hub configured with it as its one
# remote upstream, again in interleaved rounds; plus the hub's RSS with a
# remote upstream (libcurl loaded), beside the stdio-only figure.
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
#   BENCH_REMOTE        remote sections: "http sse" (default), "http", "sse" or "" (none)
#   BENCH_REMOTE_ROUNDS interleaved rounds per remote section (default BENCH_ROUNDS)
#   BENCH_REMOTE_SEQ    sequential remote calls per round, after 10% warm-up (default 200)
#   BENCH_REMOTE_CONC   remote calls per connection with 16 connections (default 20)
#   BENCH_REMOTE_WARM   untimed calls warming each remote server up first (default 600)
#   BENCH_RULES         access-rules section: "1" (default) or "" (none): tools/call p50 of
#                       a client with 100 rules and limits against one without, same hub
#   BENCH_RULES_ROUNDS  its interleaved rounds (default 2 * BENCH_ROUNDS + 1: single runs
#                       jump between levels on a noisy VM, the median needs more of them)
#   BENCH_ERA           2026-07-28 section: "1" (default) or "" (none): tools/call p50 of a
#                       stateless request (its own session in the hub, no Mcp-Session-Id)
#                       against a 2025 session's, same hub, interleaved
#   BENCH_ERA_ROUNDS    its interleaved rounds (default 2 * BENCH_ROUNDS + 1)
#   BENCH_ISO           isolation section: "1" (default) or "" (none)
#   BENCH_ISO_ROUNDS    interleaved rounds of the isolation section (default BENCH_ROUNDS)
#   BENCH_ISO_CONC      timed calls per connection, 16 connections (default 300)
#   BENCH_ISO_WARM      untimed calls per connection first (default 200; they start the
#                       session side's 16 instances)
#
# Exit status: 0 when every run completed without failed requests (a missed
# target is reported, not an error); 1 on failed requests or a broken setup.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# The hubs started here need no control socket (and must not take /run's).
export MCP_CONTROL_SOCKET=

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
REMOTE_KINDS=${BENCH_REMOTE-http sse}
R_ROUNDS=${BENCH_REMOTE_ROUNDS:-$ROUNDS}
R_SEQ=${BENCH_REMOTE_SEQ:-200}
R_SEQ_W=$((R_SEQ / 10))
R_CONC=${BENCH_REMOTE_CONC:-20}
R_CONC_W=5
R_WARM=${BENCH_REMOTE_WARM:-600}
RULES=${BENCH_RULES-1}
RULES_ROUNDS=${BENCH_RULES_ROUNDS:-$((2 * ROUNDS + 1))}
ERA=${BENCH_ERA-1}
ERA_ROUNDS=${BENCH_ERA_ROUNDS:-$((2 * ROUNDS + 1))}
ISO=${BENCH_ISO-1}
ISO_ROUNDS=${BENCH_ISO_ROUNDS:-$ROUNDS}
ISO_N=${BENCH_ISO_CONC:-300}
ISO_W=${BENCH_ISO_WARM:-200}
# server-everything has no option for its listen address: this preload binds it to 127.0.0.1
LOOPBACK=$ROOT/tests/e2e/loopback-only.cjs
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
proxy_bins=$have_proxy # the stdio section may give up on its hub; the remote ones start their own
kinds=$REMOTE_KINDS REMOTE_KINDS=
for kind in $kinds; do
        case $kind in
        http | sse) REMOTE_KINDS+="${REMOTE_KINDS:+ }$kind" ;;
        *) err "unknown remote kind '$kind' in BENCH_REMOTE (http, sse): skipped" ;;
        esac
done
if [[ -n $REMOTE_KINDS ]]; then
        if ! command -v node >/dev/null || [[ ! -f $LOOPBACK ]]; then
                err "no node or no $LOOPBACK: skipping the remote sections"
                REMOTE_KINDS=
        fi
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
remote_pid=""
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

stop_proxy() { # the front (socket activation and its fronts) and the hub started last
        local p fronts=()
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
        ssa_pid="" hub_pid=""
        upstream_pids=()
}

cleanup() {
        trap - EXIT INT TERM
        stop_pid "$bg_pid" 20
        stop_pid "$hello_pid" 20
        stop_proxy
        stop_pid "$remote_pid" 30
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

listening_on() { # ADDR PORT: something listens on exactly ADDR:PORT
        ss -Htln 2>/dev/null | awk '{ print $4 }' | grep -qxF "$1:$2"
}

listening_wildcard() { # PORT: something listens on PORT on every interface
        ss -Htln 2>/dev/null | awk '{ print $4 }' | grep -Eqx "(\*|0\.0\.0\.0|\[::\]):$1"
}

record() { # ROUND < RESULT lines on stdin
        grep '^RESULT ' | sed "s/\$/ round=$1/" >>"$RESULTS"
}

# ---- the proxy: hub, then the front under socket activation ----
# The default config measures the proxy's own cost: one warmed server-everything, as direct
# stdio has ("isolation": "shared"; with the default "client" every round's new session of
# the bench's one client id would start a fresh, cold instance). What isolation costs is the
# isolation section's.
start_proxy() { # [TAG CONFIG]: the hub with CONFIG (default: server-everything over stdio)
        local t0 i body sfx=${1:+-$1}
        local sock=$TMP/hub$sfx.sock conf=$TMP/config$sfx.json hlog=$OUT/hub$sfx.log
        local flog=$OUT/front$sfx.log
        if (($# > 1)); then
                printf '%s\n' "$2" >"$conf"
        else
                cat >"$conf" <<EOF
{"mcpServers":{"everything":{"command":"$EVERYTHING","args":["stdio"],"isolation":"shared"}}}
EOF
        fi
        t0=$(now_ms)
        (
                export MCP_HUB_SOCKET=$sock MCP_CONFIG_PATH=$conf
                [[ -n ${BENCH_LOG_LEVEL:-} ]] && export MCP_LOG_LEVEL=$BENCH_LOG_LEVEL
                # remote upstreams are on 127.0.0.1: never through a proxy from the environment
                unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
                export NO_PROXY='*' no_proxy='*'
                exec "$HUB"
        ) 2>>"$hlog" </dev/null >/dev/null &
        hub_pid=$!
        for ((i = 0; i < 100; i++)); do
                [[ -S $sock ]] && break
                is_running "$hub_pid" || break
                sleep 0.1
        done
        [[ -S $sock ]] || {
                err "the hub did not create $sock (see $hlog)"
                return 1
        }

        PORT=$(free_port) || {
                err "no free port"
                return 1
        }
        (
                export MCP_HUB_SOCKET=$sock MCP_API_KEYS=$KEY:bench${EXTRA_KEYS:+,$EXTRA_KEYS}
                [[ -n ${BENCH_LOG_LEVEL:-} ]] && export MCP_LOG_LEVEL=$BENCH_LOG_LEVEL
                env_args=(-E MCP_HUB_SOCKET -E MCP_API_KEYS)
                [[ -n ${BENCH_LOG_LEVEL:-} ]] && env_args+=(-E MCP_LOG_LEVEL)
                exec systemd-socket-activate --accept -l "127.0.0.1:$PORT" "${env_args[@]}" "$FRONT"
        ) 2>>"$flog" </dev/null >/dev/null &
        ssa_pid=$!
        for ((i = 0; i < 50; i++)); do
                ss -Htln 2>/dev/null | awk '{ print $4 }' | grep -q "^127.0.0.1:$PORT\$" && break
                is_running "$ssa_pid" || break
                sleep 0.1
        done
        is_running "$ssa_pid" || {
                err "systemd-socket-activate exited (see $flog)"
                return 1
        }

        # Ready when /health (with the key) lists the upstream as ready.
        for ((i = 0; i < 150; i++)); do
                body=$("$LOAD" --port "$PORT" --key "$KEY" --mode health-cold --requests 1 \
                        --warmup 0 --print-body --name probe 2>/dev/null | grep -v '^RESULT ')
                if grep -Eq '"state" *: *"ready"' <<<"$body"; then
                        PROXY_READY_MS=$(($(now_ms) - t0))
                        echo "$body" >"$OUT/health$sfx.json"
                        mapfile -t upstream_pids < <(children_of "$hub_pid")
                        return 0
                fi
                is_running "$hub_pid" || break
                sleep 0.2
        done
        echo "$body" >"$OUT/health$sfx.json"
        err "the upstream never became ready in /health (see $OUT/health$sfx.json, $hlog)"
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

# ---- remote upstreams: server-everything over HTTP on 127.0.0.1 ----
start_remote_server() { # MODE PORT: server-everything MODE (streamableHttp, sse) on 127.0.0.1:PORT
        local mode=$1 port=$2 i
        env PORT="$port" node -r "$LOOPBACK" "$EVERYTHING" "$mode" \
                >>"$OUT/remote-$mode.log" 2>&1 </dev/null &
        remote_pid=$!
        for ((i = 0; i < 300; i++)); do
                if listening_wildcard "$port"; then
                        err "server-everything $mode listens on every interface, not 127.0.0.1: stopped"
                        stop_pid "$remote_pid" 10
                        remote_pid=
                        return 1
                fi
                listening_on 127.0.0.1 "$port" && return 0
                is_running "$remote_pid" || break
                sleep 0.1
        done
        err "server-everything $mode did not listen on 127.0.0.1:$port (see $OUT/remote-$mode.log)"
        stop_pid "$remote_pid" 10
        remote_pid=
        return 1
}

remote_load() { # ROUND NAME ARGS...: one mcp-load run, recorded
        local round=$1 name=$2 out rc
        shift 2
        out=$("$LOAD" "$@" --name "$name" 2>>"$OUT/load-remote.err")
        rc=$?
        record "$round" <<<"$out"
        ((rc == 0)) || err "round $round: $name had failures (rc $rc, see $OUT/load-remote.err)"
}

remote_side() { # KIND SIDE ROUND: SIDE is direct (to the server) or proxy
        local kind=$1 side=$2 round=$3 to
        if [[ $side == direct ]]; then
                to=(--port "$REMOTE_PORT" --transport "$kind")
        else
                to=(--port "$PORT" --key "$KEY")
        fi
        remote_load "$round" "r$side-$kind-call" "${to[@]}" --conns 1 --requests "$R_SEQ" \
                --warmup "$R_SEQ_W"
        remote_load "$round" "r$side-$kind-conc" "${to[@]}" --conns "$CONC_CONNS" \
                --requests "$R_CONC" --warmup "$R_CONC_W"
}

hub_rss_result() { # NAME [EXTRA]: the hub's RSS figures as a RESULT line
        echo "RESULT name=$1 hub_rss_kb=$(status_kb "$hub_pid" VmRSS)" \
                "hub_hwm_kb=$(status_kb "$hub_pid" VmHWM)" \
                "hub_anon_kb=$(status_kb "$hub_pid" RssAnon) ${2:-}" >>"$RESULTS"
}

# One section: the server, warmed up directly; the hub with it as its only upstream
# ("remote", so its tools keep their names); interleaved rounds of both sides.
remote_section() { # KIND: http (streamableHttp at /mcp) or sse (legacy, stream at /sse)
        local kind=$1 mode path proxied='' r
        case $kind in
        http) mode=streamableHttp path=/mcp ;;
        sse) mode=sse path=/sse ;;
        esac
        REMOTE_PORT=$(free_port) || {
                err "no free port"
                return 1
        }
        start_remote_server "$mode" "$REMOTE_PORT" || return 1
        echo "RESULT name=remote-$kind port=$REMOTE_PORT" >>"$RESULTS"
        "$LOAD" --port "$REMOTE_PORT" --transport "$kind" --requests "$R_WARM" --warmup 0 \
                --name "rdirect-$kind-warmup" >"$OUT/warmup-remote-$kind.txt" 2>>"$OUT/load-remote.err" ||
                err "the warm-up of server-everything $mode had failures (see $OUT/load-remote.err)"
        if [[ -n $proxy_bins ]] && start_proxy "remote-$kind" \
                "{\"mcpServers\":{\"remote\":{\"url\":\"http://127.0.0.1:$REMOTE_PORT$path\",\"transport\":\"$kind\"}}}"; then
                proxied=1
                sleep 0.5
                hub_rss_result "hub-idle-$kind" "ready_ms=$PROXY_READY_MS"
                "$LOAD" --port "$PORT" --key "$KEY" --requests $((R_WARM / 4)) --warmup 0 \
                        --name "rproxy-$kind-warmup" >>"$OUT/warmup-remote-$kind.txt" \
                        2>>"$OUT/load-remote.err" ||
                        err "the warm-up through the proxy ($kind upstream) had failures"
        fi
        for ((r = 1; r <= R_ROUNDS; r++)); do
                echo "bench: remote $kind round $r/$R_ROUNDS" >&2
                if ((r % 2)) || [[ -z $proxied ]]; then
                        remote_side "$kind" direct "$r"
                        [[ -n $proxied ]] && remote_side "$kind" proxy "$r"
                else
                        remote_side "$kind" proxy "$r"
                        remote_side "$kind" direct "$r"
                fi
                if [[ -n $proxied ]] && ! is_running "$hub_pid"; then
                        err "the hub ($kind upstream) died during round $r (see $OUT/hub-remote-$kind.log)"
                        proxied=
                fi
                if ! is_running "$remote_pid"; then
                        err "server-everything $mode died during round $r (see $OUT/remote-$mode.log)"
                        break
                fi
        done
        [[ -n $proxied ]] && hub_rss_result "hub-peak-$kind"
        stop_proxy
        stop_pid "$remote_pid" 30
        remote_pid=
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
t_stdio=$((($(now_ms) - t_begin) / 1000))
load_stdio=$(cut -d' ' -f1 /proc/loadavg)
stop_proxy
stop_pid "$hello_pid" 20
hello_pid=

# ---- access rules: the choke point's cost with 100 rules and limits on ----
# One hub, one shared server-everything; client "bench" has 100 globs (the one that lets
# echo through last) and requests_per_minute and concurrent_calls set high enough never to
# refuse; client "free" is not in the users file and has no rule. Interleaved rounds.
rules_side() { # SIDE KEY ROUND: on (the client with rules) or off
        remote_load "$3" "rules-$1" --port "$PORT" --key "$2" --conns 1 --requests "$SEQ_N" \
                --warmup "$SEQ_W"
}
rules_section() {
        local r key2 globs
        key2=free-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
        globs=$(for i in $(seq 98); do printf '"nomatch_%d_*",' "$i"; done)
        printf '{"bench": {"allowed_tools": [%s"echo"], "denied_tools": ["x_*"],
                "requests_per_minute": 1000000, "concurrent_calls": 1000}}\n' "$globs" >"$TMP/users.json"
        MCP_USERS_PATH=$TMP/users.json EXTRA_KEYS=$key2:free start_proxy rules || return 1
        "$LOAD" --port "$PORT" --key "$KEY" --conns 1 --requests "$WARM_N" --warmup 0 \
                --name rules-warmup >"$OUT/warmup-rules.txt" 2>>"$OUT/load.err" ||
                err "the warm-up of the rules section had failures (see $OUT/load.err)"
        for ((r = 1; r <= RULES_ROUNDS; r++)); do
                echo "bench: rules round $r/$RULES_ROUNDS" >&2
                if ((r % 2)); then
                        rules_side on "$KEY" "$r"
                        rules_side off "$key2" "$r"
                else
                        rules_side off "$key2" "$r"
                        rules_side on "$KEY" "$r"
                fi
        done
        stop_proxy
}
t_rules=
if [[ -n $RULES && -n $proxy_bins ]]; then
        t0=$(now_ms)
        rules_section
        t_rules=$((($(now_ms) - t0) / 1000))
fi

# ---- 2026-07-28: a stateless request against a 2025 session's, same hub and server ----
# The modern side posts each tools/call with its _meta and Mcp-Method/Mcp-Name headers and no
# session: the hub makes a session for each request and ends it with the exchange.
era_side() { # ERA ROUND: 2025 or 2026
        local proto=2025-11-25
        [[ $1 == 2026 ]] && proto=2026-07-28
        remote_load "$2" "era-$1" --port "$PORT" --key "$KEY" --conns 1 --requests "$SEQ_N" \
                --warmup "$SEQ_W" --protocol "$proto"
}
era_section() {
        local r
        start_proxy era || return 1
        "$LOAD" --port "$PORT" --key "$KEY" --conns 1 --requests "$WARM_N" --warmup 0 \
                --name era-warmup >"$OUT/warmup-era.txt" 2>>"$OUT/load.err" ||
                err "the warm-up of the 2026-07-28 section had failures (see $OUT/load.err)"
        for ((r = 1; r <= ERA_ROUNDS; r++)); do
                echo "bench: 2026-07-28 round $r/$ERA_ROUNDS" >&2
                if ((r % 2)); then
                        era_side 2026 "$r"
                        era_side 2025 "$r"
                else
                        era_side 2025 "$r"
                        era_side 2026 "$r"
                fi
        done
        stop_proxy
}
t_era=
if [[ -n $ERA && -n $proxy_bins ]]; then
        t0=$(now_ms)
        era_section
        t_era=$((($(now_ms) - t0) / 1000))
fi

# ---- isolation: 16 sessions on 16 upstream instances vs on one shared upstream session ----
# One hub with both servers (tools iso_echo and shr_echo). mcp-load DELETEs its sessions at
# the end of a run, so every round of the session side starts its 16 instances again, in
# the untimed warm-up (fresh V8 each time: that is part of what isolation costs).
iso_side() { # SIDE ROUND: session or shared
        local tool=iso_echo
        [[ $1 == shared ]] && tool=shr_echo
        remote_load "$2" "iso-$1" --port "$PORT" --key "$KEY" --tool "$tool" \
                --conns "$CONC_CONNS" --requests "$ISO_N" --warmup "$ISO_W"
}
iso_section() {
        local r ev
        ev=$(printf '%s' "$EVERYTHING" | sed 's/["\\]/\\&/g')
        start_proxy iso "{\"mcpServers\":{
                \"iso\":{\"command\":\"$ev\",\"args\":[\"stdio\"],\"isolation\":\"session\",\"idleTimeout\":60},
                \"shr\":{\"command\":\"$ev\",\"args\":[\"stdio\"],\"isolation\":\"shared\"}}}" || return 1
        "$LOAD" --port "$PORT" --key "$KEY" --tool shr_echo --conns 1 --requests $((WARM_N / 4)) \
                --warmup 0 --name iso-shared-warmup >"$OUT/warmup-iso.txt" 2>>"$OUT/load-remote.err" ||
                err "the warm-up of the shared server had failures (see $OUT/load-remote.err)"
        for ((r = 1; r <= ISO_ROUNDS; r++)); do
                echo "bench: isolation round $r/$ISO_ROUNDS" >&2
                if ((r % 2)); then
                        iso_side session "$r"
                        iso_side shared "$r"
                else
                        iso_side shared "$r"
                        iso_side session "$r"
                fi
                if ! is_running "$hub_pid"; then
                        err "the hub died during isolation round $r (see $OUT/hub-iso.log)"
                        break
                fi
        done
        hub_rss_result hub-peak-iso
        stop_proxy
}
t_iso=
if [[ -n $ISO && -n $proxy_bins ]]; then
        t0=$(now_ms)
        iso_section
        t_iso=$((($(now_ms) - t0) / 1000))
fi

declare -A t_remote=()
for kind in $REMOTE_KINDS; do
        t0=$(now_ms)
        remote_section "$kind"
        t_remote[$kind]=$((($(now_ms) - t0) / 1000))
done
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
sum_field() { # FIELD [NAME-REGEX]: summed over every RESULT line (whose name matches)
        awk -v f="$1" -v re="${2:-}" '$1 == "RESULT" {
                if (re != "" && $2 !~ ("^name=" re)) next
                for (i = 2; i <= NF; i++) {
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

# The table of one remote section, same columns: proxy, direct to the server, overhead.
remote_report() { # KIND
        local k=$1 title dlabel how port
        local p50 d50 p90 d90 p99 d99 prps drps pq dq pq50 pq99 dq50 dq99 pi di ready idle peak anon f
        case $k in
        http)
                title="remote (Streamable HTTP): server-everything streamableHttp"
                dlabel="direct HTTP" how="mcp-load -> 127.0.0.1 -> its /mcp (POST, SSE answers)"
                ;;
        sse)
                title="remote (legacy SSE): server-everything sse"
                dlabel="direct SSE"
                how="mcp-load --transport sse -> GET /sse, POST to its endpoint, answers on the stream"
                ;;
        esac
        port=$(med "remote-$k" port)
        p50=$(med "rproxy-$k-call" p50_us) d50=$(med "rdirect-$k-call" p50_us)
        p90=$(med "rproxy-$k-call" p90_us) d90=$(med "rdirect-$k-call" p90_us)
        p99=$(med "rproxy-$k-call" p99_us) d99=$(med "rdirect-$k-call" p99_us)
        prps=$(med "rproxy-$k-call" rps) drps=$(med "rdirect-$k-call" rps)
        pq=$(med "rproxy-$k-conc" rps) dq=$(med "rdirect-$k-conc" rps)
        pq50=$(med "rproxy-$k-conc" p50_us) pq99=$(med "rproxy-$k-conc" p99_us)
        dq50=$(med "rdirect-$k-conc" p50_us) dq99=$(med "rdirect-$k-conc" p99_us)
        pi=$(med "rproxy-$k-call" init_p50_us) di=$(med "rdirect-$k-call" init_p50_us)
        ready=$(med "hub-idle-$k" ready_ms)
        idle=$(med "hub-idle-$k" hub_rss_kb) peak=$(med "hub-peak-$k" hub_hwm_kb)
        anon=$(med "hub-peak-$k" hub_anon_kb)
        f=$(sum_field fail "r(proxy|direct)-$k-")
        echo
        echo "$title on 127.0.0.1:$port, medians of $R_ROUNDS interleaved rounds (${t_remote[$k]:-?}s)"
        echo "proxy = mcp-load -> systemd-socket-activate --accept -> mcp-proxy -> hub -> libcurl -> the server"
        echo "direct = $how"
        echo
        row "metric" "proxy" "$dlabel" "overhead / ratio" "notes"
        row "----------------------------------------" "----------------" "--------------" "--------------------" "------------------------"
        row "tools/call p50 (us), 1 conn sequential" "$(num "$p50")" "$(num "$d50")" \
                "$(calc "printf \"%+.0f us (x%.2f)\", $p50 - $d50, $p50 / $d50" "$p50" "$d50")" \
                "$R_SEQ calls a round"
        row "tools/call p90 (us)" "$(num "$p90")" "$(num "$d90")" \
                "$(calc "printf \"%+.0f us\", $p90 - $d90" "$p90" "$d90")" "-"
        row "tools/call p99 (us)" "$(num "$p99")" "$(num "$d99")" \
                "$(calc "printf \"%+.0f us\", $p99 - $d99" "$p99" "$d99")" "-"
        row "tools/call sequential (req/s)" "$(num "$prps")" "$(num "$drps")" \
                "$(calc "printf \"x%.2f\", $prps / $drps" "$prps" "$drps")" "-"
        row "tools/call 16 conc (req/s)" "$(num "$pq")" "$(num "$dq")" \
                "$(calc "printf \"x%.2f\", $pq / $dq" "$pq" "$dq")" "16 x $R_CONC calls a round"
        row "tools/call 16 conc p50 / p99 (us)" "$(num "$pq50") / $(num "$pq99")" \
                "$(num "$dq50") / $(num "$dq99")" "" "proxy: one upstream session"
        row "initialize p50 (us)" "$(num "$pi")" "$(num "$di")" "" "proxy: incl. front exec"
        row "ready (ms): hub start -> upstream ready" "$(num "$ready")" "-" "" "-"
        row "hub RSS idle -> peak (MB), this remote" "$(mb "$idle") -> $(mb "$peak")" "-" \
                "anon $(mb "$anon") MB" "libcurl loaded (dlopen)"
        row "failed requests (this section)" "$f" "" "" "0"
        if grep -q "take turns" "$OUT/hub-remote-$k.log" 2>/dev/null; then
                echo "note: the server asks its clients things (roots/list), so the hub lets requests of"
                echo "different client sessions take turns on its one upstream session: the 16 connections"
                echo "through the proxy are served one session's request at a time (direct: 16 server sessions)."
        fi
}
{
        echo
        echo "mcp-proxy bench: tools/call echo {\"message\":\"hello\"} to server-everything, medians of $ROUNDS interleaved rounds (${t_stdio}s)"
        echo "load average $load_begin at the start, $load_stdio at the end, on $(nproc) CPUs (above ~1 per CPU the figures are noisy)"
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
        row "hub RSS idle -> peak (MB), stdio only" "$(mb "$hub_idle") -> $(mb "$hub_peak")" "-" "anon $(mb "$hub_anon") MB" "99->246, 134->296"
        row "front RSS peak (MB, max of 16)" "$(mb "$front_hwm")" "-" "anon $(mb "$front_anon") MB" "(one process)"
        row "upstream RSS peak (MB, not counted)" "$(mb "$up_proxy")" "$(mb "$up_direct")" "" "118, 120"
        row "failed requests (all runs)" "$fails" "" "reconnects $reconn, lingers $lingers" "0"
        if [[ -n $t_rules ]]; then
                ron=$(med rules-on p50_us) roff=$(med rules-off p50_us)
                echo
                echo "access rules: tools/call echo, 1 connection, medians of $RULES_ROUNDS interleaved rounds (${t_rules}s)"
                echo "on = client with 100 globs, requests_per_minute and concurrent_calls; off = a client with no rule, same hub"
                echo
                row "metric" "rules on" "no rules" "difference" "notes"
                row "----------------------------------------" "----------------" "--------------" "--------------------" "------------------------"
                row "tools/call p50 (us)" "$(num "$ron")" "$(num "$roff")" \
                        "$(calc "printf \"%+.0f us\", $ron - $roff" "$ron" "$roff")" "$SEQ_N calls a round"
                row "tools/call p99 (us)" "$(num "$(med rules-on p99_us)")" "$(num "$(med rules-off p99_us)")" "" "-"
                row "failed requests (this section)" "$(sum_field fail "rules-")" "" "" "0"
        fi
        if [[ -n $t_era ]]; then
                e26=$(med era-2026 p50_us) e25=$(med era-2025 p50_us)
                echo
                echo "2026-07-28: tools/call echo, 1 connection, medians of $ERA_ROUNDS interleaved rounds (${t_era}s)"
                echo "2026 = stateless requests (_meta, Mcp-Method/Mcp-Name, a session of the hub's own each); 2025 = one session"
                echo
                row "metric" "2026-07-28" "2025 session" "difference" "notes"
                row "----------------------------------------" "----------------" "--------------" "--------------------" "------------------------"
                row "tools/call p50 (us)" "$(num "$e26")" "$(num "$e25")" \
                        "$(calc "printf \"%+.0f us\", $e26 - $e25" "$e26" "$e25")" "$SEQ_N calls a round"
                row "tools/call p99 (us)" "$(num "$(med era-2026 p99_us)")" "$(num "$(med era-2025 p99_us)")" "" "-"
                row "failed requests (this section)" "$(sum_field fail "era-")" "" "" "0"
        fi
        if [[ -n $t_iso ]]; then
                isr=$(med iso-session rps) ish=$(med iso-shared rps)
                echo
                echo "isolation: 16 connections, each its own session, tools/call echo, medians of $ISO_ROUNDS interleaved rounds (${t_iso}s)"
                echo "session = \"isolation\": \"session\" (16 server-everything instances); shared = one upstream session for all"
                echo
                row "metric" "session" "shared" "ratio" "notes"
                row "----------------------------------------" "----------------" "--------------" "--------------------" "------------------------"
                row "tools/call 16 conc (req/s)" "$(num "$isr")" "$(num "$ish")" \
                        "$(calc "printf \"%.0f%%\", 100 * $isr / $ish" "$isr" "$ish")" "16 x $ISO_N calls a round"
                row "tools/call 16 conc p50 / p99 (us)" "$(num "$(med iso-session p50_us)") / $(num "$(med iso-session p99_us)")" \
                        "$(num "$(med iso-shared p50_us)") / $(num "$(med iso-shared p99_us)")" "" "-"
                row "hub RSS peak (MB), 16 instances" "$(mb "$(med hub-peak-iso hub_hwm_kb)")" "-" "" "instances not counted"
                row "failed requests (this section)" "$(sum_field fail "iso-")" "" "" "0"
        fi
        for kind in $REMOTE_KINDS; do
                remote_report "$kind"
        done
        echo
        echo "targets (issue):"
        t1=$(calc "print (($pc50 - $dc50 <= 100) ? \"PASS\" : \"MISS\")" "$pc50" "$dc50")
        t2=$(calc "print (($hub_peak <= 8192) ? \"PASS\" : \"MISS\")" "$hub_peak")
        t3=$(calc "print (($front_hwm <= 2048) ? \"PASS\" : \"MISS\")" "$front_hwm")
        printf '  %-4s proxy overhead on tools/call p50 <= 100 us over direct stdio: %s\n' "$t1" "$over50"
        printf '  %-4s hub RSS <= 8 MB, stdio-only hub: peak %s MB (VmHWM; idle %s MB)\n' "$t2" "$(mb "$hub_peak")" "$(mb "$hub_idle")"
        if [[ -n $t_rules ]]; then
                t4=$(calc "print (($ron - $roff <= 5) ? \"PASS\" : \"MISS\")" "$ron" "$roff")
                printf '  %-4s 100 rules and limits cost at most 5 us on tools/call p50: %s us\n' "$t4" \
                        "$(calc "printf \"%+.0f\", $ron - $roff" "$ron" "$roff")"
        fi
        for kind in $REMOTE_KINDS; do
                printf '  %-4s hub RSS with a %s remote upstream (libcurl loaded): peak %s MB (idle %s MB)\n' \
                        "info" "$kind" "$(mb "$(med "hub-peak-$kind" hub_hwm_kb)")" "$(mb "$(med "hub-idle-$kind" hub_rss_kb)")"
        done
        if [[ -n $t_iso ]]; then
                t4=$(calc "print ((100 * $isr / $ish >= 60) ? \"PASS\" : \"MISS\")" "$isr" "$ish")
                printf '  %-4s 16 sessions on 16 instances >= 60%% of one shared session (req/s): %s\n' "$t4" \
                        "$(calc "printf \"%.0f%%\", 100 * $isr / $ish" "$isr" "$ish")"
        fi
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
        if [[ -n $REMOTE_KINDS ]]; then
                echo "remote: the server is warmed up with $R_WARM direct calls (BENCH_REMOTE_WARM) and $((R_WARM / 4))"
                echo "through the proxy; both sides then call the same server process, round after round."
        fi
        echo "whole run ${t_total}s; load average $load_begin at the start, $load_end at the end."
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
