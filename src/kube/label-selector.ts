/**
 * Kubernetes label selectors with the grammar of `labels.Parse` (k8s.io/apimachinery v0.35), which is
 * what llm-d's `--endpoint-selector` accepts:
 *
 *   selector    := requirement ("," requirement)*   (empty or blank = select everything)
 *   requirement := ["!"] KEY
 *                | KEY ("=" | "==" | "!=") [VALUE]
 *                | KEY ("in" | "notin") "(" [VALUE] ("," [VALUE])* ")"
 *                | KEY (">" | "<") INTEGER
 *
 * Keys are `[DNS-1123 subdomain "/"] name` (name ≤ 63 bytes, prefix ≤ 253), values ≤ 63 bytes of
 * `[A-Za-z0-9_.-]` starting and ending alphanumeric (or empty). Whitespace separates tokens.
 * Contracts:
 * - `parseLabelSelector` accepts exactly what `labels.Parse` accepts; its error messages are
 *   `labels.Parse`'s, word for word (including the field paths Go prints, e.g. `<nil>` and
 *   `values[0][key]`). Requirements come back sorted by key (stably), set values sorted and unique.
 * - `formatLabelSelector` writes the canonical form `Selector.String()` writes; parsing it gives the
 *   same selector back. This is what list/watch requests send as `labelSelector`.
 * - `matchesLabels` is `Selector.Matches`: `!=` and `notin` match a missing key; `>`/`<` need the label
 *   to be a 64-bit integer.
 */

/** A selector `--endpoint-selector` (or an API server query) could not parse. */
export class LabelSelectorError extends Error {
  override readonly name = 'LabelSelectorError';
}

/** The operators of `k8s.io/apimachinery/pkg/selection`, spelled as there. */
export type SelectorOperator = '=' | '==' | '!=' | 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';

/** One requirement; `values` is sorted and unique (one value for `=`/`==`/`!=`/`gt`/`lt`, none for `exists`/`!`). */
export interface LabelRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values: readonly string[];
}

/** Requirements that must all hold, sorted by key; empty selects everything. */
export type LabelSelector = readonly LabelRequirement[];

// ---- key and value syntax (content.IsLabelKey / content.IsLabelValue) ----

const NAME_FORMAT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const NAME_RE = new RegExp(`^${NAME_FORMAT}$`);
const VALUE_FORMAT = `(${NAME_FORMAT})?`;
const VALUE_RE = new RegExp(`^${VALUE_FORMAT}$`);
const DNS_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const SUBDOMAIN_FORMAT = `${DNS_LABEL}(\\.${DNS_LABEL})*`;
const SUBDOMAIN_RE = new RegExp(`^${SUBDOMAIN_FORMAT}$`);
const NAME_MAX_BYTES = 63;
const VALUE_MAX_BYTES = 63;
const PREFIX_MAX_BYTES = 253;
const NAME_RULE = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const VALUE_RULE = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const SUBDOMAIN_RULE = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

/** Go's validation.RegexError wording, quirks included ("'a',  or 'b', regex used ..."). */
function regexError(rule: string, format: string, examples: readonly string[]): string {
  return `${rule} (e.g. ${examples.map((e) => `'${e}', `).join(' or ')}regex used for validation is '${format}')`;
}

const tooLong = (max: number): string => `must be no more than ${max} bytes`;
const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Why `key` is not a label key (empty when it is one). */
export function labelKeyErrors(key: string): string[] {
  const parts = key.split('/');
  const errs: string[] = [];
  if (parts.length > 2) {
    return [`a valid label key ${regexError(NAME_RULE, NAME_FORMAT, ['MyName', 'my.name', '123-abc'])} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`];
  }
  const name = parts.length === 2 ? (parts[1] ?? '') : key;
  if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    if (prefix === '') errs.push('prefix part must be non-empty');
    else {
      if (bytes(prefix) > PREFIX_MAX_BYTES) errs.push(`prefix part ${tooLong(PREFIX_MAX_BYTES)}`);
      if (!SUBDOMAIN_RE.test(prefix)) errs.push(`prefix part ${regexError(SUBDOMAIN_RULE, SUBDOMAIN_FORMAT, ['example.com'])}`);
    }
  }
  if (name === '') errs.push('name part must be non-empty');
  else if (bytes(name) > NAME_MAX_BYTES) errs.push(`name part ${tooLong(NAME_MAX_BYTES)}`);
  if (!NAME_RE.test(name)) errs.push(`name part ${regexError(NAME_RULE, NAME_FORMAT, ['MyName', 'my.name', '123-abc'])}`);
  return errs;
}

/** Why `value` is not a label value (empty when it is one). */
export function labelValueErrors(value: string): string[] {
  const errs: string[] = [];
  if (bytes(value) > VALUE_MAX_BYTES) errs.push(tooLong(VALUE_MAX_BYTES));
  if (!VALUE_RE.test(value)) errs.push(regexError(VALUE_RULE, VALUE_FORMAT, ['MyValue', 'my_value', '12345']));
  return errs;
}

