/**
 * Rows 21 and 23: a bug or a stall inside the picker's own request path. The real Director (default
 * scheduling profile, real datastore) runs behind the real ext_proc session and transport, wrapped
 * by a fault-injecting router: for a marked request it throws, returns a rejected promise, throws
 * when the response starts or when the request is released — or never decides (a plugin stuck for
 * 60 s). Only that stream fails (500, or 503 at the decision deadline); every other stream is
 * routed and the process carries on.
 */
import type { Director, RequestRouter, RoutingDecision, RoutingInput } from '../../../src/director/director.js';
import { BarePicker } from '../harness/bare-picker.js';
import { CrashWatch } from '../harness/crash-watch.js';
import { FramePool } from '../harness/frame-client.js';
import { loopbackEndpoints } from '../harness/in-process-picker.js';
import { completionBody, FULL_DUPLEX, postHeaders, requestBody, requestHeaders, responseBody, responseHeaders } from '../harness/messages.js';
import { ScenarioReport } from '../harness/report.js';
import { outcomeKey, requestPhase } from '../harness/request-phase.js';
import type { FaultScenario } from '../harness/scenario.js';
import { mapConcurrent, pollUntil } from '../harness/wait.js';

const SIZES = { ci: { streams: 100, decisionTimeoutMs: 300, stalls: 5 }, bench: { streams: 100, decisionTimeoutMs: 5000, stalls: 20 } };

type Injection = 'throw' | 'reject' | 'throw-on-first-byte' | 'throw-on-release' | 'stall-60s';
const INJECTIONS: readonly Injection[] = ['throw', 'reject', 'throw-on-first-byte', 'throw-on-release', 'stall-60s'];

/** The real Director, with faults injected for requests whose x-request-id names one. */
class FaultInjectingRouter implements RequestRouter {
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #marked = new WeakMap<RoutingDecision, Injection>();
  constructor(private readonly inner: Director) {}

  route(input: RoutingInput): RoutingDecision | Promise<RoutingDecision> {
    const injection = INJECTIONS.find((i) => input.requestId.startsWith(`poison-${i}-`));
    if (injection === 'throw') throw new TypeError('injected handler bug');
    if (injection === 'reject') return Promise.reject(new RangeError('injected async failure'));
    if (injection === 'stall-60s') {
      return new Promise((resolve) => {
        const t = setTimeout(() => {
          this.#timers.delete(t);
          resolve(this.inner.route(input));
        }, 60_000);
        this.#timers.add(t);
      });
    }
    const decision = this.inner.route(input);
    if (injection !== undefined) this.#marked.set(decision, injection);
    return decision;
  }

