/**
 * `max-score-picker`: the highest-scoring candidates, best first (`maxNumOfEndpoints`, default 1).
 * Ties rotate: each cycle starts the tie order one place further on, so a burst of requests with
 * identical scores spreads over the tied endpoints instead of piling onto one (the reference's
 * shuffle let bursts land together; llm-d-router PRs #2515/#2709).
 */
import type { Endpoint } from '../../datastore/endpoint.js';
import type { PluginFactory } from '../registry.js';
import type { Picker, SchedulingRequest, TypedName } from '../types.js';
import { decodeParameters, pickerParametersSchema } from './parameters.js';

export const MAX_SCORE_PICKER_TYPE = 'max-score-picker';

export class MaxScorePicker implements Picker {
  readonly typedName: TypedName;
  #rotation = 0;

  constructor(
    name: string,
    readonly maxNumOfEndpoints: number,
  ) {
    this.typedName = { type: MAX_SCORE_PICKER_TYPE, name };
  }

  pick(_request: SchedulingRequest, candidates: readonly Endpoint[], scores: Float64Array): readonly Endpoint[] {
    const n = candidates.length;
    if (n === 0) return [];
    const rot = this.#rotation++ % n;
    if (this.#rotation > 0x3fffffff) this.#rotation = 0;
    // Rank key among equal scores: distance from the rotation point.
    const key = (i: number): number => (i - rot + n) % n;
    if (this.maxNumOfEndpoints === 1) {
      let best = -1;
      let bestScore = -Infinity;
      for (let i = 0; i < n; i++) {
        const s = scores[i] ?? 0;
        if (s > bestScore || (s === bestScore && key(i) < key(best))) {
          best = i;
          bestScore = s;
        }
      }
      const chosen = candidates[best];
      return chosen === undefined ? [] : [chosen];
    }
    const order = Array.from({ length: n }, (_, i) => i);
    order.sort((a, b) => (scores[b] ?? 0) - (scores[a] ?? 0) || key(a) - key(b));
    const out: Endpoint[] = [];
    for (let k = 0; k < n && out.length < this.maxNumOfEndpoints; k++) {
      const e = candidates[order[k] ?? 0];
      if (e !== undefined) out.push(e);
    }
    return out;
  }
}

export const maxScorePickerFactory: PluginFactory = (name, parameters) => {
  const p = decodeParameters(pickerParametersSchema, parameters, MAX_SCORE_PICKER_TYPE, name);
  return new MaxScorePicker(name, p.maxNumOfEndpoints);
};
