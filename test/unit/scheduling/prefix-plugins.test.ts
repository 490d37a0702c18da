import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { buildScheduler } from '../../../src/config/build-scheduler.js';
import { loadConfig } from '../../../src/config/load-config.js';
import type { Endpoint, EndpointMetrics } from '../../../src/datastore/endpoint.js';
import { PrefixCacheMetrics } from '../../../src/prefix/prefix-metrics.js';
import type { LLMRequest } from '../../../src/request/llm-request.js';
import { CycleState } from '../../../src/scheduling/cycle-state.js';
import { PREFIX_MATCH, prefixMatchKey, type PrefixMatchInfo } from '../../../src/scheduling/prefix-match.js';
import {
  APPROX_PREFIX_CACHE_PRODUCER_TYPE,
  ApproxPrefixCacheProducer,
  approxPrefixCacheProducerFactory,
  DEFAULT_APPROX_PREFIX_CACHE_CONFIG,
  MIN_BLOCK_SIZE_TOKENS,
} from '../../../src/scheduling/plugins/producers/approx-prefix-cache-producer.js';
import { registerBuiltins } from '../../../src/builtins.js';
import { PrefixCacheScorer, prefixCacheScorerFactory } from '../../../src/scheduling/plugins/scorers/prefix-cache-scorer.js';
import type { PluginRegistry } from '../../../src/plugin/registry.js';
import type { Scheduler } from '../../../src/scheduling/scheduler.js';
import type { Scorer, SchedulingRequest, SchedulingResult } from '../../../src/scheduling/types.js';
import { describeScorer } from '../../contract/plugin-contracts.js';
import { endpoint, schedulingRequest } from '../../helpers/endpoints.js';
import { configProblems } from '../../helpers/config-problems.js';

const context = { random: () => 0.5 };

function registry(): PluginRegistry {
  return registerBuiltins();
}

/** The reference's default profile: queue 2, kv-cache-utilization 2, prefix-cache 3, max-score picker. */
const defaultProfile = (producerParameters = '{}', withPrefix = true): string => `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: queue-scorer
- type: kv-cache-utilization-scorer
- type: prefix-cache-scorer
- type: approx-prefix-cache-producer
  parameters: ${producerParameters}
- type: max-score-picker
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
    weight: 2
  - pluginRef: kv-cache-utilization-scorer
    weight: 2
${withPrefix ? '  - pluginRef: prefix-cache-scorer\n    weight: 3\n' : ''}  - pluginRef: max-score-picker
`;

function build(producerParameters = '{}', withPrefix = true): { scheduler: Scheduler; producer: ApproxPrefixCacheProducer } {
  const built = buildScheduler(loadConfig({ text: defaultProfile(producerParameters, withPrefix) }), registry(), context, undefined);
  const producer = built.plugins.get(APPROX_PREFIX_CACHE_PRODUCER_TYPE);
  if (!(producer instanceof ApproxPrefixCacheProducer)) throw new Error('producer not built');
  return { scheduler: built.scheduler, producer };
}

const completion = (prompt: string, cacheSalt?: string): LLMRequest => ({ api: 'completions', model: 'm', stream: false, cacheSalt, body: { model: 'm', prompt }, bodyBytes: prompt.length });

let nextId = 0;
function request(llm: LLMRequest | undefined, targetModel = 'm'): SchedulingRequest {
  return { requestId: `r${nextId++}`, targetModel, llm, headers: new Map(), state: new CycleState() };
}

/** What the director does around a scheduling cycle: producers, schedule, pre-request hooks. */
function route(scheduler: Scheduler, candidates: readonly Endpoint[], llm: LLMRequest | undefined, targetModel = 'm'): { target: Endpoint; req: SchedulingRequest } {
  const req = request(llm, targetModel);
  for (const p of scheduler.hooks.producers) p.produce(req, candidates);
  const result = scheduler.schedule(req, candidates);
  for (const h of scheduler.hooks.preRequest) h.preRequest(req, result, new Map());
  const target = result.profileResults.get(result.primaryProfileName)?.targets[0];
  if (target === undefined) throw new Error('no target');
  return { target, req };
}

