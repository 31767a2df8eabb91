// The official TypeScript SDK client through the proxy, the MCP surface beyond tools:
//   node tests/e2e/sdk-protocol.mjs URL KEY everything
//       one upstream, server-everything over stdio (names unprefixed): progress,
//       sampling, elicitation (form and URL), roots, logging, resources and
//       subscriptions, prompts, completion, cancellation, errors compared with
//       server-everything spoken to directly (StdioClientTransport, EVERYTHING_BIN)
//   node tests/e2e/sdk-protocol.mjs URL KEY multi N
//       server-everything "everything" plus N mcp-fixture upstreams "fx1".."fxN"
//       (names prefixed): pagination over more than one hub page, URIs renamed,
//       error fidelity, cancellation seen by the upstream
// Prints "PASS <check>" / "FAIL <check>: <detail>" lines (and "INFO ..." lines the
// shell script reads); exits 1 on any failure.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';

const [url, key, mode = 'everything', nFixtures = '0'] = process.argv.slice(2);
if (!url || !key) {
  console.error('usage: sdk-protocol.mjs URL KEY everything|multi [N]');
  process.exit(2);
}

let failed = 0;
const pass = (name) => console.log(`PASS ${name}`);
const fail = (name, detail) => {
  failed++;
  console.log(`FAIL ${name}: ${String(detail).replace(/\s+/g, ' ').slice(0, 1500)}`);
};
const check = (name, cond, detail) => (cond ? pass(name) : fail(name, detail));
const text = (result) => (result?.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const timeout = (ms, what) =>
  new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms).unref());
const within = (p, what, ms = 20000) => Promise.race([p, timeout(ms, what)]);
const J = (x) => JSON.stringify(x);
// waitFor(cond, ms): polls cond every 50 ms; true once it holds, false after ms.
async function waitFor(cond, ms) {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() >= end) return false;
    await sleep(50);
  }
}
// step NAME FN: runs FN, a thrown error is one failed check named NAME.
async function step(name, fn) {
  try {
    await fn();
  } catch (e) {
    fail(name, e?.stack ?? e);
  }
}

const authHeaders = { Authorization: `Bearer ${key}` };

// ---- a fetch that lets the test watch the POST streams the SDK reads ----
// tracked: JSON-RPC id -> {events: [{t, data}], closedAt, status, contentType}
const tracked = new Map();
const trackIds = new Set(); // ids of requests whose response stream we record
let cancelPosts = []; // {at, status} of every notifications/cancelled POST
async function watchingFetch(input, init) {
  let msg;
  try {
    msg = init?.body ? JSON.parse(init.body) : undefined;
  } catch {
    msg = undefined;
  }
  const res = await fetch(input, init);
  if (msg?.method === 'notifications/cancelled') cancelPosts.push({ at: Date.now(), status: res.status });
  const want = msg && msg.id !== undefined && trackIds.has(msg.id) && (init?.method ?? 'GET') === 'POST';
  if (!want || !res.body) return res;
  const rec = { events: [], closedAt: 0, status: res.status, contentType: res.headers.get('content-type') ?? '' };
  tracked.set(msg.id, rec);
  const [mine, theirs] = res.body.tee();
  (async () => {
    const reader = mine.getReader();
    const dec = new TextDecoder();
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).replace(/^ /, ''))
            .join('\n');
          let parsed = null;
          try {
            parsed = data ? JSON.parse(data) : null;
          } catch {
            parsed = { unparsable: data };
          }
          rec.events.push({ t: Date.now(), data: parsed });
        }
      }
    } catch {
      /* aborted */
    }
    rec.closedAt = Date.now();
  })();
  return new Response(theirs, { status: res.status, statusText: res.statusText, headers: res.headers });
}

// ---- the client ----
const SAMPLING_TEXT = 'sampled-by-e2e-handler-7f3a';
let roots = [{ uri: 'file:///e2e/root-one', name: 'Root One' }];
const seen = { sampling: [], elicit: [], roots: 0, logs: [], updates: [], errors: [] };
let cancelledId; // reported once by its own check
let elicitAnswer = { action: 'accept', content: { name: 'Ada Lovelace', check: true, integer: 7 } };

