// A small Streamable HTTP MCP server of our own for e2e-remote.sh, written on
// node:http alone so every byte is under the test's control:
//   node tests/e2e/remote-server.mjs LOGFILE PORT [BLACKHOLE_PORT [TLS_PORT CERT KEY]]
// Both listen on 127.0.0.1 only. Every request is appended to LOGFILE as one
// JSON line {port, method, url, headers, rpc, status} when it is answered (or,
// for streams and hangs, when it starts: status 0).
//
// PORT: MCP at /mcp. Sessions (Mcp-Session-Id), 404 for an unknown one, JSON
// answers, SSE answers for "progress", a GET stream with event ids and
// Last-Event-ID replay, DELETE. Tools:
//   echo {message}        JSON answer "Echo: <message>"
//   progress {steps, bytes, gap}  SSE answer: priming event, notifications/progress per step
//                         (message: bytes of "y"; gap ms apart, default 50; waits while the
//                         socket is full), result
//   hang                  never answers
//   forget {cut}          answers, then forgets the session (the next request gets 404);
//                         with cut, ends the GET stream too
//   drop-stream           sends one event with an id on the GET stream, then cuts it, then
//                         (while it is down) adds the tool "late" and queues a list_changed
//                         event: only a reconnect with Last-Event-ID replays it
//   add-tool              adds the tool "extra" and says so on the GET stream (list_changed)
//   headers               the request's headers as JSON text
//   big {bytes, sse}      a text of that many "x", as JSON or as one SSE event
//   extra                 (after add-tool) answers "extra"
// BLACKHOLE_PORT: accepts connections, reads requests, never answers.
// TLS_PORT: the same MCP server over https with the certificate CERT (PEM) and its KEY.
import { appendFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { randomUUID } from 'node:crypto';

const [logFile, portArg, holePortArg, tlsPortArg, certFile, keyFile] = process.argv.slice(2);
if (!logFile || !portArg) {
  console.error('usage: remote-server.mjs LOGFILE PORT [BLACKHOLE_PORT [TLS_PORT CERT KEY]]');
  process.exit(2);
}
const VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26'];
const sessions = new Map(); // id -> {stream, events: [{id, msg}], nextEvent}
let extraTool = false;
let lateTool = false;

const log = (port, req, rpc, status) =>
  appendFileSync(
    logFile,
    JSON.stringify({ port, method: req.method, url: req.url, headers: req.headers, rpc, status }) + '\n',
  );

const tools = () =>
  [
    { name: 'echo', inputSchema: { type: 'object', properties: { message: { type: 'string' } } } },
    { name: 'progress', inputSchema: { type: 'object', properties: { steps: { type: 'number' } } } },
    { name: 'hang', inputSchema: { type: 'object' } },
    { name: 'forget', inputSchema: { type: 'object' } },
    { name: 'drop-stream', inputSchema: { type: 'object' } },
    { name: 'add-tool', inputSchema: { type: 'object' } },
    { name: 'headers', inputSchema: { type: 'object' } },
    { name: 'big', inputSchema: { type: 'object', properties: { bytes: { type: 'number' }, sse: { type: 'boolean' } } } },
  ]
    .concat(extraTool ? [{ name: 'extra', inputSchema: { type: 'object' } }] : [])
    .concat(lateTool ? [{ name: 'late', inputSchema: { type: 'object' } }] : []);

const text = (t) => ({ content: [{ type: 'text', text: t }] });

function json(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

// An event on the session's GET stream (kept for Last-Event-ID replay).
function streamEvent(s, msg) {
  const id = `ev-${++s.nextEvent}`;
  s.events.push({ id, msg });
  if (s.stream) s.stream.write(`id: ${id}\nevent: message\ndata: ${JSON.stringify(msg)}\n\n`);
  return id;
}

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

async function onMcp(req, res, port) {
  const sid = req.headers['mcp-session-id'];
  if (req.method === 'GET') {
    const s = sid && sessions.get(sid);
    if (!s) {
      log(port, req, null, 404);
      return json(res, 404, { jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
    }
    if (!/text\/event-stream/.test(req.headers.accept ?? '')) {
      log(port, req, null, 406);
      return json(res, 406, { jsonrpc: '2.0', error: { code: -32000, message: 'Not Acceptable' }, id: null });
    }
    log(port, req, null, 200);
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    res.write(': stream open\n\n');
    s.stream = res;
    const last = req.headers['last-event-id'];
    if (last) {
      const i = s.events.findIndex((e) => e.id === last);
      for (const e of s.events.slice(i + 1)) res.write(`id: ${e.id}\nevent: message\ndata: ${JSON.stringify(e.msg)}\n\n`);
    }
    res.on('close', () => {
      if (s.stream === res) s.stream = null;
    });
    return;
  }
  if (req.method === 'DELETE') {
    const ok = sid && sessions.delete(sid);
    log(port, req, null, ok ? 200 : 404);
    return json(res, ok ? 200 : 404, ok ? {} : { jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
  }
  if (req.method !== 'POST') {
    log(port, req, null, 405);
    return json(res, 405, { jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed' }, id: null });
  }
  const raw = await readBody(req);
  let msg;
  try {
    msg = JSON.parse(raw);
  } catch {
    log(port, req, raw, 400);
    return json(res, 400, { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null });
  }
  if (msg.method === 'initialize') {
    const id = randomUUID();
    sessions.set(id, { stream: null, events: [], nextEvent: 0 });
    const asked = msg.params?.protocolVersion;
    log(port, req, msg, 200);
    return json(
      res,
      200,
      {
        jsonrpc: '2.0',
        id: msg.id,
        result: {
          protocolVersion: VERSIONS.includes(asked) ? asked : VERSIONS[0],
          capabilities: { tools: { listChanged: true } },
          serverInfo: { name: 'e2e-remote', version: '1.0.0' },
        },
      },
      { 'Mcp-Session-Id': id },
    );
  }
  const s = sid && sessions.get(sid);
  if (!s) {
    log(port, req, msg, 404);
    return json(res, 404, { jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
  }
  if (msg.id === undefined || msg.method === undefined) {
    log(port, req, msg, 202);
    res.writeHead(202).end();
    return;
  }
  const answer = (result) => {
    log(port, req, msg, 200);
    json(res, 200, { jsonrpc: '2.0', id: msg.id, result });
  };
  if (msg.method === 'ping') return answer({});
  if (msg.method === 'tools/list') return answer({ tools: tools() });
  if (msg.method !== 'tools/call') {
    log(port, req, msg, 200);
    return json(res, 200, { jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'Method not found' } });
  }
  const args = msg.params?.arguments ?? {};
  switch (msg.params?.name) {
    case 'echo':
      return answer(text(`Echo: ${args.message}`));
    case 'headers':
      return answer(text(JSON.stringify(req.headers)));
    case 'extra':
      return answer(text('extra'));
    case 'late':
      return answer(text('late'));
    case 'forget':
      sessions.delete(sid);
      if (args.cut) s.stream?.end();
      return answer(text('forgotten'));
    case 'drop-stream': {
      const id = streamEvent(s, { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'before the drop' } });
      const st = s.stream;
      setTimeout(() => {
        st?.socket?.destroy();
        setTimeout(() => {
          lateTool = true;
          streamEvent(s, { jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
        }, 20);
      }, 50);
      return answer(text(`dropped after ${id}`));
    }
    case 'add-tool':
      extraTool = true;
      streamEvent(s, { jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
      return answer(text('added'));
    case 'big': {
      const body = JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: text('x'.repeat(Number(args.bytes ?? 0))) });
      log(port, req, msg, 200);
      if (!args.sse) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        return res.end(body);
      }
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      return res.end(`event: message\ndata: ${body}\n\n`);
    }
    case 'hang':
      log(port, req, msg, 0);
      return; // never answered
    case 'progress': {
      const steps = Number(args.steps ?? 3);
      const gap = Number(args.gap ?? 50);
      const pad = 'y'.repeat(Math.min(Number(args.bytes ?? 0), 1 << 20));
      const token = msg.params?._meta?.progressToken;
      log(port, req, msg, 200);
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      res.write(`id: p-${msg.id}-0\ndata:\n\n`); // priming event
      let i = 0;
      const tick = () => {
        if (++i <= steps) {
          let more = true;
          if (token !== undefined)
            more = res.write(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: token, progress: i, total: steps, ...(pad ? { message: pad } : {}) } })}\n\n`);
          // Waits for a reader that holds back (the socket full) rather than buffering.
          if (!more) res.once('drain', tick);
          else setTimeout(tick, gap);
        } else {
          res.end(`event: message\nid: p-${msg.id}-end\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: msg.id, result: text(`progress done after ${steps} steps`) })}\n\n`);
        }
      };
      tick();
      return;
    }
    default:
      return answer({ ...text(`Unknown tool: ${msg.params?.name}`), isError: true });
  }
}

const handler = (port) => (req, res) => {
  if (!req.url.startsWith('/mcp')) {
    log(port, req, null, 404);
    return json(res, 404, { error: 'not found' });
  }
  onMcp(req, res, port).catch((e) => {
    console.error(e);
    if (!res.headersSent) json(res, 500, { jsonrpc: '2.0', error: { code: -32603, message: String(e) }, id: null });
  });
};
const server = createServer(handler(Number(portArg)));
server.keepAliveTimeout = 60000;
server.listen(Number(portArg), '127.0.0.1', () => console.error(`remote-server on 127.0.0.1:${portArg}`));

if (tlsPortArg) {
  const tls = createTlsServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, handler(Number(tlsPortArg)));
  tls.on('tlsClientError', (e) => console.error(`tls: ${e.message}`));
  tls.listen(Number(tlsPortArg), '127.0.0.1', () => console.error(`https on 127.0.0.1:${tlsPortArg}`));
}

if (holePortArg) {
  const hole = createServer((req) => {
    log(Number(holePortArg), req, null, 0);
    req.resume(); // read it all, answer nothing
  });
  hole.requestTimeout = 0;
  hole.headersTimeout = 0;
  hole.listen(Number(holePortArg), '127.0.0.1', () => console.error(`blackhole on 127.0.0.1:${holePortArg}`));
}
process.on('SIGTERM', () => process.exit(0));
