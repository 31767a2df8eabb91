// A Streamable HTTP MCP server for e2e-ids.sh that writes ids as raw JSON text, on
// node:http alone (JSON.stringify would turn 9007199254740993 into 9007199254740992):
//   node tests/e2e/ids-server.mjs LOGFILE PORT
// Listens on 127.0.0.1 only; every POST body is appended to LOGFILE as it came, one per
// line. One session (Mcp-Session-Id), no GET stream (405). Tools:
//   ask_id {id}      an SSE answer: elicitation/create under the id given as JSON text, then
//                    the call's result; the client's answer comes in a later POST (logged)
//   stray_ids {ids, json}  answers each id given as JSON text, none of them asked, then the
//                    call's result: as an SSE stream, or with json as one JSON array
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';

const [logFile, portArg] = process.argv.slice(2);
if (!logFile || !portArg) {
  console.error('usage: ids-server.mjs LOGFILE PORT');
  process.exit(2);
}
const SESSION = 'ids-session-1';
const tools = [
  { name: 'ask_id', inputSchema: { type: 'object', properties: { id: { type: 'string' } } } },
  { name: 'stray_ids', inputSchema: { type: 'object', properties: { ids: { type: 'array' } } } },
];

// A message with its id written as the raw JSON text id (the hub's own ids are small
// integers: JSON.stringify keeps them).
const withId = (id, rest) => `{"jsonrpc":"2.0","id":${id},${JSON.stringify(rest).slice(1)}`;
const text = (t) => ({ content: [{ type: 'text', text: t }] });

function send(res, status, type, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': type, ...headers });
  res.end(body);
}

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

async function onMcp(req, res) {
  if (req.method === 'DELETE') return send(res, 200, 'application/json', '{}');
  if (req.method !== 'POST') return send(res, 405, 'application/json', '{}');
  const raw = await readBody(req);
  appendFileSync(logFile, raw.replace(/\n/g, ' ') + '\n');
  let msg;
  try {
    msg = JSON.parse(raw);
  } catch {
    return send(res, 400, 'application/json', '{}');
  }
  const answer = (result) => send(res, 200, 'application/json', withId(msg.id, { result }));
  if (msg.method === 'initialize')
    return send(
      res,
      200,
      'application/json',
      withId(msg.id, {
        result: {
          protocolVersion: msg.params?.protocolVersion ?? '2025-11-25',
          capabilities: { tools: {} },
          serverInfo: { name: 'e2e-ids', version: '1.0.0' },
        },
      }),
      { 'Mcp-Session-Id': SESSION },
    );
  if (req.headers['mcp-session-id'] !== SESSION)
    return send(res, 404, 'application/json', '{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found"}}');
  if (msg.method === undefined || msg.id === undefined) return send(res, 202, 'application/json', '');
  if (msg.method === 'ping') return answer({});
  if (msg.method === 'tools/list') return answer({ tools });
  if (msg.method !== 'tools/call')
    return send(res, 200, 'application/json', withId(msg.id, { error: { code: -32601, message: 'Method not found' } }));
  const args = msg.params?.arguments ?? {};
  const done = (t) => withId(msg.id, { result: text(t) });
  const sse = (msgs) => send(res, 200, 'text/event-stream', msgs.map((m) => `event: message\ndata: ${m}\n\n`).join(''));
  if (msg.params?.name === 'ask_id')
    return sse([
      withId(args.id, {
        method: 'elicitation/create',
        params: { message: 'ids-server asks', requestedSchema: { type: 'object' } },
      }),
      done('asked'),
    ]);
  if (msg.params?.name === 'stray_ids') {
    const strays = (args.ids ?? []).map((id) => withId(id, { result: {} }));
    if (args.json) return send(res, 200, 'application/json', `[${strays.concat(done('strays sent')).join(',')}]`);
    return sse(strays.concat(done('strays sent')));
  }
  return send(res, 200, 'application/json', withId(msg.id, { error: { code: -32602, message: 'Unknown tool' } }));
}

createServer((req, res) => {
  if (new URL(req.url, 'http://x').pathname !== '/mcp') return send(res, 404, 'text/plain', 'not found');
  onMcp(req, res).catch(() => send(res, 500, 'text/plain', 'error'));
}).listen(Number(portArg), '127.0.0.1');
