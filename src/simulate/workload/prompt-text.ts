/**
 * A prompt held as a sequence of text-bank keys instead of a string: the text is produced on demand
 * (whole or only its first characters) and dropped by the caller, so a workload of thousands of long
 * prompts costs a few numbers per segment.
 */
import type { TextBank } from './text-bank.js';

/** Something that can produce a prompt's text on demand. */
export interface PromptSource {
  /** Length of the full text in characters (UTF-16 units; the text is ASCII, so also bytes). */
  readonly length: number;
  /**
   * The first `min(limit, length)` characters of the text (all of it by default). The same call
   * always returns the same string; a shorter limit yields a prefix of a longer one.
   */
  text(limit?: number): string;
}

/** One piece of a prompt: the first `chars` characters of key `key`'s text. */
export interface PromptSegment {
  readonly key: number;
  readonly chars: number;
}

/**
 * A prompt that is the concatenation of bank segments. Either uniform — every segment
 * `segmentChars` long except the last, which holds the remainder (Mooncake blocks) — or built from
 * explicit segment lengths.
 */
export class SegmentedPrompt implements PromptSource {
  readonly length: number;
  readonly #bank: TextBank;
  readonly #keys: readonly number[];
  /** Cumulative end offsets of the segments, or undefined for a uniform prompt. */
  readonly #ends: readonly number[] | undefined;
  readonly #segmentChars: number;

  private constructor(bank: TextBank, keys: readonly number[], ends: readonly number[] | undefined, segmentChars: number, length: number) {
    this.#bank = bank;
    this.#keys = keys;
    this.#ends = ends;
    this.#segmentChars = segmentChars;
    this.length = length;
  }

  /**
   * A prompt of `length` characters made of the segments of `keys`, each `segmentChars` long, the last
   * cut to what remains. Requires `(keys.length − 1) · segmentChars < length ≤ keys.length · segmentChars`
   * (or no keys and length 0); `keys` is kept, not copied, and must not change.
   */
  static uniform(bank: TextBank, keys: readonly number[], segmentChars: number, length: number): SegmentedPrompt {
    const n = keys.length;
    if (!(segmentChars > 0) || (n === 0 ? length !== 0 : length <= (n - 1) * segmentChars || length > n * segmentChars)) {
      throw new RangeError(`${n} segments of ${segmentChars} characters cannot make ${length} characters`);
    }
    return new SegmentedPrompt(bank, keys, undefined, segmentChars, length);
  }

  /** A prompt that is the concatenation of `segments` (empty segments allowed). */
  static of(bank: TextBank, segments: readonly PromptSegment[]): SegmentedPrompt {
    const keys: number[] = [];
    const ends: number[] = [];
    let end = 0;
    for (const s of segments) {
      if (s.chars === 0) continue;
      end += s.chars;
      keys.push(s.key);
      ends.push(end);
    }
    return new SegmentedPrompt(bank, keys, ends, 0, end);
  }

  /** The bank keys of the segments, in order. */
  get keys(): readonly number[] {
    return this.#keys;
  }

  text(limit = Infinity): string {
    const want = Math.min(limit, this.length);
    const parts: string[] = [];
    let start = 0;
    for (let i = 0; i < this.#keys.length && start < want; i++) {
      const end = this.#ends === undefined ? Math.min(start + this.#segmentChars, this.length) : (this.#ends[i] as number);
      parts.push(this.#bank.segment(this.#keys[i] as number, Math.min(end, want) - start));
      start = end;
    }
    return parts.join('');
  }
}
