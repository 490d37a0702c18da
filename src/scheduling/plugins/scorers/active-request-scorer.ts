/**
 * `active-request-scorer`: prefers endpoints with fewer requests in flight from this EPP. An endpoint
 * with at most `idleThreshold` in-flight requests scores 1; a busier one scores
 * `(max − c) / max · maxBusyScore`, `max` being the highest count among the candidates. Setting
 * `maxBusyScore` below 1 keeps every idle endpoint strictly ahead of every busy one.
 *
 * Counts come from the `inflight-load-producer` instance `inFlightLoadProducerName` names (default
 * the one named `inflight-load-producer`); without it in the configuration the director's own
 * per-endpoint in-flight counter is used, which counts the same requests for the primary target.
 *
 * ```yaml
 * - type: active-request-scorer
 *   parameters:
 *     idleThreshold: 0      # default 0; negative → 0
 *     maxBusyScore: 1.0     # default 1.0; outside [0, 1] → 1.0
 *     inFlightLoadProducerName: inflight-load-producer   # the default
 *     requestTimeout: 2m    # deprecated and ignored (accepted for old configs)
 * ```
 */
import { z } from 'zod';
import type { Endpoint } from '../../../datastore/endpoint.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { Scorer, SchedulingRequest } from '../../types.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { inFlightLoadKey, type InFlightLoad } from '../producers/inflight-load-producer.js';
import type { StateKey } from '../../cycle-state.js';
import { decodeParameters } from '../../../plugin/parameters.js';

export const ACTIVE_REQUEST_SCORER_TYPE = 'active-request-scorer';

// Out-of-range values fall back like the reference (which logs and carries on) rather than failing.
const schema = z.strictObject({
  requestTimeout: z.string().optional(),
  idleThreshold: z
    .number()
    .int()
    .default(0)
    .transform((n) => Math.max(0, n)),
  maxBusyScore: z
    .number()
    .default(1)
    .transform((s) => (s >= 0 && s <= 1 ? s : 1)),
  inFlightLoadProducerName: z.string().optional(),
});

export class ActiveRequestScorer implements Scorer {
  readonly typedName: TypedName;
  readonly #load: StateKey<InFlightLoad>;

  /** @param inFlightLoadProducer the producer instance read (undefined = the default one) */
  constructor(
    name: string,
    readonly idleThreshold = 0,
    readonly maxBusyScore = 1,
    readonly inFlightLoadProducer?: string,
  ) {
    this.typedName = { type: ACTIVE_REQUEST_SCORER_TYPE, name };
    this.#load = inFlightLoadKey(inFlightLoadProducer);
  }

  score(request: SchedulingRequest, candidates: readonly Endpoint[], out: Float64Array): void {
    const load = request.state.get(this.#load);
    const n = candidates.length;
    let max = 0;
    for (let i = 0; i < n; i++) {
      const e = candidates[i] as Endpoint;
      const c = load === undefined ? e.inFlight : load.requests(e);
      out[i] = c;
      if (c > max) max = c;
    }
    for (let i = 0; i < n; i++) {
      const c = out[i] ?? 0;
      out[i] = c <= this.idleThreshold ? 1 : ((max - c) / max) * this.maxBusyScore;
    }
  }
}

export const activeRequestScorerFactory: PluginFactory = (name, parameters) => {
  const p = decodeParameters(schema, parameters, ACTIVE_REQUEST_SCORER_TYPE, name);
  return new ActiveRequestScorer(name, p.idleThreshold, p.maxBusyScore, p.inFlightLoadProducerName === '' ? undefined : p.inFlightLoadProducerName);
};
