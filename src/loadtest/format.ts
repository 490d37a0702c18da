/** Number and table formatting shared by the text reports. */

/** `v` with `digits` decimals, or `-` when it is not a finite number. */
export function fmt(v: number | undefined, digits: number): string {
  return v !== undefined && Number.isFinite(v) ? v.toFixed(digits) : '-';
}

/** Milliseconds with precision that suits their size (`0.42`, `12.3`, `1234`). */
export function ms(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  return Math.abs(v) < 10 ? v.toFixed(2) : Math.abs(v) < 1000 ? v.toFixed(1) : v.toFixed(0);
}

/** Rows as aligned columns: the first left-aligned, the others right-aligned, two spaces apart. */
export function table(rows: readonly (readonly string[])[], indent = ''): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => indent + r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd()).join('\n');
}

/** `{kind: n}` as `kind ×n, …`, or `none`. */
export function errorList(errors: Readonly<Record<string, number>>): string {
  const parts = Object.entries(errors).map(([k, n]) => `${k} ×${n}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}
