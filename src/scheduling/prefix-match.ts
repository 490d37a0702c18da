/**
 * The prefix-cache match of one request, written by a prefix producer (`approx-prefix-cache-producer`)
 * before scheduling and read by `prefix-cache-scorer`, `no-hit-lru-scorer`, the P/D decider, the
 * in-flight load producer and the pre-request index update. `matchedBlocks(e)` is how many leading
 * blocks of the request's prompt endpoint `e` is believed to hold (greedy longest prefix); 0 for
 * endpoints the producer did not see.
 *
 * Each producer instance writes under its own name (`prefixMatchKey(name)`), so two producers with
 * different parameters coexist; a consumer reads the instance its `prefixMatchInfoProducerName`
 * names, by default the one named `approx-prefix-cache-producer` (as in llm-d, whose data key
 * defaults to the producer type as instance name). A consumer naming no producer, in a configuration
 * whose producers all have other names, reads the last match published (`LATEST_PREFIX_MATCH`):
 * llm-d would inject a default producer there, and until the loader injects by name that is the
 * closest reading, where the slot alone would silently score nothing.
 */
import type { Endpoint } from '../datastore/endpoint.js';
import { StateKey, type CycleState } from './cycle-state.js';

export interface PrefixMatchInfo {
  /** Blocks the prompt was split into (0 for prompts shorter than one block). */
  readonly totalBlocks: number;
  /** Tokens per block used for this request. */
  readonly blockSizeTokens: number;
  matchedBlocks(endpoint: Endpoint): number;
}

/** The producer instance consumers read when they name none (llm-d's default producer name). */
export const DEFAULT_PREFIX_MATCH_PRODUCER = 'approx-prefix-cache-producer';

// One key per producer name, made at configuration time (never on the request path).
const keys = new Map<string, StateKey<PrefixMatchInfo>>();

/** The cycle-state slot of producer instance `producerName` (the default one when empty or absent). */
export function prefixMatchKey(producerName: string | undefined = DEFAULT_PREFIX_MATCH_PRODUCER): StateKey<PrefixMatchInfo> {
  const name = producerName === '' ? DEFAULT_PREFIX_MATCH_PRODUCER : producerName;
  let key = keys.get(name);
  if (key === undefined) {
    key = new StateKey<PrefixMatchInfo>(`prefix-match/${name}`);
    keys.set(name, key);
  }
  return key;
}

/** The default producer's slot. */
export const PREFIX_MATCH = prefixMatchKey();

/** The match the last producer to run published, whatever its name. */
export const LATEST_PREFIX_MATCH = new StateKey<PrefixMatchInfo>('prefix-match/latest');

/** The match a consumer reads from `key`, falling back to the latest one when it names no producer (`explicit` false). */
export function readPrefixMatch(state: CycleState, key: StateKey<PrefixMatchInfo>, explicit: boolean): PrefixMatchInfo | undefined {
  const info = state.get(key);
  return info !== undefined || explicit ? info : state.get(LATEST_PREFIX_MATCH);
}
