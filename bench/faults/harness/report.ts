/**
 * What a fault scenario reports: for each row of the reliability plan it covers, the figures it
 * measured and its checks against the plan's pass figure. The runner prints these and the tests
 * assert that every check passed.
 */

/**
 * How much looser latency bounds are at CI scale: the tests share the machine with each other, and
 * timing goals belong to the benchmark (bench scale), so CI fails only on a gross regression.
 */
export const CI_TIMING_SLACK = 4;

/** One pass/fail judgement against the plan. */
export interface Check {
  readonly name: string;
  readonly pass: boolean;
  readonly detail: string;
}

/** A measured value; `unit` is appended when printed. */
export interface Figure {
  readonly name: string;
  readonly value: number | string;
  readonly unit: string;
}

/** The result of one plan row (reliability.md §6, rows 1–30; `E1`, `E2`: the Envoy-shaped runs). */
export interface RowResult {
  readonly row: string;
  readonly title: string;
  /** The plan's pass figure, as the plan words it. */
  readonly passFigure: string;
  readonly figures: readonly Figure[];
  readonly checks: readonly Check[];
  /** Where else this row is covered (existing tests and benchmarks). */
  readonly seeAlso: readonly string[];
}

export interface ScenarioResult {
  readonly scenario: string;
  readonly durationMs: number;
  readonly rows: readonly RowResult[];
}

/** Collects one row's figures and checks. */
export class RowReport {
  readonly figures: Figure[] = [];
  readonly checks: Check[] = [];
  readonly seeAlso: string[] = [];

  constructor(
    readonly row: string,
    readonly title: string,
    readonly passFigure: string,
    readonly timingSlack = 1,
  ) {}

  figure(name: string, value: number | string, unit = ''): void {
    this.figures.push({ name, value, unit });
  }

  /** Records a check; returns `pass` so callers can branch on it. */
  check(name: string, pass: boolean, detail = ''): boolean {
    this.checks.push({ name, pass, detail });
    return pass;
  }

  /** A latency bound, `valueMs` ≤ `limitMs` (times the slack at CI scale); returns whether it held. */
  timing(name: string, valueMs: number, limitMs: number, detail = `${valueMs.toFixed(0)} ms`): boolean {
    const limit = limitMs * this.timingSlack;
    return this.check(this.timingSlack === 1 ? name : `${name} [CI scale: ≤ ${limit.toFixed(0)} ms]`, valueMs <= limit, detail);
  }

  see(where: string): void {
    this.seeAlso.push(where);
  }

  result(): RowResult {
    return { row: this.row, title: this.title, passFigure: this.passFigure, figures: [...this.figures], checks: [...this.checks], seeAlso: [...this.seeAlso] };
  }
}

/** Collects a scenario's rows, in the order they were opened. */
export class ScenarioReport {
  readonly #rows: RowReport[] = [];
  readonly #started = performance.now();

  /** `scale` sets how strictly latency bounds (`RowReport.timing`) are judged. */
  constructor(
    readonly scenario: string,
    readonly scale: 'ci' | 'bench' = 'bench',
  ) {}

  row(row: string, title: string, passFigure: string): RowReport {
    const r = new RowReport(row, title, passFigure, this.scale === 'ci' ? CI_TIMING_SLACK : 1);
    this.#rows.push(r);
    return r;
  }

  result(): ScenarioResult {
    return { scenario: this.scenario, durationMs: performance.now() - this.#started, rows: this.#rows.map((r) => r.result()) };
  }
}

/** Every failed check of a result, as `row N: name (detail)` lines (empty when all passed). */
export function failures(result: ScenarioResult): string[] {
  const out: string[] = [];
  for (const r of result.rows) for (const c of r.checks) if (!c.pass) out.push(`row ${r.row}: ${c.name}${c.detail === '' ? '' : ` (${c.detail})`}`);
  return out;
}

/** A row passes when it has at least one check and all of them pass (a row with no check is a defect). */
export function rowPassed(r: RowResult): boolean {
  return r.checks.length > 0 && r.checks.every((c) => c.pass);
}

function formatValue(f: Figure): string {
  const v = typeof f.value === 'number' ? (Number.isInteger(f.value) ? String(f.value) : f.value.toFixed(Math.abs(f.value) >= 100 ? 1 : 3)) : f.value;
  return f.unit === '' ? v : `${v} ${f.unit}`;
}

/** Human-readable text of a scenario result. */
export function renderResult(result: ScenarioResult): string {
  const lines = [`== ${result.scenario} (${(result.durationMs / 1000).toFixed(1)} s)`];
  for (const r of result.rows) {
    lines.push(`-- row ${r.row}: ${r.title} — ${rowPassed(r) ? 'PASS' : 'FAIL'}`);
    lines.push(`   pass figure: ${r.passFigure}`);
    for (const f of r.figures) lines.push(`   ${f.name}: ${formatValue(f)}`);
    for (const c of r.checks) lines.push(`   [${c.pass ? 'ok' : 'FAIL'}] ${c.name}${c.detail === '' ? '' : ` — ${c.detail}`}`);
    for (const s of r.seeAlso) lines.push(`   see also: ${s}`);
  }
  return lines.join('\n');
}

/** One line per figure, `name value`, for the summary table. */
export function figureText(r: RowResult): string {
  return r.figures.map((f) => `${f.name} ${formatValue(f)}`).join('; ');
}
