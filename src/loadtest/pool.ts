/** Bounded concurrency with a stage deadline. */

/** What {@link runPool} did: results of the tasks it started, in index order, and how many it never started. */
export interface PoolResult<T> {
  readonly results: readonly T[];
  readonly notStarted: number;
}

/**
 * Runs `task(0 … count-1)` with at most `concurrency` in flight, starting tasks in index order, and
 * starts no task once `signal` has aborted (the tasks themselves get the signal to end early). Tasks
 * must not reject (a rejection rejects the pool after the running tasks settle). `onSettled` sees
 * each result as it arrives.
 */
export async function runPool<T>(
  count: number,
  concurrency: number,
  signal: AbortSignal,
  task: (index: number, signal: AbortSignal) => Promise<T>,
  onSettled?: (result: T) => void,
): Promise<PoolResult<T>> {
  const slots: (T | undefined)[] = new Array<T | undefined>(count).fill(undefined);
  const started = new Array<boolean>(count).fill(false);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count && !signal.aborted) {
      const i = next++;
      started[i] = true;
      const result = await task(i, signal);
      slots[i] = result;
      onSettled?.(result);
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, () => worker());
  const settled = await Promise.allSettled(workers);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  const results: T[] = [];
  for (let i = 0; i < count; i++) if (started[i] === true) results.push(slots[i] as T);
  return { results, notStarted: started.filter((s) => !s).length };
}

/** A signal that aborts after `ms` (reason named `StageDeadline`); `dispose` cancels the timer. */
export function stageDeadline(ms: number): { readonly signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    const reason = new Error(`stage deadline of ${ms} ms passed`);
    reason.name = 'StageDeadline';
    controller.abort(reason);
  }, ms);
  timer.unref();
  return { signal: controller.signal, dispose: () => clearTimeout(timer) };
}
