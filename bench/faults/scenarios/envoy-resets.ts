/**
 * Envoy-shaped resets (the "done when"). Real Envoy ends every ext_proc stream with
 * RST_STREAM(CANCEL) once the HTTP exchange is over, even on success, never half-closes, and keeps few
 * connections; Node's nghttp2 used to answer 1,000 such resets per connection with GOAWAY, cutting
 * long-lived response streams. Against the real `epp serve` (child process, CPU from /proc):
 *
 * 1. Envoy-shaped exchanges at a fixed rate on one connection, then on ten — request_headers,
 *    request_body, the routing answer, response_headers, token chunks, RST_STREAM(CANCEL) — with
 *    long-lived response phases (a chunk every 100 ms) running throughout: 0 failed exchanges,
 *    0 cut response streams, 0 GOAWAYs, 0 session closes.
 * 2. A genuine Rapid Reset attack (HEADERS then RST at once, thousands per second) on its own
 *    connection gets GOAWAY(ENHANCE_YOUR_CALM) while an Envoy-shaped connection alongside is
 *    unaffected.
 */
import { execFileSync } from 'node:child_process';
import { CANCEL, ENHANCE_YOUR_CALM, errorCodeName, FRAME_GOAWAY } from '../../../src/h2/constants.js';
import { PROCESS_PATH } from '../../../src/extproc/service.js';
import { RawH2Client } from '../../../test/helpers/h2-raw-client.js';
import { quantile } from '../../extproc/stats.js';
import { setClockTicks } from '../../extproc/children.js';
import { FakeEnvoyPool } from '../harness/extproc-client.js';
import { runExchange, type ExchangeOutcome, type ExchangeSpec } from '../harness/exchange.js';
import { writeEndpointsFile } from '../harness/in-process-picker.js';
import { completionBody } from '../harness/messages.js';
import { runOpenLoop, type OpenLoopStats } from '../harness/open-loop.js';
import { PickerProcess } from '../harness/picker-process.js';
import { startPods, type FakePod } from '../harness/pods.js';
import { ScenarioReport, type RowReport } from '../harness/report.js';
import type { FaultScenario, ScenarioContext } from '../harness/scenario.js';
import { pollUntil } from '../harness/wait.js';

interface Sizes {
  readonly rate: number;
  readonly connections: readonly number[];
  readonly promptBytes: number;
  readonly responseChunks: number;
  readonly chunkIntervalMs: number;
  /** Long-lived response phases alive at any time, and their length range (ms). */
  readonly longStreams: number;
  readonly longMinMs: number;
  readonly longMaxMs: number;
  readonly attackSeconds: number;
  readonly attackRate: number;
  readonly bystanderRate: number;
  /** Unmeasured exchanges at the target rate first (the JIT and the prefix index warm up). */
  readonly warmupSeconds: number;
}

const SIZES: Record<ScenarioContext['scale'], Sizes> = {
  ci: { rate: 300, connections: [1, 4], promptBytes: 1024, responseChunks: 4, chunkIntervalMs: 25, longStreams: 2, longMinMs: 1500, longMaxMs: 2000, attackSeconds: 2, attackRate: 5000, bystanderRate: 200, warmupSeconds: 1 },
  bench: { rate: 1000, connections: [1, 10], promptBytes: 1024, responseChunks: 5, chunkIntervalMs: 50, longStreams: 10, longMinMs: 20_000, longMaxMs: 30_000, attackSeconds: 10, attackRate: 5000, bystanderRate: 300, warmupSeconds: 5 },
};

function ms(v: number): number {
  return Math.round(v * 1000) / 1000;
}

function latencyFigures(row: RowReport, prefix: string, values: readonly number[]): void {
  const sorted = Float64Array.from(values).sort();
  row.figure(`${prefix}decision latency p50`, ms(quantile(sorted, 0.5)), 'ms');
  row.figure(`${prefix}decision latency p99`, ms(quantile(sorted, 0.99)), 'ms');
  row.figure(`${prefix}decision latency p99.9`, ms(quantile(sorted, 0.999)), 'ms');
  row.figure(`${prefix}decision latency max`, ms(sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] ?? Number.NaN)), 'ms');
}

