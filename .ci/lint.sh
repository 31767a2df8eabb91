#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make lint: static checks that need no build.
#   man-mandoc:<page>   mandoc -Tlint prints nothing (style messages included)
#                       but the two that depend on what the machine has
#                       installed: "referenced manual not found" and
#                       "outdated mandoc.db" (man-xref checks our own)
#   man-groff:<page>    groff -mdoc -ww -z prints nothing
#   man-xref            every .Xr to one of our pages names a page in man/
#                       (a page still being written, PENDING_PAGES, is a skip)
#   man-ctl-verbs       every verb `mcp-proxyctl --help` lists under
#                       "Commands:" has an entry in man/mcp-proxyctl.8
#                       (skipped while either is missing)
#   man-env             every variable the sources read (getenv and the
#                       settings helpers) is documented in some man page
#   clang-format        git ls-files '*.c' '*.h' match .clang-format
# Pages are man/*.[1-8], sections 5, 7 and 8 today. One check is one test;
# the last line is "N passed, N failed" (", N skipped" when some were) and
# the exit status is non-zero when any check failed.
set -uo pipefail
cd "$(dirname "$0")/.."

# Pages referenced before they exist: someone is writing them.
PENDING_PAGES=(mcp-proxyctl.8)

passed=0
failed=0
skipped=0
failed_names=()

pass() {
	passed=$((passed + 1))
	printf 'PASS %s\n' "$1"
}

fail() {
	failed=$((failed + 1))
	failed_names+=("$1")
	printf 'FAIL %s\n' "$1"
}

skip() {
	skipped=$((skipped + 1))
	printf 'SKIP %s\n' "$1"
}

# Print captured output indented under its check.
show() {
	[ -n "$1" ] && printf '%s\n' "$1" | sed 's/^/    /'
	return 0
}

# Install a missing tool from the distribution when we can (CI runs as root).
need() {
	local tool=$1 pkg=$2
	command -v "$tool" >/dev/null 2>&1 && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "installing $pkg for $tool..."
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null 2>&1 ||
			{ apt-get update -qq >/dev/null 2>&1 &&
				DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null 2>&1; }
	fi
	command -v "$tool" >/dev/null 2>&1
}