  firstResponseByte(decision: RoutingDecision): void {
    if (this.#marked.get(decision) === 'throw-on-first-byte') throw new TypeError('injected bug at the first response byte');
    this.inner.firstResponseByte?.(decision);
  }

  release(decision: RoutingDecision): void {
    this.inner.release(decision);
    if (this.#marked.get(decision) === 'throw-on-release') throw new TypeError('injected bug at release');
  }

  stop(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}

export const isolationScenario: FaultScenario = {
  id: 'isolation',
  title: 'injected handler bugs and a stalled decision',
  rows: ['21', '23'],
  async run(ctx) {
    const sizes = SIZES[ctx.scale];
    const report = new ScenarioReport('isolation', ctx.scale);
    const endpoints = loopbackEndpoints(4, 8000, 214);
    let router: FaultInjectingRouter | undefined;
    const picker = await BarePicker.start({
      endpoints,
      decisionTimeoutMs: sizes.decisionTimeoutMs,
      wrap: (director) => (router = new FaultInjectingRouter(director)),
    });
    const tracker = picker.tracker;
    const crashes = new CrashWatch();
    const pool = await FramePool.open({ port: picker.port }, 2);
    const endpointSet = new Set(endpoints);
    const uptime0 = process.uptime();
    try {
      {
        const row = report.row('21', 'handler bugs: one poisoned stream among 100, for each of 4 injections (sync throw, rejected promise, throw at the first response byte, throw at release)', 'only that stream fails (500); 99/100 other streams OK; process uptime unchanged');
        for (const injection of INJECTIONS.filter((i) => i !== 'stall-60s')) {
          const poisoned = 37;
          const results = await mapConcurrent(Array.from({ length: sizes.streams }, (_, i) => i), 25, async (i) => {
            const id = i === poisoned ? `poison-${injection}-${i}` : `ok-${injection}-${i}`;
            const s = pool.open();
            if (s === undefined) return 'no-connection';
            s.send(requestHeaders(postHeaders('/v1/completions', id), false, { protocol_config: FULL_DUPLEX }));
            s.send(requestBody(completionBody(i, 128, injection), true));
            await s.until((x) => x.responses.some((r) => r.immediate_response !== undefined || r.request_body?.response?.body_mutation?.streamed_response?.end_of_stream === true) || x.closed, 5000);
            let outcome = s.responses.find((r) => r.immediate_response !== undefined)?.immediate_response?.status?.code ?? (s.closed ? 'closed' : 'routed');
            if (outcome === 'routed') {
              // The response phase (where first-byte and release faults fire).
              s.send(responseHeaders());
              s.send(responseBody('data: {"choices":[{"text":"x"}]}\n\n', true));
              await s.until((x) => x.responses.some((r) => r.response_body?.response?.body_mutation?.streamed_response?.end_of_stream === true) || x.closed, 5000);
              const late = s.responses.find((r) => r.immediate_response !== undefined)?.immediate_response?.status?.code;
              if (late !== undefined) outcome = late;
              else if (s.cut) outcome = 'cut';
            }
            s.reset();
            return String(outcome);
          });
          const others = results.filter((_, i) => i !== poisoned);
          const ok = others.filter((o) => o === 'routed').length;
          row.figure(`${injection}: poisoned stream / others routed`, `${results[poisoned] ?? '?'} / ${ok} of ${others.length}`);
          const poisonedOk = injection === 'throw' || injection === 'reject' ? results[poisoned] === '500' : results[poisoned] === '500' || results[poisoned] === 'routed';
          row.check(`${injection}: the poisoned stream alone fails, with 500 (or completes when the bug is after its answer)`, poisonedOk, String(results[poisoned]));
          row.check(`${injection}: ${others.length}/${others.length} other streams routed`, ok === others.length, others.filter((o) => o !== 'routed').slice(0, 3).join(', '));
        }
        row.figure('process uptime', `${uptime0.toFixed(1)} → ${process.uptime().toFixed(1)} s (same process)`);
        row.check('0 crashes (uncaught exceptions, unhandled rejections)', crashes.count === 0, crashes.errors.slice(0, 1).join(''));
        row.check('live streams back to 0', !Number.isNaN(await pollUntil(() => tracker.active === 0, 5000)), `${tracker.active} live`);
        row.see('test/integration/isolation.test.ts');
      }
      {
        const row = report.row('23', `hung scheduling: ${sizes.stalls} decisions stuck for 60 s (decision deadline ${sizes.decisionTimeoutMs} ms) beside normal traffic`, 'reply by the deadline ± 50 ms (503)');
        const stalled = Array.from({ length: sizes.stalls }, (_, i) =>
          requestPhase(pool, { headers: postHeaders('/v1/completions', `poison-stall-60s-${i}`), body: completionBody(i, 128, 'stall'), endpoints: endpointSet, timeoutMs: sizes.decisionTimeoutMs + 5000 }),
        );
        const normal = mapConcurrent(Array.from({ length: 50 }, (_, i) => i), 10, (i) => requestPhase(pool, { headers: postHeaders('/v1/completions', `beside-${i}`), body: completionBody(i, 128, 'beside'), endpoints: endpointSet }));
        const [s, n] = await Promise.all([Promise.all(stalled), normal]);
        const late = s.map((r) => r.ms - sizes.decisionTimeoutMs);
        row.figure('answers', [...new Set(s.map((r) => `${outcomeKey(r)} ${r.reason.slice(0, 60)}`))].join(' | '));
        row.figure('answer time − deadline: min / max', `${Math.min(...late).toFixed(1)} / ${Math.max(...late).toFixed(1)}`, 'ms');
        row.figure('normal requests routed meanwhile', `${n.filter((r) => r.kind === 'routed').length} / ${n.length}`);
        row.check('every stalled decision answered 503 (DeadlineExceeded)', s.every((r) => r.kind === 'immediate' && r.status === 503 && r.reason.includes('DeadlineExceeded')), s.map(outcomeKey).join(','));
        row.check('none answered before the deadline', late.every((d) => d >= -1), late.map((d) => d.toFixed(0)).join(','));
        row.timing('answered by the deadline + 50 ms', Math.max(0, ...late), 50, late.map((d) => d.toFixed(0)).join(','));
        row.check('traffic beside the stalls routed', n.every((r) => r.kind === 'routed' && r.violations.length === 0));
        row.check('live streams back to 0', !Number.isNaN(await pollUntil(() => tracker.active === 0, 5000)), `${tracker.active} live`);
        row.see('test/unit/extproc/session.test.ts (decision deadline with manual timers)');
      }
    } finally {
      router?.stop();
      pool.destroy();
      await picker.close();
      crashes.stop();
    }
    return report.result();
  },
};
