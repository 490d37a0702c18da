import { describe, expect, it } from 'vitest';
import { UNKNOWN_METRICS, type Endpoint } from '../../../src/datastore/endpoint.js';
import type { LLMRequest } from '../../../src/request/llm-request.js';
import { PREFIX_MATCH, type PrefixMatchInfo } from '../../../src/scheduling/prefix-match.js';
import { ProfileRunner } from '../../../src/scheduling/profile-runner.js';
import { ActiveRequestScorer, activeRequestScorerFactory } from '../../../src/scheduling/plugins/scorers/active-request-scorer.js';
import { ContextLengthAware, contextLengthAwareFactory, estimateContextLength, parseContextRange, rangeScore } from '../../../src/scheduling/plugins/filters/context-length-aware.js';
import { InFlightLoadProducer, inFlightLoadProducerFactory } from '../../../src/scheduling/plugins/producers/inflight-load-producer.js';
import { KvCacheUtilizationScorer } from '../../../src/scheduling/plugins/scorers/kv-cache-utilization-scorer.js';
import { LoadAwareScorer, loadAwareScorerFactory } from '../../../src/scheduling/plugins/scorers/load-aware-scorer.js';
import { LoraAffinityScorer } from '../../../src/scheduling/plugins/scorers/lora-affinity-scorer.js';
import { MaxScorePicker } from '../../../src/scheduling/plugins/pickers/max-score-picker.js';
import { NoHitLruScorer, noHitLruScorerFactory } from '../../../src/scheduling/plugins/scorers/no-hit-lru-scorer.js';
import { QueueScorer } from '../../../src/scheduling/plugins/scorers/queue-scorer.js';
import { RunningRequestsSizeScorer } from '../../../src/scheduling/plugins/scorers/running-requests-size-scorer.js';
import { decodeSessionToken, encodeSessionToken, SESSION_TOKEN_HEADER, SessionAffinityScorer, sessionAffinityScorerFactory } from '../../../src/scheduling/plugins/scorers/session-affinity-scorer.js';
import type { PluginContext } from '../../../src/plugin/registry.js';
import { TokenLoadScorer, tokenLoadScorerFactory } from '../../../src/scheduling/plugins/scorers/token-load-scorer.js';
import { WeightedRandomPicker, weightedRandomPickerFactory } from '../../../src/scheduling/plugins/pickers/weighted-random-picker.js';
import type { ProfileResult, Scorer, SchedulingRequest, SchedulingResult } from '../../../src/scheduling/types.js';
import type { Plugin } from '../../../src/plugin/plugin.js';
import { describeFilter, describePicker, describeScorer } from '../../contract/plugin-contracts.js';
import { endpoint, schedulingRequest } from '../../helpers/endpoints.js';
import { Prng } from '../../../src/util/prng.js';

/** A seeded uniform source (the project's mulberry32), so sampling tests are reproducible. */
function seeded(seed: number): () => number {
  const prng = new Prng(seed);
  return () => prng.next();
}

const CONTEXT = { random: seeded(1) };

function scores(scorer: Scorer, pool: readonly Endpoint[], request: SchedulingRequest = schedulingRequest()): number[] {
  const out = new Float64Array(pool.length);
  scorer.score(request, pool, out);
  return Array.from(out);
}

function llm(bodyBytes: number, body: Record<string, unknown> = {}): LLMRequest {
  return { api: 'completions', model: 'm', stream: false, cacheSalt: undefined, body, bodyBytes };
}

function result(primary: Endpoint | undefined, more: Record<string, Endpoint> = {}): SchedulingResult {
  const profileResults = new Map<string, ProfileResult>([['default', primary === undefined ? null : { targets: [primary] }]]);
  for (const [name, e] of Object.entries(more)) profileResults.set(name, { targets: [e] });
  return { primaryProfileName: 'default', profileResults };
}