const metrics: Partial<EndpointMetrics> = { waitingQueueSize: 0, kvCacheUsage: 0.2, cacheBlockSize: 16, cacheNumBlocks: 0 };
const pool = (n: number, m: Partial<EndpointMetrics> = metrics): Endpoint[] => Array.from({ length: n }, (_, i) => endpoint(i, m));

/** A deterministic pseudo-random text: distinct seeds share no 64-byte block. */
function doc(seed: number, length: number): string {
  let x = seed * 2654435761 + 1;
  let s = '';
  while (s.length < length) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    s += (x >>> 8).toString(36);
  }
  return s.slice(0, length);
}

function prefixScores(req: SchedulingRequest, candidates: readonly Endpoint[], scorer = new PrefixCacheScorer('p')): number[] {
  const out = new Float64Array(candidates.length);
  scorer.score(req, candidates, out);
  return Array.from(out);
}


class FixedInfo implements PrefixMatchInfo {
  constructor(
    readonly totalBlocks: number,
    readonly blockSizeTokens: number,
    private readonly matches: ReadonlyMap<Endpoint, number>,
  ) {}
  matchedBlocks(e: Endpoint): number {
    return this.matches.get(e) ?? 0;
  }
}

describeScorer('prefix-cache-scorer', () => new PrefixCacheScorer('prefix'));
describeScorer('prefix-cache-scorer (matchLengthWeight 0.5)', () => new PrefixCacheScorer('prefix', 0.5, 100));

describe('prefix-cache-scorer', () => {
  const [a, b, c] = pool(3) as [Endpoint, Endpoint, Endpoint];

  it('scores matched/total blocks; 0 without info or with 0 blocks', () => {
    const req = schedulingRequest();
    expect(prefixScores(req, [a, b, c])).toEqual([0, 0, 0]);
    req.state.set(PREFIX_MATCH, new FixedInfo(10, 1, new Map([[a, 5], [b, 2]])));
    expect(prefixScores(req, [a, b, c])).toEqual([0.5, 0.2, 0]);
    req.state.set(PREFIX_MATCH, new FixedInfo(0, 16, new Map([[a, 5]])));
    const out = new Float64Array(3).fill(9);
    new PrefixCacheScorer('p').score(req, [a, b, c], out);
    expect(Array.from(out)).toEqual([0, 0, 0]);
  });

  it('matchLengthWeight w: w·min(1, m·B/scale)² + (1−w)·m/t (llm-d-router PR #1459)', () => {
    const req = schedulingRequest();
    req.state.set(PREFIX_MATCH, new FixedInfo(10, 1, new Map([[a, 5]])));
    const scorer = new PrefixCacheScorer('p', 0.5, 100);
    expect(prefixScores(req, [a], scorer)[0]).toBeCloseTo(0.25125, 9);
    req.state.set(PREFIX_MATCH, new FixedInfo(100, 1, new Map([[a, 50]])));
    expect(prefixScores(req, [a], scorer)[0]).toBeCloseTo(0.375, 9);
    req.state.set(PREFIX_MATCH, new FixedInfo(100, 16, new Map([[a, 100]])));
    expect(prefixScores(req, [a], scorer)[0]).toBe(1);
  });

  it('parameters: defaults, PR #1459 validation, and any other parameter an error (v0.10 decodes strictly)', () => {
    const make = (parameters: unknown): PrefixCacheScorer => prefixCacheScorerFactory('p', parameters, context) as PrefixCacheScorer;
    expect(make(undefined)).toMatchObject({ matchLengthWeight: 0, matchLengthScaleTokens: 8192 });
    expect(make({ matchLengthWeight: 0.3, matchLengthScaleTokens: 4096 })).toMatchObject({ matchLengthWeight: 0.3, matchLengthScaleTokens: 4096 });
    expect(make({ prefixMatchInfoProducerName: 'p' })).toMatchObject({ matchLengthWeight: 0, prefixMatchProducer: 'p' });
    expect(configProblems(() => make({ maxPrefixBlocksToMatch: 512, lruCapacityPerServer: 10 }))).toEqual([expect.stringMatching(/maxPrefixBlocksToMatch/), expect.stringMatching(/lruCapacityPerServer/)]);
    expect(make({ matchLengthWeight: 0, matchLengthScaleTokens: 0 })).toMatchObject({ matchLengthWeight: 0 });
    expect(configProblems(() => make({ matchLengthWeight: 1.5 }))[0]).toMatch(/matchLengthWeight/);
    expect(configProblems(() => make({ matchLengthWeight: -0.1 }))[0]).toMatch(/matchLengthWeight/);
    expect(configProblems(() => make({ matchLengthWeight: 0.5, matchLengthScaleTokens: 0 }))[0]).toMatch(/matchLengthScaleTokens/);
  });
});

