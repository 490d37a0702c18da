import { describe, expect, it } from 'vitest';
import { boundedText, LOG_TEXT_MAX } from '../../src/util/bounded-text.js';

describe('boundedText', () => {
  it('keeps short text as it is and cuts long text with an ellipsis and the original length', () => {
    expect(boundedText('model-a')).toBe('model-a');
    const max = 'm'.repeat(LOG_TEXT_MAX);
    expect(boundedText(max)).toBe(max);
    const cut = boundedText('x'.repeat(1 << 20));
    expect(cut).toBe(`${'x'.repeat(LOG_TEXT_MAX)}…(1048576 chars)`);
    expect(boundedText('abcdef', 3)).toBe('abc…(6 chars)');
  });

  it('never splits a surrogate pair', () => {
    expect(boundedText('ab😀cd', 3)).toBe('ab…(6 chars)');
  });
});
