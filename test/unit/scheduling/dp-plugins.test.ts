import { describe, expect, it } from 'vitest';
import { Endpoint, UNKNOWN_METRICS, type EndpointMetrics, type RankMetrics } from '../../../src/datastore/endpoint.js';
import { registerBuiltins } from '../../../src/builtins.js';
import { ApproxPrefixMatch } from '../../../src/prefix/approx-prefix-match.js';
import { PREFIX_MATCH } from '../../../src/scheduling/prefix-match.js';
import { DATA_PARALLEL_RANK_HEADER, DataParallelRankHeader, dataParallelRankHeaderFactory } from '../../../src/scheduling/plugins/profile-handlers/data-parallel-rank-header.js';
import { DpGroupBalanceScorer, dpGroupBalanceScorerFactory } from '../../../src/scheduling/plugins/scorers/dp-group-balance-scorer.js';
import { DpGroupLeaderFilter, dpGroupLeaderFilterFactory } from '../../../src/scheduling/plugins/filters/dp-group-leader-filter.js';
import { dpGroupKey, LWS_GROUP_INDEX_LABEL, LWS_NAME_LABEL, LWS_WORKER_INDEX_LABEL } from '../../../src/scheduling/plugins/dp-groups.js';
import type { SchedulingRequest, SchedulingResult } from '../../../src/scheduling/types.js';
import { describeFilter, describeScorer } from '../../contract/plugin-contracts.js';
import { schedulingRequest } from '../../helpers/endpoints.js';

const CONTEXT = { random: () => 0.5 };

function ep(name: string, address: string, port: number, metrics: Partial<EndpointMetrics> = {}, labels: Record<string, string> = {}): Endpoint {
  const e = new Endpoint(name, address, port, labels);
  e.metrics = { ...UNKNOWN_METRICS, known: true, updatedAtMs: 1, ...metrics };
  return e;
}

function lws(group: string, worker: string): Record<string, string> {
  return { [LWS_NAME_LABEL]: 'deepseek', [LWS_GROUP_INDEX_LABEL]: group, [LWS_WORKER_INDEX_LABEL]: worker };
}

function scores(pool: readonly Endpoint[]): number[] {
  const out = new Float64Array(pool.length);
  new DpGroupBalanceScorer('s').score(schedulingRequest(), pool, out);
  return Array.from(out);
}

function routed(target: Endpoint): SchedulingResult {
  return { primaryProfileName: 'default', profileResults: new Map([['default', { targets: [target] }]]) };
}

function ranks(...loads: readonly [number, number][]): RankMetrics[] {
  return loads.map(([waiting, running], i) => ({ rank: String(i), waitingQueueSize: waiting, runningRequestsSize: running, kvCacheUsage: 0.1 }));
}

describeFilter('dp-group-leader-filter', () => new DpGroupLeaderFilter('f'));
describeScorer('dp-group-balance-scorer', () => new DpGroupBalanceScorer('s'));

describe('dp-group-leader-filter', () => {
  it("keeps LWS leaders' ranks and endpoints outside any LWS, drops workers", () => {
    const leader0 = ep('g0-leader-rank-0', '10.0.0.1', 8000, {}, lws('0', '0'));
    const leader1 = ep('g0-leader-rank-1', '10.0.0.1', 8001, {}, lws('0', '0'));
    const worker = ep('g0-worker-rank-0', '10.0.0.2', 8000, {}, lws('0', '1'));
    const plain = ep('plain', '10.0.0.3', 8000);
    expect(new DpGroupLeaderFilter('f').filter(schedulingRequest(), [leader0, worker, leader1, plain])).toEqual([leader0, leader1, plain]);
  });

  it('takes no parameters', () => {
    expect(() => dpGroupLeaderFilterFactory('f', { x: 1 }, CONTEXT)).toThrow(/x/);
    expect(dpGroupLeaderFilterFactory('f', undefined, CONTEXT).typedName.type).toBe('dp-group-leader-filter');
  });
});

describe('dp-group-balance-scorer', () => {
  it('groups by LWS group labels, else by pod address', () => {
    expect(dpGroupKey(ep('a', '10.0.0.1', 8000, {}, lws('3', '0')))).toBe('lws:deepseek/3');
    expect(dpGroupKey(ep('b', '10.0.0.1', 8001))).toBe('pod:10.0.0.1');
  });

  it("scores each rank by its load relative to its own group's range, not the pool's", () => {
    const pool = [
      // group A: ranks at 0, 4, 8 requests
      ep('a-rank-0', '10.0.0.1', 8000, { waitingQueueSize: 0, runningRequestsSize: 0 }, lws('0', '0')),
      ep('a-rank-1', '10.0.0.1', 8001, { waitingQueueSize: 1, runningRequestsSize: 3 }, lws('0', '0')),
      ep('a-rank-2', '10.0.0.1', 8002, { waitingQueueSize: 2, runningRequestsSize: 6 }, lws('0', '0')),
      // group B: level at 20 → every rank is as good as any other
      ep('b-rank-0', '10.0.0.2', 8000, { runningRequestsSize: 20 }, lws('1', '0')),
      ep('b-rank-1', '10.0.0.2', 8001, { runningRequestsSize: 20 }, lws('1', '0')),
      // no LWS labels: its pod is its group
      ep('c-rank-0', '10.0.0.3', 8000, { runningRequestsSize: 5 }),
      ep('c-rank-1', '10.0.0.3', 8001, { runningRequestsSize: 1 }),
    ];
    expect(scores(pool)).toEqual([1, 0.5, 0, 1, 1, 0, 1]);
  });

  it("counts the picker's in-flight requests when they exceed the scrape (a burst between scrapes)", () => {
    const a = ep('p-rank-0', '10.0.0.1', 8000);
    const b = ep('p-rank-1', '10.0.0.1', 8001);
    a.inFlight = 3;
    expect(scores([a, b])).toEqual([0, 1]);
  });

  it('scores unknown metrics 0 and one-port multi-engine endpoints 1', () => {
    const unknown = ep('u', '10.0.0.1', 8000);
    unknown.metrics = UNKNOWN_METRICS;
    const internal = ep('i', '10.0.0.1', 8001, { waitingQueueSize: 50, ranks: ranks([50, 0], [0, 0]) });
    const light = ep('l', '10.0.0.1', 8002, { waitingQueueSize: 0 });
    expect(scores([unknown, internal, light])).toEqual([0, 1, 1]);
  });

  it('is registered and takes no parameters', () => {
    expect(registerBuiltins().has('dp-group-balance-scorer')).toBe(true);
    expect(() => dpGroupBalanceScorerFactory('s', { weight: 2 }, CONTEXT)).toThrow();
  });
});

