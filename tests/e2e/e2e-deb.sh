#!/usr/bin/env bash
# The Debian package (issue 18): `make deb` in a copy of the tree (as a fresh clone has
# it), lintian on the result, then the package in a booted Debian 12 (the tree of
# e2e-systemd, booted with systemd-nspawn): what installing enables and starts, an
# operator's first key and `systemctl enable --now mcp-proxy.socket` serving the SDK
# client; an upgrade to a newer version while the SDK client makes its calls on one
# session, a slow client is mid-response and a call is in flight: the hub restarts behind
# its socket, the session survives, the slow response completes byte for byte, the call in
# flight gets its answer, and neither socket is restarted; `apt-get remove` stops and
# removes the units and keeps the edited configuration, `apt-get purge` removes it.
# The newer version is the same build repacked with a higher version number: what an
# upgrade exercises is the maintainer scripts, which are the same.
# Skipped where the machine cannot (not root, no nspawn/debootstrap, no debhelper).
source "$(dirname "$0")/lib.sh"
unset MCP_CONTROL_SOCKET # lib.sh's, for hubs on the host; the container's hub has its own

for tool in dpkg-buildpackage dh lintian; do
        command -v "$tool" >/dev/null || skip_all "needs $tool (debhelper, dpkg-dev, lintian)"
done
debian_tree
t_all=$(now_ms)

# ---- make deb, in a copy of what git has (tracked and new files) ----
SRC=$T/src/mcp-proxy
mkdir -p "$SRC"
git -C "$E2E_ROOT" ls-files -z --cached --others --exclude-standard |
        (cd "$E2E_ROOT" && xargs -0 cp --parents -t "$SRC" 2>/dev/null)
check "the source tree is copied" test -f "$SRC/debian/rules"
t0=$(now_ms)
DEB_BUILD_OPTIONS="nocheck parallel=2" make -C "$SRC" deb >"$T/make-deb.log" 2>&1
check_eq "make deb (dpkg-buildpackage -us -uc -b) succeeds" 0 "$?"
printf '    | INFO make deb: %d ms\n' $(($(now_ms) - t0))
VER=$(cd "$SRC" && dpkg-parsechangelog -S Version)
ARCH=$(dpkg --print-architecture)
DEB=$SRC/build/deb/mcp-proxy_${VER}_$ARCH.deb
check "it made build/deb/mcp-proxy_${VER}_$ARCH.deb" test -s "$DEB"
[[ -s $DEB ]] || exit 1
printf '    | INFO Installed-Size: %s KiB, the .deb %d bytes\n' "$(dpkg-deb -f "$DEB" Installed-Size)" "$(stat -c %s "$DEB")"
printf '    | INFO Depends: %s; Recommends: %s\n' "$(dpkg-deb -f "$DEB" Depends)" "$(dpkg-deb -f "$DEB" Recommends)"
lintian --pedantic "$SRC/build/deb/mcp-proxy_${VER}_$ARCH.changes" >"$T/lintian.log" 2>&1
rc=$?
grep -v '^running with root privileges' "$T/lintian.log" | sed 's/^/    | lintian: /'
check_eq "lintian --pedantic exits 0" 0 "$rc"
check_eq "lintian: no error, no warning, no pedantic or informational tag" "" \
        "$(grep -E '^[EWIPX]: ' "$T/lintian.log")"
check_contains "the hub's dlopen()ed libcurl is recommended" "$(dpkg-deb -f "$DEB" Recommends)" libcurl4
check_eq "the three configuration files are conffiles" \
        "/etc/mcp-proxy/hub.env /etc/mcp-proxy/mcp-proxy.env /etc/mcp-proxy/mcp_config.json" \
        "$(dpkg-deb -I "$DEB" conffiles | sort | tr '\n' ' ' | sed 's/ $//')"

# the newer version: the same files, a higher version
NEWVER=$VER+t1
mkdir -p "$T/debs" "$T/repack"
cp "$DEB" "$T/debs/mcp-proxy_${VER}_$ARCH.deb"
dpkg-deb -R "$DEB" "$T/repack/x" &&
        sed -i "s/^Version: .*/Version: $NEWVER/" "$T/repack/x/DEBIAN/control" &&
        dpkg-deb -b --root-owner-group "$T/repack/x" "$T/debs/mcp-proxy_${NEWVER}_$ARCH.deb" >/dev/null
