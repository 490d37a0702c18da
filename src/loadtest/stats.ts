/** Summary statistics of measured samples. */

/** p50/p95/p99 and the sample count; every quantile is NaN when there are no samples. */
export interface Quantiles {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

/**
 * The `q`-quantile (0 ≤ q ≤ 1) of `sorted` (ascending) by linear interpolation between the closest
 * ranks (numpy's default, Hyndman–Fan type 7); NaN for an empty array.
 */
export function quantileSorted(sorted: readonly number[], q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = Math.min(Math.max(q, 0), 1) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const a = sorted[lo] ?? Number.NaN;
  const b = sorted[hi] ?? Number.NaN;
  return a + (b - a) * (pos - lo);
}

/** p50, p95 and p99 of `values` (any order; non-finite values are ignored). */
export function quantiles(values: readonly number[]): Quantiles {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return { count: sorted.length, p50: quantileSorted(sorted, 0.5), p95: quantileSorted(sorted, 0.95), p99: quantileSorted(sorted, 0.99) };
}

/** The median of `values`, NaN when empty. */
export function median(values: readonly number[]): number {
  return quantiles(values).p50;
}

/** max/mean of `counts`: 1 is perfectly even; NaN when there are no counts or all are zero. */
export function balance(counts: readonly number[]): number {
  if (counts.length === 0) return Number.NaN;
  const total = counts.reduce((a, b) => a + b, 0);
  if (total <= 0) return Number.NaN;
  return Math.max(...counts) / (total / counts.length);
}
