/**
 * Rows 24 and 25: the picker process stopped under load. SIGTERM with live streaming exchanges
 * (response phases lasting seconds, as LLM responses do): readiness goes NOT_SERVING at once, requests
 * are still routed for `--drain-timeout`, then connections get GOAWAY and late requests are refused
 * (503 rejected-shutting-down, REFUSED_STREAM, or a refused connection), live streams finish, the
 * process exits 0. Then SIGKILL mid-stream and a restart on the same ports.
 */
import { FakeEnvoyPool } from '../harness/extproc-client.js';
import { runExchange, type ExchangeOutcome } from '../harness/exchange.js';
import { FrameConnection, type FrameStream } from '../harness/frame-client.js';
import { HealthClient } from '../harness/health.js';
import { writeEndpointsFile } from '../harness/in-process-picker.js';
import { completionBody, FULL_DUPLEX, postHeaders, requestHeaders } from '../harness/messages.js';
import { PickerProcess } from '../harness/picker-process.js';
import { startPods } from '../harness/pods.js';
import { ScenarioReport } from '../harness/report.js';
import { outcomeKey, requestPhase } from '../harness/request-phase.js';
import type { FaultScenario } from '../harness/scenario.js';
import { mapConcurrent, pollUntil } from '../harness/wait.js';

const SIZES = {
  ci: { live: 50, responseMs: 2000, drainMs: 1500, connections: 2, killLive: 20 },
  bench: { live: 500, responseMs: 30_000, drainMs: 20_000, connections: 4, killLive: 100 },
};

function countBy<T>(items: readonly T[], key: (t: T) => string): string {
  const m = new Map<string, number>();
  for (const i of items) m.set(key(i), (m.get(key(i)) ?? 0) + 1);
  return [...m].map(([k, v]) => `${k} ${v}`).join(', ');
}

