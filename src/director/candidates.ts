import type { Endpoint } from '../datastore/endpoint.js';
import type { EndpointSnapshot } from '../datastore/snapshot.js';

/**
 * Applies the data plane's subset hint. `undefined` = no hint: every endpoint. Entries are `ip:port`
 * (exact match; IPv6 as `[addr]:port`) or a bare `ip` / `[ipv6]` / `ipv6` (every port of that address
 * — how a hint names a whole multi-rank pod). Unmatched entries are ignored; none matching = empty.
 * Deliberate difference from llm-d, which strips the port and so admits every rank of an address
 * even when the hint names one.
 */
export function subsetCandidates(snapshot: EndpointSnapshot, hint: readonly string[] | undefined): readonly Endpoint[] {
  if (hint === undefined) return snapshot.endpoints;
  if (hint.length === 0) return [];
  const out: Endpoint[] = [];
  const seen = new Set<Endpoint>();
  const add = (e: Endpoint): void => {
    if (!seen.has(e)) {
      seen.add(e);
      out.push(e);
    }
  };
  for (const raw of hint) {
    const entry = raw.trim();
    const exact = snapshot.byHostPort.get(entry);
    if (exact !== undefined) {
      add(exact);
      continue;
    }
    const address = bareAddress(entry);
    if (address !== undefined) for (const e of snapshot.byAddress.get(address) ?? []) add(e);
  }
  return out;
}

/** The address of a hint entry that names no port, else undefined. */
function bareAddress(entry: string): string | undefined {
  if (entry.startsWith('[')) return entry.endsWith(']') ? entry.slice(1, -1) : undefined;
  const colons = entry.split(':').length - 1;
  if (colons === 0) return entry;
  return colons > 1 ? entry : undefined; // unbracketed IPv6 has no port
}
