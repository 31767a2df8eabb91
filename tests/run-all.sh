#!/usr/bin/env bash
# Runs the test suite: BUILD=build/check tests/run-all.sh [unit|e2e|lint|fuzz|all]
#   unit: every $BUILD/tests/test-* binary (TAP + "N passed, N failed"), then
#         every $BUILD/tests/fuzz-<name>-replay over tests/fuzz/corpus/<name>/
#         (one test each)
#   fuzz: every tests/fuzz/fuzz-<name>.c under libFuzzer for FUZZ_SECONDS
#         (default 60) through tests/fuzz/run.sh, one test "fuzz-<name>" each,
#         failed by a crash (the log's tail names the file and holds it in
#         base64); "all" includes it only when FUZZ_SECONDS is set (CI: 30)
#   e2e:  every tests/e2e/*.sh except lib.sh ("PASS x"/"FAIL x" + summary line)
#   lint: .ci/lint.sh (also in "all")
# Each test's output goes to $BUILD/test-logs/<name>.log; a failing test's log
# tail is printed. A test that crashes, times out, exits non-zero or prints no
# summary counts as (at least) one failure. The last line is the total,
# "N passed, N failed"; the exit status is 1 if anything failed.
# ONLY=<regex> runs only the tests whose name matches; TEST_TIMEOUT (300 s)
# bounds each test.
set -uo pipefail
cd "$(dirname "$0")/.."

mode=${1:-all}
case $mode in unit|e2e|lint|fuzz|all) ;; *) echo "usage: $0 [unit|e2e|lint|fuzz|all]" >&2; exit 2 ;; esac

BUILD=${BUILD:-build}
BUILD=$(realpath -m -- "$BUILD")
export BUILD
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
logs=$BUILD/test-logs
mkdir -p "$logs"
# one run at a time per build dir: two runs would write the same logs
exec 9>"$logs/.lock"
if ! flock -n 9; then
        echo "another test run holds $logs/.lock, waiting"
        flock 9
fi

total_pass=0 total_fail=0 ran=0
failed_names=()

summary_re='^([A-Za-z_-]+: )?([0-9]+) passed, ([0-9]+) failed(, [0-9]+ skipped)?$'

# report NAME RC LOG COUNTED: COUNTED=1 when the test prints its own summary.
report() {
        local name=$1 rc=$2 log=$3 counted=$4 p=0 f=0 line why=
        if ((counted)); then
                line=$(grep -aE "$summary_re" "$log" | tail -n 1)
                if [[ -z $line ]]; then
                        why="no summary line"
                        f=1
                else
                        [[ $line =~ $summary_re ]]
                        p=${BASH_REMATCH[2]} f=${BASH_REMATCH[3]}
                        if ((rc != 0 && f == 0)); then
                                why="exit status $rc with no failed check"
                                f=1
                        fi
                fi
        else
                if ((rc == 0)); then p=1; else f=1; fi
        fi
        ((rc == 124)) && why="timed out after ${TEST_TIMEOUT}s${why:+; $why}"
        ((rc > 128 && rc != 124)) && why="killed by signal $((rc - 128))${why:+; $why}"
        ((rc != 0 && ${#why} == 0)) && why="exit status $rc"
        total_pass=$((total_pass + p))
        total_fail=$((total_fail + f))
        ran=$((ran + 1))
        if ((f)); then
                failed_names+=("$name")
                echo "FAIL $name: $p passed, $f failed${why:+ ($why)}; log $log"
                echo "---- tail of $log ----"
                tail -n 40 "$log" | sed 's/^/    /'
                echo "----"
        else
                echo "ok   $name: $p passed"
        fi
}

# run NAME COUNTED CMD...
run() {
        local name=$1 counted=$2 rc
        shift 2
        [[ -z ${ONLY:-} || $name =~ $ONLY ]] || return 0
        local log=$logs/$name.log
        # the subshell puts the shell's own "Segmentation fault" note into the log
        # -k 30: an e2e script's cleanup trap stops its hub and children first
        (timeout -k 30 "$TEST_TIMEOUT" "$@"; exit $?) </dev/null >"$log" 2>&1 9>&-
        rc=$?
        report "$name" "$rc" "$log" "$counted"
}

if [[ $mode == unit || $mode == all ]]; then
        for t in "$BUILD"/tests/test-*; do
                [[ -f $t && -x $t ]] || continue
                run "$(basename "$t")" 1 "$t"
        done
        for t in "$BUILD"/tests/fuzz-*-replay; do
                [[ -f $t && -x $t ]] || continue
                name=$(basename "$t")
                name=${name#fuzz-}
                name=${name%-replay}
                corpus=tests/fuzz/corpus/$name
                files=()
                [[ -d $corpus ]] && mapfile -t files < <(find "$corpus" -type f | sort)
                if ((${#files[@]} == 0)); then
                        echo "no corpus files in $corpus" >"$logs/fuzz-$name-replay.log"
                        report "fuzz-$name-replay" 1 "$logs/fuzz-$name-replay.log" 0
                        continue
                fi
                run "fuzz-$name-replay" 0 "$t" "${files[@]}"
        done
fi

if [[ $mode == fuzz || ($mode == all && -n ${FUZZ_SECONDS:-}) ]]; then
        # libFuzzer builds in build/fuzz; each target's time comes on top of TEST_TIMEOUT
        fuzz_timeout=$((TEST_TIMEOUT + ${FUZZ_SECONDS:-60}))
        for f in tests/fuzz/fuzz-*.c; do
                name=$(basename "$f" .c)
                [[ $name == fuzz-main ]] && continue
                TEST_TIMEOUT=$fuzz_timeout run "$name" 0 env FUZZ_TARGETS="${name#fuzz-}" \
                        ASAN_OPTIONS= UBSAN_OPTIONS= tests/fuzz/run.sh
        done
fi

if [[ $mode == e2e || $mode == all ]]; then
        for t in tests/e2e/*.sh; do
                [[ -f $t && $(basename "$t") != lib.sh ]] || continue
                run "$(basename "$t" .sh)" 1 bash "$t"
        done
fi

if [[ $mode == all || $mode == lint ]] && [[ -x .ci/lint.sh ]]; then
        # man pages (mandoc, groff), every getenv() documented, clang-format
        run lint 1 bash .ci/lint.sh
fi

if ((ran == 0)); then
        echo "no test was found to run (mode $mode, BUILD=$BUILD)"
        total_fail=$((total_fail + 1))
fi
((${#failed_names[@]})) && echo "failed: ${failed_names[*]}"
echo "$total_pass passed, $total_fail failed"
((total_fail == 0))
