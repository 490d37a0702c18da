/**
 * A set of float64 values (block hashes) in typed arrays: open addressing with linear probing,
 * load ≤ 1/2, growing by doubling. `Set<number>` boxes non-integer doubles and costs several times
 * more per entry; the oracle cache holds one entry per distinct block of a whole trace (millions).
 * Values compare with SameValueZero as in `Set` (−0 is 0); NaN is not supported. Insert-only.
 */
import { hashFloat64 } from '../util/float-hash.js';

export class FloatHashSet {
  #keys: Float64Array;
  #used: Uint8Array;
  #mask: number;
  #size = 0;

  constructor(initialCapacity = 1024) {
    let slots = 16;
    while (slots < initialCapacity * 2) slots *= 2;
    this.#keys = new Float64Array(slots);
    this.#used = new Uint8Array(slots);
    this.#mask = slots - 1;
  }

  get size(): number {
    return this.#size;
  }

  #slot(value: number): number {
    return hashFloat64(value) & this.#mask;
  }

  /** Adds `value`; returns false when it was already present. */
  add(value: number): boolean {
    let i = this.#slot(value);
    while (this.#used[i] === 1) {
      if (this.#keys[i] === value) return false;
      i = (i + 1) & this.#mask;
    }
    this.#used[i] = 1;
    this.#keys[i] = value;
    if (++this.#size * 2 > this.#keys.length) this.#grow();
    return true;
  }

  has(value: number): boolean {
    let i = this.#slot(value);
    while (this.#used[i] === 1) {
      if (this.#keys[i] === value) return true;
      i = (i + 1) & this.#mask;
    }
    return false;
  }

  #grow(): void {
    const keys = this.#keys;
    const used = this.#used;
    this.#keys = new Float64Array(keys.length * 2);
    this.#used = new Uint8Array(keys.length * 2);
    this.#mask = this.#keys.length - 1;
    this.#size = 0;
    for (let i = 0; i < keys.length; i++) if (used[i] === 1) this.add(keys[i] as number);
  }
}
