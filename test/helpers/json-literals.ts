import fc from 'fast-check';

/** Any UTF-16 code unit, lone surrogates included, weighted towards printable ASCII. */
const unit = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
  { weight: 1, arbitrary: fc.constantFrom(0x0a, 0x22, 0x5c, 0x2f, 0x09, 0xe9, 0x20ac, 0xd83d, 0xde00, 0xdbff, 0xdc00) },
);

/** Strings of arbitrary code units: surrogate pairs, lone halves and characters JSON must escape included. */
export const anyText = fc.array(unit, { maxLength: 120 }).map((units) => String.fromCharCode(...units));

const SHORT: Readonly<Record<number, string>> = { 0x22: '\\"', 0x5c: '\\\\', 0x2f: '\\/', 0x08: '\\b', 0x0c: '\\f', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t' };

const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

/**
 * A JSON string literal's content (between the quotes) spelling `text`, choosing per character (from
 * `choices`, cycled) among the spellings JSON.parse accepts: raw UTF-8 where JSON allows it, `\uXXXX`
 * in lower or upper case, or the short escape. Lone surrogates are always escaped (they have no UTF-8).
 */
export function jsonLiteralOf(text: string, choices: readonly number[]): Buffer {
  const parts: Buffer[] = [];
  let k = 0;
  const unicode = (c: number, pick: number): string => {
    const hex = c.toString(16).padStart(4, '0');
    return `\\u${pick % 4 === 0 ? hex.toUpperCase() : hex}`;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const pick = choices.length === 0 ? 0 : (choices[k++ % choices.length] as number);
    if (isHigh(c) && i + 1 < text.length && isLow(text.charCodeAt(i + 1))) {
      const raw = pick % 3 === 0;
      parts.push(Buffer.from(raw ? text.slice(i, i + 2) : unicode(c, pick) + unicode(text.charCodeAt(i + 1), pick + 1), raw ? 'utf8' : 'latin1'));
      i++;
      continue;
    }
    const mustEscape = c < 0x20 || c === 0x22 || c === 0x5c || isHigh(c) || isLow(c);
    if (mustEscape || pick % 3 === 1) {
      const short = SHORT[c];
      parts.push(Buffer.from(short !== undefined && pick % 2 === 0 ? short : unicode(c, pick), 'latin1'));
    } else {
      parts.push(Buffer.from(text[i] as string, 'utf8'));
    }
  }
  return Buffer.concat(parts);
}
