import { describe, expect, it } from 'vitest';
import { buildScheduler } from '../../../src/config/build-scheduler.js';
import { loadConfig } from '../../../src/config/load-config.js';
import { registerBuiltins } from '../../../src/builtins.js';
import type { Endpoint } from '../../../src/datastore/endpoint.js';
import { prefixMatchKey, type PrefixMatchInfo } from '../../../src/scheduling/prefix-match.js';
import { inFlightLoadKey, type InFlightLoad } from '../../../src/scheduling/plugins/producers/inflight-load-producer.js';
import {
  DEFAULT_PREFIX_CACHE_AFFINITY,
  type PrefixCacheAffinityFilter,
  prefixCacheAffinityFilterFactory,
} from '../../../src/scheduling/plugins/filters/prefix-cache-affinity-filter.js';
import type { SchedulingRequest } from '../../../src/scheduling/types.js';
import { describeFilter } from '../../contract/plugin-contracts.js';
import { endpoint, schedulingRequest } from '../../helpers/endpoints.js';
import { configProblems } from '../../helpers/config-problems.js';

const CONTEXT = { random: () => 0.5 };
const TOTAL = 10;

/** A prefix match of TOTAL blocks where endpoint `e<i>` holds `matched[i]` of them. */
function match(byName: (e: Endpoint) => number, total = TOTAL): PrefixMatchInfo {
  return { totalBlocks: total, blockSizeTokens: 16, matchedBlocks: byName };
}

function load(tokensByName: Record<string, number>): InFlightLoad {
  return { requests: () => 0, tokens: (e) => tokensByName[e.name] ?? 0, requestTokens: () => 0 };
}

function request(m: PrefixMatchInfo | undefined, l?: InFlightLoad, producer?: string): SchedulingRequest {
  const r = schedulingRequest();
  if (m !== undefined) r.state.set(prefixMatchKey(producer), m);
  if (l !== undefined) r.state.set(inFlightLoadKey(), l);
  return r;
}

const pool = (n: number): Endpoint[] => Array.from({ length: n }, (_, i) => endpoint(i));
const names = (es: readonly Endpoint[]): string[] => es.map((e) => e.name);
const matchedList = (blocks: readonly number[]) => match((e) => blocks[Number(e.name.slice(1))] ?? 0);

const make = (p: Record<string, unknown> = {}, random = CONTEXT.random): PrefixCacheAffinityFilter =>
  prefixCacheAffinityFilterFactory('f', p, { random }) as PrefixCacheAffinityFilter;

const problems = (fn: () => unknown): string => configProblems(fn).join('\n');

// Tier 'a' endpoints hold the whole prompt, 'b' 8 of 10 blocks, the rest nothing: the filter both narrows and passes.
const tiered = (): SchedulingRequest => request(match((e) => (e.labels['tier'] === 'a' ? TOTAL : e.labels['tier'] === 'b' ? 8 : 0)));
describeFilter('prefix-cache-affinity-filter', () => make(), tiered);
describeFilter('prefix-cache-affinity-filter (threshold 0.9, gate off)', () => make({ affinityThreshold: 0.9, maxTTFTPenaltyMs: 0 }), tiered);

