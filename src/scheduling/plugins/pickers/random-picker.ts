/**
 * `random-picker`: uniformly random candidates, ignoring scores (`maxNumOfEndpoints`, default 1;
 * several are drawn without replacement).
 */
import type { Endpoint } from '../../../datastore/endpoint.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { Picker, SchedulingRequest } from '../../types.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters, pickerParametersSchema } from '../../../plugin/parameters.js';

export const RANDOM_PICKER_TYPE = 'random-picker';

export class RandomPicker implements Picker {
  readonly typedName: TypedName;

  constructor(
    name: string,
    readonly maxNumOfEndpoints: number,
    private readonly random: () => number,
  ) {
    this.typedName = { type: RANDOM_PICKER_TYPE, name };
  }

  pick(_request: SchedulingRequest, candidates: readonly Endpoint[]): readonly Endpoint[] {
    const n = candidates.length;
    if (n === 0) return [];
    if (this.maxNumOfEndpoints === 1) {
      const e = candidates[Math.floor(this.random() * n)];
      return e === undefined ? [] : [e];
    }
    // Partial Fisher–Yates over a copy: the first k slots are a uniform sample.
    const pool = candidates.slice();
    const k = Math.min(this.maxNumOfEndpoints, n);
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(this.random() * (n - i));
      const tmp = pool[i];
      pool[i] = pool[j] as Endpoint;
      pool[j] = tmp as Endpoint;
    }
    return pool.slice(0, k);
  }
}

export const randomPickerFactory: PluginFactory = (name, parameters, context) => {
  const p = decodeParameters(pickerParametersSchema, parameters, RANDOM_PICKER_TYPE, name);
  return new RandomPicker(name, p.maxNumOfEndpoints, context.random);
};
