/** `value`, or an error naming what was missing (a broken harness, not a failed check). */
export function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`harness: ${what} unavailable`);
  return value;
}
