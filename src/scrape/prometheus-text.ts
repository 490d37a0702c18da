/**
 * A Prometheus text-format (0.0.4) parser built for the scrape loop: it reads every model server's
 * `/metrics` every 50 ms but needs only a handful of families out of hundreds of lines.
 *
 * How it stays cheap: lines are found with native `indexOf('\n')`; the metric name at the start of a
 * line is matched in place against a radix trie of the wanted names (one array lookup per branch,
 * char comparisons along edges), so an unwanted line costs a few comparisons and allocates nothing.
 * Labels and values are parsed only for wanted samples: quoted values are found with native
 * `indexOf`, label names are interned, and values of up to 15 significant digits are converted
 * without slicing (see `prom-float.ts`).
 */
import { parsePromFloatRange } from './prom-float.js';

export { parsePromFloat } from './prom-float.js';

/**
 * Called once per sample of a wanted family. `labels` is a fresh object the handler may keep.
 * `timestampMs` is the optional exposition timestamp, else undefined.
 *
 * `labels` has a null prototype (so `labels.constructor` is a label or undefined, never inherited) and
 * holds each label once. Its strings are copies: keeping them does not keep the scrape text alive.
 */
export type SampleHandler = (name: string, labels: Record<string, string>, value: number, timestampMs: number | undefined) => void;

/**
 * What one parse saw. Every line falls in exactly one bucket: comment or blank (counted only in
 * `lines`), `samples`, `skipped` or `malformed`, so `samples + skipped + malformed <= lines`.
 */
export interface ParseStats {
  /** Lines in the text, blank and comment lines included (a final line without `\n` counts). */
  lines: number;
  /** Samples reported to the handler. */
  samples: number;
  /** Sample lines of families that were not wanted; they are not validated. */
  skipped: number;
  /**
   * Lines rejected: a wanted sample that does not parse (bad label set, unterminated quote, duplicate
   * label, bad value or timestamp, trailing garbage), or a line that cannot start with a metric name.
   */
  malformed: number;
}

const CH_TAB = 9;
const CH_LF = 10;
const CH_CR = 13;
const CH_SPACE = 32;
const CH_QUOTE = 34;
const CH_HASH = 35;
const CH_PLUS = 43;
const CH_COMMA = 44;
const CH_MINUS = 45;
const CH_0 = 48;
const CH_9 = 57;
const CH_COLON = 58;
const CH_EQ = 61;
const CH_BACKSLASH = 92;
const CH_UNDERSCORE = 95;
const CH_LBRACE = 123;
const CH_RBRACE = 125;
const CH_BOM = 0xfeff;

interface TrieEdge {
  /** The characters this edge consumes, first one included. */
  readonly label: string;
  readonly node: TrieNode;
}

interface TrieNode {
  /** The wanted name that ends exactly at this node, if any. */
  terminal: string | undefined;
  /** Edges by the char code of their first character (ASCII). */
  readonly ascii: (TrieEdge | undefined)[];
  /** Edges for non-ASCII first characters; metric names in 0.0.4 are ASCII, so usually absent. */
  other: Map<number, TrieEdge> | undefined;
}

interface CompiledWanted {
  readonly names: readonly string[];
  readonly root: TrieNode;
}

function newNode(): TrieNode {
  return { terminal: undefined, ascii: new Array<TrieEdge | undefined>(128).fill(undefined), other: undefined };
}

/** Builds the radix trie of `names`, which all share their first `depth` characters. */
function buildNode(names: readonly string[], depth: number): TrieNode {
  const node = newNode();
  const groups = new Map<number, string[]>();
  for (const name of names) {
    if (name.length === depth) {
      node.terminal = name;
      continue;
    }
    const c = name.charCodeAt(depth);
    const group = groups.get(c);
    if (group === undefined) groups.set(c, [name]);
    else group.push(name);
  }
  for (const [c, group] of groups) {
    const first = group[0] ?? '';
    let end = depth + 1;
    extend: while (end < first.length) {
      const ch = first.charCodeAt(end);
      for (const name of group) if (name.length <= end || name.charCodeAt(end) !== ch) break extend;
      end++;
    }
    const edge: TrieEdge = { label: first.slice(depth, end), node: buildNode(group, end) };
    if (c < 128) node.ascii[c] = edge;
    else (node.other ??= new Map()).set(c, edge);
  }
  return node;
}

