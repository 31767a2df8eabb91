// The load and the fault schedule of the soak (tests/soak/soak.sh starts it; see there):
//   node tests/soak/soak-driver.mjs CONFIG.json
// CONFIG: {host, port, keys: [[key, client]...], clients, seconds, deadlineMs, faultEveryMs,
//          hubEveryMs, idle, loris, lorisByteMs, bigBytes, hubPidFile, mark, summary}
//
// - `clients` MCP clients (one keep-alive connection each, one request at a time) call tools
//   of every upstream, list tools and ping: 2025-11-25 sessions over Streamable HTTP, but
//   the last two speak the legacy HTTP+SSE transport (answers on their GET /sse stream, a
//   new stream and session when it ends) and the two before them 2026-07-28 (stateless). Every
//   request has a deadline: it is answered when an HTTP response carrying a JSON-RPC
//   response with its id came (a result or an error), and unanswered otherwise (deadline
//   passed, connection closed, or an HTTP answer without its id). An echo whose text is
//   not the one sent counts as wrong.
// - Every faultEveryMs one fault, in turn: SIGKILL of a stdio upstream, of the HTTP one,
//   of the SSE one, a SIGSTOP of one for longer than its timeout, and calls to the
//   fixture's hang, garbage, big (a bigBytes line) and crash tools, sent by a client.
// - Every hubEveryMs the hub gets SIGTERM (sock-holder starts it again on its socket).
// - `idle` connections that send nothing and `loris` ones that send a request head a byte
//   at a time, each opened again when the front closes it.
// - A GET /health on a new connection every second (latency), and the hub's VmRSS every
//   second (per hub pid).
// Prints a progress line every 10 s and writes the summary (JSON) to `summary`.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const t0 = Date.now();
const elapsed = () => ((Date.now() - t0) / 1000).toFixed(1);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const BODY_MAX = 64 * 1024 * 1024;
const PROTO = '2025-11-25';
let running = true;

// ---- counters ----
const stats = {
  sent: 0,
  result: 0,
  error: 0,
  unanswered: 0,
  wrong: 0,
  byOp: {}, // op -> {sent, result, error, unanswered, maxMs}
  errors: {}, // "op: code message" -> n
  unansweredWhy: {}, // reason -> n
  wrongExamples: [],
  unansweredExamples: [],
  httpStatus: {},
  sessions: 0,
  legacyStreams: 0,
  byKind: {},
  reinit: 0,
  notifications: { sent: 0, accepted: 0, other: {} },
  faults: {}, // kind -> n
  faultMisses: {}, // kind -> n (no target found)
  hubRestarts: 0,
  hubUnexpected: [],
  hubs: [], // {pid, first, peak, last, samples} in kB
  health: { sent: 0, ok: 0, fail: 0, lat: [] },
  idle: { target: cfg.idle, connects: 0, closedByServer: 0, connectErrors: 0, connectErrorCodes: {}, heldMin: Infinity, heldSum: 0, heldSamples: 0, lifeMs: [] },
  loris: { target: cfg.loris, connects: 0, closedByServer: 0, connectErrors: 0, statuses: {}, heldMin: Infinity, heldSum: 0, heldSamples: 0, lifeMs: [] },
  latency: [],
};
const bump = (o, k, n = 1) => (o[k] = (o[k] ?? 0) + n);
const opStat = (op) => (stats.byOp[op] ??= { sent: 0, result: 0, error: 0, unanswered: 0, maxMs: 0 });

