/**
 * `inflight-load-producer`: counts, per endpoint, the requests this EPP routed there whose stream has
 * not ended, and their estimated tokens (llm-d-router v0.10 semantics).
 *
 * Tokens a request adds to an endpoint: the part of its prompt that endpoint does not already hold,
 * plus — only with `addEstimatedOutputTokens` — its estimated output:
 *
 *     input    = max(1, ⌊bodyBytes / 4⌋)                        (0 without a body)
 *     uncached = (totalBlocks − matchedBlocks(e)) · B + max(0, input − totalBlocks · B)
 *                from the prefix match of the producer `prefixMatchInfoProducerName` names (default
 *                `approx-prefix-cache-producer`); `input` when there is no match data
 *     output   = min(round(input · outputRatio), the request's output cap, maxEstimatedOutputTokens)
 *                the output cap being the client's `max_completion_tokens` / `max_tokens` /
 *                `max_output_tokens` when it gave one; output counts the whole prompt, not the uncached part
 *
 * PreRequest adds one request and those tokens to the first target of every profile that produced
 * one, as one entry per profile. At the first response byte (prefill is over): the `prefill`
 * profile's entry is released entirely, and — unless `addEstimatedOutputTokens` — every other entry's
 * tokens too (its request stays counted). At the end of the stream whatever is left is released;
 * every entry is released exactly once.
 *
 * Before scheduling it publishes itself under `inFlightLoadKey(name)` for `active-request-scorer` and
 * `token-load-scorer` (which pick the instance with `inFlightLoadProducerName`; default the one named
 * `inflight-load-producer`). `requestTokens` is what the request being scheduled would add to an
 * endpoint, which `token-load-scorer` counts on top of the load already there.
 *
 * ```yaml
 * - type: inflight-load-producer
 *   parameters:
 *     addEstimatedOutputTokens: false   # default; true also counts the estimated output until the stream ends
 *     outputRatio: 1.5                  # default; ≥ 0; estimated output tokens per input token
 *     maxEstimatedOutputTokens: 4096    # optional; ≥ 0; caps the output estimate (unset = no cap)
 *     prefixMatchInfoProducerName: approx-prefix-cache-producer   # the default
 *     syncCrossReplicaState: true       # accepted; there is no cross-replica sync here (one replica's load)
 * ```
 *
 * The reference injects this producer when a configured plugin consumes in-flight load
 * (`active-request-scorer`, `token-load-scorer`) and none is listed.
 */
import { z } from 'zod';
import type { Endpoint } from '../../../datastore/endpoint.js';
import { StateKey } from '../../cycle-state.js';
import { prefixMatchKey, readPrefixMatch, type PrefixMatchInfo } from '../../prefix-match.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { DataProducer, FirstResponseByteHook, PreRequestHook, RequestEndHook, SchedulingRequest, SchedulingResult } from '../../types.js';
import { PREFILL_PROFILE_NAME } from './approx-prefix-cache-producer.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters } from '../../../plugin/parameters.js';

export const INFLIGHT_LOAD_PRODUCER_TYPE = 'inflight-load-producer';

/** Live in-flight load per endpoint (by endpoint name, so it survives endpoint object replacement). */
export interface InFlightLoad {
  requests(endpoint: Endpoint): number;
  tokens(endpoint: Endpoint): number;
  /** Tokens `request` (the one being scheduled) would add to `endpoint` if routed there. */
  requestTokens(request: SchedulingRequest, endpoint: Endpoint): number;
}

// One key per producer name, made at configuration time.
const keys = new Map<string, StateKey<InFlightLoad>>();

/** The cycle-state slot of producer instance `producerName` (default: the one named `inflight-load-producer`). */
export function inFlightLoadKey(producerName: string | undefined = INFLIGHT_LOAD_PRODUCER_TYPE): StateKey<InFlightLoad> {
  const name = producerName === '' ? INFLIGHT_LOAD_PRODUCER_TYPE : producerName;
  let key = keys.get(name);
  if (key === undefined) {
    key = new StateKey<InFlightLoad>(`inflight-load/${name}`);
    keys.set(name, key);
  }
  return key;
}

/** The default producer's slot. */
export const INFLIGHT_LOAD = inFlightLoadKey();

const CHARS_PER_TOKEN = 4;
export const DEFAULT_OUTPUT_RATIO = 1.5;

/** How requests are turned into tokens. */
export interface TokenEstimate {
  readonly addEstimatedOutputTokens: boolean;
  readonly outputRatio: number;
  /** Undefined = no operator cap. */
  readonly maxEstimatedOutputTokens: number | undefined;
}

export const DEFAULT_TOKEN_ESTIMATE: TokenEstimate = Object.freeze({ addEstimatedOutputTokens: false, outputRatio: DEFAULT_OUTPUT_RATIO, maxEstimatedOutputTokens: undefined });

/** Estimated prompt tokens from the body size; 0 without a body. */
export function estimateInputTokens(request: SchedulingRequest): number {
  const bytes = request.llm?.bodyBytes ?? 0;
  return bytes <= 0 ? 0 : Math.max(1, Math.floor(bytes / CHARS_PER_TOKEN));
}

/** Estimated output tokens for `input` prompt tokens, bounded by the client's cap and the operator's. */
export function estimateOutputTokens(input: number, clientCap: number | undefined, estimate: TokenEstimate): number {
  if (input <= 0) return 0;
  let out = Math.round(input * estimate.outputRatio);
  if (clientCap !== undefined && clientCap >= 0 && clientCap < out) out = clientCap;
  const cap = estimate.maxEstimatedOutputTokens;
  if (cap !== undefined && cap >= 0 && cap < out) out = cap;
  return out;
}