// Engine configs keep their wanted set for the process lifetime, so the trie is built once per set.
const compiledSets = new WeakMap<ReadonlySet<string>, CompiledWanted>();

function sameNames(names: readonly string[], wanted: ReadonlySet<string>): boolean {
  if (names.length !== wanted.size) return false;
  for (const n of names) if (!wanted.has(n)) return false;
  return true;
}

function compileWanted(wanted: ReadonlySet<string>): CompiledWanted {
  const hit = compiledSets.get(wanted);
  if (hit !== undefined && sameNames(hit.names, wanted)) return hit;
  const names = [...wanted];
  // The empty name would match any line starting with a blank or a brace.
  const compiled: CompiledWanted = { names, root: buildNode(names.filter((n) => typeof n === 'string' && n.length > 0), 0) };
  compiledSets.set(wanted, compiled);
  return compiled;
}

/** The wanted name that `text` spells at `p`, followed by a name terminator; else undefined. */
function matchName(root: TrieNode, text: string, p: number): string | undefined {
  let node = root;
  for (;;) {
    const c = text.charCodeAt(p);
    if (node.terminal !== undefined && (c === CH_LBRACE || c === CH_SPACE || c === CH_TAB || c === CH_CR || c === CH_LF || Number.isNaN(c))) {
      return node.terminal;
    }
    const edge = c < 128 ? node.ascii[c] : node.other?.get(c);
    if (edge === undefined) return undefined;
    // A char loop: startsWith is a builtin call with argument checks, slower for these short labels.
    const label = edge.label;
    const n = label.length;
    for (let k = 1; k < n; k++) if (text.charCodeAt(p + k) !== label.charCodeAt(k)) return undefined;
    p += n;
    node = edge.node;
  }
}

/** V8 keeps substrings of this many characters or more as views into their source string. */
const MIN_SLICED_LENGTH = 13;

/**
 * A copy of `s` that does not reference the string it was sliced from. A kept label value that is
 * a view would pin the whole scrape text (hundreds of KB) for as long as it lives: with one kept
 * LoRA or cache-info series per endpoint, that is one scrape text per endpoint. Concatenating
 * forces V8 to flatten into a fresh string; the slice then points into that small copy.
 */
function detach(s: string): string {
  return s.length < MIN_SLICED_LENGTH ? s : (' ' + s).slice(1);
}

function isBlank(c: number): boolean {
  return c === CH_SPACE || c === CH_TAB;
}

function isMetricNameStart(c: number): boolean {
  const l = c | 0x20;
  return (l >= 0x61 && l <= 0x7a) || c === CH_UNDERSCORE || c === CH_COLON;
}

function isLabelNameStart(c: number): boolean {
  const l = c | 0x20;
  return (l >= 0x61 && l <= 0x7a) || c === CH_UNDERSCORE;
}

function isLabelNameChar(c: number): boolean {
  return isLabelNameStart(c) || (c >= CH_0 && c <= CH_9);
}

function skipBlanks(text: string, q: number, end: number): number {
  while (q < end && isBlank(text.charCodeAt(q))) q++;
  return q;
}

/** Where the quoted value read by `readEscapedValue` ended (one past its closing quote). */
let escapedValueNext = 0;

/** Offset of the next backslash at or after the label value being read (see parseLabels); reset per parse. */
let nextBackslash = -1;

