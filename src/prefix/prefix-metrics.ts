/**
 * The approximate prefix index's metrics, with llm-d v0.10's names, labels and buckets:
 * `llm_d_epp_prefix_indexer_size{plugin_name, plugin_type}` (gauge: entries in each producer's
 * index, computed when Prometheus scrapes — no timer), `llm_d_epp_prefix_indexer_hit_ratio` (histogram:
 * matched/total blocks of the routed endpoint, for prompts of at least one block) and
 * `llm_d_epp_prefix_indexer_hit_bytes` (histogram: matched blocks × block tokens × 4), each with its
 * deprecated unlabelled `inference_extension_prefix_indexer_*` twin (summed over producers).
 * The histograms are HotHistograms: an observation is a bucket scan, nothing more.
 */
import { Gauge, type Registry } from 'prom-client';
import { HotHistogram } from '../observability/hot-metrics.js';
import { twin } from '../observability/legacy-twin.js';
import type { TypedName } from '../plugin/plugin.js';
import { CHARS_PER_TOKEN } from './constants.js';

export const PREFIX_INDEXER_SIZE_METRIC = 'llm_d_epp_prefix_indexer_size';
export const PREFIX_INDEXER_HIT_RATIO_METRIC = 'llm_d_epp_prefix_indexer_hit_ratio';
export const PREFIX_INDEXER_HIT_BYTES_METRIC = 'llm_d_epp_prefix_indexer_hit_bytes';

const RATIO_BUCKETS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
const BYTES_BUCKETS = [0, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536];
const PLUGIN_LABELS = ['plugin_name', 'plugin_type'] as const;

/** What the size gauge reads from an index. */
export interface IndexSizeSource {
  readonly size: number;
}

/** What one producer reports. */
export interface PrefixMatchMetrics {
  /** Records the match of the endpoint a request was routed to. */
  observeMatch(matchedBlocks: number, totalBlocks: number, blockSizeTokens: number): void;
}

/** Registers the prefix-index metrics on `registry`; each producer reports through `forPlugin`. */
export class PrefixCacheMetrics {
  readonly #sources = new Set<{ readonly index: WeakRef<IndexSizeSource>; readonly plugin: TypedName }>();
  readonly #ratio: HotHistogram<(typeof PLUGIN_LABELS)[number]>;
  readonly #bytes: HotHistogram<(typeof PLUGIN_LABELS)[number]>;

  constructor(registry: Registry) {
    const sources = this.#sources;
    const size = new Gauge({
      name: PREFIX_INDEXER_SIZE_METRIC,
      help: 'Entries in the approximate prefix index of each producer.',
      labelNames: PLUGIN_LABELS,
      registers: [registry],
      collect(this: Gauge<(typeof PLUGIN_LABELS)[number]>) {
        this.reset();
        for (const s of sources) {
          const index = s.index.deref();
          if (index === undefined) sources.delete(s);
          else this.labels(s.plugin.name, s.plugin.type).inc(index.size);
        }
      },
    });
    twin(registry, size, 'inference_extension_prefix_indexer_size', []);
    this.#ratio = new HotHistogram({
      name: PREFIX_INDEXER_HIT_RATIO_METRIC,
      help: 'Share of the prompt blocks found in the index for the endpoint a request was routed to.',
      labelNames: PLUGIN_LABELS,
      buckets: RATIO_BUCKETS,
      registry,
    });
    twin(registry, this.#ratio, 'inference_extension_prefix_indexer_hit_ratio', []);
    this.#bytes = new HotHistogram({
      name: PREFIX_INDEXER_HIT_BYTES_METRIC,
      help: 'Length in bytes of the prefix found in the index for the endpoint a request was routed to.',
      labelNames: PLUGIN_LABELS,
      buckets: BYTES_BUCKETS,
      registry,
    });
    twin(registry, this.#bytes, 'inference_extension_prefix_indexer_hit_bytes', []);
  }

  /** The recorder of one producer; its index is held weakly, so a discarded one drops out by itself. */
  forPlugin(plugin: TypedName, index: IndexSizeSource): PrefixMatchMetrics {
    this.#sources.add({ index: new WeakRef(index), plugin });
    const ratio = this.#ratio.labels(plugin.name, plugin.type);
    const bytes = this.#bytes.labels(plugin.name, plugin.type);
    return {
      observeMatch(matchedBlocks, totalBlocks, blockSizeTokens) {
        bytes.observe(matchedBlocks * blockSizeTokens * CHARS_PER_TOKEN);
        if (totalBlocks > 0) ratio.observe(matchedBlocks / totalBlocks);
      },
    };
  }
}
