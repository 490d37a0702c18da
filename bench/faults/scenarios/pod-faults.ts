/**
 * Rows 3–6: model-server pods that are saturated, stall, misbehave or die. Fake pods on distinct
 * loopback addresses serve `/metrics`; the real picker (default flags: scrape every 50 ms, staleness
 * 2 s, scrape deadline 1 s, 16 MiB page cap) routes a steady stream of requests while one pod goes
 * wrong — `epp serve` in a child for the stale and hostile pods (its own memory and event loop are
 * measured), in-process where its datastore is read (rows 3 and 6). Measured: when it stops getting picks, that it gets none after, what the
 * picker's memory and event loop paid, and that sheddable requests are shed when all are saturated.
 */
import { writeFileSync } from 'node:fs';
import type { Endpoint } from '../../../src/datastore/endpoint.js';
import { quantile } from '../../extproc/stats.js';
import { CrashWatch } from '../harness/crash-watch.js';
import { FramePool } from '../harness/frame-client.js';
import { InProcessPicker, writeEndpointsFile } from '../harness/in-process-picker.js';
import { PickerProcess } from '../harness/picker-process.js';
import { completionBody, postHeaders } from '../harness/messages.js';
import { FakePod, type MetricsMode } from '../harness/pods.js';
import { LoopDelay } from '../harness/process-monitor.js';
import { fetchMetrics, histogramQuantile, metricSum } from '../harness/prom-text.js';
import { ScenarioReport, type RowReport } from '../harness/report.js';
import { requestPhase } from '../harness/request-phase.js';
import type { FaultScenario } from '../harness/scenario.js';
import { mapConcurrent, pace, pollUntil } from '../harness/wait.js';

const SIZES = {
  ci: { admission: 200, faultMs: 1500, modes: ['hang', 'garbage', 'huge', 'slowloris'] as MetricsMode[] },
  bench: { admission: 2000, faultMs: 3000, modes: ['hang', 'http-500', 'garbage', 'reset', 'huge', 'slowloris'] as MetricsMode[] },
};
const INTERVAL_MS = 50;
/** How long routing is watched after a removal for a stray pick. */
const OBSERVE_MS = 300;
const STALENESS_MS = 2000;

/** A routed request: when it was sent (it cannot have been decided earlier) and where it went. */
interface Pick {
  readonly sentAt: number;
  readonly destination: string;
}

/** Routes distinct prompts continuously (4 at a time) until `stop()`; records every pick. */
function routeContinuously(pool: FramePool, endpoints: ReadonlySet<string>): { picks: Pick[]; failures: string[]; stop: () => Promise<void> } {
  const picks: Pick[] = [];
  const failures: string[] = [];
  let running = true;
  let seq = 0;
  const worker = async (): Promise<void> => {
    while (running) {
      const n = seq++;
      const r = await requestPhase(pool, { headers: postHeaders('/v1/completions', `p${n}`), body: completionBody(n, 256, 'pods'), endpoints });
      if (r.kind === 'routed' && r.violations.length === 0) picks.push({ sentAt: r.sentAt, destination: r.destination });
      else if (failures.length < 5) failures.push(`${r.kind} ${String(r.status)} ${r.violations.join('; ')}`);
      await pace(2);
    }
  };
  const workers = Array.from({ length: 4 }, () => worker());
  return {
    picks,
    failures,
    stop: async () => {
      running = false;
      await Promise.all(workers);
    },
  };
}

async function twoPods(block: number): Promise<[FakePod, FakePod]> {
  const a = await FakePod.start(`127.0.${block}.1`, 0, { waiting: 2, running: 2, kv: 0.3 });
  const b = await FakePod.start(`127.0.${block}.2`, a.port, { waiting: 2, running: 2, kv: 0.3 });
  return [a, b];
}

