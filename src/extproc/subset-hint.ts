import type { Metadata__Output } from '../generated/envoy/config/core/v3/Metadata.js';
import { SUBSET_KEY, SUBSET_METADATA_NAMESPACE } from './headers.js';

/**
 * Longest hint entry kept, in characters. No endpoint's `address:port` comes near it (a DNS name is at
 * most 253 characters, a bracketed IPv6 address with zone and port under 70), so a longer entry could
 * never match and is dropped at once rather than carried through candidate matching.
 */
export const MAX_SUBSET_ENTRY_LENGTH = 512;

/**
 * Reads the subset hint from a message's metadata context: `undefined` when the namespace or key is
 * absent (no restriction), otherwise the listed entries (possibly none). A list of strings and a
 * comma-joined string are both accepted; entries that are not strings, empty, or longer than
 * MAX_SUBSET_ENTRY_LENGTH are ignored (a hint left with no entries matches no endpoint).
 */
export function readSubsetHint(metadata: Metadata__Output | undefined): string[] | undefined {
  const ns = metadata?.filter_metadata?.[SUBSET_METADATA_NAMESPACE];
  const value = ns?.fields?.[SUBSET_KEY];
  if (value === undefined) return undefined;
  if (value.listValue !== undefined) {
    const out: string[] = [];
    for (const v of value.listValue.values ?? []) {
      if (typeof v.stringValue === 'string' && usable(v.stringValue)) out.push(v.stringValue);
    }
    return out;
  }
  if (typeof value.stringValue === 'string') {
    return value.stringValue.split(',').map((s) => s.trim()).filter(usable);
  }
  return [];
}

function usable(entry: string): boolean {
  return entry.length > 0 && entry.length <= MAX_SUBSET_ENTRY_LENGTH;
}
