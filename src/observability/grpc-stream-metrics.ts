/**
 * llm-d's opt-in ext_proc stream metrics (`--enable-grpc-stream-metrics`): streams open now, how long
 * each stayed open, and how many ended by gRPC status code. Registered only when enabled, as llm-d.
 * Envoy ends each stream with RST_STREAM, which grpc-go reports as `Canceled`: so do we.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { HotHistogram, type HistogramSeries } from './hot-metrics.js';

/** gRPC status names as grpc-go's `codes.Code.String()` prints them (the `code` label values). */
export type GrpcStatusName = 'OK' | 'Canceled';

/** What the ext_proc method reports about its streams (kept narrow so tests can pass a fake). */
export interface StreamMetrics {
  /** A stream opened; returns its start time, to hand back to `finished`. */
  started(): number;
  finished(startedAt: number, code: GrpcStatusName): void;
}

const STREAM_DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600];

export class GrpcStreamMetrics implements StreamMetrics {
  readonly #inflight: Gauge;
  readonly #duration: HistogramSeries;
  readonly #total: Counter<'code'>;

  constructor(
    registry: Registry,
    /** Milliseconds, monotonic (injected for tests). */
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#inflight = new Gauge({ name: 'llm_d_epp_extproc_streams_inflight', help: 'ext_proc gRPC streams open now.', registers: [registry] });
    this.#duration = new HotHistogram({
      name: 'llm_d_epp_extproc_stream_duration_seconds',
      help: 'How long each ext_proc gRPC stream stayed open, in seconds.',
      labelNames: [],
      buckets: STREAM_DURATION_BUCKETS,
      registry,
    }).labels();
    this.#total = new Counter({
      name: 'llm_d_epp_extproc_streams_total',
      help: 'ext_proc gRPC streams ended, by gRPC status code.',
      labelNames: ['code'] as const,
      registers: [registry],
    });
  }

  started(): number {
    this.#inflight.inc();
    return this.now();
  }

  finished(startedAt: number, code: GrpcStatusName): void {
    this.#inflight.dec();
    this.#duration.observe((this.now() - startedAt) / 1000);
    this.#total.labels(code).inc();
  }
}
