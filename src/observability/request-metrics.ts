/**
 * The per-request metric family llm-d labels `{model_name, target_model_name, fairness_id,
 * priority}`: one table of label tuples, each holding every series of that tuple (request counter,
 * running gauge, error counters, the latency/size/token histograms). A request looks its tuple up
 * once and then records with plain arithmetic; each exported metric is a view that renders one field
 * of every tuple, and the deprecated `inference_objective_*` names are LegacyTwins of those views.
 *
 * Bounds: model names share one BoundedLabel, fairness ids have their own (1000 distinct values each,
 * then `other`); the table holds at most `maxSeries` tuples, later ones fold into the all-`other` tuple.
 */
import type { Registry } from 'prom-client';
import { OTHER_LABEL, type BoundedLabel } from './bounded-label.js';
import { CounterSeries, GaugeSeries, HistogramSeries } from './hot-metrics.js';
import type { Sample } from './legacy-twin.js';

/** The shared request label names, in llm-d's order. */
export const REQUEST_LABELS = ['model_name', 'target_model_name', 'fairness_id', 'priority'] as const;

/** The histograms every tuple may hold (created on first observation). */
export const enum RequestHistogram {
  Duration,
  RequestSize,
  ResponseSize,
  InputTokens,
  OutputTokens,
  CachedTokens,
  Ntpot,
  TtftStreaming,
  TtftNonStreaming,
  StreamingTpot,
  StreamingItl,
}
const HISTOGRAM_KINDS = 11;

/** Every series of one label tuple. */
export class RequestSeries {
  readonly requests = new CounterSeries();
  #running: GaugeSeries | undefined;
  #errors: Map<string, CounterSeries> | undefined;
  readonly #histograms: (HistogramSeries | undefined)[] = new Array<HistogramSeries | undefined>(HISTOGRAM_KINDS);

  constructor(
    /** Label values in REQUEST_LABELS order (bounded). */
    readonly labels: Readonly<Record<(typeof REQUEST_LABELS)[number], string>>,
    private readonly bounds: readonly Float64Array[],
  ) {}

