import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BlockHasher, HASH_WORDS, NO_HASHES, seedText } from '../../../src/prefix/block-hasher.js';
import { xxh64Bytes, xxh64Text } from '../../helpers/xxh64-reference.js';
import { anyText, jsonLiteralOf } from '../../helpers/json-literals.js';

const hasher = new BlockHasher();
const C = 64;

/** Block i's hash as a bigint. */
function at(hashes: Uint32Array, i: number): bigint {
  return (BigInt(hashes[i * HASH_WORDS + 1] ?? 0) << 32n) | BigInt(hashes[i * HASH_WORDS] ?? 0);
}

function le64(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  return b;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The reference's formula, computed independently of BlockHasher. */
function referenceHashes(text: string, seed: string, blockBytes: number, maxBlocks: number): bigint[] {
  let bytes = new TextEncoder().encode(text);
  if (bytes.length < blockBytes) return [];
  if (bytes.length > blockBytes * maxBlocks) bytes = bytes.subarray(0, blockBytes * maxBlocks);
  const out: bigint[] = [];
  let prev = xxh64Text(seed);
  for (let i = 0; i < bytes.length; i += blockBytes) {
    prev = xxh64Bytes(concat(bytes.subarray(i, Math.min(i + blockBytes, bytes.length)), le64(prev)));
    out.push(prev);
  }
  return out;
}

const text = (n: number, salt = 0): string => Array.from({ length: n }, (_, i) => String.fromCharCode(97 + ((i * 7 + salt) % 26))).join('');

describe('xxh64 (xxhash-wasm)', () => {
  it('is XXH64 with seed 0 (known answers)', () => {
    expect(xxh64Text('')).toBe(0xef46db3751d8e999n);
    expect(xxh64Text('abc')).toBe(0x44bc2cf5ad770999n);
    expect(xxh64Bytes(new TextEncoder().encode('abc'))).toBe(0x44bc2cf5ad770999n);
  });
});

describe('BlockHasher', () => {
  it('chains XXH64 over 4·B-byte chunks, seeded by the model, counting a trailing partial chunk', () => {
    const t = text(C * 3 + 10);
    const hashes = hasher.hash(t, 'model-a', C, 256);
    expect(hashes.length / HASH_WORDS).toBe(4);
    expect([0, 1, 2, 3].map((i) => at(hashes, i))).toEqual(referenceHashes(t, 'model-a', C, 256));
  });

  it('is deterministic and leaves no state between calls (buffers are reused)', () => {
    const t = text(5000);
    const a = hasher.hash(t, 'm', C, 256);
    hasher.hash(text(9000, 3), 'other', 32, 16);
    hasher.hash(text(100, 1), 'm', C, 256);
    const b = hasher.hash(t, 'm', C, 256);
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(b).not.toBe(a);
  });

  it('a block hash covers the whole prefix: an edit changes its block and every later one only', () => {
    const base = text(C * 6);
    const edited = `${base.slice(0, C * 3 + 5)}#${base.slice(C * 3 + 6)}`;
    const a = hasher.hash(base, 'm', C, 256);
    const b = hasher.hash(edited, 'm', C, 256);
    for (let i = 0; i < 6; i++) expect(at(a, i) === at(b, i)).toBe(i < 3);
  });

  it('prompts shorter than one block give no hashes; exactly one block gives one', () => {
    expect(hasher.hash(text(C - 1), 'm', C, 256)).toBe(NO_HASHES);
    expect(hasher.hash('', 'm', C, 256)).toBe(NO_HASHES);
    expect(hasher.hash(text(C), 'm', C, 256).length).toBe(HASH_WORDS);
    expect(hasher.hash(text(C * 4), 'm', C, 0)).toBe(NO_HASHES);
    expect(hasher.hash(text(C * 4), 'm', 0, 256)).toBe(NO_HASHES);
  });

  it('truncates to maxBlocks blocks', () => {
    const t = text(C * 10 + 3);
    const hashes = hasher.hash(t, 'm', C, 4);
    expect(hashes.length / HASH_WORDS).toBe(4);
    expect(Array.from(hashes)).toEqual(Array.from(hasher.hash(t.slice(0, C * 4), 'm', C, 256)));
  });

  it('cuts blocks on UTF-8 bytes', () => {
    const t = 'é'.repeat(C); // 2 bytes each: two blocks
    const hashes = hasher.hash(t, 'm', C, 256);
    expect(hashes.length / HASH_WORDS).toBe(2);
    expect([at(hashes, 0), at(hashes, 1)]).toEqual(referenceHashes(t, 'm', C, 256));
  });

  it('the model and cache_salt isolate: different seeds share no block hash', () => {
    const t = text(C * 8);
    const all = [seedText('m1', undefined), seedText('m2', undefined), seedText('m1', 'tenant-a'), seedText('m1', 'tenant-b')].map((s) => hasher.hash(t, s, C, 256));
    const seen = new Set<bigint>();
    for (const h of all) for (let i = 0; i < 8; i++) seen.add(at(h, i));
    expect(seen.size).toBe(32);
    expect(seedText('m', '')).toBe(seedText('m', undefined));
    expect(seedText('ab', 'c')).not.toBe(seedText('a', 'bc'));
  });

  it('block sizes other than 64 bytes and large limits (window cache bypass) agree with the formula', () => {
    const t = text(4 * 5000 + 7);
    const hashes = hasher.hash(t, 'm', 4, 10_000);
    expect(hashes.length / HASH_WORDS).toBe(5002);
    const ref = referenceHashes(t, 'm', 4, 10_000);
    for (const i of [0, 1, 4095, 4096, 4097, 5000, 5001]) expect(at(hashes, i)).toBe(ref[i]);
  });

  it('a block size far beyond the prompt (a bogus cache_config_info) hashes nothing and sizes nothing by it', () => {
    expect(hasher.hash(text(1000), 'm', 4_000_000_000, 256)).toBe(NO_HASHES);
    const t = text(C * 3);
    expect([0, 1, 2].map((i) => at(hasher.hash(t, 'm', C, 1e9), i))).toEqual(referenceHashes(t, 'm', C, 1e9));
  });

  it('equals the formula computed with xxhash-wasm block by block, for any text, seed, block size and limit (property)', () => {
    fc.assert(
      fc.property(fc.array(anyText, { maxLength: 8 }), anyText, fc.integer({ min: 1, max: 90 }), fc.integer({ min: 1, max: 40 }), (pieces, seed, blockBytes, maxBlocks) => {
        const t = pieces.join('');
        const hashes = hasher.hash(t, seed, blockBytes, maxBlocks);
        // The formula cuts the UTF-8 at the limit as TextEncoder.encodeInto does: before a character that does not fit.
        const room = new Uint8Array(blockBytes * maxBlocks);
        const cut = new TextDecoder().decode(room.subarray(0, new TextEncoder().encodeInto(t, room).written));
        const ref = referenceHashes(cut, seed, blockBytes, maxBlocks);
        expect(Array.from({ length: hashes.length / HASH_WORDS }, (_, i) => at(hashes, i))).toEqual(ref);
      }),
      { numRuns: 1500, seed: 11 },
    );
  });

  it('hashes a JSON string literal from its raw bytes exactly as the text it decodes to (property)', () => {
    fc.assert(
      fc.property(fc.array(anyText, { maxLength: 8 }), fc.array(fc.nat(11), { maxLength: 16 }), fc.integer({ min: 1, max: 90 }), fc.integer({ min: 1, max: 40 }), (pieces, choices, blockBytes, maxBlocks) => {
        const literal = jsonLiteralOf(pieces.join(''), choices);
        const text = JSON.parse(`"${literal.toString('utf8')}"`) as string;
        expect(Array.from(hasher.hashJsonString(literal, 'm\u0000salt', blockBytes, maxBlocks))).toEqual(Array.from(hasher.hash(text, 'm\u0000salt', blockBytes, maxBlocks)));
      }),
      { numRuns: 1500, seed: 12 },
    );
    const big = 'x'.repeat(300_000);
    expect(Array.from(hasher.hashJsonString(Buffer.from(big), 'm', 256, 2048))).toEqual(Array.from(hasher.hash(big, 'm', 256, 2048)));
  });
});
