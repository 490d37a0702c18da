/**
 * Chained block hashes for the simulated KV cache (`KvCache`), after vLLM's prefix caching
 * (model-server.md §2): only full blocks are hashed, and block i's hash covers its parent's hash, so
 * equal hashes at block i mean equal prompts up to the end of block i.
 *
 * A hash is a non-negative integer below 2^53 held in a number (exact in a double, cheap as a Map
 * key); a prompt's hashes are a `Float64Array`, block i at index i. The values are self-consistent
 * only: they do not reproduce vLLM's SHA-256 digests. Two ways in:
 * - `hashTokenBlocks`: from token ids;
 * - `expandHashIds`: from precomputed coarser block ids such as Mooncake's `hash_ids` (512 tokens
 *   per id), split into engine blocks.
 * The `seed` stands for vLLM's extra keys (LoRA name, cache salt): different seeds never share blocks.
 */

const TWO_32 = 4294967296;

/** The hash of block content `value` (and `sub`, a position inside a coarse id) after `parent`. */
export function chainHash(parent: number, value: number, sub: number): number {
  const pLo = parent >>> 0;
  const pHi = Math.floor(parent / TWO_32) >>> 0;
  const vLo = value >>> 0;
  const vHi = Math.floor(value / TWO_32) >>> 0;
  let a = Math.imul(pLo ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(vLo + 0x7f4a7c15, 0xcc9e2d51);
  let b = Math.imul(pHi ^ 0xc2b2ae35, 0x27d4eb2f) ^ Math.imul(vHi ^ sub, 0x165667b1) ^ Math.imul(sub + 1, 0x1b873593);
  a ^= a >>> 16;
  a = Math.imul(a ^ b, 0x85ebca6b);
  a ^= a >>> 13;
  b = Math.imul(b ^ a, 0xc2b2ae35);
  b ^= b >>> 16;
  a = Math.imul(a ^ (b >>> 7), 0x27d4eb2f);
  a ^= a >>> 15;
  return (b & 0x1fffff) * TWO_32 + (a >>> 0);
}

/** The root parent for `seed` (a string such as a LoRA name, or '' for none). */
export function seedHash(seed: string): number {
  let h = 0;
  for (let i = 0; i < seed.length; i++) h = chainHash(h, seed.charCodeAt(i), i);
  return h;
}

/**
 * Hashes of the full `blockSize`-token blocks of `tokens` (a trailing partial block is not hashed):
 * `floor(tokens.length / blockSize)` values.
 */
export function hashTokenBlocks(tokens: ArrayLike<number>, blockSize: number, seed = ''): Float64Array {
  const n = Math.floor(tokens.length / blockSize);
  const out = new Float64Array(n);
  let parent = seedHash(seed);
  for (let b = 0; b < n; b++) {
    let h = parent;
    const end = (b + 1) * blockSize;
    for (let t = b * blockSize; t < end; t++) h = chainHash(h, tokens[t] ?? 0, t - b * blockSize);
    out[b] = h;
    parent = h;
  }
  return out;
}

/**
 * Engine-block hashes of a prompt of `inputLength` tokens described by coarse prefix ids (`hashIds`,
 * `idTokens` tokens each, e.g. Mooncake: 512): engine block j lies inside id `floor(j·blockSize /
 * idTokens)` and is hashed with its position there, so equal id prefixes give equal engine blocks.
 * Returns `floor(inputLength / blockSize)` hashes, fewer if `hashIds` runs out.
 * Throws `RangeError` unless `idTokens` is a multiple of `blockSize`.
 */
export function expandHashIds(
  hashIds: ArrayLike<number>,
  idTokens: number,
  inputLength: number,
  blockSize: number,
  seed = '',
): Float64Array {
  if (idTokens % blockSize !== 0) throw new RangeError(`idTokens ${idTokens} is not a multiple of blockSize ${blockSize}`);
  const per = idTokens / blockSize;
  const n = Math.min(Math.floor(inputLength / blockSize), hashIds.length * per);
  const out = new Float64Array(n);
  let parent = seedHash(seed);
  for (let j = 0; j < n; j++) {
    const k = Math.floor(j / per);
    parent = chainHash(parent, hashIds[k] ?? 0, j - k * per);
    out[j] = parent;
  }
  return out;
}
