// What the SDK test clients share: PASS/FAIL lines (read by tests/run-all.sh through the
// scenario scripts), bounded waits, and small helpers.
import { McpError } from '@modelcontextprotocol/sdk/types.js';

export const results = { failed: 0 };
export const pass = (name) => console.log(`PASS ${name}`);
export const fail = (name, detail) => {
  results.failed++;
  console.log(`FAIL ${name}: ${String(detail).replace(/\s+/g, ' ').slice(0, 1500)}`);
};
export const check = (name, cond, detail) => (cond ? pass(name) : fail(name, detail));
// the text blocks of a tool result, joined
export const text = (r) => (r?.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const J = (x) => JSON.stringify(x);
// waitFor(cond, ms): polls cond every 50 ms; true once it holds, false after ms.
export async function waitFor(cond, ms) {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() >= end) return false;
    await sleep(50);
  }
}
// p, or a rejection when it has not settled within ms
export const within = (p, what, ms = 20000) =>
  Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`${what}: no answer within ${ms} ms`)), ms).unref())]);
// runs fn; what it throws is a FAIL of name
export async function step(name, fn) {
  try {
    await fn();
  } catch (e) {
    fail(name, e?.stack ?? e);
  }
}
// {result} | {code, message, data}: a JSON-RPC error is an outcome too
export async function outcome(p) {
  try {
    return { result: await p };
  } catch (e) {
    if (e instanceof McpError || typeof e?.code === 'number') return { code: e.code, message: e.message, data: e.data };
    throw e;
  }
}
export const exit = () => process.exit(results.failed ? 1 : 0);
