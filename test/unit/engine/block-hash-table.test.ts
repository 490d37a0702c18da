import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BlockHashTable } from '../../../src/engine/block-hash-table.js';

describe('BlockHashTable', () => {
  it('behaves as a Map<number, number> under any sequence of sets, deletes and lookups', () => {
    const op = fc.record({ kind: fc.constantFrom('set', 'delete', 'get'), key: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.double({ noNaN: true, min: 1, max: 1e12 })), value: fc.nat(1000) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const ours = new BlockHashTable(64);
        const reference = new Map<number, number>();
        for (const o of ops) {
          if (o.kind === 'set' && (reference.has(o.key) || reference.size < 64)) {
            ours.set(o.key, o.value);
            reference.set(o.key, o.value);
          } else if (o.kind === 'delete') {
            expect(ours.delete(o.key)).toBe(reference.delete(o.key));
          }
          expect(ours.get(o.key)).toBe(reference.get(o.key));
          expect(ours.size).toBe(reference.size);
        }
        for (const [k, v] of reference) expect(ours.get(k)).toBe(v);
      }),
      { numRuns: 300, seed: 9 },
    );
  });

  it('refuses entries beyond its capacity', () => {
    const t = new BlockHashTable(2);
    t.set(1.5, 0);
    t.set(2.5, 1);
    t.set(2.5, 3);
    expect(() => t.set(3.5, 2)).toThrow(RangeError);
  });
});
