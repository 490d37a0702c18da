/**
 * `running-requests-size-scorer`: prefers endpoints running fewer requests, min-max normalised over
 * the candidates: `(maxR − r) / (maxR − minR)`; all equal → 1. As in `queue-scorer`, endpoints with
 * unknown metrics score 0 and take no part in the normalisation (unknown is busy, not idle).
 * No parameters.
 */
import type { Endpoint } from '../../../datastore/endpoint.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { Scorer, SchedulingRequest } from '../../types.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters, noParametersSchema } from '../../../plugin/parameters.js';

export const RUNNING_REQUESTS_SIZE_SCORER_TYPE = 'running-requests-size-scorer';

export class RunningRequestsSizeScorer implements Scorer {
  readonly typedName: TypedName;
  constructor(name: string) {
    this.typedName = { type: RUNNING_REQUESTS_SIZE_SCORER_TYPE, name };
  }

  score(_request: SchedulingRequest, candidates: readonly Endpoint[], out: Float64Array): void {
    let min = Infinity;
    let max = -Infinity;
    for (const e of candidates) {
      if (!e.metrics.known) continue;
      const r = e.metrics.runningRequestsSize;
      if (r < min) min = r;
      if (r > max) max = r;
    }
    const range = max - min;
    for (let i = 0; i < candidates.length; i++) {
      const m = (candidates[i] as Endpoint).metrics;
      out[i] = !m.known ? 0 : range > 0 ? (max - m.runningRequestsSize) / range : 1;
    }
  }
}

export const runningRequestsSizeScorerFactory: PluginFactory = (name, parameters) => {
  decodeParameters(noParametersSchema, parameters, RUNNING_REQUESTS_SIZE_SCORER_TYPE, name);
  return new RunningRequestsSizeScorer(name);
};
