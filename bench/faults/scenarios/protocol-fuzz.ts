/**
 * Row 20: protocol violations. Random ext_proc message sequences — messages in any order, twice, with
 * any content, bytes that are not protobuf, compressed frames nobody negotiated, truncated frames —
 * ended by a half-close, an immediate reset, a reset after the first answer (Envoy's way) or a frame
 * cut in the middle, many at once over a few connections (frame-level client) to the real picker
 * (in-process, so its live-stream counters are visible). Mirrors Envoy's ext_proc fuzzer, whose only check is that every
 * stream ends; this also checks that no answer breaks Envoy's header rules and that nothing leaks.
 */
import { CrashWatch } from '../harness/crash-watch.js';
import type { StreamRecord } from '../harness/stream-record.js';
import { fuzzSequences, itemBytes, type FuzzSequence } from '../harness/arbitraries.js';
import { FramePool } from '../harness/frame-client.js';
import { InProcessPicker, loopbackEndpoints } from '../harness/in-process-picker.js';
import { completionBody, postHeaders, requestHeaders, FULL_DUPLEX, bodyChunks } from '../harness/messages.js';
import { checkRoutedPhase, headerAnswer, mutationViolations, requestBodyDone } from '../harness/reply-rules.js';
import { LoopDelay } from '../harness/process-monitor.js';
import { ScenarioReport } from '../harness/report.js';
import type { FaultScenario } from '../harness/scenario.js';
import { pollUntil } from '../harness/wait.js';
import { quantile } from '../../extproc/stats.js';

const SIZES = { ci: { sequences: 2000, concurrency: 32, connections: 2 }, bench: { sequences: 100_000, concurrency: 64, connections: 4 } };
/** A stream must be over within this long after the client's last action. */
const END_BOUND_MS = 5000;

interface Tally {
  sequences: number;
  unended: number;
  violations: number;
  readonly violationSamples: string[];
  readonly endMs: number[];
  immediate: number;
  routed: number;
  serverEnded: number;
}

async function runSequence(stream: StreamRecord, seq: FuzzSequence, endpoints: ReadonlySet<string>, tally: Tally): Promise<void> {
  for (const item of seq.items) stream.sendFramed(itemBytes(item));
  let t0 = performance.now();
  switch (seq.end) {
    case 'half-close':
      stream.halfClose();
      break;
    case 'truncated-frame':
      // A message prefix announcing 100 bytes, then 3 of them, then the end of the stream.
      stream.sendFramed(Buffer.from([0, 0, 0, 0, 100, 1, 2, 3]));
      stream.halfClose();
      break;
    case 'reset-now':
      stream.reset();
      break;
    case 'reset-after-answer':
      await stream.until((s) => s.responses.length > 0, 200);
      t0 = performance.now();
      stream.reset();
      break;
  }
  const ended = await stream.until((s) => s.closed, END_BOUND_MS);
  tally.sequences++;
  if (!ended) {
    tally.unended++;
    stream.reset();
  } else tally.endMs.push(stream.closedAt - t0);
  if (stream.endedByServer) tally.serverEnded++;
  const problems: string[] = [];
  for (const r of stream.responses) {
    if (r.immediate_response !== undefined) {
      tally.immediate++;
      problems.push(...mutationViolations(r.immediate_response.headers, 8));
    }
    problems.push(...mutationViolations(r.request_headers?.response?.header_mutation), ...mutationViolations(r.response_headers?.response?.header_mutation));
  }
  const answer = headerAnswer(stream.responses);
  if (answer?.request_headers?.response?.header_mutation?.set_headers?.some((h) => h.header?.key === 'x-gateway-destination-endpoint') === true) {
    tally.routed++;
    problems.push(...checkRoutedPhase(stream.responses, { endpoints }).violations);
  }
  if (problems.length > 0) {
    tally.violations++;
    if (tally.violationSamples.length < 5) tally.violationSamples.push(problems.join('; '));
  }
}

