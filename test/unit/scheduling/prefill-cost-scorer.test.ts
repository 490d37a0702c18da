import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../../src/datastore/endpoint.js';
import { PrefillCostScorer, prefillCostScorerFactory } from '../../../src/scheduling/plugins/scorers/prefill-cost-scorer.js';
import { PREFIX_MATCH, type PrefixMatchInfo } from '../../../src/scheduling/prefix-match.js';
import type { SchedulingRequest, SchedulingResult } from '../../../src/scheduling/types.js';
import { describeScorer } from '../../contract/plugin-contracts.js';
import { endpoint, schedulingRequest } from '../../helpers/endpoints.js';

describeScorer('prefill-cost-scorer', () => new PrefillCostScorer('c'));

/** A request of `total` blocks of which `matched.get(e)` are believed cached on e. */
function request(total: number, matched: ReadonlyMap<Endpoint, number> = new Map()): SchedulingRequest {
  const info: PrefixMatchInfo = { totalBlocks: total, blockSizeTokens: 16, matchedBlocks: (e) => matched.get(e) ?? 0 };
  const r = schedulingRequest();
  r.state.set(PREFIX_MATCH, info);
  return r;
}

const routedTo = (e: Endpoint): SchedulingResult => ({ primaryProfileName: 'default', profileResults: new Map([['default', { targets: [e] }]]) });

function scores(scorer: PrefillCostScorer, r: SchedulingRequest, pool: readonly Endpoint[]): number[] {
  const out = new Float64Array(pool.length);
  scorer.score(r, pool, out);
  return Array.from(out);
}

describe('prefill-cost-scorer', () => {
  const pool = [endpoint(0), endpoint(1), endpoint(2)];
  const [a, b, c] = pool as [Endpoint, Endpoint, Endpoint];

  it('prefers the endpoint holding more of the prompt when nothing is pending', () => {
    const s = new PrefillCostScorer('c');
    expect(scores(s, request(10, new Map([[b, 8]])), pool)).toEqual([0, 1, 0]);
    expect(scores(s, request(10), pool)).toEqual([1, 1, 1]);
  });

  it('charges routed prefill work until the first response byte, and the rest until the end', () => {
    const s = prefillCostScorerFactory('c', { decodeLoadScale: 0.5 }, { random: () => 0 }) as PrefillCostScorer;
    const r = request(10, new Map([[a, 4]]));
    s.preRequest(r, routedTo(a));
    expect(s.load(a)).toEqual({ pendingPrefill: 6, activeBlocks: 10 });
    // a: 6 pending + 10 new + 0.5 * (10 active + 10); b and c: 10 + 0.5 * 10.
    expect(scores(s, request(10), pool)).toEqual([0, 1, 1]);
    s.firstResponseByte(r);
    s.firstResponseByte(r);
    expect(s.load(a)).toEqual({ pendingPrefill: 0, activeBlocks: 10 });
    s.requestEnded(r);
    s.requestEnded(r);
    expect(s.load(a)).toEqual({ pendingPrefill: 0, activeBlocks: 0 });
  });

  it('takes the prefill charge back at the end when no response byte was seen (failed upstream)', () => {
    const s = new PrefillCostScorer('c');
    const r = request(5);
    s.preRequest(r, routedTo(c));
    s.requestEnded(r);
    expect(s.load(c)).toEqual({ pendingPrefill: 0, activeBlocks: 0 });
  });

  it('weighs a cache hit against the prefill already queued on the caching endpoint', () => {
    const s = new PrefillCostScorer('c');
    for (let i = 0; i < 3; i++) s.preRequest(request(10), routedTo(b));
    // b holds 8 of 10 blocks (2 to compute) but has 30 queued: a or c compute 10 with nothing queued.
    expect(scores(s, request(10, new Map([[b, 8]])), pool)).toEqual([1, 0, 1]);
  });

  it('under P/D charges the prompt to the prefill target and only the blocks to the decode target', () => {
    const s = new PrefillCostScorer('c');
    const r = request(10, new Map([[c, 3]]));
    s.preRequest(r, { primaryProfileName: 'decode', profileResults: new Map([['decode', { targets: [a] }], ['prefill', { targets: [c] }]]) });
    expect(s.load(a)).toEqual({ pendingPrefill: 0, activeBlocks: 10 });
    expect(s.load(c)).toEqual({ pendingPrefill: 7, activeBlocks: 0 });
    s.firstResponseByte(r);
    expect(s.load(c)).toEqual({ pendingPrefill: 0, activeBlocks: 0 });
    s.requestEnded(r);
    expect(s.load(a)).toEqual({ pendingPrefill: 0, activeBlocks: 0 });
  });

  it('rejects unknown and out-of-range parameters', () => {
    expect(() => prefillCostScorerFactory('c', { overlapCredit: 2 }, { random: () => 0 })).toThrow(/overlapCredit/);
    expect(() => prefillCostScorerFactory('c', { weight: 1 }, { random: () => 0 })).toThrow(/weight/);
  });
});