/** What a fault trial needs from the picker under test. */
interface TrialTarget {
  readonly pool: FramePool;
  readonly endpoints: ReadonlySet<string>;
  /** Whether pod A is out of routing (unreachable) now. */
  excluded(): Promise<boolean>;
  /** Starts a measurement window (memory and event loop). */
  startWindow(): Promise<void>;
  /** Ends it: RSS growth (MiB) and event-loop p99 (ms, beyond the sampling period) over the window. */
  endWindow(): Promise<{ readonly rssGrowthMiB: number; readonly loopP99Ms: number }>;
}

/** `epp serve` in a child: its own RSS (/proc) and event loop (its /metrics), and its unreachable-endpoints gauge. */
function processTarget(picker: PickerProcess, pool: FramePool, endpoints: ReadonlySet<string>): TrialTarget {
  let rss0 = 0;
  let rssPeak = 0;
  let sampler: NodeJS.Timeout | undefined;
  return {
    pool,
    endpoints,
    excluded: async () => metricSum(await picker.metrics(), 'inference_pool_unreachable_endpoints') > 0,
    startWindow: async () => {
      await picker.processFigures(); // a fresh event-loop window
      rss0 = rssPeak = picker.rssBytes();
      sampler = setInterval(() => (rssPeak = Math.max(rssPeak, picker.rssBytes())), 20);
    },
    endWindow: async () => {
      clearInterval(sampler);
      const f = await picker.processFigures();
      return { rssGrowthMiB: (rssPeak - rss0) / 1048576, loopP99Ms: f.eventLoopP99Ms };
    },
  };
}

/** The picker in this process (for its datastore): memory and event loop are the whole process's. */
function inProcessTarget(picker: InProcessPicker, pool: FramePool, hostPort: string, loop: LoopDelay): TrialTarget {
  let rss0 = 0;
  return {
    pool,
    endpoints: picker.endpoints,
    excluded: () => Promise.resolve(picker.server.datastore.snapshot.endpoints.find((e: Endpoint) => e.hostPort === hostPort)?.reachable === false),
    startWindow: () => {
      loop.reset();
      rss0 = process.memoryUsage().rss;
      return Promise.resolve();
    },
    endWindow: () => Promise.resolve({ rssGrowthMiB: (process.memoryUsage().rss - rss0) / 1048576, loopP99Ms: loop.figures().p99Ms }),
  };
}

interface TrialResult {
  readonly excludedMs: number;
  readonly lastPickMs: number;
  readonly picksWhileExcluded: number;
  readonly recoveredMs: number;
  readonly rssGrowthMiB: number;
  readonly loopP99: number;
  readonly maxScrapesInFlight: number;
  readonly failures: string[];
}

/** One fault on pod A for `faultMs` while routing; the exclusion, cost and recovery figures. */
async function faultTrial(target: TrialTarget, a: FakePod, mode: MetricsMode, faultMs: number): Promise<TrialResult> {
  const route = routeContinuously(target.pool, target.endpoints);
  await pollUntil(() => route.picks.some((p) => p.destination === a.hostPort), 5000);
  a.maxInFlight = a.inFlight;
  await target.startWindow();
  const t0 = performance.now();
  await a.setMode(mode);
  const excludedMs = await pollUntil(() => target.excluded(), faultMs, 10);
  const excludedAt = t0 + excludedMs;
  await pace(Math.max(0, faultMs - (performance.now() - t0)));
  const window = await target.endWindow();
  const healAt = performance.now();
  await a.setMode('ok');
  const recoveredMs = await pollUntil(async () => !(await target.excluded()), 5000, 10);
  await pollUntil(() => route.picks.some((p) => p.destination === a.hostPort && p.sentAt > healAt), 3000, 5);
  await route.stop();
  const toA = route.picks.filter((p) => p.destination === a.hostPort);
  const lastBeforeHeal = Math.max(t0, ...toA.filter((p) => p.sentAt < healAt).map((p) => p.sentAt));
  return {
    excludedMs,
    lastPickMs: lastBeforeHeal - t0,
    picksWhileExcluded: toA.filter((p) => p.sentAt > excludedAt && p.sentAt < healAt).length,
    recoveredMs,
    rssGrowthMiB: window.rssGrowthMiB,
    loopP99: window.loopP99Ms,
    maxScrapesInFlight: a.maxInFlight,
    failures: route.failures,
  };
}

