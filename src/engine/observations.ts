/**
 * A growable log of latency observations (seconds) for one engine series (TTFT, ITL): count and sum
 * always, and the values themselves unless recording is off, so a caller can fill Prometheus
 * histograms or compute exact quantiles. Amortised O(1) per observation, no allocation per call.
 */
export class Observations {
  #values: Float64Array;
  #count = 0;
  #sum = 0;

  /** With `keepValues` false only count and sum are kept. */
  constructor(private readonly keepValues = true) {
    this.#values = new Float64Array(keepValues ? 64 : 0);
  }

  get count(): number {
    return this.#count;
  }

  get sum(): number {
    return this.#sum;
  }

  observe(value: number): void {
    if (this.keepValues) {
      if (this.#count === this.#values.length) {
        const grown = new Float64Array(this.#values.length * 2);
        grown.set(this.#values);
        this.#values = grown;
      }
      this.#values[this.#count] = value;
    }
    this.#count++;
    this.#sum += value;
  }

  /** The recorded values in observation order (a view: valid until the next `observe`). Empty when not kept. */
  values(): Float64Array {
    return this.#values.subarray(0, this.keepValues ? this.#count : 0);
  }

  /** The q-quantile (0 ≤ q ≤ 1, nearest rank) of the kept values; NaN when there are none. */
  quantile(q: number): number {
    const v = this.values();
    if (v.length === 0) return Number.NaN;
    const sorted = Float64Array.from(v).sort();
    const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
    return sorted[i] ?? Number.NaN;
  }
}
