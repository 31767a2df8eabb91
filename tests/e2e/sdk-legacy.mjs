// The legacy 2024-11-05 HTTP+SSE transport through the proxy with the SDK's SSEClientTransport:
//   node tests/e2e/sdk-legacy.mjs BASE_URL KEY
// (BASE_URL without a path: the client opens BASE_URL/sse). server-everything behind.
// Prints "PASS <check>" / "FAIL <check>: <detail>" lines; exits 1 on any failure.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const [base, key] = process.argv.slice(2);
if (!base || !key) {
  console.error('usage: sdk-legacy.mjs BASE_URL KEY');
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
const timeout = (ms, what) =>
  new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms).unref());
const within = (p, what, ms = 20000) => Promise.race([p, timeout(ms, what)]);
const J = (x) => JSON.stringify(x);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function step(name, fn) {
  try {
    await fn();
  } catch (e) {
    fail(name, e?.stack ?? e);
  }
}
process.on('unhandledRejection', (e) => fail('no unhandled rejection', e?.stack ?? e));

const auth = { Authorization: `Bearer ${key}` };

// What came on the event stream, in order: [{event, data}] (data parsed when JSON).
const wire = [];
function recordWire(res) {
  if (!res.ok || !res.body) return res;
  const [mine, theirs] = res.body.tee();
  (async () => {
    const reader = mine.getReader();
    const dec = new TextDecoder();
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true }).replace(/\r/g, '');
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = block.split('\n').find((l) => l.startsWith('event:'))?.slice(6).trim();
          const d = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
          if (!d && !ev) continue;
          let data = d;
          try {
            data = JSON.parse(d);
          } catch {
            /* the endpoint event's URL */
          }
          wire.push({ event: ev, data });
        }
      }
    } catch {
      /* closed */
    }
  })();
  return new Response(theirs, { status: res.status, statusText: res.statusText, headers: res.headers });
}
const sseUrl = new URL('/sse', base);

function legacyClient(withKey, caps = {}) {
  const transport = new SSEClientTransport(sseUrl, withKey
    ? {
        // EventSource sends no custom headers by itself: a fetch that sets the key (SDK 1.32
        // already copies requestInit's headers there; set, not add, so it is sent once).
        eventSourceInit: {
          fetch: (u, i) => {
            const h = new Headers(i?.headers ?? {});
            h.set('Authorization', auth.Authorization);
            return fetch(u, { ...i, headers: h }).then(recordWire);
          },
        },
        requestInit: { headers: auth },
      }
    : {});
  const client = new Client({ name: 'e2e-legacy', version: '1.0.0' }, { capabilities: caps });
  return { client, transport };
}

