// A real SDK client across hub restarts (tests/e2e/e2e-restart.sh): one session, with
// sampling, that must keep working, with the same Mcp-Session-Id, after each restart the
// test makes while this client waits. Between phases it prints "PHASE n <session id>" and
// waits for the file <dir>/go<n>.
//
//   node sdk-restart.mjs URL KEY DIR PHASES
import { existsSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { check, exit, fail, sleep, step, text, within } from './sdk-harness.mjs';

const [url, key, dir, phasesArg] = process.argv.slice(2);
const phases = Number(phasesArg ?? 2);
const asked = [];
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${key}` } },
});
const client = new Client({ name: 'e2e-restart', version: '1.0.0' }, { capabilities: { sampling: {} } });
client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
  asked.push(req.params.messages?.[0]?.content?.text ?? '');
  return { role: 'assistant', content: { type: 'text', text: `sampled-${asked.length}` }, model: 'm', stopReason: 'endTurn' };
});
client.onerror = () => {}; // the GET stream breaking at a restart is expected; it reconnects

async function waitFile(f, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (existsSync(f)) return true;
    await sleep(50);
  }
  return false;
}

async function round(label, sid) {
  const e = await within(client.callTool({ name: 'ev_echo', arguments: { message: `hello-${label}` } }), `${label} echo`);
  check(`${label}: echo answers`, text(e).includes(`hello-${label}`), JSON.stringify(e));
  const before = asked.length;
  const s = await within(client.callTool({ name: 'ev_trigger-sampling-request', arguments: { prompt: `p-${label}`, maxTokens: 10 } }), `${label} sampling`);
  check(`${label}: the server's sampling request reaches this client (its capability is known) and its answer comes back`,
    asked.length === before + 1 && asked[before].includes(`p-${label}`) && JSON.stringify(s).includes(`sampled-${before + 1}`), JSON.stringify({ asked, s }));
  const f = await within(client.callTool({ name: 'fx_echo', arguments: { message: `fx-${label}` } }), `${label} fx echo`);
  check(`${label}: the second server answers too`, text(f).includes(`fx-${label}`), JSON.stringify(f));
  const t = await within(client.listTools(), `${label} tools/list`);
  check(`${label}: tools/list has both servers' tools`, t.tools.some((x) => x.name === 'ev_echo') && t.tools.some((x) => x.name === 'fx_sleep'), t.tools.length);
  if (sid) check(`${label}: the same Mcp-Session-Id`, transport.sessionId === sid, `${transport.sessionId} vs ${sid}`);
}

await step('connect', () => within(client.connect(transport), 'connect'));
const sid = transport.sessionId;
check('the session id is sealed: 64 hex digits, format 01', /^01[0-9a-f]{62}$/.test(sid ?? ''), sid);
await step('before any restart', () => round('before'));
for (let p = 1; p <= phases; p++) {
  console.log(`PHASE ${p} ${sid}`);
  if (!(await waitFile(`${dir}/go${p}`, 90000))) {
    fail(`phase ${p}: the test said go`, 'no go file within 90 s');
    break;
  }
  await step(`after restart ${p}`, () => round(`after-restart-${p}`, sid));
}
await step('close', async () => {
  await transport.terminateSession();
  await client.close();
});
exit();
