// A Streamable HTTP MCP server that speaks ONLY 2026-07-28 (stateless, no initialize), for
// e2e-modern-upstream.sh; on node:http alone so every byte is under the test's control:
//   node tests/e2e/modern-server.mjs LOGFILE PORT
// Listens on 127.0.0.1:PORT, MCP at /mcp. Every POST is appended to LOGFILE as one JSON
// line {method, headers, rpc, status} when it is answered (a listen stream: when it opens).
// It checks what a 2026-07-28 server must (basic/index §1.2.3, streamable-http §6): the
// MCP-Protocol-Version header, _meta protocolVersion and clientCapabilities, Mcp-Method
// and Mcp-Name; initialize, ping, logging/setLevel and the GET stream are refused as
// removed (404 -32601, 405). Methods:
//   server/discover, tools/list, tools/call, resources/list, resources/templates/list,
//   resources/read,
//   subscriptions/listen (ack, then tools/list_changed tagged with the subscription id)
// Tools:
//   echo {message}   "Echo: <message>"
//   ask              input_required: an elicitation/create under the key "who" and a
//                    requestState on the first round; with inputResponses.who accepted and
//                    the same requestState, "Hello, <name>"
//   ask-twice        two rounds: "first" with state "twice-1", then "second" with state
//                    "twice-2" (the first answer is not sent again); then "<first> then <second>"
//   add-tool         adds the tool "extra" and sends tools/list_changed on every listen stream
//   extra            (after add-tool) "extra"
//   hang             never answers; when the client closes the request's stream (its
//                    cancellation), {closed: "hang"} is logged
//   drop-listen      ends every listen stream (as a server restart or a proxy would)
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';

const [logFile, portArg] = process.argv.slice(2);
if (!logFile || !portArg) {
  console.error('usage: modern-server.mjs LOGFILE PORT');
  process.exit(2);
}
const V = '2026-07-28';
const SERVER_INFO = { name: 'modern-only', version: '1.0.0' };
const listeners = new Set(); // {res, id}
let extraTool = false;
let rounds = 0;

const tools = () => {
  const t = [
    { name: 'echo', description: 'Echoes', inputSchema: { type: 'object', properties: { message: { type: 'string' } } } },
    { name: 'ask', description: 'Asks the user for a name', inputSchema: { type: 'object' } },
    { name: 'ask-twice', description: 'Asks twice, in two rounds', inputSchema: { type: 'object' } },
    { name: 'add-tool', description: 'Adds the tool "extra"', inputSchema: { type: 'object' } },
    { name: 'hang', description: 'Never answers', inputSchema: { type: 'object' } },
    { name: 'drop-listen', description: 'Ends every listen stream', inputSchema: { type: 'object' } },
  ];
  if (extraTool) t.push({ name: 'extra', description: 'Added', inputSchema: { type: 'object' } });
  return t;
};
const meta = { 'io.modelcontextprotocol/serverInfo': SERVER_INFO };
const complete = (r) => ({ resultType: 'complete', ...r, _meta: meta });
const cached = (r) => complete({ ...r, ttlMs: 1000, cacheScope: 'public' });
const text = (s) => complete({ content: [{ type: 'text', text: s }] });

function log(entry) {
  appendFileSync(logFile, JSON.stringify(entry) + '\n');
}

