/**
 * The `grpc-timeout` request header: 1–8 ASCII digits and a unit (H, M, S, m, u, n), as
 * PROTOCOL-HTTP2.md defines it. Deadlines longer than a timer can hold (about 24.8 days) mean "no
 * deadline" rather than wrapping into an instant expiry.
 */

/** Longest delay `setTimeout` honours; longer ones fire at once in Node. */
export const MAX_TIMER_MS = 0x7fffffff;

const UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000_001 };

/** The deadline in ms (undefined = none to enforce), or NaN for a malformed header. */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const unit = UNIT_MS[value.charAt(value.length - 1)];
  const digits = value.slice(0, -1);
  if (unit === undefined || digits.length < 1 || digits.length > 8 || !/^\d+$/.test(digits)) return NaN;
  const ms = Number(digits) * unit;
  if (ms > MAX_TIMER_MS) return undefined;
  // Sub-millisecond deadlines still get one timer tick.
  return Math.max(1, Math.ceil(ms));
}
