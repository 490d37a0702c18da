/**
 * The multimodal encoder-cache affinity metrics of `mm-embeddings-cache-producer`, with llm-d v0.10's
 * names, labels and buckets (they have no deprecated twins there):
 *
 * - `llm_d_epp_encoder_cache_queries_total{plugin_type, plugin_name, modality}`: item lookups, one per
 *   distinct item of a request;
 * - `llm_d_epp_encoder_cache_hits_total{plugin_type, plugin_name, pod, modality}`: per endpoint
 *   (any tracked one, not only candidates, as in the reference) whose LRU held the item;
 * - `llm_d_epp_encoder_cache_hit_ratio{plugin_type, plugin_name}`: histogram of matched / total items
 *   per candidate endpoint and request.
 *
 * `modality` is one of image, video, audio; `pod` is the endpoint's name (bounded by the pool).
 */
import type { Registry } from 'prom-client';
import type { TypedName } from '../plugin/plugin.js';
import type { Modality } from '../request/multimodal-item.js';
import { HotCounter, HotHistogram, type CounterSeries, type HistogramSeries } from './hot-metrics.js';

export const ENCODER_CACHE_QUERIES_METRIC = 'llm_d_epp_encoder_cache_queries_total';
export const ENCODER_CACHE_HITS_METRIC = 'llm_d_epp_encoder_cache_hits_total';
export const ENCODER_CACHE_HIT_RATIO_METRIC = 'llm_d_epp_encoder_cache_hit_ratio';

const RATIO_BUCKETS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];

/** What one producer reports. */
export interface EncoderCacheRecorder {
  query(modality: Modality): void;
  hit(pod: string, modality: Modality): void;
  hitRatio(ratio: number): void;
}

/** Registers the metrics on `registry`; each producer reports through `forPlugin`. */
export class EncoderCacheMetrics {
  readonly #queries: HotCounter<'plugin_type' | 'plugin_name' | 'modality'>;
  readonly #hits: HotCounter<'plugin_type' | 'plugin_name' | 'pod' | 'modality'>;
  readonly #ratio: HotHistogram<'plugin_type' | 'plugin_name'>;

  constructor(registry: Registry) {
    this.#queries = new HotCounter({
      name: ENCODER_CACHE_QUERIES_METRIC,
      help: 'Multimodal item hash lookups made against the encoder-cache affinity LRU.',
      labelNames: ['plugin_type', 'plugin_name', 'modality'],
      registry,
    });
    this.#hits = new HotCounter({
      name: ENCODER_CACHE_HITS_METRIC,
      help: 'Multimodal item hash lookups that found the item in an endpoint\'s encoder-cache affinity LRU, by endpoint.',
      labelNames: ['plugin_type', 'plugin_name', 'pod', 'modality'],
      registry,
    });
    this.#ratio = new HotHistogram({
      name: ENCODER_CACHE_HIT_RATIO_METRIC,
      help: 'Ratio of matched multimodal items to total items per endpoint in an encoder-cache lookup.',
      labelNames: ['plugin_type', 'plugin_name'],
      buckets: RATIO_BUCKETS,
      registry,
    });
  }

  forPlugin(plugin: TypedName): EncoderCacheRecorder {
    const queries = new Map<Modality, CounterSeries>();
    const queriesOf = (m: Modality): CounterSeries => {
      let s = queries.get(m);
      if (s === undefined) {
        s = this.#queries.labels(plugin.type, plugin.name, m);
        queries.set(m, s);
      }
      return s;
    };
    const ratio: HistogramSeries = this.#ratio.labels(plugin.type, plugin.name);
    const hits = this.#hits;
    return {
      query: (m) => queriesOf(m).inc(),
      hit: (pod, m) => hits.labels(plugin.type, plugin.name, pod, m).inc(),
      hitRatio: (r) => ratio.observe(r),
    };
  }
}