function send(req, res, rpc, status, body) {
  log({ method: req.method, headers: req.headers, rpc, status });
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

const error = (id, code, message, data) => ({ jsonrpc: '2.0', id, error: { code, message, ...(data ? { data } : {}) } });

function handle(req, res, rpc) {
  const id = rpc?.id ?? null;
  const h = (n) => (req.headers[n] ?? '').trim();
  if (!rpc || typeof rpc !== 'object' || Array.isArray(rpc) || rpc.jsonrpc !== '2.0')
    return send(req, res, rpc, 400, error(null, -32700, 'Parse error'));
  if (!h('mcp-protocol-version')) return send(req, res, rpc, 400, error(id, -32020, 'MCP-Protocol-Version header missing'));
  if (h('mcp-protocol-version') !== V)
    return send(req, res, rpc, 400, error(id, -32022, 'Unsupported protocol version', { supported: [V], requested: h('mcp-protocol-version') }));
  const known = ['server/discover', 'tools/list', 'tools/call', 'resources/list', 'resources/templates/list', 'resources/read', 'subscriptions/listen'];
  if (rpc.id === undefined) return send(req, res, rpc, 202, {}); // notifications: none expected
  if (!known.includes(rpc.method)) return send(req, res, rpc, 404, error(id, -32601, `Method not found: ${rpc.method}`));
  const m = rpc.params?._meta;
  if (!m || m['io.modelcontextprotocol/protocolVersion'] !== V || typeof m['io.modelcontextprotocol/clientCapabilities'] !== 'object')
    return send(req, res, rpc, 400, error(id, -32602, '_meta protocolVersion and clientCapabilities required'));
  if (h('mcp-method') !== rpc.method) return send(req, res, rpc, 400, error(id, -32020, 'Mcp-Method differs from the body'));
  const named = { 'tools/call': rpc.params.name, 'resources/read': rpc.params.uri };
  if (rpc.method in named && h('mcp-name') !== named[rpc.method])
    return send(req, res, rpc, 400, error(id, -32020, 'Mcp-Name differs from the body'));
  if (req.headers['mcp-session-id']) return send(req, res, rpc, 400, error(id, -32602, 'no sessions here'));
  const ok = (result) => send(req, res, rpc, 200, { jsonrpc: '2.0', id, result });
  switch (rpc.method) {
    case 'server/discover':
      return ok(cached({
        supportedVersions: [V],
        capabilities: { tools: { listChanged: true }, resources: { listChanged: true } },
        instructions: 'A server of the 2026-07-28 era only.',
      }));
    case 'tools/list':
      return ok(cached({ tools: tools() }));
    case 'resources/list':
      return ok(cached({ resources: [{ uri: 'modern://greeting', name: 'greeting', mimeType: 'text/plain' }] }));
    case 'resources/templates/list':
      return ok(cached({ resourceTemplates: [] }));
    case 'resources/read':
      if (rpc.params.uri !== 'modern://greeting')
        return send(req, res, rpc, 200, error(rpc.id, -32602, 'Resource not found', { uri: rpc.params.uri }));
      return ok(complete({ contents: [{ uri: 'modern://greeting', mimeType: 'text/plain', text: 'hello from 2026' }], ttlMs: 0, cacheScope: 'public' }));
    case 'tools/call':
      return call(req, res, rpc, ok);
    case 'subscriptions/listen':
      return listen(req, res, rpc);
  }
}

function call(req, res, rpc, ok) {
  const { name, arguments: args = {} } = rpc.params;
  switch (name) {
    case 'echo':
      return ok(text(`Echo: ${args.message ?? ''}`));
    case 'ask': {
      const state = rpc.params.requestState;
      const answer = rpc.params.inputResponses?.who;
      if (state && state.startsWith('ask-round-') && answer?.action === 'accept')
        return ok(text(`Hello, ${answer.content?.name ?? '?'}`));
      if (state && answer)
        return ok(text(`Not told (${answer.action})`));
      return ok({
        resultType: 'input_required',
        inputRequests: {
          who: {
            method: 'elicitation/create',
            params: { mode: 'form', message: 'Who are you?', requestedSchema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } },
          },
        },
        requestState: `ask-round-${++rounds}`,
      });
    }
    case 'ask-twice': {
      const state = rpc.params.requestState;
      const r = rpc.params.inputResponses ?? {};
      const q = (key, msg, st) => ok({
        resultType: 'input_required',
        inputRequests: { [key]: { method: 'elicitation/create', params: { mode: 'form', message: msg, requestedSchema: { type: 'object', properties: { name: { type: 'string' } } } } } },
        requestState: st,
      });
      if (state === 'twice-1' && r.first?.action === 'accept')
        return q('second', 'And again?', `twice-2:${r.first.content?.name}`);
      if (state?.startsWith('twice-2:') && r.second?.action === 'accept' && !r.first)
        return ok(text(`${state.slice(8)} then ${r.second.content?.name}`));
      return q('first', 'Who first?', 'twice-1');
    }
    case 'add-tool':
      extraTool = true;
      for (const l of listeners)
        l.res.write(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/tools/list_changed', params: { _meta: { 'io.modelcontextprotocol/subscriptionId': l.id } } })}\n\n`);
      return ok(text('added'));
    case 'hang':
      log({ method: req.method, headers: req.headers, rpc, status: 0 });
      res.on('close', () => log({ closed: 'hang', id: rpc.id }));
      return;
    case 'drop-listen': {
      const n = listeners.size;
      for (const l of [...listeners]) {
        listeners.delete(l);
        l.res.end();
      }
      return ok(text(`dropped ${n}`));
    }
    case 'extra':
      if (extraTool) return ok(text('extra'));
    // fall through
    default:
      return send(req, res, rpc, 200, error(rpc.id, -32602, `Unknown tool: ${name}`));
  }
}

function listen(req, res, rpc) {
  const want = rpc.params?.notifications ?? {};
  const honoured = {};
  if (want.toolsListChanged) honoured.toolsListChanged = true;
  if (want.resourcesListChanged) honoured.resourcesListChanged = true;
  log({ method: req.method, headers: req.headers, rpc, status: 0 });
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  res.write(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/subscriptions/acknowledged', params: { notifications: honoured, _meta: { 'io.modelcontextprotocol/subscriptionId': rpc.id } } })}\n\n`);
  const l = { res, id: rpc.id };
  listeners.add(l);
  const keep = setInterval(() => res.write(': keep-alive\n\n'), 10000);
  res.on('close', () => { clearInterval(keep); listeners.delete(l); });
}

const server = createServer((req, res) => {
  if (new URL(req.url, 'http://x').pathname !== '/mcp') {
    res.writeHead(404).end();
    return;
  }
  if (req.method !== 'POST') {
    log({ method: req.method, headers: req.headers, status: 405 });
    res.writeHead(405, { Allow: 'POST' }).end();
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let rpc;
    try {
      rpc = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      rpc = undefined;
    }
    handle(req, res, rpc);
  });
});
server.listen(+portArg, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