/** The prompt tokens `endpoint` must compute: those past its cached prefix, plus any tail the prefix index did not cover. */
export function uncachedInputTokens(input: number, match: PrefixMatchInfo | undefined, endpoint: Endpoint): number {
  if (match === undefined || !(match.blockSizeTokens > 0)) return Math.max(0, input);
  const b = match.blockSizeTokens;
  const indexed = match.totalBlocks * b;
  const cached = match.matchedBlocks(endpoint) * b;
  return Math.max(0, indexed - cached) + Math.max(0, input - indexed);
}

/** One profile's contribution of one request. */
interface Entry {
  readonly name: string;
  readonly prefill: boolean;
  tokens: number;
  request: boolean;
}

interface Load {
  requests: number;
  tokens: number;
}

export class InFlightLoadProducer implements DataProducer, PreRequestHook, FirstResponseByteHook, RequestEndHook, InFlightLoad {
  readonly typedName: TypedName;
  readonly #load = new Map<string, Load>();
  // Per instance: two configured producers must not release each other's additions.
  readonly #added: StateKey<Entry[] | undefined>;
  readonly #published: StateKey<InFlightLoad>;
  readonly #match: StateKey<PrefixMatchInfo>;

  /** @param prefixMatchProducer the prefix producer instance whose match discounts cached prompt tokens (undefined = the default one) */
  constructor(
    name: string,
    readonly estimate: TokenEstimate = DEFAULT_TOKEN_ESTIMATE,
    readonly prefixMatchProducer?: string,
  ) {
    this.typedName = { type: INFLIGHT_LOAD_PRODUCER_TYPE, name };
    this.#added = new StateKey<Entry[] | undefined>(`${INFLIGHT_LOAD_PRODUCER_TYPE}/${name}/added`);
    this.#published = inFlightLoadKey(name);
    this.#match = prefixMatchKey(prefixMatchProducer);
  }

  requests(endpoint: Endpoint): number {
    return this.#load.get(endpoint.name)?.requests ?? 0;
  }

  tokens(endpoint: Endpoint): number {
    return this.#load.get(endpoint.name)?.tokens ?? 0;
  }

  requestTokens(request: SchedulingRequest, endpoint: Endpoint): number {
    const input = estimateInputTokens(request);
    const tokens = uncachedInputTokens(input, readPrefixMatch(request.state, this.#match, this.prefixMatchProducer !== undefined), endpoint);
    return this.estimate.addEstimatedOutputTokens ? tokens + estimateOutputTokens(input, request.llm?.maxOutputTokens, this.estimate) : tokens;
  }

  produce(request: SchedulingRequest): void {
    request.state.set(this.#published, this);
  }

  preRequest(request: SchedulingRequest, result: SchedulingResult): void {
    if (request.state.get(this.#added) !== undefined) return;
    const entries: Entry[] = [];
    for (const [profile, r] of result.profileResults) {
      const target = r?.targets[0];
      if (target === undefined) continue;
      const tokens = this.requestTokens(request, target);
      const load = this.#load.get(target.name);
      if (load === undefined) this.#load.set(target.name, { requests: 1, tokens });
      else {
        load.requests++;
        load.tokens += tokens;
      }
      entries.push({ name: target.name, prefill: profile === PREFILL_PROFILE_NAME, tokens, request: true });
    }
    request.state.set(this.#added, entries);
  }

  firstResponseByte(request: SchedulingRequest): void {
    const entries = request.state.get(this.#added);
    if (entries === undefined) return;
    for (const e of entries) {
      if (e.prefill) this.#release(e, true);
      else if (!this.estimate.addEstimatedOutputTokens) this.#release(e, false);
    }
  }

  requestEnded(request: SchedulingRequest): void {
    const entries = request.state.get(this.#added);
    if (entries === undefined) return;
    request.state.set(this.#added, undefined);
    for (const e of entries) this.#release(e, true);
  }

  /** Takes the entry's tokens (and its request when `request`) off its endpoint, each at most once. */
  #release(e: Entry, request: boolean): void {
    const load = this.#load.get(e.name);
    if (load !== undefined) {
      load.tokens = Math.max(0, load.tokens - e.tokens);
      if (request && e.request) load.requests = Math.max(0, load.requests - 1);
      if (load.requests === 0 && load.tokens === 0) this.#load.delete(e.name);
    }
    e.tokens = 0;
    if (request) e.request = false;
  }
}

const schema = z.strictObject({
  addEstimatedOutputTokens: z.boolean().default(false),
  outputRatio: z.number().min(0).default(DEFAULT_OUTPUT_RATIO),
  maxEstimatedOutputTokens: z.number().int().min(0).optional(),
  prefixMatchInfoProducerName: z.string().optional(),
  syncCrossReplicaState: z.boolean().optional(),
});

export const inFlightLoadProducerFactory: PluginFactory = (name, parameters) => {
  const p = decodeParameters(schema, parameters, INFLIGHT_LOAD_PRODUCER_TYPE, name);
  return new InFlightLoadProducer(
    name,
    { addEstimatedOutputTokens: p.addEstimatedOutputTokens, outputRatio: p.outputRatio, maxEstimatedOutputTokens: p.maxEstimatedOutputTokens },
    p.prefixMatchInfoProducerName === '' ? undefined : p.prefixMatchInfoProducerName,
  );
};
