#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Builds every tests/fuzz/fuzz-<name>.c as a libFuzzer binary in build/fuzz/
# and runs each for FUZZ_SECONDS (default 60) on its seed corpus
# tests/fuzz/corpus/<name>/, with tests/fuzz/fuzz-<name>.dict and the
# [libfuzzer] options of tests/fuzz/fuzz-<name>.options when present.
#
#   FUZZ_SECONDS=60    run time per target
#   FUZZ_TARGETS="http config"   only these targets (default: all)
#   FUZZ_JOBS=1        libFuzzer -fork=N workers per target (1: no fork)
#   FUZZ_MERGE=1       afterwards, merge new coverage into the seed corpus
#   CLANG=clang        compiler
#   FUZZ_SOURCES="..."  the library sources linked into every target
#                      (default: the Makefile's COMMON_SRC)
#
# Inputs libFuzzer finds go to build/fuzz/corpus/<name>/ (the seed directory
# is only read, unless FUZZ_MERGE=1), crashes to build/fuzz/artifacts/<name>/.
# A crash, leak, timeout or OOM file is listed at the end (with its bytes in
# base64 up to 4 KiB) and makes the script exit 1: fix the bug, then copy the
# file into the seed corpus so the gcc replay in `make check` keeps it as a
# regression test (`base64 -d` turns a CI log's line back into the file).
set -euo pipefail

cd "$(dirname "$0")/../.."

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_JOBS=${FUZZ_JOBS:-1}
CLANG=${CLANG:-clang}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
OUT=build/fuzz

# shellcheck disable=SC2054
CFLAGS=(-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
        -g -O1 -std=gnu17 -D_GNU_SOURCE -Isrc -Isrc/shared)
# shellcheck disable=SC2207
CFLAGS+=($($PKG_CONFIG --cflags libcjson))
# shellcheck disable=SC2207
LIBS=($($PKG_CONFIG --libs libcjson libsystemd))

mkdir -p "$OUT"

# libFuzzer's runtime comes with Debian's compiler-rt package.
have_libfuzzer() {
        printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' \
                >"$OUT/probe.c"
        "$CLANG" -fsanitize=fuzzer,address,undefined -o "$OUT/probe" "$OUT/probe.c" \
                >/dev/null 2>&1
}
if ! have_libfuzzer; then
        echo "libFuzzer runtime missing; installing libclang-rt-14-dev"
        if [ "$(id -u)" = 0 ]; then
                apt-get install -y libclang-rt-14-dev
        else
                sudo apt-get install -y libclang-rt-14-dev
        fi
        have_libfuzzer || { echo "$CLANG still cannot link -fsanitize=fuzzer" >&2; exit 1; }
fi
rm -f "$OUT/probe" "$OUT/probe.c"

shopt -s nullglob
# What libcommon.a holds: the pure modules, with the hub's and the upstream
# layer's pure files (the Makefile's COMMON_SRC, which `make fuzz` passes).
if [ -n "${FUZZ_SOURCES:-}" ]; then
        read -r -a SOURCES <<<"$FUZZ_SOURCES"
else
        read -r -a SOURCES < <(make -s --no-print-directory print-common-src)
fi

