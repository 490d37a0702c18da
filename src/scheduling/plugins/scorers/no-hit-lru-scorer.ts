/**
 * `no-hit-lru-scorer`: spreads cold requests (no candidate holds any of the prompt's prefix blocks,
 * or no prefix data at all) over the endpoints least recently given a cold request, so new prefixes
 * warm caches evenly instead of piling onto one endpoint. Cold: candidates are ranked never-used
 * first (in candidate order), then by least recent cold pick; rank `r` of `n` scores `1 − r/(n−1)`
 * (a single candidate scores 1). Warm requests score 0.5 everywhere, leaving the choice to the
 * prefix scorer. PreRequest records the pick of a cold request: the primary profile's first target
 * and, under P/D, the `prefill` profile's first target become most recently used.
 *
 * Prefix hits are read from the match of the prefix producer instance `prefixMatchInfoProducerName`
 * names (default `approx-prefix-cache-producer`).
 * Ranks are dense over the candidates; the reference ranks by position in its whole LRU, so
 * candidates far down a large LRU all clamp to 0 there.
 *
 * ```yaml
 * - type: no-hit-lru-scorer
 *   parameters:
 *     lruSize: 1024                          # endpoints remembered; ≤ 0 → 1024
 *     prefixMatchInfoProducerName: approx-prefix-cache-producer  # the default
 *     prefixPluginType: prefix-cache-scorer  # deprecated, unused (as in the reference)
 *     prefixPluginName: prefix-cache-scorer  # deprecated, unused
 * ```
 */
import { z } from 'zod';
import type { Endpoint } from '../../../datastore/endpoint.js';
import { StateKey } from '../../cycle-state.js';
import { prefixMatchKey, readPrefixMatch, type PrefixMatchInfo } from '../../prefix-match.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { PreRequestHook, Scorer, SchedulingRequest, SchedulingResult } from '../../types.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters } from '../../../plugin/parameters.js';

export const NO_HIT_LRU_SCORER_TYPE = 'no-hit-lru-scorer';
const DEFAULT_LRU_SIZE = 1024;
const PREFIX_CACHE_SCORER_TYPE = 'prefix-cache-scorer';
const PREFILL_PROFILE = 'prefill';

const schema = z.strictObject({
  prefixPluginType: z.string().default(PREFIX_CACHE_SCORER_TYPE),
  prefixPluginName: z.string().default(PREFIX_CACHE_SCORER_TYPE),
  lruSize: z
    .number()
    .int()
    .default(DEFAULT_LRU_SIZE)
    .transform((n) => (n > 0 ? n : DEFAULT_LRU_SIZE)),
  prefixMatchInfoProducerName: z.string().optional(),
});

export class NoHitLruScorer implements Scorer, PreRequestHook {
  readonly typedName: TypedName;
  /** Endpoint name → tick of its last cold pick; Map order is least recent first. */
  readonly #lastUse = new Map<string, number>();
  #tick = 0;
  // Per instance, so two configured scorers do not read each other's verdict.
  readonly #cold: StateKey<boolean>;
  // Scratch for ranking; a scheduling cycle is synchronous, so one set per instance suffices.
  #keys = new Float64Array(64);
  readonly #order: number[] = [];
  readonly #byKey = (a: number, b: number): number => (this.#keys[a] ?? 0) - (this.#keys[b] ?? 0);
  readonly #match: StateKey<PrefixMatchInfo>;

  /** @param prefixMatchProducer the prefix producer instance read (undefined = the default one) */
  constructor(
    name: string,
    readonly lruSize = DEFAULT_LRU_SIZE,
    readonly prefixMatchProducer?: string,
  ) {
    this.typedName = { type: NO_HIT_LRU_SCORER_TYPE, name };
    this.#match = prefixMatchKey(prefixMatchProducer);
    this.#cold = new StateKey<boolean>(`${NO_HIT_LRU_SCORER_TYPE}/${name}/cold`);
  }

  score(request: SchedulingRequest, candidates: readonly Endpoint[], out: Float64Array): void {
    const n = candidates.length;
    const cold = isCold(readPrefixMatch(request.state, this.#match, this.prefixMatchProducer !== undefined), candidates);
    request.state.set(this.#cold, cold);
    if (n === 0) return;
    if (!cold) {
      out.fill(0.5, 0, n);
      return;
    }
    if (n === 1) {
      out[0] = 1;
      return;
    }
    if (this.#keys.length < n) this.#keys = new Float64Array(n * 2);
    const keys = this.#keys;
    const order = this.#order;
    order.length = n;
    for (let i = 0; i < n; i++) {
      order[i] = i;
      // Never used sorts first, in candidate order (negative keys); used by tick (non-negative).
      keys[i] = this.#lastUse.get((candidates[i] as Endpoint).name) ?? i - n;
    }
    order.sort(this.#byKey);
    for (let r = 0; r < n; r++) out[order[r] as number] = 1 - r / (n - 1);
  }

  preRequest(request: SchedulingRequest, result: SchedulingResult): void {
    if (request.state.get(this.#cold) !== true) return;
    request.state.set(this.#cold, false);
    const primary = result.profileResults.get(result.primaryProfileName)?.targets[0];
    if (primary !== undefined) this.#touch(primary.name);
    if (result.primaryProfileName !== PREFILL_PROFILE) {
      const prefill = result.profileResults.get(PREFILL_PROFILE)?.targets[0];
      if (prefill !== undefined) this.#touch(prefill.name);
    }
  }

  #touch(name: string): void {
    this.#lastUse.delete(name);
    this.#lastUse.set(name, this.#tick++);
    if (this.#lastUse.size > this.lruSize) {
      const oldest = this.#lastUse.keys().next();
      if (oldest.done !== true) this.#lastUse.delete(oldest.value);
    }
  }
}

function isCold(info: PrefixMatchInfo | undefined, candidates: readonly Endpoint[]): boolean {
  if (info === undefined || info.totalBlocks === 0) return true;
  for (const e of candidates) if (info.matchedBlocks(e) > 0) return false;
  return true;
}

export const noHitLruScorerFactory: PluginFactory = (name, parameters) => {
  const p = decodeParameters(schema, parameters, NO_HIT_LRU_SCORER_TYPE, name);
  return new NoHitLruScorer(name, p.lruSize, p.prefixMatchInfoProducerName === '' ? undefined : p.prefixMatchInfoProducerName);
};
