/**
 * Returns true when the JSON text in `bytes` nests objects/arrays deeper than `maxDepth`. Runs over
 * raw bytes before parsing: JSON.parse accepts absurd nesting, but re-serialising or walking such a
 * value overflows the stack, so the picker rejects it up front.
 */
export function jsonNestsDeeperThan(bytes: Uint8Array, maxDepth: number): boolean {
  // Fast path: nesting deeper than maxDepth needs more than maxDepth opening brackets, and counting
  // them with indexOf (native memchr) is far cheaper than the byte loop. Real prompts stop here.
  if (countByte(bytes, 0x7b, maxDepth) + countByte(bytes, 0x5b, maxDepth) <= maxDepth) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** Occurrences of `byte` in `bytes`, counting no further than `limit + 1`. */
function countByte(bytes: Uint8Array, byte: number, limit: number): number {
  let n = 0;
  for (let at = bytes.indexOf(byte); at >= 0 && n <= limit; at = bytes.indexOf(byte, at + 1)) n++;
  return n;
}
