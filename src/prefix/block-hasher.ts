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
 */
import { xxh64Bytes, xxh64Text } from './xxh64.js';

/** Words per block hash in a hash array (low half, high half). */
export const HASH_WORDS = 2;

/** The hash array of a prompt with no blocks. */
export const NO_HASHES: Uint32Array = new Uint32Array(0);

// A BigUint64Array store is the cheapest way to split a bigint into halves (no bigint arithmetic).
const scratch64 = new BigUint64Array(1);
const scratch32 = new Uint32Array(scratch64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = LITTLE_ENDIAN ? 1 : 0;

/** Beyond this many blocks, windows are sliced per call instead of cached (bounds the cache). */
const MAX_CACHED_WINDOWS = 4096;

const encoder = new TextEncoder();

/** The text `h0` is computed from: the model, then (when non-empty) a NUL and the cache salt. */
export function seedText(model: string, cacheSalt: string | undefined): string {
  return cacheSalt === undefined || cacheSalt.length === 0 ? model : `${model}\u0000${cacheSalt}`;
}

/**
 * Hashes prompts into chained block hashes. Holds reusable buffers, so one instance serves every
 * request of a process (hashing is synchronous); the returned arrays are fresh and owned by the caller.
 */
export class BlockHasher {
  #buf = new Uint8Array(8);
  #view = new DataView(this.#buf.buffer);
  /** `#buf` without its 8 spare bytes: where the prompt is encoded. */
  #target = this.#buf.subarray(0, 0);
  #blockBytes = 0;
  /** Window i is the bytes of chunk i plus the 8 bytes after it (where LE64(hᵢ₋₁) is written). */
  #windows: Uint8Array[] = [];

  /**
   * The block hashes of `text` (see the module doc), at most `maxBlocks` of them. Returns
   * `NO_HASHES` when `blockBytes` or `maxBlocks` is not positive or the text is shorter than a block.
   */
  hash(text: string, seed: string, blockBytes: number, maxBlocks: number): Uint32Array {
    if (!(blockBytes > 0) || !(maxBlocks > 0) || text.length * 3 < blockBytes) return NO_HASHES;
    // A UTF-16 unit is at most 3 UTF-8 bytes: the buffer never needs to outgrow the text, whatever
    // block size an endpoint reports.
    const maxBytes = blockBytes * maxBlocks;
    const limit = Math.min(maxBytes, text.length * 3);
    this.#prepare(limit, maxBytes, blockBytes);
    const written = encoder.encodeInto(text, this.#target).written;
    if (written < blockBytes) return NO_HASHES;
    const full = Math.floor(written / blockBytes);
    const rest = written - full * blockBytes;
    const n = rest > 0 ? full + 1 : full;
    const out = new Uint32Array(n * HASH_WORDS);
    const view = this.#view;
    const windows = this.#windows;
    scratch64[0] = xxh64Text(seed);
    let lo = scratch32[LO] as number;
    let hi = scratch32[HI] as number;
    for (let i = 0; i < n; i++) {
      const start = i * blockBytes;
      const end = i < full ? start + blockBytes : written;
      // Chunk i is followed in place by LE64(hᵢ₋₁): borrow the next 8 bytes, then put them back.
      const keep0 = view.getUint32(end, true);
      const keep1 = view.getUint32(end + 4, true);
      view.setUint32(end, lo, true);
      view.setUint32(end + 4, hi, true);
      let window = i < full ? windows[i] : undefined;
      if (window === undefined) {
        window = this.#buf.subarray(start, end + 8);
        if (i < full && i < MAX_CACHED_WINDOWS) windows[i] = window;
      }
      scratch64[0] = xxh64Bytes(window);
      view.setUint32(end, keep0, true);
      view.setUint32(end + 4, keep1, true);
      lo = scratch32[LO] as number;
      hi = scratch32[HI] as number;
      out[i * HASH_WORDS] = lo;
      out[i * HASH_WORDS + 1] = hi;
    }
    return out;
  }

  #prepare(limit: number, maxBytes: number, blockBytes: number): void {
    if (this.#buf.length < limit + 8) {
      this.#buf = new Uint8Array(Math.max(limit, Math.min(maxBytes, 2 * this.#buf.length)) + 8);
      this.#view = new DataView(this.#buf.buffer);
      this.#windows = [];
      this.#target = this.#buf.subarray(0, limit);
    } else if (this.#target.length !== limit) {
      this.#target = this.#buf.subarray(0, limit);
    }
    if (blockBytes !== this.#blockBytes) {
      this.#blockBytes = blockBytes;
      this.#windows = [];
    }
  }
}
