// SSE resumption through the proxy, with plain fetch (no SDK, so every event id is ours to see):
//   node tests/e2e/sse-resume.mjs URL KEY
// against server-everything (one upstream). Events come from the server's own
// log messages: at logging level debug, every resources/subscribe makes it send
// "Received Subscribe Resource request for URI: <uri>" to the session, which the
// hub puts on the session's GET stream; subscribing to demo://resource/dynamic/text/N
// numbers them.
// Prints "PASS <check>" / "FAIL <check>: <detail>" lines; exits 1 on any failure.
const [url, key] = process.argv.slice(2);
if (!url || !key) {
  console.error('usage: sse-resume.mjs URL KEY');
  process.exit(2);
}

let failed = 0;
const pass = (name) => console.log(`PASS ${name}`);
const fail = (name, detail) => {
  failed++;
  console.log(`FAIL ${name}: ${String(detail).replace(/\s+/g, ' ').slice(0, 1500)}`);
};
const check = (name, cond, detail) => (cond ? pass(name) : fail(name, detail));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const J = (x) => JSON.stringify(x);
process.on('unhandledRejection', (e) => fail('no unhandled rejection', e?.stack ?? e));

const VERSION = '2025-11-25';
let session;
let nextId = 1;
const base = () => ({
  Authorization: `Bearer ${key}`,
  ...(session ? { 'Mcp-Session-Id': session, 'MCP-Protocol-Version': VERSION } : {}),
});

// An SSE response being read: events [{id, event, data (parsed JSON or null)}], next(ms).
function sseReader(res, ac) {
  const r = { res, ac, events: [], ended: false, waiters: [], error: null };
  const wake = () => {
    for (const w of r.waiters.splice(0)) w();
  };
  (async () => {
    const reader = res.body.getReader();
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
          const ev = { id: undefined, event: undefined, data: null, raw: block };
          const data = [];
          let any = false;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue; // comment (keep-alive)
            const m = /^([^:]*):? ?(.*)$/.exec(line);
            if (!m) continue;
            any = true;
            if (m[1] === 'id') ev.id = m[2];
            else if (m[1] === 'event') ev.event = m[2];
            else if (m[1] === 'data') data.push(m[2]);
          }
          if (!any) continue;
          const d = data.join('\n');
          ev.dataText = d;
          try {
            ev.data = d ? JSON.parse(d) : null;
          } catch {
            ev.data = { unparsable: d };
          }
          r.events.push(ev);
          wake();
        }
      }
    } catch (e) {
      r.error = e;
    }
    r.ended = true;
    wake();
  })();
  // next(ms): the next event not yet taken, or null on timeout / end.
  let taken = 0;
  r.next = async (ms = 5000) => {
    const end = Date.now() + ms;
    while (taken >= r.events.length) {
      if (r.ended || Date.now() >= end) return null;
      await new Promise((res2) => {
        r.waiters.push(res2);
        setTimeout(res2, Math.max(1, end - Date.now())).unref?.();
      });
    }
    return r.events[taken++];
  };
  r.drop = () => ac.abort();
  return r;
}

