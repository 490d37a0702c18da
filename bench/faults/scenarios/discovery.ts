/**
 * Rows 1, 2, 7, 8: discovery. The real picker (in-process) watches a fake kube-apiserver that speaks
 * the real list/watch protocol (test/helpers/fake-kube-apiserver.ts), through the real client
 * library: requests before the pool is known, an empty pool, a pod flapping readiness every 100 ms,
 * and an API server that goes away (connections reset, history compacted: 410 Gone on resume).
 */
import { Socket } from 'node:net';
import { kubeConfigForServer } from '../../../src/kube/kube-client.js';
import { POOL_GROUP_V1 } from '../../../src/kube/pool-spec.js';
import { FakeKubeApiServer, PODS, podObject, POOLS_V1 } from '../../../test/helpers/fake-kube-apiserver.js';
import { quantile } from '../../extproc/stats.js';
import { CrashWatch } from '../harness/crash-watch.js';
import { FramePool } from '../harness/frame-client.js';
import { healthStatus } from '../harness/health.js';
import { InProcessPicker, writeEndpointsFile } from '../harness/in-process-picker.js';
import { completionBody, postHeaders } from '../harness/messages.js';
import { FakePod } from '../harness/pods.js';
import { heapAfterGc } from '../harness/process-monitor.js';
import { ScenarioReport } from '../harness/report.js';
import { outcomeKey, requestPhase, type PhaseResult } from '../harness/request-phase.js';
import type { FaultScenario } from '../harness/scenario.js';
import { mapConcurrent, pace, pollUntil } from '../harness/wait.js';

const NS = 'faults';
const APP = { app: 'vllm' };
const SIZES = { ci: { flapSeconds: 3, outageMs: 1500 }, bench: { flapSeconds: 60, outageMs: 5000 } };

function tally(results: readonly PhaseResult[]): string {
  const m = new Map<string, number>();
  for (const r of results) m.set(outcomeKey(r), (m.get(outcomeKey(r)) ?? 0) + 1);
  return [...m].map(([k, v]) => `${k} ${v}`).join(', ');
}

/**
 * What a flapping pod could leak, by kind (the baseline it must return to): this process's timers and
 * other non-socket resources, and the sockets connected to the pod itself (its scraper's, both ends).
 * Other sockets (the fake API server's watches, the load's connections) come and go with the machine's
 * load and say nothing about the pod.
 */
function resources(pod: { readonly host: string; readonly port: number }): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) if (r !== 'TCPSocketWrap') m.set(r, (m.get(r) ?? 0) + 1);
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  const toPod = handles.filter((h) => h instanceof Socket && ((h.remoteAddress === pod.host && h.remotePort === pod.port) || (h.localAddress === pod.host && h.localPort === pod.port))).length;
  if (toPod > 0) m.set(`sockets to the pod`, toPod);
  return m;
}