check "version $NEWVER repacked" test -s "$T/debs/mcp-proxy_${NEWVER}_$ARCH.deb"
# a stdio server for the container: the fixture, plain build (no sanitizer runtime there)
make -s -C "$SRC" BUILD="$T/build" "$T/build/tests/mcp-fixture" >"$T/build.log" 2>&1
check "the fixture builds" test -x "$T/build/tests/mcp-fixture"
cp "$T/build/tests/mcp-fixture" "$T/debs/"

# ---- boot, install ----
tree_node_binds
mkdir -p "$T/shared"
boot_tree --bind-ro="$T/debs:/opt/debs" "${NODE_BINDS[@]}" --bind="$T/shared:/opt/shared"
apt_in() { S env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Use-Pty=0 "$@"; }
apt_in install "/opt/debs/mcp-proxy_${VER}_$ARCH.deb" >"$T/install.log" 2>&1
check_eq "apt-get install ./mcp-proxy_${VER}_$ARCH.deb" 0 "$?"
check_eq "dpkg: installed, version $VER" "install ok installed $VER" \
        "$(S dpkg-query -W -f '${Status} ${Version}' mcp-proxy 2>&1)"
check "the users exist" S id mcp-proxy-hub
check_eq "keys.json: made empty, root:mcp-proxy 640" "root mcp-proxy 640 {}" \
        "$(S stat -c '%U %G %a' /etc/mcp-proxy/keys.json) $(S cat /etc/mcp-proxy/keys.json)"
check_eq "hub.env root:root 600, mcp-proxy.env root:mcp-proxy 640" "root root 600 root mcp-proxy 640" \
        "$(S stat -c '%U %G %a' /etc/mcp-proxy/hub.env /etc/mcp-proxy/mcp-proxy.env | tr '\n' ' ' | sed 's/ $//')"
state() { echo "$(S systemctl is-enabled "$1" 2>/dev/null) $(S systemctl is-active "$1" 2>/dev/null)"; }
check_eq "mcp-proxy-hub.socket: enabled, active" "enabled active" "$(state mcp-proxy-hub.socket)"
check_eq "mcp-proxy-hub.path: enabled, active" "enabled active" "$(state mcp-proxy-hub.path)"
check_eq "mcp-proxy.socket (the network endpoint): disabled, inactive" "disabled inactive" "$(state mcp-proxy.socket)"
check_eq "mcp-proxy-hub.service: disabled, inactive (the first connection starts it)" "disabled inactive" \
        "$(state mcp-proxy-hub.service)"
check "the bash completion is installed" S test -s /usr/share/bash-completion/completions/mcp-proxyctl
check "man mcp-proxy-units has the package's section" \
        bash -c 'zcat "$1"/usr/share/man/man7/mcp-proxy-units.7.gz | grep -q "^\.Ss The Debian package"' _ "/proc/$L/root"

# ---- the operator: a server, a key, the endpoint ----
S install -m 0755 /opt/debs/mcp-fixture /usr/local/bin/mcp-fixture
S bash -c 'printf "{\"mcpServers\": {\"fx\": {\"command\": \"/usr/local/bin/mcp-fixture\", \"args\": [\"--name\", \"fx\"], \"isolation\": \"shared\"}}}\n" >/etc/mcp-proxy/mcp_config.json'
KEY=$(S mcp-proxyctl key new alice 2>"$T/keynew.err")
check "mcp-proxyctl key new alice" grep -qE '^mcp_[A-Za-z0-9_-]{43}$' <<<"$KEY"
check_eq "keys.json keeps root:mcp-proxy 640" "root mcp-proxy 640" "$(S stat -c '%U %G %a' /etc/mcp-proxy/keys.json)"
S systemctl enable --now mcp-proxy.socket >"$T/enable.log" 2>&1
check_eq "systemctl enable --now mcp-proxy.socket" "enabled active" "$(state mcp-proxy.socket)"
in_curl() { S curl -s --max-time 30 "$@"; }
H=(-H "Authorization: Bearer $KEY" -H 'Content-Type: application/json'
        -H 'Accept: application/json, text/event-stream')
fx_ready() { in_curl -H "Authorization: Bearer $KEY" http://127.0.0.1:8080/health |
        S jq -e '.upstreams[] | select(.name == "fx") | .state == "ready"' >/dev/null 2>&1; }
