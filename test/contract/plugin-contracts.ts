/**
 * Shared contract suites: every scorer and picker's own test calls the matching suite, so each plugin
 * kind keeps the framework's invariants (scores in [0,1], no mutation, determinism, picks drawn from
 * the candidates).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../src/datastore/endpoint.js';
import type { Picker, Scorer } from '../../src/scheduling/types.js';
import { endpoint, schedulingRequest } from '../helpers/endpoints.js';

const metricsArb = fc.record({
  waitingQueueSize: fc.nat({ max: 10_000 }),
  runningRequestsSize: fc.nat({ max: 10_000 }),
  kvCacheUsage: fc.double({ min: 0, max: 1, noNaN: true }),
});

const poolArb = fc.array(metricsArb, { minLength: 1, maxLength: 40 }).map((ms) => ms.map((m, i) => endpoint(i, m)));

export function describeScorer(name: string, make: () => Scorer): void {
  describe(`${name} (scorer contract)`, () => {
    it('scores every candidate within [0, 1]', () => {
      fc.assert(
        fc.property(poolArb, (pool) => {
          const out = new Float64Array(pool.length).fill(-7);
          make().score(schedulingRequest(), pool, out);
          for (const s of out) expect(s >= 0 && s <= 1).toBe(true);
        }),
        { numRuns: 300, seed: 7 },
      );
    });

    it('handles no candidates', () => {
      expect(() => make().score(schedulingRequest(), [], new Float64Array(0))).not.toThrow();
    });

    it('does not mutate candidates and is deterministic', () => {
      fc.assert(
        fc.property(poolArb, (pool) => {
          const before = pool.map((e) => ({ ...e.metrics }));
          const frozen = Object.freeze(pool.slice());
          const a = new Float64Array(pool.length);
          const b = new Float64Array(pool.length);
          make().score(schedulingRequest(), frozen, a);
          make().score(schedulingRequest(), frozen, b);
          expect(Array.from(a)).toEqual(Array.from(b));
          expect(pool.map((e) => ({ ...e.metrics }))).toEqual(before);
        }),
        { numRuns: 100, seed: 11 },
      );
    });
  });
}

export function describePicker(name: string, make: (maxNumOfEndpoints: number) => Picker): void {
  describe(`${name} (picker contract)`, () => {
    it('picks between 1 and maxNumOfEndpoints distinct candidates, none from outside', () => {
      fc.assert(
        fc.property(poolArb, fc.integer({ min: 1, max: 5 }), fc.array(fc.double({ min: 0, max: 10, noNaN: true }), { maxLength: 40 }), (pool, max, raw) => {
          const scores = Float64Array.from(pool.map((_, i) => raw[i] ?? 0));
          const picked: readonly Endpoint[] = make(max).pick(schedulingRequest(), pool, scores);
          expect(picked.length).toBeGreaterThanOrEqual(1);
          expect(picked.length).toBeLessThanOrEqual(Math.min(max, pool.length));
          expect(new Set(picked).size).toBe(picked.length);
          for (const e of picked) expect(pool).toContain(e);
        }),
        { numRuns: 300, seed: 3 },
      );
    });

    it('returns nothing for no candidates', () => {
      expect(make(1).pick(schedulingRequest(), [], new Float64Array(0))).toEqual([]);
    });
  });
}
