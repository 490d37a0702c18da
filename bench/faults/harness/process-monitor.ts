/**
 * This process's health while a scenario runs: event-loop delay (perf_hooks histogram), memory after
 * a forced collection, and the slope of a memory series.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Event-loop delay over a window; figures in ms. */
export class LoopDelay {
  readonly #h: IntervalHistogram;
  readonly #resolutionMs: number;

  constructor(resolutionMs = 5) {
    this.#resolutionMs = resolutionMs;
    this.#h = monitorEventLoopDelay({ resolution: resolutionMs });
    this.#h.enable();
  }

  /**
   * Delay beyond the sampling timer's own interval, since the start (or the last reset), ms: node's
   * histogram records whole timer periods, so an idle loop reads the resolution, not 0.
   */
  figures(): { readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number } {
    const beyond = (ns: number): number => Math.max(0, ns / 1e6 - this.#resolutionMs);
    return { p50Ms: beyond(this.#h.percentile(50)), p99Ms: beyond(this.#h.percentile(99)), maxMs: beyond(this.#h.max) };
  }

  reset(): void {
    this.#h.reset();
  }

  stop(): void {
    this.#h.disable();
  }
}

let gcFn: (() => void) | undefined;

/** A full collection, whether or not node ran with --expose-gc. */
export function forceGc(): void {
  if (gcFn === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed !== undefined) gcFn = exposed;
    else {
      setFlagsFromString('--expose_gc');
      gcFn = runInNewContext('gc') as () => void;
    }
  }
  gcFn();
  gcFn();
}

/** Heap used after a full collection, bytes. */
export function heapAfterGc(): number {
  forceGc();
  return process.memoryUsage().heapUsed;
}

/** Least-squares slope of `ys` over `xs` (units of y per unit of x); NaN with fewer than two points. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return Number.NaN;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += xs[i] as number;
    sy += ys[i] as number;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] as number) - mx;
    num += dx * ((ys[i] as number) - my);
    den += dx * dx;
  }
  return den === 0 ? Number.NaN : num / den;
}
