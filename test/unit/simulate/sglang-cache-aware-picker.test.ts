import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../../src/datastore/endpoint.js';
import { sglangCacheAwarePickerFactory, type SglangCacheAwarePicker } from '../../../src/simulate/peers/sglang-cache-aware-picker.js';
import { PREFIX_MATCH } from '../../../src/scheduling/prefix-match.js';
import type { SchedulingRequest, SchedulingResult } from '../../../src/scheduling/types.js';
import { describePicker } from '../../contract/plugin-contracts.js';
import { endpoint, schedulingRequest } from '../../helpers/endpoints.js';

const make = (over: object = {}): SglangCacheAwarePicker =>
  sglangCacheAwarePickerFactory('s', { balanceAbsThreshold: 2, balanceRelThreshold: 1.5, ...over }, { random: () => 0 }) as SglangCacheAwarePicker;

describePicker('sglang-cache-aware-picker', () => make());

function request(total: number, matched: ReadonlyMap<Endpoint, number> = new Map()): SchedulingRequest {
  const r = schedulingRequest();
  r.state.set(PREFIX_MATCH, { totalBlocks: total, blockSizeTokens: 16, matchedBlocks: (e) => matched.get(e) ?? 0 });
  return r;
}

const routedTo = (e: Endpoint): SchedulingResult => ({ primaryProfileName: 'default', profileResults: new Map([['default', { targets: [e] }]]) });

describe('sglang-cache-aware-picker', () => {
  const pool = [endpoint(0), endpoint(1), endpoint(2)];
  const [a, b, c] = pool as [Endpoint, Endpoint, Endpoint];

  it('follows a match above the cache threshold, else goes to the least loaded', () => {
    const p = make();
    p.preRequest(request(1), routedTo(a));
    expect(p.pick(request(10, new Map([[a, 4]])), pool)).toEqual([a]);
    // 3/10 is not above 0.3: least loaded, ties by fewer processed, then order.
    expect(p.pick(request(10, new Map([[a, 3]])), pool)).toEqual([b]);
  });

  it('routes to the least loaded regardless of matches when loads are imbalanced', () => {
    const p = make();
    const reqs = [request(1), request(1), request(1), request(1)];
    for (const r of reqs) p.preRequest(r, routedTo(a));
    p.preRequest(request(1), routedTo(b));
    // a: 4, b: 1, c: 0 → 4 − 0 > 2 and 4 > 1.5 × 0.
    expect(p.pick(request(10, new Map([[a, 10]])), pool)).toEqual([c]);
    for (const r of reqs) p.requestEnded(r, routedTo(a));
    expect(p.pick(request(10, new Map([[a, 10]])), pool)).toEqual([a]);
  });

  it('rejects unknown parameters', () => {
    expect(() => make({ threshold: 1 })).toThrow(/threshold/);
  });
});
