/**
 * Block ids for synthetic prompts made of text-bank segments, with Mooncake `hash_ids` semantics:
 * two prompts get the same id at a position iff everything up to the end of that block is the same.
 */

/** A run of `tokens` tokens of text-bank key `key`. */
export interface TokenSegment {
  readonly key: number;
  readonly tokens: number;
}

/**
 * Chained block ids of a prompt made of `segments`: block i's identity is the previous block's id
 * plus the (key, offset, length) pieces covering its tokens, interned in `interned` (shared by all
 * prompts of a workload, so equal prefixes get equal ids). The last block may be partial.
 */
export function chainedBlockIds(segments: readonly TokenSegment[], blockTokens: number, interned: Map<string, number>): number[] {
  const ids: number[] = [];
  let previous = -1;
  let index = 0;
  let offset = 0;
  let remaining = segments.reduce((sum, s) => sum + s.tokens, 0);
  while (remaining > 0) {
    let need = Math.min(blockTokens, remaining);
    remaining -= need;
    let identity = `${previous}|`;
    while (need > 0) {
      const segment = segments[index] as TokenSegment;
      const take = Math.min(segment.tokens - offset, need);
      if (take > 0) identity += `${segment.key}@${offset}+${take};`;
      offset += take;
      need -= take;
      if (offset === segment.tokens) {
        index++;
        offset = 0;
      }
    }
    let id = interned.get(identity);
    if (id === undefined) {
      id = interned.size;
      interned.set(identity, id);
    }
    ids.push(id);
    previous = id;
  }
  return ids;
}
