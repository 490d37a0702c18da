import { describe, expect, it } from 'vitest';
import { formatDuration, formatUsage, parseDuration, parseFlags, UsageError, type FlagSpec } from '../../../src/cli/flags.js';

const SPECS: FlagSpec[] = [
  { name: 'grpc-port', kind: 'int', default: 9002, help: '' },
  { name: 'secure-serving', kind: 'bool', default: true, help: '' },
  { name: 'config-text', kind: 'string', default: '', help: '' },
  { name: 'timeout', kind: 'duration', default: 5000, help: '' },
  { name: 'ports', kind: 'list', default: [], help: '' },
  { name: 'v', kind: 'int', default: 2, help: '' },
];

describe('parseFlags (Go flag semantics)', () => {
  it('accepts --flag=value, --flag value, -flag and defaults', () => {
    const { values, positional, given } = parseFlags(SPECS, ['--grpc-port=9100', '-config-text', 'a: b', '-v=4', '--', 'after']);
    expect(values).toMatchObject({ 'grpc-port': 9100, 'config-text': 'a: b', v: 4, 'secure-serving': true, timeout: 5000 });
    expect(positional).toEqual(['after']);
    expect([...given].sort()).toEqual(['config-text', 'grpc-port', 'v']);
  });

  it('treats a bare bool flag as true and takes only =value for bools', () => {
    expect(parseFlags(SPECS, ['--secure-serving=false']).values['secure-serving']).toBe(false);
    expect(parseFlags(SPECS, ['--secure-serving']).values['secure-serving']).toBe(true);
  });

  it('rejects stray words: `--secure-serving false` is an error that shows the =false form, not TLS left on', () => {
    expect(() => parseFlags(SPECS, ['--secure-serving', 'false'])).toThrow(UsageError);
    expect(() => parseFlags(SPECS, ['--secure-serving', 'false'])).toThrow('a boolean flag takes its value as --secure-serving=false');
    expect(() => parseFlags(SPECS, ['--grpc-port=1', 'extra'])).toThrow('unexpected argument "extra"');
    expect(() => parseFlags(SPECS, ['serve'])).toThrow(UsageError);
  });

  it('takes ports as integers from 0 to 65535 only', () => {
    const specs: FlagSpec[] = [{ name: 'metrics-port', kind: 'port', default: 9090, help: '' }];
    expect(parseFlags(specs, ['--metrics-port=0']).values['metrics-port']).toBe(0);
    expect(parseFlags(specs, ['--metrics-port', '65535']).values['metrics-port']).toBe(65535);
    for (const bad of ['65536', '-1', '80a', '1e3', '', '99999999']) {
      expect(() => parseFlags(specs, [`--metrics-port=${bad}`])).toThrow(`invalid port "${bad}" for flag --metrics-port`);
    }
  });

  it('parses durations and repeated/comma lists', () => {
    expect(parseFlags(SPECS, ['--timeout', '1m30s']).values.timeout).toBe(90_000);
    expect(parseFlags(SPECS, ['--ports', '8000,8001', '--ports=8002']).values.ports).toEqual(['8000', '8001', '8002']);
  });

  it.each([
    [['--nope'], 'unknown flag'],
    [['--grpc-port'], 'needs an argument'],
    [['--grpc-port=x'], 'invalid integer'],
    [['--secure-serving=maybe'], 'invalid boolean'],
    [['--timeout=5'], 'invalid duration'],
  ])('rejects %j', (argv, message) => {
    expect(() => parseFlags(SPECS, argv)).toThrow(UsageError);
    expect(() => parseFlags(SPECS, argv)).toThrow(message);
  });

  it('prints duration defaults as Go does, and omits empty defaults', () => {
    expect([formatDuration(5000), formatDuration(50), formatDuration(90_000), formatDuration(0)]).toEqual(['5s', '50ms', '90s', '0ms']);
    const usage = formatUsage('serve', 'x', SPECS);
    expect(usage).toMatch(/--timeout duration\n\s+\(default 5s\)/);
    expect(usage).not.toMatch(/--ports list\n\s+\(default/);
  });

  it('parses Go duration units', () => {
    expect(parseDuration('50ms')).toBe(50);
    expect(parseDuration('2s')).toBe(2000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('0')).toBe(0);
    expect(() => parseDuration('')).toThrow(UsageError);
    expect(() => parseDuration('10 s')).toThrow(UsageError);
  });
});
