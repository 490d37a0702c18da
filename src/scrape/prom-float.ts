/**
 * Float parsing for Prometheus text exposition, without allocating on the common path.
 *
 * Accepted forms (the union of Go's `strconv.ParseFloat` as used by Prometheus and Python's `float()`
 * as used by prometheus_client, minus hex floats and digit underscores, which no exporter writes):
 * an optional sign, then either decimal digits with an optional fraction and exponent (`16`, `8.0`,
 * `.5`, `5.`, `4.2421665e+07`, `1E-5`) or, case-insensitively, `inf`, `infinity` or `nan`.
 * No surrounding whitespace.
 */

// Powers of ten that are exact doubles: m * 10^k and m / 10^k are then correctly rounded for any
// integer m below 2^53 (Clinger's fast path), so the result equals Number()'s.
const POW10: readonly number[] = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21,
  1e22,
];

/** Significant digits that always fit in a double's 53-bit mantissa exactly. */
const MAX_FAST_DIGITS = 15;

const CH_0 = 48;
const CH_9 = 57;
const CH_PLUS = 43;
const CH_MINUS = 45;
const CH_DOT = 46;

function lower(c: number): number {
  return c | 0x20;
}

/** Case-insensitive comparison of `text[start, end)` with a lowercase ASCII word. */
function equalsWord(text: string, start: number, end: number, word: string): boolean {
  if (end - start !== word.length) return false;
  for (let i = 0; i < word.length; i++) {
    if (lower(text.charCodeAt(start + i)) !== word.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Parses the float spelled by `text[start, end)`. Returns `undefined` when the range is not a valid
 * float (so that a real `NaN` sample can be told apart from garbage). Requires
 * `0 <= start <= end <= text.length`.
 */
export function parsePromFloatRange(text: string, start: number, end: number): number | undefined {
  let i = start;
  if (i >= end) return undefined;
  let negative = false;
  let c = text.charCodeAt(i);
  if (c === CH_MINUS || c === CH_PLUS) {
    negative = c === CH_MINUS;
    i++;
    if (i >= end) return undefined;
    c = text.charCodeAt(i);
  }
  if ((c < CH_0 || c > CH_9) && c !== CH_DOT) {
    if (equalsWord(text, i, end, 'inf') || equalsWord(text, i, end, 'infinity')) return negative ? -Infinity : Infinity;
    if (equalsWord(text, i, end, 'nan')) return NaN;
    return undefined;
  }

  let mantissa = 0;
  let significant = 0; // digits accumulated into `mantissa`, leading zeros excluded
  let exp10 = 0;
  let digits = 0;
  while (i < end && (c = text.charCodeAt(i)) >= CH_0 && c <= CH_9) {
    if (significant > 0 || c !== CH_0) {
      mantissa = mantissa * 10 + (c - CH_0);
      significant++;
    }
    digits++;
    i++;
  }
  if (i < end && text.charCodeAt(i) === CH_DOT) {
    i++;
    while (i < end && (c = text.charCodeAt(i)) >= CH_0 && c <= CH_9) {
      if (significant > 0 || c !== CH_0) {
        mantissa = mantissa * 10 + (c - CH_0);
        significant++;
      }
      exp10--;
      digits++;
      i++;
    }
  }
  if (digits === 0) return undefined;
  if (i < end && lower(text.charCodeAt(i)) === 0x65 /* e */) {
    i++;
    let expNegative = false;
    c = i < end ? text.charCodeAt(i) : -1;
    if (c === CH_MINUS || c === CH_PLUS) {
      expNegative = c === CH_MINUS;
      i++;
    }
    let e = 0;
    let expDigits = 0;
    while (i < end && (c = text.charCodeAt(i)) >= CH_0 && c <= CH_9) {
      // Clamp: anything this large is 0 or Infinity anyway, and Number() below settles it.
      if (e < 100_000) e = e * 10 + (c - CH_0);
      expDigits++;
      i++;
    }
    if (expDigits === 0) return undefined;
    exp10 += expNegative ? -e : e;
  }
  if (i !== end) return undefined;

  if (mantissa === 0) return negative ? -0 : 0;
  if (significant <= MAX_FAST_DIGITS) {
    if (exp10 === 0) return negative ? -mantissa : mantissa;
    const scale = POW10[exp10 < 0 ? -exp10 : exp10];
    if (scale !== undefined) {
      const v = exp10 < 0 ? mantissa / scale : mantissa * scale;
      return negative ? -v : v;
    }
  }
  // Rare (more than 15 significant digits or a large exponent): the syntax is already checked and is a
  // subset of what Number() accepts, so Number() gives the correctly rounded value.
  return Number(text.slice(start, end));
}

/**
 * Parses a Prometheus/Go/Python float: `8.0`, `4.2421665e+07`, `16`, `-3`, `NaN`, `+Inf`, `-Inf`, `Inf`
 * (also `inf`, `Infinity`, `nan` in any case). Returns NaN for anything else, including surrounding
 * whitespace and the empty string. Never throws.
 */
export function parsePromFloat(text: string): number {
  if (typeof text !== 'string') return NaN;
  return parsePromFloatRange(text, 0, text.length) ?? NaN;
}
