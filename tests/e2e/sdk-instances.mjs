// Per-client and per-session upstream instances of server-everything (stdio).
//   node tests/e2e/sdk-instances.mjs BASE_URL KEY1 KEY2 KEY3 KEY4
// (client ids alice, bob, carol, dave; BASE_URL without /mcp, for /health too)
// Servers (tools prefixed with the server name):
//   evc  "isolation": "client",  "idleTimeout": 3
//   evs  "isolation": "session", "idleTimeout": 3
//   evm  "isolation": "client",  "maxInstances": 2 (idleTimeout default)
// Prints "PASS <check>" / "FAIL <check>: <detail>"; "INFO ..." lines are figures.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { J, check, exit, fail, outcome, sleep, step, text, within as withinMs } from './sdk-harness.mjs';

const [base, ...keys] = process.argv.slice(2);
if (!base || keys.length !== 4) {
  console.error('usage: sdk-instances.mjs BASE_URL KEY1 KEY2 KEY3 KEY4');
  process.exit(2);
}
const NAMES = ['alice', 'bob', 'carol', 'dave'];
const keyOf = Object.fromEntries(NAMES.map((n, i) => [n, keys[i]]));
const url = `${base}/mcp`;

// a burst of 16 sessions on 2 cores takes its time
const within = (p, what, ms = 30000) => withinMs(p, what, ms);
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
process.on('unhandledRejection', (e) => fail('no unhandled rejection', e?.stack ?? e));

// /health shows each client its own instances only: the whole picture is the union of
// what every key sees (and each key must see its own and no other client's).
const healthLeaks = [];
async function health() {
  const views = await Promise.all(keys.map(async (k) => (await fetch(`${base}/health`, { headers: { Authorization: `Bearer ${k}` } })).json()));
  const h = views[0];
  for (const u of h.upstreams ?? []) {
    if (!Array.isArray(u.instances)) continue;
    u.instances = views.flatMap((v, n) => {
      const mine = (v.upstreams ?? []).find((x) => x.name === u.name)?.instances ?? [];
      for (const i of mine) if (i.client !== views[n].client) healthLeaks.push({ key: n, saw: i.client });
      return mine;
    });
  }
  return h;
}
const up = (h, name) => (h.upstreams ?? []).find((u) => u.name === name);
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
};
async function waitFor(cond, ms) {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() >= end) return false;
    await sleep(100);
  }
}

let serial = 0;
function makeSession(client) {
  const me = { client, tag: `${client}-s${++serial}`, sampling: [], elicit: [] };
  me.transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${keyOf[client]}` } },
  });
  me.c = new Client({ name: `e2e-inst-${me.tag}`, version: '1.0.0' }, { capabilities: { sampling: {}, elicitation: { form: {} } } });
  me.c.setRequestHandler(CreateMessageRequestSchema, async (req) => {
    me.sampling.push(req.params.messages?.[0]?.content?.text ?? '');
    return { role: 'assistant', content: { type: 'text', text: `answer-from-${me.tag}` }, model: 'm', stopReason: 'endTurn' };
  });
  me.c.setRequestHandler(ElicitRequestSchema, async (req) => {
    me.elicit.push(req.params);
    return { action: 'accept', content: { name: `name-from-${me.tag}` } };
  });
  me.call = (name, args, opts) => within(me.c.callTool({ name, arguments: args }, undefined, opts), `${me.tag} ${name}`);
  me.open = () => within(me.c.connect(me.transport), `${me.tag} connect`);
  me.close = async () => {
    await me.transport.terminateSession().catch(() => {});
    await me.c.close().catch(() => {});
  };
  me.sid = () => me.transport.sessionId;
  return me;
}

const catalogue = {};
await step('catalogue', async () => {
  const h = await health();
  for (const s of ['evc', 'evs', 'evm']) {
    const u = up(h, s);
    catalogue[s] = u?.pid;
    check(`/health: ${s} has the catalogue session's pid and no instance before any call`, Number.isInteger(u?.pid) && J(u?.instances) === '[]', J(u));
  }
  check('/health: isolation and max_instances per server', up(h, 'evc')?.isolation === 'client' && up(h, 'evs')?.isolation === 'session' &&
    up(h, 'evm')?.isolation === 'client' && up(h, 'evm')?.max_instances === 2 && up(h, 'evc')?.max_instances === 16, J(h.upstreams));
  check('/health: top-level "instances" is 0', h.instances === 0, J(h.instances));
});

