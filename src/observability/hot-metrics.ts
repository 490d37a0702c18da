/**
 * Counters, gauges and histograms for the request path. prom-client re-validates and re-hashes labels
 * on every update (about 1 µs each, several per request); these keep one series object per
 * label-value tuple, so an update is a cached lookup plus arithmetic. They register into a
 * prom-client Registry and render in the standard text format.
 *
 * Label values often come from clients (model names). Labels declared `bounded` pass through their
 * BoundedLabel first (at most 1000 distinct values of at most 256 bytes, the rest `other`). As a
 * second line of defence each metric holds at most `maxSeries` tuples; later ones are folded into one
 * extra series whose labels are all `other`, the reference's one value for "not broken out".
 */
import type { Registry } from 'prom-client';
import { OTHER_LABEL, type BoundedLabel } from './bounded-label.js';

/** The label values of the series that tuples beyond `maxSeries` are folded into. */
export const OVERFLOW_LABEL = OTHER_LABEL;
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
  /** Labels whose (client-chosen) values are bounded, and by which limiter; limiters may be shared. */
  readonly bounded?: { readonly [K in L]?: BoundedLabel };
}

/** A label-tuple → series table with a cardinality bound. */
abstract class HotMetric<L extends string, S> {
  readonly name: string;
  readonly help: string;
  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  readonly aggregator = 'sum';
  protected readonly series = new Map<string, { labels: Record<string, string>; series: S }>();
  readonly labelNames: readonly L[];
  readonly #maxSeries: number;
  /** Positions of the bounded labels, and their limiters. */
  readonly #boundedAt: number[] = [];
  readonly #boundedBy: BoundedLabel[] = [];
  readonly #overflow: readonly string[];
  readonly #overflowKey: string;

  constructor(decl: MetricDeclaration<L>) {
    this.name = decl.name;
    this.help = decl.help;
    this.labelNames = decl.labelNames;
    this.#maxSeries = decl.maxSeries ?? DEFAULT_MAX_SERIES;
    this.#overflow = decl.labelNames.map(() => OVERFLOW_LABEL);
    this.#overflowKey = this.#overflow.join('\u0000');
    decl.labelNames.forEach((n, i) => {
      const limiter = decl.bounded?.[n];
      if (limiter === undefined) return;
      this.#boundedAt.push(i);
      this.#boundedBy.push(limiter);
    });
    // prom-client's Registry only needs name/help/type/get(); the cast bridges its class-typed API.
    decl.registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  protected abstract create(): S;

  /**
   * The series for these label values (in `labelNames` order, raw: bounded labels are bounded here);
   * cache it when the values are fixed. Holding the returned series is how paired updates (gauge
   * inc/dec) stay on one series whatever is admitted or pinned in between.
   */
  labels(...values: string[]): S {
    const at = this.#boundedAt;
    for (let i = 0; i < at.length; i++) {
      const pos = at[i] as number;
      values[pos] = (this.#boundedBy[i] as BoundedLabel).bound(values[pos] ?? '');
    }
    const key = values.length === 1 ? (values[0] ?? '') : values.join('\u0000');
    const entry = this.series.get(key);
    if (entry !== undefined) return entry.series;
    if (this.series.size < this.#maxSeries) return this.#add(key, values);
    return this.series.get(this.#overflowKey)?.series ?? this.#add(this.#overflowKey, this.#overflow);
  }

  #add(key: string, values: readonly string[]): S {
    const labels: Record<string, string> = {};
    this.labelNames.forEach((n, i) => (labels[n] = values[i] ?? ''));
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

export class GaugeSeries {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
  dec(by = 1): void {
    this.value -= by;
  }
}

export class HotGauge<L extends string> extends HotMetric<L, GaugeSeries> {
  readonly type = 'gauge';
  protected create(): GaugeSeries {
    return new GaugeSeries();
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
  constructor(readonly bounds: Float64Array) {
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
