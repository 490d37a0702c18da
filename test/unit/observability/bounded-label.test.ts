import { describe, expect, it } from 'vitest';
import { BoundedLabel, DEFAULT_MAX_LABEL_VALUES, MAX_LABEL_VALUE_BYTES, OTHER_LABEL } from '../../../src/observability/bounded-label.js';

describe('BoundedLabel', () => {
  it('admits 1000 distinct values, then reports new ones as other; admitted values stay themselves', () => {
    const b = new BoundedLabel();
    expect(DEFAULT_MAX_LABEL_VALUES).toBe(1000);
    for (let i = 0; i < 1000; i++) expect(b.bound(`model-${i}`)).toBe(`model-${i}`);
    expect(b.bound('model-1000')).toBe(OTHER_LABEL);
    expect(b.bound('model-1001')).toBe(OTHER_LABEL);
    expect(b.bound('model-0')).toBe('model-0');
    expect(b.bound('model-999')).toBe('model-999');
    expect(b.counted).toBe(1000);
  });

  it('keeps the empty value empty without taking a slot', () => {
    const b = new BoundedLabel(1);
    expect(b.bound('')).toBe('');
    expect(b.counted).toBe(0);
    expect(b.bound('a')).toBe('a');
    expect(b.bound('')).toBe('');
  });

  it('pinned values report as themselves past the cap and take no slot; pinning an admitted value frees its slot', () => {
    const b = new BoundedLabel(2);
    expect(b.pin('configured')).toBe(true);
    expect(b.bound('a')).toBe('a');
    expect(b.bound('b')).toBe('b');
    expect(b.bound('c')).toBe(OTHER_LABEL);
    expect(b.bound('configured')).toBe('configured');
    // Pinned after the cap filled: real label from then on.
    expect(b.pin('late-config')).toBe(true);
    expect(b.bound('late-config')).toBe('late-config');
    expect(b.counted).toBe(2);
    expect(b.pin('a')).toBe(true);
    expect(b.counted).toBe(1);
    expect(b.bound('c')).toBe('c');
    expect(b.bound('d')).toBe(OTHER_LABEL);
    expect(b.pin('')).toBe(false);
  });

  it(`reports values over ${MAX_LABEL_VALUE_BYTES} UTF-8 bytes as other and never stores them, pinned or not`, () => {
    const b = new BoundedLabel();
    const longest = 'm'.repeat(MAX_LABEL_VALUE_BYTES);
    expect(b.bound(longest)).toBe(longest);
    expect(b.bound(`${longest}m`)).toBe(OTHER_LABEL);
    expect(b.bound('x'.repeat(1 << 20))).toBe(OTHER_LABEL);
    // Counted in bytes: 86 three-byte characters are 258 bytes in 86 UTF-16 units.
    expect(b.bound('€'.repeat(86))).toBe(OTHER_LABEL);
    expect(b.bound('€'.repeat(85))).toBe('€'.repeat(85));
    expect(b.bound('😀'.repeat(65))).toBe(OTHER_LABEL);
    expect(b.counted).toBe(2);
    expect(b.pin('y'.repeat(MAX_LABEL_VALUE_BYTES + 1))).toBe(false);
    expect(b.bound('y'.repeat(MAX_LABEL_VALUE_BYTES + 1))).toBe(OTHER_LABEL);
    // Nothing oversized took a slot: the remaining 998 are still free.
    for (let i = 0; i < 998; i++) b.bound(`n${i}`);
    expect(b.bound('n997')).toBe('n997');
    expect(b.bound('n998')).toBe(OTHER_LABEL);
  });
});