function newClient(name) {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: authHeaders },
    fetch: watchingFetch,
  });
  const client = new Client(
    { name, version: '1.0.0' },
    {
      capabilities: {
        sampling: {},
        elicitation: { form: {}, url: {} },
        roots: { listChanged: true },
      },
    },
  );
  client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
    seen.sampling.push(req.params);
    return { role: 'assistant', content: { type: 'text', text: SAMPLING_TEXT }, model: 'e2e-model', stopReason: 'endTurn' };
  });
  client.setRequestHandler(ElicitRequestSchema, async (req) => {
    seen.elicit.push(req.params);
    if (req.params.mode === 'url') return { action: 'accept' };
    return elicitAnswer;
  });
  client.setRequestHandler(ListRootsRequestSchema, async () => {
    seen.roots++;
    return { roots };
  });
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    seen.logs.push({ t: Date.now(), ...n.params });
  });
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
    seen.updates.push({ t: Date.now(), uri: n.params.uri });
  });
  client.onerror = (e) => seen.errors.push({ t: Date.now(), message: String(e?.message ?? e) });
  return { client, transport };
}

async function allPages(fn, key) {
  const items = [];
  const pages = [];
  let cursor;
  for (let i = 0; i < 50; i++) {
    const page = await within(fn(cursor ? { cursor } : undefined), `list ${key}`);
    pages.push(page);
    items.push(...page[key]);
    cursor = page.nextCursor;
    if (!cursor) break;
  }
  return { items, pages };
}

// The error a call gives, as {code, message, data} (null when it succeeds).
async function errorOf(p) {
  try {
    const r = await p;
    return { result: r };
  } catch (e) {
    if (e instanceof McpError || typeof e?.code === 'number') return { code: e.code, message: e.message, data: e.data };
    throw e;
  }
}

