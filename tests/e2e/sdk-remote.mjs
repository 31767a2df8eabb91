// The official TypeScript SDK client against the proxy with remote upstreams
// (driven by e2e-remote.sh):
//   node tests/e2e/sdk-remote.mjs URL KEY
// One client session for the whole run. Prints "PASS <check>" / "FAIL <check>:
// <detail>" lines, "INFO ..." figures, and "WAIT <phase>" when it needs the
// script to act; it goes on when a line with that phase's name arrives on
// stdin ("down": the remote servers were killed; "up": they run again).
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [url, key] = process.argv.slice(2);
if (!url || !key) {
  console.error('usage: sdk-remote.mjs URL KEY');
  process.exit(2);
}

let failed = 0;
const pass = (name) => console.log(`PASS ${name}`);
const fail = (name, detail) => {
  failed++;
  console.log(`FAIL ${name}: ${String(detail).replace(/\s+/g, ' ').slice(0, 600)}`);
};
const check = (name, cond, detail) => (cond ? pass(name) : fail(name, detail));
const text = (result) => (result?.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('');
const timeout = (ms, what) =>
  new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms).unref());
const within = (p, what, ms = 20000) => Promise.race([p, timeout(ms, what)]);

const lines = createInterface({ input: process.stdin });
const waiting = [];
const arrived = [];
lines.on('line', (l) => {
  const w = waiting.shift();
  if (w) w(l.trim());
  else arrived.push(l.trim());
});
async function waitFor(phase) {
  console.log(`WAIT ${phase}`);
  for (;;) {
    const l = arrived.length ? arrived.shift() : await new Promise((r) => waiting.push(r));
    if (l === phase) return;
    if (l === 'abort') throw new Error(`aborted while waiting for ${phase}`);
  }
}

const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function call(client, name, args, opts) {
  return within(client.callTool({ name, arguments: args }, undefined, opts), name);
}

// n sequential fx_echo calls: their latencies in ms.
async function latencies(client, n, tag) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = await call(client, 'fx_echo', { message: `${tag} ${i}` });
    out.push(performance.now() - t0);
    if (text(r) !== `Echo: ${tag} ${i}`) throw new Error(`fx_echo answered ${JSON.stringify(r)}`);
  }
  return out;
}

