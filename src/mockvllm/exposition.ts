import { formatPyFloat } from './py-float.js';

/** Label name → value for one sample. Order does not matter: output is sorted like prometheus_client. */
export type Labels = Readonly<Record<string, string>>;

/** Content type of Prometheus text exposition 0.0.4, as vLLM serves it. */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type MetricType = 'gauge' | 'counter' | 'histogram';

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function renderLabels(labels: Labels): string {
  const names = Object.keys(labels).sort();
  if (names.length === 0) return '';
  return `{${names.map((n) => `${n}="${escapeLabelValue(labels[n] ?? '')}"`).join(',')}}`;
}

/**
 * Accumulates Prometheus text exposition in prometheus_client's style: `# HELP` / `# TYPE` per family,
 * labels sorted by name, values in Python float form.
 */
export class ExpositionBuilder {
  private readonly lines: string[] = [];
  private familyIncluded = true;

  /**
   * @param only prometheus_client's `name[]` filter: when set, only families (or samples) whose name
   *   is listed are written, as vLLM's /metrics does for `?name[]=…`.
   */
  constructor(private readonly only?: ReadonlySet<string>) {}

  /** Starts a family; the samples that follow belong to it. */
  family(name: string, type: MetricType, help: string): this {
    this.familyIncluded = this.only === undefined || this.only.has(name);
    if (this.familyIncluded) this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    return this;
  }

  /** Adds one sample line; `name` includes any `_total` / `_bucket` / `_sum` / `_count` suffix. */
  sample(name: string, labels: Labels, value: number): this {
    if (this.familyIncluded || this.only?.has(name) === true) this.lines.push(`${name}${renderLabels(labels)} ${formatPyFloat(value)}`);
    return this;
  }

  toString(): string {
    return this.lines.length === 0 ? '' : `${this.lines.join('\n')}\n`;
  }
}