function prefixMatch(hits: ReadonlyMap<Endpoint, number>, totalBlocks = 4): PrefixMatchInfo {
  return { totalBlocks, blockSizeTokens: 16, matchedBlocks: (e) => hits.get(e) ?? 0 };
}

function asScorer(p: Plugin): Scorer {
  return p as Scorer;
}

describeScorer('running-requests-size-scorer', () => new RunningRequestsSizeScorer('r'));
describeScorer('lora-affinity-scorer', () => new LoraAffinityScorer('l'));
describeScorer('load-aware-scorer', () => new LoadAwareScorer('la'));
describeScorer('active-request-scorer', () => new ActiveRequestScorer('a', 1, 0.9));
describeScorer('token-load-scorer', () => new TokenLoadScorer('t'));
describeScorer('session-affinity-scorer', () => new SessionAffinityScorer('s'));
describeScorer('no-hit-lru-scorer', () => new NoHitLruScorer('n'));
describeScorer('context-length-aware', () => new ContextLengthAware('c'));
describeFilter('context-length-aware (filtering)', () => new ContextLengthAware('c', undefined, true), () => schedulingRequest({ llm: llm(800, { prompt: 'x'.repeat(800) }) }));
describeFilter('context-length-aware (not filtering)', () => new ContextLengthAware('c'));
describePicker('weighted-random-picker', (n) => new WeightedRandomPicker('w', n, seeded(42)));

describe('running-requests-size-scorer', () => {
  it('min-max normalises running requests; all equal → 1; unknown → 0', () => {
    const pool = [endpoint(0, { runningRequestsSize: 2 }), endpoint(1, { runningRequestsSize: 0 }), endpoint(2, { runningRequestsSize: 10 }), endpoint(3)];
    (pool[3] as Endpoint).metrics = UNKNOWN_METRICS;
    expect(scores(new RunningRequestsSizeScorer('r'), pool)).toEqual([0.8, 1, 0, 0]);
    expect(scores(new RunningRequestsSizeScorer('r'), [endpoint(0, { runningRequestsSize: 3 }), endpoint(1, { runningRequestsSize: 3 })])).toEqual([1, 1]);
  });
});

describe('lora-affinity-scorer', () => {
  it('active 1.0, free slot 0.8, waiting 0.6, otherwise 0', () => {
    const pool = [
      endpoint(0, { activeModels: ['a', 'target'], maxActiveModels: 2 }),
      endpoint(1, { activeModels: ['a'], waitingModels: [], maxActiveModels: 2 }),
      endpoint(2, { activeModels: ['a'], waitingModels: ['target'], maxActiveModels: 2 }),
      endpoint(3, { activeModels: ['a', 'b'], maxActiveModels: 2 }),
      endpoint(4),
    ];
    (pool[4] as Endpoint).metrics = UNKNOWN_METRICS;
    expect(scores(new LoraAffinityScorer('l'), pool, schedulingRequest({ targetModel: 'target' }))).toEqual([1, 0.8, 0.6, 0, 0]);
  });

  // The reference's hermetic cases: queue + kv + lora scorers (weight 1 each), max-score pick; the
  // harness reports MaxActiveModels 0, so the LoRA score is 1 or 0.
  const runner = new ProfileRunner(
    {
      name: 'default',
      filters: [],
      scorers: [
        { scorer: new QueueScorer('queue'), weight: 1 },
        { scorer: new KvCacheUtilizationScorer('kv'), weight: 1 },
        { scorer: new LoraAffinityScorer('lora'), weight: 1 },
      ],
      picker: new MaxScorePicker('max', 1),
    },
    undefined,
  );
  const P = (i: number, q: number, kv: number, ...active: string[]): Endpoint => endpoint(i, { waitingQueueSize: q, kvCacheUsage: kv, activeModels: active });

  it('select active lora, low queue', () => {
    const pool = [P(0, 0, 0.2, 'foo', 'bar'), P(1, 0, 0.1, 'foo', 'sql-lora-1fdg2'), P(2, 10, 0.2, 'foo', 'bar')];
    expect(runner.run(schedulingRequest({ targetModel: 'sql-lora-1fdg2' }), pool)?.targets).toEqual([pool[1]]);
  });

  it('LoRA affinity beats higher KV use', () => {
    const pool = [P(0, 10, 0.2, 'foo', 'bar'), P(1, 10, 0.4, 'foo', 'sql-lora-1fdg2'), P(2, 10, 0.3, 'foo')];
    expect(runner.run(schedulingRequest({ targetModel: 'sql-lora-1fdg2' }), pool)?.targets).toEqual([pool[1]]);
  });
});

