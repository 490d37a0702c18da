/**
 * `session-affinity-scorer`: keeps a client's session on one endpoint, scoring 1 on the session's
 * endpoint and 0 elsewhere (0 everywhere when the request names no usable session). Two strategies,
 * as in llm-d-router v0.10 (#2238):
 *
 * - `encoded_endpoint_header` (the default): stateless. The request header
 *   (`encodedEndpointHeaderConfig.header`, default `x-session-token`) carries base64 of
 *   `<namespace>/<endpointName>`; only the name after the last `/` is compared, so tokens minted under
 *   another namespace still match. A token longer than MAX_SESSION_TOKEN_LENGTH is ignored (as if
 *   absent) without being decoded. As a response-headers hook the plugin returns that header naming
 *   the chosen endpoint (the reference sets it after the response headers were already sent, so
 *   clients never receive it); the client echoes it on its next request.
 * - `session_id`: stateful. The session identifier is the first non-empty (trimmed) value of the
 *   `sessionIdConfig.sources` (request headers, in order; default `x-session-id`); the plugin keeps a
 *   bounded table identifier → endpoint (see `session-table.ts`; bindings unused for
 *   `evictionTtlSeconds` are swept every `evictionSweepSeconds`). An unbound session scores 0
 *   everywhere and is bound after scheduling to the endpoint chosen; a bound one scores 1 on its
 *   endpoint while that is a candidate. A session whose endpoint was absent from the candidates moves
 *   to the endpoint chosen instead; one whose endpoint was present but not chosen (outscored) keeps its
 *   binding. Nothing is returned to the client.
 *
 * `profileName` selects which profile's target the plugin pins (and, for the header strategy, names
 * in the response): the primary profile's by default, e.g. `prefill` for a second instance under P/D.
 *
 * ```yaml
 * - type: session-affinity-scorer
 *   parameters:
 *     strategy: session_id                 # or encoded_endpoint_header (default)
 *     profileName: ""                      # default: the primary profile
 *     encodedEndpointHeaderConfig: {header: x-session-token}
 *     sessionIdConfig: {sources: [{header: x-session-id}], evictionTtlSeconds: 300, evictionSweepSeconds: 10}
 * ```
 */
import { z } from 'zod';
import type { Endpoint } from '../../../datastore/endpoint.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import { StateKey } from '../../cycle-state.js';
import type { PreRequestHook, ResponseHeadersHook, Scorer, SchedulingRequest, SchedulingResult } from '../../types.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters } from '../../../plugin/parameters.js';
import { SessionTable } from './session-table.js';

export const SESSION_AFFINITY_SCORER_TYPE = 'session-affinity-scorer';
export const SESSION_TOKEN_HEADER = 'x-session-token';
export const SESSION_ID_HEADER = 'x-session-id';
/**
 * Longest token honoured, in characters. Minted tokens are base64 of `<namespace>/<endpoint>`: a
 * namespace (≤ 63) and a pod name (≤ 253) with its `-rank-N` suffix come to about 440 characters.
 */
export const MAX_SESSION_TOKEN_LENGTH = 1024;
/** Namespace written into minted tokens when the pool's namespace is not known. */
export const DEFAULT_SESSION_NAMESPACE = 'default';
export const DEFAULT_EVICTION_TTL_SECONDS = 300;
export const DEFAULT_EVICTION_SWEEP_SECONDS = 10;

export function encodeSessionToken(namespace: string, endpointName: string): string {
  return Buffer.from(`${namespace}/${endpointName}`, 'utf8').toString('base64');
}

/** The endpoint name a token refers to ('' for an empty token). */
export function decodeSessionToken(token: string): string {
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  return decoded.slice(decoded.lastIndexOf('/') + 1);
}

/** Header names are matched lower-cased and trimmed; empty means the default. */
function normalizeHeader(name: string, fallback: string): string {
  const h = name.trim().toLowerCase();
  return h === '' ? fallback : h;
}