// ---- one HTTP exchange ----
// Resolves {status, headers, body} or {err} ('deadline' or a socket error code).
function exchange(agent, method, path, headers, body, deadlineMs) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (v) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(v);
    };
    const req = http.request({ host: cfg.host, port: cfg.port, method, path, headers, agent }, (res) => {
      const chunks = [];
      let n = 0;
      res.on('data', (c) => {
        n += c.length;
        if (n > BODY_MAX) {
          req.destroy();
          finish({ err: 'body over 64 MiB' });
        } else chunks.push(c);
      });
      res.on('end', () => finish({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (e) => finish({ err: e.code ?? e.message }));
      res.on('aborted', () => finish({ err: 'response aborted' }));
    });
    const timer = setTimeout(() => {
      finish({ err: 'deadline' });
      req.destroy();
    }, deadlineMs);
    req.on('error', (e) => finish({ err: e.code ?? e.message }));
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

// The JSON-RPC messages of a response body (JSON or SSE).
function messages(r) {
  const out = [];
  const ct = r.headers?.['content-type'] ?? '';
  if (ct.startsWith('text/event-stream')) {
    for (const ev of r.body.split(/\r?\n\r?\n/)) {
      const data = ev
        .split(/\r?\n/)
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, ''))
        .join('\n');
      if (!data) continue;
      try {
        out.push(JSON.parse(data));
      } catch {}
    }
  } else if (r.body) {
    try {
      const v = JSON.parse(r.body);
      if (Array.isArray(v)) out.push(...v);
      else out.push(v);
    } catch {}
  }
  return out;
}

// ---- clients ----
const OPS = [
  ['fx_echo', 18],
  ['iso_echo', 14],
  ['web_echo', 14],
  ['legacy_echo', 10],
  ['fx_sleep', 8],
  ['tools/list', 6],
  ['ping', 4],
];
const OPS_TOTAL = OPS.reduce((a, [, w]) => a + w, 0);
function pickOp() {
  let r = Math.random() * OPS_TOTAL;
  for (const [op, w] of OPS) if ((r -= w) < 0) return op;
  return 'ping';
}

function requestFor(c, op, id) {
  const msg = `c${c.idx}-${id}`;
  const call = (name, args) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });
  switch (op) {
    case 'initialize':
      return {
        jsonrpc: '2.0',
        id,
        method: 'initialize',
        params: { protocolVersion: c.kind === 'legacy' ? '2024-11-05' : PROTO, capabilities: {}, clientInfo: { name: `soak-${c.idx}`, version: '1' } },
      };
    case 'tools/list':
      return { jsonrpc: '2.0', id, method: 'tools/list' };
    case 'ping':
      return { jsonrpc: '2.0', id, method: 'ping' };
    case 'fx_sleep':
      return call('fx_sleep', { ms: Math.floor(Math.random() * 300) });
    case 'fx_hang':
      return call('fx_hang', {});
    case 'fx_garbage':
      return call('fx_garbage', {});
    case 'fx_crash':
      return call('fx_crash', {});
    case 'fx_big':
      return call('fx_big', { bytes: cfg.bigBytes });
    default: // the echo tools
      return { ...call(op, { message: msg }), expect: `Echo: ${msg}` };
  }
}

const MODERN = '2026-07-28';
function headersFor(c, req) {
  const h = {
    Authorization: `Bearer ${c.key}`,
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
  };
  if (c.kind === 'modern') {
    h['MCP-Protocol-Version'] = MODERN;
    if (req?.method) h['Mcp-Method'] = req.method;
    if (req?.method === 'tools/call') h['Mcp-Name'] = req.params.name;
  } else if (c.session) {
    h['Mcp-Session-Id'] = c.session;
    h['MCP-Protocol-Version'] = PROTO;
  }
  return h;
}