// ---- "client": alice's slow call does not slow bob down ----
await step('latency', async () => {
  const A = makeSession('alice');
  const B = makeSession('bob');
  await Promise.all([A.open(), B.open()]);
  let t0 = Date.now();
  await A.call('evc_echo', { message: 'warm-a' });
  const warmA = Date.now() - t0;
  t0 = Date.now();
  await B.call('evc_echo', { message: 'warm-b' });
  console.log(`INFO first calls (start the instance): alice ${warmA} ms, bob ${Date.now() - t0} ms`);
  const prog = [];
  t0 = Date.now();
  const long = A.call('evc_trigger-long-running-operation', { duration: 4, steps: 4 }, { onprogress: (p) => prog.push(p.progress) });
  await sleep(300);
  const lat = [];
  const bad = [];
  while (Date.now() - t0 < 3300 && lat.length < 40) {
    const s = Date.now();
    const r = await B.call('evc_echo', { message: `bob-${lat.length}` });
    lat.push(Date.now() - s);
    if (text(r) !== `Echo: bob-${lat.length - 1}`) bad.push(r);
    await sleep(100);
  }
  const r = await long;
  const took = Date.now() - t0;
  console.log(`INFO bob's echo latencies during alice's 4 s operation (ms): ${lat.join(' ')}; median ${median(lat)}, max ${Math.max(...lat)}`);
  check(`client: bob made ${lat.length} echo calls while alice's operation ran (at least 10)`, lat.length >= 10, J(lat));
  check('client: each of bob\'s echo calls completes in under 500 ms', lat.every((x) => x < 500), J(lat));
  check("client: bob's answers are his own", bad.length === 0, J(bad));
  check(`client: alice's operation completes with progress 1..4 (${took} ms)`, /Duration: 4 seconds, Steps: 4/.test(text(r)) && J(prog) === '[1,2,3,4]', `${J(prog)} ${J(r)}`);
  const h = await health();
  const inst = up(h, 'evc')?.instances ?? [];
  check('/health: evc has one instance each for alice and bob', J(inst.map((i) => i.client).sort()) === '["alice","bob"]', J(inst));
  check('/health: their pids differ from each other and from the catalogue session', inst.length === 2 && inst.every((i) => Number.isInteger(i.pid) && i.pid !== catalogue.evc) &&
    inst[0].pid !== inst[1].pid, J(inst));
  await A.close();
  await B.close();
  // their last sessions ended: the instances stop (idleTimeout 3 could do it too; see evm
  // below). Let them go before the next phase counts instances.
  await waitFor(async () => (up(await health(), 'evc')?.instances ?? []).length === 0, 8000);
});

// ---- 16 sessions of 4 clients at once, "client" then "session" ----
const sessions = [];
for (const n of NAMES) for (let k = 0; k < 4; k++) sessions.push(makeSession(n));
await step('open 16', async () => {
  await Promise.all(sessions.map((s) => s.open()));
  check('16 sessions, 16 distinct ids', new Set(sessions.map((s) => s.sid())).size === 16, J(sessions.map((s) => s.sid())));
  await sleep(300);
});

