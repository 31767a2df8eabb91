// Access rules through the SDK client (tests/e2e/e2e-access.sh): each client sees in its
// lists only what the users file lets it use, and is refused the rest by direct call.
//
// With E2E_HUB_PID and E2E_USERS_PATH set, also: a resource subscription made while the
// rules allowed it tells its client nothing more once a reload denies that resource (while
// another client subscribed to it still hears of it).
//
//   node sdk-access.mjs URL KEY_ALICE KEY_BOB KEY_CAROL KEY_ERIN
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { J, check, exit, outcome, sleep, step, text, waitFor, within } from './sdk-harness.mjs';

const [url, ...keys] = process.argv.slice(2);
const names = ['alice', 'bob', 'carol', 'erin'];
const DENIED = -32003;

async function open(key, who) {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${key}` } },
  });
  const client = new Client({ name: `e2e-access-${who}`, version: '1.0.0' }, { capabilities: {} });
  const updates = [];
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => updates.push(n.params.uri));
  await within(client.connect(transport), `${who} connect`);
  return { client, transport, updates };
}

async function allTools(c) {
  const out = [];
  let cursor;
  do {
    const r = await within(c.listTools(cursor ? { cursor } : undefined), 'tools/list');
    out.push(...r.tools.map((t) => t.name));
    cursor = r.nextCursor;
  } while (cursor);
  return out.sort();
}

const call = (c, name, args = {}) => outcome(within(c.callTool({ name, arguments: args }), name));

const s = {};
for (let i = 0; i < names.length; i++) await step(`${names[i]} connects`, async () => { s[names[i]] = await open(keys[i], names[i]); });

await step('alice (the original format, allowed_tools ["*"])', async () => {
  const t = await allTools(s.alice.client);
  check('alice sees the tools of both servers', t.includes('ev_echo') && t.includes('fx_echo') && t.includes('fx_error'), J(t));
  const r = await call(s.alice.client, 'ev_echo', { message: 'a' });
  check('alice calls ev_echo', text(r.result).includes('a'), J(r));
});

await step('bob (globs, a denied glob winning)', async () => {
  const t = await allTools(s.bob.client);
  check('bob sees exactly ev_echo and fx_e* but fx_error', J(t) === J(['ev_echo', 'fx_echo', 'fx_env']), J(t));
  const ok = await call(s.bob.client, 'fx_echo', { message: 'b' });
  check('bob calls fx_echo', text(ok.result) === 'Echo: b', J(ok));
  for (const name of ['fx_error', 'fx_add', 'ev_get-sum']) {
    const r = await call(s.bob.client, name, { a: 1, b: 2 });
    check(`bob calling ${name} directly is refused: ${DENIED}, access denied`, r.code === DENIED && /Access denied/.test(r.message) && /bob/.test(r.message), J(r));
  }
});

await step('carol (a whole server denied; the rest from "*")', async () => {
  const t = await allTools(s.carol.client);
  check('carol sees no ev_ tool, and only fx_* ("*" allows fx_*)', t.length > 0 && t.every((n) => n.startsWith('fx_')), J(t));
  const r = await call(s.carol.client, 'ev_echo', { message: 'c' });
  check('carol calling ev_echo is refused', r.code === DENIED, J(r));
  const p = await outcome(within(s.carol.client.listPrompts(), 'prompts/list'));
  check('carol sees no ev_ prompt either (the server is denied)', p.result && p.result.prompts.every((x) => !x.name.startsWith('ev_')), J(p).slice(0, 300));
  const res = await outcome(within(s.carol.client.listResources(), 'resources/list'));
  check('... nor an ev resource', res.result && res.result.resources.length === 0, J(res).slice(0, 300));
  const mine = await within(s.alice.client.listResources(), 'alice resources/list');
  const uri = mine.resources[0]?.uri;
  const rr = await outcome(within(s.carol.client.readResource({ uri }), 'read'));
  check(`carol reading an ev resource (${uri}) directly is refused`, rr.code === DENIED, J(rr).slice(0, 300));
  const ra = await outcome(within(s.alice.client.readResource({ uri }), 'read'));
  check('alice reads it', !!ra.result, J(ra).slice(0, 300));
});

await step('erin (absent from the file: the "*" defaults)', async () => {
  const t = await allTools(s.erin.client);
  check('erin sees only fx_* tools (the "*" entry)', t.length > 0 && t.every((n) => n.startsWith('fx_')), J(t));
  const r = await call(s.erin.client, 'ev_echo', { message: 'e' });
  check('erin calling ev_echo is refused', r.code === DENIED, J(r));
  const p = await outcome(within(s.erin.client.listPrompts(), 'prompts/list'));
  check('a tools rule does not restrict prompts: erin sees ev prompts', p.result && p.result.prompts.some((x) => x.name.startsWith('ev_')), J(p).slice(0, 300));
  const ok = await call(s.erin.client, 'fx_echo', { message: 'e' });
  check('erin calls fx_echo', text(ok.result) === 'Echo: e', J(ok));
});

if (process.env.E2E_HUB_PID && process.env.E2E_USERS_PATH) await step('a subscription after a reload that denies its resource', async () => {
  const users = process.env.E2E_USERS_PATH;
  const before = readFileSync(users, 'utf8');
  const reload = (content) => {
    writeFileSync(`${users}.new`, content);
    renameSync(`${users}.new`, users);
    process.kill(Number(process.env.E2E_HUB_PID), 'SIGHUP');
  };
  const mine = await within(s.alice.client.listResources(), 'alice resources/list');
  const uri = mine.resources.find((r) => r.uri.endsWith('features.md'))?.uri;
  check('an ev resource to subscribe to', !!uri, J(mine.resources.map((r) => r.uri)));
  await within(s.alice.client.subscribeResource({ uri }), 'alice subscribe');
  await within(s.bob.client.subscribeResource({ uri }), 'bob subscribe');
  await within(s.alice.client.callTool({ name: 'ev_toggle-subscriber-updates', arguments: {} }), 'toggle on');
  check('while allowed, alice hears of updates to it', await waitFor(() => s.alice.updates.length > 0 && s.bob.updates.length > 0, 8000),
    `alice ${J(s.alice.updates)} bob ${J(s.bob.updates)}`);
  const rules = JSON.parse(before);
  rules.alice = { ...rules.alice, denied_resources: [uri] };
  reload(JSON.stringify(rules));
  const refused = async () => (await outcome(within(s.alice.client.readResource({ uri }), 'read'))).code === DENIED;
  let denied = false;
  for (let i = 0; i < 50 && !(denied = await refused()); i++) await sleep(100);
  check('after the reload alice may not read it', denied);
  s.alice.updates.length = 0;
  s.bob.updates.length = 0;
  await waitFor(() => s.bob.updates.length > 0, 8000);
  await sleep(200);
  check('bob (still allowed) goes on hearing of it', s.bob.updates.length > 0, J(s.bob.updates));
  check('alice, subscribed before the reload, hears nothing more', s.alice.updates.length === 0, J(s.alice.updates));
  await within(s.alice.client.callTool({ name: 'ev_toggle-subscriber-updates', arguments: {} }), 'toggle off');
  reload(before);
  let back = false;
  for (let i = 0; i < 50 && !(back = !(await refused())); i++) await sleep(100);
  check('the rules as they were are back', back);
});

for (const n of names) await step(`${n} closes`, async () => { await s[n]?.transport.terminateSession(); await s[n]?.client.close(); });
exit();