export const lifecycleScenario: FaultScenario = {
  id: 'lifecycle',
  title: 'SIGTERM drain with live streams; SIGKILL and restart',
  rows: ['24', '25'],
  async run(ctx) {
    const sizes = SIZES[ctx.scale];
    const report = new ScenarioReport('lifecycle', ctx.scale);
    const pods = await startPods(4, 219);
    const endpoints = new Set(pods.map((p) => p.hostPort));
    const file = writeEndpointsFile([...endpoints]);
    try {
      {
        const row = report.row('24', `SIGTERM with ${sizes.live} live streaming exchanges (response phases of ${sizes.responseMs / 1000} s, a chunk every 100 ms), --drain-timeout ${sizes.drainMs / 1000}s`, 'readiness NOT_SERVING ≤ 100 ms; routing continues for the window; 0 in-flight broken; exit ≤ grace; late requests 503 + reason');
        const picker = await PickerProcess.start({ endpointsFile: file, args: [`--drain-timeout=${sizes.drainMs}ms`] });
        const pool = await FakeEnvoyPool.open({ port: picker.grpcPort }, sizes.connections);
        const watcher = await FrameConnection.connect({ port: picker.grpcPort });
        try {
          const live: Promise<ExchangeOutcome>[] = [];
          for (let i = 0; i < sizes.live; i++) {
            const s = pool.open();
            if (s === undefined) break;
            live.push(runExchange(s, { seq: i, body: completionBody(i, 1024, 'live'), chunkBytes: 0, responseChunks: sizes.responseMs / 100, chunkIntervalMs: 100, endpoints, timeoutMs: sizes.responseMs + 2 * sizes.drainMs + 30_000 }));
          }
          const health = new HealthClient(`127.0.0.1:${picker.healthPort}`);
          await health.check('readiness');
          // SIGTERM once every live exchange is routed and streaming its response.
          await pollUntil(async () => (await picker.runningRequests()) === live.length, 10_000, 20);
          const t0 = performance.now();
          picker.signal('SIGTERM');
          const notServingMs = await pollUntil(async () => (await health.check('readiness')) === 'NOT_SERVING', 5000, 2);
          health.close();
          // During the window: still routed.
          const during = await mapConcurrent(Array.from({ length: 20 }, (_, i) => i), 5, (i) => requestPhase(pool, { headers: postHeaders('/v1/completions', `during-${i}`), body: completionBody(i, 256, 'during'), endpoints }));
          // The window ends: GOAWAY on every connection. A stream sent as the first GOAWAY arrives
          // (before its PING is answered) races the drain, as a request already on its way would.
          let racing: FrameStream | undefined;
          watcher.onGoaway = () => {
            if (racing !== undefined) return;
            racing = watcher.open();
            racing.send(requestHeaders([[':method', 'GET'], [':path', '/v1/models'], ['x-request-id', 'racing']], true, { protocol_config: FULL_DUPLEX }));
          };
          await pollUntil(() => watcher.goaways.length > 0, sizes.drainMs + 10_000, 2);
          const goawayMs = (watcher.goaways[0]?.at ?? Number.NaN) - t0;
          await racing?.until((s) => s.closed || s.responses.length > 0, 3000);
          const first = racing?.responses[0]?.immediate_response;
          const finalLastId = watcher.goaways.at(-1)?.lastStreamId ?? 0;
          const racingOutcome =
            first !== undefined
              ? `${String(first.status?.code)} ${first.headers?.set_headers?.find((h) => h.header?.key === 'x-llm-d-request-dropped-reason')?.header?.raw_value?.toString() ?? ''}`
              : racing?.rstCode === 7
                ? 'REFUSED_STREAM'
                : (racing?.id ?? 0) > finalLastId
                  ? 'not processed (above the final GOAWAY\'s last stream id: retryable)'
                  : `closed (rst ${String(racing?.rstCode)})`;
          racing?.reset();
          let newConnection = 'accepted';
          try {
            const late = await FrameConnection.connect({ port: picker.grpcPort });
            late.destroy();
          } catch (err) {
            newConnection = `refused (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
          }
          const afterWindow = pool.open();
          const outcomes = await Promise.all(live);
          const exit = await picker.waitExit(2 * sizes.drainMs + 10_000);
          const exitMs = exit === undefined ? Number.NaN : exit.at - t0;
          const broken = outcomes.filter((o) => !o.ok);
          row.figure('SIGTERM → readiness NOT_SERVING', Math.round(notServingMs), 'ms');
          row.figure('requests during the window', countBy(during, outcomeKey));
          row.figure('SIGTERM → GOAWAY (end of the window)', Math.round(goawayMs), 'ms');
          row.figure('a stream racing the GOAWAY / a new connection after it', `${racingOutcome} / ${newConnection}`);
          row.figure('live exchanges completed / broken', `${outcomes.length - broken.length} / ${broken.length}`);
          row.figure('SIGTERM → exit', `${(exitMs / 1000).toFixed(2)} s (code ${String(exit?.code)})`);
          row.timing('readiness NOT_SERVING within 100 ms', notServingMs, 100);
          row.check('requests routed during the drain window', during.every((r) => r.kind === 'routed' && r.violations.length === 0), countBy(during, outcomeKey));
          row.check('the window lasts --drain-timeout', goawayMs >= sizes.drainMs - 50, `${goawayMs.toFixed(0)} ms`);
          row.check('no new stream on a drained connection', afterWindow === undefined);
          row.check('a racing stream gets 503 rejected-shutting-down, REFUSED_STREAM, or is marked unprocessed by GOAWAY', racingOutcome.startsWith('503 rejected-shutting-down') || racingOutcome === 'REFUSED_STREAM' || racingOutcome.startsWith('not processed'), racingOutcome);
          row.check('0 live exchanges broken', broken.length === 0, broken.slice(0, 2).map((o) => o.reason).join(' | '));
          row.check('exit 0 within 2 × --drain-timeout + 5 s', exit?.code === 0 && exitMs <= 2 * sizes.drainMs + 5000, `${exitMs.toFixed(0)} ms, code ${String(exit?.code)}`);
          row.see('test/e2e/serve-process.test.ts; test/h2/h2-transport.test.ts "drains: GOAWAY, then the final GOAWAY"');
        } finally {
          pool.destroy();
          watcher.destroy();
          await picker.stop(1000);
        }
      }
      {
        const row = report.row('25', `SIGKILL with ${sizes.killLive} live streams, then a restart on the same ports`, 'the data plane sees resets (not hangs); new streams OK after restart; time to SERVING reported');
        const picker = await PickerProcess.start({ endpointsFile: file, args: ['--drain-timeout=1s'] });
        const ports = { grpc: picker.grpcPort, health: picker.healthPort, metrics: picker.metricsPort };
        const pool = await FakeEnvoyPool.open({ port: picker.grpcPort }, 2);
        try {
          const live: Promise<ExchangeOutcome>[] = [];
          for (let i = 0; i < sizes.killLive; i++) {
            const s = pool.open();
            if (s !== undefined) live.push(runExchange(s, { seq: i, body: completionBody(i, 512, 'kill'), chunkBytes: 0, responseChunks: 50, chunkIntervalMs: 100, endpoints, timeoutMs: 20_000 }));
          }
          await pollUntil(async () => (await picker.runningRequests()) === live.length, 10_000, 20);
          const t0 = performance.now();
          picker.signal('SIGKILL');
          const outcomes = await Promise.all(live);
          const endedMs = performance.now() - t0;
          await picker.waitExit(5000);
          const r0 = performance.now();
          const restarted = await PickerProcess.start({ endpointsFile: file, args: ['--drain-timeout=1s'], ports });
          const servingMs = performance.now() - r0;
          const pool2 = await FakeEnvoyPool.open({ port: restarted.grpcPort }, 2);
          try {
            const after = await mapConcurrent(Array.from({ length: 200 }, (_, i) => i), 10, (i) => requestPhase(pool2, { headers: postHeaders('/v1/completions', `after-${i}`), body: completionBody(i, 256, 'after'), endpoints }));
            row.figure('live streams at the kill: cut (reset) / hung', `${outcomes.filter((o) => o.cut).length} / ${outcomes.filter((o) => !o.cut && !o.ok).length}`);
            row.figure('kill → every live stream ended', Math.round(endedMs), 'ms');
            row.figure('restart → SERVING (process start included)', Math.round(servingMs), 'ms');
            row.figure('requests after the restart', countBy(after, outcomeKey));
            row.check('every live stream reset (no hang)', outcomes.every((o) => o.cut), `${outcomes.filter((o) => o.cut).length} / ${outcomes.length}`);
            row.timing('every live stream ended at once', endedMs, 2000);
            row.check('0 errors after the restart', after.every((r) => r.kind === 'routed' && r.violations.length === 0), countBy(after, outcomeKey));
          } finally {
            pool2.destroy();
            await restarted.stop(3000);
          }
        } finally {
          pool.destroy();
          await picker.stop(1000);
        }
      }
    } finally {
      await Promise.all(pods.map((p) => p.close()));
    }
    return report.result();
  },
};