shopt -s nullglob
pages=(man/*.[1-8])
shopt -u nullglob

# ---- man pages: mandoc ----
if [ ${#pages[@]} -eq 0 ]; then
	fail "man-pages (no man/*.[1-8] found)"
elif ! need mandoc mandoc; then
	fail "man-mandoc (mandoc not installed)"
else
	for p in "${pages[@]}"; do
		# exit status 1: style messages only, which the filter judges
		out=$(mandoc -Tlint -Wstyle "$p" 2>&1 |
			grep -v -e ': STYLE: referenced manual not found: ' -e '^mandoc: outdated mandoc.db ')
		rc=${PIPESTATUS[0]}
		if [ $rc -le 1 ] && [ -z "$out" ]; then
			pass "man-mandoc:$p"
		else
			fail "man-mandoc:$p"
			show "$out"
		fi
	done
fi

# ---- man pages: groff ----
if [ ${#pages[@]} -gt 0 ]; then
	if ! need groff groff-base; then
		fail "man-groff (groff not installed)"
	else
		for p in "${pages[@]}"; do
			out=$(groff -mdoc -ww -z "$p" 2>&1 >/dev/null)
			rc=$?
			if [ $rc -eq 0 ] && [ -z "$out" ]; then
				pass "man-groff:$p"
			else
				fail "man-groff:$p"
				show "$out"
			fi
		done
	fi
fi

# ---- man pages: references to our own pages ----
if [ ${#pages[@]} -gt 0 ]; then
	missing=""
	pending=""
	while read -r file name sec; do
		[ -e "man/$name.$sec" ] && continue
		if [[ " ${PENDING_PAGES[*]} " == *" $name.$sec "* ]]; then
			[[ " $pending " == *" $name.$sec "* ]] || pending+="$name.$sec "
		else
			missing+="$file: .Xr $name $sec: no man/$name.$sec"$'\n'
		fi
	done < <(awk '$1 == ".Xr" && $2 ~ /^mcp-proxy/ { sub(/[^0-9]+$/, "", $3); print FILENAME, $2, $3 }' \
		"${pages[@]}" | sort -u)
	if [ -z "$missing" ]; then
		pass "man-xref"
	else
		fail "man-xref"
		show "${missing%$'\n'}"
	fi
	for p in $pending; do
		skip "man-xref:$p (referenced, not written yet)"
	done
fi

# ---- mcp-proxyctl: every verb of its --help has an entry in its page ----
# The verbs are the first words of the lines indented by 1 to 4 spaces under
# a "Commands:" heading ("  VERB [ARGS]   description"); the section ends at
# the next line that is not indented. An entry is a macro line naming the
# verb right after It, Cm or Ic (".It Cm status", ".Cm reload").
ctl=""
for b in "${BUILD:-build}/mcp-proxyctl" build/mcp-proxyctl; do
	[ -x "$b" ] && { ctl=$b; break; }
done
if [ -z "$ctl" ]; then
	skip "man-ctl-verbs (no ${BUILD:-build}/mcp-proxyctl: not built yet)"
elif [ ! -e man/mcp-proxyctl.8 ]; then
	skip "man-ctl-verbs (no man/mcp-proxyctl.8 yet)"
else
	help=$(timeout 10 "$ctl" --help 2>&1)
	verbs=$(awk '
		/^[^ \t]/ { inside = (tolower($0) ~ /^commands:[ \t]*$/); next }
		inside && match($0, /^ +/) && RLENGTH <= 4 &&
			substr($0, RLENGTH + 1) ~ /^[a-z][a-z0-9-]*([ \t]|$)/ { print $1 }
	' <<<"$help" | sort -u)
	if [ -z "$verbs" ]; then
		fail "man-ctl-verbs"
		show "no verb found under \"Commands:\" in \`$ctl --help\`:"$'\n'"$help"
	else
		missing=""
		for v in $verbs; do
			grep -Eq "^\.(.* )?(It|Cm|Ic) +$v( |$)" man/mcp-proxyctl.8 || missing+="$v "
		done
		if [ -z "$missing" ]; then
			pass "man-ctl-verbs ($(wc -w <<<"$verbs") verbs)"
		else
			fail "man-ctl-verbs"
			show "in \`mcp-proxyctl --help\` but not in man/mcp-proxyctl.8: ${missing% }"
		fi
	fi
fi

# ---- environment variables read by the code, documented in a man page ----
# getenv("X") plus the front and hub helpers that take the name as their
# first argument.
vars=$(grep -rhoE '\<(getenv|env_size|env_seconds_ms|parse_seconds_env)\("[A-Za-z_][A-Za-z0-9_]*"' src 2>/dev/null |
	sed -E 's/.*\("//; s/"$//' | sort -u)
if [ -z "$vars" ]; then
	fail "man-env (no getenv() calls found under src/)"
else
	missing=""
	for v in $vars; do
		grep -qw -- "$v" "${pages[@]}" /dev/null || missing+="$v "
	done
	if [ -z "$missing" ]; then
		pass "man-env ($(wc -w <<<"$vars") variables)"
	else
		fail "man-env"
		show "not in any man page: ${missing% }"
	fi
fi

# ---- clang-format over the tracked sources (other people's files too) ----
if ! need clang-format clang-format; then
	fail "clang-format (clang-format not installed)"
else
	mapfile -t srcs < <(git ls-files '*.c' '*.h')
	bad=()
	for f in "${srcs[@]}"; do
		[ -f "$f" ] || continue
		clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
	done
	if [ ${#bad[@]} -eq 0 ]; then
		pass "clang-format (${#srcs[@]} files)"
	else
		fail "clang-format (${#bad[@]} of ${#srcs[@]} files need formatting; run make format)"
		show "$(printf '%s\n' "${bad[@]}")"
	fi
fi

echo
if [ $failed -gt 0 ]; then
	printf 'failed: %s\n' "${failed_names[@]}"
fi
if [ $skipped -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ $failed -eq 0 ]