// ================================================================ one upstream
async function everything() {
  const { client, transport } = newClient('e2e-protocol');
  await within(client.connect(transport), 'connect');
  pass('sdk: connect with sampling, elicitation {form, url}, roots capabilities');
  const caps = client.getServerCapabilities() ?? {};
  check('initialize: the proxy offers prompts, resources {subscribe}, logging, completions',
    caps.prompts && caps.resources?.subscribe && caps.logging && caps.completions, J(caps));

  // The GET stream the SDK opens after initialize carries server requests and logs
  // when no request is in flight: give it a moment to be up.
  await sleep(300);

  let toolNames = [];
  await step('tools/list', async () => {
    const { items } = await allPages((p) => client.listTools(p), 'tools');
    toolNames = items.map((t) => t.name);
    const gated = ['trigger-sampling-request', 'trigger-elicitation-request', 'trigger-url-elicitation', 'get-roots-list'];
    check('tools/list: the capability-gated tools are there (the hub declares the client capabilities upstream)',
      gated.every((n) => toolNames.includes(n)), J(toolNames));
  });

  // ---- progress
  await step('progress', async () => {
    const prog = [];
    const r = await within(
      client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 1.2, steps: 4 } }, undefined, {
        onprogress: (p) => prog.push(p),
      }),
      'long-running operation',
    );
    check('progress: onprogress sees 1,2,3,4 of total 4', J(prog.map((p) => [p.progress, p.total])) === J([[1, 4], [2, 4], [3, 4], [4, 4]]),
      J(prog));
    check('progress: then the result', /Long running operation completed/.test(text(r)) && !r.isError, J(r));
  });

  // ---- sampling
  await step('sampling', async () => {
    seen.sampling = [];
    const r = await within(
      client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'e2e-prompt-41', maxTokens: 33 } }),
      'trigger-sampling-request',
    );
    check('sampling: the client handler is called once', seen.sampling.length === 1, J(seen.sampling));
    const p = seen.sampling[0] ?? {};
    check('sampling: the request reaches the handler intact (messages, maxTokens, systemPrompt)',
      p.maxTokens === 33 && /e2e-prompt-41/.test(p.messages?.[0]?.content?.text ?? '') &&
        p.systemPrompt === 'You are a helpful test server.' && p.temperature === 0.7, J(p));
    check('sampling: the handler\'s answer comes back in the tool result',
      text(r).includes(SAMPLING_TEXT) && text(r).includes('e2e-model') && !r.isError, J(r));
  });

  // ---- elicitation (form): accept, then decline
  await step('elicitation', async () => {
    seen.elicit = [];
    elicitAnswer = { action: 'accept', content: { name: 'Ada Lovelace', check: true, integer: 7 } };
    let r = await within(client.callTool({ name: 'trigger-elicitation-request', arguments: {} }), 'elicitation accept');
    check('elicitation: the handler gets the form request with its schema',
      seen.elicit.length === 1 && seen.elicit[0].requestedSchema?.properties?.name?.type === 'string' &&
        J(seen.elicit[0].requestedSchema?.required) === J(['name']), J(seen.elicit));
    check('elicitation: accepted content comes back in the result',
      /Name: Ada Lovelace/.test(text(r)) && /Agreed to terms: true/.test(text(r)) && /Favorite Integer: 7/.test(text(r)), J(r));
    elicitAnswer = { action: 'decline' };
    r = await within(client.callTool({ name: 'trigger-elicitation-request', arguments: {} }), 'elicitation decline');
    check('elicitation: a decline comes back as a decline', /declined/.test(text(r)) && /"action": "decline"/.test(text(r)), J(r));
  });

  // ---- elicitation (URL mode): request path and error path
  await step('url elicitation', async () => {
    seen.elicit = [];
    const r = await within(
      client.callTool({
        name: 'trigger-url-elicitation',
        arguments: { url: 'https://example.com/e2e-consent', elicitationId: 'e2e-eid-1', message: 'open it' },
      }),
      'url elicitation',
    );
    const p = seen.elicit[0] ?? {};
    check('url elicitation: the handler gets mode url, the url and the elicitationId',
      seen.elicit.length === 1 && p.mode === 'url' && p.url === 'https://example.com/e2e-consent' &&
        p.elicitationId === 'e2e-eid-1' && p.message === 'open it', J(seen.elicit));
    check('url elicitation: the accept comes back', /completed the URL elicitation flow/.test(text(r)) && /e2e-eid-1/.test(text(r)), J(r));
    const e = await errorOf(client.callTool({
      name: 'trigger-url-elicitation',
      arguments: { url: 'https://example.com/e2e-err', elicitationId: 'e2e-eid-2', errorPath: true },
    }));
    check('url elicitation error path: -32042 with data.elicitations intact',
      e.code === -32042 && e.data?.elicitations?.[0]?.mode === 'url' &&
        e.data.elicitations[0].url === 'https://modelcontextprotocol.io' && typeof e.data.elicitations[0].elicitationId === 'string',
      J(e));
  });

  // ---- roots
  await step('roots', async () => {
    // Its own instance asked this client when it started (forwardRoots) or asks now.
    let r = await within(client.callTool({ name: 'get-roots-list', arguments: {} }), 'get-roots-list');
    check('roots: the server asked this client for its roots and returns its root',
      seen.roots >= 1 && /file:\/\/\/e2e\/root-one/.test(text(r)) && /Root One/.test(text(r)), `roots calls ${seen.roots}: ${J(r)}`);
    roots = [
      { uri: 'file:///e2e/root-two', name: 'Root Two' },
      { uri: 'file:///e2e/root-three', name: 'Root Three' },
    ];
    const before = seen.roots;
    await within(client.sendRootsListChanged(), 'roots list_changed');
    const asked = await waitFor(() => seen.roots > before, 5000);
    check('roots: after notifications/roots/list_changed the server asks this client again', asked, `roots calls ${seen.roots}`);
    await sleep(200);
    r = await within(client.callTool({ name: 'get-roots-list', arguments: {} }), 'get-roots-list 2');
    check('roots: get-roots-list then returns the new roots',
      /root-two/.test(text(r)) && /root-three/.test(text(r)) && !/root-one/.test(text(r)) && /2 total/.test(text(r)), J(r));
  });

  // ---- logging
  const STATIC_A = 'demo://resource/static/document/features.md';
  const STATIC_B = 'demo://resource/static/document/architecture.md';
  await step('logging', async () => {
    seen.logs = [];
    await within(client.setLoggingLevel('debug'), 'setLevel debug');
    pass('logging: setLevel debug answered');
    await within(client.subscribeResource({ uri: STATIC_A }), 'subscribe');
    const got = await waitFor(() => seen.logs.some((l) => String(l.data).includes(`Received Subscribe Resource request for URI: ${STATIC_A}`)), 3000);
    check('logging: at debug the server\'s info message (on subscribe) arrives as notifications/message', got, J(seen.logs));
    const l = seen.logs.find((x) => String(x.data).includes('Received Subscribe'));
    check('logging: level and data intact', l?.level === 'info', J(l));
    // It sends one message at once (random level), then one every 5 s.
    const n0 = seen.logs.length;
    const r = await within(client.callTool({ name: 'toggle-simulated-logging', arguments: {} }), 'toggle logging on');
    check('logging: toggle-simulated-logging starts', /Started simulated/.test(text(r)), J(r));
    const more = await waitFor(() => seen.logs.slice(n0).some((x) => /-level message|level-message/.test(String(x.data))), 3000);
    check('logging: the simulated (random level) message arrives at level debug', more, J(seen.logs));

    await within(client.setLoggingLevel('error'), 'setLevel error');
    const tErr = Date.now();
    await within(client.unsubscribeResource({ uri: STATIC_A }), 'unsubscribe');
    await within(client.subscribeResource({ uri: STATIC_B }), 'subscribe B');
    await sleep(700);
    const low = seen.logs.filter((x) => x.t > tErr && /Received (Uns|S)ubscribe/.test(String(x.data)));
    check('logging: at error the info messages (unsubscribe, subscribe) are filtered out', low.length === 0, J(low));
    // Let the simulated logging run at level error for one more tick (5 s pace):
    // the other checks below run meanwhile; what arrived is checked at the end.
    everything.logCheckFrom = tErr + 300;
  });

  // ---- resources
  await step('resources', async () => {
    const { items, pages } = await allPages((p) => client.listResources(p), 'resources');
    const uris = items.map((x) => x.uri);
    check('resources/list: the static documents (all pages)', uris.includes(STATIC_A) && uris.includes(STATIC_B) &&
      uris.includes('demo://resource/static/document/instructions.md'), J(uris));
    check('resources/list: no duplicates over the pages', new Set(uris).size === uris.length, `${pages.length} pages ${J(uris)}`);
    const t = await allPages((p) => client.listResourceTemplates(p), 'resourceTemplates');
    const tpl = t.items.map((x) => x.uriTemplate);
    check('resources/templates/list: the dynamic text and blob templates',
      tpl.includes('demo://resource/dynamic/text/{resourceId}') && tpl.includes('demo://resource/dynamic/blob/{resourceId}'), J(tpl));
    let r = await within(client.readResource({ uri: STATIC_A }), 'read static');
    check('resources/read static: the document, its uri and mimeType',
      r.contents?.[0]?.uri === STATIC_A && r.contents[0].mimeType === 'text/markdown' && r.contents[0].text?.length > 100, J(r).slice(0, 300));
    r = await within(client.readResource({ uri: 'demo://resource/dynamic/text/1' }), 'read template text');
    check('resources/read template-expanded text/1',
      r.contents?.[0]?.uri === 'demo://resource/dynamic/text/1' && /^Resource 1: This is a plaintext resource/.test(r.contents[0].text ?? ''), J(r));
    r = await within(client.readResource({ uri: 'demo://resource/dynamic/blob/2' }), 'read template blob');
    const blob = Buffer.from(r.contents?.[0]?.blob ?? '', 'base64').toString();
    check('resources/read template-expanded blob/2 (base64 intact)', /^Resource 2: This is a base64 blob/.test(blob), J(r));
  });

  // ---- subscriptions: B is subscribed (above), A no longer
  await step('subscriptions', async () => {
    seen.updates = [];
    const r = await within(client.callTool({ name: 'toggle-subscriber-updates', arguments: {} }), 'toggle updates on');
    check('subscriptions: toggle-subscriber-updates starts', /Started simulated resource updated/.test(text(r)), J(r));
    const got = await waitFor(() => seen.updates.length > 0, 3000);
    check('subscriptions: notifications/resources/updated arrives for the subscribed URI', got && seen.updates[0].uri === STATIC_B, J(seen.updates));
    check('subscriptions: none for the unsubscribed URI', !seen.updates.some((u) => u.uri !== STATIC_B), J(seen.updates));
    await within(client.unsubscribeResource({ uri: STATIC_B }), 'unsubscribe B');
    const tUnsub = Date.now();
    await sleep(5600); // the server's 5 s pace: one tick passes
    const late = seen.updates.filter((u) => u.t > tUnsub + 200);
    check('subscriptions: after unsubscribe no more updates (one 5 s tick later)', late.length === 0, J(seen.updates));
    await within(client.callTool({ name: 'toggle-subscriber-updates', arguments: {} }), 'toggle updates off');
  });

  // ---- logging at level error, checked now that a tick has passed
  await step('logging filter', async () => {
    const after = seen.logs.filter((x) => x.t > everything.logCheckFrom);
    const bad = after.filter((x) => !['error', 'critical', 'alert', 'emergency'].includes(x.level));
    check('logging: at level error only error and above arrive', bad.length === 0, J(after));
    await within(client.callTool({ name: 'toggle-simulated-logging', arguments: {} }), 'toggle logging off');
    await within(client.setLoggingLevel('debug'), 'setLevel debug again');
    const n0 = seen.logs.length;
    await within(client.subscribeResource({ uri: STATIC_A }), 'subscribe again');
    check('logging: back at debug the info message flows again',
      await waitFor(() => seen.logs.slice(n0).some((x) => String(x.data).includes('Received Subscribe')), 3000), J(seen.logs.slice(n0)));
    await within(client.unsubscribeResource({ uri: STATIC_A }), 'unsubscribe again');
  });

  // ---- prompts
  await step('prompts', async () => {
    const { items } = await allPages((p) => client.listPrompts(p), 'prompts');
    const names = items.map((p) => p.name);
    check('prompts/list: simple-prompt, args-prompt, completable-prompt, resource-prompt',
      ['simple-prompt', 'args-prompt', 'completable-prompt', 'resource-prompt'].every((n) => names.includes(n)), J(names));
    const args = items.find((p) => p.name === 'args-prompt');
    check('prompts/list: args-prompt declares city (required) and state',
      args?.arguments?.some((a) => a.name === 'city' && a.required) && args.arguments.some((a) => a.name === 'state'), J(args));
    let r = await within(client.getPrompt({ name: 'simple-prompt' }), 'simple-prompt');
    check('prompts/get simple-prompt', r.messages?.[0]?.content?.text === 'This is a simple prompt without arguments.', J(r));
    r = await within(client.getPrompt({ name: 'args-prompt', arguments: { city: 'Lisbon', state: 'Estremadura' } }), 'args-prompt');
    check('prompts/get args-prompt with arguments', r.messages?.[0]?.content?.text === "What's weather in Lisbon, Estremadura?", J(r));
  });

  // ---- completion
  await step('completion', async () => {
    let r = await within(client.complete({ ref: { type: 'ref/prompt', name: 'completable-prompt' }, argument: { name: 'department', value: 'S' } }), 'complete department');
    check('completion/complete on completable-prompt: department S -> Sales, Support', J(r.completion?.values) === J(['Sales', 'Support']), J(r));
    r = await within(client.complete({
      ref: { type: 'ref/prompt', name: 'completable-prompt' },
      argument: { name: 'name', value: '' },
      context: { arguments: { department: 'Engineering' } },
    }), 'complete name');
    check('completion/complete with context: Engineering -> Alice, Bob, Charlie', J(r.completion?.values) === J(['Alice', 'Bob', 'Charlie']), J(r));
    r = await within(client.complete({
      ref: { type: 'ref/resource', uri: 'demo://resource/dynamic/text/{resourceId}' },
      argument: { name: 'resourceId', value: '42' },
    }), 'complete template');
    check('completion/complete on a resource template argument', J(r.completion?.values) === J(['42']), J(r));
  });

  // ---- cancellation: abort a long operation after its first progress
  await step('cancellation', async () => {
    const ac = new AbortController();
    const prog = [];
    const id = client._requestMessageId; // the id the SDK gives the next request
    trackIds.add(id);
    cancelPosts = [];
    const errs0 = seen.errors.length;
    const p = client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 4, steps: 8 } }, undefined, {
      signal: ac.signal,
      onprogress: (x) => {
        prog.push(x.progress);
        if (x.progress === 1) ac.abort('e2e cancels');
      },
    });
    const e = await errorOf(within(p, 'cancelled call', 10000));
    const tAbort = Date.now();
    check('cancellation: the aborted call rejects after its first progress', e.result === undefined && prog.length === 1, `${J(e)} progress ${J(prog)}`);
    await waitFor(() => cancelPosts.length > 0, 2000);
    check('cancellation: notifications/cancelled is accepted (202)', cancelPosts[0]?.status === 202, J(cancelPosts));
    const rec = tracked.get(id);
    await waitFor(() => rec?.closedAt > 0, 3000);
    check('cancellation: the proxy ends that request\'s SSE stream at once',
      rec && rec.closedAt > 0 && rec.closedAt - tAbort < 2000, rec ? `closed ${rec.closedAt - tAbort} ms after abort` : 'no stream recorded');
    const progEv = (rec?.events ?? []).filter((x) => x.data?.method === 'notifications/progress');
    check('cancellation: no progress after the cancel on that stream', progEv.length <= 2, J(rec?.events));
    const answer = (rec?.events ?? []).filter((x) => x.data && x.data.id === id && ('result' in x.data || 'error' in x.data));
    check('cancellation: no response for the cancelled request (the receiver of a cancel SHOULD NOT answer)',
      answer.length === 0, J(answer));
    // Let the upstream's operation run out: it must not answer either (it saw the cancel,
    // which the shell script checks in the hub log), and its progress must stay with the hub.
    await sleep(4200);
    const late = seen.errors.slice(errs0).filter((x) => /unknown token/.test(x.message));
    check('cancellation: no stray progress reaches the client afterwards', late.length === 0, J(late));
    cancelledId = id;
  });

  // ---- errors, compared with server-everything spoken to directly
  await step('error fidelity', async () => {
    const bin = process.env.EVERYTHING_BIN;
    if (!bin) {
      fail('error fidelity: EVERYTHING_BIN set', 'missing');
      return;
    }
    const direct = new Client({ name: 'e2e-direct', version: '1.0.0' }, { capabilities: { sampling: {}, roots: {}, elicitation: { form: {}, url: {} } } });
    direct.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [] }));
    await within(direct.connect(new StdioClientTransport({ command: bin, args: ['stdio'], env: { ...process.env }, stderr: 'ignore' })), 'direct connect');
    try {
      const cases = [
        ['resources/read of a missing template resource', (c) => c.readResource({ uri: 'demo://resource/dynamic/text/0' })],
        ['resources/read of an unknown URI', (c) => c.readResource({ uri: 'demo://resource/nowhere/x' })],
        ['prompts/get args-prompt without its required argument', (c) => c.getPrompt({ name: 'args-prompt', arguments: {} })],
        ['tools/call get-sum with a bad argument (isError result)', (c) => c.callTool({ name: 'get-sum', arguments: { a: 'x', b: 2 } })],
        ['tools/call of an unknown tool', (c) => c.callTool({ name: 'no-such-tool-e2e', arguments: {} })],
      ];
      for (const [what, f] of cases) {
        const viaProxy = await errorOf(within(f(client), what));
        const viaDirect = await errorOf(within(f(direct), what));
        // The hub answers an unknown tool itself: an error is fine as long as it is one.
        if (/unknown tool/.test(what)) {
          check(`errors: ${what} is an error (JSON-RPC or isError)`,
            typeof viaProxy.code === 'number' || viaProxy.result?.isError === true, J(viaProxy));
          continue;
        }
        check(`errors: ${what} passes through as server-everything gives it`, J(viaProxy) === J(viaDirect),
          `proxy ${J(viaProxy)} direct ${J(viaDirect)}`);
      }
    } finally {
      await direct.close().catch(() => {});
    }
  });

  // Protocol errors the SDK client noticed (a response or progress for an id it does not
  // know, a message it cannot parse). Its stream reconnection notes are not ours to judge:
  // it resumes a POST stream that ended without a *result* (an error answer counts as none
  // in SDK 1.32) and then retries a plain GET, which the live GET stream makes a 409.
  const unexpected = seen.errors.filter((x) =>
    !/SSE stream|reconnect|Conflict|AbortError|aborted/i.test(x.message) &&
    !(cancelledId !== undefined && x.message.includes(`"id":${cancelledId},`)));
  check('sdk: no protocol error reported by the client (unknown ids, bad messages)', unexpected.length === 0, J(unexpected));
  await transport.terminateSession().catch(() => {});
  await client.close().catch(() => {});
}

