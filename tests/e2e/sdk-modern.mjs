// The 2026-07-28 TypeScript client (@modelcontextprotocol/client 2.x) through the proxy,
// beside a 2025 SDK client (tests/e2e/e2e-modern.sh):
//
//   node sdk-modern.mjs URL KEY_MODERN KEY_LEGACY
//
// Upstreams (names prefixed): ev = server-everything, cf = tests/conformance/fixture-server.mjs.
// For each negotiation mode of the v2 client, 'auto' and { pin: '2026-07-28' }, one client
// that declares sampling and elicitation (form) and:
//   - connects: the era is modern, the negotiated version 2026-07-28, no session, and on
//     the wire (a recording fetch) no initialize, no GET, every POST with
//     MCP-Protocol-Version 2026-07-28 and the version in its _meta, no response with an
//     Mcp-Session-Id (auto must not quietly fall back to 2025);
//   - lists the tools of both upstreams (the same names as the 2025 client sees) and calls
//     ev_echo, ev_get-sum and cf_test_simple_text (exact texts);
//   - gets progress: ev_trigger-long-running-operation (1, 2, 3 of 3) and
//     cf_test_tool_with_progress (0, 50, 100 of 100), then the result;
//   - answers ev_trigger-sampling-request and ev_trigger-elicitation-request: the upstream's
//     sampling/createMessage and elicitation/create reach the client as input_required
//     (never as a server->client request on the call's stream, which the v2 client drops),
//     its handler is called once with the upstream's request, the client retries with
//     inputResponses and requestState, and the tool's result carries the handler's answer;
//   - reads resources (cf's static text, exactly; an ev document, the same as the 2025
//     client reads);
//   - opens subscriptions/listen {toolsListChanged}, calls cf_test_trigger_tool_change and
//     hears notifications/tools/list_changed tagged with the subscription id; the next
//     tools/list shows the changed description; closing the subscription ends it locally.
// Meanwhile a 2025 client (@modelcontextprotocol/sdk 1.x, StreamableHTTPClientTransport)
// with a session of its own lists and calls tools in a loop, and runs its own sampling and
// elicitation: same answers every round, its handlers see only its own requests, its session
// is the same one at the end and still answers.
// Every step is bounded (within(), 20 s). Prints "PASS <check>" / "FAIL <check>: <detail>".
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as LegacyTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { readFileSync } from 'node:fs';
import { J, check, exit, fail, outcome, pass, sleep, step, text, waitFor, within } from './sdk-harness.mjs';

const [url, keyModern, keyLegacy] = process.argv.slice(2);
if (!url || !keyModern || !keyLegacy) {
  console.error('usage: sdk-modern.mjs URL KEY_MODERN KEY_LEGACY');
  process.exit(2);
}
const MODERN = '2026-07-28';
const STEP_MS = 20000;
const SUBSCRIPTION_ID = 'io.modelcontextprotocol/subscriptionId';
const PROTOCOL_VERSION_META = 'io.modelcontextprotocol/protocolVersion';
const v2version = JSON.parse(readFileSync(new URL('../node_modules/@modelcontextprotocol/client/package.json', import.meta.url))).version;
console.log(`INFO @modelcontextprotocol/client ${v2version} on node ${process.version}`);

process.on('unhandledRejection', (e) => fail('no unhandled rejection', e?.stack ?? e));

const SIMPLE_TEXT = 'This is a simple text response for testing.';
const STATIC_TEXT = 'This is the content of the static text resource.';
const EXPECTED_TOOLS = [
  'ev_echo',
  'ev_get-sum',
  'ev_trigger-long-running-operation',
  'ev_trigger-sampling-request',
  'ev_trigger-elicitation-request',
  'cf_test_simple_text',
  'cf_test_tool_with_progress',
  'cf_test_trigger_tool_change',
  'cf_test_dynamic_tool',
];
const auth = (key) => ({ Authorization: `Bearer ${key}` });
const names = (tools) => tools.map((t) => t.name).sort();
const short = (x, n = 400) => J(x)?.slice(0, n);

// ---------------- the 2025 client, in a loop while the modern clients run ----------------