describe('load-aware-scorer', () => {
  it('empty queue 0.5, then 0.5·(1 − min(q,T)/T); unknown → 0', () => {
    const pool = [endpoint(0), endpoint(1, { waitingQueueSize: 64 }), endpoint(2, { waitingQueueSize: 128 }), endpoint(3, { waitingQueueSize: 500 }), endpoint(4)];
    (pool[4] as Endpoint).metrics = UNKNOWN_METRICS;
    expect(scores(new LoadAwareScorer('la'), pool)).toEqual([0.5, 0.25, 0, 0, 0]);
    expect(scores(new LoadAwareScorer('la', 10), [endpoint(0, { waitingQueueSize: 1 })])).toEqual([0.45]);
  });

  it('threshold defaults to 128; ≤ 0 falls back to the default; unknown parameters are errors', () => {
    expect((loadAwareScorerFactory('la', undefined, CONTEXT) as LoadAwareScorer).threshold).toBe(128);
    expect((loadAwareScorerFactory('la', { threshold: 0 }, CONTEXT) as LoadAwareScorer).threshold).toBe(128);
    expect((loadAwareScorerFactory('la', { threshold: 16 }, CONTEXT) as LoadAwareScorer).threshold).toBe(16);
    expect(() => loadAwareScorerFactory('la', { treshold: 16 }, CONTEXT)).toThrow(/treshold/);
  });
});

// inflight-load-producer: see inflight-load.test.ts.

describe('active-request-scorer', () => {
  function loaded(counts: number[]): { pool: Endpoint[]; request: SchedulingRequest } {
    const producer = new InFlightLoadProducer('inflight-load-producer');
    const pool = counts.map((_, i) => endpoint(i));
    counts.forEach((c, i) => {
      for (let k = 0; k < c; k++) producer.preRequest(schedulingRequest({ llm: llm(40) }), result(pool[i]));
    });
    const request = schedulingRequest();
    producer.produce(request);
    return { pool, request };
  }

  it('idle → 1, busy → (max − c)/max · maxBusyScore', () => {
    const { pool, request } = loaded([0, 1, 2, 4]);
    expect(scores(new ActiveRequestScorer('a'), pool, request)).toEqual([1, 0.75, 0.5, 0]);
    expect(scores(new ActiveRequestScorer('a', 1, 0.5), pool, request)).toEqual([1, 1, 0.25, 0]);
  });

  it('falls back to the director in-flight counter without a producer', () => {
    const pool = [endpoint(0), endpoint(1)];
    (pool[1] as Endpoint).inFlight = 3;
    expect(scores(new ActiveRequestScorer('a'), pool)).toEqual([1, 0]);
  });

  it('parameters: defaults, lenient ranges like the reference, deprecated requestTimeout accepted', () => {
    const d = activeRequestScorerFactory('a', undefined, CONTEXT) as ActiveRequestScorer;
    expect([d.idleThreshold, d.maxBusyScore]).toEqual([0, 1]);
    const p = activeRequestScorerFactory('a', { idleThreshold: -3, maxBusyScore: 7, requestTimeout: '2m' }, CONTEXT) as ActiveRequestScorer;
    expect([p.idleThreshold, p.maxBusyScore]).toEqual([0, 1]);
    const q = activeRequestScorerFactory('a', { idleThreshold: 2, maxBusyScore: 0.4 }, CONTEXT) as ActiveRequestScorer;
    expect([q.idleThreshold, q.maxBusyScore]).toEqual([2, 0.4]);
  });
});

