/**
 * `utilization-detector`: the reference's default saturation detector, also usable as a filter.
 *
 * Saturation over candidates (admission control): the mean of `max(q / queueDepthThreshold,
 * kv / kvCacheUtilThreshold)` per endpoint, where a stale endpoint counts 1.0; no candidates → 1.0.
 * As a filter: drops stale endpoints and those with `q ≥ queueDepthThreshold · (1 + headroom)` or
 * `kv ≥ min(1, kvCacheUtilThreshold · (1 + headroom))`; if that would drop every candidate, keeps
 * them all (the filter sheds load, it never fails a request by itself).
 *
 * Stale = metrics unknown (never scraped, failing, or past the collector's own threshold) or older
 * than `metricsStalenessThreshold` by the clock: the plugin context's `now` when it provides one
 * (pass the metrics collector's clock), else `Date.now`. The collector stamps `updatedAtMs` from
 * its clock, so both must agree; with `--refresh-metrics-interval` above this threshold every
 * endpoint reads as stale between scrapes.
 *
 * ```yaml
 * - type: utilization-detector
 *   parameters:
 *     queueDepthThreshold: 5            # > 0
 *     kvCacheUtilThreshold: 0.8         # in (0, 1]
 *     metricsStalenessThreshold: 200ms  # > 0
 *     headroom: 0.0                     # ≥ 0; extra room the filter allows above the thresholds
 * saturationDetector: {pluginRef: utilization-detector}
 * ```
 */
import { z } from 'zod';
import type { Endpoint, EndpointMetrics } from '../../../datastore/endpoint.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { SaturationDetector } from '../../saturation-detector.js';
import type { Filter, SchedulingRequest } from '../../types.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters, durationSchema } from '../../../plugin/parameters.js';
import { retain } from '../retain.js';

export const UTILIZATION_DETECTOR_TYPE = 'utilization-detector';

export interface UtilizationDetectorConfig {
  readonly queueDepthThreshold: number;
  readonly kvCacheUtilThreshold: number;
  readonly metricsStalenessMs: number;
  readonly headroom: number;
}

export const DEFAULT_UTILIZATION_DETECTOR_CONFIG: UtilizationDetectorConfig = Object.freeze({
  queueDepthThreshold: 5,
  kvCacheUtilThreshold: 0.8,
  metricsStalenessMs: 200,
  headroom: 0,
});


const schema = z.strictObject({
  queueDepthThreshold: z.number().int().gt(0, 'queueDepthThreshold must be strictly positive').default(5),
  kvCacheUtilThreshold: z.number().gt(0, 'kvCacheUtilThreshold must be in (0.0, 1.0]').lte(1, 'kvCacheUtilThreshold must be in (0.0, 1.0]').default(0.8),
  metricsStalenessThreshold: durationSchema.pipe(z.number().gt(0, 'metricsStalenessThreshold must be strictly positive')).default(200),
  headroom: z.number().gte(0, 'headroom must be non-negative').default(0),
});

export class UtilizationDetector implements Filter, SaturationDetector {
  readonly typedName: TypedName;
  readonly #qLimit: number;
  readonly #kvLimit: number;
  // Set per filter call so the bound predicate below allocates nothing.
  #nowMs = 0;
  readonly #keep = (e: Endpoint): boolean => {
    const m = e.metrics;
    return this.#fresh(m, this.#nowMs) && m.waitingQueueSize < this.#qLimit && m.kvCacheUsage < this.#kvLimit;
  };

  constructor(
    name: string,
    readonly config: UtilizationDetectorConfig = DEFAULT_UTILIZATION_DETECTOR_CONFIG,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.typedName = { type: UTILIZATION_DETECTOR_TYPE, name };
    this.#qLimit = config.queueDepthThreshold * (1 + config.headroom);
    this.#kvLimit = Math.min(1, config.kvCacheUtilThreshold * (1 + config.headroom));
  }

  saturation(candidates: readonly Endpoint[]): number {
    const n = candidates.length;
    if (n === 0) return 1;
    const { queueDepthThreshold, kvCacheUtilThreshold } = this.config;
    const now = this.now();
    let total = 0;
    for (let i = 0; i < n; i++) {
      const m = (candidates[i] as Endpoint).metrics;
      total += this.#fresh(m, now) ? Math.max(m.waitingQueueSize / queueDepthThreshold, m.kvCacheUsage / kvCacheUtilThreshold) : 1;
    }
    return total / n;
  }

  filter(_request: SchedulingRequest, candidates: readonly Endpoint[]): readonly Endpoint[] {
    this.#nowMs = this.now();
    const kept = retain(candidates, this.#keep);
    return kept.length === 0 ? candidates : kept;
  }

  #fresh(m: EndpointMetrics, now: number): boolean {
    return m.known && now - m.updatedAtMs <= this.config.metricsStalenessMs;
  }
}

export const utilizationDetectorFactory: PluginFactory = (name, parameters, context) => {
  const p = decodeParameters(schema, parameters, UTILIZATION_DETECTOR_TYPE, name);
  const config: UtilizationDetectorConfig = {
    queueDepthThreshold: p.queueDepthThreshold,
    kvCacheUtilThreshold: p.kvCacheUtilThreshold,
    metricsStalenessMs: p.metricsStalenessThreshold,
    headroom: p.headroom,
  };
  return new UtilizationDetector(name, config, context.now ?? (() => Date.now()));
};
