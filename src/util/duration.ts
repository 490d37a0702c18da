/** Go-style durations (`50ms`, `1.5s`, `2m30s`), as the reference's flags and config take them. */

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go duration (`50ms`, `1.5s`, `2m30s`, `0`) into milliseconds; throws `RangeError` when invalid. */
export function parseDuration(text: string): number {
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * (DURATION_UNITS[m[2] ?? ''] ?? NaN);
    consumed = re.lastIndex;
  }
  if (consumed !== text.length || consumed === 0 || !Number.isFinite(total)) {
    throw new RangeError(`invalid duration "${text}" (use e.g. 50ms, 2s, 1m)`);
  }
  return total;
}

/** Milliseconds as the shortest whole Go duration (`2m`, `30s`, `50ms`). */
export function formatDuration(ms: number): string {
  if (ms !== 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms !== 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms !== 0 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