describe('prefix-cache-affinity-filter', () => {
  it('has the reference defaults', () => {
    expect(make().config).toEqual(DEFAULT_PREFIX_CACHE_AFFINITY);
    expect(DEFAULT_PREFIX_CACHE_AFFINITY).toEqual({ affinityThreshold: 0.8, explorationProbability: 0, maxTTFTPenaltyMs: 18000, peakPrefillThroughput: 15928 });
  });

  it('keeps only the endpoints whose match ratio reaches the threshold (inclusive), in order', () => {
    const r = request(matchedList([8, 2, 10, 7, 9]));
    expect(names(make().filter(r, pool(5)))).toEqual(['e0', 'e2', 'e4']);
    expect(names(make({ affinityThreshold: 0.95 }).filter(r, pool(5)))).toEqual(['e2']);
  });

  it('keeps everything when nothing is sticky, when there is no match or an empty prompt, or for one candidate', () => {
    const all = pool(3);
    expect(make().filter(request(matchedList([1, 2, 7])), all)).toBe(all);
    expect(make().filter(request(undefined), all)).toBe(all);
    expect(make().filter(request(match(() => 0, 0)), all)).toBe(all);
    const one = pool(1);
    expect(make().filter(request(matchedList([0])), one)).toBe(one);
  });

  it('affinityThreshold ≤ 0 disables the filter', () => {
    const all = pool(3);
    expect(make({ affinityThreshold: 0 }).filter(request(matchedList([10, 0, 0])), all)).toBe(all);
    expect(make({ affinityThreshold: -1 }).filter(request(matchedList([10, 0, 0])), all)).toBe(all);
  });

  it('explores with the configured probability, from the injected random source', () => {
    const all = pool(3);
    const r = request(matchedList([10, 0, 0]));
    expect(make({ explorationProbability: 0.3 }, () => 0.29).filter(r, all)).toBe(all);
    expect(names(make({ explorationProbability: 0.3 }, () => 0.3).filter(r, all))).toEqual(['e0']);
    let draws = 0;
    const counting = (): number => {
      draws++;
      return 0;
    };
    expect(names(make({}, counting).filter(r, all))).toEqual(['e0']);
    expect(draws).toBe(0);
  });

  it('TTFT load gate: breaks stickiness when the fastest sticky endpoint is slower than the fastest other by more than the penalty', () => {
    const all = pool(3);
    const m = matchedList([10, 10, 0]);
    const peak = DEFAULT_PREFIX_CACHE_AFFINITY.peakPrefillThroughput;
    // 18 s of prefill at the peak rate is the default penalty: exactly at it sticks, past it opens up.
    const atPenalty = peak * 18;
    expect(names(make().filter(request(m, load({ e0: atPenalty, e1: atPenalty + 5, e2: 0 })), all))).toEqual(['e0', 'e1']);
    expect(make().filter(request(m, load({ e0: atPenalty + 100, e1: atPenalty + 200, e2: 0 })), all)).toBe(all);
    // The best of each side counts: one idle sticky endpoint keeps the gate closed.
    expect(names(make().filter(request(m, load({ e0: 10 * atPenalty, e1: 0, e2: 0 })), all))).toEqual(['e0', 'e1']);
    // Relative: a busy non-sticky side raises the bar.
    expect(names(make().filter(request(m, load({ e0: atPenalty + 100, e1: atPenalty + 100, e2: 200 })), all))).toEqual(['e0', 'e1']);
    // maxTTFTPenaltyMs 0 always sticks; peakPrefillThroughput scales the estimate.
    expect(names(make({ maxTTFTPenaltyMs: 0 }).filter(request(m, load({ e0: 1e12, e1: 1e12 })), all))).toEqual(['e0', 'e1']);
    expect(make({ maxTTFTPenaltyMs: 1000, peakPrefillThroughput: 1000 }).filter(request(m, load({ e0: 1001, e1: 1001 })), all)).toBe(all);
    expect(names(make({ maxTTFTPenaltyMs: 1000, peakPrefillThroughput: 1000 }).filter(request(m, load({ e0: 1000, e1: 1000 })), all))).toEqual(['e0', 'e1']);
  });

  it('without in-flight load every endpoint counts 0 tokens and the gate never breaks', () => {
    expect(names(make().filter(request(matchedList([10, 0, 0])), pool(3)))).toEqual(['e0']);
  });

  it('reads the producer instance it names', () => {
    const r = request(matchedList([10, 0]), undefined, 'long-blocks');
    expect(names(make({ prefixMatchInfoProducerName: 'long-blocks' }).filter(r, pool(2)))).toEqual(['e0']);
    expect(make({ prefixMatchInfoProducerName: 'other' }).filter(r, pool(2))).toHaveLength(2);
  });

  it('validates every parameter in one pass', () => {
    const p = problems(() => make({ affinityThreshold: 1.5, explorationProbability: 2, maxTTFTPenaltyMs: -1, peakPrefillThroughput: -3, ttftSource: 'guess', extra: 1 }));
    for (const field of ['affinityThreshold', 'explorationProbability', 'maxTTFTPenaltyMs', 'peakPrefillThroughput', 'ttftSource', 'extra']) expect(p).toContain(field);
    expect(problems(() => make({ peakPrefillThroughput: 0 }))).toContain('peakPrefillThroughput must be > 0');
    expect(make({ peakPrefillThroughput: 0, maxTTFTPenaltyMs: 0 }).config.peakPrefillThroughput).toBe(0);
    expect(problems(() => make({ ttftSource: 'latencyPredictor' }))).toContain('not implemented yet');
  });
});

