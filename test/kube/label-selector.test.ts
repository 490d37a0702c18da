/**
 * `--endpoint-selector`'s parser against Kubernetes' `labels.Parse` (k8s.io/apimachinery v0.35.7):
 * hand-written cases (those of apimachinery's own selector tests, and error messages traced through
 * its parser), then properties checked on generated selectors.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatLabelSelector,
  labelKeyErrors,
  labelValueErrors,
  LabelSelectorError,
  matchesLabels,
  parseLabelSelector,
  selectorFromLabels,
  type LabelRequirement,
  type SelectorOperator,
} from '../../src/kube/label-selector.js';

const NAME_RULE = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const VALUE_RULE = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const SUBDOMAIN_RULE = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

const req = (key: string, operator: SelectorOperator, values: string[] = []): LabelRequirement => ({ key, operator, values });

function parseError(text: string): string {
  try {
    parseLabelSelector(text);
  } catch (err) {
    expect(err).toBeInstanceOf(LabelSelectorError);
    return (err as Error).message;
  }
  throw new Error(`"${text}" parsed`);
}

describe('label selector: the cases of apimachinery\'s selector tests', () => {
  it('good strings format back to themselves without blanks (TestSelectorParse)', () => {
    for (const text of ['x=a,y=b,z=c', '', 'x!=a,y=b', 'x=', 'x= ', 'x=,z= ', 'x= ,z= ', '!x', 'x>1', 'x>1,z<5']) {
      expect(formatLabelSelector(parseLabelSelector(text)), text).toBe(text.replaceAll(' ', ''));
    }
  });

  it('set-based requirements parse into sorted, de-duplicated values (TestSetSelectorParser)', () => {
    const cases: [string, LabelRequirement[]][] = [
      ['', []],
      ['\rx', [req('x', 'exists')]],
      ['this-is-a-dns.domain.com/key-with-dash', [req('this-is-a-dns.domain.com/key-with-dash', 'exists')]],
      ['this-is-another-dns.domain.com/key-with-dash in (so,what)', [req('this-is-another-dns.domain.com/key-with-dash', 'in', ['so', 'what'])]],
      ['0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)', [req('0.1.2.domain/99', 'notin', ['10.10.100.1', 'tick.tack.clock'])]],
      ['foo  in\t (abc)', [req('foo', 'in', ['abc'])]],
      ['x notin\n (abc)', [req('x', 'notin', ['abc'])]],
      ['x  notin\t\t\t(abc,def)', [req('x', 'notin', ['abc', 'def'])]],
      ['x in (abc,)', [req('x', 'in', ['', 'abc'])]],
      ['x in (abc,abc)', [req('x', 'in', ['abc'])]],
      ['x in ()', [req('x', 'in', [''])]],
      ['x in (a,,)', [req('x', 'in', ['', 'a'])]],
      ['x in (a,,,,,,)', [req('x', 'in', ['', 'a'])]],
      ['x in (a,,a,,a,,a,,)', [req('x', 'in', ['', 'a'])]],
      ['x notin (abc,,def),bar,z in (),w', [req('bar', 'exists'), req('w', 'exists'), req('x', 'notin', ['', 'abc', 'def']), req('z', 'in', [''])]],
      ['x,y in (a)', [req('x', 'exists'), req('y', 'in', ['a'])]],
      ['x=a,y!=b,z in (h,i,j)', [req('x', '=', ['a']), req('y', '!=', ['b']), req('z', 'in', ['h', 'i', 'j'])]],
      ['x>1', [req('x', 'gt', ['1'])]],
      ['x<7', [req('x', 'lt', ['7'])]],
      ['x notin ( )', [req('x', 'notin', [''])]],
      ['x notin (, a)', [req('x', 'notin', ['', 'a'])]],
      ['a ', [req('a', 'exists')]],
      ['a in (x,y,notin, z,in)', [req('a', 'in', ['in', 'notin', 'x', 'y', 'z'])]],
      ['in in (in)', [req('in', 'in', ['in'])]],
      ['x==a', [req('x', '==', ['a'])]],
    ];
    for (const [text, expected] of cases) expect(parseLabelSelector(text), JSON.stringify(text)).toEqual(expected);
  });

  it('formats as Selector.String() (TestToString)', () => {
    expect(formatLabelSelector([req('x', 'in', ['abc', 'def']), req('y', 'notin', ['jkl']), req('z', 'exists')])).toBe('x in (abc,def),y notin (jkl),z');
    expect(formatLabelSelector([req('x', 'notin', ['abc', 'def']), req('y', '!=', ['jkl']), req('z', '!')])).toBe('x notin (abc,def),y!=jkl,!z');
    expect(formatLabelSelector([req('x', 'notin', ['abc']), req('y', 'in', ['jkl', 'mno']), req('z', 'notin', [''])])).toBe('x notin (abc),y in (jkl,mno),z notin ()');
    expect(formatLabelSelector([req('x', '=', ['abc']), req('y', '==', ['jkl']), req('z', '!=', ['a']), req('z', 'exists')])).toBe('x=abc,y==jkl,z!=a,z');
    expect(formatLabelSelector([req('x', 'gt', ['2']), req('y', 'lt', ['8']), req('z', 'exists')])).toBe('x>2,y<8,z');
  });

  it('matches as Selector.Matches (TestRequirementSelectorMatching, TestSelectorMatches)', () => {
    const cases: [Record<string, string>, string, boolean][] = [
      [{ x: 'foo', y: 'baz' }, 'x in (foo),y notin (alpha)', true],
      [{ x: 'foo', y: 'baz' }, 'x in (foo),y in (alpha)', false],
      [{ y: '' }, 'x notin (),y', true],
      [{ y: '' }, '!x,y', true],
      [{ y: '' }, 'x notin (),!y', false],
      [{ y: 'baz' }, 'x in ()', false],
      [{ z: '2' }, 'z>1', true],
      [{ z: 'v2' }, 'z>1', false],
      [{ z: '2' }, 'z<1', false],
      [{ z: '-3' }, 'z<1', true],
      [{ foo: 'bar' }, 'foo=bar', true],
      [{ foo: 'bar' }, 'foo!=bar', false],
      [{ foo: 'bar' }, 'baz!=bar', true],
      [{ foo: 'bar' }, 'foo==bar', true],
      [{ foo: 'bar', baz: 'blah' }, 'foo=bar,baz=blah', true],
      [{ foo: 'bar', baz: 'blah' }, 'foo=bar,baz=blahblah', false],
      [{ foo: 'bar' }, '', true],
      [{ foo: 'bar' }, 'foo', true],
      [{ foo: 'bar' }, '!foo', false],
      [{}, 'foo notin (bar)', true],
      [{}, 'foo in (bar)', false],
      [{ constructor: 'x' }, 'constructor', true],
      [{}, 'constructor', false],
    ];
    for (const [labels, text, want] of cases) expect(matchesLabels(parseLabelSelector(text), labels), `${text} on ${JSON.stringify(labels)}`).toBe(want);
  });
});

describe('label selector: errors word for word as labels.Parse', () => {
  it('reports the token it did not expect', () => {
    const cases: [string, string][] = [
      ['x,,y', "found ',', expected: identifier after ','"],
      [',x,y', "found ',', expected: !, identifier, or 'end of string'"],
      ['(', "found '(', expected: !, identifier, or 'end of string'"],
      ['a in (xyz),', "found '', expected: identifier after ','"],
      ['a in (xyz)b notin ()', "found 'b', expected: ',' or 'end of string'"],
      ['!x=a', "found '=', expected: ',' or 'end of string'"],
      ['x==a==b', "found '==', expected: ',' or 'end of string'"],
      ['x nott in (y)', "unable to parse requirement: found 'nott', expected: in, notin, =, ==, !=, gt, lt"],
      ['a (', "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt"],
      ['a!', "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt"],
      ['a>=1', "unable to parse requirement: found '=', expected: identifier"],
      ['a in (xyz abc)', "unable to parse requirement: found 'abc', expected: ',' or ')'"],
      ['a notin(', "unable to parse requirement: found '', expected: ',', ')' or identifier"],
      ['a in', "unable to parse requirement: found '' expected: '('"],
      ['a in (b,', "unable to parse requirement: found '', expected: ',', or identifier"],
      ['a in (b=', "unable to parse requirement: found '=', expected: ',' or ')'"],
      ['a=(b)', "unable to parse requirement: found '(', expected: identifier"],
      ['!', "unable to parse requirement: found '', expected: identifier"],
      ['!!a', "unable to parse requirement: found '!', expected: identifier"],
    ];
    for (const [text, message] of cases) expect(parseError(text), text).toBe(message);
  });

  it('validates keys: name syntax and 63 bytes, DNS-subdomain prefix of 253 bytes, one slash', () => {
    const cases: [string, string][] = [
      ['-x=1', `unable to parse requirement: <nil>: Invalid value: "-x": name part ${NAME_RULE}`],
      ['a/b/c', `unable to parse requirement: <nil>: Invalid value: "a/b/c": a valid label key ${NAME_RULE} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`],
      ['/a', 'unable to parse requirement: <nil>: Invalid value: "/a": prefix part must be non-empty'],
      ['a/', `unable to parse requirement: <nil>: Invalid value: "a/": name part must be non-empty; name part ${NAME_RULE}`],
      ['Example.com/a in (b)', `unable to parse requirement: <nil>: Invalid value: "Example.com/a": prefix part ${SUBDOMAIN_RULE}`],
      [`${'k'.repeat(64)}`, `unable to parse requirement: <nil>: Invalid value: "${'k'.repeat(64)}": name part must be no more than 63 bytes`],
      [`${'p'.repeat(254)}/k`, `unable to parse requirement: <nil>: Invalid value: "${'p'.repeat(254)}/k": prefix part must be no more than 253 bytes`],
      ['café=1', `unable to parse requirement: <nil>: Invalid value: "café": name part ${NAME_RULE}`],
      ['a"b', `unable to parse requirement: <nil>: Invalid value: "a\\"b": name part ${NAME_RULE}`],
    ];
    for (const [text, message] of cases) expect(parseError(text), text).toBe(message);
    expect(labelKeyErrors('k'.repeat(63))).toEqual([]);
    expect(labelKeyErrors(`${'p'.repeat(253)}/${'k'.repeat(63)}`)).toEqual([]);
    expect(labelKeyErrors('llm-d.ai/role')).toEqual([]);
  });

  it('validates values (63 bytes, syntax) with the field path values[i][key], all bad values at once', () => {
    const long = 'v'.repeat(64);
    const cases: [string, string][] = [
      ['x=a||y=b', `unable to parse requirement: values[0][x]: Invalid value: "a||y": ${VALUE_RULE}`],
      [`x=${long}`, `unable to parse requirement: values[0][x]: Invalid value: "${long}": must be no more than 63 bytes`],
      [`x=-${long}`, `unable to parse requirement: values[0][x]: Invalid value: "-${long}": must be no more than 63 bytes; ${VALUE_RULE}`],
      ['x in (ok,-b,-a)', `unable to parse requirement: [values[0][x]: Invalid value: "-a": ${VALUE_RULE}, values[1][x]: Invalid value: "-b": ${VALUE_RULE}]`],
      ['x<a', `unable to parse requirement: values[0]: Invalid value: "a": for 'Gt', 'Lt' operators, the value must be an integer`],
      ['x>', `unable to parse requirement: values[0]: Invalid value: "": for 'Gt', 'Lt' operators, the value must be an integer`],
      ['x>-1', `unable to parse requirement: values[0][x]: Invalid value: "-1": ${VALUE_RULE}`],
      ['x>9223372036854775808', `unable to parse requirement: values[0]: Invalid value: "9223372036854775808": for 'Gt', 'Lt' operators, the value must be an integer`],
      ['x>1.5', `unable to parse requirement: values[0]: Invalid value: "1.5": for 'Gt', 'Lt' operators, the value must be an integer`],
    ];
    for (const [text, message] of cases) expect(parseError(text), text).toBe(message);
    expect(parseLabelSelector('x>9223372036854775807')).toEqual([req('x', 'gt', ['9223372036854775807'])]);
    expect(labelValueErrors('v'.repeat(63))).toEqual([]);
    expect(labelValueErrors('')).toEqual([]);
  });

  it('accepts what Kubernetes accepts even when it selects nothing: repeated keys keep their written order', () => {
    expect(parseLabelSelector('b=1,a=2,a!=3')).toEqual([req('a', '=', ['2']), req('a', '!=', ['3']), req('b', '=', ['1'])]);
    expect(matchesLabels(parseLabelSelector('a=1,a=2'), { a: '1' })).toBe(false);
  });
});

// ---- properties ----

const KEY_NAME = fc.stringMatching(/^[A-Za-z0-9]([-A-Za-z0-9_.]{0,20}[A-Za-z0-9])?$/);
const PREFIX = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,8}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,8}[a-z0-9])?){0,2}$/);
const KEY = fc.oneof(KEY_NAME, fc.tuple(PREFIX, KEY_NAME).map(([p, n]) => `${p}/${n}`));
const VALUE = fc.oneof(fc.constant(''), KEY_NAME, fc.constantFrom('in', 'notin'));
const INT = fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }).map(String);
const BLANK = fc.stringMatching(/^[ \t\r\n]{0,2}$/);

/** A requirement as a model, and one of the ways to write it. */
const REQUIREMENT = fc.oneof(
  fc.record({ key: KEY, operator: fc.constantFrom<SelectorOperator>('=', '==', '!='), values: VALUE.map((v) => [v]) }),
  fc.record({ key: KEY, operator: fc.constantFrom<SelectorOperator>('in', 'notin'), values: fc.array(VALUE, { minLength: 1, maxLength: 4 }) }),
  fc.record({ key: KEY, operator: fc.constantFrom<SelectorOperator>('gt', 'lt'), values: INT.map((v) => [v]) }),
  fc.record({ key: KEY, operator: fc.constantFrom<SelectorOperator>('exists', '!'), values: fc.constant<string[]>([]) }),
);

