import { describe, expect, it } from 'vitest';
import { closestName, didYouMean, editDistance } from '../../../src/config/did-you-mean.js';

describe('did you mean', () => {
  it('counts insertions, deletions, substitutions and adjacent swaps', () => {
    expect(editDistance('blockSize', 'blockSizee')).toBe(1);
    expect(editDistance('weight', 'wieght')).toBe(1);
    expect(editDistance('queue-scorer', 'queue-scorr')).toBe(1);
    expect(editDistance('abc', 'xyz')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('suggests the closest name only when it is a likely typo, ignoring case', () => {
    expect(closestName('plugin', ['plugins', 'schedulingProfiles'])).toBe('plugins');
    expect(closestName('PLUGINS', ['plugins'])).toBe('plugins');
    expect(closestName('abc', ['xyz'])).toBeUndefined();
    expect(closestName('max-score-picker', ['random-picker', 'max-score-picker'])).toBeUndefined();
    expect(didYouMean('prefix-cache-scorr', ['prefix-cache-scorer', 'queue-scorer'])).toBe(' (did you mean "prefix-cache-scorer"?)');
    expect(didYouMean('x'.repeat(500), ['x'])).toBe('');
  });
});
