import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../../src/datastore/endpoint.js';
import { BlockHasher } from '../../../src/prefix/block-hasher.js';
import { PrefixIndex } from '../../../src/prefix/prefix-index.js';
import { endpoint } from '../../helpers/endpoints.js';

const hasher = new BlockHasher();

/**
 * The chained hashes of a prompt of tokens: one 4-byte block per token, so prompts sharing their
 * first k tokens share exactly their first k block hashes (as real prompts do).
 */
function hashesOf(tokens: readonly number[]): Uint32Array {
  const text = tokens.map((t) => t.toString(36).padStart(4, '0')).join('');
  return hasher.hash(text, 'model', 4, Math.max(1, tokens.length));
}

const keyAt = (hashes: Uint32Array, i: number): string => `${hashes[2 * i]}:${hashes[2 * i + 1]}`;
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

function match(index: PrefixIndex, tokens: readonly number[], candidates: readonly Endpoint[]): number[] {
  const out = new Int32Array(candidates.length);
  index.match(hashesOf(tokens), candidates, out);
  return Array.from(out);
}

/**
 * The reference's structure, naively: one insertion-ordered Map (oldest first) per endpoint, blocks
 * touched last to first, and the reference's greedy walk over the candidates.
 */
class ModelIndex {
  readonly lru = new Map<Endpoint, { cap: number; keys: Map<string, true> }>();

  add(e: Endpoint, hashes: Uint32Array, capacity: number): void {
    const n = hashes.length / 2;
    let l = this.lru.get(e);
    if (l === undefined) {
      if (n === 0) return;
      l = { cap: capacity, keys: new Map() };
      this.lru.set(e, l);
    }
    l.cap = capacity;
    const { keys } = l;
    const evictOldest = (): void => {
      const oldest = keys.keys().next();
      if (oldest.done !== true) keys.delete(oldest.value);
    };
    while (keys.size > l.cap) evictOldest();
    for (let i = n - 1; i >= 0; i--) {
      const k = keyAt(hashes, i);
      if (keys.delete(k)) {
        keys.set(k, true);
        continue;
      }
      if (keys.size >= l.cap) evictOldest();
      keys.set(k, true);
    }
  }

  match(hashes: Uint32Array, candidates: readonly Endpoint[]): number[] {
    const counts = candidates.map(() => 0);
    for (let b = 0; b < hashes.length / 2; b++) {
      const k = keyAt(hashes, b);
      let held = false;
      candidates.forEach((c, i) => {
        if (this.lru.get(c)?.keys.has(k) === true) {
          counts[i] = (counts[i] ?? 0) + 1;
          held = true;
        }
      });
      if (!held) break;
    }
    return counts;
  }

  holders(key: string): Endpoint[] {
    return [...this.lru.entries()].filter(([, l]) => l.keys.has(key)).map(([e]) => e);
  }

  get size(): number {
    let n = 0;
    for (const l of this.lru.values()) n += l.keys.size;
    return n;
  }
}