let endpoint;
await step('connect', async () => {
  const { client, transport } = legacyClient(true, { sampling: {} });
  const sampled = [];
  client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
    sampled.push(req.params);
    return { role: 'assistant', content: { type: 'text', text: 'legacy-sampled-answer' }, model: 'e2e-legacy-model' };
  });
  const errors = [];
  client.onerror = (e) => errors.push(String(e?.message ?? e));
  await within(client.connect(transport), 'connect over SSE');
  pass('legacy: SSEClientTransport connects with the key (GET /sse, endpoint event, initialize)');
  endpoint = transport._endpoint;
  check('legacy: the endpoint event names /messages?sessionId=<id> on the same origin',
    endpoint?.origin === new URL(base).origin && endpoint.pathname === '/messages' && /^[\x21-\x7e]{16,}$/.test(endpoint.searchParams.get('sessionId') ?? ''),
    String(endpoint));
  check('legacy: serverInfo is mcp-proxy', client.getServerVersion()?.name === 'mcp-proxy', J(client.getServerVersion()));

  const names = [];
  let cursor;
  for (let i = 0; i < 20; i++) {
    const page = await within(client.listTools(cursor ? { cursor } : undefined), 'listTools');
    names.push(...page.tools.map((t) => t.name));
    cursor = page.nextCursor;
    if (!cursor) break;
  }
  check('legacy: listTools has echo, get-sum, trigger-long-running-operation',
    ['echo', 'get-sum', 'trigger-long-running-operation'].every((n) => names.includes(n)), J(names));

  let r = await within(client.callTool({ name: 'echo', arguments: { message: 'hello over legacy sse' } }), 'echo');
  check('legacy: callTool echo', text(r) === 'Echo: hello over legacy sse' && !r.isError, J(r));
  r = await within(client.callTool({ name: 'get-sum', arguments: { a: 40, b: 2 } }), 'get-sum');
  check('legacy: callTool get-sum', /\b42\b/.test(text(r)), J(r));

  const prog = [];
  r = await within(client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 0.9, steps: 3 } }, undefined, {
    onprogress: (p) => prog.push([p.progress, p.total]),
  }), 'progress');
  check('legacy: then the result', /Long running operation completed/.test(text(r)), J(r));
  // On the wire: progress 1, 2, 3 for that request's token, all before its answer.
  const ansAt = wire.findIndex((w) => /Long running operation completed\. Duration: 0\.9/.test(w.data?.result?.content?.[0]?.text ?? ''));
  const tok = ansAt >= 0 ? wire[ansAt].data.id : undefined; // the SDK's token is its request id
  const pw = wire.map((w, i) => [i, w]).filter(([, w]) => w.data?.method === 'notifications/progress' && w.data.params.progressToken === tok);
  check('legacy: on the event stream progress 1..3 of 3 (event: message), all before the answer',
    ansAt >= 0 && J(pw.map(([, w]) => [w.data.params.progress, w.data.params.total])) === J([[1, 3], [2, 3], [3, 3]]) &&
      pw.every(([i, w]) => i < ansAt && w.event === 'message'), J(wire.slice(-6)));
  // SDK 1.32 runs notification handlers a microtask late: when the last progress and the
  // answer come in one chunk, EventSource dispatches both at once and the answer wins.
  check('legacy: onprogress sees progress 1..3 in order (the last may be lost to the SDK)',
    J(prog) === J([[1, 3], [2, 3], [3, 3]]) || J(prog) === J([[1, 3], [2, 3]]), J(prog));
  const wireOk = ansAt >= 0 && pw.every(([i]) => i < ansAt);

  // Concurrent calls: answers all come on the one stream, each to its request.
  const many = await within(Promise.all(Array.from({ length: 10 }, (_, i) =>
    client.callTool({ name: 'echo', arguments: { message: `m${i}` } }).then((x) => text(x)))), 'concurrent echo');
  check('legacy: 10 concurrent calls each get their own answer', J(many) === J(Array.from({ length: 10 }, (_, i) => `Echo: m${i}`)), J(many));

  r = await within(client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'legacy-prompt', maxTokens: 9 } }), 'sampling');
  check('legacy: sampling reaches the client handler over the event stream',
    sampled.length === 1 && /legacy-prompt/.test(sampled[0].messages?.[0]?.content?.text ?? ''), J(sampled));
  check('legacy: and its answer comes back in the tool result', text(r).includes('legacy-sampled-answer'), J(r));

  const e = await client.callTool({ name: 'no-such-tool', arguments: {} }).then((x) => ({ result: x }), (x) => ({ code: x.code, message: x.message }));
  check('legacy: an unknown tool is an error', typeof e.code === 'number' || e.result?.isError === true, J(e));
  const errs = errors.filter((m) => !(wireOk && /progress notification for an unknown token.*"progress":3/.test(m)));
  check('legacy: the client reported no error meanwhile', errs.length === 0, J(errs));
  check('legacy: every event on the stream is "event: message" but the first, "event: endpoint"',
    wire[0]?.event === 'endpoint' && wire.slice(1).every((w) => w.event === 'message' && typeof w.data === 'object'), J(wire.slice(0, 3)));

  await client.close();
  // The session is the SSE connection: closed, its message URL is gone.
  let status;
  for (let i = 0; i < 30; i++) {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: J({ jsonrpc: '2.0', id: 5, method: 'ping' }),
    });
    status = res.status;
    await res.body?.cancel();
    if (status === 404) break;
    await sleep(100);
  }
  check('legacy: after the SSE connection closes, its message URL gives 404', status === 404, `status ${status}`);
});

await step('no key', async () => {
  const { client, transport } = legacyClient(false);
  try {
    await within(client.connect(transport), 'connect without key', 10000);
    fail('legacy: without the key GET /sse is refused with 401', 'connected');
  } catch (e) {
    check('legacy: without the key GET /sse is refused with 401', e?.code === 401 || /\b401\b/.test(String(e?.message)), `code=${e?.code} ${e?.message}`);
  }
  await client.close().catch(() => {});
});

process.exit(failed ? 1 : 0);
