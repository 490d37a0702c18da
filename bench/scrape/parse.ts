/**
 * Benchmark of the Prometheus text parser on a realistic vLLM scrape.
 *
 *   npx tsx bench/scrape/parse.ts [--engines 8] [--iterations 3000] [--warmup 500] [--write FILE]
 *
 * Generates the `/metrics` text of one vLLM API server with internal data parallelism (one set of
 * engine series per `engine="i"`), printed the way prometheus_client prints (labels sorted, the mock's Python float formatting): every
 * histogram family of vLLM V1 with its real bucket bounds, counters with their `_created` companions,
 * `vllm:cache_config_info`, `vllm:lora_requests_info`, the http_* families of
 * prometheus-fastapi-instrumentator and the python_* / process_* collectors. It then times, in the same
 * process and on the same texts:
 *
 * - `parsePrometheusText` with the vLLM wanted set (what the scrape loop does);
 * - `parsePrometheusText` with every sample name wanted (the cost of a full parse, for scale);
 * - a floor: `text.split('\n')` plus a `startsWith` per wanted name per line, which extracts nothing;
 * - a lower floor: walking the lines with `indexOf('\n')` and nothing else.
 */
import { cpus } from 'node:os';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { formatPyFloat } from '../../src/mockvllm/py-float.js';
import { parsePrometheusText } from '../../src/scrape/prometheus-text.js';
import { Prng } from '../../src/util/prng.js';

const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';
const MAX_MODEL_LEN = 131072;

/** The wanted set of the vLLM engine config. */
export const VLLM_WANTED: ReadonlySet<string> = new Set([
  'vllm:num_requests_waiting',
  'vllm:num_requests_running',
  'vllm:kv_cache_usage_perc',
  'vllm:gpu_cache_usage_perc',
  'vllm:lora_requests_info',
  'vllm:cache_config_info',
]);

// Bucket bounds from vllm/v1/metrics/loggers.py.
const TTFT = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0];
const TPOT = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0];
const REQUEST_LATENCY = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0];
const ITERATION_TOKENS = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384];
const PARAMS_N = [1, 2, 5, 10, 20];
// prometheus-fastapi-instrumentator's defaults.
const HTTP_HIGHR = [0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 7.5, 10.0, 30.0, 60.0];
const HTTP_LOWR = [0.1, 0.5, 1.0];

/** vLLM's 1-2-5 series up to max_model_len (`build_1_2_5_buckets`). */
function buckets125(max: number): number[] {
  const out: number[] = [];
  for (let exp = 1; ; exp *= 10) {
    for (const m of [1, 2, 5]) {
      if (m * exp > max) return out;
      out.push(m * exp);
    }
  }
}

type Labels = Readonly<Record<string, string>>;

/** prometheus_client's text output: HELP/TYPE per family, labels sorted by name, Python floats. */
class ExpositionBuilder {
  private readonly lines: string[] = [];

  family(name: string, type: 'gauge' | 'counter' | 'histogram' | 'summary', help: string): this {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, labels: Labels, value: number): this {
    const names = Object.keys(labels).sort();
    const body = names.map((n) => `${n}="${(labels[n] ?? '').replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`).join(',');
    this.lines.push(`${name}${names.length === 0 ? '' : `{${body}}`} ${formatPyFloat(value)}`);
    return this;
  }