// ================================================================ several upstreams
async function multi(n) {
  const { client, transport } = newClient('e2e-protocol-multi');
  await within(client.connect(transport), 'connect');
  pass('multi: connect');

  await step('pagination', async () => {
    const { items, pages } = await allPages((p) => client.listTools(p), 'tools');
    const names = items.map((t) => t.name);
    const fixtureTools = ['echo', 'add', 'crash', 'hang', 'sleep', 'big', 'garbage', 'fail', 'error', 'env', 'cwd', 'cancelled'];
    const want = [];
    for (let i = 1; i <= n; i++) for (const t of fixtureTools) want.push(`fx${i}_${t}`);
    const missing = want.filter((w) => !names.includes(w));
    check(`pagination: all ${want.length} fixture tools (each upstream paged by 5) are listed`, missing.length === 0, `missing ${J(missing)}`);
    check('pagination: server-everything tools too, prefixed', names.includes('everything_echo') && names.includes('everything_trigger-long-running-operation'), J(names.filter((x) => x.startsWith('everything_'))));
    check('pagination: no tool twice', new Set(names).size === names.length, `${names.length} names, ${new Set(names).size} distinct`);
    check(`pagination: ${names.length} tools come in ${Math.ceil(names.length / 100)} pages of at most 100`,
      names.length > 100 && pages.length === Math.ceil(names.length / 100) && pages[0].tools.length === 100 &&
        pages.every((p, i) => (i < pages.length - 1 ? typeof p.nextCursor === 'string' : p.nextCursor === undefined)),
      J(pages.map((p) => [p.tools.length, p.nextCursor])));
    console.log(`INFO tools ${names.length} pages ${pages.length}`);
    let e = await errorOf(client.listTools({ cursor: 'not-a-cursor' }));
    check('pagination: a bad cursor gives -32602', e.code === -32602, J(e));
    e = await errorOf(client.listPrompts({ cursor: pages[0].nextCursor }));
    check('pagination: a tools/list cursor is no prompts/list cursor (-32602)', e.code === -32602, J(e));
    const again = await within(client.listTools({ cursor: pages[0].nextCursor }), 'page 2 again');
    check('pagination: a cursor can be used again (same page)', J(again.tools.map((t) => t.name)) === J(pages[1].tools.map((t) => t.name)), J(again).slice(0, 300));
  });

  await step('errors', async () => {
    let e = await errorOf(client.callTool({ name: 'fx1_error', arguments: {} }));
    check('errors: an upstream JSON-RPC error passes intact (code, message, data)',
      e.code === -32042 && /fixture error/.test(e.message) && J(e.data) === J({ detail: 'x' }), J(e));
    e = await errorOf(client.callTool({ name: 'fx2_fail', arguments: {} }));
    const r = e.result;
    check('errors: an isError result passes intact (content blocks, structuredContent, _meta)',
      r?.isError === true && J(r.content) === J([{ type: 'text', text: 'first failure block' }, { type: 'text', text: 'second failure block' }]) &&
        J(r.structuredContent) === J({ reason: 'fixture failure', code: 7 }) && r._meta?.fixture === true, J(e));
    e = await errorOf(client.callTool({ name: 'fx1_no_such_tool', arguments: {} }));
    check('errors: an unknown prefixed tool: -32602 naming it', e.code === -32602 && /fx1_no_such_tool/.test(e.message), J(e));
    e = await errorOf(client.callTool({ name: 'fx1_echo', arguments: {} }));
    check('errors: the upstream\'s own -32602 (missing argument) passes intact', e.code === -32602 && /echo: missing argument 'message'/.test(e.message), J(e));
    const ok = await within(client.callTool({ name: 'fx3_add', arguments: { a: 2, b: 40 } }), 'fx3_add');
    check('errors: and a good call still works (structuredContent intact)', ok.structuredContent?.sum === 42, J(ok));
  });

  await step('uris', async () => {
    const { items } = await allPages((p) => client.listResources(p), 'resources');
    const uris = items.map((x) => x.uri);
    const A = 'demo://everything/resource/static/document/features.md';
    check('multi: resource URIs are <scheme>://<server>/<rest>', uris.includes(A) && uris.every((u) => u.startsWith('demo://everything/')), J(uris));
    let r = await within(client.readResource({ uri: A }), 'read renamed');
    check('multi: reading a renamed URI works and the content carries the client\'s URI', r.contents?.[0]?.uri === A && r.contents[0].text.length > 100, J(r).slice(0, 300));
    r = await within(client.readResource({ uri: 'demo://everything/resource/dynamic/text/5' }), 'read renamed template');
    check('multi: a URI built from a renamed template routes', r.contents?.[0]?.uri === 'demo://everything/resource/dynamic/text/5' && /^Resource 5:/.test(r.contents[0].text), J(r));
    const t = await allPages((p) => client.listResourceTemplates(p), 'resourceTemplates');
    check('multi: templates renamed too', t.items.some((x) => x.uriTemplate === 'demo://everything/resource/dynamic/text/{resourceId}'), J(t.items.map((x) => x.uriTemplate)));
    r = await within(client.complete({
      ref: { type: 'ref/resource', uri: 'demo://everything/resource/dynamic/text/{resourceId}' },
      argument: { name: 'resourceId', value: '9' },
    }), 'complete renamed template');
    check('multi: completion on a renamed template routes', J(r.completion?.values) === J(['9']), J(r));
    r = await within(client.complete({ ref: { type: 'ref/prompt', name: 'everything_completable-prompt' }, argument: { name: 'department', value: 'M' } }), 'complete prefixed prompt');
    check('multi: completion on a prefixed prompt routes', J(r.completion?.values) === J(['Marketing']), J(r));
  });

  await step('cancel upstream', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    const p = client.callTool({ name: 'fx2_sleep', arguments: { ms: 30000 } }, undefined, { signal: ac.signal });
    setTimeout(() => ac.abort('e2e cancels the sleep'), 500);
    const e = await errorOf(within(p, 'cancelled sleep', 10000));
    check('cancellation: the aborted sleep rejects', e.result === undefined && Date.now() - t0 < 5000, J(e));
    const seenUp = await waitFor(async () => {
      const r = await client.callTool({ name: 'fx2_cancelled', arguments: {} });
      return (r.structuredContent?.cancelled ?? []).length === 1;
    }, 3000);
    const r = await within(client.callTool({ name: 'fx2_cancelled', arguments: {} }), 'fx2_cancelled');
    check('cancellation: the upstream got exactly one notifications/cancelled, with its own (numeric) request id',
      seenUp && r.structuredContent.cancelled.length === 1 && typeof r.structuredContent.cancelled[0] === 'number', J(r.structuredContent));
    const other = await within(client.callTool({ name: 'fx1_cancelled', arguments: {} }), 'fx1_cancelled');
    check('cancellation: the other upstreams got none', (other.structuredContent?.cancelled ?? []).length === 0, J(other.structuredContent));
  });

  await transport.terminateSession().catch(() => {});
  await client.close().catch(() => {});
}

try {
  if (mode === 'everything') await everything();
  else if (mode === 'multi') await multi(Number(nFixtures));
  else fail('mode', `unknown mode ${mode}`);
} catch (e) {
  fail(`sdk-protocol ${mode}`, e?.stack ?? e);
}
process.exit(failed ? 1 : 0);