describe('token-load-scorer', () => {
  it('1 − min(1, tokens/T) from the producer; 1 everywhere without one', () => {
    const producer = new InFlightLoadProducer('inflight-load-producer');
    const pool = [endpoint(0), endpoint(1), endpoint(2)];
    producer.preRequest(schedulingRequest({ llm: llm(1000) }), result(pool[1])); // 250 tokens
    producer.preRequest(schedulingRequest({ llm: llm(10000) }), result(pool[2])); // 2500 tokens
    const request = schedulingRequest();
    producer.produce(request);
    expect(scores(new TokenLoadScorer('t', 1000), pool, request)).toEqual([1, 0.75, 0]);
    expect(scores(new TokenLoadScorer('t', 1000), pool)).toEqual([1, 1, 1]);
  });

  it('queueThresholdTokens defaults to 4194304; ≤ 0 → default', () => {
    expect((tokenLoadScorerFactory('t', {}, CONTEXT) as TokenLoadScorer).queueThresholdTokens).toBe(4_194_304);
    expect((tokenLoadScorerFactory('t', { queueThresholdTokens: -1 }, CONTEXT) as TokenLoadScorer).queueThresholdTokens).toBe(4_194_304);
    expect((tokenLoadScorerFactory('t', { queueThresholdTokens: 1000 }, CONTEXT) as TokenLoadScorer).queueThresholdTokens).toBe(1000);
  });
});

describe('session-affinity-scorer', () => {
  const tokenFor = (scorer: SessionAffinityScorer, req: SchedulingRequest, target: Endpoint | undefined): string | undefined => {
    const headers = new Map<string, string>();
    scorer.responseHeaders(req, result(target), headers);
    return headers.get(SESSION_TOKEN_HEADER);
  };

  it('round trip: the token returned to the client routes its next request back to that endpoint', () => {
    const scorer = new SessionAffinityScorer('s', 'llm');
    const pool = [endpoint(0, { waitingQueueSize: 0 }), endpoint(1, { waitingQueueSize: 5 }), endpoint(2, { waitingQueueSize: 9 })];
    const runner = new ProfileRunner(
      { name: 'default', filters: [], scorers: [{ scorer, weight: 10 }, { scorer: new QueueScorer('q'), weight: 1 }], picker: new MaxScorePicker('m', 1) },
      undefined,
    );
    // First request: no token, the queue decides; pretend the scheduler chose e1 anyway.
    const first = schedulingRequest();
    expect(scores(scorer, pool, first)).toEqual([0, 0, 0]);
    const token = tokenFor(scorer, first, pool[1]);
    expect(token).toBe(Buffer.from('llm/e1').toString('base64'));
    expect(decodeSessionToken(token ?? '')).toBe('e1');

    const next = schedulingRequest({ headers: new Map([[SESSION_TOKEN_HEADER, token ?? '']]) });
    expect(scores(scorer, pool, next)).toEqual([0, 1, 0]);
    const picked = runner.run(next, pool)?.targets[0];
    expect(picked).toBe(pool[1]);
    expect(tokenFor(scorer, next, picked)).toBe(token);
  });

  it('tokens from another namespace still match; garbage or absent tokens match nothing', () => {
    const scorer = new SessionAffinityScorer('s');
    const pool = [endpoint(0), endpoint(1)];
    const withToken = (t: string): SchedulingRequest => schedulingRequest({ headers: new Map([[SESSION_TOKEN_HEADER, t]]) });
    expect(scores(scorer, pool, withToken(encodeSessionToken('other', 'e0')))).toEqual([1, 0]);
    expect(scores(scorer, pool, withToken('%%%not base64'))).toEqual([0, 0]);
    expect(scores(scorer, pool, withToken(''))).toEqual([0, 0]);
  });

  it('no result target → no token; the namespace comes from the plugin context when given', () => {
    expect(tokenFor(new SessionAffinityScorer('s'), schedulingRequest(), undefined)).toBeUndefined();
    const withNamespace: PluginContext = { ...CONTEXT, namespace: 'prod' };
    const s = sessionAffinityScorerFactory('s', undefined, withNamespace) as SessionAffinityScorer;
    expect(s.namespace).toBe('prod');
    expect((sessionAffinityScorerFactory('s', undefined, CONTEXT) as SessionAffinityScorer).namespace).toBe('default');
  });
});