const legacy = {
  sampling: [],
  elicit: [],
  rounds: 0,
  bad: [],
  listChanged: 0,
  asked: 0, // sampling and elicitation calls made (one of each per round that asks)
};
async function legacyOpen() {
  legacy.transport = new LegacyTransport(new URL(url), { requestInit: { headers: auth(keyLegacy) } });
  legacy.client = new LegacyClient(
    { name: 'e2e-modern-legacy', version: '1.0.0' },
    { capabilities: { sampling: {}, elicitation: { form: {} } } },
  );
  legacy.client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
    legacy.sampling.push(req.params.messages?.[0]?.content?.text ?? '');
    return { role: 'assistant', content: { type: 'text', text: 'legacy-sampled' }, model: 'legacy-model', stopReason: 'endTurn' };
  });
  legacy.client.setRequestHandler(ElicitRequestSchema, async (req) => {
    legacy.elicit.push(req.params.message);
    return { action: 'accept', content: { name: 'legacy-name' } };
  });
  legacy.client.setNotificationHandler(ToolListChangedNotificationSchema, () => { legacy.listChanged++; });
  await within(legacy.client.connect(legacy.transport), 'legacy connect', STEP_MS);
  legacy.sid = legacy.transport.sessionId;
  legacy.version = legacy.transport.protocolVersion;
}
const lcall = (name, args, opts) =>
  outcome(within(legacy.client.callTool({ name, arguments: args }, undefined, { timeout: STEP_MS, ...opts }), `legacy ${name}`, STEP_MS));
async function legacyTools() {
  const out = [];
  let cursor;
  do {
    const r = await within(legacy.client.listTools(cursor ? { cursor } : undefined, { timeout: STEP_MS }), 'legacy tools/list', STEP_MS);
    out.push(...r.tools);
    cursor = r.nextCursor;
  } while (cursor);
  return out;
}
// one round: the same questions, the same answers every time
async function legacyRound(i) {
  const tools = names(await legacyTools());
  if (J(tools) !== J(legacy.toolNames)) legacy.bad.push([i, 'tools/list', tools.length]);
  const e = await lcall('ev_echo', { message: `legacy-${i}` });
  if (text(e.result) !== `Echo: legacy-${i}`) legacy.bad.push([i, 'ev_echo', short(e)]);
  const s = await lcall('ev_get-sum', { a: i, b: 1000 });
  if (text(s.result) !== `The sum of ${i} and 1000 is ${i + 1000}.`) legacy.bad.push([i, 'ev_get-sum', short(s)]);
  const t = await lcall('cf_test_simple_text', {});
  if (text(t.result) !== SIMPLE_TEXT) legacy.bad.push([i, 'cf_test_simple_text', short(t)]);
  legacy.rounds++;
}
async function legacyLoop(until) {
  let i = 0;
  // at least 3 rounds, and on until the modern clients are done
  while (i < 3 || !until.done) {
    if (i >= 200) break;
    try {
      await legacyRound(++i);
    } catch (e) {
      legacy.bad.push([i, 'threw', String(e?.message ?? e).slice(0, 300)]);
    }
    if (i % 4 === 0) {
      // its own sampling and elicitation, while the modern clients do theirs
      legacy.asked++;
      const samp = await lcall('ev_trigger-sampling-request', { prompt: `legacy-prompt-${i}`, maxTokens: 10 });
      if (!text(samp.result).includes('legacy-sampled')) legacy.bad.push([i, 'sampling', short(samp)]);
      const el = await lcall('ev_trigger-elicitation-request', {});
      if (!text(el.result).includes('- Name: legacy-name')) legacy.bad.push([i, 'elicitation', short(el)]);
    }
    await sleep(100);
  }
}

// ---------------- the 2026-07-28 client ----------------

