/**
 * `inflight-load-producer`: counts, per endpoint, the requests this EPP routed there whose stream has
 * not ended, and their estimated tokens. PreRequest adds one request and the request's token
 * estimate to the first target of every profile that produced one (the primary profile's target
 * and, under P/D, the prefill target); RequestEnd takes exactly what that request added away again,
 * once. Before scheduling it publishes itself under `INFLIGHT_LOAD` in the cycle state for
 * `active-request-scorer` and `token-load-scorer`.
 *
 * Token estimate (the reference's, from body size): `in = max(1, ⌊bodyBytes / 4⌋)`,
 * `tokens = in + round(1.5 · in)` (prompt plus expected output, 2.5 × in); 0 without a body.
 * A P/D prefill target's share (the `prefill` profile's target, when it is not also the primary) is
 * released at the first response byte, as the reference does: prefill is over by then; the rest at
 * the end of the stream (or all of it then, when no response byte was seen).
 *
 * ```yaml
 * - type: inflight-load-producer     # no parameters
 * ```
 *
 * The reference injects this producer when a configured plugin consumes in-flight load
 * (`active-request-scorer`, `token-load-scorer`) and none is listed.
 */
import type { Endpoint } from '../../datastore/endpoint.js';
import { StateKey } from '../cycle-state.js';
import type { PluginFactory } from '../../plugin/registry.js';
import type { DataProducer, FirstResponseByteHook, PreRequestHook, RequestEndHook, SchedulingRequest, SchedulingResult } from '../types.js';
import { PREFILL_PROFILE_NAME } from './approx-prefix-cache-producer.js';
import type { TypedName } from '../../plugin/plugin.js';
import { decodeParameters, noParametersSchema } from '../../plugin/parameters.js';

export const INFLIGHT_LOAD_PRODUCER_TYPE = 'inflight-load-producer';

/** Live in-flight load per endpoint (by endpoint name, so it survives endpoint object replacement). */
export interface InFlightLoad {
  requests(endpoint: Endpoint): number;
  tokens(endpoint: Endpoint): number;
}

/** Written by `inflight-load-producer` before scheduling; absent when no producer is configured. */
export const INFLIGHT_LOAD = new StateKey<InFlightLoad>('inflight-load');

const CHARS_PER_TOKEN = 4;
const OUTPUT_RATIO = 1.5;

/** The reference's estimate of a request's tokens (prompt + expected output) from its body size. */
export function estimateRequestTokens(request: SchedulingRequest): number {
  const bytes = request.llm?.bodyBytes ?? 0;
  if (bytes <= 0) return 0;
  const input = Math.max(1, Math.floor(bytes / CHARS_PER_TOKEN));
  return input + Math.round(input * OUTPUT_RATIO);
}

interface Load {
  requests: number;
  tokens: number;
}

/** What one request added, so its end removes exactly that. */
interface Added {
  readonly names: string[];
  readonly tokens: number;
  /** The prefill target's name while its share is still counted. */
  prefill: string | undefined;
}

export class InFlightLoadProducer implements DataProducer, PreRequestHook, FirstResponseByteHook, RequestEndHook, InFlightLoad {
  readonly typedName: TypedName;
  readonly #load = new Map<string, Load>();
  // Per instance: two configured producers must not release each other's additions.
  readonly #added: StateKey<Added | undefined>;

  constructor(name: string) {
    this.typedName = { type: INFLIGHT_LOAD_PRODUCER_TYPE, name };
    this.#added = new StateKey<Added | undefined>(`${INFLIGHT_LOAD_PRODUCER_TYPE}/${name}/added`);
  }

  requests(endpoint: Endpoint): number {
    return this.#load.get(endpoint.name)?.requests ?? 0;
  }

  tokens(endpoint: Endpoint): number {
    return this.#load.get(endpoint.name)?.tokens ?? 0;
  }

  produce(request: SchedulingRequest): void {
    request.state.set(INFLIGHT_LOAD, this);
  }

  preRequest(request: SchedulingRequest, result: SchedulingResult): void {
    if (request.state.get(this.#added) !== undefined) return;
    const tokens = estimateRequestTokens(request);
    const names: string[] = [];
    const primary = result.profileResults.get(result.primaryProfileName)?.targets[0];
    const prefill = result.primaryProfileName === PREFILL_PROFILE_NAME ? undefined : result.profileResults.get(PREFILL_PROFILE_NAME)?.targets[0];
    for (const r of result.profileResults.values()) {
      const target = r?.targets[0];
      if (target === undefined) continue;
      const load = this.#load.get(target.name);
      if (load === undefined) this.#load.set(target.name, { requests: 1, tokens });
      else {
        load.requests++;
        load.tokens += tokens;
      }
      names.push(target.name);
    }
    request.state.set(this.#added, { names, tokens, prefill: prefill !== undefined && prefill !== primary ? prefill.name : undefined });
  }

  firstResponseByte(request: SchedulingRequest): void {
    const added = request.state.get(this.#added);
    if (added?.prefill === undefined) return;
    const i = added.names.indexOf(added.prefill);
    added.prefill = undefined;
    if (i < 0) return;
    const [name] = added.names.splice(i, 1);
    if (name !== undefined) this.#take(name, added.tokens);
  }

  requestEnded(request: SchedulingRequest): void {
    const added = request.state.get(this.#added);
    if (added === undefined) return;
    request.state.set(this.#added, undefined);
    for (const name of added.names) this.#take(name, added.tokens);
  }

  #take(name: string, tokens: number): void {
    const load = this.#load.get(name);
    if (load === undefined) return;
    load.requests = Math.max(0, load.requests - 1);
    load.tokens = Math.max(0, load.tokens - tokens);
    if (load.requests === 0) this.#load.delete(name);
  }
}

export const inFlightLoadProducerFactory: PluginFactory = (name, parameters) => {
  decodeParameters(noParametersSchema, parameters, INFLIGHT_LOAD_PRODUCER_TYPE, name);
  return new InFlightLoadProducer(name);
};
