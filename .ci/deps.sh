#!/usr/bin/env bash
# Installs what building (`deps.sh build`), testing (`deps.sh test`) or testing
# and fuzzing (`deps.sh fuzz`: clang and libFuzzer too) mcp-proxy needs on
# Debian 12. Quiet and fast (< 2 s) when everything is present;
# installs only what dpkg says is missing; prints the failing step's output.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-build}
case $mode in build|test|fuzz) ;; *) echo "usage: $0 build|test|fuzz" >&2; exit 2 ;; esac

build_pkgs=(gcc make pkg-config libsystemd-dev libcjson-dev libcurl4-openssl-dev bash-completion)
test_pkgs=(curl jq socat mandoc groff-base systemd systemd-container debootstrap bsdutils
        debhelper dpkg-dev lintian haproxy)
# tests/fuzz/run.sh: clang 14 with libFuzzer's runtime
fuzz_pkgs=(clang libclang-rt-14-dev)

log=$(mktemp "${TMPDIR:-/tmp}/mcp-proxy-deps.XXXXXX")
trap 'rm -f "$log"' EXIT

die() {
        echo "deps.sh: $*" >&2
        if [[ -s $log ]]; then
                echo "---- last output ----" >&2
                tail -n 40 "$log" >&2
        fi
        exit 1
}

# Prints the packages of "$@" that are not installed.
missing_pkgs() {
        local installed
        installed=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "$@" 2>/dev/null |
                awk '$1 == "ii" { sub(/:.*/, "", $2); print $2 }') || true
        local p
        for p in "$@"; do
                grep -qx -- "$p" <<<"$installed" || echo "$p"
        done
}

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || die "not root and no sudo: cannot install packages"
        sudo_cmd=(sudo)
fi

apt_updated=
apt_install() {
        export DEBIAN_FRONTEND=noninteractive
        if [[ -z $apt_updated ]]; then
                "${sudo_cmd[@]}" apt-get update -q >>"$log" 2>&1 || die "apt-get update failed"
                apt_updated=1
        fi
        "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "$@" >>"$log" 2>&1
}

wanted=("${build_pkgs[@]}")
if [[ $mode == fuzz ]]; then
        wanted+=("${fuzz_pkgs[@]}")
        mode=test
fi
[[ $mode == test ]] && wanted+=("${test_pkgs[@]}")
if [[ $mode == test ]] && ! command -v node >/dev/null; then
        wanted+=(nodejs npm)
fi

mapfile -t missing < <(missing_pkgs "${wanted[@]}")
if ((${#missing[@]})); then
        echo "deps.sh: installing ${missing[*]}"
        # libsystemd-dev depends on libsystemd0 of the same version: ask for the
        # installed libsystemd0's version first so apt does not upgrade
        # libsystemd0 (and with it systemd) under a running machine. If that
        # version is gone from the archive, take the current one, upgrading
        # systemd in the same transaction so the two stay in step.
        pinned=("${missing[@]}")
        sysver=$(dpkg-query -W -f='${Version}' libsystemd0 2>/dev/null || true)
        for i in "${!pinned[@]}"; do
                if [[ ${pinned[$i]} == libsystemd-dev && -n $sysver ]]; then
                        pinned[$i]="libsystemd-dev=$sysver"
                fi
        done
        if ! apt_install "${pinned[@]}"; then
                extra=()
                if [[ " ${missing[*]} " == *" libsystemd-dev "* ]]; then
                        for p in systemd libsystemd0 libudev1 udev; do
                                [[ -z $(missing_pkgs "$p") ]] && extra+=("$p")
                        done
                fi
                apt_install "${missing[@]}" "${extra[@]}" || die "apt-get install ${missing[*]} failed"
        fi
        mapfile -t still < <(missing_pkgs "${missing[@]}")
        ((${#still[@]} == 0)) || die "still missing after apt-get install: ${still[*]}"
fi

# A node_modules that is a symbolic link (a git worktree sharing the main
# checkout's) is used as it is: npm ci would empty the directory it points to
# and put a directory of its own in the link's place.
npm_needed() {
        local mods=$1 lock=$2
        [[ -L $mods ]] && return 1
        [[ ! -d $mods || $mods -ot $lock || ! -e $mods/.package-lock.json ]]
}

if [[ $mode == test ]]; then
        command -v node >/dev/null || die "node is not installed"
        command -v npm >/dev/null || die "npm is not installed"
        command -v systemd-socket-activate >/dev/null || die "systemd-socket-activate is missing (package systemd)"
        lock=tests/package-lock.json
        mods=tests/node_modules
        if npm_needed "$mods" "$lock"; then
                echo "deps.sh: npm ci --prefix tests"
                npm ci --prefix tests --no-audit --no-fund --loglevel=error >>"$log" 2>&1 ||
                        die "npm ci --prefix tests failed"
                touch "$mods"
        fi
        # the conformance suite, its Node 22 (optional: x64 only) and the SDK of its fixture
        lock=tests/conformance/package-lock.json
        mods=tests/conformance/node_modules
        if npm_needed "$mods" "$lock"; then
                echo "deps.sh: npm ci --prefix tests/conformance"
                npm ci --prefix tests/conformance --no-audit --no-fund --loglevel=error >>"$log" 2>&1 ||
                        die "npm ci --prefix tests/conformance failed"
                touch "$mods"
        fi
fi
exit 0