describe('no-hit-lru-scorer', () => {
  const cold = (): SchedulingRequest => schedulingRequest();

  it('cold: never-used first (candidate order), then least recently used; 1 − rank/(n−1)', () => {
    const scorer = new NoHitLruScorer('n');
    const pool = [endpoint(0), endpoint(1), endpoint(2)];
    const r1 = cold();
    expect(scores(scorer, pool, r1)).toEqual([1, 0.5, 0]);
    scorer.preRequest(r1, result(pool[0]));
    const r2 = cold();
    expect(scores(scorer, pool, r2)).toEqual([0, 1, 0.5]);
    scorer.preRequest(r2, result(pool[1]));
    expect(scores(scorer, pool, cold())).toEqual([0.5, 0, 1]);
    expect(scores(scorer, [endpoint(1)], cold())).toEqual([1]);
  });

  it('warm (some candidate has a prefix hit): 0.5 everywhere, and the pick is not recorded', () => {
    const scorer = new NoHitLruScorer('n');
    const pool = [endpoint(0), endpoint(1), endpoint(2)];
    const warm = schedulingRequest();
    warm.state.set(PREFIX_MATCH, prefixMatch(new Map([[pool[2] as Endpoint, 1]])));
    expect(scores(scorer, pool, warm)).toEqual([0.5, 0.5, 0.5]);
    scorer.preRequest(warm, result(pool[0]));
    expect(scores(scorer, pool, cold())).toEqual([1, 0.5, 0]);
  });

  it('prefix data without any hit, or for a prompt shorter than a block, is cold', () => {
    const scorer = new NoHitLruScorer('n');
    const pool = [endpoint(0), endpoint(1)];
    const miss = schedulingRequest();
    miss.state.set(PREFIX_MATCH, prefixMatch(new Map()));
    expect(scores(scorer, pool, miss)).toEqual([1, 0]);
    const short = schedulingRequest();
    short.state.set(PREFIX_MATCH, prefixMatch(new Map([[pool[0] as Endpoint, 3]]), 0));
    expect(scores(scorer, pool, short)).toEqual([1, 0]);
  });

  it('spreads a cold burst over every endpoint with max-score picking', () => {
    const scorer = new NoHitLruScorer('n');
    const pool = [endpoint(0), endpoint(1), endpoint(2), endpoint(3)];
    const runner = new ProfileRunner({ name: 'default', filters: [], scorers: [{ scorer, weight: 1 }], picker: new MaxScorePicker('m', 1) }, undefined);
    const picked: string[] = [];
    for (let i = 0; i < 8; i++) {
      const req = cold();
      const target = runner.run(req, pool)?.targets[0];
      scorer.preRequest(req, result(target));
      picked.push(target?.name ?? '');
    }
    expect(picked).toEqual(['e0', 'e1', 'e2', 'e3', 'e0', 'e1', 'e2', 'e3']);
  });

  it('records the prefill target too, and forgets beyond lruSize', () => {
    const scorer = noHitLruScorerFactory('n', { lruSize: 1 }, CONTEXT) as NoHitLruScorer;
    const pool = [endpoint(0), endpoint(1), endpoint(2)];
    const r = cold();
    scores(scorer, pool, r);
    scorer.preRequest(r, result(pool[0], { prefill: pool[1] as Endpoint }));
    // e0 was evicted by e1 (capacity 1): e0 and e2 are never-used again, e1 is the only used one.
    expect(scores(scorer, pool, cold())).toEqual([1, 0, 0.5]);
  });

  it('parameters: defaults, prefix plugin references accepted', () => {
    expect((noHitLruScorerFactory('n', undefined, CONTEXT) as NoHitLruScorer).lruSize).toBe(1024);
    expect((noHitLruScorerFactory('n', { lruSize: 0, prefixPluginType: 'prefix-cache-scorer', prefixPluginName: 'p' }, CONTEXT) as NoHitLruScorer).lruSize).toBe(1024);
  });
});