  toString(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

/** Deterministic uniform source (the project's mulberry32) so every run parses the same bytes. */
function rng(seed: number): () => number {
  const prng = new Prng(seed);
  return () => prng.next();
}

/** Generates one realistic vLLM `/metrics` text; `seed` varies the values only. */
export function generateVllmScrape(engines: number, seed: number): string {
  const r = rng(seed);
  const out = new ExpositionBuilder();
  const createdAt = 1741528329.6545 + seed;
  const engineLabels: Labels[] = Array.from({ length: engines }, (_, i) => ({ engine: String(i), model_name: MODEL }));

  const gauge = (name: string, help: string, value: () => number, extra?: Labels): void => {
    out.family(name, 'gauge', help);
    for (const l of engineLabels) out.sample(name, { ...l, ...extra }, value());
  };
  const counter = (base: string, help: string, value: () => number, extras: readonly Labels[] = [{}]): void => {
    out.family(`${base}_total`, 'counter', help);
    for (const l of engineLabels) for (const e of extras) out.sample(`${base}_total`, { ...l, ...e }, value());
    out.family(`${base}_created`, 'gauge', help);
    for (const l of engineLabels) for (const e of extras) out.sample(`${base}_created`, { ...l, ...e }, createdAt);
  };
  const histogram = (name: string, help: string, bounds: readonly number[], scale: number, labelSets: readonly Labels[] = engineLabels): void => {
    out.family(name, 'histogram', help);
    for (const l of labelSets) {
      const count = Math.floor(r() * 100000);
      let cumulative = 0;
      for (const b of bounds) {
        cumulative = Math.min(count, cumulative + Math.floor(r() * (count / bounds.length) * 2));
        out.sample(`${name}_bucket`, { ...l, le: formatPyFloat(b) }, cumulative);
      }
      out.sample(`${name}_bucket`, { ...l, le: '+Inf' }, count);
      out.sample(`${name}_count`, l, count);
      out.sample(`${name}_sum`, l, count * scale * r());
    }
    out.family(`${name}_created`, 'gauge', help);
    for (const l of labelSets) out.sample(`${name}_created`, l, createdAt);
  };

  // python_* / process_* collectors come first in prometheus_client's default registry.
  out.family('python_gc_objects_collected_total', 'counter', 'Objects collected during gc');
  for (const g of ['0', '1', '2']) out.sample('python_gc_objects_collected_total', { generation: g }, Math.floor(r() * 1e6));
  out.family('python_gc_objects_uncollectable_total', 'counter', 'Uncollectable objects found during GC');
  for (const g of ['0', '1', '2']) out.sample('python_gc_objects_uncollectable_total', { generation: g }, 0);
  out.family('python_gc_collections_total', 'counter', 'Number of times this generation was collected');
  for (const g of ['0', '1', '2']) out.sample('python_gc_collections_total', { generation: g }, Math.floor(r() * 1e4));
  out.family('python_info', 'gauge', 'Python platform information');
  out.sample('python_info', { implementation: 'CPython', major: '3', minor: '12', patchlevel: '11', version: '3.12.11' }, 1);
  out.family('process_virtual_memory_bytes', 'gauge', 'Virtual memory size in bytes.').sample('process_virtual_memory_bytes', {}, 9.8212343808e10);
  out.family('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.').sample('process_resident_memory_bytes', {}, 4.154580992e9);
  out.family('process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds.').sample('process_start_time_seconds', {}, createdAt - 12.5);
  out.family('process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.').sample('process_cpu_seconds_total', {}, 18734.21);
  out.family('process_open_fds', 'gauge', 'Number of open file descriptors.').sample('process_open_fds', {}, 212);
  out.family('process_max_fds', 'gauge', 'Maximum number of open file descriptors.').sample('process_max_fds', {}, 1048576);

  // vLLM's families, in loggers.py order.
  gauge('vllm:num_requests_running', 'Number of requests in model execution batches.', () => Math.floor(r() * 64));
  gauge('vllm:num_requests_waiting', 'Number of requests waiting to be processed.', () => Math.floor(r() * 16));
  out.family('vllm:num_requests_waiting_by_reason', 'gauge', 'Number of requests waiting, by reason.');
  for (const l of engineLabels) for (const reason of ['capacity', 'deferred']) out.sample('vllm:num_requests_waiting_by_reason', { ...l, reason }, Math.floor(r() * 8));
  out.family('vllm:engine_sleep_state', 'gauge', 'Engine sleep state; awake = 0 means engine is sleeping; awake = 1 means engine is awake; weights_offloaded = 1 means sleep level 1; discard_all = 1 means sleep level 2.');
  for (const l of engineLabels) for (const s of ['awake', 'weights_offloaded', 'discard_all']) out.sample('vllm:engine_sleep_state', { ...l, sleep_state: s }, s === 'awake' ? 1 : 0);
  gauge('vllm:gpu_cache_usage_perc', 'GPU KV-cache usage. 1 means 100 percent usage.DEPRECATED: Use vllm:kv_cache_usage_perc instead.', () => r());
  gauge('vllm:kv_cache_usage_perc', 'KV-cache usage. 1 means 100 percent usage.', () => r());
  counter('vllm:prefix_cache_queries', 'Prefix cache queries, in terms of number of queried tokens.', () => Math.floor(r() * 5e7));
  counter('vllm:prefix_cache_hits', 'Prefix cache hits, in terms of number of cached tokens.', () => Math.floor(r() * 3e7));
  counter('vllm:external_prefix_cache_queries', 'External prefix cache queries from KV connector cross-instance cache sharing, in terms of number of queried tokens.', () => 0);
  counter('vllm:external_prefix_cache_hits', 'External prefix cache hits from KV connector cross-instance cache sharing, in terms of number of cached tokens.', () => 0);
  counter('vllm:num_preemptions', 'Cumulative number of preemption from the engine.', () => Math.floor(r() * 10));
  counter('vllm:prompt_tokens', 'Number of prefill tokens processed.', () => Math.floor(r() * 9e7));
  counter('vllm:generation_tokens', 'Number of generation tokens processed.', () => Math.floor(r() * 2e7));
  counter('vllm:request_success', 'Count of successfully processed requests.', () => Math.floor(r() * 7e4), [
    { finished_reason: 'stop' },
    { finished_reason: 'length' },
    { finished_reason: 'abort' },
  ]);
  const tokens = buckets125(MAX_MODEL_LEN);
  histogram('vllm:request_prompt_tokens', 'Number of prefill tokens processed.', tokens, 2000);
  histogram('vllm:request_generation_tokens', 'Number of generation tokens processed.', tokens, 400);
  histogram('vllm:iteration_tokens_total', 'Histogram of number of tokens per engine_step.', ITERATION_TOKENS, 300);
  histogram('vllm:request_max_num_generation_tokens', 'Histogram of maximum number of requested generation tokens.', tokens, 1000);
  histogram('vllm:request_params_n', 'Histogram of the n request parameter.', PARAMS_N, 1);
  histogram('vllm:request_params_max_tokens', 'Histogram of the max_tokens request parameter.', tokens, 1000);
  histogram('vllm:time_to_first_token_seconds', 'Histogram of time to first token in seconds.', TTFT, 0.2);
  histogram('vllm:time_per_output_token_seconds', 'Histogram of time per output token in seconds.DEPRECATED: Use vllm:inter_token_latency_seconds instead.', TPOT, 0.02);
  histogram('vllm:inter_token_latency_seconds', 'Histogram of inter-token latency in seconds.', TPOT, 0.02);
  histogram('vllm:request_time_per_output_token_seconds', 'Histogram of time_per_output_token_seconds per request.', TPOT, 0.02);
  histogram('vllm:e2e_request_latency_seconds', 'Histogram of e2e request latency in seconds.', REQUEST_LATENCY, 4);
  histogram('vllm:request_queue_time_seconds', 'Histogram of time spent in WAITING phase for request.', REQUEST_LATENCY, 0.1);
  histogram('vllm:request_inference_time_seconds', 'Histogram of time spent in RUNNING phase for request.', REQUEST_LATENCY, 4);
  histogram('vllm:request_prefill_time_seconds', 'Histogram of time spent in PREFILL phase for request.', REQUEST_LATENCY, 0.3);
  histogram('vllm:request_decode_time_seconds', 'Histogram of time spent in DECODE phase for request.', REQUEST_LATENCY, 3.7);

  out.family('vllm:cache_config_info', 'gauge', 'Information of the LLMEngine CacheConfig');
  for (let i = 0; i < engines; i++) {
    out.sample(
      'vllm:cache_config_info',
      {
        block_size: '16',
        cache_dtype: 'auto',
        calculate_kv_scales: 'False',
        cpu_offload_gb: '0',
        enable_prefix_caching: 'True',
        engine: String(i),
        gpu_memory_utilization: '0.9',
        is_attention_free: 'False',
        kv_sharing_fast_prefill: 'False',
        mamba_cache_dtype: 'auto',
        num_cpu_blocks: 'None',
        num_gpu_blocks: '27605',
        num_gpu_blocks_override: 'None',
        prefix_caching_hash_algo: 'sha256',
        sliding_window: 'None',
        swap_space: '4',
      },
      1,
    );
  }
  out.family('vllm:lora_requests_info', 'gauge', 'Running stats on lora requests.');
  out.sample('vllm:lora_requests_info', { max_lora: '4', running_lora_adapters: '', waiting_lora_adapters: '' }, createdAt + 20);
  out.sample('vllm:lora_requests_info', { max_lora: '4', running_lora_adapters: 'sql-lora', waiting_lora_adapters: '' }, createdAt + 40);
  out.sample('vllm:lora_requests_info', { max_lora: '4', running_lora_adapters: 'sql-lora,tweet-lora', waiting_lora_adapters: 'chat-lora' }, createdAt + 60);

  // prometheus-fastapi-instrumentator, registered by vLLM's API server.
  const handlers = ['/v1/completions', '/v1/chat/completions', '/v1/models', '/health', '/metrics'];
  const httpLabels = handlers.map((handler) => ({ handler, method: handler.startsWith('/v1/c') ? 'POST' : 'GET' }));
  out.family('http_requests_total', 'counter', 'Total number of requests by method, status and handler.');
  for (const l of httpLabels) out.sample('http_requests_total', { ...l, status: '2xx' }, Math.floor(r() * 1e5));
  out.family('http_requests_created', 'gauge', 'Total number of requests by method, status and handler.');
  for (const l of httpLabels) out.sample('http_requests_created', { ...l, status: '2xx' }, createdAt);
  for (const [name, help] of [
    ['http_request_size_bytes', 'Content length of incoming requests by handler. Only value of header is respected. Otherwise ignored. No percentile calculated. '],
    ['http_response_size_bytes', 'Content length of outgoing responses by handler. Only value of header is respected. Otherwise ignored. No percentile calculated. '],
  ] as const) {
    out.family(name, 'summary', help);
    for (const l of httpLabels) {
      out.sample(`${name}_count`, { handler: l.handler }, Math.floor(r() * 1e5));
      out.sample(`${name}_sum`, { handler: l.handler }, Math.floor(r() * 1e9));
    }
    out.family(`${name}_created`, 'gauge', help);
    for (const l of httpLabels) out.sample(`${name}_created`, { handler: l.handler }, createdAt);
  }
  histogram('http_request_duration_highr_seconds', 'Latency with many buckets but no API specific labels. Made for more accurate percentile calculations. ', HTTP_HIGHR, 2, [{}]);
  histogram('http_request_duration_seconds', 'Latency with only few buckets by handler. Made to be only used if aggregation by handler is important. ', HTTP_LOWR, 2, httpLabels);
  return out.toString();
}

interface Timing {
  readonly label: string;
  readonly sorted: Float64Array;
  readonly check: number;
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

/** Times `fn` over the texts in turn: `warmup` unmeasured calls, then `iterations` measured ones. */
function time(label: string, texts: readonly string[], warmup: number, iterations: number, fn: (text: string) => number): Timing {
  let check = 0;
  for (let i = 0; i < warmup; i++) check += fn(texts[i % texts.length] ?? '');
  const ms = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const text = texts[i % texts.length] ?? '';
    const t0 = process.hrtime.bigint();
    check += fn(text);
    ms[i] = Number(process.hrtime.bigint() - t0) / 1e6;
  }
  return { label, sorted: ms.sort(), check };
}

/**
 * Approximate heap bytes allocated per call of `fn`: heap growth after a forced GC over `calls` calls,
 * which should be too few to trigger a scavenge on their own. A scavenge inside a round could only lower that
 * round's reading, so the largest of seven rounds is kept.
 */
function allocatedPerCall(text: string, calls: number, fn: (text: string) => number): number {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  let largest = 0;
  for (let round = 0; round < 7; round++) {
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < calls; i++) fn(text);
    largest = Math.max(largest, (process.memoryUsage().heapUsed - before) / calls);
  }
  return largest;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      engines: { type: 'string', default: '8' },
      iterations: { type: 'string', default: '3000' },
      warmup: { type: 'string', default: '500' },
      write: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  const print = (s: string): void => {
    process.stdout.write(`${s}\n`);
  };
  if (values.help) {
    print('npx tsx bench/scrape/parse.ts [--engines 8] [--iterations 3000] [--warmup 500] [--write FILE]');
    return;
  }
  const positiveInt = (flag: string, text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} must be a positive integer, got ${JSON.stringify(text)}`);
    return n;
  };
  const engines = positiveInt('engines', values.engines);
  const iterations = positiveInt('iterations', values.iterations);
  const warmup = positiveInt('warmup', values.warmup);
  // Four texts with different values, parsed in turn, so nothing is specialised to one string.
  const texts = [1, 2, 3, 4].map((seed) => generateVllmScrape(engines, seed));
  const text = texts[0] ?? '';
  if (values.write !== undefined) writeFileSync(values.write, text);

  const allNames = new Set<string>();
  const countAll = parsePrometheusText(text, new Set(), () => undefined);
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const end = line.search(/[{ ]/);
    allNames.add(line.slice(0, end));
  }

  // Sanity: the wanted families are all there, per engine.
  const seen = new Map<string, number>();
  const stats = parsePrometheusText(text, VLLM_WANTED, (name) => seen.set(name, (seen.get(name) ?? 0) + 1));
  const expected = [
    ['vllm:num_requests_waiting', engines],
    ['vllm:num_requests_running', engines],
    ['vllm:kv_cache_usage_perc', engines],
    ['vllm:gpu_cache_usage_perc', engines],
    ['vllm:cache_config_info', engines],
    ['vllm:lora_requests_info', 3],
  ] as const;
  for (const [name, n] of expected) {
    if (seen.get(name) !== n) throw new Error(`sanity check failed: ${name} seen ${seen.get(name) ?? 0} times, expected ${n}`);
  }
  if (stats.malformed !== 0) throw new Error(`sanity check failed: ${stats.malformed} malformed lines`);

  const wantedList = [...VLLM_WANTED];
  const results: Timing[] = [];
  let sink = 0;
  const onSample = (_n: string, labels: Record<string, string>, value: number): void => {
    sink += value + (labels.engine === undefined ? 0 : 1);
  };
  results.push(time('parsePrometheusText, vLLM wanted set', texts, warmup, iterations, (t) => parsePrometheusText(t, VLLM_WANTED, onSample).samples));
  results.push(time(`parsePrometheusText, all ${allNames.size} sample names wanted`, texts, warmup, iterations, (t) => parsePrometheusText(t, allNames, onSample).samples));
  results.push(
    time("floor: split('\\n') + startsWith per wanted name", texts, warmup, iterations, (t) => {
      let hits = 0;
      for (const line of t.split('\n')) {
        for (const w of wantedList) {
          if (line.startsWith(w)) {
            hits++;
            break;
          }
        }
      }
      return hits;
    }),
  );
  results.push(
    time("floor: indexOf('\\n') line walk only", texts, warmup, iterations, (t) => {
      let n = 0;
      for (let pos = 0; pos < t.length; n++) {
        const nl = t.indexOf('\n', pos);
        pos = nl === -1 ? t.length : nl + 1;
      }
      return n;
    }),
  );

  const noop = (): void => undefined;
  const allocWanted = allocatedPerCall(text, 20, (t) => parsePrometheusText(t, VLLM_WANTED, noop).samples);
  const nothing = new Set<string>();
  const allocNone = allocatedPerCall(text, 20, (t) => parsePrometheusText(t, nothing, noop).samples);
  const allocAll = allocatedPerCall(text, 1, (t) => parsePrometheusText(t, allNames, noop).samples);

  const cpu = cpus();
  print(`## scrape-parse benchmark — ${cpu.length} cores (${cpu[0]?.model ?? '?'}), node ${process.version}, ${process.platform}-${process.arch}`);
  print(`scrape: vLLM, ${engines} engines, ${text.length} bytes (${(text.length / 1024).toFixed(1)} KiB), ${countAll.lines} lines, ${countAll.skipped} sample lines, ${allNames.size} sample names`);
  print(`wanted: ${wantedList.join(', ')} → ${stats.samples} samples`);
  print(`warmup ${warmup}, measured ${iterations} calls each, over ${texts.length} texts in turn`);
  print('');
  print('| what | median ms | p90 ms | p99 ms | MB/s at median |');
  print('|---|---|---|---|---|');
  for (const r of results) {
    const med = quantile(r.sorted, 0.5);
    print(`| ${r.label} | ${med.toFixed(4)} | ${quantile(r.sorted, 0.9).toFixed(4)} | ${quantile(r.sorted, 0.99).toFixed(4)} | ${(text.length / 1e6 / (med / 1e3)).toFixed(0)} |`);
  }
  print('');
  print(
    `heap allocated per call (approx.): vLLM wanted set ${(allocWanted / 1024).toFixed(1)} KiB, ` +
      `nothing wanted ${allocNone.toFixed(0)} B, all names wanted ${(allocAll / 1024).toFixed(0)} KiB`,
  );
  // Keeps the work observable so none of it can be optimised away.
  if (Number.isNaN(sink + results.reduce((s, r) => s + r.check, 0))) print('(checksum NaN)');
}

main();