describe('data-parallel-rank-header', () => {
  function pick(hook: DataParallelRankHeader, target: Endpoint, request: SchedulingRequest = schedulingRequest()): string | undefined {
    const headers = new Map<string, string>();
    hook.preRequest(request, routed(target), headers);
    return headers.get(DATA_PARALLEL_RANK_HEADER);
  }

  it('pins the least-loaded engine of a one-port multi-engine endpoint', () => {
    const target = ep('dp', '10.0.0.1', 8000, { ranks: ranks([3, 4], [0, 1], [2, 2]) });
    expect(pick(new DataParallelRankHeader('h'), target)).toBe('1');
  });

  it('leaves single-engine endpoints and unknown metrics alone', () => {
    const hook = new DataParallelRankHeader('h');
    expect(pick(hook, ep('one', '10.0.0.1', 8000))).toBeUndefined();
    const unknown = ep('u', '10.0.0.1', 8000, { ranks: ranks([0, 0], [0, 0]) });
    unknown.metrics = { ...unknown.metrics, known: false };
    expect(pick(hook, unknown)).toBeUndefined();
  });

  it('spreads a burst over level engines with its own pinned counts, and releases them at request end', () => {
    const hook = new DataParallelRankHeader('h');
    const target = ep('dp', '10.0.0.1', 8000, { ranks: ranks([0, 0], [0, 0], [0, 0]) });
    const requests = [schedulingRequest(), schedulingRequest(), schedulingRequest()];
    expect(requests.map((r) => pick(hook, target, r))).toEqual(['0', '1', '2']);
    hook.requestEnded(requests[1] as SchedulingRequest, routed(target));
    expect(pick(hook, target)).toBe('1');
  });

  it('keeps prefix affinity per engine: a prompt seen before goes back to its engine unless it is much busier', () => {
    const hook = new DataParallelRankHeader('h');
    const target = ep('dp', '10.0.0.1', 8000, { ranks: ranks([0, 0], [0, 0]) });
    const hashes = Uint32Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const withPrefix = (): SchedulingRequest => {
      const r = schedulingRequest();
      r.state.set(PREFIX_MATCH, new ApproxPrefixMatch(4, 16, hashes, [target], new Int32Array(1)));
      return r;
    };
    const first = withPrefix();
    expect(pick(hook, target, first)).toBe('0');
    hook.requestEnded(first, routed(target));
    // Engine 0 somewhat busier: the cached prefix wins.
    target.metrics = { ...target.metrics, ranks: ranks([0, 6], [0, 1]) };
    expect(pick(hook, target, withPrefix())).toBe('0');
    // A prompt nobody cached goes to the lighter engine.
    expect(pick(hook, target)).toBe('1');
    // Imbalanced beyond the thresholds (10 − 1 > 8 and 10 > 1.5 · 1): load decides.
    target.metrics = { ...target.metrics, ranks: ranks([4, 6], [0, 1]) };
    expect(pick(hook, target, withPrefix())).toBe('1');
  });

  it('skips engine labels that are not integers', () => {
    const target = ep('dp', '10.0.0.1', 8000, {
      ranks: [
        { rank: 'x', waitingQueueSize: 0, runningRequestsSize: 0, kvCacheUsage: 0 },
        { rank: '0', waitingQueueSize: 5, runningRequestsSize: 0, kvCacheUsage: 0 },
        { rank: '1', waitingQueueSize: 1, runningRequestsSize: 0, kvCacheUsage: 0 },
      ],
    });
    expect(pick(new DataParallelRankHeader('h'), target)).toBe('1');
  });

  it('validates its parameters', () => {
    expect(() => dataParallelRankHeaderFactory('h', { balanceRelThreshold: 0.5 }, CONTEXT)).toThrow(/balanceRelThreshold/);
    expect(() => dataParallelRankHeaderFactory('h', { bogus: true }, CONTEXT)).toThrow(/bogus/);
    const hook = dataParallelRankHeaderFactory('h', { balanceAbsThreshold: 2, balanceRelThreshold: 2, lruCapacityPerEngine: 100 }, CONTEXT) as DataParallelRankHeader;
    expect([hook.balanceAbsThreshold, hook.balanceRelThreshold, hook.lruCapacityPerEngine]).toEqual([2, 2, 100]);
    expect(registerBuiltins().has('data-parallel-rank-header')).toBe(true);
  });
});
