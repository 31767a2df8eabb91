#!/usr/bin/env node
// Upstream MCP server (stdio) for tests/e2e/e2e-conformance.sh: it provides the
// tools, resources and prompts that the official conformance suite
// (@modelcontextprotocol/conformance) calls by name, so that the suite can run
// against mcp-proxy with this server as its one upstream (names unprefixed).
//
// Written for this project from the scenario expectations in the suite's
// sources (dist/index.js of the stable and alpha packages); it is not the
// suite's reference "everything-server".
//
//   node tests/conformance/fixture-server.mjs      (speaks MCP on stdin/stdout)
//
// Logs to stderr only (the hub tags and logs the lines). Exits when stdin ends.
//
// 2026-07-28 fixtures. The alpha suite's 2026-07-28 scenarios (server-stateless,
// input-required-result-*, caching, sep-2164-resource-not-found) call tools
// and prompts that its reference server answers natively in 2026 terms: an
// InputRequiredResult asking for elicitation, sampling or roots; listen
// streams fed by list changes. This server is 2025-era, so it provides their
// 2025-era equivalents, for a proxy that bridges 2026 clients onto it: where
// the reference answers input_required, the tool here sends the real
// server->client request (elicitation/create, sampling/createMessage,
// roots/list) and builds its result from the answer.
//
// The inputKey hint: every such request carries, in params._meta,
//   "io.modelcontextprotocol/inputKey": "<key>"
// the key its 2026 client should see it under in the InputRequiredResult's
// inputRequests (and answer under in inputResponses): the key the scenario
// checks or answers when it names one, else a fixed descriptive one. A
// bridging proxy takes the key from there (and strips the hint before the
// request reaches the client); without it the proxy must invent keys.
//
//   tool / prompt                             upstream requests (inputKey), result
//   test_input_required_result_elicitation    elicitation/create "What is your name?" {name} (user_name);
//                                             "Hello, <name>!"
//   test_input_required_result_sampling       sampling/createMessage "What is the capital of France?",
//                                             maxTokens 100 (capital_question); "Sampling result: <text>"
//   test_input_required_result_list_roots     roots/list (client_roots); "Found <n> root(s): <uris>"
//   test_input_required_result_request_state  elicitation/create "Please confirm" {ok: boolean} (confirm);
//                                             "state-ok: confirmed=<ok>"
//   test_input_required_result_multiple_inputs  at once (Promise.all): elicitation/create {name}
//                                             (user_name), sampling/createMessage "Generate a greeting",
//                                             maxTokens 50 (greeting), roots/list (client_roots);
//                                             "Name: <name>; Greeting: <text>; Roots: <n> root(s)..."
//   test_input_required_result_multi_round    one after the other: elicitation/create "Step 1: What is
//                                             your name?" {name} (step1), then "Step 2: What is your
//                                             favorite color?" {color} (step2);
//                                             "Multi-round complete for <name> who likes <color>"
//   test_input_required_result_tampered_state elicitation/create "Please confirm" {ok} (confirm);
//                                             "integrity-ok: ..." (the requestState is the proxy's)
//   test_input_required_result_capabilities   at once (allSettled): sampling/createMessage "Sample
//                                             request" (sample_input) and elicitation/create {value}
//                                             (elicit_input); either may be refused (an error answer),
//                                             "capabilities-ok: sampling=...; elicitation=..."
//   test_missing_capability                   sampling/createMessage (required_sampling); "Success: <text>"
//                                             (a client without sampling must get -32021 from the proxy)
//   test_streaming_elicitation                elicitation/create {ok} (streaming_confirm);
//                                             "Streaming complete: action=<action>, ok=<ok>"
//   test_logging_tool                         notifications/message at debug, info and warning (always,
//                                             whatever logging/setLevel said); "Logging evaluated: ..."
//   test_trigger_tool_change                  changes test_dynamic_tool's description, so the SDK sends
//                                             notifications/tools/list_changed (before the result)
//   test_trigger_prompt_change                the same for test_dynamic_prompt and
//                                             notifications/prompts/list_changed
//   test_dynamic_tool, test_dynamic_prompt    what the triggers change
//   test_header_param                         {region} listed with "x-mcp-header": "Region" (SEP-2243,
//                                             http-custom-header-server-validation); echoes it
//   prompt test_input_required_result_prompt  elicitation/create "What context should the prompt use?"
//                                             {context} (user_context); "Prompt with context: <context>"
//   resources/read of an unknown uri          -32602 with data {uri} (sep-2164-resource-not-found)
// A declined or cancelled elicitation shows as "(decline)"/"(cancel)" in the
// text; a request answered with an error fails the tool (an isError result,
// or an error for the prompt), except in test_input_required_result_capabilities.

