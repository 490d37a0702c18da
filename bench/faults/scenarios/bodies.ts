/**
 * Rows 9, 10, 13, 14, 15, 17: what clients put in request bodies and paths. Malformed bodies
 * (fast-check), pathological JSON (deep nesting, a million keys, huge strings), hostile text (lone
 * surrogates, NUL, BOM, invalid UTF-8), type confusion, random model names and path tricks, sent to
 * the real picker (in-process) over a frame-level client: each answered 400 or routed — never a 500,
 * a crash or a stall — with routed bodies forwarded byte for byte.
 */
import fc from 'fast-check';
import { hostilePromptBody, malformedBody } from '../harness/arbitraries.js';
import { CrashWatch } from '../harness/crash-watch.js';
import { FramePool } from '../harness/frame-client.js';
import { InProcessPicker, loopbackEndpoints } from '../harness/in-process-picker.js';
import { postHeaders } from '../harness/messages.js';
import { LoopDelay } from '../harness/process-monitor.js';
import { ScenarioReport, type RowReport } from '../harness/report.js';
import { outcomeKey, requestPhase, type PhaseResult } from '../harness/request-phase.js';
import type { FaultScenario } from '../harness/scenario.js';
import { mapConcurrent, pollUntil } from '../harness/wait.js';

const SIZES = { ci: { malformed: 1000, hostile: 200, models: 200, concurrency: 16 }, bench: { malformed: 10_000, hostile: 2000, models: 1000, concurrency: 32 } };

function tally(results: readonly PhaseResult[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of results) m.set(outcomeKey(r), (m.get(outcomeKey(r)) ?? 0) + 1);
  return m;
}

function tallyText(m: ReadonlyMap<string, number>): string {
  return [...m].map(([k, v]) => `${k} ${v}`).join(', ');
}

function violations(results: readonly PhaseResult[]): string {
  return results.flatMap((r) => r.violations).slice(0, 3).join('; ');
}

/** Builds JSON text with `depth` nested arrays around the prompt (without recursion). */
function deepBody(depth: number): Buffer {
  return Buffer.from(`{"model":"m","prompt":${'['.repeat(depth)}"p"${']'.repeat(depth)}}`);
}

function manyKeysBody(keys: number): Buffer {
  const parts = ['{"model":"m","prompt":"p"'];
  for (let i = 0; i < keys; i++) parts.push(`,"k${i}":${i}`);
  parts.push('}');
  return Buffer.from(parts.join(''));
}

export const TYPE_CONFUSION: readonly (readonly [string, string])[] = [
  ['model is a number', '{"model":5,"prompt":"p"}'],
  ['model is null', '{"model":null,"prompt":"p"}'],
  ['model is an object', '{"model":{"a":1},"prompt":"p"}'],
  ['model is empty', '{"model":"","prompt":"p"}'],
  ['prompt is an object', '{"model":"m","prompt":{}}'],
  ['prompt is null', '{"model":"m","prompt":null}'],
  ['prompt token ids negative', '{"model":"m","prompt":[-1,2]}'],
  ['prompt token ids fractional', '{"model":"m","prompt":[1.5]}'],
  ['prompt token ids 2^53', '{"model":"m","prompt":[9007199254740993]}'],
  ['prompt token ids above 2^32', '{"model":"m","prompt":[4294967296]}'],
  ['prompt mixed array', '{"model":"m","prompt":[1,"a",{}]}'],
  ['prompt nested arrays of mixed', '{"model":"m","prompt":[[1,2],["x"]]}'],
  ['messages is an object', '{"model":"m","messages":{}}'],
  ['messages is a string', '{"model":"m","messages":"hi"}'],
  ['message without role', '{"model":"m","messages":[{"content":"hi"}]}'],
  ['message content is a number', '{"model":"m","messages":[{"role":"user","content":5}]}'],
  ['messages holds null', '{"model":"m","messages":[null]}'],
  ['stream is a string', '{"model":"m","prompt":"p","stream":"true"}'],
  ['max_tokens is a string', '{"model":"m","prompt":"p","max_tokens":"5"}'],
  ['body is an array', '[{"model":"m","prompt":"p"}]'],
  ['__proto__ key', '{"__proto__":{"model":"evil"},"model":"m","prompt":"p"}'],
  ['duplicate model keys', '{"model":"a","model":"m","prompt":"p"}'],
];

const CHAT = '{"model":"m","messages":[{"role":"user","content":"hi"}]}';
export const PATH_TRICKS: readonly string[] = [
  '/v1/chat/completions',
  '/v1/chat/completions?x=1',
  '/v1/chat/completions/',
  '//v1//chat/completions',
  '/v1%2Fchat%2Fcompletions',
  '/V1/CHAT/COMPLETIONS',
  '/v1/completions',
  '/v1/embeddings',
  '/v1/responses',
  '/unknown/path',
  '/',
  '',
];