describe('context-length-aware', () => {
  it('parses "min-max" ranges', () => {
    expect(parseContextRange('0-4096')).toEqual({ min: 0, max: 4096 });
    expect(parseContextRange(' 10 - 20 ')).toEqual({ min: 10, max: 20 });
    for (const bad of ['', '5', '1-2-3', 'a-b', '20-10', '-5-10']) expect(parseContextRange(bad)).toBeNull();
  });

  it('scores in range above 0.3 (tighter and roomier higher), out of range below 0.3 (nearer higher)', () => {
    expect(rangeScore(100, { min: 100, max: 100 })).toBe(1);
    expect(rangeScore(0, { min: 0, max: 10_000 })).toBeCloseTo(0.3 + 0.7 * (0.7 * 0.5 + 0.3), 12);
    expect(rangeScore(1000, { min: 0, max: 2000 })).toBeGreaterThan(rangeScore(1000, { min: 0, max: 8000 }));
    expect(rangeScore(3000, { min: 0, max: 2000 })).toBeCloseTo(0.15, 12);
    expect(rangeScore(3000, { min: 0, max: 2000 })).toBeGreaterThan(rangeScore(5000, { min: 0, max: 2000 }));
  });

  it('estimates the length from chat contents and prompts (chars × 0.25)', () => {
    const chat = schedulingRequest({ llm: { ...llm(0), api: 'chat-completions', body: { messages: [{ role: 'user', content: 'x'.repeat(30) }, { role: 'user', content: [{ type: 'text', text: 'y'.repeat(10) }, { type: 'image_url' }] }] } } });
    expect(estimateContextLength(chat)).toBe(10);
    expect(estimateContextLength(schedulingRequest({ llm: llm(0, { prompt: ['abcd', 'efgh'] }) }))).toBe(2);
    expect(estimateContextLength(schedulingRequest())).toBe(0);
  });

  const pool = [endpoint(0, {}, { 'llm-d.ai/context-length-range': '0-1000' }), endpoint(1, {}, { 'llm-d.ai/context-length-range': '1000-100000' }), endpoint(2), endpoint(3, {}, { 'llm-d.ai/context-length-range': 'wide' })];
  const longRequest = schedulingRequest({ llm: llm(0, { prompt: 'z'.repeat(20_000) }) }); // 5000 tokens

  it('scores: unlabelled 0.5, malformed 0, in-range above out-of-range', () => {
    const [short, long, unlabelled, malformed] = scores(new ContextLengthAware('c'), pool, longRequest) as [number, number, number, number];
    expect(unlabelled).toBe(0.5);
    expect(malformed).toBe(0);
    expect(long).toBeGreaterThan(0.3);
    expect(short).toBeLessThan(0.3);
  });

  it('filters only when enabled: keeps in-range and unlabelled, drops malformed', () => {
    expect(new ContextLengthAware('c').filter(longRequest, pool)).toBe(pool);
    expect(new ContextLengthAware('c', undefined, true).filter(longRequest, pool)).toEqual([pool[1], pool[2]]);
  });

  it('parameters: label and enableFiltering, label must not be empty', () => {
    const p = contextLengthAwareFactory('c', { label: 'ctx', enableFiltering: true }, CONTEXT) as ContextLengthAware;
    expect([p.label, p.enableFiltering]).toEqual(['ctx', true]);
    const d = contextLengthAwareFactory('c', undefined, CONTEXT) as ContextLengthAware;
    expect([d.label, d.enableFiltering]).toEqual(['llm-d.ai/context-length-range', false]);
    expect(() => contextLengthAwareFactory('c', { label: '' }, CONTEXT)).toThrow(/label/);
  });
});

