/**
 * Timers a test advances by hand (for components that take injected timers): `now()` is the manual
 * clock, and `advance(ms)` runs every timer that falls due, in order.
 */
export class ManualTimers {
  #now = 0;
  #next = 1;
  readonly #due = new Map<number, { at: number; fn: () => void }>();

  now = (): number => this.#now;

  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = this.#next++;
    this.#due.set(id, { at: this.#now + ms, fn });
    return id;
  };

  clearTimeout = (handle: unknown): void => {
    this.#due.delete(handle as number);
  };

  /** Timers still pending. */
  get pending(): number {
    return this.#due.size;
  }

  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let nextId = -1;
      let nextAt = Infinity;
      for (const [id, t] of this.#due) if (t.at <= end && t.at < nextAt) [nextId, nextAt] = [id, t.at];
      if (nextId < 0) break;
      const t = this.#due.get(nextId) as { at: number; fn: () => void };
      this.#due.delete(nextId);
      this.#now = t.at;
      t.fn();
    }
    this.#now = end;
  }
}
