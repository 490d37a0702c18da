/**
 * Deterministic filler text for simulated prompts, keyed by integers.
 *
 * The text of key k is an endless stream of ASCII words that depends only on k and the bank's seed;
 * `segment(k, n)` is its first n characters, so a shorter segment of a key is always a prefix of a
 * longer one. Each key's stream opens with a 6-letter tag that is a bijection of k modulo 26⁶
 * (≈ 3.1·10⁸): two distinct keys below that bound differ within their first 6 characters, so text
 * built from key sequences diverges exactly where the key sequences do.
 *
 * Generated texts are cached (least recently used first out) up to a bound on the total characters
 * held, so expanding a large trace costs generation time, not memory.
 */
import { mix32, Prng } from '../../util/prng.js';
import { WorkloadError } from './workload-error.js';

/** Characters of the tag that opens every key's text. */
export const TAG_CHARS = 6;

const TAG_SPACE = 26 ** TAG_CHARS;

// Common short English words: text that looks like prose to a tokenizer, ≈ 4–5 characters per word.
const WORDS: readonly string[] = (
  'the of and to in is was that for on are with as his they be at one have this from or had by hot ' +
  'word but what some we can out other were all there when up use your how said an each she which do ' +
  'their time if will way about many then them write would like so these her long make thing see him ' +
  'two has look more day could go come did number sound no most people my over know water than call ' +
  'first who may down side been now find any new work part take get place made live where after back ' +
  'little only round man year came show every good me give our under name very through just form ' +
  'sentence great think say help low line differ turn cause much mean before move right boy old too ' +
  'same tell does set three want air well also play small end put home read hand port large spell add'
).split(' ');

/** Options of a {@link TextBank}. */
export interface TextBankOptions {
  /** Varies every key's text (tags excepted); default 0. */
  readonly seed?: number;
  /** Bound on the characters the cache holds; default 16 Mi (≈ 32 MiB of one-byte strings). */
  readonly maxCachedChars?: number;
  /** Texts are generated at least this long, so shorter requests of a key hit the cache; default 2,048. */
  readonly minGeneratedChars?: number;
}

/** Deterministic text per integer key with a bounded cache (see the module doc). */
export class TextBank {
  readonly seed: number;
  readonly maxCachedChars: number;
  readonly minGeneratedChars: number;
  #cache = new Map<number, string>();
  #cachedChars = 0;

  constructor(options: TextBankOptions = {}) {
    this.seed = (options.seed ?? 0) >>> 0;
    this.maxCachedChars = options.maxCachedChars ?? 16 * 1024 * 1024;
    this.minGeneratedChars = options.minGeneratedChars ?? 2048;
    if (!(this.maxCachedChars >= 0)) throw new WorkloadError(`maxCachedChars must be ≥ 0, got ${this.maxCachedChars}`);
    if (!(this.minGeneratedChars >= 0)) throw new WorkloadError(`minGeneratedChars must be ≥ 0, got ${this.minGeneratedChars}`);
  }

  /** Characters currently held by the cache (never above `maxCachedChars` after a call returns). */
  get cachedChars(): number {
    return this.#cachedChars;
  }

  /**
   * The first `chars` characters of key `key`'s text. `key` must be an integer in [0, 2³²);
   * `chars` a non-negative integer.
   */
  segment(key: number, chars: number): string {
    if (!Number.isInteger(key) || key < 0 || key > 0xffffffff) throw new WorkloadError(`text key must be a uint32, got ${key}`);
    if (!Number.isInteger(chars) || chars < 0) throw new WorkloadError(`segment length must be a non-negative integer, got ${chars}`);
    if (chars === 0) return '';
    let text = this.#cache.get(key);
    if (text !== undefined && text.length >= chars) {
      // Re-insert: Map iteration order is the LRU order.
      this.#cache.delete(key);
      this.#cache.set(key, text);
    } else {
      if (text !== undefined) {
        this.#cache.delete(key);
        this.#cachedChars -= text.length;
      }
      text = generate(key, Math.max(chars, this.minGeneratedChars), this.seed);
      if (text.length <= this.maxCachedChars) {
        this.#cache.set(key, text);
        this.#cachedChars += text.length;
        this.#evict();
      }
    }
    return text.length === chars ? text : text.slice(0, chars);
  }

  /** Empties the cache. */
  clear(): void {
    this.#cache.clear();
    this.#cachedChars = 0;
  }

  #evict(): void {
    for (const [key, text] of this.#cache) {
      if (this.#cachedChars <= this.maxCachedChars) return;
      this.#cache.delete(key);
      this.#cachedChars -= text.length;
    }
  }
}

/** The 6-letter tag of `key` (a bijection modulo 26⁶; 7,919 is prime and coprime to 26). */
export function keyTag(key: number): string {
  let code = (key * 7919 + 104_729) % TAG_SPACE;
  let tag = '';
  for (let i = 0; i < TAG_CHARS; i++) {
    tag += String.fromCharCode(97 + (code % 26));
    code = Math.floor(code / 26);
  }
  return tag;
}

function generate(key: number, chars: number, seed: number): string {
  const rng = new Prng(mix32(key ^ mix32(seed + 0x9e3779b9)));
  const parts: string[] = [keyTag(key)];
  let length = TAG_CHARS;
  while (length < chars) {
    const word = WORDS[rng.int(WORDS.length)] as string;
    parts.push(word);
    length += 1 + word.length;
  }
  const text = parts.join(' ');
  return text.length === chars ? text : text.slice(0, chars);
}
