/**
 * The prefix-cache match of one request, written by `approx-prefix-cache-producer` before scheduling
 * and read by `prefix-cache-scorer`, `no-hit-lru-scorer`, the P/D decider and the pre-request index
 * update. `matchedBlocks(e)` is how many leading blocks of the request's prompt endpoint `e` is
 * believed to hold (greedy longest prefix); 0 for endpoints the producer did not see.
 */
import type { Endpoint } from '../datastore/endpoint.js';
import { StateKey } from './cycle-state.js';

export interface PrefixMatchInfo {
  /** Blocks the prompt was split into (0 for prompts shorter than one block). */
  readonly totalBlocks: number;
  /** Tokens per block used for this request. */
  readonly blockSizeTokens: number;
  matchedBlocks(endpoint: Endpoint): number;
}

export const PREFIX_MATCH = new StateKey<PrefixMatchInfo>('prefix-match');