function modernClient(mode) {
  const me = { mode, sampling: [], elicit: [], listChanged: [], wire: [] };
  // what goes on the wire: every POST's method, version header and what its body says
  const recordingFetch = async (input, init = {}) => {
    const h = new Headers(init.headers ?? {});
    let body;
    try {
      body = typeof init.body === 'string' ? JSON.parse(init.body) : undefined;
    } catch {
      body = undefined;
    }
    const rec = {
      http: init.method ?? 'GET',
      version: h.get('mcp-protocol-version'),
      method: body?.method,
      id: body?.id,
      metaVersion: body?.params?._meta?.[PROTOCOL_VERSION_META],
      inputResponses: body?.params?.inputResponses ? Object.keys(body.params.inputResponses) : undefined,
      requestState: typeof body?.params?.requestState === 'string',
      session: h.get('mcp-session-id'),
    };
    me.wire.push(rec);
    const res = await fetch(input, init);
    rec.status = res.status;
    rec.type = res.headers.get('content-type')?.split(';')[0];
    rec.sessionHeader = res.headers.get('mcp-session-id') ?? undefined;
    return res;
  };
  me.transport = new ModernTransport(new URL(url), { requestInit: { headers: auth(keyModern) }, fetch: recordingFetch });
  me.client = new ModernClient(
    { name: `e2e-modern-${mode}`, version: '1.0.0' },
    {
      capabilities: { sampling: {}, elicitation: { form: {} } },
      versionNegotiation: { mode: mode === 'auto' ? 'auto' : { pin: MODERN } },
      inputRequired: { autoFulfill: true, maxRounds: 4 },
    },
  );
  me.client.setRequestHandler('sampling/createMessage', async (req) => {
    me.sampling.push(req.params);
    return { role: 'assistant', content: { type: 'text', text: `sampled-by-${mode}` }, model: `model-${mode}`, stopReason: 'endTurn' };
  });
  me.client.setRequestHandler('elicitation/create', async (req) => {
    me.elicit.push(req.params);
    return { action: 'accept', content: { name: `name-of-${mode}`, check: true } };
  });
  me.client.setNotificationHandler('notifications/tools/list_changed', (n) => { me.listChanged.push(n); });
  me.errors = [];
  me.client.onerror = (e) => {
    me.errors.push(String(e?.message ?? e));
    console.log(`INFO ${mode}: client onerror: ${String(e?.message ?? e).slice(0, 300)}`);
  };
  me.call = (name, args, opts) =>
    outcome(within(me.client.callTool({ name, arguments: args }, { timeout: STEP_MS, maxTotalTimeout: STEP_MS, ...opts }), `${mode} ${name}`, STEP_MS));
  return me;
}