// ---- legacy HTTP+SSE clients: GET /sse, POST /messages?sessionId=..., answers on the stream ----
function legacyOpen(c) {
  return new Promise((resolve) => {
    const st = { endpoint: null, pending: new Map(), closed: false, req: null };
    let buf = '';
    let opened = false;
    const done = (ok) => {
      if (opened) return;
      opened = true;
      clearTimeout(timer);
      resolve(ok ? st : null);
    };
    const close = (why) => {
      if (st.closed) return;
      st.closed = true;
      for (const [, p] of st.pending) p({ why });
      st.pending.clear();
      done(false);
    };
    const timer = setTimeout(() => {
      close('legacy stream: no endpoint event');
      st.req?.destroy();
    }, cfg.deadlineMs);
    st.req = http.request(
      { host: cfg.host, port: cfg.port, method: 'GET', path: '/sse', agent: false, headers: { Authorization: `Bearer ${c.key}`, Accept: 'text/event-stream' } },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          close(`legacy stream: HTTP ${res.statusCode}`);
          return;
        }
        res.setEncoding('utf8');
        res.on('data', (d) => {
          buf += d;
          let i;
          while ((i = buf.search(/\r?\n\r?\n/)) >= 0) {
            const ev = buf.slice(0, i);
            buf = buf.slice(i).replace(/^\r?\n\r?\n/, '');
            let name = 'message';
            const data = [];
            for (const l of ev.split(/\r?\n/)) {
              if (l.startsWith('event:')) name = l.slice(6).trim();
              else if (l.startsWith('data:')) data.push(l.slice(5).replace(/^ /, ''));
            }
            if (name === 'endpoint') {
              st.endpoint = data.join('\n');
              done(true);
            } else if (name === 'message' && data.length) {
              let m;
              try {
                m = JSON.parse(data.join('\n'));
              } catch {
                continue;
              }
              const p = m && m.id !== undefined && ('result' in m || 'error' in m) && st.pending.get(m.id);
              if (p) {
                st.pending.delete(m.id);
                p({ answer: m });
              }
            }
          }
        });
        res.on('end', () => close('legacy stream ended'));
        res.on('error', (e) => close(`legacy stream: ${e.code ?? e.message}`));
        res.on('aborted', () => close('legacy stream aborted'));
      },
    );
    st.req.on('error', (e) => close(`legacy stream: ${e.code ?? e.message}`));
    st.req.end();
  });
}

// One request over the client's transport: {answer} or {why}, and the HTTP status seen.
async function transact(c, req) {
  if (c.kind !== 'legacy') {
    const r = await exchange(c.agent, 'POST', '/mcp', headersFor(c, req), JSON.stringify(req), cfg.deadlineMs);
    const answer = r.err ? undefined : messages(r).find((m) => m && m.id === req.id && ('result' in m || 'error' in m));
    return { answer, status: r.status, headers: r.headers, why: r.err ?? `HTTP ${r.status} without a response for its id`, body: r.body };
  }
  const st = c.legacy;
  if (!st || st.closed) return { why: 'legacy stream closed before the request' };
  const got = new Promise((resolve) => st.pending.set(req.id, resolve));
  const r = await exchange(c.agent, 'POST', st.endpoint, headersFor(c, req), JSON.stringify(req), cfg.deadlineMs);
  if (r.status !== 202) {
    st.pending.delete(req.id);
    const answer = r.err ? undefined : messages(r).find((m) => m && m.id === req.id);
    if (r.status === 404) c.legacy = null; // its session is gone: a new stream next
    return { answer, status: r.status, why: r.err ?? `HTTP ${r.status} on the POST`, body: r.body };
  }
  let timer;
  const res = await Promise.race([got, new Promise((resolve) => (timer = setTimeout(() => resolve({ why: 'deadline' }), cfg.deadlineMs)))]);
  clearTimeout(timer);
  st.pending.delete(req.id);
  return { ...res, status: 202 };
}