describe('prefix-cache-affinity-filter in a configuration', () => {
  const text = [
    'apiVersion: llm-d.ai/v1alpha1',
    'kind: EndpointPickerConfig',
    'plugins:',
    '- type: prefix-cache-affinity-filter',
    '  name: prefix-affinity',
    '  parameters: {affinityThreshold: 0.8, explorationProbability: 0.01, maxTTFTPenaltyMs: 5000, ttftSource: prefillThroughput}',
    '- type: weighted-random-picker',
    'schedulingProfiles:',
    '- name: default',
    '  plugins:',
    '  - pluginRef: prefix-affinity',
    '  - pluginRef: weighted-random-picker',
  ].join('\n');

  it('is Beta and gets the prefix and in-flight load producers injected', () => {
    const built = buildScheduler(loadConfig({ text }), registerBuiltins(), CONTEXT, undefined, 'EndpointPickerConfig');
    const types = [...built.plugins.values()].map((p) => p.typedName.type);
    expect(types).toContain('prefix-cache-affinity-filter');
    expect(types).toContain('approx-prefix-cache-producer');
    expect(types).toContain('inflight-load-producer');
  });
});

describe('prefix-cache-affinity-filter with the approximate prefix producer and a random picker', () => {
  const config = (withFilter: boolean): string =>
    [
      'apiVersion: llm-d.ai/v1alpha1',
      'kind: EndpointPickerConfig',
      'plugins:',
      '- type: prefix-cache-affinity-filter',
      '- type: random-picker',
      'schedulingProfiles:',
      '- name: default',
      '  plugins:',
      ...(withFilter ? ['  - pluginRef: prefix-cache-affinity-filter'] : []),
      '  - pluginRef: random-picker',
    ].join('\n');

  /** Distinct endpoints the follow-ups sharing the first request's long prefix land on, with a seeded random source. */
  function followUpTargets(withFilter: boolean): { first: string; targets: Set<string> } {
    let x = 12345;
    const random = (): number => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x / 2 ** 32;
    };
    const { scheduler } = buildScheduler(loadConfig({ text: config(withFilter) }), registerBuiltins(), { random }, undefined, 'EndpointPickerConfig');
    const candidates = Array.from({ length: 6 }, (_, i) => endpoint(i, { cacheBlockSize: 16, cacheNumBlocks: 0 }));
    const route = (prompt: string): string => {
      const req = schedulingRequest({ llm: { api: 'completions', model: 'm', stream: false, cacheSalt: undefined, body: { model: 'm', prompt }, bodyBytes: prompt.length } });
      for (const p of scheduler.hooks.producers) p.produce(req, candidates);
      const result = scheduler.schedule(req, candidates);
      for (const h of scheduler.hooks.preRequest) h.preRequest(req, result, new Map());
      const target = result.profileResults.get(result.primaryProfileName)?.targets[0];
      if (target === undefined) throw new Error('no target');
      return target.name;
    };
    const system = 'You are a careful assistant. '.repeat(400);
    const first = route(`${system} question 0`);
    const targets = new Set(Array.from({ length: 12 }, (_, i) => route(`${system} question ${i + 1}`)));
    return { first, targets };
  }

  it('keeps follow-ups on the endpoint holding the prefix; without the filter the random picker spreads them', () => {
    const sticky = followUpTargets(true);
    expect([...sticky.targets]).toEqual([sticky.first]);
    expect(followUpTargets(false).targets.size).toBeGreaterThan(1);
  });
});
