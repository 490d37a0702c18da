/**
 * `queue-scorer`: prefers endpoints with fewer waiting requests, min-max normalised over the
 * candidates: `(maxQ − q) / (maxQ − minQ)`; all equal → 1. Endpoints with unknown metrics score 0 and
 * take no part in the normalisation (unknown is busy, not idle). No parameters.
 */
import type { Endpoint } from '../../../datastore/endpoint.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { Scorer, SchedulingRequest } from '../../types.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters, noParametersSchema } from '../../../plugin/parameters.js';

export const QUEUE_SCORER_TYPE = 'queue-scorer';

export class QueueScorer implements Scorer {
  readonly typedName: TypedName;
  constructor(name: string) {
    this.typedName = { type: QUEUE_SCORER_TYPE, name };
  }

  score(_request: SchedulingRequest, candidates: readonly Endpoint[], out: Float64Array): void {
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < candidates.length; i++) {
      const m = (candidates[i] as Endpoint).metrics;
      if (!m.known) continue;
      const q = m.waitingQueueSize;
      if (q < min) min = q;
      if (q > max) max = q;
    }
    const range = max - min;
    for (let i = 0; i < candidates.length; i++) {
      const m = (candidates[i] as Endpoint).metrics;
      out[i] = !m.known ? 0 : range > 0 ? (max - m.waitingQueueSize) / range : 1;
    }
  }
}

export const queueScorerFactory: PluginFactory = (name, parameters) => {
  decodeParameters(noParametersSchema, parameters, QUEUE_SCORER_TYPE, name);
  return new QueueScorer(name);
};
