/**
 * Row 19: the client cancels (RST_STREAM) at a random point — right after the headers, mid-body,
 * after the body but before the answer, after the answer, mid-response — many streams at once. Each
 * cancellation is handled once, the request's accounting is released, nothing stays behind.
 */
import { FramePool, type FrameStream } from '../harness/frame-client.js';
import { InProcessPicker, loopbackEndpoints } from '../harness/in-process-picker.js';
import { bodyChunks, completionBody, FULL_DUPLEX, postHeaders, requestHeaders, responseBody, responseHeaders, sseChunk } from '../harness/messages.js';
import { heapAfterGc } from '../harness/process-monitor.js';
import { headerAnswer, requestBodyDone } from '../harness/reply-rules.js';
import { ScenarioReport } from '../harness/report.js';
import type { FaultScenario } from '../harness/scenario.js';
import { pace, pollUntil } from '../harness/wait.js';
import { Prng } from '../../../src/util/prng.js';

const SIZES = { ci: { cancellations: 1000, warmup: 300, concurrency: 32 }, bench: { cancellations: 10_000, warmup: 2000, concurrency: 64 } };

const POINTS = ['after-headers', 'mid-body', 'before-answer', 'after-answer', 'mid-response'] as const;
type Point = (typeof POINTS)[number];

/** One body for every request: the prefix index does not grow, so heap growth means a leak. */
const BODY = completionBody(0, 64 * 1024, 'cancel');

async function cancelAt(stream: FrameStream, point: Point, rng: Prng, seq: number): Promise<void> {
  stream.send(requestHeaders(postHeaders('/v1/completions', `c-${seq}`), false, { protocol_config: FULL_DUPLEX }));
  const chunks = bodyChunks(BODY, 16 * 1024);
  if (point === 'after-headers') {
    if (rng.int(2) === 0) await pace(rng.int(3));
    stream.reset();
    return;
  }
  if (point === 'mid-body') {
    const n = 1 + rng.int(chunks.length - 1);
    for (const m of chunks.slice(0, n)) stream.send(m);
    stream.reset();
    return;
  }
  for (const m of chunks) stream.send(m);
  if (point === 'before-answer') {
    // Usually before the answer is out; the race either way is the point.
    if (rng.int(2) === 0) await pace(0);
    stream.reset();
    return;
  }
  await stream.until((s) => headerAnswer(s.responses) !== undefined && requestBodyDone(s.responses), 10_000);
  if (point === 'after-answer') {
    stream.reset();
    return;
  }
  stream.send(responseHeaders());
  const k = 1 + rng.int(4);
  for (let i = 0; i < k; i++) stream.send(responseBody(sseChunk(seq, i), false));
  if (rng.int(2) === 0) await stream.until((s) => s.responses.length > 3, 50);
  stream.reset();
}

export const cancellationScenario: FaultScenario = {
  id: 'cancellation',
  title: 'client cancellations at random points',
  rows: ['19'],
  async run(ctx) {
    const sizes = SIZES[ctx.scale];
    const report = new ScenarioReport('cancellation');
    const row = report.row('19', `cancellations: ${sizes.cancellations} streams reset at random points (seed ${ctx.seed})`, 'in-flight gauge = 0; heap after GC within ±5 % of baseline');
    const endpoints = loopbackEndpoints(4, 8000, 213);
    const picker = await InProcessPicker.start({ discovery: { endpoints: endpoints.map((hp, i) => ({ name: `e${i}`, address: hp.split(':')[0] ?? '', port: 8000, labels: {} })) } }, endpoints);
    const pool = await FramePool.open({ port: picker.grpcPort }, 4);
    const rng = new Prng(ctx.seed);
    const counts = new Map<Point, number>();
    const run = async (total: number, first: number): Promise<void> => {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < total) {
          const seq = first + next++;
          const point = POINTS[rng.int(POINTS.length)] as Point;
          counts.set(point, (counts.get(point) ?? 0) + 1);
          const s = pool.open();
          if (s === undefined) throw new Error('no usable connection');
          await cancelAt(s, point, rng, seq);
        }
      };
      await Promise.all(Array.from({ length: sizes.concurrency }, () => worker()));
    };
    try {
      // Warm up (JIT, pools, caches), then take the baseline.
      await run(sizes.warmup, 0);
      await pollUntil(() => picker.activeStreams() === 0, 5000);
      const heap0 = heapAfterGc();
      counts.clear();
      const t0 = performance.now();
      await run(sizes.cancellations, 1_000_000);
      const elapsed = performance.now() - t0;
      const drained = await pollUntil(() => picker.activeStreams() === 0 && picker.transportStreams() === 0, 5000);
      const running = await picker.runningRequests();
      const heap1 = heapAfterGc();
      const growth = (heap1 - heap0) / heap0;
      row.figure('cancellations by point', [...counts].map(([k, v]) => `${k} ${v}`).join(', '));
      row.figure('rate', Math.round((sizes.cancellations * 1000) / elapsed), 'cancellations/s');
      row.figure('heap after GC: baseline → after', `${(heap0 / 1048576).toFixed(1)} → ${(heap1 / 1048576).toFixed(1)} MiB (${(growth * 100).toFixed(1)} %)`);
      row.figure('GOAWAYs received', pool.goaways);
      row.check('live streams back to 0 (sessions and HTTP/2 streams)', !Number.isNaN(drained), `${picker.activeStreams()} sessions, ${picker.transportStreams()} streams`);
      row.check('in-flight gauge = 0', running === 0, `inference_objective_running_requests ${running}`);
      row.check('heap after GC within ±5 % of baseline', Math.abs(growth) <= 0.05, `${(growth * 100).toFixed(1)} %`);
      row.check('0 GOAWAYs: cancellations never cost the connection', pool.goaways === 0 && pool.closes === 0, `${pool.goaways} GOAWAYs, ${pool.closes} closes`);
      row.see('test/h2/h2-transport.test.ts "tells the handler once when the client resets"');
    } finally {
      pool.destroy();
      await picker.stop();
    }
    return report.result();
  },
};
