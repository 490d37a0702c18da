import { formatPyFloat } from './py-float.js';
import type { ExpositionBuilder, Labels } from './exposition.js';

/** vLLM's `vllm:time_to_first_token_seconds` bucket bounds (v1/metrics/loggers.py). */
export const TTFT_BUCKETS: readonly number[] = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0,
  2560.0,
];

/** vLLM's `vllm:inter_token_latency_seconds` bucket bounds. */
export const ITL_BUCKETS: readonly number[] = [
  0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
];

/** vLLM's request-latency bucket bounds (`vllm:e2e_request_latency_seconds` and friends). */
export const REQUEST_LATENCY_BUCKETS: readonly number[] = [
  0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680,
];

/** A cumulative Prometheus histogram with fixed upper bounds (an implicit `+Inf` bucket is added). */
export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = bounds.map(() => 0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    const i = this.bounds.findIndex((b) => value <= b);
    if (i >= 0) this.counts[i] = (this.counts[i] ?? 0) + 1;
  }

  /** Writes `<name>_bucket` (cumulative, ending at `le="+Inf"`), `<name>_count` and `<name>_sum`. */
  render(out: ExpositionBuilder, name: string, labels: Labels): void {
    let cumulative = 0;
    this.bounds.forEach((bound, i) => {
      cumulative += this.counts[i] ?? 0;
      out.sample(`${name}_bucket`, { ...labels, le: formatPyFloat(bound) }, cumulative);
    });
    out.sample(`${name}_bucket`, { ...labels, le: '+Inf' }, this.count);
    out.sample(`${name}_count`, labels, this.count);
    out.sample(`${name}_sum`, labels, this.sum);
  }
}
