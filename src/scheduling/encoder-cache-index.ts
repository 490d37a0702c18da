/**
 * Which multimodal items each endpoint is believed to hold in its encoder cache: one LRU of item
 * hashes per endpoint, each at most `capacity` entries (eviction is per endpoint, as in the
 * reference). Learned from routing decisions only; a best-effort signal. Lookups (`holds`) do not
 * touch recency; `add` does. Endpoints that leave the pool are dropped with `retainOnly`.
 */
import type { Endpoint } from '../datastore/endpoint.js';

export class EncoderCacheIndex {
  // A Map iterates in insertion order: delete + set moves a hash to the most recent end.
  readonly #lrus = new Map<Endpoint, Map<string, true>>();

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`capacity must be at least 1, got ${capacity}`);
  }

  /** True when `endpoint`'s LRU holds `hash`. */
  holds(endpoint: Endpoint, hash: string): boolean {
    return this.#lrus.get(endpoint)?.has(hash) === true;
  }

  /** Records `hashes` as the most recently used items of `endpoint`, evicting its oldest beyond capacity. */
  add(endpoint: Endpoint, hashes: Iterable<string>): void {
    let lru = this.#lrus.get(endpoint);
    if (lru === undefined) {
      lru = new Map();
      this.#lrus.set(endpoint, lru);
    }
    for (const h of hashes) {
      lru.delete(h);
      lru.set(h, true);
      if (lru.size > this.capacity) {
        const oldest = lru.keys().next();
        if (oldest.done !== true) lru.delete(oldest.value);
      }
    }
  }

  /** The endpoints holding at least one item, with how many. */
  *entries(): IterableIterator<readonly [Endpoint, number]> {
    for (const [e, lru] of this.#lrus) yield [e, lru.size];
  }

  /** Endpoints tracked. */
  get endpoints(): number {
    return this.#lrus.size;
  }

  /** Items tracked over all endpoints. */
  get size(): number {
    let n = 0;
    for (const lru of this.#lrus.values()) n += lru.size;
    return n;
  }

  removeEndpoint(endpoint: Endpoint): boolean {
    return this.#lrus.delete(endpoint);
  }

  /** Drops every endpoint not in `endpoints`; returns how many were dropped. */
  retainOnly(endpoints: Iterable<Endpoint>): number {
    const keep = new Set(endpoints);
    let removed = 0;
    for (const e of [...this.#lrus.keys()]) {
      if (!keep.has(e) && this.#lrus.delete(e)) removed++;
    }
    return removed;
  }
}
