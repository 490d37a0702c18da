import { describe, expect, it } from 'vitest';
import { KvCache, type BlockTable } from '../../../src/engine/kv-cache.js';

const B = 4;
/** Distinct hashes for `n` blocks, prefixed so different `tag`s never share. */
const hashes = (tag: number, n: number): Float64Array => Float64Array.from({ length: n }, (_, i) => tag * 1000 + i);

function run(kv: KvCache, h: Float64Array, tokens: number): BlockTable {
  const table: BlockTable = [];
  const cached = kv.cachedBlocks(h, tokens);
  expect(kv.allocate(table, h, cached, tokens)).toBe(true);
  kv.registerHashes(table, h, 0, Math.floor(tokens / B));
  return table;
}

describe('KvCache', () => {
  it('always recomputes the last prompt token: at most floor((n-1)/B) blocks hit', () => {
    const kv = new KvCache(32, B);
    const h = hashes(1, 4);
    kv.release(run(kv, h, 16));
    expect(kv.cachedBlocks(h, 16)).toBe(3);
    expect(kv.cachedBlocks(h, 17)).toBe(4);
    expect(kv.cachedBlocks(h, 1)).toBe(0);
  });

  it('stops at the first miss', () => {
    const kv = new KvCache(32, B);
    kv.release(run(kv, hashes(1, 4), 16));
    const other = Float64Array.from([1000, 9999, 1002, 1003]);
    expect(kv.cachedBlocks(other, 100)).toBe(1);
  });

  it('keeps freed blocks as cache (not counted as used) until LRU eviction reuses them', () => {
    const kv = new KvCache(8, B);
    const a = hashes(1, 4);
    const tableA = run(kv, a, 16);
    expect(kv.usage).toBe(0.5);
    kv.release(tableA);
    expect(kv.usage).toBe(0);
    expect(kv.cachedBlocks(a, 17)).toBe(4);

    // 4 fresh blocks come from the never-used blocks first (LRU head), so A survives.
    const tableB = run(kv, hashes(2, 4), 16);
    expect(kv.cachedBlocks(a, 17)).toBe(4);
    expect(kv.evictions).toBe(0);
    kv.release(tableB);

    // Two more blocks evict A's blocks, tail first (released in reverse order): A keeps its head.
    const tableC: BlockTable = [];
    expect(kv.allocate(tableC, hashes(3, 2), 0, 8)).toBe(true);
    expect(kv.evictions).toBe(2);
    expect(kv.cachedBlocks(a, 17)).toBe(2);
  });

  it('never evicts referenced blocks and fails allocation all-or-nothing', () => {
    const kv = new KvCache(4, B);
    const held = run(kv, hashes(1, 3), 12);
    const t: BlockTable = [];
    expect(kv.allocate(t, hashes(2, 2), 0, 8)).toBe(false);
    expect(t).toEqual([]);
    expect(kv.freeBlocks).toBe(1);
    expect(kv.cachedBlocks(hashes(1, 3), 13)).toBe(3);
    expect(held).toHaveLength(3);
  });

  it('a hit takes a free cached block out of the free queue and shares referenced ones', () => {
    const kv = new KvCache(8, B);
    const h = hashes(1, 2);
    const t1 = run(kv, h, 8);
    const t2: BlockTable = [];
    expect(kv.allocate(t2, h, kv.cachedBlocks(h, 9), 9)).toBe(true);
    expect(t2.slice(0, 2)).toEqual(t1);
    expect(kv.freeBlocks).toBe(5);
    kv.release(t1);
    expect(kv.freeBlocks).toBe(5);
    kv.release(t2);
    expect(kv.freeBlocks).toBe(8);
  });

  it('resetPrefixCache forgets unreferenced blocks only', () => {
    const kv = new KvCache(8, B);
    kv.release(run(kv, hashes(1, 2), 8));
    const held = run(kv, hashes(2, 2), 8);
    kv.resetPrefixCache();
    expect(kv.cachedBlocks(hashes(1, 2), 9)).toBe(0);
    expect(kv.cachedBlocks(hashes(2, 2), 9)).toBe(2);
    expect(held).toHaveLength(2);
  });
});