export const protocolFuzzScenario: FaultScenario = {
  id: 'protocol-fuzz',
  title: 'random ext_proc message sequences',
  rows: ['20'],
  async run(ctx) {
    const sizes = SIZES[ctx.scale];
    const report = new ScenarioReport('protocol-fuzz');
    const row = report.row('20', `protocol violations: ${sizes.sequences} random ext_proc sequences (fast-check seed ${ctx.seed})`, '0 crashes over 100 k random sequences; every stream ended');
    const endpoints = loopbackEndpoints(4, 8000, 210);
    const crashes = new CrashWatch();
    const picker = await InProcessPicker.start({ discovery: { endpoints: endpoints.map((hp, i) => ({ name: `e${i}`, address: hp.split(':')[0] ?? '', port: 8000, labels: {} })) } }, endpoints);
    const pool = await FramePool.open({ port: picker.grpcPort }, sizes.connections);
    const loop = new LoopDelay();
    const tally: Tally = { sequences: 0, unended: 0, violations: 0, violationSamples: [], endMs: [], immediate: 0, routed: 0, serverEnded: 0 };
    const t0 = performance.now();
    try {
      const source = fuzzSequences(sizes.sequences, ctx.seed);
      let next = 0;
      const worker = async (): Promise<void> => {
        for (let r = source.next(); r.done !== true; r = source.next()) {
          const stream = pool.open();
          if (stream === undefined) throw new Error('no usable connection left: the picker closed them');
          await runSequence(stream, r.value, picker.endpoints, tally);
          if (++next % 10_000 === 0) ctx.log(`  protocol-fuzz: ${next} sequences, ${tally.unended} unended, ${tally.violations} violations, ${picker.activeStreams()} live`);
        }
      };
      await Promise.all(Array.from({ length: sizes.concurrency }, () => worker()));
      const elapsed = performance.now() - t0;
      const drained = await pollUntil(() => picker.activeStreams() === 0 && picker.transportStreams() === 0, 5000);
      const live = `${picker.activeStreams()} sessions, ${picker.transportStreams()} streams`;
      const running = await picker.runningRequests();
      // The picker still routes.
      const probe = pool.open();
      const body = completionBody(1, 64);
      probe?.send(requestHeaders(postHeaders('/v1/completions', 'after-fuzz'), false, { protocol_config: FULL_DUPLEX }));
      for (const m of bodyChunks(body, 0)) probe?.send(m);
      const routed = (await probe?.until((s) => requestBodyDone(s.responses), 5000)) === true && checkRoutedPhase(probe?.responses ?? [], { endpoints: picker.endpoints, body }).violations.length === 0;
      probe?.reset();
      const sorted = Float64Array.from(tally.endMs).sort();
      const loopFigures = loop.figures();
      row.figure('sequences', tally.sequences);
      row.figure('rate', Math.round((tally.sequences * 1000) / elapsed), 'sequences/s');
      row.figure('answered with an immediate response / routed', `${tally.immediate} / ${tally.routed}`);
      row.figure('ended by the picker (trailers)', tally.serverEnded);
      row.figure('stream end after the last client action p50 / p99 / max', `${quantile(sorted, 0.5).toFixed(2)} / ${quantile(sorted, 0.99).toFixed(2)} / ${(sorted[sorted.length - 1] ?? Number.NaN).toFixed(1)}`, 'ms');
      row.figure('event-loop delay p99 / max (whole process)', `${loopFigures.p99Ms.toFixed(1)} / ${loopFigures.maxMs.toFixed(1)}`, 'ms');
      row.figure('GOAWAYs received', pool.goaways);
      row.check('0 crashes (uncaught exceptions, unhandled rejections)', crashes.count === 0, crashes.errors.slice(0, 2).join(' | '));
      row.check(`every stream ended within ${END_BOUND_MS} ms`, tally.unended === 0, `${tally.unended} did not end`);
      row.check('every answer keeps Envoy\'s header and destination rules', tally.violations === 0, tally.violationSamples.join(' | '));
      row.check('live streams back to 0 (sessions and HTTP/2 streams)', !Number.isNaN(drained), live);
      row.check('in-flight gauge back to 0', running === 0, `inference_objective_running_requests ${running}`);
      row.check('0 GOAWAYs: ext_proc-level garbage never costs the connection', pool.goaways === 0 && pool.closes === 0, `${pool.goaways} GOAWAYs, ${pool.closes} closes`);
      row.check('still routes a valid request afterwards', routed);
      row.see('test/integration/isolation.test.ts (200 sequences over grpc-js)');
    } finally {
      loop.stop();
      pool.destroy();
      await picker.stop();
      crashes.stop();
    }
    return report.result();
  },
};
