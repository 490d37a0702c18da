/**
 * `--compare`: the same metrics of two runs side by side with their ratio (A = `--url`, B =
 * `--compare`), which is how an operator judges the picker against a plain Service.
 */
import { fmt, ms, table } from './format.js';
import type { LoadtestResult } from './loadtest.js';
import { problemCount } from './report.js';

/**
 * One compared metric. `ratio` = a / b (NaN when either is unmeasured or b is 0); `better` says
 * which direction is good, and `winner` which run is better on it (`=` within 2 %).
 */
export interface ComparisonRow {
  readonly key: string;
  readonly label: string;
  readonly a: number;
  readonly b: number;
  readonly ratio: number;
  readonly better: 'higher' | 'lower';
  readonly winner: 'A' | 'B' | '=' | '?';
}

type Pick = (r: LoadtestResult) => number | undefined;

const METRICS: readonly { key: string; label: string; better: 'higher' | 'lower'; pick: Pick; unit: 'ratio' | 'ms' | 'rate' }[] = [
  { key: 'prefixAffinity', label: 'prefix affinity', better: 'higher', pick: (r) => r.prefix?.affinity, unit: 'ratio' },
  { key: 'prefixTtftFirstMs', label: 'prefix TTFT first ms', better: 'lower', pick: (r) => r.prefix?.ttftFirstMs, unit: 'ms' },
  { key: 'prefixTtftLaterMs', label: 'prefix TTFT later ms', better: 'lower', pick: (r) => r.prefix?.ttftLaterMs, unit: 'ms' },
  { key: 'balance', label: 'balance (max/mean)', better: 'lower', pick: (r) => r.distribution?.balance, unit: 'ratio' },
  { key: 'requestsPerSec', label: 'requests/s', better: 'higher', pick: (r) => r.throughput?.requestsPerSec, unit: 'rate' },
  { key: 'outputTokensPerSec', label: 'output tokens/s', better: 'higher', pick: (r) => r.throughput?.outputTokensPerSec, unit: 'rate' },
  { key: 'latencyP50Ms', label: 'latency p50 ms', better: 'lower', pick: (r) => r.latency?.e2eMs.p50, unit: 'ms' },
  { key: 'latencyP95Ms', label: 'latency p95 ms', better: 'lower', pick: (r) => r.latency?.e2eMs.p95, unit: 'ms' },
  { key: 'latencyP99Ms', label: 'latency p99 ms', better: 'lower', pick: (r) => r.latency?.e2eMs.p99, unit: 'ms' },
  { key: 'ttftP50Ms', label: 'TTFT p50 ms', better: 'lower', pick: (r) => r.latency?.ttftMs.p50, unit: 'ms' },
  { key: 'ttftP95Ms', label: 'TTFT p95 ms', better: 'lower', pick: (r) => r.latency?.ttftMs.p95, unit: 'ms' },
  { key: 'ttftP99Ms', label: 'TTFT p99 ms', better: 'lower', pick: (r) => r.latency?.ttftMs.p99, unit: 'ms' },
  { key: 'itlP50Ms', label: 'ITL p50 ms', better: 'lower', pick: (r) => r.latency?.itlMs.p50, unit: 'ms' },
  { key: 'itlP95Ms', label: 'ITL p95 ms', better: 'lower', pick: (r) => r.latency?.itlMs.p95, unit: 'ms' },
  { key: 'errors', label: 'failed or not started', better: 'lower', pick: (r) => problemCount(r), unit: 'rate' },
];

function winner(a: number, b: number, better: 'higher' | 'lower'): ComparisonRow['winner'] {
  if (!Number.isFinite(a) || !Number.isFinite(b)) return '?';
  const scale = Math.max(Math.abs(a), Math.abs(b));
  if (scale === 0 || Math.abs(a - b) <= 0.02 * scale) return '=';
  return (a > b) === (better === 'higher') ? 'A' : 'B';
}

/** The compared metrics of runs `a` and `b`. */
export function comparisonRows(a: LoadtestResult, b: LoadtestResult): ComparisonRow[] {
  return METRICS.map((m) => {
    const va = m.pick(a) ?? Number.NaN;
    const vb = m.pick(b) ?? Number.NaN;
    return { key: m.key, label: m.label, a: va, b: vb, ratio: Number.isFinite(va) && Number.isFinite(vb) && vb !== 0 ? va / vb : Number.NaN, better: m.better, winner: winner(va, vb, m.better) };
  });
}

function show(v: number, unit: 'ratio' | 'ms' | 'rate'): string {
  return unit === 'ms' ? ms(v) : unit === 'ratio' ? fmt(v, 3) : fmt(v, Number.isInteger(v) ? 0 : 1);
}

/** The side-by-side table (several lines, ending in a newline). */
export function formatComparison(a: LoadtestResult, b: LoadtestResult): string {
  const rows = comparisonRows(a, b);
  const units = new Map(METRICS.map((m) => [m.key, m.unit]));
  const lines = [
    `A = ${a.url}`,
    `B = ${b.url}`,
    '',
    table([
      ['metric', 'A', 'B', 'A/B', 'better'],
      ...rows.map((r) => [r.label, show(r.a, units.get(r.key) ?? 'rate'), show(r.b, units.get(r.key) ?? 'rate'), fmt(r.ratio, 2), `${r.winner} (${r.better})`]),
    ]),
  ];
  return `${lines.join('\n')}\n`;
}
