/**
 * `token-load-scorer`: prefers endpoints with fewer estimated tokens in flight from this EPP:
 * `1 − min(1, tokens / queueThresholdTokens)`. Token counts come from `inflight-load-producer`
 * (`INFLIGHT_LOAD` in the cycle state); without one every endpoint counts 0 tokens and scores 1,
 * so configure (or have the loader inject) the producer alongside this scorer.
 *
 * ```yaml
 * - type: token-load-scorer
 *   parameters: {queueThresholdTokens: 4194304}   # default 4194304 (128 requests × 32 Ki tokens); ≤ 0 → default
 * ```
 */
import { z } from 'zod';
import type { Endpoint } from '../../datastore/endpoint.js';
import type { PluginFactory } from '../../plugin/registry.js';
import type { Scorer, SchedulingRequest } from '../types.js';
import type { TypedName } from '../../plugin/plugin.js';
import { INFLIGHT_LOAD } from './inflight-load-producer.js';
import { decodeParameters } from '../../plugin/parameters.js';

export const TOKEN_LOAD_SCORER_TYPE = 'token-load-scorer';
const DEFAULT_QUEUE_THRESHOLD_TOKENS = 4_194_304;

const schema = z.strictObject({
  queueThresholdTokens: z
    .number()
    .int()
    .default(DEFAULT_QUEUE_THRESHOLD_TOKENS)
    .transform((t) => (t > 0 ? t : DEFAULT_QUEUE_THRESHOLD_TOKENS)),
});

export class TokenLoadScorer implements Scorer {
  readonly typedName: TypedName;
  constructor(
    name: string,
    readonly queueThresholdTokens = DEFAULT_QUEUE_THRESHOLD_TOKENS,
  ) {
    this.typedName = { type: TOKEN_LOAD_SCORER_TYPE, name };
  }

  score(request: SchedulingRequest, candidates: readonly Endpoint[], out: Float64Array): void {
    const load = request.state.get(INFLIGHT_LOAD);
    const t = this.queueThresholdTokens;
    for (let i = 0; i < candidates.length; i++) {
      const tokens = load === undefined ? 0 : load.tokens(candidates[i] as Endpoint);
      out[i] = tokens <= 0 ? 1 : 1 - Math.min(tokens, t) / t;
    }
  }
}

export const tokenLoadScorerFactory: PluginFactory = (name, parameters) => {
  const p = decodeParameters(schema, parameters, TOKEN_LOAD_SCORER_TYPE, name);
  return new TokenLoadScorer(name, p.queueThresholdTokens);
};
