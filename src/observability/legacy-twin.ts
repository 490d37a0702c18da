/**
 * Deprecated metric names served from their current twin (llm-d's "dual emission"): the legacy
 * metric records nothing itself; at scrape time it reads the current metric's samples and projects
 * them onto its own, usually smaller, label set, summing the samples that become equal. One
 * observation therefore feeds both names, the request path pays for one, and the two can never
 * disagree. Summing is exact for counters and histogram buckets/sums/counts, and for gauges that
 * count things (running requests): it is how a dropped label is aggregated away.
 */
import type { Registry } from 'prom-client';

/** One sample as prom-client's registry renders it. */
export interface Sample {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
  readonly metricName?: string;
}

/** What a twin reads from its source: anything a prom-client Registry can render. */
export interface SampleSource {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  get(): Promise<{ readonly values: readonly Sample[] }> | { readonly values: readonly Sample[] };
}

/**
 * The legacy metric's labels in its own order: a name kept as is, or `[legacy, current]` where the
 * legacy label is the current one renamed (`pod_name` for `endpoint_name`). Labels of the source not
 * listed are summed away.
 */
export type TwinLabel = string | readonly [legacy: string, current: string];

export interface TwinSpec {
  readonly name: string;
  readonly help: string;
  readonly labels: readonly TwinLabel[];
}

/** Histogram samples carry `le`; it always survives the projection. */
const BUCKET_LABEL = 'le';

/** A deprecated metric rendered from `source`; registered on `registry`. */
export class LegacyTwin {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly aggregator = 'sum';
  /** The legacy label names, in order (for introspection and tests). */
  readonly labelNames: readonly string[];
  readonly #source: SampleSource;
  readonly #from: readonly string[];

  constructor(registry: Registry, source: SampleSource, spec: TwinSpec) {
    this.name = spec.name;
    this.help = spec.help;
    this.type = source.type;
    this.#source = source;
    this.labelNames = spec.labels.map((l) => (typeof l === 'string' ? l : l[0]));
    this.#from = spec.labels.map((l) => (typeof l === 'string' ? l : l[1]));
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    const { values } = await this.#source.get();
    const sourceName = this.#source.name;
    const out = new Map<string, { labels: Record<string, string | number>; value: number; metricName: string }>();
    for (const v of values) {
      const suffix = v.metricName === undefined ? '' : v.metricName.slice(sourceName.length);
      const labels: Record<string, string | number> = {};
      let key = suffix;
      const le = v.labels[BUCKET_LABEL];
      if (le !== undefined) {
        labels[BUCKET_LABEL] = le;
        key += `\u0001${le}`;
      }
      for (let i = 0; i < this.labelNames.length; i++) {
        const value = v.labels[this.#from[i] as string] ?? '';
        labels[this.labelNames[i] as string] = value;
        key += `\u0000${value}`;
      }
      const prev = out.get(key);
      if (prev === undefined) out.set(key, { labels, value: v.value, metricName: this.name + suffix });
      else prev.value += v.value;
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: [...out.values()] };
  }
}

/** The help text of a legacy twin: what replaces it, then what it measures. */
export function deprecatedHelp(current: string, help: string): string {
  return `Deprecated, use ${current}. ${help}`;
}

/**
 * Registers the deprecated twin `name` of `metric` (a HotMetric, a RequestMetricView or a prom-client
 * metric: all carry `name`, `help` and `type` at run time, though prom-client's typings omit them).
 */
export function twin(registry: Registry, metric: object, name: string, labels: readonly TwinLabel[]): LegacyTwin {
  const source = asSampleSource(metric);
  return new LegacyTwin(registry, source, { name, help: deprecatedHelp(source.name, source.help), labels });
}

function asSampleSource(metric: object): SampleSource {
  const m = metric as Partial<Record<'name' | 'help' | 'type' | 'get', unknown>>;
  if (typeof m.name !== 'string' || typeof m.help !== 'string' || typeof m.type !== 'string' || typeof m.get !== 'function') {
    throw new TypeError('a legacy twin needs a metric with name, help, type and get()');
  }
  return metric as SampleSource;
}
