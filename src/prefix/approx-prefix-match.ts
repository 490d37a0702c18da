/**
 * The `PrefixMatchInfo` the approximate prefix producer stores for one request: how many leading
 * blocks of the prompt each candidate is believed to hold, plus the block hashes themselves, which
 * the producer's pre-request hook adds to the index once the request is routed.
 */
import type { Endpoint } from '../datastore/endpoint.js';
import type { PrefixMatchInfo } from '../scheduling/prefix-match.js';

export class ApproxPrefixMatch implements PrefixMatchInfo {
  #byEndpoint: Map<Endpoint, number> | undefined;
  #lookups = 0;

  /**
   * @param hashes the prompt's block hashes (`HASH_WORDS` words per block; see block-hasher.ts)
   * @param candidates the candidate list the match was computed over
   * @param counts `counts[i]` = matched blocks of `candidates[i]`
   */
  constructor(
    readonly totalBlocks: number,
    readonly blockSizeTokens: number,
    readonly hashes: Uint32Array,
    readonly candidates: readonly Endpoint[],
    readonly counts: Int32Array,
  ) {}

  matchedBlocks(endpoint: Endpoint): number {
    let byEndpoint = this.#byEndpoint;
    if (byEndpoint === undefined) {
      // One lookup (the pre-request metrics) is a scan; a consumer asking for many gets a map.
      if (this.#lookups++ === 0) {
        const i = this.candidates.indexOf(endpoint);
        return i < 0 ? 0 : (this.counts[i] as number);
      }
      byEndpoint = new Map();
      for (let i = 0; i < this.candidates.length; i++) {
        const c = this.counts[i] as number;
        if (c > 0) byEndpoint.set(this.candidates[i] as Endpoint, c);
      }
      this.#byEndpoint = byEndpoint;
    }
    return byEndpoint.get(endpoint) ?? 0;
  }

  /**
   * The per-candidate counts when `candidates` is the very list the match was computed over (the
   * usual case: no filter ran), so a scorer can index them directly; undefined otherwise.
   */
  countsFor(candidates: readonly Endpoint[]): Int32Array | undefined {
    return candidates === this.candidates ? this.counts : undefined;
  }
}
