// Several SDK clients at once through the proxy on ONE shared upstream
// (server-everything over stdio): each gets only its own responses, progress,
// server requests and resource updates.
//   node tests/e2e/sdk-isolation.mjs URL KEY_A KEY_B
// A (KEY_A) and B (KEY_B) declare sampling, elicitation and roots; C (KEY_A,
// another session of the same client id) declares nothing.
// Prints "PASS <check>" / "FAIL <check>: <detail>" lines; exits 1 on any failure.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  McpError,
} from '@modelcontextprotocol/sdk/types.js';

const [url, keyA, keyB] = process.argv.slice(2);
if (!url || !keyA || !keyB) {
  console.error('usage: sdk-isolation.mjs URL KEY_A KEY_B');
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
async function waitFor(cond, ms) {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() >= end) return false;
    await sleep(50);
  }
}
async function step(name, fn) {
  try {
    await fn();
  } catch (e) {
    fail(name, e?.stack ?? e);
  }
}
// {result} or {code, message, data}
async function outcome(p) {
  try {
    return { result: await p };
  } catch (e) {
    if (e instanceof McpError || typeof e?.code === 'number') return { code: e.code, message: e.message, data: e.data };
    throw e;
  }
}

// A fetch per client that records every SSE event of its POST responses and GET
// streams: [{kind: 'post'|'get', reqId, data}].
function recordingFetch(log) {
  return async (input, init) => {
    let msg;
    try {
      msg = init?.body ? JSON.parse(init.body) : undefined;
    } catch {
      msg = undefined;
    }
    const res = await fetch(input, init);
    if (!res.body || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) return res;
    const kind = (init?.method ?? 'GET') === 'GET' ? 'get' : 'post';
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
            const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
            if (!data) continue;
            try {
              log.push({ kind, reqId: msg?.id, data: JSON.parse(data) });
            } catch {
              log.push({ kind, reqId: msg?.id, data: { unparsable: data } });
            }
          }
        }
      } catch {
        /* aborted */
      }
    })();
    return new Response(theirs, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

function makeClient(name, key, capable) {
  const me = {
    name,
    sampling: [],
    elicit: [],
    roots: 0,
    updates: [],
    logs: [],
    errors: [],
    events: [],
    samplingDelay: 0,
    onSampling: null,
  };
  me.transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${key}` } },
    fetch: recordingFetch(me.events),
  });
  me.client = new Client(
    { name: `e2e-iso-${name}`, version: '1.0.0' },
    { capabilities: capable ? { sampling: {}, elicitation: { form: {} }, roots: { listChanged: true } } : {} },
  );
  if (capable) {
    me.client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
      me.sampling.push(req.params.messages?.[0]?.content?.text ?? '');
      me.onSampling?.();
      if (me.samplingDelay) await sleep(me.samplingDelay);
      return { role: 'assistant', content: { type: 'text', text: `answer-from-${name}` }, model: `model-${name}`, stopReason: 'endTurn' };
    });
    me.client.setRequestHandler(ElicitRequestSchema, async (req) => {
      me.elicit.push(req.params);
      return { action: 'accept', content: { name: `name-from-${name}` } };
    });
    me.client.setRequestHandler(ListRootsRequestSchema, async () => {
      me.roots++;
      return { roots: [{ uri: `file:///e2e/${name}`, name }] };
    });
  }
  me.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => me.updates.push(n.params.uri));
  me.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => me.logs.push(n.params));
  me.client.onerror = (e) => me.errors.push(String(e?.message ?? e));
  return me;
}

// A promise left behind by a failed step must not end the run unreported.
process.on('unhandledRejection', (e) => fail('no unhandled rejection', e?.stack ?? e));

const A = makeClient('alice', keyA, true);
const B = makeClient('bob', keyB, true);
const C = makeClient('carol', keyA, false);

await step('connect', async () => {
  await within(Promise.all([A, B, C].map((x) => x.client.connect(x.transport))), 'connect');
  const ids = [A, B, C].map((x) => x.transport.sessionId);
  check('three sessions, three distinct session ids', new Set(ids).size === 3 && ids.every((s) => typeof s === 'string'), J(ids));
  await sleep(300); // the GET streams the SDK opens after initialize
});

