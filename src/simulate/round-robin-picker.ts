/**
 * `round-robin-picker`: a simulation baseline that ignores scores and hands successive requests to
 * successive candidates (the n-th pick takes candidate `n mod candidates.length`). Registered only in
 * the simulator's plugin registry, never in the server's built-ins.
 */
import type { Endpoint } from '../datastore/endpoint.js';
import type { TypedName } from '../plugin/plugin.js';
import type { PluginFactory } from '../plugin/registry.js';
import type { Picker, SchedulingRequest } from '../scheduling/types.js';

/** The plugin type name of {@link RoundRobinPicker}. */
export const ROUND_ROBIN_PICKER_TYPE = 'round-robin-picker';

/** Picks one candidate per request, cycling through the candidate list. */
export class RoundRobinPicker implements Picker {
  readonly typedName: TypedName;
  #next = 0;

  constructor(name: string) {
    this.typedName = { type: ROUND_ROBIN_PICKER_TYPE, name };
  }

  pick(_request: SchedulingRequest, candidates: readonly Endpoint[]): readonly Endpoint[] {
    if (candidates.length === 0) return [];
    const e = candidates[this.#next % candidates.length];
    this.#next = (this.#next + 1) % 0x3fffffff;
    return e === undefined ? [] : [e];
  }
}

/** Factory for {@link RoundRobinPicker}; it takes no parameters. */
export const roundRobinPickerFactory: PluginFactory = (name, parameters) => {
  if (parameters !== undefined && parameters !== null && (typeof parameters !== 'object' || Object.keys(parameters).length > 0)) {
    throw new Error(`${ROUND_ROBIN_PICKER_TYPE} "${name}" takes no parameters`);
  }
  return new RoundRobinPicker(name);
};
