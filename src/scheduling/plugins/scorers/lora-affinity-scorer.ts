/**
 * `lora-affinity-scorer`: prefers endpoints that already serve the request's target model (a LoRA
 * adapter) or can load it: 1.0 when the adapter is active; else 0.8 when the server has a free
 * adapter slot (`active + waiting < maxActiveModels`); else 0.6 when the adapter is already waiting
 * to load; else 0. Endpoints with unknown metrics report no adapters and no slots, so score 0.
 * No parameters.
 */
import type { Endpoint } from '../../../datastore/endpoint.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { Scorer, SchedulingRequest } from '../../types.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters, noParametersSchema } from '../../../plugin/parameters.js';

export const LORA_AFFINITY_SCORER_TYPE = 'lora-affinity-scorer';

export class LoraAffinityScorer implements Scorer {
  readonly typedName: TypedName;
  constructor(name: string) {
    this.typedName = { type: LORA_AFFINITY_SCORER_TYPE, name };
  }

  score(request: SchedulingRequest, candidates: readonly Endpoint[], out: Float64Array): void {
    const target = request.targetModel;
    for (let i = 0; i < candidates.length; i++) {
      const m = (candidates[i] as Endpoint).metrics;
      if (m.activeModels.includes(target)) out[i] = 1;
      else if (m.activeModels.length + m.waitingModels.length < m.maxActiveModels) out[i] = 0.8;
      else if (m.waitingModels.includes(target)) out[i] = 0.6;
      else out[i] = 0;
    }
  }
}

export const loraAffinityScorerFactory: PluginFactory = (name, parameters) => {
  decodeParameters(noParametersSchema, parameters, LORA_AFFINITY_SCORER_TYPE, name);
  return new LoraAffinityScorer(name);
};
