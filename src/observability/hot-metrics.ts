/**
 * Counters and histograms for the request path. prom-client re-validates and re-hashes labels on every
 * update (about 1 µs each, several per request); these keep one series object per label-value tuple,
 * so an update is a cached lookup plus arithmetic. They register into a prom-client Registry and
 * render in the standard text format.
 *
 * Label values often come from clients (model names), so each metric holds at most `maxSeries`
 * tuples; later ones are folded into one extra series whose labels are all `__overflow__`.
 */
import type { Registry } from 'prom-client';

export const OVERFLOW_LABEL = '__overflow__';
const DEFAULT_MAX_SERIES = 2000;

interface PromValue {
  readonly labels: Record<string, string | number>;
  readonly value: number;
  readonly metricName?: string;
}

interface MetricDeclaration<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  readonly registry: Registry;
  readonly maxSeries?: number;
}

/** A label-tuple → series table with a cardinality bound. */
abstract class HotMetric<L extends string, S> {
  readonly name: string;
  readonly help: string;
  abstract readonly type: 'counter' | 'histogram';
  readonly aggregator = 'sum';
  protected readonly series = new Map<string, { labels: Record<string, string>; series: S }>();
  readonly #labelNames: readonly L[];
  readonly #maxSeries: number;

  constructor(decl: MetricDeclaration<L>) {
    this.name = decl.name;
    this.help = decl.help;
    this.#labelNames = decl.labelNames;
    this.#maxSeries = decl.maxSeries ?? DEFAULT_MAX_SERIES;
    // prom-client's Registry only needs name/help/type/get(); the cast bridges its class-typed API.
    decl.registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  protected abstract create(): S;

  /** The series for these label values (in `labelNames` order); cache it when the values are fixed. */
  labels(...values: string[]): S {
    const key = values.length === 1 ? (values[0] ?? '') : values.join('\u0000');
    const entry = this.series.get(key);
    if (entry !== undefined) return entry.series;
    if (this.series.size < this.#maxSeries) return this.#add(key, values);
    const overflow = this.#labelNames.map(() => OVERFLOW_LABEL);
    const overflowKey = overflow.join('\u0000');
    return this.series.get(overflowKey)?.series ?? this.#add(overflowKey, overflow);
  }

  #add(key: string, values: readonly string[]): S {
    const labels: Record<string, string> = {};
    this.#labelNames.forEach((n, i) => (labels[n] = values[i] ?? ''));
    const series = this.create();
    this.series.set(key, { labels, series });
    return series;
  }

  abstract get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: PromValue[] }>;
}

export class CounterSeries {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
}

export class HotCounter<L extends string> extends HotMetric<L, CounterSeries> {
  readonly type = 'counter';
  protected create(): CounterSeries {
    return new CounterSeries();
  }
  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: PromValue[] }> {
    const values = [...this.series.values()].map((e) => ({ labels: e.labels, value: e.series.value }));
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }
}

export class HistogramSeries {
  /** Non-cumulative count per bucket; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(private readonly bounds: Float64Array) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > (b[i] as number)) i++;
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.sum += value;
    this.count++;
  }
}

export class HotHistogram<L extends string> extends HotMetric<L, HistogramSeries> {
  readonly type = 'histogram';
  readonly #bounds: Float64Array;

  constructor(decl: MetricDeclaration<L> & { readonly buckets: readonly number[] }) {
    super(decl);
    this.#bounds = Float64Array.from([...decl.buckets].sort((a, b) => a - b));
  }

  protected create(): HistogramSeries {
    return new HistogramSeries(this.#bounds);
  }

  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: PromValue[] }> {
    const values: PromValue[] = [];
    for (const { labels, series } of this.series.values()) {
      let cumulative = 0;
      this.#bounds.forEach((le, i) => {
        cumulative += series.counts[i] ?? 0;
        values.push({ labels: { le, ...labels }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...labels }, value: series.count, metricName: `${this.name}_bucket` });
      values.push({ labels, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: series.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }
}
