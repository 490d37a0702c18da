import type { EngineSnapshot } from '../engine/engine.js';
import { ExpositionBuilder, type Labels } from './exposition.js';
import { FINISH_REASONS, type EngineStats } from './engine-stats.js';
import type { FakeLoraInfo, FakeMetrics } from './fake-metrics.js';
import type { Histogram } from './histogram.js';

/** The latency histograms of an engine-driven server, observed in the engine's virtual time. */
export interface LatencyHistograms {
  readonly ttft: Histogram;
  readonly itl: Histogram;
  readonly e2e: Histogram;
}

/** Everything one `/metrics` scrape reports. */
export interface MetricsSnapshotInput {
  readonly model: string;
  readonly maxLoras: number;
  /** The DP rank this server is: the value of the `engine` label (vLLM external-LB DP). Default 0. */
  readonly rank?: number;
  readonly stats: EngineStats;
  /** Pinned values that override the live ones, key by key. */
  readonly fake: FakeMetrics | undefined;
  /** Unix seconds when the server started: the value of every `_created` series. */
  readonly createdAt: number;
  /** Unix seconds now: the value of the live `vllm:lora_requests_info` series. */
  readonly now: number;
  /**
   * The engine model's state, when one drives the server: the source of queue, KV, prefix-cache,
   * token-counter and LoRA values.
   */
  readonly engine?: EngineSnapshot;
  /** With `engine`: its TTFT / ITL / e2e histograms, replacing the HTTP layer's wall-clock ones. */
  readonly latency?: LatencyHistograms;
  /** The `name[]` query filter, if the scrape asked for one. */
  readonly only?: ReadonlySet<string>;
}

function counter(out: ExpositionBuilder, base: string, help: string, labels: Labels, value: number, createdAt: number): void {
  out.family(`${base}_total`, 'counter', help).sample(`${base}_total`, labels, value);
  out.family(`${base}_created`, 'gauge', help).sample(`${base}_created`, labels, createdAt);
}

function histogram(out: ExpositionBuilder, name: string, help: string, labels: Labels, h: Histogram, createdAt: number): void {
  out.family(name, 'histogram', help);
  h.render(out, name, labels);
  out.family(`${name}_created`, 'gauge', help).sample(`${name}_created`, labels, createdAt);
}

function loraSeries(input: MetricsSnapshotInput): FakeLoraInfo[] {
  if (input.fake?.loras !== undefined) return [...input.fake.loras];
  const { engine } = input;
  if (engine !== undefined) return [{ running: engine.runningLoras.join(','), waiting: engine.waitingLoras.join(','), timestamp: input.now }];
  return [{ running: input.stats.runningLoras().join(','), waiting: '', timestamp: input.now }];
}

/**
 * Renders the scrape in vLLM V1's exposition format (prometheus_client style): `engine="<rank>"` and
 * `model_name` on engine series, sorted labels, Python floats, `_created` companions for counters and
 * histograms. `vllm:cache_config_info` carries `engine` but no `model_name`, and
 * `vllm:lora_requests_info` carries neither, exactly as vLLM emits them.
 */
export function renderMetrics(input: MetricsSnapshotInput): string {
  const { stats, fake, createdAt, engine, latency } = input;
  const rank = String(input.rank ?? 0);
  const labels: Labels = { engine: rank, model_name: input.model };
  const out = new ExpositionBuilder(input.only);

  out
    .family('vllm:num_requests_running', 'gauge', 'Number of requests in model execution batches.')
    .sample('vllm:num_requests_running', labels, fake?.['running-requests'] ?? engine?.running ?? stats.runningCount);
  out
    .family('vllm:num_requests_waiting', 'gauge', 'Number of requests waiting to be processed.')
    .sample('vllm:num_requests_waiting', labels, fake?.['waiting-requests'] ?? engine?.waiting ?? 0);
  out
    .family('vllm:kv_cache_usage_perc', 'gauge', 'KV-cache usage. 1 means 100 percent usage.')
    .sample('vllm:kv_cache_usage_perc', labels, fake?.['kv-cache-usage'] ?? engine?.kvCacheUsage ?? stats.kvCacheUsage());

  counter(out, 'vllm:prefix_cache_queries', 'Prefix cache queries, in terms of number of queried tokens.', labels, engine?.prefixCacheQueries ?? stats.prefixCacheQueries, createdAt);
  counter(out, 'vllm:prefix_cache_hits', 'Prefix cache hits, in terms of number of cached tokens.', labels, engine?.prefixCacheHits ?? stats.prefixCacheHits, createdAt);
  counter(out, 'vllm:num_preemptions', 'Cumulative number of preemption from the engine.', labels, engine?.preemptions ?? 0, createdAt);
  counter(out, 'vllm:prompt_tokens', 'Number of prefill tokens processed.', labels, engine?.promptTokens ?? stats.promptTokens, createdAt);
  counter(out, 'vllm:generation_tokens', 'Number of generation tokens processed.', labels, engine?.generationTokens ?? stats.generationTokens, createdAt);

  const successHelp = 'Count of successfully processed requests.';
  out.family('vllm:request_success_total', 'counter', successHelp);
  for (const reason of FINISH_REASONS) {
    out.sample('vllm:request_success_total', { ...labels, finished_reason: reason }, stats.finished.get(reason) ?? 0);
  }
  out.family('vllm:request_success_created', 'gauge', successHelp);
  for (const reason of FINISH_REASONS) out.sample('vllm:request_success_created', { ...labels, finished_reason: reason }, createdAt);

  const hist = latency ?? stats;
  histogram(out, 'vllm:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', labels, hist.ttft, createdAt);
  histogram(out, 'vllm:inter_token_latency_seconds', 'Histogram of inter-token latency in seconds.', labels, hist.itl, createdAt);
  histogram(out, 'vllm:e2e_request_latency_seconds', 'Histogram of e2e request latency in seconds.', labels, hist.e2e, createdAt);

  out.family('vllm:cache_config_info', 'gauge', 'Information of the LLMEngine CacheConfig').sample(
    'vllm:cache_config_info',
    {
      block_size: String(stats.geometry.blockSize),
      cache_dtype: 'auto',
      calculate_kv_scales: 'False',
      cpu_offload_gb: '0',
      enable_prefix_caching: 'True',
      engine: rank,
      gpu_memory_utilization: '0.9',
      is_attention_free: 'False',
      num_cpu_blocks: 'None',
      num_gpu_blocks: String(stats.geometry.numGpuBlocks),
      num_gpu_blocks_override: 'None',
      prefix_caching_hash_algo: 'sha256',
      sliding_window: 'None',
      swap_space: '4',
    },
    1,
  );

  out.family('vllm:lora_requests_info', 'gauge', 'Running stats on lora requests.');
  for (const lora of loraSeries(input)) {
    out.sample(
      'vllm:lora_requests_info',
      { max_lora: String(input.maxLoras), running_lora_adapters: lora.running ?? '', waiting_lora_adapters: lora.waiting ?? '' },
      lora.timestamp ?? input.now,
    );
  }
  return out.toString();
}
