/**
 * `load-aware-scorer`: scores by waiting queue against a threshold `T`: an empty queue scores 0.5,
 * a queue of `q` scores `0.5 · (1 − min(q, T) / T)`, so any waiting request ranks below an idle
 * endpoint and a queue of `T` or more scores 0. Endpoints with unknown metrics score 0 (busy).
 *
 * ```yaml
 * - type: load-aware-scorer
 *   parameters: {threshold: 128}   # default 128; ≤ 0 falls back to the default, as in the reference
 * ```
 */
import { z } from 'zod';
import type { Endpoint } from '../../../datastore/endpoint.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { Scorer, SchedulingRequest } from '../../types.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters } from '../../../plugin/parameters.js';

export const LOAD_AWARE_SCORER_TYPE = 'load-aware-scorer';
const DEFAULT_THRESHOLD = 128;

const schema = z.strictObject({
  threshold: z
    .number()
    .int()
    .default(DEFAULT_THRESHOLD)
    .transform((t) => (t > 0 ? t : DEFAULT_THRESHOLD)),
});

export class LoadAwareScorer implements Scorer {
  readonly typedName: TypedName;
  constructor(
    name: string,
    readonly threshold = DEFAULT_THRESHOLD,
  ) {
    this.typedName = { type: LOAD_AWARE_SCORER_TYPE, name };
  }

  score(_request: SchedulingRequest, candidates: readonly Endpoint[], out: Float64Array): void {
    const t = this.threshold;
    for (let i = 0; i < candidates.length; i++) {
      const m = (candidates[i] as Endpoint).metrics;
      const q = m.waitingQueueSize;
      out[i] = !m.known ? 0 : q <= 0 ? 0.5 : 0.5 * (1 - Math.min(q, t) / t);
    }
  }
}

export const loadAwareScorerFactory: PluginFactory = (name, parameters) => {
  const p = decodeParameters(schema, parameters, LOAD_AWARE_SCORER_TYPE, name);
  return new LoadAwareScorer(name, p.threshold);
};