// Sends one request of kind op and counts its outcome.
async function call(c, op) {
  const id = ++c.nextId;
  const req = requestFor(c, op, id);
  const expect = req.expect;
  delete req.expect;
  if (c.kind === 'modern')
    req.params = { ...(req.params ?? {}), _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} } };
  const s = opStat(`${op}${c.kind === 'session' ? '' : ` (${c.kind})`}`);
  stats.sent++;
  s.sent++;
  bump(stats.byKind, c.kind);
  const t = Date.now();
  const r = await transact(c, req);
  const ms = Date.now() - t;
  s.maxMs = Math.max(s.maxMs, ms);
  if (r.status) bump(stats.httpStatus, r.status);
  const answer = r.answer;
  if (answer && 'result' in answer) {
    stats.result++;
    s.result++;
    if (stats.latency.length < 2e6) stats.latency.push(ms);
    if (expect !== undefined && answer.result?.content?.[0]?.text !== expect) {
      stats.wrong++;
      if (stats.wrongExamples.length < 5)
        stats.wrongExamples.push({ op, kind: c.kind, id, expect, got: JSON.stringify(answer).slice(0, 300), t: elapsed() });
    }
  } else if (answer) {
    stats.error++;
    s.error++;
    const msg = String(answer.error?.message ?? '').replace(/[0-9a-f]{8,}/g, '#').replace(/:\d{2,5}\//g, ':PORT/').slice(0, 70);
    bump(stats.errors, `${op}: ${answer.error?.code} ${msg}`);
  } else {
    stats.unanswered++;
    s.unanswered++;
    bump(stats.unansweredWhy, `${op} (${c.kind}): ${r.why}`);
    if (stats.unansweredExamples.length < 10)
      stats.unansweredExamples.push({ op, kind: c.kind, id, why: r.why, ms, t: elapsed(), body: r.body?.slice(0, 200), client: c.idx });
  }
  if (r.status === 404 && op !== 'initialize' && c.kind === 'session') {
    c.session = null; // the session is gone: a new one next
    stats.reinit++;
  }
  return r;
}

async function initialize(c) {
  c.session = null;
  if (c.kind === 'legacy') {
    c.legacy = await legacyOpen(c);
    if (!c.legacy) return false;
    stats.legacyStreams++;
  }
  const r = await call(c, 'initialize');
  if (c.kind === 'legacy') {
    if (!r.answer?.result) return false;
  } else {
    const sid = r.headers?.['mcp-session-id'];
    if (r.status !== 200 || !sid) return false;
    c.session = sid;
  }
  stats.sessions++;
  stats.notifications.sent++;
  const path = c.kind === 'legacy' ? c.legacy.endpoint : '/mcp';
  const n = await exchange(c.agent, 'POST', path, headersFor(c), '{"jsonrpc":"2.0","method":"notifications/initialized"}', cfg.deadlineMs);
  if (n.status === 202) stats.notifications.accepted++;
  else bump(stats.notifications.other, n.err ?? n.status);
  return true;
}

const ready = (c) => (c.kind === 'session' ? !!c.session : c.kind === 'legacy' ? !!c.legacy && !c.legacy.closed : true);
async function clientLoop(c) {
  while (running) {
    if (!ready(c) && !(await initialize(c))) {
      await sleep(200);
      continue;
    }
    let op = c.queue.shift() ?? pickOp();
    if (c.kind === 'modern' && op === 'ping') op = 'tools/list'; // no ping without a session
    await call(c, op);
  }
  if (c.kind === 'session' && c.session) await exchange(c.agent, 'DELETE', '/mcp', headersFor(c), undefined, 10000);
  c.legacy?.req?.destroy();
  c.agent.destroy();
}

const clients = [];
for (let i = 0; i < cfg.clients; i++) {
  const [key] = cfg.keys[i % cfg.keys.length];
  // the last two speak the legacy HTTP+SSE transport, the two before them 2026-07-28
  const kind = cfg.clients >= 8 && i >= cfg.clients - 2 ? 'legacy' : cfg.clients >= 8 && i >= cfg.clients - 4 ? 'modern' : 'session';
  clients.push({ idx: i, kind, key, session: null, legacy: null, nextId: 0, queue: [], agent: new http.Agent({ keepAlive: true, maxSockets: 1 }) });
}

// ---- processes of the run ----
function marked(pattern) {
  const out = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || +p === process.pid) continue;
    try {
      const env = fs.readFileSync(`/proc/${p}/environ`, 'latin1');
      if (!env.split('\0').includes(`E2E_MARK=${cfg.mark}`)) continue;
      const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'latin1').split('\0').join(' ');
      const state = fs.readFileSync(`/proc/${p}/stat`, 'latin1').replace(/^.*\) /, '')[0];
      if (state !== 'Z' && pattern.test(cmd)) out.push(+p);
    } catch {}
  }
  return out;
}
const pick = (a) => a[Math.floor(Math.random() * a.length)];
const TARGETS = { stdio: /mcp-fixture/, http: /remote-server\.mjs/, sse: /mcp-server-everything/ };