function trialFigures(row: RowReport, label: string, t: TrialResult): void {
  row.figure(`${label}: fault → excluded / → last pick (request sent) / picks while excluded / recovery → reachable`, `${t.excludedMs.toFixed(0)} / ${t.lastPickMs.toFixed(0)} / ${t.picksWhileExcluded} / ${t.recoveredMs.toFixed(0)} ms`);
  row.figure(`${label}: picker RSS growth / picker event-loop p99 / scrapes in flight at most`, `${t.rssGrowthMiB.toFixed(0)} MiB / ${t.loopP99.toFixed(1)} ms / ${t.maxScrapesInFlight}`);
}

export const podFaultsScenario: FaultScenario = {
  id: 'pod-faults',
  title: 'saturated, stale, hostile and dead model-server pods',
  rows: ['3', '4', '5', '6'],
  async run(ctx) {
    const sizes = SIZES[ctx.scale];
    const report = new ScenarioReport('pod-faults', ctx.scale);
    const crashes = new CrashWatch();
    const loop = new LoopDelay(1);
    try {
      // Row 3: every pod saturated; sheddable and critical objectives.
      {
        const row = report.row('3', `saturated pool: ${sizes.admission} requests, half sheddable (priority −1), half critical (priority 1)`, '100 % sheddable 429 with the dropped-reason header; critical routed, p99 routing < 50 ms');
        const pods = [await FakePod.start('127.0.216.1', 0, { waiting: 20, running: 8, kv: 0.95 })];
        pods.push(await FakePod.start('127.0.216.2', pods[0]?.port ?? 0, { waiting: 30, running: 8, kv: 0.99 }));
        const hostPorts = pods.map((p) => p.hostPort);
        const picker = await InProcessPicker.start(
          { discovery: { endpoints: pods.map((p, i) => ({ name: `s${i}`, address: p.host, port: p.port, labels: {} })), objectives: new Map([['batch', -1], ['chat', 1]]) } },
          hostPorts,
        );
        const pool = await FramePool.open({ port: picker.grpcPort }, 2);
        try {
          await pollUntil(() => picker.server.datastore.snapshot.endpoints.every((e) => e.metrics.known), 5000);
          const results = await mapConcurrent(Array.from({ length: sizes.admission }, (_, i) => i), 8, async (i) => {
            const objective = i % 2 === 0 ? 'batch' : 'chat';
            const r = await requestPhase(pool, { headers: postHeaders('/v1/completions', `adm-${i}`, [['x-gateway-inference-objective', objective]]), body: completionBody(i, 256, 'adm'), endpoints: picker.endpoints });
            return { objective, r };
          });
          const shed = results.filter((x) => x.objective === 'batch');
          const critical = results.filter((x) => x.objective === 'chat');
          const shed429 = shed.filter((x) => x.r.kind === 'immediate' && x.r.status === 429).length;
          const routed = critical.filter((x) => x.r.kind === 'routed' && x.r.violations.length === 0);
          const lat = Float64Array.from(routed.map((x) => x.r.ms)).sort();
          row.figure('sheddable answered 429', `${shed429} / ${shed.length}`);
          row.figure('critical routed', `${routed.length} / ${critical.length}`);
          const serverP99 = histogramQuantile(await fetchMetrics(picker.server.metricsPort), 'llm_d_epp_request_processing_duration_seconds', 0.99) * 1000;
          row.figure('critical routing latency seen by the client p50 / p99 (stream open → answer, client in the same process)', `${quantile(lat, 0.5).toFixed(2)} / ${quantile(lat, 0.99).toFixed(2)}`, 'ms');
          row.figure('time in the picker p99, request headers → answer, 429s included (llm_d_epp_request_processing_duration_seconds, bucket bound)', `≤ ${serverP99}`, 'ms');
          row.figure('queue TTL → 503', 'not applicable: flow control (queueing) is not implemented; legacy admission sheds at once');
          row.check('100 % of sheddable requests answered 429', shed429 === shed.length);
          row.check('every 429 carries x-llm-d-request-dropped-reason: rejected-saturated', shed.every((x) => x.r.reason.includes('sheddable request dropped')));
          row.check('every critical request routed', routed.length === critical.length);
          row.timing('critical p99 routing < 50 ms (in the picker)', serverP99, 50, `≤ ${serverP99} ms`);
          row.see('test/integration/hermetic.test.ts "sheds a sheddable request (priority < 0) with 429"');
        } finally {
          pool.destroy();
          await picker.stop();
          await Promise.all(pods.map((p) => p.close()));
        }
      }
      // Rows 4 and 5: one of two pods goes stale or hostile, against epp serve (its own memory and event loop).
      const [a, b] = await twoPods(217);
      const child = await PickerProcess.start({ endpointsFile: writeEndpointsFile([a.hostPort, b.hostPort]), args: ['--drain-timeout=1s'] });
      const pool = await FramePool.open({ port: child.grpcPort }, 2);
      const target = processTarget(child, pool, new Set([a.hostPort, b.hostPort]));
      try {
        await pollUntil(() => a.scrapes > 0 && b.scrapes > 0, 5000);
        // The same routing with no fault: what the machine alone does to the picker's event loop.
        const quiet = routeContinuously(pool, target.endpoints);
        await pollUntil(() => quiet.picks.length > 100, 5000);
        await target.startWindow();
        await pace(sizes.faultMs);
        const quietP99 = (await target.endWindow()).loopP99Ms;
        await quiet.stop();
        {
          const row = report.row('4', '/metrics of one pod stops answering (accepts, never answers)', `pod excluded within the staleness threshold + 1 scrape interval (${STALENESS_MS + INTERVAL_MS} ms); report ms`);
          const t = await faultTrial(target, a, 'hang', sizes.faultMs);
          trialFigures(row, 'hang', t);
          row.timing(`excluded within ${STALENESS_MS + INTERVAL_MS} ms (at the 1 s scrape deadline)`, t.excludedMs, STALENESS_MS + INTERVAL_MS);
          row.check('0 picks after exclusion', t.picksWhileExcluded === 0);
          row.check('back in routing after recovery', !Number.isNaN(t.recoveredMs));
          row.check('other requests unaffected', t.failures.length === 0, t.failures.join(' | '));
          row.see('bench/README.md "scrape-collector" failover table (5 trials per fault)');
        }
        {
          const row = report.row('5', `hostile /metrics: ${sizes.modes.filter((m) => m !== 'hang').join(', ')} (slowloris: 1 byte/s)`, '0 crashes; RSS growth < cap; event-loop p99 < 20 ms; at most 1 scrape per pod in flight');
          row.figure('picker event-loop p99 with the same routing and no fault', Math.round(quietP99 * 10) / 10, 'ms');
          for (const mode of sizes.modes.filter((m) => m !== 'hang')) {
            const t = await faultTrial(target, a, mode, sizes.faultMs);
            trialFigures(row, mode, t);
            row.check(`${mode}: excluded, 0 picks after, back after recovery`, !Number.isNaN(t.excludedMs) && t.picksWhileExcluded === 0 && !Number.isNaN(t.recoveredMs), `excluded ${t.excludedMs.toFixed(0)} ms, ${t.picksWhileExcluded} picks`);
            // By design up to two pages at the cap are alive at once: the one abandoned at the cap (not yet collected) and the next.
            row.check(`${mode}: picker RSS growth ≤ 2 × the 16 MiB page cap + 8 MiB`, t.rssGrowthMiB <= 40, `${t.rssGrowthMiB.toFixed(0)} MiB`);
            // On a shared machine the loop also waits for the CPU: the fault must add nothing to what the same routing sees without it.
            row.timing(`${mode}: picker event-loop p99 < 20 ms (or no worse than without the fault, +5 ms, when the machine is the cause)`, t.loopP99, Math.max(20, quietP99 + 5), `${t.loopP99.toFixed(1)} ms with the fault, ${quietP99.toFixed(1)} ms without`);
            row.check(`${mode}: at most 1 scrape in flight to the pod`, t.maxScrapesInFlight <= 1, String(t.maxScrapesInFlight));
            row.check(`${mode}: other requests unaffected`, t.failures.length === 0, t.failures.join(' | '));
          }
          row.check('0 crashes (the picker process is up)', child.running);
          row.see('test/integration/unreachable-endpoints.test.ts; bench/README.md "scrape-collector" (dies, hangs, resets, 500, garbage, 50 MB page)');
        }
      } finally {
        pool.destroy();
        await child.stop(3000);
      }
      // Row 6: a pod killed mid-run — listed still (connections refused), and removed by discovery.
      {
        const row = report.row('6', 'pod killed mid-run: its port refuses (still listed), then another removed from the endpoints file', '0 requests routed to it after X ms (target < 100 ms after the event)');
        const file = writeEndpointsFile([a.hostPort, b.hostPort]);
        const p = await InProcessPicker.start({ discovery: { endpointsFile: file } }, [a.hostPort, b.hostPort]);
        const pl = await FramePool.open({ port: p.grpcPort }, 2);
        try {
          await a.setMode('ok');
          await pollUntil(() => p.server.datastore.snapshot.endpoints.every((e) => e.metrics.known && e.reachable), 5000);
          const t = await faultTrial(inProcessTarget(p, pl, a.hostPort, loop), a, 'dead', 1500);
          row.figure('killed (port refuses): kill → excluded / → last pick (request sent) / picks after', `${t.excludedMs.toFixed(0)} ms / ${t.lastPickMs.toFixed(0)} ms / ${t.picksWhileExcluded}`);
          row.check('killed: 0 picks after its first failed scrape', t.picksWhileExcluded === 0, `${t.picksWhileExcluded} picks`);
          row.timing('killed: last pick < 100 ms after the kill', t.lastPickMs, 100, `last pick ${t.lastPickMs.toFixed(0)} ms`);
          // Removed by discovery: rewrite the file without pod B.
          const route = routeContinuously(pl, p.endpoints);
          await pollUntil(() => route.picks.filter((x) => x.destination === b.hostPort).length > 3, 5000);
          const t0 = performance.now();
          let removedAt = Number.NaN;
          const off = p.server.datastore.onChange((snap) => {
            if (Number.isNaN(removedAt) && !snap.endpoints.some((e) => e.hostPort === b.hostPort)) removedAt = performance.now();
          });
          writeFileSync(file, `endpoints:\n  - {address: ${a.host}, port: ${a.port}}\n`);
          await pollUntil(() => !Number.isNaN(removedAt), 5000, 2);
          await pace(OBSERVE_MS); // the window in which a pick to the removed pod would show
          await route.stop();
          off();
          const toB = route.picks.filter((x) => x.destination === b.hostPort);
          const lastB = Math.max(t0, ...toB.map((x) => x.sentAt)) - removedAt;
          const afterRemoval = toB.filter((x) => x.sentAt > removedAt).length;
          row.figure('removed from discovery: file written → datastore updated (100 ms watch debounce)', Math.round(removedAt - t0), 'ms');
          row.figure('removed from discovery: last pick (request sent) relative to the update / picks sent after it', `${lastB.toFixed(0)} ms / ${afterRemoval}`);
          row.figure('in-flight requests to the dead pod', 'the data plane\'s (Envoy connect failure → 503 UF); the picker holds none');
          row.check('removed: 0 picks for requests sent after the datastore update', afterRemoval === 0);
          row.check('0 crashes (uncaught exceptions, unhandled rejections)', crashes.count === 0, crashes.errors.slice(0, 1).join(''));
          row.see('test/kube/picker-kubernetes.test.ts "gives a deleted pod no picks within 1 s of its DELETED event"');
        } finally {
          pl.destroy();
          await p.stop();
        }
      }
      await Promise.all([a.close(), b.close()]);
    } finally {
      loop.stop();
      crashes.stop();
    }
    return report.result();
  },
};