/** How an instance pins sessions. */
export type SessionStrategy =
  | { readonly kind: 'encoded_endpoint_header'; readonly header: string }
  | { readonly kind: 'session_id'; readonly headers: readonly string[]; readonly ttlMs: number; readonly sweepMs: number };

export const DEFAULT_SESSION_STRATEGY: SessionStrategy = Object.freeze({ kind: 'encoded_endpoint_header', header: SESSION_TOKEN_HEADER });

/** Whether this request's bound endpoint was among the candidates scored (session_id). */
type Presence = 'present' | 'absent';

export class SessionAffinityScorer implements Scorer, PreRequestHook, ResponseHeadersHook {
  readonly typedName: TypedName;
  /** The bindings of the session_id strategy (undefined for the header strategy). */
  readonly sessions: SessionTable | undefined;
  readonly #presence: StateKey<Presence | undefined>;

  /**
   * @param profileName the profile whose target is pinned ('' = the primary profile)
   * @param now the clock bindings are stamped and swept with
   */
  constructor(
    name: string,
    readonly namespace = DEFAULT_SESSION_NAMESPACE,
    readonly strategy: SessionStrategy = DEFAULT_SESSION_STRATEGY,
    readonly profileName = '',
    now: () => number = Date.now,
  ) {
    this.typedName = { type: SESSION_AFFINITY_SCORER_TYPE, name };
    this.sessions = strategy.kind === 'session_id' ? new SessionTable({ ttlMs: strategy.ttlMs, sweepMs: strategy.sweepMs, now }) : undefined;
    this.#presence = new StateKey(`${SESSION_AFFINITY_SCORER_TYPE}/${name}/presence`);
  }

  score(request: SchedulingRequest, candidates: readonly Endpoint[], out: Float64Array): void {
    const wanted = this.#wanted(request);
    let present = false;
    for (let i = 0; i < candidates.length; i++) {
      const hit = wanted !== '' && (candidates[i] as Endpoint).name === wanted;
      out[i] = hit ? 1 : 0;
      if (hit) present = true;
    }
    if (this.sessions !== undefined && wanted !== '') request.state.set(this.#presence, present ? 'present' : 'absent');
  }

  /** session_id: binds a new session to the endpoint chosen, or moves one whose endpoint was not a candidate. */
  preRequest(request: SchedulingRequest, result: SchedulingResult): void {
    const sessions = this.sessions;
    if (sessions === undefined) return;
    const session = this.#sessionId(request);
    if (session === '') return;
    const picked = this.#target(result);
    if (picked === undefined) return;
    const bound = sessions.boundEndpoint(session);
    // A bound session moves only on a confirmed absence recorded when this request was scored.
    if (bound === undefined || bound === picked.name || request.state.get(this.#presence) === 'absent') sessions.bind(session, picked.name);
  }

  /** encoded_endpoint_header: returns the token naming the pinned endpoint to the client, so its next request sticks. */
  responseHeaders(_request: SchedulingRequest, result: SchedulingResult, setHeaders: Map<string, string>): void {
    if (this.strategy.kind !== 'encoded_endpoint_header') return;
    const target = this.#target(result);
    if (target !== undefined) setHeaders.set(this.strategy.header, encodeSessionToken(this.namespace, target.name));
  }

  /** The endpoint name the request's session names ('' for none). */
  #wanted(request: SchedulingRequest): string {
    const strategy = this.strategy;
    if (strategy.kind === 'encoded_endpoint_header') {
      const token = request.headers.get(strategy.header);
      return token === undefined || token === '' || token.length > MAX_SESSION_TOKEN_LENGTH ? '' : decodeSessionToken(token);
    }
    const session = this.#sessionId(request);
    return session === '' ? '' : (this.sessions?.boundEndpoint(session) ?? '');
  }

  /** session_id: the first non-empty source value, '' when none (or when it is too long to store: a client cannot grow the table's keys). */
  #sessionId(request: SchedulingRequest): string {
    if (this.strategy.kind !== 'session_id') return '';
    for (const header of this.strategy.headers) {
      const raw = request.headers.get(header);
      if (raw === undefined) continue;
      const id = raw.trim();
      if (id === '') continue;
      return id.length > (this.sessions?.maxKeyLength ?? 0) ? '' : id;
    }
    return '';
  }

  #target(result: SchedulingResult): Endpoint | undefined {
    return result.profileResults.get(this.profileName === '' ? result.primaryProfileName : this.profileName)?.targets[0];
  }
}