/** Go's `%q` (strconv.Quote) for ASCII and the C1 controls; other non-printable runes are kept as they are. */
function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (c === 7) out += '\\a';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c === 11) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c >= 0x80 && c <= 0x9f) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** A field.Invalid error as Go prints it: `<path>: Invalid value: "<v>": <detail>`. */
const invalid = (path: string, value: string, detail: string): string => `${path}: Invalid value: ${goQuote(value)}: ${detail}`;

// ---- lexer ----

type TokenKind = 'end' | 'id' | 'in' | 'notin' | '(' | ')' | ',' | '!' | '=' | '==' | '!=' | '>' | '<';

interface Token {
  readonly kind: TokenKind;
  readonly text: string;
}

const SPECIAL = new Set(['=', '!', '(', ')', ',', '>', '<']);
const BLANK = new Set([' ', '\t', '\r', '\n']);

/**
 * Splits a selector into tokens the way apimachinery's lexer does. Its byte reader returns 0 at the
 * end, so a NUL character acts as an end where a token starts and is swallowed where one ends; that
 * is kept so that every input parses as it would there.
 */
function tokenize(s: string): Token[] {
  const tokens: Token[] = [];
  let p = 0;
  const skipNul = (): void => {
    if (p < s.length && s[p] === '\0') p++;
  };
  for (;;) {
    while (p < s.length && BLANK.has(s[p] ?? '')) p++;
    const c = s[p];
    if (c === undefined || c === '\0') {
      tokens.push({ kind: 'end', text: '' });
      return tokens;
    }
    if (SPECIAL.has(c)) {
      const two = s.slice(p, p + 2);
      const text = two === '==' || two === '!=' ? two : c;
      p += text.length;
      skipNul();
      tokens.push({ kind: text as TokenKind, text });
      continue;
    }
    const start = p;
    while (p < s.length && s[p] !== '\0' && !SPECIAL.has(s[p] ?? '') && !BLANK.has(s[p] ?? '')) p++;
    const text = s.slice(start, p);
    skipNul();
    tokens.push({ kind: text === 'in' || text === 'notin' ? text : 'id', text });
  }
}

// ---- parser ----

const OPERATORS: Partial<Record<TokenKind, SelectorOperator>> = { in: 'in', notin: 'notin', '=': '=', '==': '==', '!=': '!=', '>': 'gt', '<': 'lt' };
const OPERATOR_LIST = 'in, notin, =, ==, !=, gt, lt';

class SelectorParser {
  #i = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  /** The next token; where values are expected, the words `in`/`notin` are plain identifiers. */
  #peek(asValue = true): Token {
    const t = this.tokens[Math.min(this.#i, this.tokens.length - 1)] as Token;
    return asValue && (t.kind === 'in' || t.kind === 'notin') ? { kind: 'id', text: t.text } : t;
  }

  #next(asValue = true): Token {
    const t = this.#peek(asValue);
    this.#i++;
    return t;
  }

  parse(): LabelRequirement[] {
    const out: LabelRequirement[] = [];
    const first = this.#peek();
    if (first.kind === 'end') return out;
    if (first.kind !== 'id' && first.kind !== '!') throw new LabelSelectorError(`found '${first.text}', expected: !, identifier, or 'end of string'`);
    for (;;) {
      out.push(this.#requirement());
      const after = this.#next();
      if (after.kind === 'end') return out;
      if (after.kind !== ',') throw new LabelSelectorError(`found '${after.text}', expected: ',' or 'end of string'`);
      const following = this.#peek();
      if (following.kind !== 'id' && following.kind !== '!') throw new LabelSelectorError(`found '${following.text}', expected: identifier after ','`);
    }
  }

  #requirement(): LabelRequirement {
    try {
      return this.#requirementBody();
    } catch (err) {
      if (err instanceof RequirementError) throw new LabelSelectorError(`unable to parse requirement: ${err.message}`);
      throw err;
    }
  }

