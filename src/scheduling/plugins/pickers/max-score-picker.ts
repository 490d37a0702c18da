/**
 * `max-score-picker`: the highest-scoring candidates, best first (`maxNumOfEndpoints`, default 1).
 * Ties rotate: each cycle starts the tie order one place further on, so a burst of requests with
 * identical scores spreads over the tied endpoints instead of piling onto one (the reference's
 * shuffle let bursts land together; llm-d-router PRs #2515/#2709).
 */
import type { Endpoint } from '../../../datastore/endpoint.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { Picker, SchedulingRequest } from '../../types.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters, pickerParametersSchema } from '../../../plugin/parameters.js';

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
    const turn = this.#rotation++;
    if (this.#rotation > 0x3fffffff) this.#rotation = 0;
    if (this.maxNumOfEndpoints === 1) {
      let best = -Infinity;
      let ties = 0;
      for (let i = 0; i < n; i++) {
        const s = scores[i] ?? 0;
        if (s > best) {
          best = s;
          ties = 1;
        } else if (s === best) ties++;
      }
      // The (turn mod ties)-th of the tied endpoints, in candidate order.
      let k = turn % ties;
      for (let i = 0; i < n; i++) {
        if ((scores[i] ?? 0) === best && k-- === 0) return [candidates[i] as Endpoint];
      }
      return [];
    }
    const order = Array.from({ length: n }, (_, i) => i);
    order.sort((a, b) => (scores[b] ?? 0) - (scores[a] ?? 0) || a - b);
    const out: Endpoint[] = [];
    for (let start = 0; start < n && out.length < this.maxNumOfEndpoints; ) {
      const score = scores[order[start] ?? 0] ?? 0;
      let end = start + 1;
      while (end < n && (scores[order[end] ?? 0] ?? 0) === score) end++;
      const size = end - start;
      for (let j = 0; j < size && out.length < this.maxNumOfEndpoints; j++) {
        out.push(candidates[order[start + ((turn + j) % size)] ?? 0] as Endpoint);
      }
      start = end;
    }
    return out;
  }
}

export const maxScorePickerFactory: PluginFactory = (name, parameters) => {
  const p = decodeParameters(pickerParametersSchema, parameters, MAX_SCORE_PICKER_TYPE, name);
  return new MaxScorePicker(name, p.maxNumOfEndpoints);
};