/** Keeps `count` long response phases alive on `pool` until `until`; returns their outcomes. */
async function longStreams(pool: FakeEnvoyPool, count: number, sizes: Sizes, until: number, endpoints: ReadonlySet<string>, seqBase: number): Promise<ExchangeOutcome[]> {
  const outcomes: ExchangeOutcome[] = [];
  let seq = seqBase;
  const slot = async (i: number): Promise<void> => {
    // Staggered so they do not all end together.
    let first = true;
    while (performance.now() < until) {
      const drawn = first ? sizes.longMinMs + (i * (sizes.longMaxMs - sizes.longMinMs)) / Math.max(1, count) : sizes.longMinMs + ((seq * 7919) % Math.max(1, sizes.longMaxMs - sizes.longMinMs));
      first = false;
      // The last ones end with the run rather than after it, but are never shorter than the minimum.
      const left = until - performance.now();
      if (left < sizes.longMinMs) break;
      const length = Math.min(drawn, left);
      const stream = pool.open();
      if (stream === undefined) break;
      const spec: ExchangeSpec = {
        seq: seq++,
        body: completionBody(seq, 512, 'long'),
        chunkBytes: 0,
        responseChunks: Math.max(1, Math.round(length / 100)),
        chunkIntervalMs: 100,
        endpoints,
        timeoutMs: length + 30_000,
      };
      outcomes.push(await runExchange(stream, spec));
    }
  };
  await Promise.all(Array.from({ length: count }, (_, i) => slot(i)));
  return outcomes;
}

async function envoyShaped(ctx: ScenarioContext, picker: PickerProcess, endpoints: ReadonlySet<string>, connections: number, sizes: Sizes, row: RowReport, seqBase: number): Promise<void> {
  const durationMs = ctx.envoySeconds * 1000;
  const pool = await FakeEnvoyPool.open({ port: picker.grpcPort }, connections);
  const label = `${connections} connection${connections === 1 ? '' : 's'}: `;
  try {
    const cpu0 = picker.cpuMs();
    const self0 = process.cpuUsage();
    const t0 = performance.now();
    const long = longStreams(pool, sizes.longStreams, sizes, t0 + durationMs, endpoints, seqBase + 10_000_000);
    const stats: OpenLoopStats = await runOpenLoop({
      pool,
      rate: sizes.rate,
      durationMs,
      maxInFlight: 50_000,
      firstSeq: seqBase,
      spec: (seq) => ({
        seq,
        body: completionBody(seq, sizes.promptBytes, `envoy${connections}`),
        chunkBytes: 0,
        responseChunks: sizes.responseChunks,
        chunkIntervalMs: sizes.chunkIntervalMs,
        endpoints,
        timeoutMs: 30_000,
      }),
      onSecond: (s, elapsed) => ctx.log(`  ${label}${(elapsed / 1000).toFixed(0)} s: ${s.started} started, ${s.ok} ok, ${s.failed} failed, ${s.cut} cut, ${s.inFlight} in flight, GOAWAYs ${pool.goaways}`),
    });
    const cpuMs = picker.cpuMs() - cpu0;
    const wallMs = stats.durationMs;
    const longOutcomes = await long;
    const self = process.cpuUsage(self0);
    const longCut = longOutcomes.filter((o) => o.cut).length;
    const longFailed = longOutcomes.filter((o) => !o.ok).length;
    const longestMs = Math.max(0, ...longOutcomes.map((o) => o.responseMs));
    const achieved = (stats.ok * 1000) / wallMs;
    row.figure(`${label}exchanges started / ok / failed`, `${stats.started} / ${stats.ok} / ${stats.failed}`);
    row.figure(`${label}achieved rate`, Math.round(achieved), 'req/s');
    row.figure(`${label}cut response streams`, stats.cut + longCut);
    row.figure(`${label}long-lived response phases completed / cut`, `${longOutcomes.length - longFailed} / ${longCut} (longest ${(longestMs / 1000).toFixed(1)} s, a chunk every 100 ms)`);
    row.figure(`${label}GOAWAYs received`, pool.goaways);
    row.figure(`${label}session closes`, pool.closes);
    row.figure(`${label}most exchanges in flight`, stats.maxInFlight);
    latencyFigures(row, label, stats.decisionMs);
    row.figure(`${label}server CPU per exchange`, Math.round((cpuMs * 1000) / Math.max(1, stats.ok)), 'µs');
    row.figure(`${label}server CPU`, Math.round((cpuMs / wallMs) * 100) / 100, 'cores');
    row.figure(`${label}load generator CPU`, Math.round(((self.user + self.system) / 1000 / wallMs) * 100) / 100, 'cores');
    row.figure(`${label}picker RSS`, Math.round(picker.rssBytes() / 1048576), 'MiB');
    const expected = Math.floor((sizes.rate * durationMs) / 1000);
    const reasons = [...stats.reasons].map(([k, v]) => `${v}× ${k}`).join('; ');
    row.check(`${label}0 failed exchanges`, stats.failed === 0 && longFailed === 0, reasons === '' ? `${stats.failed + longFailed} failed` : reasons);
    row.check(`${label}0 cut response streams (long-lived included)`, stats.cut === 0 && longCut === 0, `${stats.cut + longCut} cut`);
    row.check(`${label}0 GOAWAYs, 0 session closes`, pool.goaways === 0 && pool.closes === 0, `${pool.goaways} GOAWAYs, ${pool.closes} closes`);
    row.check(`${label}held the rate (≥ 99 % of ${sizes.rate}/s started, none skipped)`, stats.started >= 0.99 * expected && stats.skipped === 0, `${stats.started} of ${expected} started, ${stats.skipped} skipped`);
    row.check(`${label}long-lived response phases ran`, longOutcomes.length >= sizes.longStreams, `${longOutcomes.length} ran`);
  } finally {
    pool.destroy();
  }
}

