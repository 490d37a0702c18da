/**
 * Deterministic prompt text for the stages. Every text starts with the run id, so a second run (or
 * the `--compare` run) against the same replicas never hits the first run's prefix cache, and
 * distinct prompts differ in their first characters, where prefix routing hashes.
 */
import { Prng } from '../util/prng.js';

const WORDS = [
  'system', 'policy', 'customer', 'answer', 'briefly', 'context', 'document', 'section', 'invoice', 'shipping',
  'refund', 'account', 'support', 'language', 'clearly', 'always', 'never', 'guidance', 'example', 'product',
  'warranty', 'contract', 'review', 'summary', 'details', 'careful', 'polite', 'request', 'response', 'format',
  'table', 'markdown', 'escalate', 'ticket', 'priority', 'region', 'billing', 'storage', 'network', 'latency',
  'kernel', 'cluster', 'replica', 'gateway', 'token', 'cache', 'prefix', 'routing', 'model', 'server',
];

/** Characters per token the text is sized by (the usual English estimate, and the mock's). */
export const CHARS_PER_TOKEN = 4;

function words(prng: Prng, chars: number): string {
  const out: string[] = [];
  let length = 0;
  while (length < chars) {
    const w = WORDS[prng.int(WORDS.length)] ?? 'word';
    out.push(w);
    length += w.length + 1;
  }
  return out.join(' ').slice(0, Math.max(0, chars));
}

function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Prompt texts for one run. */
export class PromptFactory {
  /** `runId` makes this run's texts unique (short, e.g. 8 hex digits). */
  constructor(readonly runId: string) {}

  /** Group `group`'s shared system prompt, about `tokens` tokens long. */
  systemPrompt(group: number, tokens: number): string {
    const head = `[loadtest ${this.runId} group ${group}] You are a helpful assistant. Follow these instructions. `;
    return head + words(new Prng(seedOf(`${this.runId}/system/${group}`)), Math.max(0, tokens * CHARS_PER_TOKEN - head.length));
  }

  /** A short user question, distinct per (group, index). */
  question(group: number, index: number): string {
    return `Question ${index} for group ${group}: ${words(new Prng(seedOf(`${this.runId}/q/${group}/${index}`)), 60)}?`;
  }

  /** A prompt of about `tokens` tokens that no other (`tag`, `index`) shares a prefix with. */
  distinct(tag: string, index: number, tokens: number): string {
    const head = `${index} ${tag} ${this.runId}: `;
    return head + words(new Prng(seedOf(`${this.runId}/${tag}/${index}`)), Math.max(0, tokens * CHARS_PER_TOKEN - head.length));
  }
}
