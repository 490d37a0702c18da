/**
 * XXH64 (seed 0) from `xxhash-wasm`: an implementation independent of the picker's own
 * (src/prefix/xxh64-chain.ts), for tests to check its hashes against.
 */
import xxhash from 'xxhash-wasm';

const api = await xxhash();

/** XXH64 of `bytes` (seed 0) as an unsigned 64-bit bigint. */
export function xxh64Bytes(bytes: Uint8Array): bigint {
  return api.h64Raw(bytes);
}

/** XXH64 of the UTF-8 encoding of `text` (seed 0) as an unsigned 64-bit bigint. */
export function xxh64Text(text: string): bigint {
  return api.h64(text);
}