// A session id is bound to the key that opened it.
await step('session binding', async () => {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${keyB}`,
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
      'Mcp-Session-Id': A.transport.sessionId,
      'MCP-Protocol-Version': '2025-11-25',
    },
    body: J({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  check("B's key with A's session id: 404", res.status === 404, `status ${res.status}`);
  await res.body?.cancel();
});

// ---- progress: four long operations at once, two per client, the same progress tokens
// (each SDK client numbers its requests alike), different step counts
await step('progress', async () => {
  const run = (me, steps, duration) => {
    const prog = [];
    const p = me.client.callTool({ name: 'trigger-long-running-operation', arguments: { duration, steps } }, undefined, {
      onprogress: (x) => prog.push([x.progress, x.total]),
    });
    return within(p, `${me.name} ${steps} steps`, 15000).then((r) => ({ me, steps, duration, prog, r }));
  };
  const t0 = Date.now();
  const out = await Promise.all([run(A, 5, 1.5), run(A, 3, 1.2), run(B, 4, 1.6), run(B, 6, 1.8)]);
  const took = Date.now() - t0;
  for (const { me, steps, duration, prog, r } of out) {
    const want = Array.from({ length: steps }, (_, i) => [i + 1, steps]);
    check(`progress: ${me.name}'s ${steps}-step operation sees exactly its own progress 1..${steps}/${steps}`, J(prog) === J(want), J(prog));
    check(`progress: ${me.name}'s ${steps}-step operation gets its own result`,
      text(r).includes(`Duration: ${duration} seconds, Steps: ${steps}.`), J(r));
  }
  // Not a check: a hub may let different sessions take turns on an upstream that asks
  // clients things (to know whom it asks), so the four need not overlap.
  console.log(`INFO the four long operations took ${took} ms (in parallel about 1.8 s)`);
  // On the wire: every progress event on a POST stream carries that request's token.
  for (const me of [A, B]) {
    const wrong = me.events.filter((e) => e.data.method === 'notifications/progress' &&
      (e.kind !== 'post' || e.data.params.progressToken !== e.reqId));
    check(`progress: on ${me.name}'s wire every progress event is on the stream of the request it belongs to`, wrong.length === 0, J(wrong));
  }
  check('progress: carol (no request of her own) got no progress', !C.events.some((e) => e.data.method === 'notifications/progress'), J(C.events));
});

// ---- responses: bursts of concurrent calls from both
await step('responses', async () => {
  const calls = [];
  for (let i = 0; i < 15; i++)
    for (const me of [A, B, C])
      calls.push(within(me.client.callTool({ name: 'echo', arguments: { message: `${me.name}-${i}` } }), 'echo').then((r) => [me.name, i, text(r)]));
  const out = await Promise.all(calls);
  const wrong = out.filter(([n, i, t]) => t !== `Echo: ${n}-${i}`);
  check(`responses: ${out.length} concurrent echo calls from three sessions each get their own answer`, wrong.length === 0, J(wrong));
});

const ownOnly = (me) => me.sampling.every((p) => p.includes(`prompt-of-${me.name}`));

// ---- sampling, overlapping: B asks while A's sampling is being answered
await step('sampling overlap', async () => {
  A.sampling = [];
  B.sampling = [];
  A.samplingDelay = 800;
  let aAsked;
  const aAskedP = new Promise((r) => (aAsked = r));
  A.onSampling = () => aAsked();
  const pa = within(A.client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'prompt-of-alice-1' } }), 'A sampling');
  await within(aAskedP, "A's handler called");
  const pb = within(B.client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'prompt-of-bob-1' } }), 'B sampling');
  const [ra, rb] = await Promise.all([pa, pb]);
  A.samplingDelay = 0;
  A.onSampling = null;
  check('sampling (overlapping): each handler called once, for its own request', A.sampling.length === 1 && B.sampling.length === 1 && ownOnly(A) && ownOnly(B),
    `alice saw ${J(A.sampling)}, bob saw ${J(B.sampling)}`);
  check("sampling (overlapping): alice's result carries alice's answer", text(ra).includes('answer-from-alice') && !text(ra).includes('answer-from-bob'), J(ra));
  check("sampling (overlapping): bob's result carries bob's answer", text(rb).includes('answer-from-bob') && !text(rb).includes('answer-from-alice'), J(rb));
});

// ---- sampling, simultaneous: both tool calls in flight before either server request
await step('sampling simultaneous', async () => {
  const rounds = 8;
  const bad = [];
  A.sampling = [];
  B.sampling = [];
  for (let k = 1; k <= rounds; k++) {
    const [ra, rb] = await Promise.all([
      outcome(within(A.client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: `prompt-of-alice-s${k}` } }), 'A sampling', 10000)),
      outcome(within(B.client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: `prompt-of-bob-s${k}` } }), 'B sampling', 10000)),
    ]);
    if (!text(ra.result).includes('answer-from-alice')) bad.push({ round: k, alice: ra });
    if (!text(rb.result).includes('answer-from-bob')) bad.push({ round: k, bob: rb });
  }
  check(`sampling (simultaneous, ${rounds} rounds): each handler is called only for its own client's requests`, ownOnly(A) && ownOnly(B),
    `alice saw ${J(A.sampling)}, bob saw ${J(B.sampling)}`);
  check(`sampling (simultaneous, ${rounds} rounds): each tool result carries its own client's answer`, bad.length === 0, J(bad));
});