export const bodiesScenario: FaultScenario = {
  id: 'bodies',
  title: 'malformed and adversarial request bodies and paths',
  rows: ['9', '10', '13', '14', '15', '17'],
  async run(ctx) {
    const sizes = SIZES[ctx.scale];
    const report = new ScenarioReport('bodies');
    const endpoints = loopbackEndpoints(4, 8000, 211);
    const crashes = new CrashWatch();
    const picker = await InProcessPicker.start({ discovery: { endpoints: endpoints.map((hp, i) => ({ name: `e${i}`, address: hp.split(':')[0] ?? '', port: 8000, labels: {} })) } }, endpoints);
    const pool = await FramePool.open({ port: picker.grpcPort }, 2);
    const send = (body: Buffer, path = '/v1/completions', id = 'b'): Promise<PhaseResult> =>
      requestPhase(pool, { headers: postHeaders(path, id), body, chunkBytes: 16 * 1024, endpoints: picker.endpoints, timeoutMs: 30_000 });
    const settled = async (row: RowReport): Promise<void> => {
      const drained = await pollUntil(() => picker.activeStreams() === 0 && picker.transportStreams() === 0, 5000);
      const running = await picker.runningRequests();
      row.check('0 leaked streams: live streams and the in-flight gauge back to 0', !Number.isNaN(drained) && running === 0, `${picker.activeStreams()} sessions, ${running} in flight`);
      row.check('0 crashes', crashes.count === 0, crashes.errors.slice(0, 1).join(''));
    };
    try {
      // Row 9.
      {
        const row = report.row('9', `malformed bodies: ${sizes.malformed} fast-check cases (seed ${ctx.seed})`, 'N bodies, 0 crashes, 0 leaked streams (in-flight gauge 0)');
        const sockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
        const sockets0 = sockets();
        const bodies = fc.sample(malformedBody, { numRuns: sizes.malformed, seed: ctx.seed });
        const results = await mapConcurrent(bodies, sizes.concurrency, (b, i) => send(b, '/v1/completions', `m${i}`));
        const t = tally(results);
        row.figure('outcomes', tallyText(t));
        row.check('every body answered 400 or routed (no 500, no silent end)', [...t.keys()].every((k) => k === '400' || k === 'routed'), tallyText(t));
        row.check('every answer keeps Envoy\'s rules', results.every((r) => r.violations.length === 0), violations(results));
        await settled(row);
        // Sockets, not timers: scrape backoff timers of the (unreachable) endpoints come and go.
        const back = await pollUntil(() => sockets() <= sockets0, 3000);
        row.check('open sockets back to baseline', !Number.isNaN(back), `${sockets()} vs ${sockets0}`);
        row.see('test/unit/request/openai-parser.test.ts (parser property test)');
      }
      // Row 10.
      {
        const row = report.row('10', 'pathological JSON: 10^5-deep nesting, 10^6 keys, huge strings', '400 or routed, never RangeError or stall; event-loop max block reported');
        const loop = new LoopDelay(2);
        const cases: [string, Buffer][] = [
          ['nesting 10^5 deep (arrays)', deepBody(100_000)],
          ['nesting 10^5 deep (objects)', Buffer.from(`{"model":"m","prompt":"p","x":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`)],
          ['chat messages nested 10^5 deep', Buffer.from(`{"model":"m","messages":[{"role":"user","content":${'['.repeat(100_000)}${']'.repeat(100_000)}}]}`)],
          ['10^6 keys (13 MB)', manyKeysBody(1_000_000)],
          ['16 MB prompt string', Buffer.from(JSON.stringify({ model: 'm', prompt: 'x'.repeat(16 * 1024 * 1024) }))],
          ['16 MB of escapes (\\u0041)', Buffer.from(`{"model":"m","prompt":"${'\\u0041'.repeat(16 * 1024 * 1024 / 6)}"}`)],
          ['10^5 chat messages', Buffer.from(JSON.stringify({ model: 'm', messages: Array.from({ length: 100_000 }, () => ({ role: 'user', content: 'hi' })) }))],
        ];
        const outcomes: string[] = [];
        let worstBlock = 0;
        for (const [name, body] of cases) {
          loop.reset();
          const r = await send(body, name.startsWith('chat') || name.startsWith('10^5 chat') ? '/v1/chat/completions' : '/v1/completions');
          const block = loop.figures().maxMs;
          worstBlock = Math.max(worstBlock, block);
          outcomes.push(`${name}: ${outcomeKey(r)} in ${r.ms.toFixed(0)} ms, loop max ${block.toFixed(0)} ms`);
          row.check(`${name}: 400 or routed`, (r.kind === 'immediate' && r.status === 400) || (r.kind === 'routed' && r.violations.length === 0), `${outcomeKey(r)} ${r.reason.slice(0, 100)} ${r.violations.join('; ')}`);
        }
        loop.stop();
        for (const o of outcomes) row.figure('case', o);
        row.figure('event-loop max block (worst case, whole process)', Math.round(worstBlock), 'ms');
        await settled(row);
      }
      // Row 13.
      {
        const row = report.row('13', `hostile text: ${sizes.hostile} prompts with lone surrogates, NUL, BOM, invalid UTF-8 (seed ${ctx.seed})`, 'routed or 400; an unmutated body is forwarded byte-exact (100 %)');
        const bodies = fc.sample(hostilePromptBody, { numRuns: sizes.hostile, seed: ctx.seed + 1 });
        const results = await mapConcurrent(bodies, sizes.concurrency, (b, i) => send(b, '/v1/completions', `h${i}`));
        const t = tally(results);
        const routed = results.filter((r) => r.kind === 'routed');
        const exact = routed.filter((r) => !r.violations.some((v) => v.includes('body'))).length;
        row.figure('outcomes', tallyText(t));
        row.figure('routed bodies forwarded byte-exact', `${exact} / ${routed.length}`);
        row.check('every body answered 400 or routed', [...t.keys()].every((k) => k === '400' || k === 'routed'), tallyText(t));
        row.check('100 % of routed bodies forwarded byte-exact (SHA-256 equal)', exact === routed.length && routed.length > 0, `${exact} of ${routed.length}`);
        row.check('every answer keeps Envoy\'s rules', results.every((r) => r.violations.length === 0), violations(results));
        await settled(row);
      }
      // Row 14.
      {
        const row = report.row('14', `type confusion: ${TYPE_CONFUSION.length} table-driven bodies`, '400 with reason; 0 exceptions escaping the handler');
        const lines: string[] = [];
        let escaped = 0;
        for (const [name, text] of TYPE_CONFUSION) {
          const path = text.includes('"messages"') ? '/v1/chat/completions' : '/v1/completions';
          const r = await send(Buffer.from(text), path);
          if (r.kind === 'immediate' && r.status === 500) escaped++;
          lines.push(`${name} → ${outcomeKey(r)}`);
          row.check(`${name}: 400 with a reason, or routed`, (r.kind === 'immediate' && r.status === 400 && r.reason.startsWith('inference error: BadRequest')) || (r.kind === 'routed' && r.violations.length === 0), `${outcomeKey(r)} ${r.reason.slice(0, 120)}`);
        }
        row.figure('results', lines.join('; '));
        row.figure('500s (exceptions escaping the handler)', escaped);
        await settled(row);
      }
      // Row 15.
      {
        const row = report.row('15', `unknown models: ${sizes.models} random names`, 'a consistent code for every random name');
        const names = fc.sample(fc.string({ minLength: 1, maxLength: 64 }), { numRuns: sizes.models, seed: ctx.seed + 2 });
        const results = await mapConcurrent(names, sizes.concurrency, (name, i) => send(Buffer.from(JSON.stringify({ model: name, prompt: 'p' })), '/v1/completions', `u${i}`));
        const t = tally(results);
        row.figure('outcomes', tallyText(t));
        row.check('one consistent outcome (routed: passed through like llm-d)', t.size === 1 && t.has('routed'), tallyText(t));
        row.check('every answer keeps Envoy\'s rules', results.every((r) => r.violations.length === 0), violations(results));
        await settled(row);
      }
      // Row 17.
      {
        const row = report.row('17', `path tricks: ${PATH_TRICKS.length} paths with a chat body`, 'documented result per case, 0 crashes');
        const lines: string[] = [];
        for (const path of PATH_TRICKS) {
          const r = await send(Buffer.from(CHAT), path);
          lines.push(`${JSON.stringify(path)} → ${outcomeKey(r)}${r.kind === 'immediate' ? ` (${r.reason.slice(17, 90)})` : ''}`);
          row.check(`${JSON.stringify(path)}: routed or 400, never 500`, (r.kind === 'immediate' && r.status === 400) || (r.kind === 'routed' && r.violations.length === 0), outcomeKey(r));
        }
        row.figure('results', lines.join('; '));
        await settled(row);
      }
    } finally {
      pool.destroy();
      await picker.stop();
      crashes.stop();
    }
    return report.result();
  },
};