async function modern(mode) {
  const M = `${mode}:`;
  const me = modernClient(mode);
  let connected = false;
  await step(`${M} connects`, async () => {
    await within(me.client.connect(me.transport, { timeout: STEP_MS }), `${mode} connect`, STEP_MS);
    connected = true;
    pass(`${M} connects`);
  });
  if (!connected) return;

  await step(`${M} negotiation`, async () => {
    const era = me.client.getProtocolEra();
    const v = me.client.getNegotiatedProtocolVersion();
    check(`${M} negotiated the modern era, ${MODERN} (no fallback to 2025)`, era === 'modern' && v === MODERN, J({ era, v }));
    const d = me.client.getDiscoverResult();
    check(`${M} server/discover: supportedVersions lists ${MODERN} and the 2025 ones`,
      J(d?.supportedVersions) === J([MODERN, '2025-11-25', '2025-06-18', '2025-03-26']), short(d));
    check(`${M} server/discover: tools, prompts, resources with listChanged`,
      d?.capabilities?.tools?.listChanged === true && d?.capabilities?.prompts?.listChanged === true &&
      d?.capabilities?.resources?.listChanged === true, short(d?.capabilities));
    check(`${M} the server is mcp-proxy`, me.client.getServerVersion()?.name === 'mcp-proxy', J(me.client.getServerVersion()));
    const first = me.wire[0];
    check(`${M} on the wire: the first POST is server/discover with ${MODERN}`,
      first?.method === 'server/discover' && first?.version === MODERN && first?.metaVersion === MODERN && first?.status === 200, J(first));
    check(`${M} no session: the transport holds no session id`, me.transport.sessionId === undefined, J(me.transport.sessionId));
  });

  let tools = [];
  await step(`${M} tools/list`, async () => {
    const r = await within(me.client.listTools(undefined, { timeout: STEP_MS }), `${mode} tools/list`, STEP_MS);
    tools = r.tools;
    const n = names(tools);
    const missing = EXPECTED_TOOLS.filter((t) => !n.includes(t));
    check(`${M} tools/list shows both servers' tools (${EXPECTED_TOOLS.length} named ones among ${n.length})`, missing.length === 0, `missing ${J(missing)} in ${J(n)}`);
    check(`${M} every tool is prefixed ev_ or cf_`, n.length > 0 && n.every((t) => /^(ev|cf)_/.test(t)), J(n));
    check(`${M} ... exactly the names the 2025 client sees`, J(n) === J(legacy.toolNames),
      `modern ${n.length}: ${J(n.filter((x) => !legacy.toolNames?.includes(x)))} extra; 2025 ${legacy.toolNames?.length}: ${J(legacy.toolNames?.filter((x) => !n.includes(x)))} extra`);
    check(`${M} ... and no tool carries the 2025 execution field`, tools.every((t) => t.execution === undefined), J(tools.filter((t) => t.execution).map((t) => t.name)));
  });

  await step(`${M} tools/call`, async () => {
    const e = await me.call('ev_echo', { message: `hello from ${mode}` });
    check(`${M} tools/call ev_echo: "Echo: hello from ${mode}"`, text(e.result) === `Echo: hello from ${mode}`, short(e));
    const s = await me.call('ev_get-sum', { a: 17, b: 25 });
    check(`${M} tools/call ev_get-sum: "The sum of 17 and 25 is 42."`, text(s.result) === 'The sum of 17 and 25 is 42.', short(s));
    const t = await me.call('cf_test_simple_text', {});
    check(`${M} tools/call cf_test_simple_text: its fixed text`, text(t.result) === SIMPLE_TEXT, short(t));
    const u = await me.call('cf_no_such_tool', {});
    check(`${M} tools/call of an unknown tool: an error or an isError result`, typeof u.code === 'number' || u.result?.isError === true, short(u));
  });

  await step(`${M} progress`, async () => {
    const seen = [];
    const r = await me.call('ev_trigger-long-running-operation', { duration: 1, steps: 3 }, { onprogress: (p) => seen.push(p) });
    check(`${M} progress: ev_trigger-long-running-operation completes`,
      text(r.result) === 'Long running operation completed. Duration: 1 seconds, Steps: 3.', short(r));
    check(`${M} progress: 1, 2, 3 of 3 before the result`, J(seen.map((p) => [p.progress, p.total])) === J([[1, 3], [2, 3], [3, 3]]), J(seen));
    const seen2 = [];
    const r2 = await me.call('cf_test_tool_with_progress', {}, { onprogress: (p) => seen2.push(p) });
    check(`${M} progress: cf_test_tool_with_progress completes with a token`, /^Progress tool done \(progress token (?!absent)/.test(text(r2.result)), short(r2));
    check(`${M} progress: 0, 50, 100 of 100 with their messages`,
      J(seen2.map((p) => [p.progress, p.total, p.message])) === J([[0, 100, 'step 0/100'], [50, 100, 'step 50/100'], [100, 100, 'step 100/100']]), J(seen2));
  });

  await step(`${M} sampling through input_required`, async () => {
    const before = me.wire.length;
    const r = await me.call('ev_trigger-sampling-request', { prompt: `prompt-of-${mode}`, maxTokens: 25 });
    const posts = me.wire.slice(before).filter((w) => w.method === 'tools/call');
    check(`${M} sampling: the client's handler is asked once, with the upstream's prompt`,
      me.sampling.length === 1 && me.sampling[0]?.messages?.[0]?.content?.text === `Resource trigger-sampling-request context: prompt-of-${mode}` &&
      me.sampling[0]?.maxTokens === 25, J(me.sampling).slice(0, 500));
    check(`${M} sampling: the client retried the call with inputResponses and requestState (input_required, then complete)`,
      posts.length === 2 && !posts[0].inputResponses && posts[1].inputResponses?.length === 1 && posts[1].requestState && posts[0].id !== posts[1].id,
      J(posts));
    const t = text(r.result);
    check(`${M} sampling: the tool's result carries the handler's answer`,
      t.startsWith('LLM sampling result:') && t.includes(`"text": "sampled-by-${mode}"`) && t.includes(`"model": "model-${mode}"`), short(r, 600));
  });

  await step(`${M} elicitation through input_required`, async () => {
    const before = me.wire.length;
    const r = await me.call('ev_trigger-elicitation-request', {});
    const posts = me.wire.slice(before).filter((w) => w.method === 'tools/call');
    check(`${M} elicitation: the client's handler is asked once, with the upstream's form`,
      me.elicit.length === 1 && me.elicit[0]?.message === 'Please provide inputs for the following fields:' &&
      J(me.elicit[0]?.requestedSchema?.required) === J(['name']), J(me.elicit).slice(0, 500));
    check(`${M} elicitation: the client retried the call with inputResponses and requestState`,
      posts.length === 2 && !posts[0].inputResponses && posts[1].inputResponses?.length === 1 && posts[1].requestState, J(posts));
    const t = text(r.result);
    check(`${M} elicitation: the tool's result carries the handler's answer`,
      t.includes('✅ User provided the requested information!') && t.includes(`- Name: name-of-${mode}`) && t.includes('- Agreed to terms: true'), short(r, 600));
    check(`${M} no sampling was asked meanwhile`, me.sampling.length === 1, J(me.sampling.length));
  });

  await step(`${M} resources/read`, async () => {
    const list = await within(me.client.listResources(undefined, { timeout: STEP_MS }), `${mode} resources/list`, STEP_MS);
    const uris = list.resources.map((r) => r.uri);
    check(`${M} resources/list has cf's test://cf/static-text and ev's demo:// documents`,
      uris.includes('test://cf/static-text') && uris.some((u) => u.startsWith('demo://ev/')), J(uris).slice(0, 600));
    const r = await within(me.client.readResource({ uri: 'test://cf/static-text' }, { timeout: STEP_MS, cacheMode: 'bypass' }), `${mode} read`, STEP_MS);
    check(`${M} resources/read test://cf/static-text: its text`,
      r.contents?.length === 1 && r.contents[0].text === STATIC_TEXT && r.contents[0].uri === 'test://cf/static-text', short(r));
    const doc = uris.find((u) => u.startsWith('demo://ev/resource/static/document/'));
    const mine = await within(me.client.readResource({ uri: doc }, { timeout: STEP_MS, cacheMode: 'bypass' }), `${mode} read ev`, STEP_MS);
    const theirs = await within(legacy.client.readResource({ uri: doc }, { timeout: STEP_MS }), 'legacy read ev', STEP_MS);
    check(`${M} resources/read ${doc}: the same text as the 2025 client reads`,
      typeof mine.contents?.[0]?.text === 'string' && mine.contents[0].text.length > 0 && mine.contents[0].text === theirs.contents?.[0]?.text,
      `${short(mine, 200)} vs ${short(theirs, 200)}`);
    const missing = await outcome(within(me.client.readResource({ uri: 'test://cf/no-such-resource' }, { timeout: STEP_MS, cacheMode: 'bypass' }), `${mode} read missing`, STEP_MS));
    check(`${M} resources/read of an unknown uri: -32602`, missing.code === -32602, short(missing));
  });

  await step(`${M} subscriptions/listen`, async () => {
    const opened = await outcome(within(me.client.listen({ toolsListChanged: true }, { timeout: STEP_MS }), `${mode} listen`, STEP_MS));
    const sub = opened.result;
    const listenPost = me.wire.find((w) => w.method === 'subscriptions/listen');
    check(`${M} listen: acknowledged, toolsListChanged honoured`, sub?.honoredFilter?.toolsListChanged === true, short(sub?.honoredFilter ?? opened));
    // the change is made (and checked through tools/list) whether the listen stream opened or not
    const n0 = me.listChanged.length;
    const r = await me.call('cf_test_trigger_tool_change', {});
    const gen = /^Tool list changed \(generation (\d+)\)$/.exec(text(r.result))?.[1];
    check(`${M} cf_test_trigger_tool_change changes the list`, gen !== undefined, short(r));
    const heard = await waitFor(() => me.listChanged.length > n0, sub ? 5000 : 1000);
    check(`${M} listen: notifications/tools/list_changed arrives on the stream (within 5 s)`, heard, `${me.listChanged.length - n0} notifications`);
    if (heard) {
      const n = me.listChanged[n0];
      check(`${M} listen: ... tagged with the subscription id (the listen request's id)`,
        n?.params?._meta?.[SUBSCRIPTION_ID] !== undefined && n.params._meta[SUBSCRIPTION_ID] === listenPost?.id, `${J(n)} listen id ${J(listenPost?.id)}`);
    }
    const again = await within(me.client.listTools(undefined, { timeout: STEP_MS, cacheMode: 'refresh' }), `${mode} tools/list again`, STEP_MS);
    const dyn = again.tools.find((t) => t.name === 'cf_test_dynamic_tool');
    check(`${M} tools/list after the change: cf_test_dynamic_tool at generation ${gen}`,
      dyn?.description === `A tool changed by test_trigger_tool_change (generation ${gen})`, J(dyn));
    if (sub) {
      await within(sub.close(), `${mode} listen close`, STEP_MS);
      const how = await within(sub.closed, `${mode} listen closed`, STEP_MS);
      check(`${M} listen: closing it ends it ('local')`, how === 'local', J(how));
    }
  });

  await step(`${M} the wire`, async () => {
    const posts = me.wire.filter((w) => w.http === 'POST');
    const bad = posts.filter((w) => w.version !== MODERN || (w.id !== undefined && w.metaVersion !== MODERN) || w.session);
    check(`${M} on the wire: every POST (${posts.length}) carries MCP-Protocol-Version ${MODERN} and its _meta, no session`, posts.length > 0 && bad.length === 0, J(bad).slice(0, 600));
    const withSession = posts.filter((w) => w.sessionHeader !== undefined);
    check(`${M} on the wire: no response carries an Mcp-Session-Id (modern requests get no session)`, withSession.length === 0,
      `${withSession.length} of ${posts.length}: ${J(withSession.map((w) => ({ method: w.method, type: w.type, sid: w.sessionHeader })).slice(0, 3))}`);
    const dropped = me.errors.filter((e) => /Dropped inbound request/.test(e));
    check(`${M} no server->client request reached the client (the 2026 era has none)`, dropped.length === 0, J(dropped));
    check(`${M} on the wire: no initialize, no GET stream`,
      !posts.some((w) => w.method === 'initialize') && !me.wire.some((w) => w.http === 'GET'), J(me.wire.map((w) => `${w.http} ${w.method}`)));
  });
  await me.client.close().catch(() => {});
}

// ---------------- run: the 2025 client first, then its loop beside the modern ones ----------------

let legacyOk = false;
await step('2025 client connects', async () => {
  await legacyOpen();
  legacy.tools = await legacyTools();
  legacy.toolNames = names(legacy.tools);
  check('2025 client: a session, 2025-11-25', typeof legacy.sid === 'string' && legacy.sid.length > 0 && legacy.version === '2025-11-25', J([legacy.sid, legacy.version]));
  const missing = EXPECTED_TOOLS.filter((t) => !legacy.toolNames.includes(t));
  check("2025 client: tools/list shows both servers' tools", missing.length === 0, `missing ${J(missing)}`);
  legacyOk = true;
});
if (!legacyOk) exit();

// The proxy makes the sessions on a shared instance take turns once the server has asked
// a client something (so that it can tell whose call a request belongs to); the first such
// request while several sessions have calls in flight is refused as ambiguous. The 2025
// client asks first, alone, so that the turns are on before the modern clients come.
await step('2025 client: sampling and elicitation, before the modern clients', async () => {
  legacy.asked++;
  const samp = await lcall('ev_trigger-sampling-request', { prompt: 'legacy-prompt-0', maxTokens: 10 });
  check('2025 client: ev_trigger-sampling-request answered by its handler', text(samp.result).includes('"text": "legacy-sampled"'), short(samp));
  const el = await lcall('ev_trigger-elicitation-request', {});
  check('2025 client: ev_trigger-elicitation-request answered by its handler', text(el.result).includes('- Name: legacy-name'), short(el));
});

const until = { done: false };
const loop = legacyLoop(until);
for (const mode of ['auto', 'pin']) await modern(mode);
until.done = true;
await within(loop, 'the 2025 loop', 120000).catch((e) => fail('the 2025 loop ends', e));

check(`2025 client: ${legacy.rounds} rounds meanwhile (tools/list, ev_echo, ev_get-sum, cf_test_simple_text), every answer its own and the same`,
  legacy.rounds >= 3 && legacy.bad.length === 0, J(legacy.bad).slice(0, 1200));
check(`2025 client: its sampling handler was asked once per sampling call (${legacy.asked}), only with its own prompts`,
  legacy.sampling.length === legacy.asked &&
  legacy.sampling.every((p) => /^Resource trigger-sampling-request context: legacy-prompt-\d+$/.test(p)), J([legacy.asked, legacy.sampling]));
check(`2025 client: its elicitation handler was asked once per elicitation call (${legacy.asked})`, legacy.elicit.length === legacy.asked &&
  legacy.elicit.every((m) => m === 'Please provide inputs for the following fields:'), J([legacy.asked, legacy.elicit]));
check('2025 client: it heard both tool list changes through its session too', legacy.listChanged >= 2, J(legacy.listChanged));
await step('2025 client at the end', async () => {
  check('2025 client: the same session at the end', legacy.transport.sessionId === legacy.sid, J([legacy.sid, legacy.transport.sessionId]));
  const p = await outcome(within(legacy.client.ping(), 'legacy ping', STEP_MS));
  check('2025 client: its session still answers (ping)', p.result !== undefined, short(p));
  const e = await lcall('ev_echo', { message: 'legacy-last' });
  check('2025 client: ... and ev_echo', text(e.result) === 'Echo: legacy-last', short(e));
});
await legacy.transport.terminateSession().catch(() => {});
await legacy.client.close().catch(() => {});
exit();
