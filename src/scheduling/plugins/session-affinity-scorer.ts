/**
 * `session-affinity-scorer`: keeps a client's session on one endpoint. A request carrying
 * `x-session-token` (base64 of `<namespace>/<endpointName>`) scores 1 on the endpoint it names and 0
 * elsewhere; without a token (or with one naming no candidate) every endpoint scores 0. Only the
 * endpoint-name part after the last `/` is compared, so tokens minted under another namespace still
 * match. A token longer than MAX_SESSION_TOKEN_LENGTH is ignored (as if absent) without being
 * decoded. No parameters.
 *
 * Returning the token (the reference sets it after the response headers were already sent, so clients
 * never receive it): as a response-headers hook, the plugin adds `x-session-token` naming the chosen
 * endpoint to the response the client receives; the client echoes it on its next request.
 */
import type { Endpoint } from '../../datastore/endpoint.js';
import type { PluginFactory } from '../../plugin/registry.js';
import type { ResponseHeadersHook, Scorer, SchedulingRequest, SchedulingResult } from '../types.js';
import type { TypedName } from '../../plugin/plugin.js';
import { decodeParameters, noParametersSchema } from '../../plugin/parameters.js';

export const SESSION_AFFINITY_SCORER_TYPE = 'session-affinity-scorer';
export const SESSION_TOKEN_HEADER = 'x-session-token';
/**
 * Longest token honoured, in characters. Minted tokens are base64 of `<namespace>/<endpoint>`: a
 * namespace (≤ 63) and a pod name (≤ 253) with its `-rank-N` suffix come to about 440 characters.
 */
export const MAX_SESSION_TOKEN_LENGTH = 1024;
/** Namespace written into minted tokens when the pool's namespace is not known. */
export const DEFAULT_SESSION_NAMESPACE = 'default';

export function encodeSessionToken(namespace: string, endpointName: string): string {
  return Buffer.from(`${namespace}/${endpointName}`, 'utf8').toString('base64');
}

/** The endpoint name a token refers to ('' for an empty token). */
export function decodeSessionToken(token: string): string {
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  return decoded.slice(decoded.lastIndexOf('/') + 1);
}

export class SessionAffinityScorer implements Scorer, ResponseHeadersHook {
  readonly typedName: TypedName;
  constructor(
    name: string,
    readonly namespace = DEFAULT_SESSION_NAMESPACE,
  ) {
    this.typedName = { type: SESSION_AFFINITY_SCORER_TYPE, name };
  }

  score(request: SchedulingRequest, candidates: readonly Endpoint[], out: Float64Array): void {
    const token = request.headers.get(SESSION_TOKEN_HEADER);
    const wanted = token === undefined || token === '' || token.length > MAX_SESSION_TOKEN_LENGTH ? '' : decodeSessionToken(token);
    for (let i = 0; i < candidates.length; i++) {
      out[i] = wanted !== '' && (candidates[i] as Endpoint).name === wanted ? 1 : 0;
    }
  }

  /** Returns the token naming the chosen endpoint to the client, so its next request sticks. */
  responseHeaders(_request: SchedulingRequest, result: SchedulingResult, setHeaders: Map<string, string>): void {
    const target = result.profileResults.get(result.primaryProfileName)?.targets[0];
    if (target !== undefined) setHeaders.set(SESSION_TOKEN_HEADER, encodeSessionToken(this.namespace, target.name));
  }
}

export const sessionAffinityScorerFactory: PluginFactory = (name, parameters, context) => {
  decodeParameters(noParametersSchema, parameters, SESSION_AFFINITY_SCORER_TYPE, name);
  return new SessionAffinityScorer(name, context.namespace === undefined || context.namespace === '' ? DEFAULT_SESSION_NAMESPACE : context.namespace);
};
