/** Bounded waiting: every wait in the fault suite ends by a deadline. */

/** Polls `probe` every `stepMs` until it returns true; resolves with the elapsed ms, or NaN at `timeoutMs`. */
export async function pollUntil(probe: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 10): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await probe()) return performance.now() - t0;
    if (performance.now() - t0 >= timeoutMs) return Number.NaN;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Polls `read` until its value has not changed for `stableMs`; resolves with the elapsed ms, or NaN at `timeoutMs`. */
export async function settle(read: () => number | Promise<number>, stableMs: number, timeoutMs: number, stepMs = 20): Promise<number> {
  const t0 = performance.now();
  let last = await read();
  let since = t0;
  for (;;) {
    await new Promise((r) => setTimeout(r, stepMs));
    const now = performance.now();
    const v = await read();
    if (v !== last) {
      last = v;
      since = now;
    } else if (now - since >= stableMs) return now - t0;
    if (now - t0 >= timeoutMs) return Number.NaN;
  }
}

/** Resolves after `ms` (for pacing load, never to wait for an outcome). */
export function pace(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs `work` over `items` with at most `concurrency` at a time. */
export async function mapConcurrent<T, R>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, () => worker()));
  return out;
}