/**
 * Reads a label value that contains a backslash at `q`; `vStart` is just after the opening quote.
 * `\\`, `\"` and `\n` are unescaped; any other escape is kept verbatim, as Prometheus and
 * prometheus_client do. Returns undefined if the value is not closed before `end`.
 */
function readEscapedValue(text: string, vStart: number, q: number, end: number): string | undefined {
  let out = '';
  let runStart = vStart;
  while (q < end) {
    const c = text.charCodeAt(q);
    if (c === CH_QUOTE) {
      escapedValueNext = q + 1;
      return out + text.slice(runStart, q);
    }
    if (c === CH_BACKSLASH) {
      if (q + 1 >= end) return undefined;
      out += text.slice(runStart, q);
      const n = text.charCodeAt(q + 1);
      if (n === 0x6e) out += '\n';
      else if (n === CH_BACKSLASH) out += '\\';
      else if (n === CH_QUOTE) out += '"';
      else out += text.slice(q, q + 2);
      q += 2;
      runStart = q;
      continue;
    }
    q++;
  }
  return undefined;
}

// Label names repeat on every line (`engine`, `le`, `model_name`): interning them saves an allocation
// per label. A direct-mapped cache keyed by first char, last char and length; a miss just slices.
const LABEL_NAME_CACHE_SIZE = 256;
const labelNameCache: (string | undefined)[] = new Array<string | undefined>(LABEL_NAME_CACHE_SIZE).fill(undefined);

function internLabelName(text: string, start: number, end: number): string {
  const len = end - start;
  const slot = (text.charCodeAt(start) * 31 + text.charCodeAt(end - 1) * 7 + len) & (LABEL_NAME_CACHE_SIZE - 1);
  const cached = labelNameCache[slot];
  if (cached !== undefined && cached.length === len) {
    let k = 0;
    while (k < len && cached.charCodeAt(k) === text.charCodeAt(start + k)) k++;
    if (k === len) return cached;
  }
  const name = detach(text.slice(start, end));
  labelNameCache[slot] = name;
  return name;
}

/** Parses a label set whose `{` is just before `q`; returns the offset after `}`, or -1. */
function parseLabels(text: string, q: number, end: number, labels: Record<string, string>): number {
  for (;;) {
    q = skipBlanks(text, q, end);
    if (q >= end) return -1;
    let c = text.charCodeAt(q);
    if (c === CH_RBRACE) return q + 1;
    if (!isLabelNameStart(c)) return -1;
    const nameStart = q;
    q++;
    while (q < end && isLabelNameChar(text.charCodeAt(q))) q++;
    const name = internLabelName(text, nameStart, q);
    q = skipBlanks(text, q, end);
    if (q >= end || text.charCodeAt(q) !== CH_EQ) return -1;
    q = skipBlanks(text, q + 1, end);
    if (q >= end || text.charCodeAt(q) !== CH_QUOTE) return -1;
    const vStart = q + 1;
    // Native searches instead of a char loop. Each quote search ends at the first quote after the
    // value's start, so successive searches never overlap; the backslash position is remembered
    // and searched again only once passed. Both stay linear in the text over a whole parse.
    const close = text.indexOf('"', vStart);
    if (close === -1 || close >= end) return -1;
    if (nextBackslash < vStart) {
      nextBackslash = text.indexOf('\\', vStart);
      if (nextBackslash === -1) nextBackslash = text.length;
    }
    let value: string | undefined;
    if (nextBackslash > close) {
      value = detach(text.slice(vStart, close));
      q = close + 1;
    } else {
      value = readEscapedValue(text, vStart, nextBackslash, end);
      if (value === undefined) return -1;
      value = detach(value);
      q = escapedValueNext;
    }
    if (labels[name] !== undefined) return -1;
    labels[name] = value;
    q = skipBlanks(text, q, end);
    if (q >= end) return -1;
    c = text.charCodeAt(q);
    if (c === CH_RBRACE) return q + 1;
    if (c !== CH_COMMA) return -1;
    q++;
  }
}