check "the hub starts on the first connection and fx becomes ready" wait_for 30 fx_ready
SID=$(in_curl -i "${H[@]}" http://127.0.0.1:8080/mcp \
        -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"deb","version":"1"}}}' |
        tr -d '\r' | awk -F': ' 'tolower($1) == "mcp-session-id" {print $2}')
check "a curl client initializes a session" test -n "$SID"
call() { in_curl "${H[@]}" -H "Mcp-Session-Id: $SID" http://127.0.0.1:8080/mcp \
        -d '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"'"$1"'","arguments":'"$2"'}}'; }
check_contains "tools/call echo" "$(call echo '{"message":"hello"}')" "Echo: hello"

# ---- the upgrade, under load ----
if [[ -n $NODE_BIN ]]; then
        rm -f "$T/shared/go"
        S env HOME=/root /usr/local/bin/node /opt/tests/e2e/sdk-calls.mjs http://127.0.0.1:8080/mcp \
                "$KEY" echo 60 30 /opt/shared/go >"$T/sdk-calls.out" 2>&1 &
        NODE_IN=$!
        PIDS+=("$NODE_IN")
        check "the SDK client made its first 30 calls" wait_for 60 grep -q '^AT 30' "$T/sdk-calls.out"
else
        printf '    | INFO no node on this machine: the SDK client part is skipped\n'
fi
HUB=$(S systemctl show -p MainPID --value mcp-proxy-hub.service)
SOCK_T=$(S systemctl show -p ActiveEnterTimestampMonotonic --value mcp-proxy.socket)
HSOCK_T=$(S systemctl show -p ActiveEnterTimestampMonotonic --value mcp-proxy-hub.socket)
# a slow client: 8 MB read at 1 MB/s, more than the socket buffers hold, so its front is
# still writing the response during the upgrade
S bash -c 'curl -s --max-time 120 --limit-rate 1M -H "Authorization: Bearer $1" -H "Content-Type: application/json" \
        -H "Accept: application/json, text/event-stream" -H "Mcp-Session-Id: $2" http://127.0.0.1:8080/mcp \
        -d "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"big\",\"arguments\":{\"bytes\":8000000}}}" \
        -o /opt/shared/big.json -w "%{http_code} %{size_download}" >/opt/shared/big.out' _ "$KEY" "$SID" &
BIG=$!
PIDS+=("$BIG")
# a call in flight at the upstream: 3 s of sleep
S bash -c 'curl -s --max-time 60 -H "Authorization: Bearer $1" -H "Content-Type: application/json" \
        -H "Accept: application/json, text/event-stream" -H "Mcp-Session-Id: $2" http://127.0.0.1:8080/mcp \
        -d "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/call\",\"params\":{\"name\":\"sleep\",\"arguments\":{\"ms\":3000}}}" \
        -o /opt/shared/sleep.body -w "%{http_code}" >/opt/shared/sleep.out' _ "$KEY" "$SID" &
SLEEPER=$!
PIDS+=("$SLEEPER")
big_started() { [[ $(stat -c %s "$T/shared/big.json" 2>/dev/null || echo 0) -gt 100000 ]]; }
check "the slow client is receiving its response" wait_for 30 big_started
FRONTS=$(S systemctl list-units --plain --no-legend --state=active 'mcp-proxy@*.service' | awk '{print $1}' | sort)
t0=$(now_ms)
apt_in install "/opt/debs/mcp-proxy_${NEWVER}_$ARCH.deb" >"$T/upgrade.log" 2>&1
check_eq "apt-get install ./mcp-proxy_${NEWVER}_$ARCH.deb (the upgrade)" 0 "$?"
printf '    | INFO the upgrade took %d ms\n' $(($(now_ms) - t0))
touch "$T/shared/go"
check_eq "dpkg: version $NEWVER" "$NEWVER" "$(S dpkg-query -W -f '${Version}' mcp-proxy)"
NEWHUB=$(S systemctl show -p MainPID --value mcp-proxy-hub.service)
check "the hub was restarted: a new process runs" bash -c '[[ -n $2 && $2 != 0 && $1 != "$2" ]]' _ "$HUB" "$NEWHUB"
check_eq "mcp-proxy.socket was not restarted" "$SOCK_T" \
        "$(S systemctl show -p ActiveEnterTimestampMonotonic --value mcp-proxy.socket)"
