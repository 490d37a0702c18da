import type { EngineClock } from '../../src/mockvllm/engine-pacer.js';

interface Timer {
  readonly at: number;
  readonly fn: () => void;
}

/** A hand-driven `EngineClock`: time moves only through `advance`, which fires due timers in order. */
export class ManualClock implements EngineClock {
  t = 0;
  readonly #timers = new Set<Timer>();

  now(): number {
    return this.t;
  }

  setTimer(fn: () => void, ms: number): () => void {
    const timer: Timer = { at: this.t + ms, fn };
    this.#timers.add(timer);
    return () => this.#timers.delete(timer);
  }

  /** Moves time forward by `ms`, firing every timer due on the way and letting promise callbacks run after each. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      let next: Timer | undefined;
      for (const timer of this.#timers) if (timer.at <= end && (next === undefined || timer.at < next.at)) next = timer;
      if (next === undefined) break;
      this.#timers.delete(next);
      this.t = Math.max(this.t, next.at);
      next.fn();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.t = end;
  }
}