describe('PrefixIndex', () => {
  const [a, b, c] = [endpoint(0), endpoint(1), endpoint(2)] as [Endpoint, Endpoint, Endpoint];

  it('matches the longest held prefix and stops at the first block no candidate holds', () => {
    const index = new PrefixIndex();
    index.add(a, hashesOf([0, 1, 2, 3]), 100);
    expect(match(index, [0, 1, 2, 3, 4, 5], [a, b])).toEqual([4, 0]);
    expect(match(index, [0, 1, 9, 3], [a, b])).toEqual([2, 0]);
    expect(match(index, [7, 0, 1], [a, b])).toEqual([0, 0]);
    expect(match(index, [0, 1], [a, b])).toEqual([2, 0]);
  });

  it('every candidate gets its own longest prefix; the depth returned is the longest; non-candidates do not count', () => {
    const index = new PrefixIndex();
    index.add(a, hashesOf([0, 1]), 100);
    index.add(b, hashesOf([0, 1, 2]), 100);
    index.add(c, hashesOf([0, 1, 2, 3, 4]), 100);
    const out = new Int32Array(2);
    expect(index.match(hashesOf([0, 1, 2, 3, 4]), [a, b], out)).toBe(3);
    expect(Array.from(out)).toEqual([2, 3]);
    expect(match(index, [0, 1, 2, 3, 4], [a, b, c])).toEqual([2, 3, 5]);
    expect(match(index, [0, 1, 2, 3, 4], [c, c])).toEqual([5, 5]);
  });

  it('endpoints never added and empty inputs match 0', () => {
    const index = new PrefixIndex();
    expect(match(index, [0, 1], [a])).toEqual([0]);
    index.add(a, hashesOf([0, 1]), 10);
    expect(match(index, [], [a])).toEqual([0]);
    expect(match(index, [0, 1], [b, c])).toEqual([0, 0]);
    index.add(b, hashesOf([]), 10);
    expect(index.endpointCount).toBe(1);
  });

  it('bounds each endpoint by its capacity and evicts least recently used blocks, tail blocks first', () => {
    const index = new PrefixIndex();
    index.add(a, hashesOf([0, 1, 2]), 4);
    index.add(a, hashesOf([10, 11, 12]), 4);
    expect(index.sizeOf(a)).toBe(4);
    expect(index.capacityOf(a)).toBe(4);
    // Blocks 2 and 1 of the first prompt went first; its head block survives.
    const first = hashesOf([0, 1, 2]);
    expect([0, 1, 2].map((i) => index.holders(first, i))).toEqual([[a], [], []]);
    expect(match(index, [0, 1, 2], [a])).toEqual([1]);
    expect(match(index, [10, 11, 12], [a])).toEqual([3]);
    // A prompt longer than the capacity keeps its head.
    index.add(b, hashesOf(range(0, 10)), 3);
    expect(match(index, range(0, 10), [b])).toEqual([3]);
  });

  it('eviction removes the endpoint from that block’s holders only', () => {
    const index = new PrefixIndex();
    index.add(a, hashesOf([0, 1]), 2);
    index.add(b, hashesOf([0, 1]), 2);
    index.add(a, hashesOf([5, 6]), 2);
    expect(index.holders(hashesOf([0]), 0)).toEqual([b]);
    expect(match(index, [0, 1], [a, b])).toEqual([0, 2]);
    index.add(b, hashesOf([7, 8]), 2);
    expect(index.holders(hashesOf([0]), 0)).toEqual([]);
  });

  it('follows capacity changes: a smaller capacity evicts at once', () => {
    const index = new PrefixIndex();
    index.add(a, hashesOf(range(0, 50)), 100);
    expect(index.sizeOf(a)).toBe(50);
    index.add(a, hashesOf([]), 10);
    expect(index.sizeOf(a)).toBe(10);
    expect(index.capacityOf(a)).toBe(10);
    expect(match(index, range(0, 50), [a])).toEqual([10]);
  });

  it('removing an endpoint drops its entries and returns storage once sparse', () => {
    const index = new PrefixIndex();
    const pool = range(0, 8).map((i) => endpoint(i));
    const shared = hashesOf(range(1_000_000, 1_000_100));
    pool.forEach((e, i) => index.add(e, hashesOf(range(i * 20_000, (i + 1) * 20_000)), 50_000));
    pool.forEach((e) => index.add(e, shared, 50_000));
    expect(index.size).toBe(8 * 20_100);
    const full = index.allocatedBytes;
    expect(index.retainOnly([pool[3] as Endpoint])).toBe(7);
    expect(index.endpointCount).toBe(1);
    expect(index.size).toBe(20_100);
    expect(index.allocatedBytes).toBeLessThan(full / 4);
    // What is left is intact after the re-layout.
    expect(match(index, range(60_000, 80_000), pool)).toEqual(pool.map((_, i) => (i === 3 ? 20_000 : 0)));
    expect(match(index, range(1_000_000, 1_000_100), pool)).toEqual(pool.map((_, i) => (i === 3 ? 100 : 0)));
    expect(index.holders(hashesOf([0]), 0)).toEqual([]);
    expect(index.holders(shared, 99)).toEqual([pool[3]]);
    expect(index.removeEndpoint(pool[3] as Endpoint)).toBe(true);
    expect(index.removeEndpoint(pool[3] as Endpoint)).toBe(false);
    expect(index.size).toBe(0);
  });

  it('agrees with the reference’s walk under random prompts, adds, removals, capacity changes and matches', () => {
    const pool = range(0, 5).map((i) => endpoint(i));
    // Tokens from a 3-letter alphabet: prompts share prefixes of every length.
    const prompt = fc.array(fc.nat(2), { maxLength: 10 });
    const op = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('add' as const), ep: fc.nat(4), tokens: prompt, cap: fc.integer({ min: 1, max: 12 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), ep: fc.nat(4) }) },
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('match' as const), tokens: prompt, mask: fc.integer({ min: 1, max: 31 }) }) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const index = new PrefixIndex();
        const model = new ModelIndex();
        const seen = new Map<string, Uint32Array>();
        for (const o of ops) {
          if (o.kind === 'add') {
            const h = hashesOf(o.tokens);
            for (let i = 0; i < o.tokens.length; i++) seen.set(keyAt(h, i), h.subarray(2 * i, 2 * i + 2));
            index.add(pool[o.ep] as Endpoint, h, o.cap);
            model.add(pool[o.ep] as Endpoint, h, o.cap);
          } else if (o.kind === 'remove') {
            index.removeEndpoint(pool[o.ep] as Endpoint);
            model.lru.delete(pool[o.ep] as Endpoint);
          } else {
            const candidates = pool.filter((_, i) => (o.mask & (1 << i)) !== 0);
            const h = hashesOf(o.tokens);
            const out = new Int32Array(candidates.length);
            const depth = index.match(h, candidates, out);
            const want = model.match(h, candidates);
            expect(Array.from(out)).toEqual(want);
            expect(depth).toBe(Math.max(0, ...want));
          }
          expect(index.size).toBe(model.size);
        }
        for (const [key, h] of seen) expect(new Set(index.holders(h, 0))).toEqual(new Set(model.holders(key)));
      }),
      { numRuns: 300, seed: 42 },
    );
  });

  it('stays consistent with the walk through table growth and heavy eviction', () => {
    const index = new PrefixIndex();
    const model = new ModelIndex();
    const pool = range(0, 4).map((i) => endpoint(i));
    let x = 1;
    const rnd = (n: number): number => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x % n;
    };
    // 40 system prompts of 0–30 tokens, each followed by a random tail of up to 40 tokens.
    const systems = range(0, 40).map((s) => range(0, rnd(30)).map((t) => s * 1000 + t));
    const prompt = (): number[] => [...(systems[rnd(systems.length)] ?? []), ...range(0, rnd(40)).map(() => 100_000 + rnd(1_000_000))];
    for (let r = 0; r < 3000; r++) {
      const h = hashesOf(prompt());
      const e = pool[rnd(4)] as Endpoint;
      index.add(e, h, 1500);
      model.add(e, h, 1500);
    }
    expect(index.size).toBe(model.size);
    for (let r = 0; r < 300; r++) {
      const h = hashesOf(prompt());
      const out = new Int32Array(pool.length);
      index.match(h, pool, out);
      expect(Array.from(out)).toEqual(model.match(h, pool));
    }
  });

  it('clear() empties the index', () => {
    const index = new PrefixIndex();
    index.add(a, hashesOf(range(0, 5000)), 10_000);
    index.clear();
    expect(index.size).toBe(0);
    expect(index.endpointCount).toBe(0);
    expect(match(index, range(0, 10), [a])).toEqual([0]);
    index.add(a, hashesOf(range(0, 10)), 10);
    expect(match(index, range(0, 10), [a])).toEqual([10]);
  });
});
