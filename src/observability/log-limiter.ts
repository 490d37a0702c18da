/**
 * Rate limit for log lines a client can trigger (protocol violations, rejected connections): per
 * key, at most `perWindow` lines every `windowMs`; the first line after a quiet spell says how many
 * were suppressed meanwhile.
 */
export class LogLimiter {
  readonly #windows = new Map<string, { start: number; logged: number; suppressed: number }>();

  constructor(
    private readonly perWindow: number,
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  /** Whether to log a line for `key` now, and how many lines for it were suppressed before this one. */
  allow(key: string): { readonly log: boolean; readonly suppressed: number } {
    const t = this.now();
    let w = this.#windows.get(key);
    if (w === undefined || t - w.start >= this.windowMs) {
      const suppressed = w?.suppressed ?? 0;
      // Keys are few (reasons, error codes); keep the map from growing if callers pass client text.
      if (w === undefined && this.#windows.size >= 1000) this.#windows.clear();
      w = { start: t, logged: 1, suppressed: 0 };
      this.#windows.set(key, w);
      return { log: true, suppressed };
    }
    if (w.logged < this.perWindow) {
      w.logged++;
      return { log: true, suppressed: 0 };
    }
    w.suppressed++;
    return { log: false, suppressed: 0 };
  }
}
