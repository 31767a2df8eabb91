// Client roots never widen what a server on the proxy's host exposes, unless the
// operator opted in for that server ("forwardRoots"), and then only for the
// client's own instance.
//   node tests/e2e/sdk-roots.mjs URL KEY_ALICE KEY_BOB DIR_A DIR_B DIR_C
// Servers (tools prefixed with the server name), all server-filesystem started
// with DIR_A as its only allowed directory:
//   shared, client, session  "isolation" as named, no roots config
//   op                       "roots": [DIR_C] (the operator's roots)
//   fwd                      "isolation": "session", "forwardRoots": true
// DIR_A/a.txt, DIR_B/secret.txt and DIR_C/c.txt hold their own marker text
// (SECRET_B etc. in the environment).
// alice declares roots {listChanged} and answers roots/list with DIR_B; bob
// answers with DIR_A. Prints "PASS <check>" / "FAIL <check>: <detail>".
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { pathToFileURL } from 'node:url';
import { J, check, exit, fail, outcome, sleep, step, text, within } from './sdk-harness.mjs';

const [url, keyA, keyB, dirA, dirB, dirC] = process.argv.slice(2);
const { TEXT_A, SECRET_B, TEXT_C } = process.env;
if (!url || !keyA || !keyB || !dirA || !dirB || !dirC || !TEXT_A || !SECRET_B || !TEXT_C) {
  console.error('usage: TEXT_A=.. SECRET_B=.. TEXT_C=.. sdk-roots.mjs URL KEY_ALICE KEY_BOB DIR_A DIR_B DIR_C');
  process.exit(2);
}

const isErr = (o) => typeof o.code === 'number' || o.result?.isError === true;
const J0 = (o) => J(o).slice(0, 400);

process.on('unhandledRejection', (e) => fail('no unhandled rejection', e?.stack ?? e));

function makeClient(name, key, rootDir) {
  const me = { name, rootsAsked: 0 };
  me.transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${key}` } },
  });
  me.client = new Client({ name: `e2e-roots-${name}`, version: '1.0.0' }, { capabilities: { roots: { listChanged: true } } });
  me.client.setRequestHandler(ListRootsRequestSchema, async () => {
    me.rootsAsked++;
    return { roots: [{ uri: pathToFileURL(rootDir).href, name: `${name}-root` }] };
  });
  me.call = (server, tool, args) => outcome(within(me.client.callTool({ name: `${server}_${tool}`, arguments: args }), `${name} ${server}_${tool}`));
  me.allowed = async (server) => text((await me.call(server, 'list_allowed_directories', {})).result);
  return me;
}

const A = makeClient('alice', keyA, dirB); // alice's roots: the directory the operator did not allow
const B = makeClient('bob', keyB, dirA);
const fileA = `${dirA}/a.txt`;
const fileB = `${dirB}/secret.txt`;
const fileC = `${dirC}/c.txt`;
const MODES = ['shared', 'client', 'session'];

await step('connect', async () => {
  await within(A.client.connect(A.transport), 'alice connect');
  const names = (await within(A.client.listTools(), 'tools/list')).tools.map((t) => t.name);
  for (const s of [...MODES, 'op', 'fwd'])
    for (const t of ['read_text_file', 'read_file', 'list_allowed_directories'])
      check(`tools/list has ${s}_${t}`, names.includes(`${s}_${t}`), J(names));
  await sleep(300); // the GET stream the SDK opens after initialize
});

// ---- no opt-in: a client's roots never reach the server ----
await step('no opt-in', async () => {
  for (const m of MODES) {
    const o = await A.call(m, 'read_text_file', { path: fileA });
    check(`${m}: a file in the allowed directory reads`, text(o.result).includes(TEXT_A) && !isErr(o), J0(o));
  }
  // alice announces roots pointing at B; a server that takes them would allow B
  await A.client.sendRootsListChanged();
  await sleep(2000);
  for (const m of MODES) {
    for (const tool of ['read_text_file', 'read_file']) {
      const o = await A.call(m, tool, { path: fileB });
      check(`${m}: after alice's roots/list_changed, ${tool} of a file outside the allowed directory is an error`, isErr(o), J0(o));
      check(`${m}: ... and does not reveal its content`, !J(o).includes(SECRET_B), J0(o));
    }
    const dirs = await A.allowed(m);
    check(`${m}: list_allowed_directories still names only the operator's directory`, dirs.includes(dirA) && !dirs.includes(dirB), dirs);
    const o = await A.call(m, 'read_text_file', { path: fileA });
    check(`${m}: the allowed directory still reads after the roots change`, text(o.result).includes(TEXT_A) && !isErr(o), J0(o));
  }
});