function signal(kind, pattern, sig) {
  const pids = marked(pattern);
  if (!pids.length) {
    bump(stats.faultMisses, kind);
    return null;
  }
  const pid = pick(pids);
  try {
    process.kill(pid, sig);
    bump(stats.faults, kind);
    return pid;
  } catch {
    bump(stats.faultMisses, kind);
    return null;
  }
}

const FAULTS = [
  ['kill-stdio', () => signal('kill-stdio', TARGETS.stdio, 'SIGKILL')],
  ['hang-call', () => queueCall('hang-call', 'fx_hang')],
  ['kill-http', () => signal('kill-http', TARGETS.http, 'SIGKILL')],
  ['garbage-call', () => queueCall('garbage-call', 'fx_garbage')],
  ['kill-sse', () => signal('kill-sse', TARGETS.sse, 'SIGKILL')],
  ['big-line-call', () => queueCall('big-line-call', 'fx_big')],
  ['stop-upstream', () => stopFor('stop-upstream', cfg.stopMs)],
  ['kill-stdio', () => signal('kill-stdio', TARGETS.stdio, 'SIGKILL')],
  ['crash-call', () => queueCall('crash-call', 'fx_crash')],
];
function queueCall(kind, op) {
  pick(clients).queue.push(op);
  bump(stats.faults, kind);
}
function stopFor(kind, ms) {
  const pid = signal(kind, Math.random() < 0.5 ? TARGETS.stdio : TARGETS.http, 'SIGSTOP');
  if (pid)
    setTimeout(() => {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {}
    }, ms);
}
let faultNo = 0;
const faultTimer = setInterval(() => {
  const [, f] = FAULTS[faultNo++ % FAULTS.length];
  f();
}, cfg.faultEveryMs);

// ---- the hub: restarts and RSS ----
const hubPid = () => {
  try {
    return +fs.readFileSync(cfg.hubPidFile, 'utf8').trim() || 0;
  } catch {
    return 0;
  }
};
let lastRestartAt = 0;
const hubTimer = setInterval(() => {
  const pid = hubPid();
  if (!pid || Date.now() - t0 > cfg.seconds * 1000 - 5000) return; // not in the last seconds
  try {
    process.kill(pid, 'SIGTERM');
    stats.hubRestarts++;
    lastRestartAt = Date.now();
  } catch {}
}, cfg.hubEveryMs);

let curHub = null;
function sampleHub() {
  const pid = hubPid();
  if (!pid) return;
  let kb;
  try {
    const st = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
    if (/^State:\s+Z/m.test(st)) return;
    kb = +st.match(/^VmRSS:\s+(\d+)/m)[1];
  } catch {
    return;
  }
  if (!curHub || curHub.pid !== pid) {
    if (curHub && Date.now() - lastRestartAt > 30000) stats.hubUnexpected.push({ pid: curHub.pid, t: elapsed() });
    curHub = { pid, first: kb, peak: kb, last: kb, samples: 0, since: elapsed(), trace: [] };
    stats.hubs.push(curHub);
  }
  curHub.peak = Math.max(curHub.peak, kb);
  curHub.last = kb;
  if (curHub.samples++ % 10 === 0) curHub.trace.push(Math.round(kb / 1024));
}

// ---- /health probe ----
async function healthProbe() {
  stats.health.sent++;
  const t = Date.now();
  const r = await exchange(false, 'GET', '/health', {}, undefined, 30000);
  const ms = Date.now() - t;
  stats.health.lat.push(ms);
  if (r.status === 200) stats.health.ok++;
  else stats.health.fail++;
}