describe('approx-prefix-cache-producer parameters', () => {
  const make = (parameters: unknown): ApproxPrefixCacheProducer => approxPrefixCacheProducerFactory('x', parameters, context) as ApproxPrefixCacheProducer;

  const X = prefixMatchKey('x');

  it('has the reference v0.10 defaults (2048 blocks, 131072 tokens)', () => {
    expect(make(undefined).config).toEqual(DEFAULT_APPROX_PREFIX_CACHE_CONFIG);
    expect(DEFAULT_APPROX_PREFIX_CACHE_CONFIG).toEqual({ autoTune: true, blockSizeTokens: 16, maxPrefixBlocksToMatch: 2048, maxPrefixTokensToMatch: 131072, lruCapacityPerServer: 31250 });
    expect(make({ lruCapacityPerServer: 0 }).config.lruCapacityPerServer).toBe(31250);
  });

  it('rejects unknown parameters and autoTune off without a block size; maps the deprecated blockSize as the reference does', () => {
    expect(configProblems(() => make({ blockSizeToken: 16 }))[0]).toMatch(/blockSizeToken/);
    expect(configProblems(() => make({ autoTune: false, blockSizeTokens: 0 }))[0]).toMatch(/blockSizeTokens/);
    expect(configProblems(() => make({ maxPrefixTokensToMatch: -1 }))[0]).toMatch(/maxPrefixTokensToMatch/);
    // blockSize is taken as blockSizeTokens when that is absent or left at its default 16.
    expect(make({ blockSize: 128 }).config.blockSizeTokens).toBe(128);
    expect(make({ blockSize: 128, blockSizeTokens: 16 }).config.blockSizeTokens).toBe(128);
    expect(make({ blockSize: 128, blockSizeTokens: 96 }).config.blockSizeTokens).toBe(96);
    // 0 is not the default, so blockSize does not replace it, and autoTune off needs a size.
    expect(configProblems(() => make({ blockSize: 128, autoTune: false, blockSizeTokens: 0 }))[0]).toMatch(/blockSizeTokens/);
  });

  it('block size: the candidates’ reported block size when autoTuned, else blockSizeTokens; never below 64 (#1158)', () => {
    expect(MIN_BLOCK_SIZE_TOKENS).toBe(64);
    const p = make({});
    const q = make({ autoTune: false, blockSizeTokens: 8 });
    const large = make({ autoTune: false, blockSizeTokens: 100 });
    const scraped = pool(2, { cacheBlockSize: 128 });
    const small = pool(2, { cacheBlockSize: 32 });
    const unscraped = endpoint(9, { cacheBlockSize: 0 });
    expect(p.blockSizeTokens(scraped)).toBe(128);
    expect(p.blockSizeTokens([unscraped, ...scraped])).toBe(128);
    expect(p.blockSizeTokens(small)).toBe(64); // a reported 32 is clamped
    expect(p.blockSizeTokens([unscraped])).toBe(64); // the default 16 is clamped
    expect(q.blockSizeTokens(scraped)).toBe(64); // a configured 8 is clamped
    expect(large.blockSizeTokens(scraped)).toBe(100);
    const req = request(completion('x'.repeat(600)));
    p.produce(req, scraped);
    expect(req.state.get(X)).toMatchObject({ totalBlocks: 2, blockSizeTokens: 128 }); // 512-byte blocks, the last partial
    const req2 = request(completion('x'.repeat(600)));
    q.produce(req2, scraped);
    expect(req2.state.get(X)).toMatchObject({ totalBlocks: 3, blockSizeTokens: 64 }); // 256-byte blocks
  });

  it('the block cap: maxPrefixTokensToMatch / block size when set, else maxPrefixBlocksToMatch, the whole prompt when both are 0', () => {
    const blocks = (parameters: unknown, length: number): number | undefined => {
      const req = request(completion('y'.repeat(length)));
      make(parameters).produce(req, pool(1, { cacheBlockSize: 16 }));
      return req.state.get(X)?.totalBlocks;
    };
    expect(blocks({ maxPrefixTokensToMatch: 256, maxPrefixBlocksToMatch: 1000 }, 10_000)).toBe(4); // 256 / 64
    expect(blocks({ maxPrefixTokensToMatch: 32 }, 10_000)).toBe(0); // below one block: nothing, as in the reference
    expect(blocks({ maxPrefixTokensToMatch: 0, maxPrefixBlocksToMatch: 7 }, 10_000)).toBe(7);
    expect(blocks({ maxPrefixTokensToMatch: 0, maxPrefixBlocksToMatch: 0 }, 10_000)).toBe(40); // ⌈10000 / 256⌉
    // The defaults: 131072 tokens = 2048 blocks of 64 tokens (256 bytes).
    expect(blocks(undefined, 256 * 2048 + 5000)).toBe(2048);
    expect(blocks({ maxPrefixTokensToMatch: 0, maxPrefixBlocksToMatch: 0 }, 256 * 2048 + 5000)).toBe(2048 + 20);
    expect(blocks({ maxPrefixTokensToMatch: 0 }, 256 * 2048 + 5000)).toBe(2048); // the block default
  });

  it('LRU capacity: cacheNumBlocks when autoTuned and reported, else lruCapacityPerServer (which applies)', () => {
    const [withBlocks, without] = [endpoint(0, { ...metrics, cacheNumBlocks: 100 }), endpoint(1, { ...metrics, cacheNumBlocks: 0 })];
    const tuned = make({ lruCapacityPerServer: 50 });
    const fixed = make({ lruCapacityPerServer: 50, autoTune: false });
    for (const [producer, wantWith] of [
      [tuned, 100],
      [fixed, 50],
    ] as const) {
      for (const target of [withBlocks, without]) {
        const req = request(completion(doc(1, 256 * 300)));
        producer.produce(req, [withBlocks, without]);
        producer.preRequest(req, { primaryProfileName: 'default', profileResults: new Map([['default', { targets: [target] }]]) }, new Map());
      }
      expect(producer.index.capacityOf(withBlocks)).toBe(wantWith);
      expect(producer.index.sizeOf(withBlocks)).toBe(wantWith);
      expect(producer.index.capacityOf(without)).toBe(50);
      expect(producer.index.sizeOf(without)).toBe(50);
    }
  });
});