const sourceSchema = z
  .strictObject({ header: z.string().optional(), attribute: z.string().optional(), producer: z.string().optional() })
  .superRefine((s, ctx) => {
    const header = s.header !== undefined && s.header !== '';
    const attribute = s.attribute !== undefined && s.attribute !== '';
    if (header === attribute) ctx.addIssue({ code: 'custom', message: 'exactly one of header or attribute must be set' });
  });

const schema = z
  .strictObject({
    strategy: z.enum(['encoded_endpoint_header', 'session_id']).default('encoded_endpoint_header'),
    profileName: z.string().default(''),
    encodedEndpointHeaderConfig: z.strictObject({ header: z.string().default('') }).default({ header: '' }),
    sessionIdConfig: z
      .strictObject({
        sources: z.array(sourceSchema).default([]),
        // 0 (or absent) means the default, as in the reference.
        evictionTtlSeconds: z.number().default(0),
        evictionSweepSeconds: z.number().default(0),
      })
      .default({ sources: [], evictionTtlSeconds: 0, evictionSweepSeconds: 0 }),
  })
  .superRefine((p, ctx) => {
    if (p.strategy !== 'session_id') return;
    const c = p.sessionIdConfig;
    if (c.evictionTtlSeconds < 0) ctx.addIssue({ code: 'custom', path: ['sessionIdConfig', 'evictionTtlSeconds'], message: `must be > 0, got ${c.evictionTtlSeconds}` });
    if (c.evictionSweepSeconds < 0) ctx.addIssue({ code: 'custom', path: ['sessionIdConfig', 'evictionSweepSeconds'], message: `must be > 0, got ${c.evictionSweepSeconds}` });
    c.sources.forEach((s, i) => {
      if (s.attribute !== undefined && s.attribute !== '') {
        ctx.addIssue({
          code: 'custom',
          path: ['sessionIdConfig', 'sources', i, 'attribute'],
          message: `attribute sources read request attributes published by other plugins (session-id-producer, agent-identity), which are not implemented yet; use a header source`,
        });
      }
    });
  });

export const sessionAffinityScorerFactory: PluginFactory = (name, parameters, context) => {
  const p = decodeParameters(schema, parameters, SESSION_AFFINITY_SCORER_TYPE, name);
  const c = p.sessionIdConfig;
  const strategy: SessionStrategy =
    p.strategy === 'session_id'
      ? {
          kind: 'session_id',
          headers: c.sources.length === 0 ? [SESSION_ID_HEADER] : c.sources.map((s) => normalizeHeader(s.header ?? '', SESSION_ID_HEADER)),
          ttlMs: (c.evictionTtlSeconds === 0 ? DEFAULT_EVICTION_TTL_SECONDS : c.evictionTtlSeconds) * 1000,
          sweepMs: (c.evictionSweepSeconds === 0 ? DEFAULT_EVICTION_SWEEP_SECONDS : c.evictionSweepSeconds) * 1000,
        }
      : { kind: 'encoded_endpoint_header', header: normalizeHeader(p.encodedEndpointHeaderConfig.header, SESSION_TOKEN_HEADER) };
  const namespace = context.namespace === undefined || context.namespace === '' ? DEFAULT_SESSION_NAMESPACE : context.namespace;
  return new SessionAffinityScorer(name, namespace, strategy, p.profileName, context.now ?? Date.now);
};