export const discoveryScenario: FaultScenario = {
  id: 'discovery',
  title: 'unsynced, empty, flapping and unreachable discovery',
  rows: ['1', '2', '7', '8'],
  async run(ctx) {
    const sizes = SIZES[ctx.scale];
    const report = new ScenarioReport('discovery', ctx.scale);
    const crashes = new CrashWatch();
    const pods = [await FakePod.start('127.0.218.1'), await FakePod.start('127.0.218.2'), await FakePod.start('127.0.218.3')];
    const port = pods[0]?.port ?? 0;
    for (const p of pods.slice(1)) await p.close();
    const [p0, p1, p2] = [pods[0] as FakePod, await FakePod.start('127.0.218.2', port), await FakePod.start('127.0.218.3', port)];
    const api = await FakeKubeApiServer.start();
    api.apply(POOLS_V1, { metadata: { name: 'pool', namespace: NS }, spec: { selector: { matchLabels: APP }, targetPorts: [{ number: port }] } });
    api.apply(PODS, podObject('pod-0', NS, APP, p0.host));
    api.apply(PODS, podObject('pod-1', NS, APP, p1.host));
    api.setDown('unavailable');
    const endpoints = [p0.hostPort, p1.hostPort, p2.hostPort];
    const picker = await InProcessPicker.start({ poolName: 'pool', discovery: { kubernetes: { namespace: NS, pool: { poolName: 'pool', poolGroup: POOL_GROUP_V1 }, kubeConfig: kubeConfigForServer(api.url) } } }, endpoints);
    const pool = await FramePool.open({ port: picker.grpcPort }, 2);
    const send = (i: number, headerOnly = false): Promise<PhaseResult> =>
      requestPhase(pool, { headers: headerOnly ? [[':method', 'GET'], [':path', '/v1/models'], ['x-request-id', `d${i}`]] : postHeaders('/v1/completions', `d${i}`), body: headerOnly ? undefined : completionBody(i, 256, 'disc'), endpoints: picker.endpoints });
    try {
      {
        const row = report.row('1', 'requests before discovery has synced (API server down at start), then it comes up', '100/100 → 503; time to SERVING after sync < 1 s');
        const health0 = await healthStatus(picker.healthAddress);
        const early = await mapConcurrent(Array.from({ length: 100 }, (_, i) => i), 10, (i) => send(i, i % 2 === 0));
        const seen = api.requests.length;
        api.setDown(false);
        const listedMs = await pollUntil(() => api.requests.slice(seen).some((r) => r.path.endsWith('/pods') && r.query.get('watch') !== 'true'), 30_000, 5);
        const servingMs = await pollUntil(async () => (await healthStatus(picker.healthAddress)) === 'SERVING', 30_000, 10);
        row.figure('health before sync', health0);
        row.figure('answers before sync', tally(early));
        row.figure('API up → pods listed (reflector backoff: 200 ms doubling)', Math.round(listedMs), 'ms');
        row.figure('pods listed → health SERVING', Math.round(servingMs), 'ms');
        row.check('NOT_SERVING before sync', health0 === 'NOT_SERVING', health0);
        row.check('100/100 answered 503 (no crash, no 500)', early.every((r) => r.kind === 'immediate' && r.status === 503), tally(early));
        row.timing('SERVING within 1 s of the pod list', servingMs, 1000);
        row.see('test/kube/picker-kubernetes.test.ts "is NOT_SERVING while the API server is down"');
      }
      {
        const row = report.row('2', 'no pods: an empty endpoints file, header-only and body requests', '0 non-503');
        const empty = await InProcessPicker.start({ discovery: { endpointsFile: writeEndpointsFile([]) } }, []);
        const ep = await FramePool.open({ port: empty.grpcPort }, 1);
        try {
          const results = await mapConcurrent(Array.from({ length: 100 }, (_, i) => i), 10, (i) =>
            requestPhase(ep, { headers: i % 2 === 0 ? [[':method', 'GET'], [':path', '/v1/models']] : postHeaders('/v1/completions', `e${i}`), body: i % 2 === 0 ? undefined : completionBody(i, 64), endpoints: new Set() }),
          );
          row.figure('answers', tally(results));
          row.check('0 non-503 (header-only and with body)', results.every((r) => r.kind === 'immediate' && r.status === 503 && r.violations.length === 0), tally(results));
          row.see('test/integration/hermetic.test.ts "no backend pods"');
        } finally {
          ep.destroy();
          await empty.stop();
        }
      }
      {
        const row = report.row('7', `a pod flapping readiness every 100 ms for ${sizes.flapSeconds} s while routing`, 'routes to a NotReady pod = 0 after event + X ms; active handles back to baseline');
        api.apply(PODS, podObject('pod-2', NS, APP, p2.host));
        await pollUntil(() => picker.server.datastore.snapshot.endpoints.some((e) => e.hostPort === p2.hostPort && e.metrics.known), 5000);
        const base = resources(p2);
        const heap0 = heapAfterGc();
        p2.maxInFlight = p2.inFlight;
        // NotReady intervals as the picker saw them: from the datastore change dropping pod-2 to the one adding it back.
        const removals: number[] = [];
        const notReady: { from: number; to: number }[] = [];
        let flipAt = 0;
        const off = picker.server.datastore.onChange((snap) => {
          const has = snap.endpoints.some((e) => e.hostPort === p2.hostPort);
          const now = performance.now();
          const open = notReady.at(-1);
          if (!has && (open === undefined || open.to !== Infinity)) {
            notReady.push({ from: now, to: Infinity });
            removals.push(now - flipAt);
          } else if (has && open !== undefined && open.to === Infinity) open.to = now;
        });
        // A pick counts from when its request was sent: the decision cannot be older than that.
        const picks: { sentAt: number; destination: string }[] = [];
        let routing = true;
        let seq = 0;
        const router = (async () => {
          while (routing) {
            const r = await send(1000 + seq++);
            if (r.kind === 'routed') picks.push({ sentAt: r.sentAt, destination: r.destination });
            await pace(1);
          }
        })();
        const end = performance.now() + sizes.flapSeconds * 1000;
        let ready = true;
        let flips = 0;
        while (performance.now() < end) {
          await pace(100);
          ready = !ready;
          flipAt = performance.now();
          api.apply(PODS, podObject('pod-2', NS, APP, p2.host, { ready }));
          flips++;
        }
        if (!ready) api.apply(PODS, podObject('pod-2', NS, APP, p2.host, { ready: true }));
        await pollUntil(() => picker.server.datastore.snapshot.endpoints.length === 3, 5000);
        routing = false;
        await router;
        off();
        const X = 5;
        const bad = picks.filter((p) => p.destination === p2.hostPort && notReady.some((n) => p.sentAt > n.from + X && p.sentAt < n.to)).length;
        const sorted = Float64Array.from(removals).sort();
        const growthOf = (now: Map<string, number>): number => [...now].reduce((n, [k, v]) => n + Math.max(0, v - (base.get(k) ?? 0)), 0);
        await pollUntil(() => growthOf(resources(p2)) <= 2, 3000);
        const after = resources(p2);
        const grew = [...after].filter(([k, v]) => v > (base.get(k) ?? 0)).map(([k, v]) => `${k} ${base.get(k) ?? 0}→${v}`);
        const growth = growthOf(after);
        const heap1 = heapAfterGc();
        row.figure('readiness flips / picks routed meanwhile', `${flips} / ${picks.length}`);
        row.figure('NotReady event → dropped from the datastore p50 / p99 / max', `${quantile(sorted, 0.5).toFixed(1)} / ${quantile(sorted, 0.99).toFixed(1)} / ${(sorted[sorted.length - 1] ?? Number.NaN).toFixed(1)}`, 'ms');
        row.figure(`picks to the pod for requests sent more than ${X} ms into a NotReady interval`, bad);
        row.figure('heap after GC: before → after', `${(heap0 / 1048576).toFixed(1)} → ${(heap1 / 1048576).toFixed(1)} MiB`);
        row.check(`0 routes to the NotReady pod for requests sent ${X} ms after the picker saw the event`, bad === 0, `${bad}`);
        row.figure('timers and pod sockets before the flips', [...base].map(([k, v]) => `${k} ${v}`).join(', '));
        row.figure('active handles: growth over the flips', grew.length === 0 ? 'none' : grew.join(', '));
        row.figure('scrapes of the flapping pod in flight at most', p2.maxInFlight);
        row.check(`no per-pod timer or scraper leaked (handle growth ≤ 2 over ${flips} flips; one scrape in flight at most)`, growth <= 2 && p2.maxInFlight <= 1, `${grew.join(', ')}; ${p2.maxInFlight} scrapes at once`);
      }
      {
        const row = report.row('8', `API server gone for ${sizes.outageMs} ms (connections reset, history compacted → 410 on resume) while routing`, 'routing continues; reconnect within the backoff cap; memory flat');
        const heap0 = heapAfterGc();
        api.setDown('reset');
        const t0 = performance.now();
        const during: PhaseResult[] = [];
        while (performance.now() - t0 < sizes.outageMs) {
          during.push(await send(5000 + during.length));
          await pace(10);
        }
        // A pod added meanwhile, then the old history compacted: the watch resumes into 410 Gone and relists.
        api.delete(PODS, NS, 'pod-0');
        api.compact();
        api.setDown(false);
        const relistMs = await pollUntil(() => !picker.server.datastore.snapshot.endpoints.some((e) => e.hostPort === p0.hostPort), 35_000, 5);
        const after = await mapConcurrent(Array.from({ length: 50 }, (_, i) => i), 5, (i) => send(6000 + i));
        const heap1 = heapAfterGc();
        row.figure('requests while the API server was down', tally(during));
        row.figure('API back → change seen (relist after 410)', Math.round(relistMs), 'ms');
        row.figure('heap after GC: before → after the outage', `${(heap0 / 1048576).toFixed(1)} → ${(heap1 / 1048576).toFixed(1)} MiB`);
        row.check('routing continued on the last known endpoints', during.length > 0 && during.every((r) => r.kind === 'routed' && r.violations.length === 0), tally(during));
        row.check('reconnected within the backoff cap (30 s)', relistMs < 30_000, `${relistMs.toFixed(0)} ms`);
        row.check('routes only to the current pods afterwards', after.every((r) => r.kind === 'routed' && r.destination !== p0.hostPort));
        row.check('memory flat (heap after GC within +5 MiB)', heap1 - heap0 < 5 * 1048576, `${((heap1 - heap0) / 1048576).toFixed(1)} MiB`);
        row.check('0 crashes', crashes.count === 0, crashes.errors.slice(0, 1).join(''));
        row.see('test/kube/discovery.test.ts, test/kube/picker-kubernetes.test.ts (dropped watches, 410 relist, outages)');
      }
    } finally {
      pool.destroy();
      await picker.stop();
      await api.close();
      await Promise.all([p0.close(), p1.close(), p2.close()]);
      crashes.stop();
    }
    return report.result();
  },
};
