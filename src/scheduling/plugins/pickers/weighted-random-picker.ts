/**
 * `weighted-random-picker`: draws targets at random with probability proportional to their total
 * score (A-Res weighted sampling without replacement: each candidate with score `s > 0` gets the key
 * `U^(1/s)`, U uniform in (0, 1), and the `maxNumOfEndpoints` largest keys win, best first; with one
 * target, P(i) = s_i / Σs). Candidates scoring ≤ 0 come after every positive one. When no candidate
 * scores above 0 the pick is uniform. Unlike `max-score-picker`, near-equal scores share the load
 * instead of one endpoint taking a whole burst.
 *
 * ```yaml
 * - type: weighted-random-picker
 *   parameters: {maxNumOfEndpoints: 1}   # default 1
 * ```
 */
import type { Endpoint } from '../../../datastore/endpoint.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { Picker, SchedulingRequest } from '../../types.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters, pickerParametersSchema } from '../../../plugin/parameters.js';
import { RandomPicker } from './random-picker.js';

export const WEIGHTED_RANDOM_PICKER_TYPE = 'weighted-random-picker';

/** Stands in for U = 0 so every positive score keeps a finite key (as the reference does). */
const MIN_UNIFORM = 1e-10;

export class WeightedRandomPicker implements Picker {
  readonly typedName: TypedName;
  readonly #uniform: RandomPicker;

  constructor(
    name: string,
    readonly maxNumOfEndpoints: number,
    private readonly random: () => number,
  ) {
    this.typedName = { type: WEIGHTED_RANDOM_PICKER_TYPE, name };
    this.#uniform = new RandomPicker(name, maxNumOfEndpoints, random);
  }

  /** ln(U)/s orders exactly like U^(1/s) (ln is monotone) without underflow for small scores. */
  #key(score: number): number {
    if (!(score > 0)) return -Infinity;
    const u = this.random();
    return Math.log(u > 0 ? u : MIN_UNIFORM) / score;
  }

  pick(request: SchedulingRequest, candidates: readonly Endpoint[], scores: Float64Array): readonly Endpoint[] {
    const n = candidates.length;
    if (n === 0) return [];
    let anyPositive = false;
    for (let i = 0; i < n; i++) {
      if ((scores[i] ?? 0) > 0) {
        anyPositive = true;
        break;
      }
    }
    if (!anyPositive) return this.#uniform.pick(request, candidates);
    if (this.maxNumOfEndpoints === 1) {
      let best = 0;
      let bestKey = -Infinity;
      for (let i = 0; i < n; i++) {
        const k = this.#key(scores[i] ?? 0);
        if (k > bestKey) {
          bestKey = k;
          best = i;
        }
      }
      return [candidates[best] as Endpoint];
    }
    const keys = new Float64Array(n);
    const order = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      keys[i] = this.#key(scores[i] ?? 0);
      order[i] = i;
    }
    order.sort((a, b) => (keys[b] ?? 0) - (keys[a] ?? 0) || a - b);
    const k = Math.min(this.maxNumOfEndpoints, n);
    const out = new Array<Endpoint>(k);
    for (let j = 0; j < k; j++) out[j] = candidates[order[j] as number] as Endpoint;
    return out;
  }
}

export const weightedRandomPickerFactory: PluginFactory = (name, parameters, context) => {
  const p = decodeParameters(pickerParametersSchema, parameters, WEIGHTED_RANDOM_PICKER_TYPE, name);
  return new WeightedRandomPicker(name, p.maxNumOfEndpoints, context.random);
};
