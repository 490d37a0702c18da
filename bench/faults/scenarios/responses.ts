/**
 * Row 29: what model servers send back through the response phase. Usage of the wrong types,
 * broken SSE, a 10 MB body, error statuses, binary garbage and random chunkings (fast-check) pass
 * through the picker byte for byte, its usage parsing never throws, and every request's accounting
 * is released.
 */
import fc from 'fast-check';
import { CrashWatch } from '../harness/crash-watch.js';
import { FramePool, type FrameStream } from '../harness/frame-client.js';
import { InProcessPicker, loopbackEndpoints } from '../harness/in-process-picker.js';
import { completionBody, FULL_DUPLEX, postHeaders, requestBody, requestHeaders, responseBody, responseHeaders } from '../harness/messages.js';
import { checkRoutedPhase, requestBodyDone, responseBodyDone, responseBodyEcho } from '../harness/reply-rules.js';
import { ScenarioReport } from '../harness/report.js';
import { required } from '../harness/required.js';
import type { FaultScenario } from '../harness/scenario.js';
import { mapConcurrent, pollUntil } from '../harness/wait.js';

const SIZES = { ci: { repeats: 5, random: 200 }, bench: { repeats: 50, random: 2000 } };

interface ResponseCase {
  readonly name: string;
  readonly status: string;
  readonly contentType: string;
  readonly chunks: readonly Buffer[];
}

const b = (s: string): Buffer => Buffer.from(s);

function tenMegabytes(): Buffer[] {
  const chunk: Buffer = Buffer.alloc(64 * 1024, 0x7a);
  const out: Buffer[] = Array.from({ length: 160 }, () => chunk);
  out.push(b('{"usage":{"prompt_tokens":7,"completion_tokens":10000000}}'));
  return out;
}

export const RESPONSE_CASES: readonly ResponseCase[] = [
  { name: 'usage is a string', status: '200', contentType: 'application/json', chunks: [b('{"choices":[],"usage":"x"}')] },
  { name: 'usage fields of the wrong types', status: '200', contentType: 'application/json', chunks: [b('{"usage":{"prompt_tokens":"7","completion_tokens":null,"prompt_tokens_details":[]}}')] },
  { name: 'usage numbers out of range', status: '200', contentType: 'application/json', chunks: [b('{"usage":{"prompt_tokens":1e309,"completion_tokens":-5,"total_tokens":9007199254740993}}')] },
  { name: 'usage split inside a number', status: '200', contentType: 'application/json', chunks: [b('{"usage":{"prompt_tokens":12'), b('34,"completion_tokens":5}}')] },
  { name: 'SSE event cut mid-JSON', status: '200', contentType: 'text/event-stream', chunks: [b('data: {"usage":'), b(' "x"}\n\n'), b('data: [DONE]')] },
  { name: 'SSE with CR-only lines and NUL', status: '200', contentType: 'text/event-stream', chunks: [b('data: {"choices":[]}\r\rdata: \u0000\r\r'), b('event: x\ndata: {"usage":{"prompt_tokens":3}}\n\n')] },
  { name: 'SSE data that is not JSON', status: '200', contentType: 'text/event-stream', chunks: [b('data: not json\n\ndata: {"usage":{"prompt_tokens":{}}}\n\n')] },
  { name: 'a 10 MB body in 64 KiB chunks', status: '200', contentType: 'application/json', chunks: tenMegabytes() },
  { name: 'HTTP 500 with a vLLM error body', status: '500', contentType: 'application/json', chunks: [b('{"object":"error","message":"boom","type":"InternalServerError","param":null,"code":500}')] },
  { name: 'HTTP 429 with no body', status: '429', contentType: 'application/json', chunks: [Buffer.alloc(0)] },
  { name: 'binary garbage as SSE', status: '200', contentType: 'text/event-stream', chunks: [Buffer.from([0xff, 0xfe, 0x00, 0x0a, 0x0a, 0x80, 0x81]), Buffer.from([0x64, 0x61, 0x74, 0x61, 0x3a, 0xc0])] },
  { name: 'empty chunks', status: '200', contentType: 'text/event-stream', chunks: [Buffer.alloc(0), b('data: {}\n\n'), Buffer.alloc(0)] },
];