describe('weighted-random-picker', () => {
  it('picks in proportion to the scores (seeded sample)', () => {
    const pool = [endpoint(0), endpoint(1), endpoint(2), endpoint(3), endpoint(4)];
    const weights = Float64Array.from([1, 2, 3, 4, 0]);
    const picker = new WeightedRandomPicker('w', 1, seeded(2024));
    const counts = new Array<number>(pool.length).fill(0);
    const samples = 20_000;
    for (let i = 0; i < samples; i++) {
      const [e] = picker.pick(schedulingRequest(), pool, weights);
      const at = pool.indexOf(e as Endpoint);
      counts[at] = (counts[at] ?? 0) + 1;
    }
    const expected = [0.1, 0.2, 0.3, 0.4, 0];
    counts.forEach((c, i) => expect(Math.abs(c / samples - (expected[i] ?? 0))).toBeLessThan(0.015));
  });

  it('all scores ≤ 0 → uniform by the injected random source', () => {
    const pool = [endpoint(0), endpoint(1), endpoint(2)];
    expect(new WeightedRandomPicker('w', 1, () => 0.99).pick(schedulingRequest(), pool, new Float64Array(3))).toEqual([pool[2]]);
    expect(new WeightedRandomPicker('w', 1, () => 0).pick(schedulingRequest(), pool, Float64Array.from([0, -1, 0]))).toEqual([pool[0]]);
  });

  it('several targets: distinct, positive scores ahead of non-positive ones', () => {
    const pool = [endpoint(0), endpoint(1), endpoint(2), endpoint(3)];
    const picked = new WeightedRandomPicker('w', 3, seeded(9)).pick(schedulingRequest(), pool, Float64Array.from([0, 5, 0, 1]));
    expect(picked).toHaveLength(3);
    expect(new Set(picked.slice(0, 2))).toEqual(new Set([pool[1], pool[3]]));
  });

  it('uses the context random source and the shared picker parameters', () => {
    const p = weightedRandomPickerFactory('w', { maxNumOfEndpoints: 2 }, { random: () => 0.5 }) as WeightedRandomPicker;
    expect(p.maxNumOfEndpoints).toBe(2);
    expect(() => weightedRandomPickerFactory('w', { maxNumOfEndpoints: 0 }, CONTEXT)).toThrow();
  });
});

describe('factories name their plugins with the reference type names', () => {
  it.each([
    [activeRequestScorerFactory, 'active-request-scorer'],
    [tokenLoadScorerFactory, 'token-load-scorer'],
    [sessionAffinityScorerFactory, 'session-affinity-scorer'],
    [noHitLruScorerFactory, 'no-hit-lru-scorer'],
    [contextLengthAwareFactory, 'context-length-aware'],
    [loadAwareScorerFactory, 'load-aware-scorer'],
    [inFlightLoadProducerFactory, 'inflight-load-producer'],
    [weightedRandomPickerFactory, 'weighted-random-picker'],
  ] as const)('%#: %s', (factory, type) => {
    const p = factory('mine', undefined, CONTEXT);
    expect(p.typedName).toEqual({ type, name: 'mine' });
    if (type.endsWith('scorer')) expect(typeof asScorer(p).score).toBe('function');
  });
});