describe('approx-prefix-cache-producer with prefix-cache-scorer (default profile)', () => {
  it('requests sharing a long prefix score highest on the endpoint that served the first one; distinct prefixes score 0', () => {
    const { scheduler } = build();
    const candidates = pool(8);
    const system = doc(7, 6000);
    const first = route(scheduler, candidates, completion(`${system} question zero`));
    for (let i = 1; i <= 5; i++) {
      const { target, req } = route(scheduler, candidates, completion(`${system} question ${i} ${doc(100 + i, 500)}`));
      expect(target).toBe(first.target);
      const scores = prefixScores(req, candidates);
      const best = candidates.indexOf(first.target);
      expect(scores[best]).toBeGreaterThan(0.8);
      scores.forEach((s, i) => i !== best && expect(s).toBe(0));
    }
    const { req } = route(scheduler, candidates, completion(doc(999, 6000)));
    expect(req.state.get(PREFIX_MATCH)?.totalBlocks).toBeGreaterThan(0);
    expect(prefixScores(req, candidates)).toEqual(candidates.map(() => 0));
  });

  it('a burst of identical new prefixes, with no metrics scrape in between, lands on one endpoint', () => {
    const { scheduler } = build();
    const candidates = pool(8);
    const prompt = doc(42, 8000);
    const targets = new Set(Array.from({ length: 20 }, () => route(scheduler, candidates, completion(prompt)).target));
    expect(targets.size).toBe(1);
    // Interleaved families: each family stays on one endpoint.
    const families = [1, 2, 3, 4].map((f) => doc(1000 + f, 4000));
    const seen = families.map(() => new Set<Endpoint>());
    for (let round = 0; round < 10; round++) families.forEach((f, i) => seen[i]?.add(route(scheduler, candidates, completion(`${f} round ${round}`)).target));
    for (const s of seen) expect(s.size).toBe(1);
  });

  it('without the prefix scorer the same burst spreads (the picker rotates ties), so the test above is meaningful', () => {
    const { scheduler } = build('{}', false);
    const candidates = pool(8);
    const prompt = doc(42, 8000);
    const targets = new Set(Array.from({ length: 20 }, () => route(scheduler, candidates, completion(prompt)).target));
    expect(targets.size).toBe(8);
  });

  it('the model and cache_salt isolate tenants', () => {
    const { scheduler, producer } = build();
    const candidates = pool(4);
    const prompt = doc(5, 3000);
    route(scheduler, candidates, completion(prompt, 'tenant-a'));
    const score = (llm: LLMRequest, model = 'm'): number => {
      const req = request(llm, model);
      producer.produce(req, candidates);
      return Math.max(...prefixScores(req, candidates));
    };
    expect(score(completion(prompt, 'tenant-a'))).toBe(1);
    expect(score(completion(prompt, 'tenant-b'))).toBe(0);
    expect(score(completion(prompt))).toBe(0);
    expect(score(completion(prompt, 'tenant-a'), 'other-model')).toBe(0);
  });

  it('adds the blocks to the primary target and to the prefill profile’s target', () => {
    const producer = new ApproxPrefixCacheProducer(APPROX_PREFIX_CACHE_PRODUCER_TYPE);
    const [decode, prefill, other] = pool(3) as [Endpoint, Endpoint, Endpoint];
    const req = request(completion(doc(3, 2000)));
    producer.produce(req, [decode, prefill, other]);
    const result: SchedulingResult = {
      primaryProfileName: 'decode',
      profileResults: new Map([
        ['decode', { targets: [decode, other] }],
        ['prefill', { targets: [prefill] }],
      ]),
    };
    producer.preRequest(req, result, new Map());
    const again = request(completion(doc(3, 2000)));
    producer.produce(again, [decode, prefill, other]);
    const info = again.state.get(PREFIX_MATCH);
    expect([decode, prefill, other].map((e) => info?.matchedBlocks(e))).toEqual([8, 8, 0]); // ⌈2000 / 256⌉
  });

  it('header-only and short requests hash nothing and add nothing', () => {
    const producer = new ApproxPrefixCacheProducer(APPROX_PREFIX_CACHE_PRODUCER_TYPE);
    const candidates = pool(2);
    const result: SchedulingResult = { primaryProfileName: 'default', profileResults: new Map([['default', { targets: [candidates[0] as Endpoint] }]]) };
    for (const llm of [undefined, completion('short prompt')]) {
      const req = request(llm);
      producer.produce(req, candidates);
      expect(req.state.get(PREFIX_MATCH)?.totalBlocks).toBe(0);
      producer.preRequest(req, result, new Map());
    }
    expect(producer.index.size).toBe(0);
  });

  it('matchedBlocks works for endpoints outside the candidate list the match was computed on (filtered lists)', () => {
    const { scheduler, producer } = build();
    const candidates = pool(4);
    const prompt = doc(11, 2000);
    const { target } = route(scheduler, candidates, completion(prompt));
    const req = request(completion(prompt));
    producer.produce(req, candidates);
    const filtered = candidates.filter((e) => e !== candidates[0] || e === target);
    const scores = prefixScores(req, filtered);
    expect(scores[filtered.indexOf(target)]).toBe(1);
    expect(req.state.get(PREFIX_MATCH)?.matchedBlocks(endpoint(99))).toBe(0);
  });

  it('retainOnly drops endpoints that left the pool', () => {
    const { scheduler, producer } = build();
    const candidates = pool(4);
    for (let i = 0; i < 8; i++) route(scheduler, candidates, completion(doc(i, 2000)));
    expect(producer.index.size).toBeGreaterThan(0);
    const remaining = candidates.filter((e) => producer.index.sizeOf(e) > 0).slice(1);
    producer.retainOnly(remaining);
    expect(producer.index.endpoints().sort((x, y) => x.name.localeCompare(y.name))).toEqual(remaining);
  });
});

