/**
 * The encoder-cache match of one request, written by `mm-embeddings-cache-producer` before scheduling
 * and read by `mm-embeddings-cache-scorer` (llm-d's `EncoderCacheMatchInfo`): the request's distinct
 * multimodal items, and for each candidate the total size of those items it is believed to hold
 * (every item has size 1, as in the reference). Each producer instance writes under its own name; a
 * scorer reads the instance its `producerName` names, by default the one named
 * `mm-embeddings-cache-producer`, falling back to the last match published when it names none (see
 * prefix-match.ts for why).
 */
import type { Endpoint } from '../datastore/endpoint.js';
import type { Modality } from '../request/multimodal-item.js';
import { StateKey, type CycleState } from './cycle-state.js';

/** One distinct item of a request. */
export interface EncoderCacheItem {
  readonly hash: string;
  readonly modality: Modality;
  readonly size: number;
}

export class EncoderCacheMatch {
  #byEndpoint: Map<Endpoint, number> | undefined;

  /**
   * @param items the request's distinct items
   * @param candidates the candidate list the match was computed over
   * @param matched `matched[i]` = size of the items `candidates[i]` holds
   */
  constructor(
    readonly items: readonly EncoderCacheItem[],
    readonly totalSize: number,
    readonly candidates: readonly Endpoint[],
    readonly matched: Int32Array,
  ) {}

  /** Size of the request's items `endpoint` is believed to hold; 0 for one the producer did not see. */
  matchedSize(endpoint: Endpoint): number {
    if (this.#byEndpoint === undefined) {
      // Only endpoints with a match are kept: most hold none of a request's items.
      const m = new Map<Endpoint, number>();
      for (let i = 0; i < this.candidates.length; i++) {
        const size = this.matched[i] as number;
        if (size > 0) m.set(this.candidates[i] as Endpoint, size);
      }
      this.#byEndpoint = m;
    }
    return this.#byEndpoint.get(endpoint) ?? 0;
  }

  /** The per-candidate sizes when `candidates` is the list the match was computed over; undefined otherwise. */
  matchedFor(candidates: readonly Endpoint[]): Int32Array | undefined {
    return candidates === this.candidates ? this.matched : undefined;
  }
}

/** The producer instance a scorer reads when it names none (llm-d's default producer name). */
export const DEFAULT_ENCODER_CACHE_PRODUCER = 'mm-embeddings-cache-producer';

const keys = new Map<string, StateKey<EncoderCacheMatch>>();

/** The cycle-state slot of producer instance `producerName` (the default one when empty or absent). */
export function encoderCacheMatchKey(producerName: string | undefined = DEFAULT_ENCODER_CACHE_PRODUCER): StateKey<EncoderCacheMatch> {
  const name = producerName === '' ? DEFAULT_ENCODER_CACHE_PRODUCER : producerName;
  let key = keys.get(name);
  if (key === undefined) {
    key = new StateKey<EncoderCacheMatch>(`encoder-cache-match/${name}`);
    keys.set(name, key);
  }
  return key;
}

/** The match the last producer to run published, whatever its name. */
export const LATEST_ENCODER_CACHE_MATCH = new StateKey<EncoderCacheMatch>('encoder-cache-match/latest');

/** The match a scorer reads from `key`, falling back to the latest one when it names no producer (`explicit` false). */
export function readEncoderCacheMatch(state: CycleState, key: StateKey<EncoderCacheMatch>, explicit: boolean): EncoderCacheMatch | undefined {
  const info = state.get(key);
  return info !== undefined || explicit ? info : state.get(LATEST_ENCODER_CACHE_MATCH);
}
