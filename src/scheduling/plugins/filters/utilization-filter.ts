/**
 * `utilization-filter` (the reference's renamed `active-request-filter`): keeps the candidates that
 * satisfy every configured cap, so one condition over its `maxValue` drops an endpoint.
 *
 * Metrics: `active-requests` (requests this picker routed there and has not seen end; read from the
 * `inflight-load-producer` instance `inFlightLoadProducerName` names, else the default one, else the
 * endpoint's own in-flight count), and the scraped `running-requests`, `waiting-queue` and
 * `kv-cache-utilization` (a fraction). An endpoint never scraped reads 0 for the scraped metrics, as
 * in the reference. When every candidate is dropped the result is empty (the profile fails), or,
 * with `fallbackOnEmpty: true`, the candidates unchanged.
 *
 * Parameters: `conditions` (at least one `{metric, maxValue}`; `maxValue` ≥ 0, ≤ 1 for
 * `kv-cache-utilization`), `fallbackOnEmpty` (default false), `inFlightLoadProducerName`.
 *
 * ```yaml
 * - type: utilization-filter
 *   parameters:
 *     conditions: [{metric: running-requests, maxValue: 40}, {metric: waiting-queue, maxValue: 0}]
 *     fallbackOnEmpty: true
 * ```
 */
import { z } from 'zod';
import type { Endpoint } from '../../../datastore/endpoint.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters } from '../../../plugin/parameters.js';
import type { StateKey } from '../../cycle-state.js';
import type { Filter, SchedulingRequest } from '../../types.js';
import { inFlightLoadKey, type InFlightLoad } from '../producers/inflight-load-producer.js';
import { retain } from '../retain.js';

export const UTILIZATION_FILTER_TYPE = 'utilization-filter';

export const UTILIZATION_METRICS = ['active-requests', 'running-requests', 'waiting-queue', 'kv-cache-utilization'] as const;
export type UtilizationMetric = (typeof UTILIZATION_METRICS)[number];

/** One cap: an endpoint passes when its `metric` is at most `maxValue`. */
export interface UtilizationCondition {
  readonly metric: UtilizationMetric;
  readonly maxValue: number;
}

const conditionSchema = z
  .strictObject({
    metric: z.enum(UTILIZATION_METRICS),
    maxValue: z.number().min(0, 'maxValue must be non-negative'),
  })
  .refine((c) => c.metric !== 'kv-cache-utilization' || c.maxValue <= 1, { message: 'maxValue for kv-cache-utilization is a fraction and must be at most 1', path: ['maxValue'] });

const schema = z.strictObject({
  conditions: z.array(conditionSchema).min(1, 'utilization filter requires at least one condition'),
  fallbackOnEmpty: z.boolean().default(false),
  inFlightLoadProducerName: z.string().default(''),
});

export class UtilizationFilter implements Filter {
  readonly typedName: TypedName;
  readonly conditions: readonly UtilizationCondition[];
  readonly #load: StateKey<InFlightLoad>;
  // Set per filter call so the bound predicate allocates nothing per request.
  #active: InFlightLoad | undefined;
  readonly #keep = (e: Endpoint): boolean => {
    for (let i = 0; i < this.conditions.length; i++) {
      const c = this.conditions[i] as UtilizationCondition;
      if (this.#value(e, c.metric) > c.maxValue) return false;
    }
    return true;
  };

  /** @param inFlightLoadProducer the producer instance read for `active-requests` (undefined = the default one) */
  constructor(
    name: string,
    conditions: readonly UtilizationCondition[],
    readonly fallbackOnEmpty = false,
    readonly inFlightLoadProducer?: string,
  ) {
    this.typedName = { type: UTILIZATION_FILTER_TYPE, name };
    this.conditions = Object.freeze(conditions.map((c) => Object.freeze({ ...c })));
    this.#load = inFlightLoadKey(inFlightLoadProducer);
  }

  filter(request: SchedulingRequest, candidates: readonly Endpoint[]): readonly Endpoint[] {
    this.#active = request.state.get(this.#load);
    let kept: readonly Endpoint[];
    try {
      kept = retain(candidates, this.#keep);
    } finally {
      this.#active = undefined;
    }
    return kept.length === 0 && this.fallbackOnEmpty ? candidates : kept;
  }

  #value(e: Endpoint, metric: UtilizationMetric): number {
    switch (metric) {
      case 'active-requests':
        return this.#active === undefined ? e.inFlight : this.#active.requests(e);
      case 'running-requests':
        return e.metrics.runningRequestsSize;
      case 'waiting-queue':
        return e.metrics.waitingQueueSize;
      case 'kv-cache-utilization':
        return e.metrics.kvCacheUsage;
    }
  }
}

export const utilizationFilterFactory: PluginFactory = (name, parameters) => {
  const p = decodeParameters(schema, parameters ?? {}, UTILIZATION_FILTER_TYPE, name);
  return new UtilizationFilter(name, p.conditions, p.fallbackOnEmpty, p.inFlightLoadProducerName === '' ? undefined : p.inFlightLoadProducerName);
};
