/** Bounded waiting for asynchronous discovery effects: never a fixed sleep before an assertion. */

/** Polls `condition` every 10 ms until true; rejects after `timeoutMs` (default 5 s) with `what`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < Math.ceil(timeoutMs / 10) + 1; i++) {
    if (condition()) return;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  if (!condition()) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Resolves with the result of `p`, or rejects once `ms` have passed. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Like {@link waitFor} for an asynchronous check (e.g. a gRPC health call), polled every 50 ms. */
export async function waitForAsync(check: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < Math.ceil(timeoutMs / 50) + 1; i++) {
    if (await check()) return;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
