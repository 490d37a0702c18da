import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Endpoint } from '../../../src/datastore/endpoint.js';
import type { CoreMetricsExtractor} from '../../../src/scrape/data-layer-plugins.js';
import { coreMetricsExtractorFactory } from '../../../src/scrape/data-layer-plugins.js';
import { BUILTIN_ENGINE_SPECS, compileEngineConfig, type EngineConfig } from '../../../src/scrape/engine-config.js';
import { extractMetrics } from '../../../src/scrape/extract-metrics.js';

const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/metrics/${name}`, import.meta.url), 'utf8');
const engine = (name: string): EngineConfig => compileEngineConfig(BUILTIN_ENGINE_SPECS.find((s) => s.name === name) ?? { name });

describe('extractMetrics', () => {
  it('vLLM V1 with two data-parallel engines: sums queue and running, averages KV, keeps ranks', () => {
    const { metrics, missing } = extractMetrics(fixture('vllm-v1-dp2.txt'), engine('vllm'), 1234);
    expect(missing).toEqual([]);
    expect(metrics).toMatchObject({ known: true, waitingQueueSize: 3, runningRequestsSize: 21, cacheBlockSize: 16, updatedAtMs: 1234 });
    expect(metrics.kvCacheUsage).toBeCloseTo((0.4508602 + 0.21875) / 2, 9);
    expect(metrics.cacheNumBlocks).toBeGreaterThan(0);
    expect(metrics.ranks).toEqual([
      { rank: '0', waitingQueueSize: 3, runningRequestsSize: 12, kvCacheUsage: 0.4508602 },
      { rank: '1', waitingQueueSize: 0, runningRequestsSize: 9, kvCacheUsage: 0.21875 },
    ]);
  });

  it('vLLM with LoRA: the lora_requests_info series with the largest value is current', () => {
    const { metrics } = extractMetrics(fixture('vllm-lora-single.txt'), engine('vllm'), 1);
    expect(metrics).toMatchObject({ waitingQueueSize: 1, runningRequestsSize: 2, kvCacheUsage: 0.25, maxActiveModels: 4, cacheBlockSize: 16, cacheNumBlocks: 8192, ranks: [] });
    expect(metrics.activeModels).toEqual(['sql-lora', 'tweet-lora']);
    expect(metrics.waitingModels).toEqual(['chat-lora']);
  });

  it('falls back to the deprecated gpu_cache_usage_perc', () => {
    const text = 'vllm:num_requests_waiting{engine="0"} 2.0\nvllm:gpu_cache_usage_perc{engine="0"} 0.75\n';
    expect(extractMetrics(text, engine('vllm'), 1).metrics).toMatchObject({ known: true, waitingQueueSize: 2, kvCacheUsage: 0.75 });
  });

  it('llm-d-inference-sim (Go formatting, no engine label)', () => {
    const { metrics } = extractMetrics(fixture('llm-d-sim-go.txt'), engine('vllm'), 1);
    expect(metrics).toMatchObject({ waitingQueueSize: 5, runningRequestsSize: 16, kvCacheUsage: 0.0625, cacheNumBlocks: 2048, maxActiveModels: 2 });
    expect(metrics.activeModels).toEqual(['lora1']);
  });

  it('SGLang: page_size / num_pages labels', () => {
    expect(extractMetrics(fixture('sglang.txt'), engine('sglang'), 1).metrics).toMatchObject({
      known: true,
      waitingQueueSize: 4,
      runningRequestsSize: 7,
      kvCacheUsage: 0.31,
      cacheBlockSize: 1,
      cacheNumBlocks: 84231,
    });
  });

  it('Triton TensorRT-LLM: label-matched selectors and gauge cache specs', () => {
    expect(extractMetrics(fixture('triton-trtllm.txt'), engine('triton-tensorrt-llm'), 1).metrics).toMatchObject({
      known: true,
      waitingQueueSize: 3,
      runningRequestsSize: 12,
      kvCacheUsage: 0.352,
      cacheBlockSize: 64,
      cacheNumBlocks: 6239,
    });
  });

  it('is unknown (never idle) when the queue or KV family is missing, and says which', () => {
    const r = extractMetrics('vllm:num_requests_running{engine="0"} 1.0\n', engine('vllm'), 1);
    expect(r.metrics.known).toBe(false);
    expect(r.missing).toEqual(['vllm:num_requests_waiting', 'vllm:kv_cache_usage_perc']);
    expect(extractMetrics(fixture('sglang.txt'), engine('vllm'), 1).metrics.known).toBe(false);
  });

  it('tells a page of other families (missing data) from one that is not Prometheus text (garbage)', () => {
    const vllm = engine('vllm');
    const garbage = (text: string): boolean => extractMetrics(text, vllm, 1).garbage;
    // Exposition text without the wanted families: the wrong engine, a filtered page, comments only, nothing.
    expect(garbage(fixture('sglang.txt'))).toBe(false);
    expect(garbage('vllm:num_requests_running{engine="0"} 1.0\n')).toBe(false);
    expect(garbage('# HELP x y\n# TYPE x gauge\n')).toBe(false);
    expect(garbage('')).toBe(false);
    expect(garbage('other_family{a="b"} 1.5e3 1700000000000\nnot a sample\n')).toBe(false);
    // Not exposition text at all.
    expect(garbage('<html><body>Service Unavailable</body></html>')).toBe(true);
    expect(garbage('Service Unavailable\n')).toBe(true);
    expect(garbage('upstream connect error or disconnect/reset before headers. reset reason: connection failure')).toBe(true);
    expect(garbage('\u0000\u00ff{{{ not prometheus\nvllm:num_requests_waiting{engine="0" 12\n')).toBe(true);
    expect(garbage('{"status":"ok"}\n')).toBe(true);
    // A usable page is never garbage, whatever else it holds.
    expect(garbage('<html>\nvllm:num_requests_waiting 1\nvllm:kv_cache_usage_perc 0.5\n')).toBe(false);
  });

  it('never yields a non-finite queue or a KV value outside [0, 1], whatever the input (property)', () => {
    const value = fc.oneof(fc.double(), fc.constantFrom('NaN', '+Inf', '-Inf', '1e309', '-3', 'x', '4.2421665e+07'));
    const line = fc
      .tuple(fc.constantFrom('vllm:num_requests_waiting', 'vllm:num_requests_running', 'vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc', 'junk'), fc.constantFrom('', '{engine="0"}', '{engine="1"}', '{engine="0",x="a,b"}'), value)
      .map(([n, l, v]) => `${n}${l} ${String(v)}`);
    fc.assert(
      fc.property(fc.array(fc.oneof(line, fc.string()), { maxLength: 12 }), (lines) => {
        const { metrics } = extractMetrics(lines.join('\n'), engine('vllm'), 1);
        expect(Number.isFinite(metrics.waitingQueueSize) && metrics.waitingQueueSize >= 0).toBe(true);
        expect(Number.isFinite(metrics.runningRequestsSize)).toBe(true);
        expect(metrics.kvCacheUsage >= 0 && metrics.kvCacheUsage <= 1).toBe(true);
        for (const r of metrics.ranks) expect(r.kvCacheUsage >= 0 && r.kvCacheUsage <= 1 && Number.isFinite(r.waitingQueueSize)).toBe(true);
      }),
      { numRuns: 1000, seed: 13 },
    );
  });
});

describe('core-metrics-extractor', () => {
  const ep = (labels: Record<string, string>): Endpoint => new Endpoint('e', '10.0.0.1', 8000, labels);

  it('chooses the engine by llm-d.ai/engine-type (legacy key too), default vllm', () => {
    const x = coreMetricsExtractorFactory('x', undefined, { random: Math.random }) as CoreMetricsExtractor;
    expect(x.engineFor(ep({})).name).toBe('vllm');
    expect(x.engineFor(ep({ 'llm-d.ai/engine-type': 'sglang' })).name).toBe('sglang');
    expect(x.engineFor(ep({ 'inference.networking.k8s.io/engine-type': 'trtllm-serve' })).name).toBe('trtllm-serve');
    expect(x.engineFor(ep({ 'llm-d.ai/engine-type': 'nope' })).name).toBe('vllm');
  });

  it('accepts custom engineConfigs with name{label=value} selectors', () => {
    const x = coreMetricsExtractorFactory(
      'x',
      { engineLabelKey: 'engine', defaultEngine: 'mine', engineConfigs: [{ name: 'mine', queuedRequestsSpec: 'my_queue{kind=wait}', kvUsageSpec: 'my_kv' }] },
      { random: Math.random },
    ) as CoreMetricsExtractor;
    const config = x.engineFor(ep({}));
    expect(extractMetrics('my_queue{kind="wait"} 7\nmy_queue{kind="run"} 2\nmy_kv 0.5\n', config, 1).metrics).toMatchObject({ known: true, waitingQueueSize: 7, kvCacheUsage: 0.5 });
  });

  it('rejects a malformed selector and an unknown default engine with the plugin named', () => {
    expect(() => coreMetricsExtractorFactory('x', { engineConfigs: [{ name: 'bad', queuedRequestsSpec: 'q{unterminated' }] }, { random: Math.random })).toThrow(/engine "bad" queuedRequestsSpec/);
    expect(() => coreMetricsExtractorFactory('x', { defaultEngine: 'ghost' }, { random: Math.random })).toThrow(/defaultEngine "ghost"/);
    expect(() => coreMetricsExtractorFactory('x', { bogus: 1 }, { random: Math.random })).toThrow(/core-metrics-extractor/);
  });
});

describe('core-metrics-extractor v0.10 additions', () => {
  const ep = (labels: Record<string, string>): Endpoint => new Endpoint('e', '10.0.0.1', 8000, labels);
  // Triton Inference Server's own metric names (non-LLM models), one series per model.
  const tritonPage = [
    '# HELP nv_inference_pending_request_count Instantaneous number of pending requests awaiting execution per-model.',
    '# TYPE nv_inference_pending_request_count gauge',
    'nv_inference_pending_request_count{model="resnet",version="1"} 4',
    'nv_inference_pending_request_count{model="bert",version="1"} 9',
    '# TYPE nv_inference_exec_count counter',
    'nv_inference_exec_count{model="resnet",version="1"} 120',
    '',
  ].join('\n');

  it('a built-in triton engine: queue and executions from nv_inference_*, no KV family needed (KV use 0)', () => {
    const x = coreMetricsExtractorFactory('x', undefined, { random: Math.random }) as CoreMetricsExtractor;
    const triton = x.engineFor(ep({ 'llm-d.ai/engine-type': 'triton' }));
    expect(triton.name).toBe('triton');
    expect([...triton.wanted].sort()).toEqual(['nv_inference_exec_count', 'nv_inference_pending_request_count']);
    const { metrics, missing } = extractMetrics(tritonPage, triton, 7);
    expect(missing).toEqual([]);
    expect(metrics).toMatchObject({ known: true, waitingQueueSize: 4, runningRequestsSize: 120, kvCacheUsage: 0, cacheBlockSize: 0, updatedAtMs: 7 });
    // Without its queue family a triton endpoint is still unknown, not idle.
    expect(extractMetrics('nv_inference_exec_count 1\n', triton, 7).metrics.known).toBe(false);
  });

  it('engineConfigs[].customMetrics keeps each scalar under its attribute key; a missing one is reported', () => {
    const x = coreMetricsExtractorFactory(
      'x',
      {
        engineConfigs: [
          {
            name: 'vllm',
            queuedRequestsSpec: 'vllm:num_requests_waiting',
            kvUsageSpec: 'vllm:kv_cache_usage_perc',
            customMetrics: [
              { attributeKey: 'custom.queue_depth', metricSpec: 'custom_queue_depth{tier=gold}' },
              { attributeKey: 'custom.swapped', metricSpec: 'vllm:num_requests_swapped' },
            ],
          },
        ],
      },
      { random: Math.random },
    ) as CoreMetricsExtractor;
    const vllm = x.engineFor(ep({}));
    expect(vllm.wantedFrequent.has('custom_queue_depth')).toBe(true);
    const page = 'vllm:num_requests_waiting 1\nvllm:kv_cache_usage_perc 0.5\ncustom_queue_depth{tier="silver"} 3\ncustom_queue_depth{tier="gold"} 11\n';
    const { metrics, missing } = extractMetrics(page, vllm, 1);
    expect(metrics.custom).toEqual({ 'custom.queue_depth': 11 });
    expect(Object.isFrozen(metrics.custom)).toBe(true);
    expect(missing).toEqual(['vllm:num_requests_swapped']);
    // An engine without customMetrics carries none.
    expect(extractMetrics(page, x.engineFor(ep({ 'llm-d.ai/engine-type': 'sglang' })), 1).metrics.custom).toBeUndefined();
  });

  it('rejects a custom metric without a key or spec, a malformed spec, and the reserved engine name "default"', () => {
    const make = (engineConfigs: unknown): unknown => coreMetricsExtractorFactory('x', { engineConfigs }, { random: Math.random });
    expect(() => make([{ name: 'e', customMetrics: [{ attributeKey: '', metricSpec: 'm' }] }])).toThrow(/attributeKey/);
    expect(() => make([{ name: 'e', customMetrics: [{ attributeKey: 'k' }] }])).toThrow(/metricSpec/);
    expect(() => make([{ name: 'e', customMetrics: [{ attributeKey: 'k', metricSpec: 'm{bad' }] }])).toThrow(/customMetrics "k"/);
    expect(() => make([{ name: 'default' }])).toThrow(/reserved/);
  });
});