async function post(msg, extra = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { ...base(), 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...extra },
    body: J(msg),
  });
  return res;
}
async function rpc(method, params) {
  const id = nextId++;
  const res = await post({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) });
  const ct = res.headers.get('content-type') ?? '';
  if (ct.startsWith('application/json')) return { res, body: await res.json() };
  if (ct.startsWith('text/event-stream')) {
    const text = await res.text();
    const msgs = text.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).filter(Boolean).map((d) => JSON.parse(d));
    return { res, body: msgs.find((m) => m.id === id), all: msgs };
  }
  return { res, body: await res.text() };
}
async function openGet(lastEventId) {
  const ac = new AbortController();
  const res = await fetch(url, {
    method: 'GET',
    headers: { ...base(), Accept: 'text/event-stream', ...(lastEventId ? { 'Last-Event-ID': lastEventId } : {}) },
    signal: ac.signal,
  });
  return { res, ac };
}
// A resume right after dropping a connection: the front and the hub may not have seen the
// old one go yet and answer 409 ("still connected"), as the SDK's own server does. A client
// tries again, so this does too, for up to 3 s; the retries are counted.
let resumeRetries = 0;
async function openResume(lastEventId) {
  const end = Date.now() + 3000;
  for (;;) {
    const g = await openGet(lastEventId);
    if (g.res.status !== 409 || Date.now() >= end) return g;
    g.ac.abort();
    resumeRetries++;
    await sleep(50);
  }
}
const ID_RE = /^(\d+)-(\d+)$/;
const parseId = (id) => {
  const m = ID_RE.exec(id ?? '');
  return m ? { stream: Number(m[1]), seq: Number(m[2]) } : null;
};
const URI = (n) => `demo://resource/dynamic/text/${n}`;
const logN = (ev) => {
  const m = /Received Subscribe Resource request for URI: demo:\/\/resource\/dynamic\/text\/(\d+)/.exec(String(ev?.data?.params?.data ?? ''));
  return m ? Number(m[1]) : null;
};
// subscribe(a..b): one log event each on the GET stream, in order.
async function produce(a, b) {
  for (let n = a; n <= b; n++) {
    const { body } = await rpc('resources/subscribe', { uri: URI(n) });
    if (!body || body.error) throw new Error(`subscribe ${n}: ${J(body)}`);
  }
}
// Reads events until `count` numbered log events came (or ms passed).
async function readLogs(st, count, ms = 5000) {
  const got = [];
  const end = Date.now() + ms;
  while (got.filter((e) => logN(e) !== null).length < count) {
    const ev = await st.next(Math.max(1, end - Date.now()));
    if (!ev) break;
    got.push(ev);
  }
  return got;
}

// ---- session
{
  const { res, body } = await rpc('initialize', {
    protocolVersion: VERSION,
    capabilities: {},
    clientInfo: { name: 'e2e-resume', version: '1.0' },
  });
  session = res.headers.get('mcp-session-id');
  check('initialize: a session id', res.status === 200 && !!session && body?.result?.protocolVersion === VERSION, `${res.status} ${J(body)}`);
  const r2 = await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
  check('notifications/initialized: 202', r2.status === 202, r2.status);
  const { body: lv } = await rpc('logging/setLevel', { level: 'debug' });
  check('logging/setLevel debug', lv?.result && !lv.error, J(lv));
}

// ---- GET stream 1: priming, ids, a second GET refused
let g1;
{
  const { res, ac } = await openGet();
  check('GET: 200 text/event-stream', res.status === 200 && (res.headers.get('content-type') ?? '').startsWith('text/event-stream'),
    `${res.status} ${res.headers.get('content-type')}`);
  g1 = sseReader(res, ac);
  const prime = await g1.next(3000);
  check('GET: the first event is a priming event: an id "<stream>-<seq>" and empty data',
    prime && parseId(prime.id) && prime.dataText === '', J(prime));
  g1.primeId = prime?.id;
  const second = await openGet();
  check('a second GET on the same session: 409', second.res.status === 409, second.res.status);
  second.ac.abort();
}

// ---- events 1..6 on it, read live
await produce(1, 6);
const live1 = await readLogs(g1, 6);
const ids1 = live1.map((e) => e.id);
check('live: events 1..6 arrive in order', J(live1.map(logN)) === J([1, 2, 3, 4, 5, 6]), J(live1.map((e) => [e.id, logN(e)])));
const p1 = ids1.map(parseId);
const streamNo = parseId(g1.primeId)?.stream;
check('live: every event has an id on the priming event\'s stream, seq counting up by one from the priming seq',
  p1.every((p, i) => p && p.stream === streamNo && p.seq === parseId(g1.primeId).seq + 1 + i), J(ids1));
check('live: each is a notifications/message with level info', live1.every((e) => e.data?.method === 'notifications/message' && e.data.params.level === 'info'), J(live1[0]));

