/**
 * `prefix-cache-scorer`: prefers endpoints that already hold a longer prefix of the prompt, from the
 * `PrefixMatchInfo` a prefix producer stored under its name (`prefixMatchKey`) (m = matched blocks, t = total
 * blocks, B = tokens per block):
 *
 *     ratio  = m / t
 *     length = min(1, m · B / matchLengthScaleTokens)
 *     score  = matchLengthWeight · length² + (1 − matchLengthWeight) · ratio
 *
 * and 0 for every endpoint when the info is missing or t = 0. With the default `matchLengthWeight`
 * 0 the score is the reference's `m / t`; a positive weight (llm-d-router PR #1459) also rewards the
 * absolute matched length, so a 2-block prompt matching 1 block no longer outranks a 100-block prompt
 * matching 40 (GIE#2561, llm-d-router#1095).
 *
 * Parameters: `matchLengthWeight` in [0, 1] (default 0), `matchLengthScaleTokens` integer (default
 * 8192; must be > 0 when the weight is > 0), `prefixMatchInfoProducerName`: the prefix producer
 * instance whose match is read (default `approx-prefix-cache-producer`), so scorers over two
 * producers with different block sizes can share a profile. Any other parameter is an error, as v0.10's
 * strict parameter decoder makes it (the producer's `blockSize`, `lruCapacityPerServer` … belong on
 * `approx-prefix-cache-producer`).
 */
import { z } from 'zod';
import type { Endpoint } from '../../../datastore/endpoint.js';
import { ApproxPrefixMatch } from '../../../prefix/approx-prefix-match.js';
import { prefixMatchKey, readPrefixMatch, type PrefixMatchInfo } from '../../prefix-match.js';
import type { StateKey } from '../../cycle-state.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { Scorer, SchedulingRequest } from '../../types.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters } from '../../../plugin/parameters.js';

export const PREFIX_CACHE_SCORER_TYPE = 'prefix-cache-scorer';

export const DEFAULT_MATCH_LENGTH_WEIGHT = 0;
export const DEFAULT_MATCH_LENGTH_SCALE_TOKENS = 8192;

const parametersSchema = z
  .strictObject({
    matchLengthWeight: z.number().min(0).max(1).default(DEFAULT_MATCH_LENGTH_WEIGHT),
    matchLengthScaleTokens: z.number().int().default(DEFAULT_MATCH_LENGTH_SCALE_TOKENS),
    prefixMatchInfoProducerName: z.string().optional(),
  })
  .superRefine((p, ctx) => {
    if (p.matchLengthWeight > 0 && p.matchLengthScaleTokens <= 0) {
      ctx.addIssue({ code: 'custom', path: ['matchLengthScaleTokens'], message: 'matchLengthScaleTokens must be > 0 when matchLengthWeight is > 0' });
    }
  });

export class PrefixCacheScorer implements Scorer {
  readonly typedName: TypedName;
  readonly #match: StateKey<PrefixMatchInfo>;

  /** @param prefixMatchProducer the producer instance read (undefined = the default one) */
  constructor(
    name: string,
    readonly matchLengthWeight = DEFAULT_MATCH_LENGTH_WEIGHT,
    readonly matchLengthScaleTokens = DEFAULT_MATCH_LENGTH_SCALE_TOKENS,
    readonly prefixMatchProducer?: string,
  ) {
    this.typedName = { type: PREFIX_CACHE_SCORER_TYPE, name };
    this.#match = prefixMatchKey(prefixMatchProducer);
  }

  score(request: SchedulingRequest, candidates: readonly Endpoint[], out: Float64Array): void {
    const n = candidates.length;
    const info = readPrefixMatch(request.state, this.#match, this.prefixMatchProducer !== undefined);
    const total = info === undefined ? 0 : info.totalBlocks;
    if (info === undefined || !(total > 0)) {
      out.fill(0, 0, n);
      return;
    }
    const w = this.matchLengthWeight;
    const tokensPerBlock = info.blockSizeTokens > 0 ? info.blockSizeTokens : 0;
    const lengthPerBlock = w > 0 ? tokensPerBlock / this.matchLengthScaleTokens : 0;
    const counts = info instanceof ApproxPrefixMatch ? info.countsFor(candidates) : undefined;
    for (let i = 0; i < n; i++) {
      const m = counts !== undefined ? (counts[i] as number) : info.matchedBlocks(candidates[i] as Endpoint);
      let ratio = m / total;
      ratio = ratio > 1 ? 1 : ratio > 0 ? ratio : 0;
      if (w > 0) {
        const length = m > 0 ? Math.min(1, m * lengthPerBlock) : 0;
        out[i] = w * length * length + (1 - w) * ratio;
      } else {
        out[i] = ratio;
      }
    }
  }
}

export const prefixCacheScorerFactory: PluginFactory = (name, parameters) => {
  const p = decodeParameters(parametersSchema, parameters, PREFIX_CACHE_SCORER_TYPE, name);
  return new PrefixCacheScorer(name, p.matchLengthWeight, p.matchLengthScaleTokens, p.prefixMatchInfoProducerName === '' ? undefined : p.prefixMatchInfoProducerName);
};
