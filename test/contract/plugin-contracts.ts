/**
 * Shared contract suites: every scorer, picker and filter's own test calls the matching suite, so
 * each plugin kind keeps the framework's invariants (scores in [0,1], no mutation, determinism, picks
 * drawn from the candidates, filters returning an ordered subset of their input).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../src/datastore/endpoint.js';
import { EppError } from '../../src/errors/errors.js';
import type { Filter, Picker, ProfileHandler, ProfileResult, ProfileSpec, Scorer, SchedulingRequest } from '../../src/scheduling/types.js';
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

/** Label values the filter contract draws from, so label-based filters both keep and drop. */
const labelsArb = fc.record(
  {
    'llm-d.ai/role': fc.constantFrom('decode', 'prefill', 'encode', 'prefill-decode', 'encode-prefill', 'encode-prefill-decode', 'both', ''),
    'llm-d.ai/context-length-range': fc.constantFrom('0-100', '100-8000', '0-0', '5000-100000', 'bad', '10-5'),
    tier: fc.constantFrom('a', 'b', 'c'),
  },
  { requiredKeys: [] },
);

const labeledPoolArb = fc
  .array(fc.tuple(metricsArb, labelsArb, fc.boolean()), { minLength: 1, maxLength: 40 })
  .map((rows) =>
    rows.map(([m, labels, known], i) => {
      const e = endpoint(i, m, labels);
      if (!known) e.metrics = { ...e.metrics, known: false };
      return e;
    }),
  );

/**
 * Filter invariants: the result is an ordered subset of the input (no duplicates, nothing from
 * outside), the input and its endpoints are left untouched, no candidates give no candidates, and the
 * same input gives the same output. `request` supplies the request the filter sees.
 */
export function describeFilter(name: string, make: () => Filter, request: () => SchedulingRequest = () => schedulingRequest()): void {
  describe(`${name} (filter contract)`, () => {
    it('returns an ordered subset of its input', () => {
      fc.assert(
        fc.property(labeledPoolArb, (pool) => {
          const kept = make().filter(request(), pool);
          let at = 0;
          for (const e of kept) {
            const found = pool.indexOf(e, at);
            expect(found).toBeGreaterThanOrEqual(at);
            at = found + 1;
          }
          expect(kept.length).toBeLessThanOrEqual(pool.length);
        }),
        { numRuns: 300, seed: 5 },
      );
    });

    it('returns nothing for no candidates', () => {
      expect(make().filter(request(), [])).toEqual([]);
    });

    it('does not mutate its input and is deterministic', () => {
      fc.assert(
        fc.property(labeledPoolArb, (pool) => {
          const before = pool.map((e) => ({ metrics: { ...e.metrics }, labels: { ...e.labels }, inFlight: e.inFlight }));
          const frozen = Object.freeze(pool.slice());
          const filter = make();
          const positions = (kept: readonly Endpoint[]): number[] => kept.map((e) => pool.indexOf(e));
          const a = positions(filter.filter(request(), frozen));
          expect(positions(filter.filter(request(), frozen))).toEqual(a);
          expect(positions(make().filter(request(), frozen))).toEqual(a);
          expect(frozen).toEqual(pool);
          expect(pool.map((e) => ({ metrics: { ...e.metrics }, labels: { ...e.labels }, inFlight: e.inFlight }))).toEqual(before);
        }),
        { numRuns: 100, seed: 13 },
      );
    });
  });
}

/**
 * Profile-handler invariants, driven the way the scheduler drives a handler (rounds of `pickProfiles`
 * until it returns none, each picked profile's result then known, found or `null`): it only picks
 * profiles from the map it is given, never one already run, and stops within a few rounds; its final
 * result names a primary profile that ran and found targets, or it throws one of the request errors
 * (429 / 400), never anything else; and it leaves the maps it is given untouched. `requests`
 * supplies the requests tried (headers and bodies the handler reads).
 */
export function describeProfileHandler(
  name: string,
  make: () => ProfileHandler,
  profileNames: readonly string[],
  requests: readonly (() => SchedulingRequest)[] = [() => schedulingRequest()],
): void {
  describe(`${name} (profile handler contract)`, () => {
    const picker: Picker = { typedName: { type: 'contract-picker', name: 'p' }, pick: (_r, c) => c.slice(0, 1) };
    const profiles: ReadonlyMap<string, ProfileSpec> = new Map(profileNames.map((n) => [n, { name: n, filters: [], scorers: [], picker }]));
    const known = new Set<string>(['ResourceExhausted', 'BadRequest']);

    it('picks only configured profiles, each at most once, stops, and makes a primary that ran and found targets', () => {
      fc.assert(
        fc.property(fc.nat({ max: requests.length - 1 }), fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), (which, found) => {
          const handler = make();
          const request = (requests[which] as () => SchedulingRequest)();
          const results = new Map<string, ProfileResult>();
          const target = endpoint(0);
          let rounds = 0;
          for (;;) {
            const next = handler.pickProfiles(request, profiles, results);
            if (next.length === 0) break;
            expect(++rounds).toBeLessThanOrEqual(profileNames.length);
            for (const spec of next) {
              expect(profiles.get(spec.name)).toBe(spec);
              expect(results.has(spec.name)).toBe(false);
              results.set(spec.name, found[results.size % found.length] === true ? { targets: [target] } : null);
            }
          }
          const before = new Map(results);
          try {
            const result = handler.processResults(request, results);
            expect(results.has(result.primaryProfileName)).toBe(true);
            expect(result.profileResults.get(result.primaryProfileName)?.targets.length ?? 0).toBeGreaterThan(0);
          } catch (err) {
            expect(err instanceof EppError && known.has(err.code), String(err)).toBe(true);
          }
          expect(results).toEqual(before);
          expect([...profiles.keys()]).toEqual(profileNames);
        }),
        { numRuns: 200, seed: 17 },
      );
    });
  });
}
