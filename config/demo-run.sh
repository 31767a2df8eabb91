#!/usr/bin/env bash
# make run: start mcp-proxy-hub and mcp-proxy on 127.0.0.1 with the demo config,
# print a fresh API key and a curl line that lists the tools, and stay in the
# foreground until Ctrl-C (which stops both and every upstream child).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD:-build}
PORT=${MCP_PORT:-8080}
RUN=$ROOT/.run
mkdir -p "$RUN"

# The demo upstream is @modelcontextprotocol/server-everything from npm.
if [ ! -x tests/node_modules/.bin/mcp-server-everything ]; then
	echo "Installing the demo upstream (npm ci in tests/)..."
	command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm; }
	npm ci --prefix tests --no-audit --no-fund --loglevel=error >/dev/null
fi

if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
	echo "Port $PORT on 127.0.0.1 is in use; run with MCP_PORT=<other port> make run" >&2
	exit 1
fi

KEY="mcp-demo-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
export MCP_DEMO_ROOT=$ROOT
export MCP_CONFIG_PATH=$RUN/mcp_config.json
export MCP_HUB_SOCKET=$RUN/hub.sock
export MCP_API_KEYS="$KEY:demo"
export MCP_CONTROL_SOCKET=$RUN/control.sock
mkdir -p -m 700 "$RUN/state"
export STATE_DIRECTORY=$RUN/state
cp config/mcp_config.demo.json "$MCP_CONFIG_PATH"

pids=()
cleanup() {
	trap - EXIT INT TERM
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	echo "stopped."
}
trap cleanup EXIT INT TERM

"$BUILD/mcp-proxy-hub" 2> >(tee -a "$RUN/hub.log" >&2) &
pids+=($!)
for _ in $(seq 100); do [ -S "$MCP_HUB_SOCKET" ] && break; sleep 0.1; done
[ -S "$MCP_HUB_SOCKET" ] || { echo "the hub did not start; see $RUN/hub.log" >&2; exit 1; }

"$BUILD/mcp-proxy" --listen "127.0.0.1:$PORT" 2> >(tee -a "$RUN/front.log" >&2) &
pids+=($!)

URL="http://127.0.0.1:$PORT"
echo "Waiting for the upstream to be ready..."
for _ in $(seq 120); do
	if curl -s -H "Authorization: Bearer $KEY" "$URL/health" | grep -q '"state":"ready"'; then
		break
	fi
	sleep 0.5
done

H="-H 'Authorization: Bearer $KEY' -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream'"
cat <<MSG

mcp-proxy is running on $URL/mcp  (logs: $RUN/hub.log, $RUN/front.log)
API key (client id "demo"): $KEY

Health with upstream states:
  curl -s -H 'Authorization: Bearer $KEY' $URL/health

List the tools (initialize a session, then tools/list):
  S=\$(curl -si $H -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}' $URL/mcp | sed -n 's/^mcp-session-id: *//Ip' | tr -d '\r'); curl -s $H -H "Mcp-Session-Id: \$S" -d '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' $URL/mcp

The same server as a 2026-07-28 (stateless) client sees it: one request, no session:
  curl -s $H -H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: tools/call' -H 'Mcp-Name: echo' -d '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}' $URL/mcp

The hub, its servers and sessions (the admin CLI, as this user):
  $BUILD/mcp-proxyctl -s $RUN/control.sock status

Press Ctrl-C to stop.
MSG
wait -n "${pids[@]}" || true
