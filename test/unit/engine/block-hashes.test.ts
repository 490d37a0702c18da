import { describe, expect, it } from 'vitest';
import { expandHashIds, hashTokenBlocks } from '../../../src/engine/block-hashes.js';

describe('block hashes', () => {
  it('hashes full token blocks only, chained', () => {
    const a = hashTokenBlocks([1, 2, 3, 4, 5, 6, 7, 8, 9], 4);
    const b = hashTokenBlocks([1, 2, 3, 4, 0, 6, 7, 8], 4);
    expect(a).toHaveLength(2);
    expect(a[0]).toBe(b[0]);
    expect(a[1]).not.toBe(b[1]);
    for (const h of a) expect(Number.isSafeInteger(h) && h >= 0).toBe(true);
  });

  it('separates seeds (LoRA, cache salt)', () => {
    expect(hashTokenBlocks([1, 2, 3, 4], 4, 'lora-a')[0]).not.toBe(hashTokenBlocks([1, 2, 3, 4], 4)[0]);
  });

  it('expands coarse ids into engine blocks that share exactly the shared id prefix', () => {
    const a = expandHashIds([0, 1, 2], 512, 1300, 16);
    const b = expandHashIds([0, 1, 7], 512, 1536, 16);
    expect(a).toHaveLength(81);
    expect(b).toHaveLength(96);
    expect([...a.subarray(0, 64)]).toEqual([...b.subarray(0, 64)]);
    expect(a[64]).not.toBe(b[64]);
    expect(new Set(a).size).toBe(81);
    expect(() => expandHashIds([0], 500, 500, 16)).toThrow(RangeError);
  });
});
