// A 2025 SDK client (@modelcontextprotocol/sdk 1.x, Streamable HTTP) against the proxy
// whose upstream "mo" speaks only 2026-07-28 (driven by e2e-modern-upstream.sh):
//   node tests/e2e/sdk-modern-upstream.mjs URL KEY
// Prints "PASS <check>" / "FAIL <check>: <detail>" lines.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

const [url, key] = process.argv.slice(2);
if (!url || !key) {
  console.error('usage: sdk-modern-upstream.mjs URL KEY');
  process.exit(2);
}
let failed = 0;
const pass = (name) => console.log(`PASS ${name}`);
const fail = (name, detail) => {
  failed++;
  console.log(`FAIL ${name}: ${String(detail).replace(/\s+/g, ' ').slice(0, 600)}`);
};
const check = (name, cond, detail) => (cond ? pass(name) : fail(name, detail));
const text = (r) => (r?.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('');
const within = (p, what, ms = 15000) =>
  Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`${what}: no answer within ${ms} ms`)), ms).unref())]);

const client = new Client({ name: 'e2e-modern-upstream', version: '1.0.0' }, { capabilities: { elicitation: {} } });
let elicited = 0;
client.setRequestHandler(ElicitRequestSchema, async () => {
  elicited++;
  return { action: 'accept', content: { name: 'Ada' } };
});
let changed;
const listChanged = new Promise((resolve) => (changed = resolve));
client.setNotificationHandler(ToolListChangedNotificationSchema, () => changed());
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${key}` } },
});
try {
  await within(client.connect(transport), 'connect');
  const names = (await within(client.listTools(), 'tools/list')).tools.map((t) => t.name);
  check('sdk: tools/list shows the modern upstream\'s tools (mo_echo, mo_ask)', names.includes('mo_echo') && names.includes('mo_ask'), names.join(','));
  const r = await within(client.callTool({ name: 'mo_echo', arguments: { message: 'from 2025' } }), 'mo_echo');
  check('sdk: mo_echo answers', text(r) === 'Echo: from 2025', JSON.stringify(r));
  check('sdk: the result is era-pure (no resultType, ttlMs, cacheScope)',
    !('resultType' in r) && !('ttlMs' in r) && !('cacheScope' in r), JSON.stringify(r));
  const listed = (await within(client.listResources(), 'resources/list')).resources.find((r) => r.name === 'mo_greeting');
  check('sdk: resources/list shows mo_greeting', listed, 'not listed');
  const res = await within(client.readResource({ uri: listed?.uri ?? 'modern://mo/greeting' }), 'resources/read').catch((e) => e);
  check('sdk: resources/read of the modern upstream\'s resource', res?.contents?.[0]?.text === 'hello from 2026', JSON.stringify(res?.message ?? res));
  const ask = await within(client.callTool({ name: 'mo_ask', arguments: {} }), 'mo_ask').catch((e) => ({ error: e?.message }));
  check('sdk: mo_ask (input_required upstream) completes through one elicitation in the session',
    text(ask) === 'Hello, Ada' && elicited === 1, JSON.stringify(ask) + ` elicited=${elicited}`);
  const twice = await within(client.callTool({ name: 'mo_ask-twice', arguments: {} }), 'mo_ask-twice').catch((e) => ({ error: e?.message }));
  check('sdk: mo_ask-twice: two input_required rounds, two elicitations, then the result',
    text(twice) === 'Ada then Ada' && elicited === 3, JSON.stringify(twice) + ` elicited=${elicited}`);
  await within(client.callTool({ name: 'mo_add-tool', arguments: {} }), 'mo_add-tool');
  await within(listChanged, 'notifications/tools/list_changed', 10000);
  pass('sdk: tools/list_changed arrives after the upstream\'s listen stream said so');
  const after = (await within(client.listTools(), 'tools/list')).tools.map((t) => t.name);
  check('sdk: the new tool mo_extra is listed', after.includes('mo_extra'), after.join(','));
  const x = await within(client.callTool({ name: 'mo_extra', arguments: {} }), 'mo_extra');
  check('sdk: mo_extra answers', text(x) === 'extra', JSON.stringify(x));
} catch (e) {
  fail('sdk: run', e?.stack ?? e);
}
await client.close().catch(() => {});
process.exit(failed ? 1 : 0);
