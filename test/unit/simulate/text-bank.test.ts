import { describe, expect, it } from 'vitest';
import { SegmentedPrompt } from '../../../src/simulate/workload/prompt-text.js';
import { keyTag, TAG_CHARS, TextBank } from '../../../src/simulate/workload/text-bank.js';
import { WorkloadError } from '../../../src/simulate/workload/workload-error.js';

describe('TextBank', () => {
  it('gives each key fixed ASCII-word text of exactly the asked length, shorter being a prefix of longer', () => {
    const bank = new TextBank();
    const long = bank.segment(5, 5000);
    expect(long).toHaveLength(5000);
    expect(long).toMatch(/^[a-z ]+$/);
    expect(bank.segment(5, 2048)).toBe(long.slice(0, 2048));
    expect(bank.segment(5, 3)).toBe(long.slice(0, 3));
    expect(bank.segment(5, 0)).toBe('');
    expect(new TextBank().segment(5, 2048)).toBe(long.slice(0, 2048));
  });

  it('opens every key with a distinct tag, so distinct keys differ within 6 characters', () => {
    const tags = new Set<string>();
    for (let k = 0; k < 50_000; k++) tags.add(keyTag(k));
    expect(tags.size).toBe(50_000);
    const bank = new TextBank();
    expect(bank.segment(1, TAG_CHARS)).not.toBe(bank.segment(2, TAG_CHARS));
  });

  it('varies text (not tags) with the seed', () => {
    const a = new TextBank({ seed: 1 }).segment(9, 200);
    const b = new TextBank({ seed: 2 }).segment(9, 200);
    expect(a.slice(0, TAG_CHARS)).toBe(b.slice(0, TAG_CHARS));
    expect(a).not.toBe(b);
  });

  it('keeps its cache within the bound and still answers the same after eviction', () => {
    const bank = new TextBank({ maxCachedChars: 10_000 });
    const first = bank.segment(0, 2048);
    for (let k = 1; k < 100; k++) {
      bank.segment(k, 2048);
      expect(bank.cachedChars).toBeLessThanOrEqual(10_000);
    }
    expect(bank.segment(0, 2048)).toBe(first);
  });

  it('rejects bad keys and lengths', () => {
    const bank = new TextBank();
    expect(() => bank.segment(-1, 10)).toThrow(WorkloadError);
    expect(() => bank.segment(1.5, 10)).toThrow(WorkloadError);
    expect(() => bank.segment(1, -1)).toThrow(WorkloadError);
  });
});

describe('SegmentedPrompt', () => {
  const bank = new TextBank();

  it('concatenates uniform segments, the last cut to the remainder, and honours limits', () => {
    const p = SegmentedPrompt.uniform(bank, [3, 4, 5], 100, 250);
    const text = p.text();
    expect(p.length).toBe(250);
    expect(text).toBe(bank.segment(3, 100) + bank.segment(4, 100) + bank.segment(5, 50));
    expect(p.text(120)).toBe(text.slice(0, 120));
    expect(p.text(1000)).toBe(text);
    expect(p.keys).toEqual([3, 4, 5]);
  });

  it('rejects lengths the segments cannot make', () => {
    expect(() => SegmentedPrompt.uniform(bank, [1, 2], 100, 200.5)).toThrow(RangeError);
    expect(() => SegmentedPrompt.uniform(bank, [1, 2], 100, 100)).toThrow(RangeError);
    expect(() => SegmentedPrompt.uniform(bank, [1, 2], 100, 201)).toThrow(RangeError);
    expect(SegmentedPrompt.uniform(bank, [], 100, 0).text()).toBe('');
  });

  it('concatenates explicit segments, skipping empty ones', () => {
    const p = SegmentedPrompt.of(bank, [
      { key: 1, chars: 10 },
      { key: 2, chars: 0 },
      { key: 3, chars: 7 },
    ]);
    expect(p.length).toBe(17);
    expect(p.keys).toEqual([1, 3]);
    expect(p.text()).toBe(bank.segment(1, 10) + bank.segment(3, 7));
    expect(p.text(12)).toBe(bank.segment(1, 10) + bank.segment(3, 2));
  });
});