describe('prefix indexer metrics', () => {
  it('exports size (at scrape time), hit ratio and hit bytes of the routed endpoint', async () => {
    const promRegistry = new Registry();
    const prefixMetrics = new PrefixCacheMetrics(promRegistry);
    // As the app wires it: the builtin producer, with metrics attached after the config is built.
    const { scheduler, plugins } = buildScheduler(loadConfig({ text: defaultProfile() }), registerBuiltins(), context, undefined);
    const producers = [...plugins.values()].filter((p): p is ApproxPrefixCacheProducer => p instanceof ApproxPrefixCacheProducer);
    for (const p of producers) p.attachMetrics(prefixMetrics.forPlugin(p.typedName, p.index));
    const candidates = pool(4);
    const prompt = doc(8, 256 * 3); // 3 blocks of 64 tokens (16 reported, clamped to 64)
    route(scheduler, candidates, completion(prompt));
    route(scheduler, candidates, completion(prompt));
    const text = await promRegistry.metrics();
    expect(text).toMatch(/^inference_extension_prefix_indexer_size 3$/m);
    expect(text).toMatch(/^inference_extension_prefix_indexer_hit_ratio_count 2$/m);
    expect(text).toMatch(/^inference_extension_prefix_indexer_hit_ratio_sum 1$/m);
    expect(text).toMatch(/^inference_extension_prefix_indexer_hit_ratio_bucket\{le="0"\} 1$/m);
    expect(text).toMatch(/^inference_extension_prefix_indexer_hit_bytes_sum 768$/m);
    expect(text).toMatch(/^inference_extension_prefix_indexer_hit_bytes_bucket\{le="1024"\} 2$/m);
    // The canonical series carry the producer's name and type; the deprecated ones are their sums.
    const labels = `plugin_name="${producers[0]?.typedName.name ?? ''}",plugin_type="${producers[0]?.typedName.type ?? ''}"`;
    expect(producers).toHaveLength(1);
    expect(text).toContain(`llm_d_epp_prefix_indexer_size{${labels}} 3`);
    expect(text).toContain(`llm_d_epp_prefix_indexer_hit_ratio_count{${labels}} 2`);
    expect(text).toContain(`llm_d_epp_prefix_indexer_hit_bytes_sum{${labels}} 768`);
  });
});