/** Parses an integer millisecond timestamp (optional sign, digits); undefined if invalid. */
function parseTimestamp(text: string, start: number, end: number): number | undefined {
  let i = start;
  let negative = false;
  const s = text.charCodeAt(i);
  if (s === CH_MINUS || s === CH_PLUS) {
    negative = s === CH_MINUS;
    i++;
  }
  if (i >= end) return undefined;
  let v = 0;
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < CH_0 || c > CH_9) return undefined;
    v = v * 10 + (c - CH_0);
  }
  return negative ? 0 - v : v;
}

/**
 * Parses the rest of a wanted sample line (`start` is just after the name, `lineEnd` at its `\n` or
 * the end of the text) and reports it. Returns false, reporting nothing, if the line is malformed.
 */
function parseSample(text: string, name: string, start: number, lineEnd: number, onSample: SampleHandler): boolean {
  let end = lineEnd;
  while (end > start) {
    const c = text.charCodeAt(end - 1);
    if (c !== CH_SPACE && c !== CH_TAB && c !== CH_CR) break;
    end--;
  }
  let q = skipBlanks(text, start, end);
  // Null prototype: a `__proto__` label is a plain own property, and the object starts in dictionary
  // mode. Adding arbitrary label names to `{}` would grow the hidden-class transition tree that every
  // object literal and JSON.parse result in the process shares; a scrape with thousands of distinct
  // label names measurably slowed unrelated JSON.parse until the next full GC.
  const labels = Object.create(null) as Record<string, string>;
  if (q < end && text.charCodeAt(q) === CH_LBRACE) {
    q = parseLabels(text, q + 1, end, labels);
    if (q < 0) return false;
    q = skipBlanks(text, q, end);
  }
  const valueStart = q;
  while (q < end && !isBlank(text.charCodeAt(q))) q++;
  if (q === valueStart) return false;
  const value = parsePromFloatRange(text, valueStart, q);
  if (value === undefined) return false;
  q = skipBlanks(text, q, end);
  let timestampMs: number | undefined;
  if (q < end) {
    const tsStart = q;
    while (q < end && !isBlank(text.charCodeAt(q))) q++;
    timestampMs = parseTimestamp(text, tsStart, q);
    if (timestampMs === undefined) return false;
    if (skipBlanks(text, q, end) !== end) return false;
  }
  // A handler may itself parse another text, which resets the backslash cursor.
  const resume = nextBackslash;
  onSample(name, labels, value, timestampMs);
  nextBackslash = resume;
  return true;
}

function isMetricNameChar(c: number): boolean {
  return isMetricNameStart(c) || (c >= CH_0 && c <= CH_9);
}

const IGNORE_SAMPLE: SampleHandler = () => undefined;

/**
 * True when some line of `text` is a well-formed sample of any family, wanted or not. The slow path
 * that tells a page lacking the wanted families (still exposition text) from one that is not
 * exposition text at all (an HTML error page, random bytes): call it only when a parse found nothing.
 */
export function hasAnySample(text: string): boolean {
  if (typeof text !== 'string') return false;
  const len = text.length;
  nextBackslash = -1;
  let pos = text.charCodeAt(0) === CH_BOM ? 1 : 0;
  while (pos < len) {
    let nl = text.indexOf('\n', pos);
    if (nl === -1) nl = len;
    const p = skipBlanks(text, pos, nl);
    if (p < nl && isMetricNameStart(text.charCodeAt(p))) {
      let q = p + 1;
      while (q < nl && isMetricNameChar(text.charCodeAt(q))) q++;
      const next = text.charCodeAt(q);
      if ((q === nl || next === CH_LBRACE || isBlank(next)) && parseSample(text, '', q, nl, IGNORE_SAMPLE)) return true;
    }
    pos = nl + 1;
  }
  return false;
}

