import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FloatHashSet } from '../../../src/simulate/float-hash-set.js';

describe('FloatHashSet', () => {
  it('behaves as a Set<number> under any sequence of adds and lookups (growth included)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.double({ noNaN: true }), fc.integer({ min: 0, max: 50 }), fc.constantFrom(0, -0)), { maxLength: 400 }), (values) => {
        const ours = new FloatHashSet(2);
        const reference = new Set<number>();
        for (const v of values) {
          expect(ours.add(v)).toBe(!reference.has(v));
          reference.add(v);
          expect(ours.has(v)).toBe(true);
        }
        expect(ours.size).toBe(reference.size);
        for (const v of values) expect(ours.has(v + 0.5)).toBe(reference.has(v + 0.5));
      }),
      { numRuns: 200, seed: 5 },
    );
  });
});
