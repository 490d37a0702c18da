/**
 * Open-loop load: exchanges started at a fixed rate (as a gateway's clients arrive), each on a new
 * stream of a connection pool, bounded in count, time and concurrency. Counts every outcome; keeps
 * the decision latencies of routed exchanges.
 */
import { runExchange, type ExchangeOutcome, type ExchangeSpec } from './exchange.js';
import type { StreamOpener } from './stream-record.js';

export interface OpenLoopPlan {
  readonly pool: StreamOpener;
  /** Exchanges started per second. */
  readonly rate: number;
  readonly durationMs: number;
  /** Exchanges alive at once beyond which new starts are skipped (and counted). */
  readonly maxInFlight: number;
  readonly spec: (seq: number) => ExchangeSpec;
  /** First sequence number (distinct request ids across runs). */
  readonly firstSeq?: number;
  /** Called once a second with the running totals. */
  readonly onSecond?: (stats: OpenLoopStats, elapsedMs: number) => void;
}

export interface OpenLoopStats {
  started: number;
  ok: number;
  failed: number;
  /** Response streams cut by the server or the connection. */
  cut: number;
  /** Starts skipped: no usable connection, or at the in-flight bound. */
  skipped: number;
  inFlight: number;
  maxInFlight: number;
  /** Fault exchanges among `started`. */
  faults: number;
  readonly reasons: Map<string, number>;
  readonly decisionMs: number[];
  durationMs: number;
}

function note(stats: OpenLoopStats, reason: string): void {
  const key = reason.replace(/\d+/g, 'N').slice(0, 140);
  if (stats.reasons.has(key) || stats.reasons.size < 12) stats.reasons.set(key, (stats.reasons.get(key) ?? 0) + 1);
}

/** Runs the plan; resolves when every started exchange has finished (each is bounded by its own timeout). */
export async function runOpenLoop(plan: OpenLoopPlan): Promise<OpenLoopStats> {
  const stats: OpenLoopStats = { started: 0, ok: 0, failed: 0, cut: 0, skipped: 0, inFlight: 0, maxInFlight: 0, faults: 0, reasons: new Map(), decisionMs: [], durationMs: 0 };
  const live = new Set<Promise<void>>();
  const t0 = performance.now();
  let seq = plan.firstSeq ?? 0;
  let due = 0;
  let lastSecond = 0;
  const record = (o: ExchangeOutcome): void => {
    if (o.ok) stats.ok++;
    else {
      stats.failed++;
      note(stats, o.reason);
    }
    if (o.cut) stats.cut++;
    if (Number.isFinite(o.decisionMs)) stats.decisionMs.push(o.decisionMs);
  };
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const elapsed = performance.now() - t0;
      const over = elapsed >= plan.durationMs;
      // A late last tick still starts everything due within the duration.
      const target = Math.floor((Math.min(elapsed, plan.durationMs) * plan.rate) / 1000);
      while (due < target) {
        due++;
        if (stats.inFlight >= plan.maxInFlight) {
          stats.skipped++;
          continue;
        }
        const stream = plan.pool.open();
        if (stream === undefined) {
          stats.skipped++;
          continue;
        }
        const spec = plan.spec(seq++);
        stats.started++;
        if (spec.fault !== undefined) stats.faults++;
        stats.inFlight++;
        stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
        const p: Promise<void> = runExchange(stream, spec).then(
          (o) => {
            stats.inFlight--;
            live.delete(p);
            record(o);
          },
          (err: unknown) => {
            stats.inFlight--;
            live.delete(p);
            stats.failed++;
            note(stats, `harness error: ${err instanceof Error ? err.message : String(err)}`);
          },
        );
        live.add(p);
      }
      if (elapsed - lastSecond >= 1000) {
        lastSecond = elapsed;
        plan.onSecond?.(stats, elapsed);
      }
      if (over) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, 5);
  });
  stats.durationMs = performance.now() - t0;
  await Promise.all([...live]);
  return stats;
}