import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { completable } from '@modelcontextprotocol/sdk/server/completable.js';
import { ErrorCode, SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { deflateSync } from 'node:zlib';

const log = (...a) => process.stderr.write(`fixture-server: ${a.join(' ')}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- binary fixtures, built here rather than pasted as opaque base64 ----

function crc32(buf) {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

// A 1x1 red pixel PNG.
function redPixelPng() {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(1, 0); // width
  ihdr.writeUInt32BE(1, 4); // height
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  const raw = Buffer.from([0, 255, 0, 0]); // filter byte, then R G B
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0))
  ]);
}

// A short mono 8 kHz 16-bit PCM WAV (10 ms of a 440 Hz tone).
function shortWav() {
  const rate = 8000;
  const n = 80;
  const data = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) {
    data.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), i * 2);
  }
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16); // fmt chunk size
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // channels
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28); // byte rate
  h.writeUInt16LE(2, 32); // block align
  h.writeUInt16LE(16, 34); // bits per sample
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

const PNG_B64 = redPixelPng().toString('base64');
const WAV_B64 = shortWav().toString('base64');

// ---- server ----

const mcp = new McpServer(
  { name: 'mcp-proxy-conformance-fixture', version: '1.0.0' },
  {
    capabilities: {
      logging: {},
      completions: {},
      resources: { subscribe: true, listChanged: true },
      prompts: { listChanged: true },
      tools: { listChanged: true }
    },
    instructions: 'Fixture upstream for the MCP conformance suite behind mcp-proxy.'
  }
);
const server = mcp.server;

// A tool registered without inputSchema gets (extra); with one, (args, extra).
const text = (t) => ({ content: [{ type: 'text', text: t }] });

mcp.registerTool(
  'test_simple_text',
  { description: 'Returns one fixed text content item' },
  async () => text('This is a simple text response for testing.')
);

mcp.registerTool(
  'test_image_content',
  { description: 'Returns a 1x1 red PNG image content item' },
  async () => ({ content: [{ type: 'image', data: PNG_B64, mimeType: 'image/png' }] })
);

mcp.registerTool(
  'test_audio_content',
  { description: 'Returns a short WAV audio content item' },
  async () => ({ content: [{ type: 'audio', data: WAV_B64, mimeType: 'audio/wav' }] })
);

mcp.registerTool(
  'test_embedded_resource',
  { description: 'Returns an embedded text resource' },
  async () => ({
    content: [
      {
        type: 'resource',
        resource: {
          uri: 'test://embedded-resource',
          mimeType: 'text/plain',
          text: 'This is an embedded resource content.'
        }
      }
    ]
  })
);

mcp.registerTool(
  'test_multiple_content_types',
  { description: 'Returns text, image and embedded resource content together' },
  async () => ({
    content: [
      { type: 'text', text: 'Multiple content types test:' },
      { type: 'image', data: PNG_B64, mimeType: 'image/png' },
      {
        type: 'resource',
        resource: {
          uri: 'test://mixed-content-resource',
          mimeType: 'application/json',
          text: JSON.stringify({ test: 'data', value: 123 })
        }
      }
    ]
  })
);

mcp.registerTool(
  'test_tool_with_logging',
  { description: 'Sends three info log notifications, 50 ms apart, while it runs' },
  async () => {
    const steps = ['Tool execution started', 'Tool processing data', 'Tool execution completed'];
    for (let i = 0; i < steps.length; i++) {
      if (i) await sleep(50);
      await server.sendLoggingMessage({ level: 'info', logger: 'conformance-fixture', data: steps[i] });
    }
    return text('Tool with logging executed: 3 log messages sent');
  }
);

mcp.registerTool(
  'test_error_handling',
  { description: 'Always fails with an isError result' },
  async () => ({
    isError: true,
    content: [{ type: 'text', text: 'This tool intentionally returns an error for testing' }]
  })
);

mcp.registerTool(
  'test_tool_with_progress',
  { description: 'Reports progress 0, 50 and 100 of 100 when asked for progress' },
  async (extra) => {
    const token = extra._meta?.progressToken;
    for (const progress of [0, 50, 100]) {
      if (progress) await sleep(50);
      if (token !== undefined) {
        await extra.sendNotification({
          method: 'notifications/progress',
          params: { progressToken: token, progress, total: 100, message: `step ${progress}/100` }
        });
      }
    }
    return text(`Progress tool done (progress token ${token === undefined ? 'absent' : JSON.stringify(token)})`);
  }
);

mcp.registerTool(
  'test_sampling',
  {
    description: 'Asks the client for an LLM completion (sampling/createMessage) of the prompt',
    inputSchema: { prompt: z.string().describe('The prompt to send to the LLM') }
  },
  async ({ prompt }, extra) => {
    const res = await server.createMessage(
      { messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 100 },
      { relatedRequestId: extra.requestId }
    );
    const reply = res.content?.type === 'text' ? res.content.text : JSON.stringify(res.content);
    return text(`LLM response: ${reply}`);
  }
);

async function elicit(extra, params) {
  const res = await server.elicitInput(params, { relatedRequestId: extra.requestId });
  return text(`Elicitation completed: action=${res.action}, content=${JSON.stringify(res.content ?? {})}`);
}

mcp.registerTool(
  'test_elicitation',
  {
    description: 'Asks the user (elicitation/create) for a username and an email',
    inputSchema: { message: z.string().describe('The message to show the user') }
  },
  async ({ message }, extra) => {
    const res = await server.elicitInput(
      {
        message,
        requestedSchema: {
          type: 'object',
          properties: {
            username: { type: 'string', description: "User's response" },
            email: { type: 'string', description: "User's email address" }
          },
          required: ['username', 'email']
        }
      },
      { relatedRequestId: extra.requestId }
    );
    return text(`User response: action=${res.action}, content=${JSON.stringify(res.content ?? {})}`);
  }
);

mcp.registerTool(
  'test_elicitation_sep1034_defaults',
  { description: 'Elicitation whose schema has a default for every primitive type (SEP-1034)' },
  async (extra) =>
    elicit(extra, {
      message: 'Please review your profile (defaults are pre-filled)',
      requestedSchema: {
        type: 'object',
        properties: {
          name: { type: 'string', description: 'Full name', default: 'John Doe' },
          age: { type: 'integer', description: 'Age in years', default: 30 },
          score: { type: 'number', description: 'Score', default: 95.5 },
          status: {
            type: 'string',
            description: 'Account status',
            enum: ['active', 'inactive', 'pending'],
            default: 'active'
          },
          verified: { type: 'boolean', description: 'Verified account', default: true }
        }
      }
    })
);

mcp.registerTool(
  'test_elicitation_sep1330_enums',
  { description: 'Elicitation with the five enum schema variants of SEP-1330' },
  async (extra) =>
    elicit(extra, {
      message: 'Please pick some options',
      requestedSchema: {
        type: 'object',
        properties: {
          untitledSingle: {
            type: 'string',
            description: 'Untitled single-select',
            enum: ['option1', 'option2', 'option3']
          },
          titledSingle: {
            type: 'string',
            description: 'Titled single-select',
            oneOf: [
              { const: 'value1', title: 'First Option' },
              { const: 'value2', title: 'Second Option' },
              { const: 'value3', title: 'Third Option' }
            ]
          },
          legacyEnum: {
            type: 'string',
            description: 'Legacy titled enum (enumNames, deprecated)',
            enum: ['opt1', 'opt2', 'opt3'],
            enumNames: ['Option One', 'Option Two', 'Option Three']
          },
          untitledMulti: {
            type: 'array',
            description: 'Untitled multi-select',
            items: { type: 'string', enum: ['option1', 'option2', 'option3'] }
          },
          titledMulti: {
            type: 'array',
            description: 'Titled multi-select',
            items: {
              anyOf: [
                { const: 'value1', title: 'First Choice' },
                { const: 'value2', title: 'Second Choice' },
                { const: 'value3', title: 'Third Choice' }
              ]
            }
          }
        }
      }
    })
);

// SEP-1613: the listed inputSchema must carry these 2020-12 keywords verbatim.
// The SDK renders registered (zod) schemas itself, as draft-07, so the listing
// is rewritten on its way out (see the transport wrapper below); the zod schema
// here validates calls with the same shape.
const JSON_SCHEMA_2020_12_TOOL = 'json_schema_2020_12_tool';
const RAW_INPUT_SCHEMAS = {
  [JSON_SCHEMA_2020_12_TOOL]: {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    $defs: {
      address: {
        $anchor: 'address',
        type: 'object',
        properties: { street: { type: 'string' }, city: { type: 'string' } }
      }
    },
    properties: {
      name: { type: 'string' },
      address: { $ref: '#/$defs/address' }
    },
    additionalProperties: false,
    // SEP-2106 keywords (checked by the alpha suite from 2026-07-28 on; they
    // must cross the proxy untouched all the same). All of them accept {}.
    allOf: [{ anyOf: [{ required: ['name'] }, { not: { required: ['name'] } }] }],
    if: { required: ['name'] },
    then: { properties: { name: { minLength: 1 } } },
    else: { properties: { address: { required: ['city'] } } }
  }
};
mcp.registerTool(
  JSON_SCHEMA_2020_12_TOOL,
  {
    description: 'Tool with JSON Schema 2020-12 features',
    inputSchema: z
      .object({
        name: z.string().optional(),
        address: z.object({ street: z.string().optional(), city: z.string().optional() }).optional()
      })
      .strict()
  },
  async (args) => text(`Received: ${JSON.stringify(args)}`)
);

// SEP-1699 (server-sse-polling) expects this tool to close the SSE stream
// mid-call. Over stdio an upstream has no stream to close (the proxy owns the
// client's HTTP), so it is a slow tool that logs once before it answers: the
// log line makes the proxy answer the POST with an SSE stream rather than
// plain JSON (so the scenario's priming-event, retry and resumption checks
// apply to the proxy's SSE), and the response must then arrive on that stream
// or on a resumed one.
mcp.registerTool(
  'test_reconnection',
  { description: 'Logs once, takes a moment, then returns (SSE reconnection test)' },
  async () => {
    await server.sendLoggingMessage({ level: 'info', logger: 'conformance-fixture', data: 'test_reconnection started' });
    await sleep(300);
    return text('Reconnection test completed');
  }
);

// ---- 2026-07-28 fixtures, as a 2025-era server provides them ----
//
// The alpha suite's 2026-07-28 scenarios (server-stateless and the
// input-required-result-* family) call these by name. Its reference server
// answers them natively (InputRequiredResult, requestState, listen streams);
// here each is the 2025-era equivalent behind a bridging proxy: a real
// server->client request during the call (sent with the inputKey hint, see the
// header), real list changes with their notifications, real log messages.

const INPUT_KEY = 'io.modelcontextprotocol/inputKey';
// params of a server->client request, with the inputRequests key it should get
const keyed = (key, params = {}) => ({ ...params, _meta: { ...(params._meta ?? {}), [INPUT_KEY]: key } });
const related = (extra) => ({ relatedRequestId: extra.requestId });
const objectSchema = (name, type = 'string') => ({
  type: 'object',
  properties: { [name]: { type } },
  required: [name]
});
// the value of an accepted elicitation's field, else a word for what happened
const elicited = (res, field) =>
  res.action === 'accept' && res.content?.[field] !== undefined ? res.content[field] : `(${res.action})`;
const sampledText = (res) => (res.content?.type === 'text' ? res.content.text : JSON.stringify(res.content));
const rootsText = (res) => `${res.roots.length} root(s)${res.roots.length ? ': ' : ''}${res.roots.map((r) => r.uri).join(', ')}`;

// elicitation/create "What is your name?" {name}, key user_name
const askName = (extra, key = 'user_name', message = 'What is your name?') =>
  server.elicitInput(keyed(key, { message, requestedSchema: objectSchema('name') }), related(extra));

mcp.registerTool(
  'test_input_required_result_elicitation',
  { description: 'Asks (elicitation/create, key user_name) for a name, then greets it' },
  async (extra) => text(`Hello, ${elicited(await askName(extra), 'name')}!`)
);

mcp.registerTool(
  'test_input_required_result_sampling',
  { description: 'Asks (sampling/createMessage, key capital_question) the capital of France' },
  async (extra) => {
    const res = await server.createMessage(
      keyed('capital_question', {
        messages: [{ role: 'user', content: { type: 'text', text: 'What is the capital of France?' } }],
        maxTokens: 100
      }),
      related(extra)
    );
    return text(`Sampling result: ${sampledText(res)}`);
  }
);

mcp.registerTool(
  'test_input_required_result_list_roots',
  { description: 'Asks (roots/list, key client_roots) for the roots and names them' },
  async (extra) => text(`Found ${rootsText(await server.listRoots(keyed('client_roots'), related(extra)))}`)
);

mcp.registerTool(
  'test_input_required_result_request_state',
  { description: 'Asks (elicitation/create, key confirm) for a confirmation; says state-ok' },
  async (extra) => {
    const res = await server.elicitInput(
      keyed('confirm', { message: 'Please confirm', requestedSchema: objectSchema('ok', 'boolean') }),
      related(extra)
    );
    return text(`state-ok: confirmed=${elicited(res, 'ok')}`);
  }
);

mcp.registerTool(
  'test_input_required_result_multiple_inputs',
  { description: 'Asks, all at once, for a name (user_name), a greeting (greeting) and the roots (client_roots)' },
  async (extra) => {
    // concurrently, so that a bridging proxy collects the three in one round
    const [name, greeting, roots] = await Promise.all([
      askName(extra),
      server.createMessage(
        keyed('greeting', {
          messages: [{ role: 'user', content: { type: 'text', text: 'Generate a greeting' } }],
          maxTokens: 50
        }),
        related(extra)
      ),
      server.listRoots(keyed('client_roots'), related(extra))
    ]);
    return text(`Name: ${elicited(name, 'name')}; Greeting: ${sampledText(greeting)}; Roots: ${rootsText(roots)}`);
  }
);

mcp.registerTool(
  'test_input_required_result_multi_round',
  { description: 'Asks for a name (step1), then for a favourite colour (step2), one after the other' },
  async (extra) => {
    const name = elicited(await askName(extra, 'step1', 'Step 1: What is your name?'), 'name');
    const res = await server.elicitInput(
      keyed('step2', { message: 'Step 2: What is your favorite color?', requestedSchema: objectSchema('color') }),
      related(extra)
    );
    return text(`Multi-round complete for ${name} who likes ${elicited(res, 'color')}`);
  }
);

mcp.registerTool(
  'test_input_required_result_tampered_state',
  { description: 'Asks (elicitation/create, key confirm) for a confirmation (the proxy guards the state)' },
  async (extra) => {
    const res = await server.elicitInput(
      keyed('confirm', { message: 'Please confirm', requestedSchema: objectSchema('ok', 'boolean') }),
      related(extra)
    );
    return text(`integrity-ok: confirmed=${elicited(res, 'ok')}`);
  }
);

mcp.registerTool(
  'test_input_required_result_capabilities',
  { description: 'Asks at once for a sample (sample_input) and a value (elicit_input); either may be refused' },
  async (extra) => {
    // A 2025 server cannot see the 2026 client's capabilities: it asks for
    // both, and the proxy answers the one the client cannot serve with an error.
    const [sample, value] = await Promise.allSettled([
      server.createMessage(
        keyed('sample_input', {
          messages: [{ role: 'user', content: { type: 'text', text: 'Sample request' } }],
          maxTokens: 50
        }),
        related(extra)
      ),
      server.elicitInput(keyed('elicit_input', { message: 'Elicitation input', requestedSchema: objectSchema('value') }), related(extra))
    ]);
    const show = (r, f) => (r.status === 'fulfilled' ? f(r.value) : `unavailable (${r.reason?.message ?? r.reason})`);
    const line = `sampling=${show(sample, sampledText)}; elicitation=${show(value, (v) => elicited(v, 'value'))}`;
    if (sample.status === 'rejected' && value.status === 'rejected') {
      return { isError: true, content: [{ type: 'text', text: `No capability served: ${line}` }] };
    }
    return text(`capabilities-ok: ${line}`);
  }
);

mcp.registerTool(
  'test_missing_capability',
  { description: 'Needs sampling: asks (sampling/createMessage, key required_sampling) before it answers' },
  async (extra) => {
    const res = await server.createMessage(
      keyed('required_sampling', {
        messages: [{ role: 'user', content: { type: 'text', text: 'Say something (this tool requires sampling)' } }],
        maxTokens: 20
      }),
      related(extra)
    );
    return text(`Success: ${sampledText(res)}`);
  }
);

mcp.registerTool(
  'test_streaming_elicitation',
  { description: 'Asks (elicitation/create, key streaming_confirm) mid-call, then completes' },
  async (extra) => {
    const res = await server.elicitInput(
      keyed('streaming_confirm', { message: 'Continue the streaming test?', requestedSchema: objectSchema('ok', 'boolean') }),
      related(extra)
    );
    return text(`Streaming complete: action=${res.action}, ok=${elicited(res, 'ok')}`);
  }
);

mcp.registerTool(
  'test_logging_tool',
  { description: 'Sends debug, info and warning log messages while it runs' },
  async (extra) => {
    // Sent whatever level logging/setLevel set: filtering per client (the
    // 2026 _meta logLevel) is the proxy's to do.
    for (const level of ['debug', 'info', 'warning']) {
      await extra.sendNotification({
        method: 'notifications/message',
        params: { level, logger: 'conformance-fixture', data: `test_logging_tool: ${level} message` }
      });
    }
    return text('Logging evaluated: 3 log messages sent (debug, info, warning)');
  }
);

// The list changes: each trigger changes the description of a marker tool or
// prompt (the SDK then sends notifications/{tools,prompts}/list_changed, before
// the trigger's result).
let toolGeneration = 0;
let promptGeneration = 0;
const dynamicDescription = (what, n) => `A ${what} changed by test_trigger_${what}_change (generation ${n})`;
const dynamicTool = mcp.registerTool(
  'test_dynamic_tool',
  { description: dynamicDescription('tool', 0) },
  async () => text(`Dynamic tool, generation ${toolGeneration}`)
);

mcp.registerTool(
  'test_trigger_tool_change',
  { description: 'Changes the tool list (test_dynamic_tool) and sends notifications/tools/list_changed' },
  async () => {
    dynamicTool.update({ description: dynamicDescription('tool', ++toolGeneration) });
    return text(`Tool list changed (generation ${toolGeneration})`);
  }
);

mcp.registerTool(
  'test_trigger_prompt_change',
  { description: 'Changes the prompt list (test_dynamic_prompt) and sends notifications/prompts/list_changed' },
  async () => {
    dynamicPrompt.update({ description: dynamicDescription('prompt', ++promptGeneration) });
    return text(`Prompt list changed (generation ${promptGeneration})`);
  }
);

// SEP-2243 (http-custom-header-server-validation, run unscored at 2026-07-28)
// needs a tool with a string parameter mirrored in a header (x-mcp-header);
// its schema is listed verbatim (RAW_INPUT_SCHEMAS).
const HEADER_PARAM_TOOL = 'test_header_param';
RAW_INPUT_SCHEMAS[HEADER_PARAM_TOOL] = {
  type: 'object',
  properties: {
    region: { type: 'string', description: 'Echoed back; sent as the Mcp-Param-Region header too', 'x-mcp-header': 'Region' }
  },
  required: ['region']
};
mcp.registerTool(
  HEADER_PARAM_TOOL,
  { description: 'Echoes its region argument (an x-mcp-header parameter)', inputSchema: { region: z.string() } },
  async ({ region }) => text(`region=${region}`)
);

// ---- resources ----

let watchedVersion = 1;

mcp.registerResource(
  'static-text',
  'test://static-text',
  { description: 'A static text resource', mimeType: 'text/plain' },
  async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'This is the content of the static text resource.' }]
  })
);

mcp.registerResource(
  'static-binary',
  'test://static-binary',
  { description: 'A static binary resource (1x1 PNG)', mimeType: 'image/png' },
  async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'image/png', blob: PNG_B64 }] })
);

mcp.registerResource(
  'watched-resource',
  'test://watched-resource',
  { description: 'A resource that can be subscribed to', mimeType: 'text/plain' },
  async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: `Watched resource, version ${watchedVersion}` }]
  })
);

mcp.registerResource(
  'template-data',
  new ResourceTemplate('test://template/{id}/data', { list: undefined }),
  { description: 'Data for the id in the URI', mimeType: 'application/json' },
  async (uri, { id }) => ({
    contents: [
      {
        uri: uri.href,
        mimeType: 'application/json',
        text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` })
      }
    ]
  })
);

