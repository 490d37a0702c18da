/**
 * What the mock "model" produces: deterministic tokens derived from the prompt, and the pacing seam
 * through which an engine model decides when each token is ready.
 */

/** `max_tokens` when a request gives none (vLLM's completions default). */
export const DEFAULT_MAX_TOKENS = 16;

/** Token estimate for text the mock cannot really tokenize: ceil(chars / 4), at least 1. */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/** Identifies one token about to be emitted, for a {@link TokenPacer}. */
export interface TokenStep {
  /** Server-unique id of the HTTP request. */
  readonly requestId: string;
  /** Which choice (prompt of a batch) the token belongs to, from 0. */
  readonly choice: number;
  /** Index of the token within its choice, from 0 (0 = first token). */
  readonly index: number;
  /** Estimated prompt tokens of this choice. */
  readonly promptTokens: number;
}

/**
 * Decides when a token is ready: awaited before each token is emitted (streamed or collected). It
 * should settle promptly once `signal` aborts (client gone or server closing); a rejection aborts the
 * request. The default emits every token at once.
 */
export type TokenPacer = (step: TokenStep, signal: AbortSignal) => Promise<void>;

const FALLBACK_WORDS = ['the', 'mock', 'model', 'answers', 'with', 'a', 'steady', 'stream', 'of', 'words'];
const MAX_SOURCE_WORDS = 256;

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

function sourceWords(prompt: string): string[] {
  const words: string[] = [];
  for (const m of prompt.matchAll(/[\p{L}\p{N}']+/gu)) {
    words.push(m[0].toLowerCase());
    if (words.length >= MAX_SOURCE_WORDS) break;
  }
  return words.length > 0 ? words : FALLBACK_WORDS;
}

/**
 * Yields exactly `count` tokens for `prompt`: words taken from the prompt in a rotation whose start
 * depends on a hash of the whole prompt, so the same prompt always gets the same text. Every token but
 * the first carries a leading space, so joining the tokens gives readable text.
 */
export function* generateTokens(prompt: string, count: number): Generator<string, void, undefined> {
  const words = sourceWords(prompt);
  const start = fnv1a(prompt) % words.length;
  for (let i = 0; i < count; i++) {
    const word = words[(start + i) % words.length] ?? 'token';
    yield i === 0 ? word : ` ${word}`;
  }
}