/** Routes one request, then plays `c` as the response phase; the picker's echo must equal what was sent. */
async function playResponse(stream: FrameStream, seq: number, c: ResponseCase, endpoints: ReadonlySet<string>): Promise<string> {
  const body = completionBody(seq, 128, 'resp');
  stream.send(requestHeaders(postHeaders('/v1/completions', `r${seq}`), false, { protocol_config: FULL_DUPLEX }));
  stream.send(requestBody(body, true));
  if (!(await stream.until((s) => requestBodyDone(s.responses) || s.closed, 10_000))) return 'not routed';
  const routed = checkRoutedPhase(stream.responses, { endpoints, body });
  if (routed.violations.length > 0) return routed.violations.join('; ');
  const before = stream.responses.length;
  stream.send(responseHeaders(c.status, c.contentType));
  c.chunks.forEach((chunk, i) => stream.send(responseBody(chunk, i === c.chunks.length - 1)));
  const ended = await stream.until((s) => responseBodyDone(s.responses, before) || s.closed, 30_000);
  const echo = responseBodyEcho(stream.responses.slice(before));
  const sent = Buffer.concat(c.chunks);
  let result = 'ok';
  if (!ended || stream.cut) result = `response phase not completed (${stream.closed ? 'closed' : 'timeout'})`;
  else if (!echo.bytes.equals(sent)) result = `bytes forwarded ${echo.bytes.length} ≠ received ${sent.length}`;
  else if (echo.maxChunk > 64 * 1024) result = `a chunk of ${echo.maxChunk} bytes`;
  stream.reset();
  return result;
}

export const responsesScenario: FaultScenario = {
  id: 'responses',
  title: 'model-server responses: garbage usage, broken SSE, 10 MB, errors',
  rows: ['29'],
  async run(ctx) {
    const sizes = SIZES[ctx.scale];
    const report = new ScenarioReport('responses');
    const row = report.row('29', `model-server response garbage: ${RESPONSE_CASES.length} cases × ${sizes.repeats}, plus ${sizes.random} random chunkings (fast-check seed ${ctx.seed})`, 'passed through; usage parsing never throws; 0 crashes; bytes forwarded = bytes received');
    const crashes = new CrashWatch();
    const endpoints = loopbackEndpoints(2, 8000, 222);
    const picker = await InProcessPicker.start({ discovery: { endpoints: endpoints.map((hp, i) => ({ name: `e${i}`, address: hp.split(':')[0] ?? '', port: 8000, labels: {} })) } }, endpoints);
    const pool = await FramePool.open({ port: picker.grpcPort }, 2);
    try {
      let seq = 0;
      for (const c of RESPONSE_CASES) {
        const results = await mapConcurrent(Array.from({ length: sizes.repeats }, () => seq++), 4, (n) => playResponse(required(pool.open(), 'a stream'), n, c, picker.endpoints));
        const bad = results.filter((r) => r !== 'ok');
        row.check(`${c.name}: forwarded byte for byte`, bad.length === 0, bad.slice(0, 1).join(''));
      }
      const random = fc.sample(
        fc.record({
          contentType: fc.constantFrom('text/event-stream', 'application/json', 'text/plain', ''),
          status: fc.constantFrom('200', '400', '500', '503'),
          chunks: fc.array(fc.oneof(fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)), fc.json().map((j) => Buffer.from(`data: ${j}\n\n`)), fc.string().map((s) => Buffer.from(s))), { minLength: 1, maxLength: 12 }),
        }),
        { numRuns: sizes.random, seed: ctx.seed + 3 },
      );
      const results = await mapConcurrent(random, 16, (r, i) => playResponse(required(pool.open(), 'a stream'), seq + i, { name: `random ${i}`, ...r }, picker.endpoints));
      const bad = results.filter((r) => r !== 'ok');
      row.figure('fixed cases', RESPONSE_CASES.map((c) => c.name).join('; '));
      row.figure('random responses forwarded byte for byte', `${results.length - bad.length} / ${results.length}`);
      row.check('random responses: bytes forwarded = bytes received', bad.length === 0, bad.slice(0, 2).join(' | '));
      const drained = await pollUntil(() => picker.activeStreams() === 0, 5000);
      const running = await picker.runningRequests();
      row.check('accounting released: live streams and in-flight gauge back to 0', !Number.isNaN(drained) && running === 0, `${picker.activeStreams()} sessions, ${running} in flight`);
      row.check('0 crashes (usage parsing never throws)', crashes.count === 0, crashes.errors.slice(0, 1).join(''));
      row.see('test/unit/request/usage-tracker.test.ts; test/gateway/gateway.test.ts "carries a 1 MB response through the picker byte for byte"');
    } finally {
      pool.destroy();
      await picker.stop();
      crashes.stop();
    }
    return report.result();
  },
};
