/**
 * `kv-cache-utilization-scorer`: prefers endpoints with free KV cache: `1 − kvCacheUsage`. An endpoint
 * whose metrics are unknown (never scraped, failing or stale) scores 0, as if full. No parameters.
 */
import type { Endpoint } from '../../../datastore/endpoint.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { Scorer, SchedulingRequest } from '../../types.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters, noParametersSchema } from '../../../plugin/parameters.js';

export const KV_CACHE_UTILIZATION_SCORER_TYPE = 'kv-cache-utilization-scorer';

export class KvCacheUtilizationScorer implements Scorer {
  readonly typedName: TypedName;
  constructor(name: string) {
    this.typedName = { type: KV_CACHE_UTILIZATION_SCORER_TYPE, name };
  }

  score(_request: SchedulingRequest, candidates: readonly Endpoint[], out: Float64Array): void {
    for (let i = 0; i < candidates.length; i++) {
      const m = (candidates[i] as Endpoint).metrics;
      out[i] = m.known ? 1 - m.kvCacheUsage : 0;
    }
  }
}

export const kvCacheUtilizationScorerFactory: PluginFactory = (name, parameters) => {
  decodeParameters(noParametersSchema, parameters, KV_CACHE_UTILIZATION_SCORER_TYPE, name);
  return new KvCacheUtilizationScorer(name);
};