function write(r: LabelRequirement, b: string[]): string {
  const s = (i: number): string => b[i % b.length] ?? '';
  switch (r.operator) {
    case 'exists':
      return `${s(0)}${r.key}${s(1)}`;
    case '!':
      return `${s(0)}!${s(1)}${r.key}${s(2)}`;
    case 'in':
    case 'notin':
      return `${s(0)}${r.key} ${s(1)}${r.operator} ${s(2)}(${r.values.map((v, i) => `${s(i + 3)}${v}${s(i + 4)}`).join(',')})${s(5)}`;
    default: {
      const op = r.operator === 'gt' ? '>' : r.operator === 'lt' ? '<' : r.operator;
      // A value that is a keyword must be separated from nothing special: the lexer splits on blanks and symbols only.
      return `${s(0)}${r.key}${s(1)}${op}${s(2)}${r.values[0] ?? ''}${s(3)}`;
    }
  }
}

/** What labels.Parse makes of a model: values sorted and unique, requirements stably sorted by key. */
function normalized(model: readonly LabelRequirement[]): LabelRequirement[] {
  const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
  return model.map((r) => ({ ...r, values: [...new Set(r.values)].sort(byBytes) })).sort((a, b) => byBytes(a.key, b.key));
}

/** An independent reading of Selector.Matches, per operator, on the model. */
function modelMatches(model: readonly LabelRequirement[], labels: Record<string, string>): boolean {
  return model.every((r) => {
    const v = Object.hasOwn(labels, r.key) ? labels[r.key] : undefined;
    const inSet = v !== undefined && r.values.includes(v);
    if (r.operator === 'exists') return v !== undefined;
    if (r.operator === '!') return v === undefined;
    if (r.operator === '=' || r.operator === '==' || r.operator === 'in') return inSet;
    if (r.operator === '!=' || r.operator === 'notin') return !inSet;
    if (v === undefined || !/^[+-]?\d+$/.test(v)) return false;
    const n = BigInt(v);
    if (n > 2n ** 63n - 1n || n < -(2n ** 63n)) return false;
    return r.operator === 'gt' ? n > BigInt(r.values[0] ?? '0') : n < BigInt(r.values[0] ?? '0');
  });
}

