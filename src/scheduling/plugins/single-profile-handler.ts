/**
 * `single-profile-handler`: runs the one configured profile once; its result is primary. A profile
 * that found no endpoint fails the request with 429 (ResourceExhausted), as in the reference.
 */
import type { PluginFactory } from '../../plugin/registry.js';
import { noTargetError } from '../scheduler.js';
import type { ProfileHandler, ProfileResult, ProfileSpec, SchedulingRequest, SchedulingResult } from '../types.js';
import type { TypedName } from '../../plugin/plugin.js';
import { decodeParameters, noParametersSchema } from '../../plugin/parameters.js';

export const SINGLE_PROFILE_HANDLER_TYPE = 'single-profile-handler';

export class SingleProfileHandler implements ProfileHandler {
  readonly typedName: TypedName;
  constructor(name: string) {
    this.typedName = { type: SINGLE_PROFILE_HANDLER_TYPE, name };
  }

  pickProfiles(_request: SchedulingRequest, profiles: ReadonlyMap<string, ProfileSpec>, results: ReadonlyMap<string, ProfileResult>): readonly ProfileSpec[] {
    if (results.size > 0) return [];
    const first = profiles.values().next();
    return first.done === true ? [] : [first.value];
  }

  processResults(_request: SchedulingRequest, results: ReadonlyMap<string, ProfileResult>): SchedulingResult {
    const [name, result] = results.entries().next().value ?? ['', null];
    if (result === null) throw noTargetError(name);
    return { primaryProfileName: name, profileResults: results };
  }
}

export const singleProfileHandlerFactory: PluginFactory = (name, parameters) => {
  decodeParameters(noParametersSchema, parameters, SINGLE_PROFILE_HANDLER_TYPE, name);
  return new SingleProfileHandler(name);
};