async function burst(srv, mode) {
  for (const s of sessions) {
    s.sampling = [];
    s.elicit = [];
  }
  const t0 = Date.now();
  const out = await Promise.all(
    sessions.map(async (s) => {
      const res = { s };
      try {
        res.prog = [];
        const steps = 2 + (serial++ % 3); // 2..4: sessions differ
        res.steps = steps;
        res.long = await s.call(`${srv}_trigger-long-running-operation`, { duration: 1, steps }, { onprogress: (p) => res.prog.push([p.progress, p.total]) });
        res.samp = await s.call(`${srv}_trigger-sampling-request`, { prompt: `prompt-of-${s.tag}` });
        res.elic = await s.call(`${srv}_trigger-elicitation-request`, {});
      } catch (e) {
        res.err = String(e?.message ?? e);
      }
      return res;
    }),
  );
  console.log(`INFO ${mode}: 16 sessions x (long operation, sampling, elicitation) took ${Date.now() - t0} ms`);
  const errs = out.filter((o) => o.err);
  check(`${mode}: all 48 calls of the 16 sessions succeed`, errs.length === 0, J(errs.map((o) => [o.s.tag, o.err])));
  const ok = out.filter((o) => !o.err);
  const badProg = ok.filter((o) => J(o.prog) !== J(Array.from({ length: o.steps }, (_, i) => [i + 1, o.steps])));
  check(`${mode}: each session sees exactly its own progress`, badProg.length === 0, J(badProg.map((o) => [o.s.tag, o.steps, o.prog])));
  const badSamp = ok.filter((o) => o.s.sampling.length !== 1 || !o.s.sampling[0].includes(`prompt-of-${o.s.tag}`) ||
    !text(o.samp).includes(`answer-from-${o.s.tag}`));
  check(`${mode}: each session's sampling handler is asked once, for its own prompt, and its answer comes back to it`, badSamp.length === 0,
    J(badSamp.map((o) => [o.s.tag, o.s.sampling, text(o.samp).slice(0, 200)])));
  const badEl = ok.filter((o) => o.s.elicit.length !== 1 || !text(o.elic).includes(`name-from-${o.s.tag}`));
  check(`${mode}: each session's elicitation handler is asked once and its own answer comes back`, badEl.length === 0,
    J(badEl.map((o) => [o.s.tag, o.s.elicit.length, text(o.elic).slice(0, 200)])));
  const stray = sessions.filter((s) => s.sampling.some((p) => !p.includes(`prompt-of-${s.tag}`)));
  check(`${mode}: no session's handler saw another session's prompt`, stray.length === 0, J(stray.map((s) => [s.tag, s.sampling])));
}

const seen = {};
await step('client burst', async () => {
  await burst('evc', 'client');
  const h = await health();
  const inst = up(h, 'evc')?.instances ?? [];
  seen.evc = inst.map((i) => i.pid);
  check('/health client: evc has 4 instances, one per client id', J(inst.map((i) => i.client).sort()) === J(NAMES), J(inst));
  check('/health client: each with a pid of its own, 4 sessions, nothing in flight', inst.length === 4 && new Set(inst.map((i) => i.pid)).size === 4 &&
    inst.every((i) => Number.isInteger(i.pid) && alive(i.pid) && i.pid !== catalogue.evc && i.sessions === 4 && i.in_flight === 0 &&
      typeof i.state === 'string' && Number.isInteger(i.idle_seconds)), J(inst));
  check('/health client: the catalogue session is the same process', up(h, 'evc')?.pid === catalogue.evc, J(up(h, 'evc')?.pid));
});

await step('session burst', async () => {
  await burst('evs', 'session');
  const h = await health();
  const inst = up(h, 'evs')?.instances ?? [];
  seen.evs = inst.map((i) => i.pid);
  check('/health session: evs has 16 instances', inst.length === 16, J(inst));
  const want = sessions.map((s) => `${s.client}/${s.sid().slice(0, 8)}`).sort();
  const got = inst.map((i) => `${i.client}/${i.session}`).sort();
  check('/health session: one per session: client id and the first 8 hex of its session id', J(got) === J(want), `want ${J(want)} got ${J(got)}`);
  check('/health session: 16 pids of their own, 1 session each', new Set(inst.map((i) => i.pid)).size === 16 &&
    inst.every((i) => Number.isInteger(i.pid) && alive(i.pid) && i.sessions === 1 && !seen.evc.includes(i.pid)), J(inst));
  const total = (h.upstreams ?? []).reduce((n, u) => n + (u.instances?.length ?? 0), 0);
  check(`/health: top-level "instances" is the total (${total})`, h.instances === total && total >= 16, `${h.instances} vs ${total}`);
});

