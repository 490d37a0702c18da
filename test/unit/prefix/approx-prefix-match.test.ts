import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../../src/datastore/endpoint.js';
import { ApproxPrefixMatch } from '../../../src/prefix/approx-prefix-match.js';
import { endpoint } from '../../helpers/endpoints.js';

describe('ApproxPrefixMatch', () => {
  const pool = [endpoint(0), endpoint(1), endpoint(2)] as [Endpoint, Endpoint, Endpoint];
  const info = (): ApproxPrefixMatch => new ApproxPrefixMatch(10, 16, new Uint32Array(20), pool, Int32Array.from([3, 0, 7]));

  it('answers matchedBlocks for any endpoint, the same on first and later lookups', () => {
    const m = info();
    expect(m.matchedBlocks(pool[2])).toBe(7);
    expect(pool.map((e) => m.matchedBlocks(e))).toEqual([3, 0, 7]);
    expect(m.matchedBlocks(endpoint(5))).toBe(0);
    expect(info().matchedBlocks(endpoint(5))).toBe(0);
  });

  it('hands out its counts only for the candidate list it was computed over', () => {
    const m = info();
    expect(m.countsFor(pool)).toBe(m.counts);
    expect(m.countsFor(pool.slice())).toBeUndefined();
  });
});
