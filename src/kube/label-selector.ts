/**
 * Equality-based label selectors, the only kind InferencePools use (`matchLabels`, or v1alpha2's
 * plain map): parsing the `--endpoint-selector` flag, formatting for list/watch requests, matching.
 */

/** A selector `--endpoint-selector` could not parse. */
export class LabelSelectorError extends Error {
  override readonly name = 'LabelSelectorError';
}

const KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** Parses `k=v,k2=v2` (also `k==v`) into a map; rejects empty input, bad keys or values, duplicates. */
export function parseLabelSelector(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const terms = text.split(',').map((t) => t.trim());
  if (text.trim() === '') throw new LabelSelectorError('empty label selector');
  for (const term of terms) {
    const m = /^([^=!]+)==?([^=]*)$/.exec(term);
    if (m === null) throw new LabelSelectorError(`"${term}" is not key=value`);
    const key = (m[1] ?? '').trim();
    const value = (m[2] ?? '').trim();
    if (!KEY.test(key)) throw new LabelSelectorError(`invalid label key "${key}"`);
    if (!VALUE.test(value)) throw new LabelSelectorError(`invalid label value "${value}" for key "${key}"`);
    if (key in out) throw new LabelSelectorError(`label key "${key}" repeated`);
    out[key] = value;
  }
  return out;
}

/** Formats a selector map for the `labelSelector` query parameter (keys sorted, so equal maps format equally). */
export function formatLabelSelector(selector: Readonly<Record<string, string>>): string {
  return Object.keys(selector)
    .sort()
    .map((k) => `${k}=${selector[k] ?? ''}`)
    .join(',');
}

/** True when every selector entry is among `labels` (an empty selector matches everything). */
export function matchesLabels(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}
