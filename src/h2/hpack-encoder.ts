/**
 * A stateless HPACK encoder: fields whose name and value match a static entry are indexed, the rest
 * are literals without indexing (static name index when there is one), never Huffman-coded. It never
 * touches the peer's dynamic table, so blocks can be computed once and reused (a server's response
 * headers and trailers are mostly constant).
 */
import { STATIC_TABLE, staticNameIndex } from './hpack-static-table.js';

/** Encodes `fields` (name, value pairs; names lower-case) into one header block. */
export function encodeHeaderBlock(fields: readonly (readonly [string, string])[]): Buffer {
  const parts: number[] = [];
  for (const [name, value] of fields) {
    const exact = STATIC_TABLE.findIndex(([n, v]) => n === name && v === value);
    if (exact >= 0) {
      writeInt(parts, 0x80, 7, exact + 1);
      continue;
    }
    const nameIndex = staticNameIndex(name);
    writeInt(parts, 0x00, 4, nameIndex);
    if (nameIndex === 0) writeString(parts, name);
    writeString(parts, value);
  }
  return Buffer.from(parts);
}

function writeInt(out: number[], firstByteBits: number, prefixBits: number, value: number): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(firstByteBits | value);
    return;
  }
  out.push(firstByteBits | max);
  let rest = value - max;
  while (rest >= 0x80) {
    out.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
}

function writeString(out: number[], text: string): void {
  writeInt(out, 0x00, 7, text.length);
  for (let i = 0; i < text.length; i++) out.push(text.charCodeAt(i) & 0xff);
}