targets=()
for f in tests/fuzz/fuzz-*.c; do
        name=${f#tests/fuzz/fuzz-}
        name=${name%.c}
        [ "$name" = main ] && continue # the gcc replay driver, not a target
        if [ -n "${FUZZ_TARGETS:-}" ] && [[ " $FUZZ_TARGETS " != *" $name "* ]]; then
                continue
        fi
        targets+=("$name")
done
if [ ${#targets[@]} -eq 0 ]; then
        echo "no fuzz targets selected" >&2
        exit 1
fi

# "[libfuzzer]\nmax_len = 65536" -> -max_len=65536
options_args() {
        [ -f "$1" ] || return 0
        awk '
                /^[ \t]*\[/ { in_lf = ($0 ~ /^[ \t]*\[libfuzzer\][ \t]*$/); next }
                in_lf && /=/ && !/^[ \t]*[#;]/ {
                        split($0, kv, "=")
                        k = kv[1]; v = substr($0, index($0, "=") + 1)
                        gsub(/^[ \t]+|[ \t]+$/, "", k); gsub(/^[ \t]+|[ \t]+$/, "", v)
                        print "-" k "=" v
                }' "$1"
}

failed=0
crashes=()
summary=()
for name in "${targets[@]}"; do
        src=tests/fuzz/fuzz-$name.c
        bin=$OUT/fuzz-$name
        seed=tests/fuzz/corpus/$name
        work=$OUT/corpus/$name
        artifacts=$OUT/artifacts/$name
        log=$OUT/fuzz-$name.log

        echo "== fuzz-$name: building"
        if ! "$CLANG" "${CFLAGS[@]}" -o "$bin" "$src" "${SOURCES[@]}" "${LIBS[@]}"; then
                echo "fuzz-$name: build failed" >&2
                summary+=("fuzz-$name: BUILD FAILED")
                failed=1
                continue
        fi

        mkdir -p "$work" "$artifacts"
        args=(-max_total_time="$FUZZ_SECONDS" -timeout=10 -print_final_stats=1
              -artifact_prefix="$artifacts/")
        [ -f "tests/fuzz/fuzz-$name.dict" ] && args+=(-dict="tests/fuzz/fuzz-$name.dict")
        while read -r opt; do
                [ -n "$opt" ] && args+=("$opt")
        done < <(options_args "tests/fuzz/fuzz-$name.options")
        [ "$FUZZ_JOBS" -gt 1 ] && args+=(-fork="$FUZZ_JOBS" -ignore_crashes=1)
        dirs=("$work")
        [ -d "$seed" ] && dirs+=("$seed")

        marker=$OUT/.start-$name
        : >"$marker"
        echo "== fuzz-$name: running ${FUZZ_SECONDS}s (${args[*]} ${dirs[*]}), log in $log"
        rc=0
        UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
                "$bin" "${args[@]}" "${dirs[@]}" >"$log" 2>&1 || rc=$?

        # The last status line and libFuzzer's final stats.
        grep -E '^#[0-9]+[[:space:]]+(DONE|INITED|pulse|NEW|REDUCE)' "$log" | tail -n 1 || true
        grep -E '^stat::' "$log" || true

        new=()
        while IFS= read -r -d '' f; do
                new+=("$f")
        done < <(find "$artifacts" -type f -newer "$marker" -print0)
        rm -f "$marker"
        if [ ${#new[@]} -gt 0 ] || [ "$rc" -ne 0 ]; then
                tail -n 40 "$log"
                crashes+=("${new[@]}")
                summary+=("fuzz-$name: FAILED (exit $rc, ${#new[@]} new artifact(s))")
                failed=1
        else
                execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
                rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
                cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1 || true)
                summary+=("fuzz-$name: ok, ${execs:-?} execs, ${rate:-?}/s, $cov, corpus $(find "$work" -type f | wc -l) new")
        fi

        if [ "${FUZZ_MERGE:-0}" = 1 ] && [ -d "$seed" ]; then
                echo "== fuzz-$name: merging new coverage into $seed"
                "$bin" -merge=1 "$seed" "$work" >>"$log" 2>&1 || true
        fi
done

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
if [ ${#crashes[@]} -gt 0 ]; then
        echo "new crash files:"
        for f in "${crashes[@]}"; do
                # the input itself, so that a CI log is enough to reproduce it
                if [ "$(stat -c %s "$f")" -le 4096 ]; then
                        echo "  $f (base64: $(base64 -w 0 "$f"))"
                else
                        echo "  $f ($(stat -c %s "$f") bytes)"
                fi
        done
        echo "reproduce: build/fuzz/fuzz-<name> <file>; after the fix copy it to tests/fuzz/corpus/<name>/"
fi
exit "$failed"