check_eq "mcp-proxy-hub.socket was not restarted" "$HSOCK_T" \
        "$(S systemctl show -p ActiveEnterTimestampMonotonic --value mcp-proxy-hub.socket)"
still=0
for f in $FRONTS; do
        [[ $(S systemctl is-active "$f" 2>/dev/null) == active ]] && still=$((still + 1))
done
printf '    | INFO fronts serving before the upgrade: %d, still serving after it: %d\n' \
        "$(wc -w <<<"$FRONTS")" "$still"
check "the slow client's front was still serving after the upgrade" test "$still" -ge 1
wait "$BIG"
read -r big_code big_size <"$T/shared/big.out"
# the body is JSON or an SSE stream (the front's choice): its JSON-RPC response either way
answer() { if jq -e . "$1" >/dev/null 2>&1; then jq -c . "$1"; else sse_response "$1"; fi; }
check_eq "the slow response completed: HTTP 200, the whole 8000000 bytes of text" "200 true" \
        "$big_code $(answer "$T/shared/big.json" | jq '.result.content[0].text | length == 8000000' 2>/dev/null)"
printf '    | INFO slow response: HTTP %s, %s bytes\n' "$big_code" "$big_size"
wait "$SLEEPER"
SLEPT=$(answer "$T/shared/sleep.body")
printf '    | INFO the call in flight got: HTTP %s %s\n' "$(cat "$T/shared/sleep.out")" "${SLEPT:0:300}"
check_eq "the call in flight got an HTTP 200" 200 "$(cat "$T/shared/sleep.out")"
check_jq "... and its JSON-RPC answer (a result or an error), not a cut connection" \
        '.jsonrpc == "2.0" and .id == 8 and (has("result") or has("error"))' "$SLEPT"
if [[ -n $NODE_BIN ]]; then
        wait "$NODE_IN"
        relay_checks cat "$T/sdk-calls.out"
fi
check_contains "the curl session survives the upgrade" "$(call echo '{"message":"after"}')" "Echo: after"
check "hub journal: the sessions were taken back" bash -c \
        'nsenter -t "$1" -a journalctl -u mcp-proxy-hub --no-pager | grep -q "took back [1-9][0-9]* client session"' _ "$L"
check "the edited configuration survived the upgrade" S grep -q mcp-fixture /etc/mcp-proxy/mcp_config.json
check_eq "no failed unit" "" "$(S systemctl list-units --failed --plain --no-legend 2>/dev/null)"

# ---- remove, purge ----
apt_in remove mcp-proxy >"$T/remove.log" 2>&1
check_eq "apt-get remove mcp-proxy" 0 "$?"
for u in mcp-proxy.socket mcp-proxy-hub.socket mcp-proxy-hub.path mcp-proxy-hub.service; do
        check_eq "after remove, $u is stopped" inactive "$(S systemctl is-active "$u" 2>/dev/null)"
done
check_eq "after remove, no front runs" "" \
        "$(S systemctl list-units --plain --no-legend --state=active 'mcp-proxy@*.service')"
check "after remove, no unit file is left" bash -c '! ls "$1"/lib/systemd/system/mcp-proxy* 2>/dev/null' _ "/proc/$L/root"
check "after remove, nothing listens on 8080" bash -c '! nsenter -t "$1" -a curl -s --max-time 5 http://127.0.0.1:8080/health' _ "$L"
check "after remove, the edited configuration is kept" S grep -q mcp-fixture /etc/mcp-proxy/mcp_config.json
check "after remove, the key file is kept" S grep -q alice /etc/mcp-proxy/keys.json
apt_in purge mcp-proxy >"$T/purge.log" 2>&1
check_eq "apt-get purge mcp-proxy" 0 "$?"
check "after purge, /etc/mcp-proxy is gone" bash -c '! test -e "$1"/etc/mcp-proxy' _ "/proc/$L/root"
check "after purge, the hub's state is gone" bash -c '! test -e "$1"/var/lib/mcp-proxy-hub' _ "/proc/$L/root"
check "after purge, dpkg knows no mcp-proxy" bash -c '! nsenter -t "$1" -a dpkg-query -W mcp-proxy >/dev/null 2>&1' _ "$L"

poweroff_tree
printf '    | INFO the whole scenario (without debootstrap): %d ms\n' $(($(now_ms) - t_all))