const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${key}` } },
});
const client = new Client({ name: 'e2e-sdk-remote', version: '1.0.0' });
try {
  await within(client.connect(transport), 'connect');
  pass('sdk: connect with the key');
} catch (e) {
  fail('sdk: connect with the key', e?.stack ?? e);
  process.exit(1);
}
const sessionId = transport.sessionId;

// ---- tools of every upstream, prefixed
try {
  const names = [];
  let cursor;
  for (let i = 0; i < 50; i++) {
    const page = await within(client.listTools(cursor ? { cursor } : undefined), 'listTools');
    names.push(...page.tools.map((t) => t.name));
    cursor = page.nextCursor;
    if (!cursor) break;
  }
  for (const n of ['web_echo', 'web_trigger-long-running-operation', 'legacy_echo', 'old_echo', 'rec_echo', 'fx_echo'])
    check(`sdk: listTools has ${n}`, names.includes(n), JSON.stringify(names));
  check('sdk: no tool of the blackhole, the unreachable or the untrusted server', !names.some((n) => /^(hole|gone|tls)_/.test(n)),
    JSON.stringify(names));
} catch (e) {
  fail('sdk: listTools', e?.stack ?? e);
}

for (const [tool, label] of [
  ['web_echo', 'Streamable HTTP (server-everything)'],
  ['legacy_echo', 'legacy SSE (server-everything)'],
  ['old_echo', 'legacy SSE found by detection'],
  ['rec_echo', 'Streamable HTTP (own server)'],
  ['fx_echo', 'stdio fixture'],
]) {
  try {
    const r = await call(client, tool, { message: `to ${tool}` });
    check(`sdk: ${tool} answers (${label})`, text(r) === `Echo: to ${tool}` && !r.isError, JSON.stringify(r));
  } catch (e) {
    fail(`sdk: ${tool} answers (${label})`, e?.stack ?? e);
  }
}

// ---- progress through each remote transport
for (const tool of ['web_trigger-long-running-operation', 'legacy_trigger-long-running-operation']) {
  try {
    const seen = [];
    const r = await call(client, tool, { duration: 1, steps: 4 }, { onprogress: (p) => seen.push(p.progress) });
    check(`sdk: ${tool} reports progress 1..4`, JSON.stringify(seen) === '[1,2,3,4]', `progress ${JSON.stringify(seen)}`);
    check(`sdk: ${tool} completes`, /completed/.test(text(r)), JSON.stringify(r));
  } catch (e) {
    fail(`sdk: ${tool}`, e?.stack ?? e);
  }
}
try {
  const seen = [];
  const r = await call(client, 'rec_progress', { steps: 3 }, { onprogress: (p) => seen.push(p.progress) });
  check('sdk: rec_progress (an SSE answer with a priming event) reports progress 1..3',
    JSON.stringify(seen) === '[1,2,3]', `progress ${JSON.stringify(seen)}`);
  check('sdk: rec_progress completes', text(r) === 'progress done after 3 steps', JSON.stringify(r));
} catch (e) {
  fail('sdk: rec_progress', e?.stack ?? e);
}

// ---- resources (only where the hub aggregates them)
try {
  const r = await within(client.listResources(), 'listResources');
  const uris = (r.resources ?? []).map((x) => x.uri);
  check('sdk: listResources lists resources of the remote servers', uris.length > 0, JSON.stringify(r).slice(0, 300));
  // one through each remote transport, where the listing shows which is which
  const picks = [uris[0], uris.find((u) => /legacy/.test(u))].filter((u, i, a) => u && a.indexOf(u) === i);
  for (const uri of picks) {
    const rr = await within(client.readResource({ uri }), 'readResource');
    check(`sdk: readResource ${uri}`, (rr.contents ?? []).length > 0, JSON.stringify(rr).slice(0, 300));
  }
} catch (e) {
  if (e?.code === -32601) console.log('INFO resources skipped: the hub answers -32601 for resources/list (not aggregated yet)');
  else fail('sdk: listResources', e?.stack ?? e);
}

// ---- what the remote server saw
try {
  const r = await call(client, 'rec_headers', {});
  const h = JSON.parse(text(r));
  check('sdk: the client key never reaches the remote server', !JSON.stringify(h).includes(key), JSON.stringify(h));
  check('sdk: the remote server got the config Authorization instead', /^Bearer up-/.test(h.authorization ?? ''),
    `authorization=${h.authorization}`);
} catch (e) {
  fail('sdk: rec_headers', e?.stack ?? e);
}

// ---- a hanging remote does not slow the others
try {
  const before = await latencies(client, 20, 'before');
  const t0 = performance.now();
  const hang = call(client, 'rec_hang', {}, { timeout: 30000 }).then(
    (r) => ({ r }),
    (e) => ({ e }),
  );
  const during = await latencies(client, 20, 'during');
  const still = performance.now() - t0 < 1900;
  const out = await hang;
  const hangMs = performance.now() - t0;
  const p50b = percentile(before, 50), p50 = percentile(during, 50), max = Math.max(...during);
  console.log(`INFO stdio fx_echo latency: before the hang p50 ${p50b.toFixed(1)} ms; during it p50 ${p50.toFixed(1)} ms, p90 ${percentile(during, 90).toFixed(1)} ms, max ${max.toFixed(1)} ms`);
  console.log(`INFO rec_hang failed after ${hangMs.toFixed(0)} ms (timeout 2 s)`);
  check('sdk: the 20 stdio calls ran while rec_hang was still hanging', still, 'the hang ended before they did');
  check(`sdk: stdio calls keep their latency during the hang (p50 ${p50.toFixed(1)} ms < 50 ms)`, p50 < 50,
    JSON.stringify(during.map((x) => Math.round(x))));
  const err = out.e ?? (out.r?.isError ? out.r : null);
  const msg = String(out.e?.message ?? JSON.stringify(out.r));
  check('sdk: rec_hang fails with a JSON-RPC error', !!out.e, JSON.stringify(out.r ?? null));
  check("sdk: ... that names the server 'rec' and says it timed out", /'rec'/.test(msg) && /timed out/i.test(msg), msg);
  check(`sdk: ... after about the configured 2 s (${hangMs.toFixed(0)} ms)`, hangMs >= 1800 && hangMs < 6000, `${hangMs} ms`);
  void err;
} catch (e) {
  fail('sdk: the hang scenario', e?.stack ?? e);
}

// ---- the remote servers go away and come back: the same session goes on
try {
  // Long calls in flight when the servers die: they must fail at once, not after 30 s.
  const started = [];
  const inflight = ['web_trigger-long-running-operation', 'legacy_trigger-long-running-operation'].map((tool) => {
    let first;
    started.push(new Promise((r) => (first = r)));
    return call(client, tool, { duration: 30, steps: 30 }, { onprogress: () => first(), timeout: 60000 }).then(
      (r) => ({ tool, r }),
      (e) => ({ tool, e }),
    );
  });
  await within(Promise.all(started), 'first progress of the long calls');
  const tKill = performance.now();
  const ended = inflight.map((p) => p.then((o) => ({ ...o, ms: performance.now() - tKill })));
  await waitFor('down');
  for (const o of await Promise.all(ended)) {
    const server = o.tool.split('_')[0];
    const msg = String(o.e?.message ?? JSON.stringify(o.r));
    check(`sdk: ${o.tool} in flight when its server died fails at once (${o.ms.toFixed(0)} ms after the kill order)`,
      !!o.e && o.ms < 5000, msg);
    check(`sdk: ... with an error naming '${server}'`, msg.includes(`'${server}'`), msg);
  }
  const t0 = performance.now();
  let msg = '';
  try {
    const r = await call(client, 'web_echo', { message: 'while down' });
    msg = JSON.stringify(r);
  } catch (e) {
    msg = String(e?.message);
  }
  const ms = performance.now() - t0;
  check(`sdk: web_echo while web is down fails at once naming it (${ms.toFixed(0)} ms)`,
    /'web'/.test(msg) && ms < 2000, msg);
  const r = await call(client, 'fx_echo', { message: 'still here' });
  check('sdk: fx_echo answers while the remotes are down', text(r) === 'Echo: still here', JSON.stringify(r));
  const rr = await call(client, 'rec_echo', { message: 'still here' });
  check('sdk: rec_echo answers while the others are down', text(rr) === 'Echo: still here', JSON.stringify(rr));
  await waitFor('up');
  for (const tool of ['web_echo', 'legacy_echo']) {
    const r2 = await call(client, tool, { message: 'back' });
    check(`sdk: ${tool} answers again in the same client session`, text(r2) === 'Echo: back', JSON.stringify(r2));
  }
  check('sdk: the client session id never changed', transport.sessionId === sessionId,
    `${sessionId} -> ${transport.sessionId}`);
} catch (e) {
  fail('sdk: down and up again', e?.stack ?? e);
}

await client.close().catch(() => {});
lines.close();
process.exit(failed ? 1 : 0);
