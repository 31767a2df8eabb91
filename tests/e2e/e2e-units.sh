#!/usr/bin/env bash
# The systemd units as `make install` writes them (issue 13), checked without a booted
# systemd: installed into a scratch prefix (and removed again by `make uninstall`),
# `systemd-analyze verify` prints nothing about any of them, the per-connection unit's
# exposure is at most 2.0 (`security --offline`), the sysusers entries create the two users,
# the units hold what the pitfalls of systemd-notes.md require.
source "$(dirname "$0")/lib.sh"
require_binaries

command -v systemd-analyze >/dev/null || skip_all "systemd-analyze missing"
P=$T/prefix
DIRS=(PREFIX="$P/usr" SYSCONFDIR="$P/etc" SYSTEMDSYSTEMUNITDIR="$P/units" SYSUSERSDIR="$P/sysusers"
        TMPFILESDIR="$P/tmpfiles" BUILD="$BUILD")
make -s -C "$E2E_ROOT" install "${DIRS[@]}" >"$T/install.log" 2>&1
check_eq "make install into a scratch prefix" 0 "$?"
U=$P/units
units=(mcp-proxy.socket mcp-proxy@.service mcp-proxy-hub.socket mcp-proxy-hub.service
        mcp-proxy-hub.path mcp-proxy-hub-reload.service)
for u in "${units[@]}"; do
        check "installed: $u" test -s "$U/$u"
done
check "the units name the installed binaries" grep -q "^ExecStart=$P/usr/bin/mcp-proxy-hub\$" "$U/mcp-proxy-hub.service"
check "no @VARIABLE@ left in any unit" bash -c '! grep -l "@[A-Z]*@" "$1"/* "$2"/* "$3"/*' _ "$U" "$P/sysusers" "$P/tmpfiles"

out=$(cd "$U" && systemd-analyze verify --man=no "${units[@]/#/$U/}" 2>&1)
check_eq "systemd-analyze verify prints nothing" "" "$out"

score() { # UNIT: the overall exposure, e.g. 0.7
        systemd-analyze security --offline=true "$U/$1" 2>/dev/null |
                sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
}
S_FRONT=$(score mcp-proxy@.service)
S_HUB=$(score mcp-proxy-hub.service)
printf '    | INFO exposure: mcp-proxy@.service %s, mcp-proxy-hub.service %s\n' "$S_FRONT" "$S_HUB"
check "mcp-proxy@.service exposure at most 2.0 ($S_FRONT)" \
        systemd-analyze security --offline=true --threshold=20 "$U/mcp-proxy@.service"
check "mcp-proxy-hub.service has a score ($S_HUB)" test -n "$S_HUB"

# the pitfalls measured in systemd-notes.md
check "socket: Accept=yes with no trigger limit, and bounded connections" \
        bash -c 'grep -qx Accept=yes "$1" && grep -qx TriggerLimitIntervalSec=0 "$1" &&
                grep -q "^MaxConnections=" "$1" && grep -q "^MaxConnectionsPerSource=" "$1"' _ "$U/mcp-proxy.socket"
check "front: never StandardInput=socket (logs would reach the client)" \
        bash -c 'grep -qx StandardInput=null "$1" && ! grep -q "^StandardOutput=socket" "$1"' _ "$U/mcp-proxy@.service"
check "reload oneshot: no start limit (the path unit must not give up)" \
        grep -qx StartLimitIntervalSec=0 "$U/mcp-proxy-hub-reload.service"
check "hub: Type=notify, a watchdog, config checked before start and reload" \
        bash -c 'grep -qx Type=notify "$1" && grep -q "^WatchdogSec=" "$1" &&
                grep -q "^ExecStartPre=.*mcp-proxyctl check-config" "$1" && grep -q "^ExecReload=.*mcp-proxyctl check-config" "$1"' _ "$U/mcp-proxy-hub.service"
check "hub socket: only the fronts' user may connect (0600, owned by mcp-proxy)" \
        bash -c 'grep -qx SocketUser=mcp-proxy "$1" && grep -qx SocketMode=0600 "$1"' _ "$U/mcp-proxy-hub.socket"
check "fronts and hub run as different users" \
        bash -c 'grep -qx User=mcp-proxy "$1" && grep -qx User=mcp-proxy-hub "$2"' _ "$U/mcp-proxy@.service" "$U/mcp-proxy-hub.service"

# sysusers: the two users, in a scratch root
mkdir -p "$T/root/etc" "$T/root/usr/lib/sysusers.d"
: >"$T/root/etc/passwd"
: >"$T/root/etc/group"
cp "$P/sysusers/mcp-proxy.conf" "$T/root/usr/lib/sysusers.d/"
systemd-sysusers --root="$T/root" >"$T/sysusers.log" 2>&1
check "sysusers creates mcp-proxy and mcp-proxy-hub" \
        bash -c 'grep -q "^mcp-proxy:" "$1" && grep -q "^mcp-proxy-hub:" "$1"' _ "$T/root/etc/passwd"
check "... and the group mcp-proxy-admin (mcp-proxyctl without root)" \
        grep -q "^mcp-proxy-admin:" "$T/root/etc/group"

# an edited config survives a second install; uninstall removes the units, not the config
echo '{"mcpServers":{"mine":{"command":"/bin/true"}}}' >"$P/etc/mcp-proxy/mcp_config.json"
make -s -C "$E2E_ROOT" install "${DIRS[@]}" >>"$T/install.log" 2>&1
check_contains "a second install keeps the edited config" "$(cat "$P/etc/mcp-proxy/mcp_config.json")" mine
make -s -C "$E2E_ROOT" uninstall "${DIRS[@]}" >>"$T/install.log" 2>&1
check "make uninstall removes the units" bash -c '! ls "$1"/mcp-proxy* >/dev/null 2>&1' _ "$U"
check "... and the binaries" test ! -e "$P/usr/bin/mcp-proxy-hub" -a ! -e "$P/usr/bin/mcp-proxyctl"
check "... and keeps the config" test -s "$P/etc/mcp-proxy/mcp_config.json"
