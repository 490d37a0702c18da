/**
 * `token-load-scorer`: prefers endpoints with fewer estimated tokens in flight from this EPP:
 * `1 − min(1, tokens / queueThresholdTokens)`, where `tokens` is the endpoint's in-flight tokens plus
 * what this request would add there (its prompt past the endpoint's cached prefix; see
 * `inflight-load-producer.ts`), as in llm-d-router v0.10. Both come from the `inflight-load-producer`
 * instance `inFlightLoadProducerName` names (default the one named `inflight-load-producer`); without
 * it every endpoint counts 0 tokens and scores 1, so configure (or have the loader inject) the producer.
 *
 * ```yaml
 * - type: token-load-scorer
 *   parameters:
 *     queueThresholdTokens: 4194304                    # default (128 requests × 32 Ki tokens); ≤ 0 → default
 *     inFlightLoadProducerName: inflight-load-producer # the default
 * ```
 */
import { z } from 'zod';
import type { Endpoint } from '../../../datastore/endpoint.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { Scorer, SchedulingRequest } from '../../types.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { inFlightLoadKey, type InFlightLoad } from '../producers/inflight-load-producer.js';
import type { StateKey } from '../../cycle-state.js';
import { decodeParameters } from '../../../plugin/parameters.js';

export const TOKEN_LOAD_SCORER_TYPE = 'token-load-scorer';
const DEFAULT_QUEUE_THRESHOLD_TOKENS = 4_194_304;

const schema = z.strictObject({
  queueThresholdTokens: z
    .number()
    .int()
    .default(DEFAULT_QUEUE_THRESHOLD_TOKENS)
    .transform((t) => (t > 0 ? t : DEFAULT_QUEUE_THRESHOLD_TOKENS)),
  inFlightLoadProducerName: z.string().optional(),
});

export class TokenLoadScorer implements Scorer {
  readonly typedName: TypedName;
  readonly #load: StateKey<InFlightLoad>;

  /** @param inFlightLoadProducer the producer instance read (undefined = the default one) */
  constructor(
    name: string,
    readonly queueThresholdTokens = DEFAULT_QUEUE_THRESHOLD_TOKENS,
    readonly inFlightLoadProducer?: string,
  ) {
    this.typedName = { type: TOKEN_LOAD_SCORER_TYPE, name };
    this.#load = inFlightLoadKey(inFlightLoadProducer);
  }

  score(request: SchedulingRequest, candidates: readonly Endpoint[], out: Float64Array): void {
    const load = request.state.get(this.#load);
    const t = this.queueThresholdTokens;
    for (let i = 0; i < candidates.length; i++) {
      const e = candidates[i] as Endpoint;
      const tokens = load === undefined ? 0 : load.tokens(e) + load.requestTokens(request, e);
      out[i] = tokens <= 0 ? 1 : 1 - Math.min(tokens, t) / t;
    }
  }
}

export const tokenLoadScorerFactory: PluginFactory = (name, parameters) => {
  const p = decodeParameters(schema, parameters, TOKEN_LOAD_SCORER_TYPE, name);
  return new TokenLoadScorer(name, p.queueThresholdTokens, p.inFlightLoadProducerName === '' ? undefined : p.inFlightLoadProducerName);
};
