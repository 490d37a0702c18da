/**
 * `header-profile-handler`: runs exactly one scheduling profile per request, the one a request header
 * names, for a caller (a coordinator) that already knows which stage each call is for and makes one
 * scheduling call per stage.
 *
 * - One profile configured: it always runs, header or not.
 * - Several: the header's value (trimmed, matched case-sensitively against profile names) picks
 *   the profile; a missing or blank header runs `defaultProfile`.
 * - A value naming no configured profile, or a missing header when `defaultProfile` is not
 *   configured either, fails the request with 400 naming the header, the value and the profiles.
 *
 * The chosen profile's result is primary; when it found no endpoint the request fails with 429.
 *
 * Parameters: `headerName` (default `EPP-Profile`, matched case-insensitively), `defaultProfile`
 * (default `decode`). Blank values fall back to the defaults, as in the reference.
 *
 * ```yaml
 * - type: header-profile-handler
 *   parameters: {headerName: EPP-Profile, defaultProfile: decode}
 * ```
 */
import { z } from 'zod';
import { BadRequestError } from '../../../errors/errors.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters } from '../../../plugin/parameters.js';
import { boundedText } from '../../../util/bounded-text.js';
import { noTargetError } from '../../scheduler.js';
import type { ProfileHandler, ProfileResult, ProfileSpec, SchedulingRequest, SchedulingResult } from '../../types.js';

export const HEADER_PROFILE_HANDLER_TYPE = 'header-profile-handler';
export const DEFAULT_PROFILE_HEADER = 'EPP-Profile';
export const DEFAULT_PROFILE_NAME = 'decode';

const schema = z.strictObject({
  headerName: z.string().default(''),
  defaultProfile: z.string().default(''),
});

const NONE: readonly ProfileSpec[] = Object.freeze([]);

export class HeaderProfileHandler implements ProfileHandler {
  readonly typedName: TypedName;
  /** The header read, lower-case (request header names are). */
  readonly headerName: string;
  readonly defaultProfile: string;
  // One frozen single-profile list per profile, rebuilt only when the scheduler's profile map changes.
  #profiles: ReadonlyMap<string, ProfileSpec> | undefined;
  #runs = new Map<string, readonly ProfileSpec[]>();
  #sole: readonly ProfileSpec[] | undefined;

  constructor(name: string, headerName = '', defaultProfile = '') {
    this.typedName = { type: HEADER_PROFILE_HANDLER_TYPE, name };
    const header = headerName.trim().toLowerCase();
    this.headerName = header === '' ? DEFAULT_PROFILE_HEADER.toLowerCase() : header;
    const fallback = defaultProfile.trim();
    this.defaultProfile = fallback === '' ? DEFAULT_PROFILE_NAME : fallback;
  }

  pickProfiles(request: SchedulingRequest, profiles: ReadonlyMap<string, ProfileSpec>, results: ReadonlyMap<string, ProfileResult>): readonly ProfileSpec[] {
    if (results.size > 0) return NONE;
    if (profiles !== this.#profiles) this.#index(profiles);
    if (this.#sole !== undefined) return this.#sole;
    const named = this.#headerValue(request);
    // No match runs nothing; processResults then reports why (so the scheduler counts a failed attempt).
    return this.#runs.get(named === '' ? this.defaultProfile : named) ?? NONE;
  }

  processResults(request: SchedulingRequest, results: ReadonlyMap<string, ProfileResult>): SchedulingResult {
    if (results.size === 0) throw this.#noMatch(this.#headerValue(request));
    const first = results.entries().next();
    if (first.done === true || results.size !== 1) throw noTargetError(`header-profile-handler ran ${results.size} profiles`);
    const [name, result] = first.value;
    if (result === null) throw noTargetError(name);
    return { primaryProfileName: name, profileResults: results };
  }

  #headerValue(request: SchedulingRequest): string {
    return request.headers.get(this.headerName)?.trim() ?? '';
  }

  #index(profiles: ReadonlyMap<string, ProfileSpec>): void {
    this.#runs = new Map([...profiles].map(([name, spec]) => [name, Object.freeze([spec])]));
    this.#sole = profiles.size === 1 ? this.#runs.values().next().value : undefined;
    this.#profiles = profiles;
  }

  #noMatch(named: string): BadRequestError {
    const configured = [...(this.#profiles?.keys() ?? [])].sort().join(', ');
    if (named === '') {
      return new BadRequestError(`header profile handler: missing ${this.headerName} header, and defaultProfile "${this.defaultProfile}" is not a configured scheduling profile (${configured})`);
    }
    return new BadRequestError(`header profile handler: no scheduling profile configured for ${this.headerName} header value "${boundedText(named)}" (configured: ${configured})`);
  }
}

export const headerProfileHandlerFactory: PluginFactory = (name, parameters) => {
  const p = decodeParameters(schema, parameters, HEADER_PROFILE_HANDLER_TYPE, name);
  return new HeaderProfileHandler(name, p.headerName, p.defaultProfile);
};