// McpServer has no subscription support: track subscriptions here and, after
// a subscribe, report one update (so the proxy's routing of
// notifications/resources/updated is exercised too).
const subscriptions = new Set();
server.setRequestHandler(SubscribeRequestSchema, async (req) => {
  const { uri } = req.params;
  subscriptions.add(uri);
  setTimeout(() => {
    if (!subscriptions.has(uri)) return;
    watchedVersion++;
    server.sendResourceUpdated({ uri }).catch(() => {});
  }, 100);
  return {};
});
server.setRequestHandler(UnsubscribeRequestSchema, async (req) => {
  subscriptions.delete(req.params.uri);
  return {};
});

// ---- prompts ----

mcp.registerPrompt(
  'test_simple_prompt',
  { description: 'A prompt without arguments' },
  async () => ({
    messages: [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }]
  })
);

const ARG1_WORDS = ['paris', 'park', 'party', 'test', 'testing', 'testValue1'];
mcp.registerPrompt(
  'test_prompt_with_arguments',
  {
    description: 'A prompt with two required arguments',
    argsSchema: {
      arg1: completable(z.string().describe('First test argument'), (value) =>
        ARG1_WORDS.filter((w) => w.startsWith(value ?? ''))
      ),
      arg2: z.string().describe('Second test argument')
    }
  },
  async ({ arg1, arg2 }) => ({
    messages: [
      { role: 'user', content: { type: 'text', text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` } }
    ]
  })
);

mcp.registerPrompt(
  'test_prompt_with_embedded_resource',
  {
    description: 'A prompt that embeds the resource named by resourceUri',
    argsSchema: { resourceUri: z.string().describe('URI of the resource to embed') }
  },
  async ({ resourceUri }) => ({
    messages: [
      {
        role: 'user',
        content: {
          type: 'resource',
          resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' }
        }
      },
      { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } }
    ]
  })
);

mcp.registerPrompt(
  'test_prompt_with_image',
  { description: 'A prompt with an image' },
  async () => ({
    messages: [
      { role: 'user', content: { type: 'image', data: PNG_B64, mimeType: 'image/png' } },
      { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } }
    ]
  })
);

// 2026-07-28: input-required-result-non-tool-request
mcp.registerPrompt(
  'test_input_required_result_prompt',
  { description: 'Asks (elicitation/create, key user_context) what context to use' },
  async (extra) => {
    const res = await server.elicitInput(
      keyed('user_context', { message: 'What context should the prompt use?', requestedSchema: objectSchema('context') }),
      related(extra)
    );
    return {
      messages: [{ role: 'user', content: { type: 'text', text: `Prompt with context: ${elicited(res, 'context')}` } }]
    };
  }
);

// 2026-07-28: server-stateless (test_trigger_prompt_change changes it)
const dynamicPrompt = mcp.registerPrompt(
  'test_dynamic_prompt',
  { description: dynamicDescription('prompt', 0) },
  async () => ({
    messages: [{ role: 'user', content: { type: 'text', text: `Dynamic prompt, generation ${promptGeneration}` } }]
  })
);

// SEP-2164 (sep-2164-resource-not-found): an unknown resource is -32602 with
// the uri in the error's data (the SDK gives the code, not the data).
{
  const read = server._requestHandlers.get('resources/read');
  if (read) {
    server._requestHandlers.set('resources/read', async (request, extra) => {
      try {
        return await read(request, extra);
      } catch (e) {
        if (e?.code === ErrorCode.InvalidParams && e.data === undefined) e.data = { uri: request.params?.uri };
        throw e;
      }
    });
  }
}

// ---- transport ----

const transport = new StdioServerTransport();
// Rewrite the listed inputSchema of the tools in RAW_INPUT_SCHEMAS (see above).
const send = transport.send.bind(transport);
transport.send = (message, options) => {
  const tools = message?.result?.tools;
  if (Array.isArray(tools)) {
    for (const t of tools) if (RAW_INPUT_SCHEMAS[t.name]) t.inputSchema = RAW_INPUT_SCHEMAS[t.name];
  }
  return send(message, options);
};
transport.onclose = () => process.exit(0);
process.stdin.on('end', () => process.exit(0));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));

server.oninitialized = () =>
  log(`initialized by ${JSON.stringify(server.getClientVersion())}, client capabilities ${JSON.stringify(server.getClientCapabilities())}`);
await mcp.connect(transport);
log('ready on stdio');
