/** Hashing float64 keys (block hashes) for the typed open-addressing tables. */

const scratch = new Float64Array(1);
const bits = new Uint32Array(scratch.buffer);

/** A well-spread 32-bit hash of `value`'s bits; −0 hashes as 0 (they compare equal). */
export function hashFloat64(value: number): number {
  scratch[0] = value === 0 ? 0 : value;
  const h = Math.imul((bits[0] as number) ^ Math.imul(bits[1] as number, 0x9e3779b1), 0x85ebca6b);
  return h ^ (h >>> 15);
}
