/**
 * `data-parallel-profile-handler` (deprecated in the reference for `single-profile-handler` with Istio
 * ≥ 1.28.1): for pods that serve one model on several data-parallel rank ports behind a router on a
 * primary port. It runs the one configured profile; the request is then sent to the chosen endpoint's
 * address on `primaryPort`, with `x-data-parallel-host-port: <chosen address:port>` telling the pod's
 * router which rank serves it. In-flight accounting and every plugin's state stay with the rank
 * endpoint the profile chose.
 *
 * Parameters: `primaryPort` (1–65535, default 8000). Exactly one scheduling profile (checked when
 * the configuration is built). A profile that found no endpoint fails the request with 429.
 *
 * ```yaml
 * - type: data-parallel-profile-handler
 *   parameters: {primaryPort: 8000}
 * ```
 */
import { z } from 'zod';
import type { Endpoint } from '../../../datastore/endpoint.js';
import { joinHostPort } from '../../../datastore/endpoint.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters } from '../../../plugin/parameters.js';
import { noTargetError } from '../../scheduler.js';
import type { PreRequestHook, ProfileHandler, ProfileResult, ProfileSpec, SchedulingRequest, SchedulingResult } from '../../types.js';

export const DATA_PARALLEL_PROFILE_HANDLER_TYPE = 'data-parallel-profile-handler';
/** The header naming the rank endpoint the pod's router forwards to (lower-case, as set headers are). */
export const DATA_PARALLEL_HOST_PORT_HEADER = 'x-data-parallel-host-port';
export const DEFAULT_PRIMARY_PORT = 8000;

const schema = z.strictObject({
  primaryPort: z.number().int().min(1).max(65535).default(DEFAULT_PRIMARY_PORT),
});

const NONE: readonly ProfileSpec[] = Object.freeze([]);

export class DataParallelProfileHandler implements ProfileHandler, PreRequestHook {
  readonly typedName: TypedName;
  #profiles: ReadonlyMap<string, ProfileSpec> | undefined;
  #only: readonly ProfileSpec[] = NONE;

  constructor(
    name: string,
    readonly primaryPort = DEFAULT_PRIMARY_PORT,
  ) {
    this.typedName = { type: DATA_PARALLEL_PROFILE_HANDLER_TYPE, name };
  }

  pickProfiles(_request: SchedulingRequest, profiles: ReadonlyMap<string, ProfileSpec>, results: ReadonlyMap<string, ProfileResult>): readonly ProfileSpec[] {
    if (results.size > 0) return NONE;
    if (profiles !== this.#profiles) {
      // More than one profile is refused when the configuration is built; this is the fast exit the reference has.
      const first = profiles.size === 1 ? profiles.values().next() : undefined;
      this.#only = first === undefined || first.done === true ? NONE : Object.freeze([first.value]);
      this.#profiles = profiles;
    }
    return this.#only;
  }

  processResults(_request: SchedulingRequest, results: ReadonlyMap<string, ProfileResult>): SchedulingResult {
    const ran = this.#only[0]?.name;
    if (ran === undefined || results.size !== 1 || !results.has(ran)) {
      throw noTargetError(ran ?? 'data-parallel profile handler needs exactly one profile');
    }
    const own = results.get(ran);
    if (own === null || own === undefined || own.targets.length === 0) throw noTargetError(ran);
    return { primaryProfileName: ran, profileResults: results, destinationPort: this.primaryPort };
  }

  preRequest(_request: SchedulingRequest, result: SchedulingResult, setHeaders: Map<string, string>): void {
    const chosen: Endpoint | undefined = result.profileResults.get(result.primaryProfileName)?.targets[0];
    if (chosen !== undefined) setHeaders.set(DATA_PARALLEL_HOST_PORT_HEADER, joinHostPort(chosen.address, chosen.port));
  }
}

export const dataParallelProfileHandlerFactory: PluginFactory = (name, parameters) => {
  const p = decodeParameters(schema, parameters, DATA_PARALLEL_PROFILE_HANDLER_TYPE, name);
  return new DataParallelProfileHandler(name, p.primaryPort);
};