  #requirementBody(): LabelRequirement {
    let negated = false;
    let t = this.#next();
    if (t.kind === '!') {
      negated = true;
      t = this.#next();
    }
    if (t.kind !== 'id') throw new RequirementError(`found '${t.text}', expected: identifier`);
    const key = t.text;
    const keyErrs = labelKeyErrors(key);
    if (keyErrs.length > 0) throw new RequirementError(invalid('<nil>', key, keyErrs.join('; ')));
    if (negated) return { key, operator: '!', values: [] };
    const ahead = this.#peek();
    if (ahead.kind === 'end' || ahead.kind === ',') return { key, operator: 'exists', values: [] };
    const opToken = this.#next(false);
    const operator = OPERATORS[opToken.kind];
    if (operator === undefined) throw new RequirementError(`found '${opToken.text}', expected: ${OPERATOR_LIST}`);
    const raw = operator === 'in' || operator === 'notin' ? this.#valueSet() : [this.#exactValue()];
    const values = [...new Set(raw)].sort(compareBytes);
    const errs: string[] = [];
    if (operator === 'gt' || operator === 'lt') {
      values.forEach((v, i) => {
        if (parseInt64(v) === undefined) errs.push(invalid(`values[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"));
      });
    }
    values.forEach((v, i) => {
      const valueErrs = labelValueErrors(v);
      if (valueErrs.length > 0) errs.push(invalid(`values[${i}][${key}]`, v, valueErrs.join('; ')));
    });
    if (errs.length > 0) {
      const unique = [...new Set(errs)];
      throw new RequirementError(unique.length === 1 ? (unique[0] ?? '') : `[${unique.join(', ')}]`);
    }
    return { key, operator, values };
  }

  /** `( v, v, … )`; empty entries are the empty value. */
  #valueSet(): string[] {
    const open = this.#next();
    if (open.kind !== '(') throw new RequirementError(`found '${open.text}' expected: '('`);
    const first = this.#peek();
    if (first.kind === ')') {
      this.#next();
      return [''];
    }
    if (first.kind !== 'id' && first.kind !== ',') throw new RequirementError(`found '${first.text}', expected: ',', ')' or identifier`);
    const values: string[] = [];
    for (;;) {
      const t = this.#next();
      if (t.kind === 'id') {
        values.push(t.text);
        const ahead = this.#peek();
        if (ahead.kind === ')') break;
        if (ahead.kind !== ',') throw new RequirementError(`found '${ahead.text}', expected: ',' or ')'`);
      } else if (t.kind === ',') {
        if (values.length === 0) values.push('');
        const ahead = this.#peek();
        if (ahead.kind === ')') {
          values.push('');
          break;
        }
        if (ahead.kind === ',') values.push('');
      } else {
        throw new RequirementError(`found '${t.text}', expected: ',', or identifier`);
      }
    }
    this.#next(); // the ')'
    return values;
  }

  /** The value after `=`, `==`, `!=`, `>` or `<`; nothing (end or comma) is the empty value. */
  #exactValue(): string {
    const ahead = this.#peek();
    if (ahead.kind === 'end' || ahead.kind === ',') return '';
    const t = this.#next();
    if (t.kind !== 'id') throw new RequirementError(`found '${t.text}', expected: identifier`);
    return t.text;
  }
}

/** A failure inside one requirement (reported with the "unable to parse requirement" prefix). */
class RequirementError extends Error {}

/** Go's sort.Strings order: by UTF-8 bytes (same as UTF-16 order for the characters values allow). */
function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** strconv.ParseInt(s, 10, 64), or undefined when it would fail. */
function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = BigInt(s);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

/** Parses a selector as `labels.Parse` does; throws LabelSelectorError with its message. */
export function parseLabelSelector(text: string): LabelSelector {
  const requirements = new SelectorParser(tokenize(text)).parse();
  // Array.prototype.sort is stable: requirements on one key keep their written order.
  return requirements.sort((a, b) => compareBytes(a.key, b.key));
}

/** The equality selector of a label map (`matchLabels`), keys sorted. */
export function selectorFromLabels(labels: Readonly<Record<string, string>>): LabelSelector {
  return Object.keys(labels)
    .sort(compareBytes)
    .map((key) => ({ key, operator: '=', values: [labels[key] ?? ''] }));
}

const SPELLING: Record<SelectorOperator, string> = { '=': '=', '==': '==', '!=': '!=', in: ' in ', notin: ' notin ', gt: '>', lt: '<', exists: '', '!': '' };

/** The canonical text of a selector (`Selector.String()`), as sent in `labelSelector` query parameters. */
export function formatLabelSelector(selector: LabelSelector): string {
  return selector
    .map((r) => {
      if (r.operator === '!') return `!${r.key}`;
      if (r.operator === 'exists') return r.key;
      const values = r.values.join(',');
      return r.operator === 'in' || r.operator === 'notin' ? `${r.key}${SPELLING[r.operator]}(${values})` : `${r.key}${SPELLING[r.operator]}${values}`;
    })
    .join(',');
}

/** True when every requirement holds for `labels` (an empty selector matches everything). */
export function matchesLabels(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const r of selector) if (!requirementHolds(r, labels)) return false;
  return true;
}

function requirementHolds(r: LabelRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case '=':
    case '==':
    case 'in':
      return value !== undefined && r.values.includes(value);
    case '!=':
    case 'notin':
      return value === undefined || !r.values.includes(value);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      const actual = value === undefined ? undefined : parseInt64(value);
      const bound = r.values.length === 1 ? parseInt64(r.values[0] ?? '') : undefined;
      if (actual === undefined || bound === undefined) return false;
      return r.operator === 'gt' ? actual > bound : actual < bound;
    }
  }
}
