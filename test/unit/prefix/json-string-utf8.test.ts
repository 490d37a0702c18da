import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonStringUtf8 } from '../../../src/prefix/json-string-utf8.js';
import { anyText, jsonLiteralOf } from '../../helpers/json-literals.js';

/** What the old path wrote: TextEncoder.encodeInto of the decoded text into a `limit`-byte view. */
function expected(literal: Buffer, limit: number): Buffer {
  const text = JSON.parse(`"${literal.toString('utf8')}"`) as string;
  const out = Buffer.alloc(limit);
  const { written } = new TextEncoder().encodeInto(text, out);
  return out.subarray(0, written);
}

describe('jsonStringUtf8', () => {
  it('writes what TextEncoder writes for the decoded text, cut at the same character (property)', () => {
    fc.assert(
      fc.property(anyText, fc.array(fc.nat(11), { maxLength: 16 }), fc.nat(400), fc.nat(8), (text, choices, limit, at) => {
        const literal = jsonLiteralOf(text, choices);
        const dst = Buffer.alloc(at + limit + 4, 0xaa);
        const written = jsonStringUtf8(literal, dst, at, limit);
        expect(dst.subarray(at, at + written)).toEqual(expected(literal, limit));
        expect(dst.subarray(0, at).every((b) => b === 0xaa)).toBe(true);
        expect(dst.subarray(at + written).every((b) => b === 0xaa)).toBe(true);
      }),
      { numRuns: 3000, seed: 7 },
    );
  });

  it('pairs escaped surrogates, and writes U+FFFD for lone ones as TextEncoder does', () => {
    const run = (literal: string): number[] => {
      const dst = new Uint8Array(32);
      return Array.from(dst.subarray(0, jsonStringUtf8(Buffer.from(literal, 'latin1'), dst, 0, 32)));
    };
    expect(run('\\ud83d\\ude00')).toEqual([0xf0, 0x9f, 0x98, 0x80]);
    expect(run('\\ud83dx')).toEqual([0xef, 0xbf, 0xbd, 0x78]);
    expect(run('\\ude00\\ud83d')).toEqual([0xef, 0xbf, 0xbd, 0xef, 0xbf, 0xbd]);
    expect(run('a\\n\\u00E9\\/')).toEqual([0x61, 0x0a, 0xc3, 0xa9, 0x2f]);
  });
});
