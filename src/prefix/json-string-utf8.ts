/**
 * The UTF-8 bytes of the text a JSON string literal stands for, written straight from the literal's
 * raw bytes: what `new TextEncoder().encodeInto(JSON.parse('"' + literal + '"'), view)` writes into a
 * `limit`-byte view, without making either string. Runs between escapes are copied as they are;
 * escapes are decoded, and an unpaired surrogate (`\ud800` alone) becomes U+FFFD, as TextEncoder
 * writes it.
 */

/** UTF-8 of U+FFFD, what TextEncoder writes for an unpaired surrogate. */
const REPLACEMENT = [0xef, 0xbf, 0xbd] as const;

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x57 : -1;
}

/** The code unit of the `\uXXXX` escape whose `u` is at `at`, or −1 when it is not one. */
function unicodeEscape(src: Buffer, at: number): number {
  if (at + 4 >= src.length || src[at] !== 0x75) return -1;
  const a = hexDigit(src[at + 1] as number);
  const b = hexDigit(src[at + 2] as number);
  const c = hexDigit(src[at + 3] as number);
  const d = hexDigit(src[at + 4] as number);
  return (a | b | c | d) < 0 ? -1 : (a << 12) | (b << 8) | (c << 4) | d;
}

function singleEscape(c: number): number {
  switch (c) {
    case 0x22:
    case 0x5c:
    case 0x2f:
      return c;
    case 0x62:
      return 0x08;
    case 0x66:
      return 0x0c;
    case 0x6e:
      return 0x0a;
    case 0x72:
      return 0x0d;
    case 0x74:
      return 0x09;
    default:
      return -1;
  }
}

/**
 * Writes into `dst[at, at + limit)` the UTF-8 of the text of the JSON string literal whose content
 * (between the quotes) is `src`, stopping before the first character that would not fit whole, and
 * returns the bytes written. `src` must be valid UTF-8 with well-formed escapes (a literal JSON.parse
 * accepts); `dst` must have room for `at + limit`. A Buffer, for its native `indexOf` (a typed array's
 * is a byte loop, twenty times slower).
 */
export function jsonStringUtf8(src: Buffer, dst: Uint8Array, at: number, limit: number): number {
  const n = src.length;
  let w = 0;
  let i = 0;
  while (i < n) {
    const slash = src.indexOf(0x5c, i);
    const runEnd = slash < 0 ? n : slash;
    if (runEnd > i) {
      if (runEnd - i > limit - w) {
        // Cut at a character boundary: back up over continuation bytes (10xxxxxx).
        let cut = i + (limit - w);
        while (cut > i && ((src[cut] as number) & 0xc0) === 0x80) cut--;
        dst.set(new Uint8Array(src.buffer, src.byteOffset + i, cut - i), at + w);
        return w + (cut - i);
      }
      dst.set(new Uint8Array(src.buffer, src.byteOffset + i, runEnd - i), at + w);
      w += runEnd - i;
    }
    if (slash < 0) return w;
    const e = src[slash + 1] as number;
    const single = singleEscape(e);
    if (single >= 0) {
      if (w + 1 > limit) return w;
      dst[at + w++] = single;
      i = slash + 2;
      continue;
    }
    let cp = unicodeEscape(src, slash + 1);
    if (cp < 0) throw new Error('malformed JSON string escape');
    i = slash + 6;
    if (cp >= 0xd800 && cp <= 0xdbff) {
      const low = src[i] === 0x5c ? unicodeEscape(src, i + 1) : -1;
      if (low >= 0xdc00 && low <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        i += 6;
      } else {
        cp = -1;
      }
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
      cp = -1;
    }
    if (cp < 0) {
      if (w + 3 > limit) return w;
      dst[at + w++] = REPLACEMENT[0];
      dst[at + w++] = REPLACEMENT[1];
      dst[at + w++] = REPLACEMENT[2];
    } else if (cp < 0x80) {
      if (w + 1 > limit) return w;
      dst[at + w++] = cp;
    } else if (cp < 0x800) {
      if (w + 2 > limit) return w;
      dst[at + w++] = 0xc0 | (cp >> 6);
      dst[at + w++] = 0x80 | (cp & 0x3f);
    } else if (cp < 0x10000) {
      if (w + 3 > limit) return w;
      dst[at + w++] = 0xe0 | (cp >> 12);
      dst[at + w++] = 0x80 | ((cp >> 6) & 0x3f);
      dst[at + w++] = 0x80 | (cp & 0x3f);
    } else {
      if (w + 4 > limit) return w;
      dst[at + w++] = 0xf0 | (cp >> 18);
      dst[at + w++] = 0x80 | ((cp >> 12) & 0x3f);
      dst[at + w++] = 0x80 | ((cp >> 6) & 0x3f);
      dst[at + w++] = 0x80 | (cp & 0x3f);
    }
  }
  return w;
}
