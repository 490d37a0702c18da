/**
 * Row 26: many concurrent streams. For each level, N ext_proc streams are opened at once over N/1000
 * connections to `epp serve` (a child process), each sending its request (1 KiB prompt) and getting
 * its routing answer, then held open (as Envoy holds them through the response phase) while the
 * picker's memory is read; then all are reset. Reports decision latency under that burst and the
 * heap and RSS each live stream costs. Then one connection is offered more streams than it
 * advertises (SETTINGS_MAX_CONCURRENT_STREAMS 10,000): the excess is refused, not queued in memory.
 */
import { quantile } from '../../extproc/stats.js';
import { FramePool, type FrameStream } from '../harness/frame-client.js';
import { writeEndpointsFile } from '../harness/in-process-picker.js';
import { completionBody, FULL_DUPLEX, postHeaders, requestBody, requestHeaders } from '../harness/messages.js';
import { PickerProcess } from '../harness/picker-process.js';
import { startPods } from '../harness/pods.js';
import { checkRoutedPhase, requestBodyDone } from '../harness/reply-rules.js';
import { ScenarioReport } from '../harness/report.js';
import type { FaultScenario } from '../harness/scenario.js';
import { pace, pollUntil } from '../harness/wait.js';

const SIZES = { ci: { levels: [1000], overLimit: 100 }, bench: { levels: [1000, 5000, 10_000], overLimit: 100 } };
const MAX_CONCURRENT = 10_000;

/** The lowest heap and RSS over a few samples (fewest uncollected leftovers). */
async function memory(picker: PickerProcess): Promise<{ heap: number; rss: number }> {
  let heap = Infinity;
  let rss = Infinity;
  for (let i = 0; i < 5; i++) {
    const f = await picker.processFigures();
    heap = Math.min(heap, f.heapUsedBytes);
    rss = Math.min(rss, picker.rssBytes());
    await pace(200);
  }
  return { heap, rss };
}

