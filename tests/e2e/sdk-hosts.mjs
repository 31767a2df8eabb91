// The SDK client behind HAProxy (tests/e2e/e2e-haproxy.sh): connects through the balancer,
// lists the tools, then makes N sequential calls of the fixture's env tool, which answers
// the name of the host that served it (HOSTLABEL). When call AT is answered it prints
// "AT <n>" and waits for the file GO: the test takes a host away then. Every call must be
// answered with a host's name, on the same session id throughout.
//
//   node sdk-hosts.mjs URL KEY N AT GO
import { existsSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { check, exit, outcome, sleep, step, text, within } from './sdk-harness.mjs';

const [url, key, nArg, atArg, go] = process.argv.slice(2);
const n = Number(nArg), at = Number(atArg);
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${key}` } },
});
const client = new Client({ name: 'e2e-haproxy', version: '1.0.0' }, { capabilities: {} });
client.onerror = () => {}; // the GET stream to the host that goes away breaks, and reconnects

await step('connect', () => within(client.connect(transport), 'connect'));
const sid = transport.sessionId;
const tools = await within(client.listTools(), 'tools/list');
check('the SDK client lists the tools through HAProxy (env among them)', tools.tools.some((t) => t.name === 'env'), JSON.stringify(tools.tools.map((t) => t.name)));
const before = [], after = [], bad = [];
for (let i = 1; i <= n; i++) {
  try {
    const o = await outcome(within(client.callTool({ name: 'env', arguments: { name: 'HOSTLABEL' } }), `call ${i}`, 30000));
    const host = o.result ? text(o.result) : undefined;
    if (host === 'a' || host === 'b') (i <= at ? before : after).push(host);
    else bad.push({ i, o });
  } catch (e) {
    bad.push({ i, e: String(e) });
  }
  if (i === at) {
    console.log(`AT ${i}`);
    const end = Date.now() + 30000;
    while (!existsSync(go) && Date.now() < end) await sleep(20);
  }
}
console.log(`INFO SDK calls answered by, before host a went away: ${before.join(' ')}; after: ${after.join(' ')}`);
check(`every one of the ${n} calls is answered with a host's name`, bad.length === 0, JSON.stringify(bad).slice(0, 800));
check('before, both hosts answered', before.includes('a') && before.includes('b'), before.join(' '));
check('after, host b alone', after.length === n - at && after.every((h) => h === 'b'), after.join(' '));
check('the session id is the same throughout', transport.sessionId === sid, `${transport.sessionId} vs ${sid}`);
const again = await outcome(within(client.listTools(), 'tools/list after'));
check('tools/list after host a went away', again.result?.tools?.length === tools.tools.length, JSON.stringify(again).slice(0, 300));
await step('close', async () => {
  await transport.terminateSession();
  await client.close();
});
exit();