describe('label selector properties', () => {
  it('any written form of a valid selector parses to its model; formatting and parsing again is a fixed point', () => {
    fc.assert(
      fc.property(fc.array(REQUIREMENT, { maxLength: 6 }), fc.array(BLANK, { minLength: 1, maxLength: 6 }), (model, blanks) => {
        const text = model.map((r) => write(r, blanks)).join(',');
        const parsed = parseLabelSelector(text);
        expect(parsed).toEqual(normalized(model));
        const canonical = formatLabelSelector(parsed);
        expect(parseLabelSelector(canonical)).toEqual(parsed);
        expect(formatLabelSelector(parseLabelSelector(canonical))).toBe(canonical);
      }),
      { numRuns: 400 },
    );
  });

  it('matching agrees with the operators\' definitions on labels drawn from the same keys and values', () => {
    const labels = fc.dictionary(fc.oneof(KEY, fc.constantFrom('a', 'b')), fc.oneof(VALUE, INT, fc.constantFrom('-5', '+5', '99999999999999999999')), { maxKeys: 6 });
    fc.assert(
      fc.property(fc.array(REQUIREMENT, { maxLength: 4 }), fc.array(labels, { minLength: 1, maxLength: 4 }), (model, labelSets) => {
        const selector = parseLabelSelector(model.map((r) => write(r, [''])).join(','));
        for (const l of labelSets) {
          // Labels that carry some of the selector's own keys and values, so that matches happen.
          const mixed = { ...l, ...Object.fromEntries(model.filter((_, i) => i % 2 === 0).map((r) => [r.key, r.values[0] ?? ''])) };
          for (const candidate of [l, mixed]) expect(matchesLabels(selector, candidate)).toBe(modelMatches(model, candidate));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('arbitrary text either parses (and formats to a fixed point) or fails with a LabelSelectorError', () => {
    const alphabet = fc.constantFrom('a', 'b', 'Z', '0', '9', '-', '_', '.', '/', '=', '!', '(', ')', ',', '<', '>', ' ', '\t', 'in', 'notin', '"', 'é', '\0');
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 24 }), (parts) => {
        const text = parts.join('');
        let parsed;
        try {
          parsed = parseLabelSelector(text);
        } catch (err) {
          expect(err).toBeInstanceOf(LabelSelectorError);
          return;
        }
        const canonical = formatLabelSelector(parsed);
        expect(parseLabelSelector(canonical)).toEqual(parsed);
      }),
      { numRuns: 2000 },
    );
  });

  it('a key is valid exactly when it is [DNS-1123 subdomain ≤ 253 "/"] name ≤ 63 (an independent regex)', () => {
    const name = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
    const prefix = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
    const independent = (k: string): boolean => {
      const parts = k.split('/');
      if (parts.length > 2) return false;
      const [p, n] = parts.length === 2 ? [parts[0] ?? '', parts[1] ?? ''] : [undefined, k];
      return name.test(n) && (p === undefined || (p.length <= 253 && prefix.test(p)));
    };
    const chars = fc.constantFrom('a', 'Z', '0', '-', '_', '.', '/', 'é', ' ');
    fc.assert(
      fc.property(fc.oneof(KEY, fc.array(chars, { maxLength: 70 }).map((c) => c.join('')), fc.tuple(PREFIX, fc.integer({ min: 60, max: 70 })).map(([p, n]) => `${p}/${'k'.repeat(n)}`)), (k) => {
        expect(labelKeyErrors(k).length === 0).toBe(independent(k));
      }),
      { numRuns: 1000 },
    );
  });

  it('a label map becomes the equality selector InferencePool matchLabels means', () => {
    fc.assert(
      fc.property(fc.dictionary(KEY, VALUE, { maxKeys: 5 }), fc.dictionary(KEY, VALUE, { maxKeys: 5 }), (wanted, other) => {
        const selector = selectorFromLabels(wanted);
        expect(parseLabelSelector(formatLabelSelector(selector))).toEqual(selector);
        expect(matchesLabels(selector, { ...other, ...wanted })).toBe(true);
        const expected = Object.entries(wanted).every(([k, v]) => Object.hasOwn(other, k) && other[k] === v);
        expect(matchesLabels(selector, other)).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });
});
