// The SDK client inside the booted container (tests/e2e/e2e-systemd.sh): connects through
// mcp-proxy.socket, lists the tools, then makes N sequential tools/call. When call AT is
// answered it prints "AT <n>" and waits for the file GO: the test restarts the hub then,
// while the calls go on. Every call must be answered; a call in flight at the moment of
// the restart may get a JSON-RPC error, nothing else; the session id stays the same.
//
//   node sdk-calls.mjs URL KEY TOOL N AT GO
import { existsSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { check, exit, outcome, sleep, step, text, within } from './sdk-harness.mjs';

const [url, key, tool, nArg, atArg, go] = process.argv.slice(2);
const n = Number(nArg), at = Number(atArg);
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${key}` } },
});
const client = new Client({ name: 'e2e-systemd', version: '1.0.0' }, { capabilities: {} });
client.onerror = () => {}; // the GET stream breaks at the restart and reconnects

await step('connect', () => within(client.connect(transport), 'connect'));
const sid = transport.sessionId;
const tools = await within(client.listTools(), 'tools/list');
check(`the SDK client lists the tools (${tools.tools.length}, ${tool} among them)`, tools.tools.some((t) => t.name === tool), JSON.stringify(tools.tools.map((t) => t.name)));
const lat = [], errors = [], others = [];
for (let i = 1; i <= n; i++) {
  const t0 = Date.now();
  try {
    const o = await outcome(within(client.callTool({ name: tool, arguments: { message: `m${i}` } }), `call ${i}`, 30000));
    if (o.result && text(o.result) === `Echo: m${i}`) lat.push(Date.now() - t0);
    else if (o.code !== undefined) errors.push({ i, code: o.code, message: o.message });
    else others.push({ i, o });
  } catch (e) {
    others.push({ i, e: String(e) });
  }
  if (i === at) {
    console.log(`AT ${i}`);
    const end = Date.now() + 30000;
    while (!existsSync(go) && Date.now() < end) await sleep(20);
  }
}
lat.sort((a, b) => a - b);
console.log(`INFO ${lat.length} of ${n} calls answered with their echo; latency median ${lat[lat.length >> 1]} ms, max ${lat[lat.length - 1]} ms; ${errors.length} JSON-RPC error(s) ${JSON.stringify(errors)}`);
check(`every call is answered: ${n} calls, at most one in flight at the restart got a JSON-RPC error, none hung or failed otherwise`,
  others.length === 0 && errors.length <= 1 && lat.length + errors.length === n, JSON.stringify({ errors, others }).slice(0, 800));
check('the session id is the same after the restart', transport.sessionId === sid, `${transport.sessionId} vs ${sid}`);
const again = await outcome(within(client.listTools(), 'tools/list after'));
check('tools/list after the restart', again.result?.tools?.length === tools.tools.length, JSON.stringify(again).slice(0, 300));
await step('close', async () => {
  await transport.terminateSession();
  await client.close();
});
exit();
