/**
 * A token bucket on an injected clock: `burst` tokens, refilled at `ratePerSecond`. Used to bound
 * what a peer may do for free (stream resets, pings, settings, empty frames) without penalising the
 * ordinary rate of it.
 */
export class TokenBucket {
  #tokens: number;
  #at: number;

  constructor(
    private readonly burst: number,
    private readonly ratePerSecond: number,
    private readonly now: () => number,
  ) {
    this.#tokens = burst;
    this.#at = now();
  }

  /** Takes one token; false when the bucket is empty (the caller's limit is exceeded). */
  take(): boolean {
    const t = this.now();
    if (t > this.#at) {
      this.#tokens = Math.min(this.burst, this.#tokens + ((t - this.#at) / 1000) * this.ratePerSecond);
      this.#at = t;
    }
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Tokens left (for tests and diagnostics). */
  get tokens(): number {
    return this.#tokens;
  }
}