/** Rapid Reset: HEADERS then RST_STREAM at once, `attackRate` per second, until GOAWAY or the time is up. */
async function rapidReset(ctx: ScenarioContext, picker: PickerProcess, endpoints: ReadonlySet<string>, sizes: Sizes, row: RowReport): Promise<void> {
  const bystanders = await FakeEnvoyPool.open({ port: picker.grpcPort }, 1);
  const attacker = await RawH2Client.connect(picker.grpcPort);
  try {
    const durationMs = sizes.attackSeconds * 1000;
    let sent = 0;
    let goawayAt = Number.NaN;
    const t0 = performance.now();
    const attack = new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const elapsed = performance.now() - t0;
        if (attacker.closed || attacker.of(FRAME_GOAWAY).length > 0 || elapsed > durationMs) {
          if (attacker.of(FRAME_GOAWAY).length > 0 && Number.isNaN(goawayAt)) goawayAt = elapsed;
          clearInterval(timer);
          resolve();
          return;
        }
        const due = Math.floor((elapsed * sizes.attackRate) / 1000) - sent;
        for (let i = 0; i < due; i++) {
          const id = attacker.nextStreamId();
          attacker.grpcHeaders(id, PROCESS_PATH);
          attacker.rst(id, CANCEL);
          sent++;
        }
      }, 5);
    });
    const load = runOpenLoop({
      pool: bystanders,
      rate: sizes.bystanderRate,
      durationMs,
      maxInFlight: 10_000,
      firstSeq: 90_000_000,
      spec: (seq) => ({ seq, body: completionBody(seq, sizes.promptBytes, 'bystander'), chunkBytes: 0, responseChunks: sizes.responseChunks, chunkIntervalMs: sizes.chunkIntervalMs, endpoints, timeoutMs: 30_000 }),
    });
    await attack;
    ctx.log(`  attack: ${sent} HEADERS+RST pairs sent, GOAWAY after ${Math.round(goawayAt)} ms`);
    const stats = await load;
    await pollUntil(() => attacker.closed, 5000);
    const goaway = attacker.of(FRAME_GOAWAY).at(-1);
    const code = goaway?.payload.readUInt32BE(4);
    const closeLogged = await pollUntil(() => picker.logs('ext_proc connection closed').some((l) => l.reason === 'rapid-reset'), 3000);
    row.figure('attack: HEADERS+RST pairs sent', sent);
    row.figure('attack: GOAWAY code', code === undefined ? 'none' : errorCodeName(code));
    row.figure('attack: time to GOAWAY', Math.round(goawayAt), 'ms');
    row.figure('attack: picker logged close reason', Number.isNaN(closeLogged) ? 'none' : 'rapid-reset');
    row.figure('bystander Envoy-shaped connection: started / ok / failed / cut', `${stats.started} / ${stats.ok} / ${stats.failed} / ${stats.cut}`);
    row.figure('bystander GOAWAYs received', bystanders.goaways);
    latencyFigures(row, 'bystander during attack: ', stats.decisionMs);
    row.check('the attacking connection gets GOAWAY(ENHANCE_YOUR_CALM)', code === ENHANCE_YOUR_CALM && attacker.closed, `code ${String(code)}, closed ${String(attacker.closed)}`);
    row.check('the picker names it rapid-reset', !Number.isNaN(closeLogged));
    row.check('the Envoy-shaped connection alongside is unaffected', stats.failed === 0 && stats.cut === 0 && bystanders.goaways === 0 && bystanders.closes === 0 && stats.started > 0, `${stats.failed} failed, ${stats.cut} cut, ${bystanders.goaways} GOAWAYs`);
    row.check('the picker is still up', picker.running);
  } finally {
    attacker.close();
    bystanders.destroy();
  }
}

