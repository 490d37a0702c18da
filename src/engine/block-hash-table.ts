/**
 * Block hash → block id for one KV cache: open addressing with linear probing and backward-shift
 * deletion in typed arrays, sized once for the cache's block count (load ≤ 1/2, never grows).
 * `Map<number, number>` with non-integer keys boxes every hash and was the engine's hottest spot.
 * Keys compare with `===` (hashes are never NaN or −0); values are block ids ≥ 0.
 */
import { hashFloat64 } from '../util/float-hash.js';

const EMPTY = -1;

export class BlockHashTable {
  readonly #keys: Float64Array;
  readonly #values: Int32Array;
  readonly #mask: number;
  readonly #capacity: number;
  #size = 0;

  /** A table for at most `capacity` entries. */
  constructor(capacity: number) {
    let slots = 16;
    while (slots < capacity * 2) slots *= 2;
    this.#keys = new Float64Array(slots);
    this.#values = new Int32Array(slots).fill(EMPTY);
    this.#mask = slots - 1;
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#size;
  }

  #home(key: number): number {
    return hashFloat64(key) & this.#mask;
  }

  #find(key: number): number {
    let i = this.#home(key);
    while (this.#values[i] !== EMPTY) {
      if (this.#keys[i] === key) return i;
      i = (i + 1) & this.#mask;
    }
    return -1;
  }

  has(key: number): boolean {
    return this.#find(key) >= 0;
  }

  /** The value of `key`, or undefined. */
  get(key: number): number | undefined {
    const i = this.#find(key);
    return i < 0 ? undefined : this.#values[i];
  }

  /** Sets `key` to `value` (≥ 0); throws `RangeError` beyond the capacity given at construction. */
  set(key: number, value: number): void {
    let i = this.#home(key);
    while (this.#values[i] !== EMPTY) {
      if (this.#keys[i] === key) {
        this.#values[i] = value;
        return;
      }
      i = (i + 1) & this.#mask;
    }
    if (this.#size >= this.#capacity) throw new RangeError(`block hash table full (${this.#capacity} entries)`);
    this.#keys[i] = key;
    this.#values[i] = value;
    this.#size++;
  }

  /** Removes `key`; false when it was absent. */
  delete(key: number): boolean {
    let i = this.#find(key);
    if (i < 0) return false;
    this.#size--;
    // Backward shift: move later entries of the probe run into the hole when their home allows it.
    for (let j = (i + 1) & this.#mask; this.#values[j] !== EMPTY; j = (j + 1) & this.#mask) {
      const home = this.#home(this.#keys[j] as number);
      if (((j - home) & this.#mask) >= ((j - i) & this.#mask)) {
        this.#keys[i] = this.#keys[j] as number;
        this.#values[i] = this.#values[j] as number;
        i = j;
      }
    }
    this.#values[i] = EMPTY;
    return true;
  }
}