// ---- drop, produce 7..12 while disconnected, resume after the last seen id
g1.drop();
await sleep(300);
await produce(7, 12);
let g2;
{
  const last = ids1[ids1.length - 1];
  const { res, ac } = await openResume(last);
  check('resume: GET with Last-Event-ID: 200 text/event-stream', res.status === 200 && (res.headers.get('content-type') ?? '').startsWith('text/event-stream'), res.status);
  g2 = sseReader(res, ac);
  const replay = await readLogs(g2, 6, 4000);
  const numbered = replay.filter((e) => logN(e) !== null);
  check('resume: the 6 events sent while disconnected arrive, in order, exactly once', J(numbered.map(logN)) === J([7, 8, 9, 10, 11, 12]),
    J(replay.map((e) => [e.id, logN(e)])));
  const seqs = numbered.map((e) => parseId(e.id));
  check('resume: their ids continue the same stream without a gap',
    seqs.every((p, i) => p && p.stream === streamNo && p.seq === parseId(last).seq + 1 + i), J(numbered.map((e) => e.id)));
  const nonData = replay.filter((e) => logN(e) === null && e.dataText !== '');
  check('resume: nothing else replayed', nonData.length === 0, J(nonData));
  g2.lastIds = numbered.map((e) => e.id);
}
// ... and the stream goes on live
await produce(13, 15);
{
  const more = await readLogs(g2, 3);
  check('resumed stream: new events 13..15 arrive live on it', J(more.filter((e) => logN(e) !== null).map(logN)) === J([13, 14, 15]), J(more.map((e) => [e.id, logN(e)])));
  g2.lastIds.push(...more.map((e) => e.id));
  const dup = await g2.next(700);
  check('resumed stream: nothing repeated after them', dup === null, J(dup));
  const c1 = await openGet(g2.lastIds[0]);
  check('a resume of the stream while it is connected: 409', c1.res.status === 409, c1.res.status);
  c1.ac.abort();
  const c2 = await openGet();
  check('a plain second GET while the resumed stream is connected: 409', c2.res.status === 409, c2.res.status);
  c2.ac.abort();
}

// ---- drop again, resume from an earlier id: exactly the events after it
g2.drop();
await sleep(300);
{
  const from = g2.lastIds[2]; // event 9
  const { res, ac } = await openResume(from);
  const g3 = sseReader(res, ac);
  const replay = await readLogs(g3, 6, 4000);
  check('resume from an earlier id (event 9): exactly 10..15 again, in order', J(replay.filter((e) => logN(e) !== null).map(logN)) === J([10, 11, 12, 13, 14, 15]),
    J(replay.map((e) => [e.id, logN(e)])));
  const extra = await g3.next(500);
  check('resume from an earlier id: nothing more', extra === null, J(extra));
  g3.drop();
}

// ---- drops while events are being produced: a producer subscribes 16..45 while
// the reader takes a few events, drops the connection, resumes after the last one
// it saw, again and again; events in flight when it dropped must come again
{
  let lastId = g2.lastIds[g2.lastIds.length - 1];
  const seqAll = [];
  let producing = true;
  const producer = (async () => {
    for (let n = 16; n <= 45; n++) {
      await produce(n, n);
      await sleep(15);
    }
    producing = false;
  })();
  let reconnects = 0;
  const end = Date.now() + 20000;
  while (seqAll.length < 30 && Date.now() < end) {
    const { res, ac } = await openResume(lastId);
    if (res.status !== 200) {
      fail('drops while producing: every resume is accepted', `status ${res.status} after ${lastId}`);
      ac.abort();
      break;
    }
    reconnects++;
    const st = sseReader(res, ac);
    const take = 2 + (reconnects % 4);
    for (let k = 0; k < take; k++) {
      const ev = await st.next(producing ? 3000 : 800);
      if (!ev) break;
      if (ev.dataText === '') continue;
      seqAll.push(logN(ev));
      lastId = ev.id;
    }
    st.drop();
    await sleep(10 + (reconnects % 3) * 20);
  }
  await producer;
  check(`drops while producing: 16..45 arrive exactly once, in order, over ${reconnects} connections`,
    J(seqAll) === J(Array.from({ length: 30 }, (_, i) => 16 + i)), J(seqAll));
  g2.lastIds.push(lastId);
}