describe('prefixMatchInfoProducerName', () => {
  const twoProducers = `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- name: gpu-prefix
  type: approx-prefix-cache-producer
  parameters: {autoTune: false, blockSizeTokens: 64}
- name: cpu-prefix
  type: approx-prefix-cache-producer
  parameters: {autoTune: false, blockSizeTokens: 256}
- name: gpu-scorer
  type: prefix-cache-scorer
  parameters: {prefixMatchInfoProducerName: gpu-prefix}
- name: cpu-scorer
  type: prefix-cache-scorer
  parameters: {prefixMatchInfoProducerName: cpu-prefix}
- name: lru
  type: no-hit-lru-scorer
  parameters: {prefixMatchInfoProducerName: cpu-prefix}
- type: max-score-picker
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: gpu-scorer
  - pluginRef: cpu-scorer
  - pluginRef: lru
  - pluginRef: max-score-picker
`;

  it('two producers with different parameters coexist; each consumer reads the instance it names', () => {
    const built = buildScheduler(loadConfig({ text: twoProducers }), registry(), context, undefined);
    const candidates = pool(4);
    const prompt = doc(21, 256 * 10 + 100); // 11 blocks of 64 tokens, 3 of 256 tokens
    const { target } = route(built.scheduler, candidates, completion(prompt));
    const req = request(completion(prompt));
    for (const p of built.scheduler.hooks.producers) p.produce(req, candidates);
    expect(req.state.get(prefixMatchKey('gpu-prefix'))).toMatchObject({ totalBlocks: 11, blockSizeTokens: 64 });
    expect(req.state.get(prefixMatchKey('cpu-prefix'))).toMatchObject({ totalBlocks: 3, blockSizeTokens: 256 });
    expect(req.state.get(PREFIX_MATCH)).toBeUndefined(); // no producer has the default name

    // Half of each prompt matches: the two scorers see different ratios for the same endpoint.
    const half = request(completion(`${prompt.slice(0, 256 * 6)}${doc(22, 256 * 5)}`));
    for (const p of built.scheduler.hooks.producers) p.produce(half, candidates);
    const at = candidates.indexOf(target);
    const gpu = built.plugins.get('gpu-scorer') as PrefixCacheScorer;
    const cpu = built.plugins.get('cpu-scorer') as PrefixCacheScorer;
    expect(prefixScores(half, candidates, gpu)[at]).toBeCloseTo(6 / 11, 9);
    expect(prefixScores(half, candidates, cpu)[at]).toBeCloseTo(1 / 3, 9); // one whole 1024-byte block matches
    // A scorer naming no producer reads the default instance; absent here, it falls back to the last
    // producer that ran (cpu-prefix), rather than scoring nothing.
    expect(prefixScores(half, candidates)).toEqual(prefixScores(half, candidates, cpu));
    expect(prefixScores(half, candidates, new PrefixCacheScorer('p', 0, 8192, 'approx-prefix-cache-producer'))).toEqual([0, 0, 0, 0]); // named explicitly: no fallback
  });

  it('no-hit-lru-scorer judges cold or warm by the producer it names', () => {
    const built = buildScheduler(loadConfig({ text: twoProducers }), registry(), context, undefined);
    const candidates = pool(3);
    const prompt = doc(31, 2048);
    route(built.scheduler, candidates, completion(prompt));
    const lru = built.plugins.get('lru') as Scorer;
    const warm = request(completion(prompt));
    for (const p of built.scheduler.hooks.producers) p.produce(warm, candidates);
    const out = new Float64Array(3);
    lru.score(warm, candidates, out);
    expect(Array.from(out)).toEqual([0.5, 0.5, 0.5]); // warm on cpu-prefix: leaves the choice to the prefix scorers
    const cold = request(completion(doc(32, 2048)));
    for (const p of built.scheduler.hooks.producers) p.produce(cold, candidates);
    lru.score(cold, candidates, out);
    expect(Math.max(...out)).toBe(1);
    expect(new Set(out).size).toBe(3);
  });
});
