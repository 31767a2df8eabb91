// A server's log lines go only to the session they belong to.
//   node tests/e2e/sdk-attribution.mjs URL KEY_ALICE KEY_BOB
// Servers lshared, lclient, lsession: mcp-fixture --log-calls ("isolation" as
// named), which sends notifications/message {data: {tool, arguments}} before
// each call's answer. alice logs at debug with her GET stream open; bob at info.
// Every SSE event of both (POST and GET streams) is recorded raw.
// Prints "PASS <check>" / "FAIL <check>: <detail>"; "INFO ..." lines are notes.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { J, check, exit, fail, sleep, step, within } from './sdk-harness.mjs';

const [url, keyA, keyB] = process.argv.slice(2);
if (!url || !keyA || !keyB) {
  console.error('usage: sdk-attribution.mjs URL KEY_ALICE KEY_BOB');
  process.exit(2);
}
process.on('unhandledRejection', (e) => fail('no unhandled rejection', e?.stack ?? e));
const rnd = Math.random().toString(36).slice(2, 10);

// Records the raw data of every SSE event on a client's POST and GET streams.
function recordingFetch(raw, me) {
  return async (input, init) => {
    const res = await fetch(input, init);
    if (!res.body || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) return res;
    if ((init?.method ?? 'GET') === 'GET') me.getStream = true;
    const [mine, theirs] = res.body.tee();
    (async () => {
      const reader = mine.getReader();
      const dec = new TextDecoder();
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          raw.push(dec.decode(value, { stream: true }));
        }
      } catch {
        /* aborted */
      }
    })();
    return new Response(theirs, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

function makeClient(name, key) {
  const me = { name, raw: [], logs: [], getStream: false };
  me.transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${key}` } },
    fetch: recordingFetch(me.raw, me),
  });
  me.client = new Client({ name: `e2e-attr-${name}`, version: '1.0.0' }, { capabilities: {} });
  me.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => me.logs.push(n.params));
  me.echo = (srv, message) => within(me.client.callTool({ name: `${srv}_echo`, arguments: { message } }), `${name} ${srv}_echo`);
  me.wire = () => me.raw.join('');
  me.logged = (marker) => me.logs.some((l) => l?.data?.arguments?.message === marker);
  return me;
}

const A = makeClient('alice', keyA);
const B = makeClient('bob', keyB);

await step('connect', async () => {
  await within(Promise.all([A.client.connect(A.transport), B.client.connect(B.transport)]), 'connect');
  await within(A.client.setLoggingLevel('debug'), 'alice setLevel');
  await within(B.client.setLoggingLevel('info'), 'bob setLevel');
  await sleep(300); // the GET streams the SDK opens after initialize
  check("alice's GET stream is open (the SDK opened it)", A.getStream, 'no GET event stream');
});

const waitLogged = async (me, markers, ms = 3000) => {
  const end = Date.now() + ms;
  while (Date.now() < end && !markers.every((m) => me.logged(m))) await sleep(50);
  return markers.filter((m) => !me.logged(m));
};

for (const mode of ['shared', 'client', 'session']) {
  const srv = `l${mode}`;
  await step(`${mode} one at a time`, async () => {
    const mine = `alice-${srv}-own-${rnd}`;
    await A.echo(srv, mine);
    const missingA = await waitLogged(A, [mine]);
    check(`${mode}: alice (debug) receives the log line of her own call`, missingA.length === 0, J(A.logs));
    const bobs = [1, 2, 3].map((i) => `bob-${srv}-seq${i}-${rnd}`);
    for (const m of bobs) {
      const r = await B.echo(srv, m);
      check(`${mode}: bob's call ${m.split('-')[2]} answers`, r?.content?.[0]?.text === `Echo: ${m}`, J(r));
    }
    const missingB = await waitLogged(B, bobs);
    check(`${mode}: bob receives the log line of each of his calls`, missingB.length === 0, `missing ${J(missingB)}; bob got ${J(B.logs.slice(-6))}`);
    await sleep(300);
    check(`${mode}: alice never receives bob's marker (calls one at a time; on no stream of hers)`, !bobs.some((m) => A.wire().includes(m)),
      J(A.logs.filter((l) => J(l).includes(`bob-${srv}`))));
    check(`${mode}: bob never receives alice's marker`, !B.wire().includes(mine), J(B.logs.filter((l) => J(l).includes(`alice-${srv}`))));
  });

  await step(`${mode} at once`, async () => {
    // alice's call in flight on the server while bob's calls run: on a shared upstream
    // session bob's lines cannot be attributed to a client.
    const slow = within(A.client.callTool({ name: `${srv}_sleep`, arguments: { ms: 1500 } }), `alice ${srv}_sleep`);
    await sleep(200);
    const bobs = [1, 2, 3, 4, 5].map((i) => `bob-${srv}-conc${i}-${rnd}`);
    const rs = await Promise.all(bobs.map((m) => B.echo(srv, m)));
    check(`${mode}: bob's 5 concurrent calls answer, each its own`, rs.every((r, i) => r?.content?.[0]?.text === `Echo: ${bobs[i]}`), J(rs));
    await slow;
    if (mode === 'shared') {
      await sleep(500);
      check(`${mode}: bob's lines written while alice's call was in flight reach no client (neither bob)`,
        !bobs.some((m) => B.wire().includes(m)), J(B.logs.filter((l) => J(l).includes(`${srv}-conc`))));
    } else {
      const missing = await waitLogged(B, bobs);
      check(`${mode}: bob receives every log line of his concurrent calls (his own instance)`, missing.length === 0, `missing ${J(missing)}`);
    }
    check(`${mode}: alice never receives bob's marker (calls at once)`, !bobs.some((m) => A.wire().includes(m)),
      J(A.logs.filter((l) => J(l).includes(`bob-${srv}`))));
  });
}
console.log(`INFO alice received ${A.logs.length} log lines, bob ${B.logs.length}`);

for (const me of [A, B]) {
  await me.transport.terminateSession().catch(() => {});
  await me.client.close().catch(() => {});
}
exit();