// ---- operator roots: the hub answers roots/list from the config ----
await step('operator roots', async () => {
  let dirs = '';
  const end = Date.now() + 8000;
  while (Date.now() < end) {
    dirs = await A.allowed('op');
    if (dirs.includes(dirC)) break;
    await sleep(250);
  }
  check('op: the server took the operator\'s roots from the config (list_allowed_directories names C)', dirs.includes(dirC) && !dirs.includes(dirB), dirs);
  const o = await A.call('op', 'read_text_file', { path: fileC });
  check("op: a file under the operator's root reads", text(o.result).includes(TEXT_C) && !isErr(o), J0(o));
  const s = await A.call('op', 'read_text_file', { path: fileB });
  check("op: alice's root B stays out of reach", isErr(s) && !J(s).includes(SECRET_B), J0(s));
});

check("no server without forwardRoots asked alice for her roots (her roots/list handler was never called)", A.rootsAsked === 0, `called ${A.rootsAsked} times`);

// ---- opt-in: forwardRoots on a session-isolated server ----
await step('forwardRoots', async () => {
  await A.call('fwd', 'list_allowed_directories', {}); // starts alice's instance
  await A.client.sendRootsListChanged();
  let dirs = '';
  const end = Date.now() + 8000;
  while (Date.now() < end) {
    dirs = await A.allowed('fwd');
    if (dirs.includes(dirB)) break;
    await sleep(250);
  }
  check("fwd: alice's own instance took her roots (list_allowed_directories names B)", dirs.includes(dirB), dirs);
  check('fwd: alice was asked for her roots', A.rootsAsked > 0, `called ${A.rootsAsked} times`);
  const o = await A.call('fwd', 'read_text_file', { path: fileB });
  check('fwd: alice reads the file under her own root (what opting in means)', text(o.result).includes(SECRET_B) && !isErr(o), J0(o));

  await within(B.client.connect(B.transport), 'bob connect');
  await sleep(300);
  const b0 = await B.call('fwd', 'read_text_file', { path: fileA });
  check('fwd: bob reads the operator directory A (his instance works; his roots are A)', text(b0.result).includes(TEXT_A) && !isErr(b0), J0(b0));
  await B.client.sendRootsListChanged();
  await sleep(1000);
  for (const tool of ['read_text_file', 'read_file']) {
    const b = await B.call('fwd', tool, { path: fileB });
    check(`fwd: bob (another key) cannot ${tool} alice's root B`, isErr(b) && !J(b).includes(SECRET_B), J0(b));
  }
  const bd = await B.allowed('fwd');
  check("fwd: bob's instance does not list alice's root", !bd.includes(dirB), bd);
  // and alice's instance kept her roots while bob's changed
  const a2 = await A.call('fwd', 'read_text_file', { path: fileB });
  check('fwd: alice still reads her root after bob announced his', text(a2.result).includes(SECRET_B), J0(a2));
  // the non-opted servers stay closed for both
  for (const m of MODES) {
    const b = await B.call(m, 'read_text_file', { path: fileB });
    check(`${m}: bob cannot read B either`, isErr(b) && !J(b).includes(SECRET_B), J0(b));
  }
});

for (const me of [A, B]) {
  await me.transport.terminateSession().catch(() => {});
  await me.client.close().catch(() => {});
}
exit();
