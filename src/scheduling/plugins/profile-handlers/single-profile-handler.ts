/**
 * `single-profile-handler`: runs the one configured profile once; its result is primary. A profile
 * that found no endpoint fails the request with 429 (ResourceExhausted), as in the reference.
 */
import type { PluginFactory } from '../../../plugin/registry.js';
import { noTargetError } from '../../scheduler.js';
import type { ProfileHandler, ProfileResult, ProfileSpec, SchedulingRequest, SchedulingResult } from '../../types.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters, noParametersSchema } from '../../../plugin/parameters.js';

export const SINGLE_PROFILE_HANDLER_TYPE = 'single-profile-handler';

const NONE: readonly ProfileSpec[] = Object.freeze([]);

export class SingleProfileHandler implements ProfileHandler {
  readonly typedName: TypedName;
  // The first profile of the last profile map seen (the scheduler passes the same map every time), so a
  // cycle allocates no iterator.
  #profiles: ReadonlyMap<string, ProfileSpec> | undefined;
  #first: readonly ProfileSpec[] = NONE;

  constructor(name: string) {
    this.typedName = { type: SINGLE_PROFILE_HANDLER_TYPE, name };
  }

  pickProfiles(_request: SchedulingRequest, profiles: ReadonlyMap<string, ProfileSpec>, results: ReadonlyMap<string, ProfileResult>): readonly ProfileSpec[] {
    if (results.size > 0) return NONE;
    if (profiles !== this.#profiles) {
      const first = profiles.values().next();
      this.#first = first.done === true ? NONE : Object.freeze([first.value]);
      this.#profiles = profiles;
    }
    return this.#first;
  }

  processResults(_request: SchedulingRequest, results: ReadonlyMap<string, ProfileResult>): SchedulingResult {
    const ran = this.#first[0]?.name;
    const own = ran === undefined || results.size !== 1 ? undefined : results.get(ran);
    if (ran !== undefined && own !== undefined) {
      if (own === null) throw noTargetError(ran);
      return { primaryProfileName: ran, profileResults: results };
    }
    const [name, result] = results.entries().next().value ?? ['', null];
    if (result === null) throw noTargetError(name);
    return { primaryProfileName: name, profileResults: results };
  }
}

export const singleProfileHandlerFactory: PluginFactory = (name, parameters) => {
  decodeParameters(noParametersSchema, parameters, SINGLE_PROFILE_HANDLER_TYPE, name);
  return new SingleProfileHandler(name);
};
