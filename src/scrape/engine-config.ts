/**
 * How to read the routing signals from each kind of model server's Prometheus metrics. The built-in
 * table follows the reference EPP (vllm, sglang, trtllm-serve, triton-tensorrt-llm); custom engines
 * come from `core-metrics-extractor` parameters (`engineConfigs`) with the reference's field names.
 * Specs are PromQL-style instant selectors: `name` or `name{label=value}`.
 */
import { parseSeriesSelector } from './prometheus-text.js';

/** A parsed `name{label=value,…}` selector. */
export interface SeriesSelector {
  readonly name: string;
  readonly matchers: readonly { readonly label: string; readonly value: string }[];
}

/** The raw, config-facing form (reference field names). */
export interface EngineConfigSpec {
  readonly name: string;
  readonly queuedRequestsSpec?: string;
  readonly runningRequestsSpec?: string;
  /** One spec, or several tried in order (the first family present wins). */
  readonly kvUsageSpec?: string | readonly string[];
  readonly loraSpec?: string;
  readonly cacheInfoSpec?: string;
  readonly cacheBlockSizeLabelName?: string;
  readonly cacheNumBlocksLabelName?: string;
  readonly cacheBlockSizeSpec?: string;
  readonly cacheNumBlocksSpec?: string;
  /** Label naming the data-parallel rank of a series (this project's extension). */
  readonly rankLabelName?: string;
  /** Further scalar metrics kept per endpoint under `attributeKey` (llm-d's endpoint attributes). */
  readonly customMetrics?: readonly { readonly attributeKey: string; readonly metricSpec: string }[];
}

/** A compiled engine config. */
export interface EngineConfig {
  readonly name: string;
  readonly queued: SeriesSelector | undefined;
  readonly running: SeriesSelector | undefined;
  readonly kvUsage: readonly SeriesSelector[];
  readonly lora: SeriesSelector | undefined;
  readonly cacheInfo: SeriesSelector | undefined;
  readonly cacheBlockSizeLabel: string;
  readonly cacheNumBlocksLabel: string;
  readonly cacheBlockSize: SeriesSelector | undefined;
  readonly cacheNumBlocks: SeriesSelector | undefined;
  readonly rankLabel: string;
  readonly custom: readonly { readonly key: string; readonly selector: SeriesSelector }[];
  /** Every sample name this engine reads: the parser skips all others. */
  readonly wanted: ReadonlySet<string>;
  /**
   * The names read on most scrapes: `wanted` without the cache-capacity families, which change only
   * when a server restarts and cost the most to parse (vLLM's cache_config_info has ~20 labels).
   */
  readonly wantedFrequent: ReadonlySet<string>;
}

export const BUILTIN_ENGINE_SPECS: readonly EngineConfigSpec[] = [
  {
    name: 'vllm',
    queuedRequestsSpec: 'vllm:num_requests_waiting',
    runningRequestsSpec: 'vllm:num_requests_running',
    // vLLM ≥ 0.9 name first; the deprecated (and V0) name as fallback.
    kvUsageSpec: ['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc'],
    loraSpec: 'vllm:lora_requests_info',
    cacheInfoSpec: 'vllm:cache_config_info',
    cacheBlockSizeLabelName: 'block_size',
    cacheNumBlocksLabelName: 'num_gpu_blocks',
    rankLabelName: 'engine',
  },
  {
    name: 'sglang',
    queuedRequestsSpec: 'sglang:num_queue_reqs',
    runningRequestsSpec: 'sglang:num_running_reqs',
    kvUsageSpec: 'sglang:token_usage',
    cacheInfoSpec: 'sglang:cache_config_info',
    cacheBlockSizeLabelName: 'page_size',
    cacheNumBlocksLabelName: 'num_pages',
    rankLabelName: 'dp_rank',
  },
  {
    name: 'trtllm-serve',
    queuedRequestsSpec: 'trtllm_num_requests_waiting',
    runningRequestsSpec: 'trtllm_num_requests_running',
    kvUsageSpec: 'trtllm_kv_cache_utilization',
    cacheBlockSizeSpec: 'trtllm_kv_cache_tokens_per_block',
    cacheNumBlocksSpec: 'trtllm_kv_cache_max_blocks',
  },
  {
    name: 'triton-tensorrt-llm',
    queuedRequestsSpec: 'nv_trt_llm_request_metrics{request_type=waiting}',
    runningRequestsSpec: 'nv_trt_llm_request_metrics{request_type=scheduled}',
    kvUsageSpec: 'nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=fraction}',
    cacheBlockSizeSpec: 'nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=tokens_per}',
    cacheNumBlocksSpec: 'nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=max}',
  },
  // Triton Inference Server for non-LLM models (KServe v2): queue and executions only, no KV cache or
  // LoRA (llm-d-router #1207, the reference's metric names).
  {
    name: 'triton',
    queuedRequestsSpec: 'nv_inference_pending_request_count',
    runningRequestsSpec: 'nv_inference_exec_count',
  },
];

/** Compiles a spec; throws an Error naming the engine and field on a malformed selector. */
export function compileEngineConfig(spec: EngineConfigSpec): EngineConfig {
  const sel = (field: string, text: string | undefined): SeriesSelector | undefined => {
    if (text === undefined || text === '') return undefined;
    try {
      return parseSeriesSelector(text);
    } catch (err) {
      throw new Error(`engine "${spec.name}" ${field}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  };
  const kvSpecs = spec.kvUsageSpec === undefined ? [] : typeof spec.kvUsageSpec === 'string' ? [spec.kvUsageSpec] : spec.kvUsageSpec;
  const config = {
    name: spec.name,
    queued: sel('queuedRequestsSpec', spec.queuedRequestsSpec),
    running: sel('runningRequestsSpec', spec.runningRequestsSpec),
    kvUsage: kvSpecs.map((s) => sel('kvUsageSpec', s)).filter((s): s is SeriesSelector => s !== undefined),
    lora: sel('loraSpec', spec.loraSpec),
    cacheInfo: sel('cacheInfoSpec', spec.cacheInfoSpec),
    cacheBlockSizeLabel: spec.cacheBlockSizeLabelName ?? 'block_size',
    cacheNumBlocksLabel: spec.cacheNumBlocksLabelName ?? 'num_gpu_blocks',
    cacheBlockSize: sel('cacheBlockSizeSpec', spec.cacheBlockSizeSpec),
    cacheNumBlocks: sel('cacheNumBlocksSpec', spec.cacheNumBlocksSpec),
    rankLabel: spec.rankLabelName ?? 'engine',
    custom: (spec.customMetrics ?? []).flatMap((c) => {
      const selector = sel(`customMetrics "${c.attributeKey}"`, c.metricSpec);
      return selector === undefined ? [] : [{ key: c.attributeKey, selector }];
    }),
  };
  const wantedFrequent = new Set<string>();
  for (const s of [config.queued, config.running, ...config.kvUsage, config.lora, ...config.custom.map((c) => c.selector)]) if (s !== undefined) wantedFrequent.add(s.name);
  const wanted = new Set(wantedFrequent);
  for (const s of [config.cacheInfo, config.cacheBlockSize, config.cacheNumBlocks]) if (s !== undefined) wanted.add(s.name);
  return { ...config, wanted, wantedFrequent };
}

/** Engine label keys, as in the reference (the second is the legacy key). */
export const ENGINE_LABEL_KEYS = ['llm-d.ai/engine-type', 'inference.networking.k8s.io/engine-type'] as const;
