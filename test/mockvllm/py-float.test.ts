import { describe, it, expect } from 'vitest';
import { formatPyFloat } from '../../src/mockvllm/py-float.js';

describe('formatPyFloat', () => {
  it.each([
    [0, '0.0'],
    [-0, '-0.0'],
    [1, '1.0'],
    [3, '3.0'],
    [-5, '-5.0'],
    [0.4508602, '0.4508602'],
    [0.1 + 0.2, '0.30000000000000004'],
    [63184, '63184.0'],
    [2560, '2560.0'],
    [123456.789, '123456.789'],
    [999999, '999999.0'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [1.5e-7, '1.5e-07'],
  ])('writes %d as Python repr %s', (value, text) => {
    expect(formatPyFloat(value)).toBe(text);
  });

  it.each([
    [1_000_000, '1e+06'],
    [42_421_665, '4.2421665e+07'],
    [1741528329.6545, '1.7415283296545e+09'],
    // prometheus_client always writes "e+0<n>", even for two-digit exponents.
    [1e10, '1e+010'],
    [1e16, '1e+16'],
    [1.5e16, '1.5e+16'],
  ])('switches %d to exponent form like prometheus_client: %s', (value, text) => {
    expect(formatPyFloat(value)).toBe(text);
  });

  it('keeps large negative values in repr form', () => {
    expect(formatPyFloat(-42_421_665)).toBe('-42421665.0');
  });

  it('writes infinities and NaN the Prometheus way', () => {
    expect(formatPyFloat(Infinity)).toBe('+Inf');
    expect(formatPyFloat(-Infinity)).toBe('-Inf');
    expect(formatPyFloat(NaN)).toBe('NaN');
  });
});
