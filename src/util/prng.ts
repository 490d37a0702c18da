/**
 * A small seeded pseudo-random generator (mulberry32) and a bijective 32-bit mixer, so every
 * workload is a pure function of its seed. Not cryptographic; period 2³².
 */

/**
 * Mixes a 32-bit integer into a well-spread 32-bit unsigned integer (the murmur3 finaliser, a
 * bijection on uint32: distinct inputs give distinct outputs).
 */
export function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A mulberry32 generator: the same seed always yields the same sequence. */
export class Prng {
  #state: number;

  /** `seed` is taken modulo 2³² (non-integers are truncated). */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** The next value, uniform over the 32-bit unsigned integers. */
  nextU32(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** The next value, uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** An integer uniform in [0, n) for a positive integer `n` ≤ 2³² (modulo bias below 2⁻³² · n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An exponentially distributed value with the given mean (inter-arrival time of a Poisson process). */
  exponential(mean: number): number {
    // 1 − U lies in (0, 1], so the log is finite.
    return -mean * Math.log(1 - this.next());
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const a = items[i] as T;
      items[i] = items[j] as T;
      items[j] = a;
    }
    return items;
  }
}