// ---- idleTimeout 3: unused instances stop although their sessions stay open ----
await step('idle', async () => {
  const t0 = Date.now();
  const gone = await waitFor(async () => {
    const h = await health();
    return (up(h, 'evc')?.instances?.length ?? -1) === 0 && (up(h, 'evs')?.instances?.length ?? -1) === 0;
  }, 15000);
  const dt = Date.now() - t0;
  console.log(`INFO instances of evc and evs gone ${dt} ms after their last call (idleTimeout 3)`);
  check(`idle: evc and evs instance lists empty within 15 s (${dt} ms)`, gone, J((await health()).upstreams?.map((u) => [u.name, u.instances])));
  check('idle: not before about 3 s', dt >= 2000, `${dt} ms`);
  const all = [...(seen.evc ?? []), ...(seen.evs ?? [])];
  const exited = await waitFor(() => all.every((p) => !alive(p)), 5000);
  check(`idle: all ${all.length} instance processes exited`, exited && all.length === 20, J(all.filter(alive)));
  const h = await health();
  check('idle: the catalogue sessions stay (same pids, ready)', ['evc', 'evs'].every((s) => up(h, s)?.pid === catalogue[s] && up(h, s)?.state === 'ready' && alive(catalogue[s])),
    J(h.upstreams?.map((u) => [u.name, u.pid, u.state])));
  check('idle: top-level "instances" is 0 again', h.instances === 0, J(h.instances));
  // a session whose instance stopped gets a new one
  const r = await sessions[0].call('evs_echo', { message: 'again' });
  check('idle: a session whose instance stopped is served by a new one', text(r) === 'Echo: again', J(r));
});
await Promise.all(sessions.map((s) => s.close()));

// ---- maxInstances 2; an instance stops with its client's last session ----
await step('maxInstances', async () => {
  const [a, b, c] = ['alice', 'bob', 'carol'].map(makeSession);
  await Promise.all([a, b, c].map((s) => s.open()));
  const ra = await outcome(a.call('evm_echo', { message: 'a' }));
  const rb = await outcome(b.call('evm_echo', { message: 'b' }));
  check('maxInstances 2: alice and bob get an instance each', text(ra.result) === 'Echo: a' && text(rb.result) === 'Echo: b', J([ra, rb]));
  const t0 = Date.now();
  const rc = await outcome(c.call('evm_echo', { message: 'c' }));
  const dt = Date.now() - t0;
  check('maxInstances 2: a third client gets a JSON-RPC error -32000', rc.code === -32000, J(rc));
  check('maxInstances 2: its message names the server and maxInstances', /\bevm\b/.test(rc.message ?? '') && /maxInstances/.test(rc.message ?? ''), J(rc));
  check('maxInstances 2: error.data.server is "evm"', rc.data?.server === 'evm', J(rc));
  check(`maxInstances 2: the error comes at once (${dt} ms < 2000)`, dt < 2000, `${dt} ms`);
  let h = await health();
  let inst = up(h, 'evm')?.instances ?? [];
  check('/health: evm has exactly alice and bob', J(inst.map((i) => i.client).sort()) === '["alice","bob"]', J(inst));
  const alicePid = inst.find((i) => i.client === 'alice')?.pid;
  // alice's only session ends: her instance stops (idleTimeout is 300 s here)
  await a.close();
  const stopped = await waitFor(async () => !(up(await health(), 'evm')?.instances ?? []).some((i) => i.client === 'alice'), 5000);
  check("session end: alice's evm instance leaves /health once her last session ends", stopped, J(up(await health(), 'evm')?.instances));
  check("session end: alice's instance process exits", Number.isInteger(alicePid) && (await waitFor(() => !alive(alicePid), 5000)), `pid ${alicePid}`);
  const rc2 = await outcome(c.call('evm_echo', { message: 'c2' }));
  check('maxInstances 2: with a slot free, carol gets an instance', text(rc2.result) === 'Echo: c2', J(rc2));
  h = await health();
  inst = up(h, 'evm')?.instances ?? [];
  check('/health: evm has bob and carol', J(inst.map((i) => i.client).sort()) === '["bob","carol"]', J(inst));
  await b.close();
  await c.close();
});

check("/health: each key saw only its own client's instances", healthLeaks.length === 0, J(healthLeaks.slice(0, 5)));
exit();