// ---- a POST stream (progress) dropped mid-way, resumed with GET + its last event id
{
  const id = nextId++;
  const ac = new AbortController();
  const res = await fetch(url, {
    method: 'POST',
    headers: { ...base(), 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
    body: J({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name: 'trigger-long-running-operation', arguments: { duration: 2.4, steps: 6 }, _meta: { progressToken: 'resume-tok' } },
    }),
    signal: ac.signal,
  });
  check('POST with progress: an SSE stream', res.status === 200 && (res.headers.get('content-type') ?? '').startsWith('text/event-stream'), res.status);
  const ps = sseReader(res, ac);
  const prime = await ps.next(3000);
  check('POST stream: starts with a priming event (id, empty data)', prime && parseId(prime.id) && prime.dataText === '', J(prime));
  check('POST stream: its own stream number, not the GET stream\'s', parseId(prime?.id)?.stream !== streamNo, `${prime?.id} vs GET stream ${streamNo}`);
  const first = [await ps.next(3000), await ps.next(3000)];
  check('POST stream: progress 1 and 2 with the client\'s token',
    J(first.map((e) => [e?.data?.params?.progress, e?.data?.params?.progressToken])) === J([[1, 'resume-tok'], [2, 'resume-tok']]), J(first));
  const lastId = first[1]?.id;
  ps.drop();
  await sleep(600); // progress 3 (and maybe 4) happens while nobody listens
  const g = await openResume(lastId);
  check('POST stream resume: GET with its Last-Event-ID: 200', g.res.status === 200, g.res.status);
  const rs = sseReader(g.res, g.ac);
  const rest = [];
  for (;;) {
    const ev = await rs.next(4000);
    if (!ev) break;
    rest.push(ev);
  }
  const withData = rest.filter((e) => e.dataText !== '');
  const prog = withData.filter((e) => e.data?.method === 'notifications/progress').map((e) => e.data.params.progress);
  check('POST stream resume: the remaining progress 3..6 arrives, in order, exactly once', J(prog) === J([3, 4, 5, 6]), J(withData.map((e) => [e.id, e.data])));
  const answer = withData.filter((e) => e.data?.id === id);
  check('POST stream resume: then the final result, once, with the POST\'s id',
    answer.length === 1 && /Long running operation completed/.test(answer[0].data.result?.content?.[0]?.text ?? '') &&
      withData[withData.length - 1] === answer[0], J(withData.map((e) => e.data)));
  check('POST stream resume: the ids continue that POST stream',
    withData.every((e, i) => parseId(e.id)?.stream === parseId(lastId).stream && parseId(e.id).seq === parseId(lastId).seq + 1 + i), J(withData.map((e) => e.id)));
  check('POST stream resume: the stream ends after the answer', rs.ended, 'still open 4 s later');
  check('POST stream resume: none of the log events of the GET stream mixed in', !withData.some((e) => logN(e) !== null), J(withData));
  rs.drop();
}

// ---- the GET stream's events are still all there for a resume after the POST stream
{
  const g = await openResume(g1.primeId);
  const st = sseReader(g.res, g.ac);
  const all = await readLogs(st, 45, 4000);
  check('resume from the priming id: the whole GET stream 1..45 once, in order', J(all.filter((e) => logN(e) !== null).map(logN)) === J(Array.from({ length: 45 }, (_, i) => i + 1)),
    J(all.map((e) => [e.id, logN(e)])));
  st.drop();
}

console.log(`INFO resumes retried after a 409 (old connection not yet gone): ${resumeRetries}`);

// ---- clean up: the session goes
{
  const res = await fetch(url, { method: 'DELETE', headers: base() });
  check('DELETE the session: 200', res.status === 200, res.status);
  const g = await openGet('1-1');
  check('resume on a deleted session: 404', g.res.status === 404, g.res.status);
  g.ac.abort();
}
process.exit(failed ? 1 : 0);