// ---- idle and slow-loris connections ----
const held = { idle: 0, loris: 0 };
function holdConn(kind, i) {
  if (!running) return;
  const st = stats[kind];
  const s = net.connect({ host: cfg.host, port: cfg.port });
  let connected = false;
  let timer = null;
  let since = 0;
  s.setNoDelay(true);
  s.on('connect', () => {
    connected = true;
    since = Date.now();
    held[kind]++;
    st.connects++;
    if (kind === 'loris') {
      const head = `POST /mcp HTTP/1.1\r\nHost: ${cfg.host}:${cfg.port}\r\nX-Slow: `;
      let k = 0;
      timer = setInterval(() => {
        if (k < head.length) s.write(head[k++]);
        else s.write('a');
      }, cfg.lorisByteMs);
    }
  });
  let got = '';
  s.on('data', (d) => {
    if (got.length < 64) got += d.toString('latin1');
  });
  s.on('error', (e) => {
    if (!connected) bump(st.connectErrorCodes, e.code ?? e.message);
  });
  s.on('close', () => {
    clearInterval(timer);
    if (connected) {
      held[kind]--;
      if (running) {
        st.closedByServer++;
        if (st.lifeMs.length < 1e6) st.lifeMs.push(Date.now() - since);
        if (kind === 'loris') bump(st.statuses, got.match(/^HTTP\/1\.[01] (\d{3})/)?.[1] ?? 'none');
      }
    } else st.connectErrors++;
    if (running) setTimeout(() => holdConn(kind, i), connected ? 50 : 500);
  });
  conns.add(s);
  s.on('close', () => conns.delete(s));
}
const conns = new Set();
async function openHolders(kind, n) {
  for (let i = 0; i < n && running; i++) {
    holdConn(kind, i);
    if (i % 50 === 49) await sleep(100); // under the listen backlog
  }
}

// ---- progress and the end ----
const pct = (a, p) => {
  if (!a.length) return 0;
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
function progress() {
  console.log(
    `t=${elapsed()}s sent=${stats.sent} result=${stats.result} error=${stats.error} unanswered=${stats.unanswered} wrong=${stats.wrong}` +
      ` idle=${held.idle}/${cfg.idle} loris=${held.loris}/${cfg.loris} hub=${curHub?.pid ?? '-'}:${curHub?.last ?? '-'}kB` +
      ` health_max=${Math.max(0, ...stats.health.lat.slice(-10))}ms`,
  );
}
const secondTimer = setInterval(() => {
  sampleHub();
  healthProbe();
  if (Date.now() - t0 < 10000 || !running) return; // the holders' ramp-up, the wind-down
  stats.idle.heldMin = Math.min(stats.idle.heldMin, held.idle);
  stats.idle.heldSum += held.idle;
  stats.idle.heldSamples++;
  stats.loris.heldMin = Math.min(stats.loris.heldMin, held.loris);
  stats.loris.heldSum += held.loris;
  stats.loris.heldSamples++;
}, 1000);
const progressTimer = setInterval(progress, 10000);

sampleHub();
openHolders('idle', cfg.idle);
openHolders('loris', cfg.loris);
const loops = clients.map(clientLoop);
await sleep(cfg.seconds * 1000);
running = false;
clearInterval(faultTimer);
clearInterval(hubTimer);
for (const s of conns) s.destroy();
await Promise.all(loops);
sampleHub();
clearInterval(secondTimer);
clearInterval(progressTimer);
progress();

const summary = {
  seconds: +elapsed(),
  ...stats,
  latency: { n: stats.latency.length, p50: pct(stats.latency, 50), p99: pct(stats.latency, 99), max: pct(stats.latency, 100) },
  health: { ...stats.health, lat: undefined, p50: pct(stats.health.lat, 50), p99: pct(stats.health.lat, 99), max: pct(stats.health.lat, 100) },
};
for (const k of ['idle', 'loris']) {
  const st = stats[k];
  summary[k] = {
    ...st,
    lifeMs: undefined,
    heldMin: st.heldSamples ? st.heldMin : 0,
    heldAvg: st.heldSamples ? Math.round(st.heldSum / st.heldSamples) : 0,
    lifeP50: pct(st.lifeMs, 50),
    lifeMax: pct(st.lifeMs, 100),
  };
}
fs.writeFileSync(cfg.summary, JSON.stringify(summary, null, 1));
process.exit(0);