/**
 * Parses Prometheus text exposition (0.0.4) and reports, in document order, every sample whose
 * metric name is in `wanted` (exact sample names: `x_bucket`, `x_sum`, `x_count`, `x_total`,
 * `x_created` are distinct names and are reported only if listed).
 *
 * Accepts LF or CRLF line endings, a missing final newline, a leading BOM, blank lines, any comment
 * (`# HELP`, `# TYPE`, others), leading and trailing blanks, blanks between tokens, labels in any
 * order, `{}`, a trailing comma in a label set, escaped label values (`\\`, `\"`, `\n`; other escapes
 * kept verbatim), Go and Python float forms, `NaN`, `±Inf`, and an optional integer timestamp in ms.
 * A wanted line that does not parse is counted as malformed and not reported; unwanted lines are
 * skipped without validation. The trie for `wanted` is cached per set object (and rebuilt if the
 * set's contents change).
 *
 * Never throws because of its input. Exceptions thrown by `onSample` propagate.
 */
export function parsePrometheusText(text: string, wanted: ReadonlySet<string>, onSample: SampleHandler): ParseStats {
  let lines = 0;
  let samples = 0;
  let skipped = 0;
  let malformed = 0;
  if (typeof text !== 'string' || text.length === 0) return { lines, samples, skipped, malformed };
  const root = compileWanted(wanted).root;
  const len = text.length;
  nextBackslash = -1;
  let pos = text.charCodeAt(0) === CH_BOM ? 1 : 0;
  while (pos < len) {
    let nl = text.indexOf('\n', pos);
    if (nl === -1) nl = len;
    lines++;
    let p = pos;
    let c = text.charCodeAt(p);
    while (c === CH_SPACE || c === CH_TAB) c = text.charCodeAt(++p);
    if (p < nl && c !== CH_HASH && !(c === CH_CR && p + 1 === nl)) {
      const name = matchName(root, text, p);
      if (name === undefined) {
        if (isMetricNameStart(c)) skipped++;
        else malformed++;
      } else if (parseSample(text, name, p + name.length, nl, onSample)) samples++;
      else malformed++;
    }
    pos = nl + 1;
  }
  return { lines, samples, skipped, malformed };
}

/** One equality matcher of a series selector. */
export interface SelectorMatcher {
  label: string;
  value: string;
}

/** A parsed PromQL-style instant selector: a metric name and equality matchers. */
export interface ParsedSeriesSelector {
  name: string;
  matchers: SelectorMatcher[];
}

function selectorError(spec: string, offset: number, what: string): Error {
  return new Error(`invalid series selector ${JSON.stringify(spec)} at offset ${offset}: ${what}`);
}

const SELECTOR_ESCAPES: Readonly<Record<string, string>> = { '\\': '\\', '"': '"', "'": "'", n: '\n', t: '\t', r: '\r' };

function isSelectorBlank(c: number): boolean {
  return c === CH_SPACE || c === CH_TAB || c === CH_LF || c === CH_CR;
}

/**
 * Parses a PromQL-style instant selector as used in engine configs: `name`, `name{label=value}`,
 * `name{label="value",other='x'}`. Values may be double-quoted, single-quoted (escapes `\\`, `\"`,
 * `\'`, `\n`, `\t`, `\r`) or unquoted as llm-d accepts (a run of characters other than blanks, quotes,
 * `,`, `{`, `}`, `=`). Blanks around tokens and a trailing comma are allowed; matchers keep their
 * written order. Throws an Error saying what is wrong and where for an empty spec, an invalid metric or
 * label name, a non-equality matcher (`!=`, `=~`, `!~`), a duplicate label, an unterminated quote or
 * anything after the closing brace.
 */
