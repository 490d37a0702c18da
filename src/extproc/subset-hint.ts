import type { Metadata__Output } from '../generated/envoy/config/core/v3/Metadata.js';
import { SUBSET_KEY, SUBSET_METADATA_NAMESPACE } from './headers.js';

/**
 * Reads the subset hint from a message's metadata context: `undefined` when the namespace or key is
 * absent (no restriction), otherwise the listed entries (possibly none). A list of strings and a
 * comma-joined string are both accepted; entries that are not strings are ignored.
 */
export function readSubsetHint(metadata: Metadata__Output | undefined): string[] | undefined {
  const ns = metadata?.filter_metadata?.[SUBSET_METADATA_NAMESPACE];
  const value = ns?.fields?.[SUBSET_KEY];
  if (value === undefined) return undefined;
  if (value.listValue !== undefined) {
    const out: string[] = [];
    for (const v of value.listValue.values ?? []) {
      if (typeof v.stringValue === 'string' && v.stringValue.length > 0) out.push(v.stringValue);
    }
    return out;
  }
  if (typeof value.stringValue === 'string') {
    return value.stringValue.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  }
  return [];
}
