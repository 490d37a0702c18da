/**
 * The approximate prefix index's metrics, with the reference's names and buckets (no labels):
 * `inference_extension_prefix_indexer_size` (gauge: entries in every tracked index, computed when
 * Prometheus scrapes — no timer), `inference_extension_prefix_indexer_hit_ratio` (histogram:
 * matched/total blocks of the routed endpoint, for prompts of at least one block) and
 * `inference_extension_prefix_indexer_hit_bytes` (histogram: matched blocks × block tokens × 4).
 * The histograms are HotHistograms: an observation is a bucket scan, nothing more.
 */
import { Gauge, type Registry } from 'prom-client';
import { HotHistogram, type HistogramSeries } from '../observability/hot-metrics.js';
import { CHARS_PER_TOKEN } from './constants.js';

export const PREFIX_INDEXER_SIZE_METRIC = 'inference_extension_prefix_indexer_size';
export const PREFIX_INDEXER_HIT_RATIO_METRIC = 'inference_extension_prefix_indexer_hit_ratio';
export const PREFIX_INDEXER_HIT_BYTES_METRIC = 'inference_extension_prefix_indexer_hit_bytes';

const RATIO_BUCKETS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
const BYTES_BUCKETS = [0, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536];

/** What the size gauge reads from an index. */
export interface IndexSizeSource {
  readonly size: number;
}

/** Registers the prefix-index metrics on `registry`; producers report into it. */
export class PrefixCacheMetrics {
  readonly #sources = new Set<WeakRef<IndexSizeSource>>();
  readonly #ratio: HistogramSeries;
  readonly #bytes: HistogramSeries;

  constructor(registry: Registry) {
    const sources = this.#sources;
    new Gauge({
      name: PREFIX_INDEXER_SIZE_METRIC,
      help: 'Size of the prefix indexer.',
      registers: [registry],
      collect(this: Gauge) {
        let total = 0;
        for (const ref of sources) {
          const source = ref.deref();
          if (source === undefined) sources.delete(ref);
          else total += source.size;
        }
        this.set(total);
      },
    });
    this.#ratio = new HotHistogram({
      name: PREFIX_INDEXER_HIT_RATIO_METRIC,
      help: 'Ratio of prefix length matched to total prefix length in the cache lookup.',
      labelNames: [],
      buckets: RATIO_BUCKETS,
      registry,
    }).labels();
    this.#bytes = new HotHistogram({
      name: PREFIX_INDEXER_HIT_BYTES_METRIC,
      help: 'Length of the prefix match in number of bytes in the cache lookup.',
      labelNames: [],
      buckets: BYTES_BUCKETS,
      registry,
    }).labels();
  }

  /** Adds an index to the size gauge; held weakly, so a discarded index drops out by itself. */
  track(index: IndexSizeSource): void {
    this.#sources.add(new WeakRef(index));
  }

  /** Records the match of the endpoint a request was routed to. */
  observeMatch(matchedBlocks: number, totalBlocks: number, blockSizeTokens: number): void {
    const bytesPerBlock = blockSizeTokens * CHARS_PER_TOKEN;
    this.#bytes.observe(matchedBlocks * bytesPerBlock);
    if (totalBlocks > 0) this.#ratio.observe(matchedBlocks / totalBlocks);
  }
}