// ---- a session without the capability
await step('no capability', async () => {
  A.sampling = [];
  B.sampling = [];
  A.elicit = [];
  B.elicit = [];
  let o = await outcome(within(C.client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'prompt-of-carol-1' } }), 'C sampling', 10000));
  check('no sampling capability: trigger-sampling-request gives an error (JSON-RPC or isError)',
    typeof o.code === 'number' || o.result?.isError === true, J(o));
  check("no sampling capability: no other client's handler is called (nothing else in flight)", A.sampling.length === 0 && B.sampling.length === 0,
    `alice saw ${J(A.sampling)}, bob saw ${J(B.sampling)}`);

  // Now with A's and B's requests in flight on the same upstream.
  const longA = A.client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 2, steps: 2 } });
  const longB = B.client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 2, steps: 2 } });
  await sleep(300);
  o = await outcome(within(C.client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'prompt-of-carol-2' } }), 'C sampling 2', 10000));
  check('no sampling capability, others busy: still an error', typeof o.code === 'number' || o.result?.isError === true, J(o));
  check("no sampling capability, others busy: no other client's handler is called", A.sampling.length === 0 && B.sampling.length === 0,
    `alice saw ${J(A.sampling)}, bob saw ${J(B.sampling)}`);
  o = await outcome(within(C.client.callTool({ name: 'trigger-elicitation-request', arguments: {} }), 'C elicitation', 10000));
  check('no elicitation capability, others busy: trigger-elicitation-request gives an error',
    typeof o.code === 'number' || o.result?.isError === true, J(o));
  check("no elicitation capability, others busy: no other client's handler is called", A.elicit.length === 0 && B.elicit.length === 0,
    `alice saw ${J(A.elicit)}, bob saw ${J(B.elicit)}`);
  await within(Promise.all([longA, longB]), 'long ops');
});

// ---- resource updates go only to the session that subscribed to that URI
await step('subscriptions', async () => {
  const UA = 'demo://resource/static/document/features.md';
  const UB = 'demo://resource/static/document/structure.md';
  for (const me of [A, B, C]) me.updates = [];
  await within(A.client.subscribeResource({ uri: UA }), 'A subscribe');
  await within(B.client.subscribeResource({ uri: UB }), 'B subscribe');
  // The shared upstream session now has both; it reports both on each tick.
  const r = await within(A.client.callTool({ name: 'toggle-subscriber-updates', arguments: {} }), 'toggle on');
  check('subscriptions: toggle-subscriber-updates starts', /Started/.test(text(r)), J(r));
  const got = await waitFor(() => A.updates.length > 0 && B.updates.length > 0, 4000);
  await sleep(300);
  check('subscriptions: both subscribers hear of their resource', got, `alice ${J(A.updates)} bob ${J(B.updates)}`);
  check('subscriptions: alice gets updates for her URI only', A.updates.length > 0 && A.updates.every((u) => u === UA), J(A.updates));
  check('subscriptions: bob gets updates for his URI only', B.updates.length > 0 && B.updates.every((u) => u === UB), J(B.updates));
  check('subscriptions: carol (subscribed to nothing) gets none', C.updates.length === 0, J(C.updates));
  await within(A.client.callTool({ name: 'toggle-subscriber-updates', arguments: {} }), 'toggle off');
  await A.client.unsubscribeResource({ uri: UA }).catch(() => {});
  await B.client.unsubscribeResource({ uri: UB }).catch(() => {});
});

// Nothing addressed to one session showed up on another's wire: every response on
// a client's streams answers one of its own requests.
await step('wire', async () => {
  for (const me of [A, B, C]) {
    const stray = me.events.filter((e) => ('result' in e.data || 'error' in e.data) && e.kind === 'post' && e.data.id !== e.reqId);
    check(`wire: every response on ${me.name}'s POST streams answers that POST`, stray.length === 0, J(stray));
    const protoErr = me.errors.filter((m) => /unknown (message ID|token)|Unknown message type/.test(m));
    check(`wire: ${me.name}'s client saw no response or progress it did not ask for`, protoErr.length === 0, J(protoErr));
  }
});

for (const me of [A, B, C]) {
  await me.transport.terminateSession().catch(() => {});
  await me.client.close().catch(() => {});
}
process.exit(failed ? 1 : 0);