export function parseSeriesSelector(spec: string): ParsedSeriesSelector {
  if (typeof spec !== 'string') throw new Error('invalid series selector: not a string');
  const end = spec.length;
  let i = 0;
  const skip = (): void => {
    while (i < end && isSelectorBlank(spec.charCodeAt(i))) i++;
  };
  skip();
  if (i >= end) throw selectorError(spec, i, 'empty selector, expected a metric name');
  const nameStart = i;
  if (!isMetricNameStart(spec.charCodeAt(i))) throw selectorError(spec, i, `expected a metric name, found ${JSON.stringify(spec[i])}`);
  while (i < end && (isMetricNameStart(spec.charCodeAt(i)) || (spec.charCodeAt(i) >= CH_0 && spec.charCodeAt(i) <= CH_9))) i++;
  const name = spec.slice(nameStart, i);
  const matchers: SelectorMatcher[] = [];
  skip();
  if (i >= end) return { name, matchers };
  if (spec.charCodeAt(i) !== CH_LBRACE) throw selectorError(spec, i, `unexpected ${JSON.stringify(spec[i])} after metric name (expected "{" or the end)`);
  i++;
  const seen = new Set<string>();
  for (;;) {
    skip();
    if (i >= end) throw selectorError(spec, i, 'missing closing "}"');
    if (spec.charCodeAt(i) === CH_RBRACE) {
      i++;
      break;
    }
    const labelStart = i;
    if (!isLabelNameStart(spec.charCodeAt(i))) throw selectorError(spec, i, `expected a label name, found ${JSON.stringify(spec[i])}`);
    while (i < end && isLabelNameChar(spec.charCodeAt(i))) i++;
    const label = spec.slice(labelStart, i);
    if (label === '__name__') throw selectorError(spec, labelStart, 'write the metric name before "{" instead of matching __name__');
    skip();
    const op = spec[i];
    if (op === '!' || (op === '=' && spec[i + 1] === '~')) {
      throw selectorError(spec, i, `only equality matchers (label=value) are supported, found ${JSON.stringify(spec.slice(i, i + 2))}`);
    }
    if (op !== '=') throw selectorError(spec, i, `expected "=" after label ${JSON.stringify(label)}`);
    i++;
    skip();
    if (i >= end) throw selectorError(spec, i, `missing value for label ${JSON.stringify(label)}`);
    const quote = spec[i];
    let value = '';
    if (quote === '"' || quote === "'") {
      const open = i;
      i++;
      for (;;) {
        if (i >= end) throw selectorError(spec, open, `unterminated quoted value for label ${JSON.stringify(label)}`);
        const ch = spec[i] ?? '';
        if (ch === quote) {
          i++;
          break;
        }
        if (ch === '\\') {
          const escaped = SELECTOR_ESCAPES[spec[i + 1] ?? ''];
          if (escaped === undefined) throw selectorError(spec, i, `unsupported escape ${JSON.stringify(spec.slice(i, i + 2))}`);
          value += escaped;
          i += 2;
          continue;
        }
        value += ch;
        i++;
      }
    } else {
      const valueStart = i;
      while (i < end) {
        const ch = spec[i] ?? '';
        if (isSelectorBlank(spec.charCodeAt(i)) || ch === ',' || ch === '}' || ch === '{' || ch === '=' || ch === '"' || ch === "'") break;
        i++;
      }
      if (i === valueStart) throw selectorError(spec, i, `missing value for label ${JSON.stringify(label)}`);
      value = spec.slice(valueStart, i);
    }
    if (seen.has(label)) throw selectorError(spec, labelStart, `duplicate matcher for label ${JSON.stringify(label)}`);
    seen.add(label);
    matchers.push({ label, value });
    skip();
    const sep = spec[i];
    if (sep === ',') {
      i++;
      continue;
    }
    if (sep === '}') {
      i++;
      break;
    }
    throw selectorError(spec, i, i >= end ? 'missing closing "}"' : `expected "," or "}", found ${JSON.stringify(sep)}`);
  }
  skip();
  if (i < end) throw selectorError(spec, i, `unexpected ${JSON.stringify(spec.slice(i, i + 10))} after "}"`);
  return { name, matchers };
}