export const concurrencyScenario: FaultScenario = {
  id: 'concurrency',
  title: '1 k / 5 k / 10 k concurrent streams',
  rows: ['26'],
  async run(ctx) {
    const sizes = SIZES[ctx.scale];
    const report = new ScenarioReport('concurrency');
    const row = report.row('26', `stream concurrency: ${sizes.levels.map((n) => `${n / 1000} k`).join(' / ')} concurrent streams over n/1000 connections, then ${MAX_CONCURRENT + sizes.overLimit} on one connection`, 'max_concurrent_streams enforced (REFUSED_STREAM beyond); no OOM; heap/RSS per stream; p50/p99 decision latency at each level');
    const pods = await startPods(8, 223);
    const endpoints = new Set(pods.map((p) => p.hostPort));
    const picker = await PickerProcess.start({ endpointsFile: writeEndpointsFile([...endpoints]), args: ['--drain-timeout=1s'] });
    try {
      // Warm the picker up (JIT) so the first level does not pay for it.
      {
        const warm = await FramePool.open({ port: picker.grpcPort }, 1);
        for (let i = 0; i < 500; i++) {
          const s = warm.open();
          if (s === undefined) break;
          s.send(requestHeaders(postHeaders('/v1/completions', `w${i}`), false, { protocol_config: FULL_DUPLEX }));
          s.send(requestBody(completionBody(i, 1024, 'warm'), true));
          await s.until((x) => requestBodyDone(x.responses) || x.closed, 5000);
          s.reset();
        }
        warm.destroy();
      }
      for (const n of sizes.levels) {
        ctx.log(`  concurrency: ${n} streams`);
        const connections = Math.max(2, Math.ceil(n / 1000));
        const pool = await FramePool.open({ port: picker.grpcPort }, connections);
        try {
          const base = await memory(picker);
          await picker.processFigures(); // resets the event-loop histogram
          const cpu0 = picker.cpuMs();
          const t0 = performance.now();
          const streams: { s: FrameStream; body: Buffer }[] = [];
          for (let i = 0; i < n; i++) {
            const s = pool.open();
            if (s === undefined) break;
            const body = completionBody(i, 1024, `c${n}`);
            s.send(requestHeaders(postHeaders('/v1/completions', `c${n}-${i}`), false, { protocol_config: FULL_DUPLEX }));
            s.send(requestBody(body, true));
            streams.push({ s, body });
          }
          await Promise.all(streams.map(({ s }) => s.until((x) => requestBodyDone(x.responses) || x.closed, 60_000)));
          const allAnsweredMs = performance.now() - t0;
          const cpuMs = picker.cpuMs() - cpu0;
          const latencies = Float64Array.from(streams.map(({ s }) => (s.responseAt[0] ?? Number.NaN) - s.openedAt)).sort();
          const bad = streams.filter(({ s, body }) => s.closed || checkRoutedPhase(s.responses, { endpoints, body }).violations.length > 0).length;
          const held = await memory(picker);
          const loop = await picker.processFigures();
          const running = await picker.runningRequests();
          for (const { s } of streams) s.reset();
          const released = await pollUntil(async () => (await picker.runningRequests()) === 0, 10_000, 50);
          const perStreamHeap = (held.heap - base.heap) / n;
          const perStreamRss = (held.rss - base.rss) / n;
          row.figure(`${n}: connections / routed / failed`, `${connections} / ${streams.length - bad} / ${bad}`);
          row.figure(`${n}: decision latency under the burst p50 / p99 / max`, `${quantile(latencies, 0.5).toFixed(1)} / ${quantile(latencies, 0.99).toFixed(1)} / ${(latencies[latencies.length - 1] ?? Number.NaN).toFixed(1)}`, 'ms');
          row.figure(`${n}: all answered in / streams per second`, `${allAnsweredMs.toFixed(0)} ms / ${Math.round((n * 1000) / allAnsweredMs)}`);
          row.figure(`${n}: picker CPU per stream`, Math.round((cpuMs * 1000) / n), 'µs');
          row.figure(`${n}: in flight while held (gauge)`, running);
          row.figure(`${n}: heap / RSS per live stream`, `${(perStreamHeap / 1024).toFixed(1)} / ${(perStreamRss / 1024).toFixed(1)} KiB (heap ${(base.heap / 1048576).toFixed(0)} → ${(held.heap / 1048576).toFixed(0)} MiB, RSS ${(base.rss / 1048576).toFixed(0)} → ${(held.rss / 1048576).toFixed(0)} MiB)`);
          row.figure(`${n}: picker event-loop lag p99 / max (prom-client)`, `${loop.eventLoopP99Ms.toFixed(1)} / ${loop.eventLoopMaxMs.toFixed(1)}`, 'ms');
          row.check(`${n}: every stream routed, none refused`, bad === 0 && streams.length === n, `${bad} failed of ${streams.length}`);
          row.check(`${n}: in-flight gauge = ${n} while held, back to 0 after the resets`, running === n && !Number.isNaN(released), `${running} held`);
          row.check(`${n}: 0 GOAWAYs`, pool.goaways === 0 && pool.closes === 0);
        } finally {
          pool.destroy();
        }
      }
      // One connection offered more streams than it advertises.
      {
        const pool = await FramePool.open({ port: picker.grpcPort }, 1);
        try {
          const total = MAX_CONCURRENT + sizes.overLimit;
          const streams: FrameStream[] = [];
          for (let i = 0; i < total; i++) {
            const s = pool.open();
            if (s === undefined) break;
            s.send(requestHeaders(postHeaders('/v1/completions', `one-${i}`), false, { protocol_config: FULL_DUPLEX }));
            streams.push(s);
          }
          await pollUntil(() => streams.filter((s) => s.rstCode === 7).length >= sizes.overLimit, 30_000, 50);
          const refused = streams.filter((s) => s.rstCode === 7).length;
          row.figure(`one connection: ${total} streams opened → refused (REFUSED_STREAM)`, refused);
          row.check(`max_concurrent_streams enforced: exactly the ${sizes.overLimit} beyond ${MAX_CONCURRENT} refused`, refused === sizes.overLimit, `${refused} refused`);
          row.check('the connection stays up (no GOAWAY)', pool.goaways === 0 && pool.closes === 0);
          for (const s of streams) s.reset();
        } finally {
          pool.destroy();
        }
      }
      row.check('the picker is still up (no OOM)', picker.running);
      row.see('bench/README.md "Memory under sustained load"; test/h2/h2-transport.test.ts "refuses streams beyond the advertised concurrency"');
    } finally {
      await picker.stop(5000);
      await Promise.all(pods.map((p) => p.close()));
    }
    return report.result();
  },
};
