// The official TypeScript SDK client against the proxy:
//   node tests/e2e/sdk-basic.mjs URL KEY [ECHO_TOOL] [SUM_TOOL] [PROGRESS_TOOL|-]
// Prints "PASS <check>" / "FAIL <check>: <detail>" lines; exits 1 on any failure.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [url, key, echoTool = 'echo', sumTool = 'get-sum', progressTool = 'trigger-long-running-operation'] =
  process.argv.slice(2);
if (!url || !key) {
  console.error('usage: sdk-basic.mjs URL KEY [ECHO_TOOL] [SUM_TOOL]');
  process.exit(2);
}

let failed = 0;
const pass = (name) => console.log(`PASS ${name}`);
const fail = (name, detail) => {
  failed++;
  console.log(`FAIL ${name}: ${detail}`);
};
const check = (name, cond, detail) => (cond ? pass(name) : fail(name, detail));
const text = (result) => (result?.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('');
const timeout = (ms, what) =>
  new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms).unref());
const within = (p, what, ms = 20000) => Promise.race([p, timeout(ms, what)]);

async function withKey() {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${key}` } },
  });
  const client = new Client({ name: 'e2e-sdk', version: '1.0.0' });
  try {
    await within(client.connect(transport), 'connect');
    pass('sdk: connect (initialize) with the key');
  } catch (e) {
    fail('sdk: connect (initialize) with the key', e?.stack ?? e);
    return;
  }
  check('sdk: session id issued', typeof transport.sessionId === 'string' && transport.sessionId.length > 0,
    `sessionId=${transport.sessionId}`);
  const info = client.getServerVersion();
  check('sdk: serverInfo.name is mcp-proxy', info?.name === 'mcp-proxy', JSON.stringify(info));

  try {
    const names = [];
    let cursor;
    for (let i = 0; i < 50; i++) {
      const page = await within(client.listTools(cursor ? { cursor } : undefined), 'listTools');
      names.push(...page.tools.map((t) => t.name));
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    check(`sdk: listTools has ${echoTool} and ${sumTool}`, names.includes(echoTool) && names.includes(sumTool),
      JSON.stringify(names));
  } catch (e) {
    fail('sdk: listTools', e?.stack ?? e);
  }

  try {
    const r = await within(client.callTool({ name: echoTool, arguments: { message: 'hello from the sdk' } }), 'echo');
    check(`sdk: callTool ${echoTool}`, text(r) === 'Echo: hello from the sdk' && !r.isError, JSON.stringify(r));
  } catch (e) {
    fail(`sdk: callTool ${echoTool}`, e?.stack ?? e);
  }

  try {
    const r = await within(client.callTool({ name: sumTool, arguments: { a: 19, b: 23 } }), 'get-sum');
    check(`sdk: callTool ${sumTool} 19+23`, /\b42\b/.test(text(r)) && !r.isError, JSON.stringify(r));
  } catch (e) {
    fail(`sdk: callTool ${sumTool}`, e?.stack ?? e);
  }

  if (progressTool !== '-') {
    try {
      const seen = [];
      const r = await within(
        client.callTool({ name: progressTool, arguments: { duration: 1, steps: 4 } }, undefined, {
          onprogress: (p) => seen.push(p.progress),
        }),
        'progress tool',
      );
      check(`sdk: callTool ${progressTool} reports progress 1..4`, JSON.stringify(seen) === '[1,2,3,4]',
        `progress ${JSON.stringify(seen)}`);
      check(`sdk: callTool ${progressTool} then completes`, /completed/.test(text(r)), JSON.stringify(r));
    } catch (e) {
      fail(`sdk: callTool ${progressTool}`, e?.stack ?? e);
    }
  }

  const sid = transport.sessionId;
  try {
    await within(transport.terminateSession(), 'terminateSession');
    check('sdk: terminateSession clears the session', transport.sessionId === undefined, `sessionId=${transport.sessionId}`);
  } catch (e) {
    fail('sdk: terminateSession', e?.stack ?? e);
  }
  await client.close().catch(() => {});

  // The terminated id is gone for good: 404.
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${key}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        'Mcp-Session-Id': sid ?? 'none',
        'MCP-Protocol-Version': '2025-11-25',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'tools/list' }),
    });
    check('sdk: terminated session id then gives 404', res.status === 404, `status ${res.status}`);
    await res.body?.cancel();
  } catch (e) {
    fail('sdk: terminated session id then gives 404', e?.stack ?? e);
  }
}

async function withoutKey() {
  const transport = new StreamableHTTPClientTransport(new URL(url));
  const client = new Client({ name: 'e2e-sdk-nokey', version: '1.0.0' });
  try {
    await within(client.connect(transport), 'connect without key');
    fail('sdk: connect without a key is refused with 401', 'connect succeeded');
  } catch (e) {
    const is401 = e?.code === 401 || /\b401\b/.test(String(e?.message));
    check('sdk: connect without a key is refused with 401', is401, `code=${e?.code} message=${e?.message}`);
  }
  await client.close().catch(() => {});
}

await withKey();
await withoutKey();
process.exit(failed ? 1 : 0);
