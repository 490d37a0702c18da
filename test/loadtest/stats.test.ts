import { describe, expect, it } from 'vitest';
import { balance, median, quantiles, quantileSorted } from '../../src/loadtest/stats.js';

describe('stats', () => {
  it('interpolates quantiles between closest ranks (numpy linear)', () => {
    const sorted = [1, 2, 3, 4];
    expect(quantileSorted(sorted, 0)).toBe(1);
    expect(quantileSorted(sorted, 1)).toBe(4);
    expect(quantileSorted(sorted, 0.5)).toBe(2.5);
    expect(quantileSorted(sorted, 0.95)).toBeCloseTo(3.85, 10);
    const hundred = Array.from({ length: 101 }, (_, i) => i);
    expect(quantiles(hundred)).toEqual({ count: 101, p50: 50, p95: 95, p99: 99 });
  });

  it('sorts its input, ignores non-finite samples, and is NaN without samples', () => {
    expect(quantiles([3, Number.NaN, 1, 2, Infinity])).toEqual({ count: 3, p50: 2, p95: 2.9, p99: 2.98 });
    const empty = quantiles([]);
    expect(empty.count).toBe(0);
    expect(Number.isNaN(empty.p50) && Number.isNaN(empty.p99)).toBe(true);
    expect(median([7])).toBe(7);
  });

  it('computes balance as max/mean', () => {
    expect(balance([10, 10, 10])).toBe(1);
    expect(balance([30, 0, 0])).toBe(3);
    expect(balance([12, 9, 9])).toBeCloseTo(1.2, 10);
    expect(Number.isNaN(balance([]))).toBe(true);
    expect(Number.isNaN(balance([0, 0]))).toBe(true);
  });
});
