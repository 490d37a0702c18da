/**
 * Chained block hashing of a prompt for the approximate prefix index (reference §5.4 step 4).
 *
 * The prompt's UTF-8 bytes (truncated to `maxBlocks · blockBytes`) are cut into `blockBytes`-byte
 * chunks; a trailing partial chunk is hashed too and counted. With XXH64 (seed 0):
 *
 *     h0 = XXH64(seed)                         seed = model, or model ‖ 0x00 ‖ cache_salt
 *     hᵢ = XXH64(chunkᵢ ‖ LE64(hᵢ₋₁))          i = 1 … n
 *
 * so a block's hash identifies the whole prefix up to and including it. A prompt shorter than one
 * block yields no hashes. Blocks are cut on bytes, as the reference does; for ASCII text a byte is a
 * character. The NUL between model and salt keeps (`"ab"`, `"c"`) and (`"a"`, `"bc"`) apart, which
 * plain concatenation (the reference) does not; hash values only need to be self-consistent.
 *
 * Hashes are returned as a `Uint32Array` of `2n` words: block i is `(lo, hi) = (out[2i], out[2i+1])`
 * — the low and high halves of the 64-bit value, the representation `PrefixIndex` stores.
 *
 * The text is written straight into the memory of the WebAssembly chain (xxh64-chain.ts), which
 * hashes every block in one call.
 */
import { jsonStringUtf8 } from './json-string-utf8.js';
import { xxh64Chain, xxh64ChainMemory } from './xxh64-chain.js';

/** Words per block hash in a hash array (low half, high half). */
export const HASH_WORDS = 2;

/** The hash array of a prompt with no blocks. */
export const NO_HASHES: Uint32Array = new Uint32Array(0);

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const PAGE = 65536;
/** Bytes kept for the seed's UTF-8 ahead of the text; a longer seed moves the text further on. */
const SEED_ROOM = 1024;

const encoder = new TextEncoder();

/** The text `h0` is computed from: the model, then (when non-empty) a NUL and the cache salt. */
export function seedText(model: string, cacheSalt: string | undefined): string {
  return cacheSalt === undefined || cacheSalt.length === 0 ? model : `${model}\u0000${cacheSalt}`;
}

const align8 = (n: number): number => (n + 7) & ~7;

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * Hashes prompts into chained block hashes. Every instance lays the one WebAssembly memory out the
 * same way per call (seed, text, hashes) and keeps views into it, so one instance serves every request
 * of a process (hashing is synchronous); the returned arrays are fresh and owned by the caller.
 */
export class BlockHasher {
  #mem = new Uint8Array(0);
  #words = new Uint32Array(0);
  #seedView = new Uint8Array(0);
  #textView = new Uint8Array(0);
  #seedLen = 0;

  /**
   * The block hashes of `text` (see the module doc), at most `maxBlocks` of them. Returns
   * `NO_HASHES` when `blockBytes` or `maxBlocks` is not positive or the text is shorter than a block.
   */
  hash(text: string, seed: string, blockBytes: number, maxBlocks: number): Uint32Array {
    if (!(blockBytes > 0) || !(maxBlocks > 0) || text.length * 3 < blockBytes) return NO_HASHES;
    // A UTF-16 unit is at most 3 UTF-8 bytes: the room never needs to outgrow the text, whatever
    // block size an endpoint reports. Encoding stops at the first character that does not fit, so a
    // view as long as the whole encoding could be writes the same bytes as any longer one.
    const maxBytes = blockBytes * maxBlocks;
    const room = text.length * 3 >= maxBytes ? maxBytes : Math.min(maxBytes, nextPow2(text.length * 3));
    const textAt = this.#prepare(seed, room, blockBytes);
    let view = this.#textView;
    if (view.byteOffset !== textAt || view.length !== room) view = this.#textView = this.#mem.subarray(textAt, textAt + room);
    return this.#chain(textAt, encoder.encodeInto(text, view).written, blockBytes);
  }

  /**
   * The same hashes for the text of a JSON string literal given as its raw content bytes between the
   * quotes (valid UTF-8, escapes as written, as JSON.parse accepts): equal to
   * `hash(JSON.parse('"' + literal + '"'), …)` without decoding the literal.
   */
  hashJsonString(literal: Buffer, seed: string, blockBytes: number, maxBlocks: number): Uint32Array {
    // An escape is longer than what it stands for: the text has at most as many bytes as the literal.
    if (!(blockBytes > 0) || !(maxBlocks > 0) || literal.length < blockBytes) return NO_HASHES;
    const room = Math.min(blockBytes * maxBlocks, literal.length);
    const textAt = this.#prepare(seed, room, blockBytes);
    return this.#chain(textAt, jsonStringUtf8(literal, this.#mem, textAt, room), blockBytes);
  }

  /** Makes room for `room` text bytes (+8 borrowed) and their hashes, writes the seed; returns where the text goes. */
  #prepare(seed: string, room: number, blockBytes: number): number {
    const seedRoom = seed.length * 3 <= SEED_ROOM ? SEED_ROOM : align8(seed.length * 3);
    const textAt = seedRoom;
    const need = align8(textAt + room + 8) + 8 * Math.ceil(room / blockBytes);
    const memory = xxh64ChainMemory;
    if (memory.buffer.byteLength < need) memory.grow(Math.ceil((need - memory.buffer.byteLength) / PAGE));
    if (this.#mem.buffer !== memory.buffer) {
      this.#mem = new Uint8Array(memory.buffer);
      this.#words = new Uint32Array(memory.buffer);
      this.#seedView = this.#textView = new Uint8Array(0);
    }
    if (this.#seedView.length !== seedRoom) this.#seedView = this.#mem.subarray(0, seedRoom);
    this.#seedLen = encoder.encodeInto(seed, this.#seedView).written;
    return textAt;
  }

  #chain(textAt: number, written: number, blockBytes: number): Uint32Array {
    if (written < blockBytes) return NO_HASHES;
    const outAt = align8(textAt + written + 8);
    const n = xxh64Chain(0, this.#seedLen, textAt, written, blockBytes, outAt);
    if (LITTLE_ENDIAN) return this.#words.slice(outAt >>> 2, (outAt >>> 2) + n * HASH_WORDS);
    const view = new DataView(xxh64ChainMemory.buffer);
    const out = new Uint32Array(n * HASH_WORDS);
    for (let i = 0; i < out.length; i++) out[i] = view.getUint32(outAt + 4 * i, true);
    return out;
  }
}