export const envoyResetsScenario: FaultScenario = {
  id: 'envoy-resets',
  title: 'Envoy-shaped resets (RST_STREAM after every exchange) and Rapid Reset',
  rows: ['E1', 'E2'],
  async run(ctx) {
    const sizes = SIZES[ctx.scale];
    try {
      setClockTicks(Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()));
    } catch {
      // /proc ticks stay at the usual 100
    }
    const report = new ScenarioReport('envoy-resets');
    const pods: FakePod[] = await startPods(8, 201);
    const endpoints = new Set(pods.map((p) => p.hostPort));
    const picker = await PickerProcess.start({ endpointsFile: writeEndpointsFile([...endpoints]), args: ['--drain-timeout=1s'] });
    try {
      const shaped = report.row('E1', `Envoy-shaped resets: ${sizes.rate} req/s for ${ctx.envoySeconds} s per layout, long-lived response phases throughout`, '0 failed exchanges, 0 cut response streams, 0 GOAWAYs, 0 session closes');
      shaped.figure('picker', picker.command);
      {
        // A fresh picker compiles its hot paths during its first second of load; measured apart.
        const pool = await FakeEnvoyPool.open({ port: picker.grpcPort }, 1);
        const warm = await runOpenLoop({
          pool,
          rate: sizes.rate,
          durationMs: sizes.warmupSeconds * 1000,
          maxInFlight: 50_000,
          firstSeq: 80_000_000,
          spec: (seq) => ({ seq, body: completionBody(seq, sizes.promptBytes, 'warm'), chunkBytes: 0, responseChunks: sizes.responseChunks, chunkIntervalMs: sizes.chunkIntervalMs, endpoints, timeoutMs: 30_000 }),
        });
        pool.destroy();
        const sorted = Float64Array.from(warm.decisionMs).sort();
        shaped.figure(`warm-up (${sizes.warmupSeconds} s on a fresh picker, not in the figures below): exchanges / failed / decision p99`, `${warm.started} / ${warm.failed} / ${quantile(sorted, 0.99).toFixed(1)} ms`);
        shaped.check('warm-up: 0 failed exchanges', warm.failed === 0 && warm.cut === 0, [...warm.reasons].map(([k, v]) => `${v}× ${k}`).join('; '));
      }
      let seqBase = 0;
      for (const c of sizes.connections) {
        ctx.log(`envoy-resets: ${c} connection(s), ${sizes.rate} req/s for ${ctx.envoySeconds} s`);
        await envoyShaped(ctx, picker, endpoints, c, sizes, shaped, seqBase);
        seqBase += 20_000_000;
      }
      shaped.check('in-flight back to 0', !Number.isNaN(await pollUntil(async () => (await picker.runningRequests()) === 0, 5000, 50)));
      const attack = report.row('E2', `Rapid Reset: HEADERS+RST at ${sizes.attackRate}/s for up to ${sizes.attackSeconds} s beside an Envoy-shaped connection at ${sizes.bystanderRate} req/s`, 'attacker gets GOAWAY(ENHANCE_YOUR_CALM); the Envoy-shaped connection sees 0 failures');
      ctx.log('envoy-resets: Rapid Reset attack');
      await rapidReset(ctx, picker, endpoints, sizes, attack);
      attack.check('in-flight back to 0', !Number.isNaN(await pollUntil(async () => (await picker.runningRequests()) === 0, 5000, 50)));
    } finally {
      await picker.stop(5000);
      await Promise.all(pods.map((p) => p.close()));
    }
    return report.result();
  },
};