  /** The in-flight gauge of this tuple; exported once asked for (as a series exists once touched). */
  get running(): GaugeSeries {
    return (this.#running ??= new GaugeSeries());
  }

  /** @internal for the views */
  get runningIfUsed(): GaugeSeries | undefined {
    return this.#running;
  }

  /** Counts one errored request; `code` comes from a small fixed set (error codes, HTTP statuses). */
  error(code: string): void {
    const errors = (this.#errors ??= new Map<string, CounterSeries>());
    let c = errors.get(code);
    if (c === undefined) {
      c = new CounterSeries();
      errors.set(code, c);
    }
    c.inc();
  }

  observe(kind: RequestHistogram, value: number): void {
    let h = this.#histograms[kind];
    if (h === undefined) {
      h = new HistogramSeries(this.bounds[kind] as Float64Array);
      this.#histograms[kind] = h;
    }
    h.observe(value);
  }

  /** @internal for the views */
  histogram(kind: RequestHistogram): HistogramSeries | undefined {
    return this.#histograms[kind];
  }

  /** @internal for the views */
  get errors(): ReadonlyMap<string, CounterSeries> | undefined {
    return this.#errors;
  }
}

const DEFAULT_MAX_SERIES = 2000;

export class RequestSeriesTable {
  readonly #tuples = new Map<string, RequestSeries>();
  readonly #bounds: Float64Array[] = [];
  readonly #overflow: RequestSeries;

  constructor(
    private readonly models: BoundedLabel,
    private readonly fairness: BoundedLabel,
    buckets: Readonly<Record<RequestHistogram, readonly number[]>>,
    private readonly maxSeries = DEFAULT_MAX_SERIES,
  ) {
    for (let k = 0; k < HISTOGRAM_KINDS; k++) this.#bounds.push(Float64Array.from(buckets[k as RequestHistogram]));
    this.#overflow = new RequestSeries({ model_name: OTHER_LABEL, target_model_name: OTHER_LABEL, fairness_id: OTHER_LABEL, priority: OTHER_LABEL }, this.#bounds);
  }

  /** The series of a request (raw client values: they are bounded here). Hold it for the request's life. */
  series(model: string, target: string, fairnessId: string, priority: number): RequestSeries {
    const m = this.models.bound(model);
    const t = this.models.bound(target);
    const f = this.fairness.bound(fairnessId);
    const p = String(priority);
    const key = `${m}\u0000${t}\u0000${f}\u0000${p}`;
    const found = this.#tuples.get(key);
    if (found !== undefined) return found;
    if (this.#tuples.size >= this.maxSeries) {
      if (!this.#tuples.has('\u0001')) this.#tuples.set('\u0001', this.#overflow);
      return this.#overflow;
    }
    const created = new RequestSeries({ model_name: m, target_model_name: t, fairness_id: f, priority: p }, this.#bounds);
    this.#tuples.set(key, created);
    return created;
  }

  /** @internal for the views */
  tuples(): IterableIterator<RequestSeries> {
    return this.#tuples.values();
  }
}

/** How a view reads its field from a tuple. */
type ViewKind =
  | { readonly kind: 'requests' }
  | { readonly kind: 'running' }
  | { readonly kind: 'errors' }
  | { readonly kind: 'histogram'; readonly histogram: RequestHistogram }
  | { readonly kind: 'ttft' };

/** One exported metric of the family: renders its field of every tuple. */
export class RequestMetricView {
  readonly aggregator = 'sum';
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly labelNames: readonly string[];

  constructor(
    registry: Registry,
    private readonly table: RequestSeriesTable,
    readonly name: string,
    readonly help: string,
    private readonly view: ViewKind,
  ) {
    this.type = view.kind === 'requests' || view.kind === 'errors' ? 'counter' : view.kind === 'running' ? 'gauge' : 'histogram';
    this.labelNames = view.kind === 'errors' ? [...REQUEST_LABELS, 'error_code'] : view.kind === 'ttft' ? [...REQUEST_LABELS, 'streaming'] : REQUEST_LABELS;
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    const values: Sample[] = [];
    const v = this.view;
    for (const s of this.table.tuples()) {
      switch (v.kind) {
        case 'requests':
          if (s.requests.value > 0) values.push({ labels: s.labels, value: s.requests.value });
          break;
        case 'running': {
          const r = s.runningIfUsed;
          if (r !== undefined) values.push({ labels: s.labels, value: r.value });
          break;
        }
        case 'errors':
          if (s.errors !== undefined) for (const [code, c] of s.errors) values.push({ labels: { ...s.labels, error_code: code }, value: c.value });
          break;
        case 'histogram':
          this.#histogram(values, s.histogram(v.histogram), s.labels);
          break;
        case 'ttft':
          this.#histogram(values, s.histogram(RequestHistogram.TtftStreaming), { ...s.labels, streaming: 'true' });
          this.#histogram(values, s.histogram(RequestHistogram.TtftNonStreaming), { ...s.labels, streaming: 'false' });
          break;
      }
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  #histogram(out: Sample[], h: HistogramSeries | undefined, labels: Readonly<Record<string, string>>): void {
    if (h === undefined) return;
    renderHistogram(out, this.name, h, labels);
  }
}

/** Appends a histogram series' samples (cumulative buckets, sum, count) in prom-client's shape. */
export function renderHistogram(out: Sample[], name: string, h: HistogramSeries, labels: Readonly<Record<string, string>>): void {
  let cumulative = 0;
  const bounds = h.bounds;
  for (let i = 0; i < bounds.length; i++) {
    cumulative += h.counts[i] ?? 0;
    out.push({ labels: { le: bounds[i] as number, ...labels }, value: cumulative, metricName: `${name}_bucket` });
  }
  out.push({ labels: { le: '+Inf', ...labels }, value: h.count, metricName: `${name}_bucket` });
  out.push({ labels, value: h.sum, metricName: `${name}_sum` });
  out.push({ labels, value: h.count, metricName: `${name}_count` });
}
