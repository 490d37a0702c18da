/**
 * Formats a number the way Python's prometheus_client writes sample values and bucket bounds
 * (`floatToGoString`): `repr(float)` (`0.0`, `3.0`, `0.4508602`, `1e-05`, `1.5e+16`), except that
 * positive values with 7 or more integer digits switch to exponent form (`4.2421665e+07`,
 * `1.7415283296545e+09`); infinities are `+Inf` / `-Inf` and NaN is `NaN`.
 */
export function formatPyFloat(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  const repr = pyRepr(value);
  const dot = repr.indexOf('.');
  if (value > 0 && dot > 6) {
    // prometheus_client's rule, kept bug-for-bug: the exponent is always written as `e+0<n>`.
    const mantissa = `${repr[0] ?? ''}.${repr.slice(1, dot)}${repr.slice(dot + 1)}`.replace(/[0.]+$/, '');
    return `${mantissa}e+0${dot - 1}`;
  }
  return repr;
}

/** Python's `repr(float)`: shortest round-trip digits, fixed notation for exponents in [-4, 16). */
function pyRepr(value: number): string {
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  // toExponential() without an argument yields the shortest round-trip digits, like Python's repr.
  const [mant = '0', expText = '0'] = value.toExponential().split('e');
  const exp = Number(expText);
  const negative = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  const sign = negative ? '-' : '';
  if (exp < -4 || exp >= 16) {
    const frac = digits.slice(1);
    const expSign = exp < 0 ? '-' : '+';
    return `${sign}${digits[0] ?? ''}${frac.length > 0 ? `.${frac}` : ''}e${expSign}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const intLen = exp + 1;
  if (digits.length <= intLen) return `${sign}${digits}${'0'.repeat(intLen - digits.length)}.0`;
  return `${sign}${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
}
