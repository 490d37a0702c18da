import { describe, expect, it } from 'vitest';
import { mix32, Prng } from '../../src/util/prng.js';

describe('Prng', () => {
  it('is a pure function of its seed', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const c = new Prng(43);
    const xs = Array.from({ length: 100 }, () => a.nextU32());
    expect(Array.from({ length: 100 }, () => b.nextU32())).toEqual(xs);
    expect(Array.from({ length: 100 }, () => c.nextU32())).not.toEqual(xs);
  });

  it('draws floats in [0, 1), ints in range and exponentials with about the asked mean', () => {
    const r = new Prng(7);
    let sum = 0;
    let bad = 0;
    for (let i = 0; i < 20_000; i++) {
      const f = r.next();
      const n = r.int(10);
      if (!(f >= 0 && f < 1) || !(Number.isInteger(n) && n >= 0 && n < 10)) bad++;
      sum += r.exponential(5);
    }
    expect(bad).toBe(0);
    expect(sum / 20_000).toBeGreaterThan(4.8);
    expect(sum / 20_000).toBeLessThan(5.2);
  });

  it('shuffles into a permutation', () => {
    const xs = new Prng(1).shuffle(Array.from({ length: 50 }, (_, i) => i));
    expect([...xs].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(xs).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('mixes without collisions on a range', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 10_000; i++) seen.add(mix32(i));
    expect(seen.size).toBe(10_000);
  });
});
