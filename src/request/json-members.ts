/**
 * Validates a JSON document given as UTF-8 bytes and locates some of its top-level members, without
 * decoding anything: the parser's fast path, where `JSON.parse(bytes.toString('utf8'))` would make a
 * string of the whole body and another of the prompt (above 128 KiB each, a large-object allocation
 * that costs about a millisecond here).
 *
 * `scan` accepts exactly the documents JSON.parse accepts whose top level is an object nesting at most
 * `maxDepth` levels and whose top-level member names contain no escape; anything else returns false
 * and is left to JSON.parse. Byte-level rules match JSON.parse over the decoded text: bytes ≥ 0x80
 * are only valid inside strings (where invalid UTF-8 decodes to U+FFFD), control characters never are.
 * Synchronous; one document at a time.
 */
import { StringRunScanner } from './string-run-scanner.js';

const OBJECT = 1;
const ARRAY = 2;

// A member's slots in `#spans`.
const START = 0;
const END = 1;
const ESCAPED = 2;
const SLOTS = 3;

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66));
}

function skipSpace(b: Uint8Array, i: number): number {
  for (;;) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
}

/** The end of the literal `word` (ASCII) at `i`, or −1. */
function literal(b: Uint8Array, i: number, word: string): number {
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word.charCodeAt(k)) return -1;
  return i + word.length;
}

/** The end of the number at `i` (-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?), or −1. */
function number(b: Uint8Array, i: number): number {
  if (b[i] === 0x2d) i++;
  if (b[i] === 0x30) i++;
  else if (isDigit(b[i]) && b[i] !== 0x30) while (isDigit(b[i])) i++;
  else return -1;
  if (b[i] === 0x2e) {
    i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  if (b[i] === 0x65 || b[i] === 0x45) {
    i++;
    if (b[i] === 0x2b || b[i] === 0x2d) i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  return i;
}

/** Validates and locates chosen top-level members of JSON objects (see the module doc). */
export class JsonMemberScanner {
  readonly #names: readonly Uint8Array[];
  readonly #maxDepth: number;
  readonly #spans: Int32Array;
  readonly #kinds: Uint8Array;
  readonly #runs = new StringRunScanner();
  #escaped = false;

  /** @param names the member names to locate (ASCII); `start(k)` and friends answer for `names[k]` */
  constructor(names: readonly string[], maxDepth: number) {
    this.#names = names.map((n) => Uint8Array.from(n, (c) => c.charCodeAt(0)));
    this.#maxDepth = maxDepth;
    this.#spans = new Int32Array(names.length * SLOTS);
    this.#kinds = new Uint8Array(maxDepth + 2);
  }

  /** Where member k's value starts after a successful scan (the last of that name, as JSON.parse keeps), −1 when absent. */
  start(k: number): number {
    return this.#spans[k * SLOTS + START] as number;
  }

  /** Where member k's value ends (exclusive). */
  end(k: number): number {
    return this.#spans[k * SLOTS + END] as number;
  }

  /** True when member k's value is a string containing an escape. */
  escaped(k: number): boolean {
    return this.#spans[k * SLOTS + ESCAPED] === 1;
  }

  /** True when `b` is a JSON object JSON.parse accepts within the module doc's limits; then the members are located. */
  scan(b: Uint8Array): boolean {
    this.#spans.fill(-1);
    this.#runs.reset(b);
    const n = b.length;
    const kinds = this.#kinds;
    let i = skipSpace(b, 0);
    if (b[i] !== 0x7b) return false;
    i = skipSpace(b, i + 1);
    if (b[i] === 0x7d) return skipSpace(b, i + 1) === n;
    let depth = 1;
    kinds[1] = OBJECT;
    // The wanted top-level member whose value is being read, and where that value began.
    let member = -1;
    let memberStart = 0;
    let expectKey = true;
    let afterValue = false;
    for (;;) {
      if (expectKey) {
        if (b[i] !== 0x22) return false;
        this.#escaped = false;
        const keyStart = i + 1;
        i = this.#string(b, i);
        if (i < 0) return false;
        if (depth === 1) {
          if (this.#escaped) return false;
          member = this.#lookup(b, keyStart, i - 1);
        }
        i = skipSpace(b, i);
        if (b[i] !== 0x3a) return false;
        i = skipSpace(b, i + 1);
        if (depth === 1) memberStart = i;
        expectKey = false;
      }
      if (!afterValue) {
        // A value at i.
        const c = b[i];
        this.#escaped = false;
        if (c === 0x22) {
          i = this.#string(b, i);
        } else if (c === 0x7b || c === 0x5b) {
          if (++depth > this.#maxDepth) return false;
          kinds[depth] = c === 0x7b ? OBJECT : ARRAY;
          i = skipSpace(b, i + 1);
          const close = c === 0x7b ? 0x7d : 0x5d;
          if (b[i] === close) {
            i++;
            depth--;
          } else {
            expectKey = c === 0x7b;
            continue;
          }
        } else if (c === 0x74) {
          i = literal(b, i, 'true');
        } else if (c === 0x66) {
          i = literal(b, i, 'false');
        } else if (c === 0x6e) {
          i = literal(b, i, 'null');
        } else {
          i = number(b, i);
        }
        if (i < 0) return false;
      }
      afterValue = false;
      // A value just ended at i; `depth` is the container it belongs to.
      if (depth === 1 && member >= 0) {
        const s = member * SLOTS;
        this.#spans[s + START] = memberStart;
        this.#spans[s + END] = i;
        this.#spans[s + ESCAPED] = this.#escaped && b[memberStart] === 0x22 ? 1 : 0;
        member = -1;
      }
      i = skipSpace(b, i);
      const c = b[i];
      if (c === 0x2c) {
        i = skipSpace(b, i + 1);
        expectKey = kinds[depth] === OBJECT;
        continue;
      }
      if (c !== (kinds[depth] === OBJECT ? 0x7d : 0x5d)) return false;
      i++;
      if (--depth === 0) return skipSpace(b, i) === n;
      afterValue = true;
    }
  }

  /** The end of the string at `i` (its opening quote), or −1; sets `#escaped` when it holds an escape. */
  #string(b: Uint8Array, i: number): number {
    const n = b.length;
    let p = i + 1;
    for (;;) {
      const at = this.#runs.stop(p);
      if (at >= n) return -1;
      const c = b[at];
      if (c === 0x22) return at + 1;
      if (c !== 0x5c) return -1; // a raw control character
      this.#escaped = true;
      const e = b[at + 1];
      if (e === 0x75) {
        if (!isHex(b[at + 2]) || !isHex(b[at + 3]) || !isHex(b[at + 4]) || !isHex(b[at + 5])) return -1;
        p = at + 6;
      } else if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        p = at + 2;
      } else {
        return -1;
      }
    }
  }

  /** The index of the wanted name spelled by b[from, to), or −1. */
  #lookup(b: Uint8Array, from: number, to: number): number {
    const names = this.#names;
    outer: for (let k = 0; k < names.length; k++) {
      const name = names[k] as Uint8Array;
      if (name.length !== to - from) continue;
      for (let j = 0; j < name.length; j++) if (b[from + j] !== name[j]) continue outer;
      return k;
    }
    return -1;
  }
}
