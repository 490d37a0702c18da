/**
 * The text of a request that prefix hashing covers, per API (reference §5.4 step 2):
 * completions → the prompt (an array of strings joined with a space; token-id prompts as their JSON),
 * chat → JSON of `messages`, responses → JSON of `[{instructions}?, {tools}?, {input}]`,
 * conversations → JSON of `items`, embeddings → JSON of `input`, images → the prompt, Anthropic messages → JSON of
 * `[{system}?, {tools}?, {messages}]`, vLLM generate → JSON of `token_ids`, SGLang generate → JSON of
 * `input_ids` (both as a token-id prompt).
 *
 * Only the first `limit` UTF-8 bytes are ever hashed, so JSON is written by a serialiser that stops
 * once `limit` UTF-16 units are out (a unit is at least one UTF-8 byte), cutting a long string
 * mid-way: the result is a prefix of `JSON.stringify`'s output at least `limit` bytes long (or all of
 * it), and hashes exactly as the full text would — without escaping a 100 KB message to hash 16 KB.
 */
import type { LLMRequest } from '../request/llm-request.js';

/** The hashed text of `llm`, possibly cut after its first `limit` bytes (see the module doc). */
export function promptText(llm: LLMRequest, limit: number): string {
  // Parsed off the event loop: the text was made there (far longer than any configured limit).
  const prefix = llm.promptPrefix;
  if (prefix !== undefined && (llm.promptComplete === true || prefix.length >= limit)) return prefix;
  const body = llm.body;
  switch (llm.api) {
    case 'completions':
      return completionsText(body.prompt, limit);
    case 'chat-completions':
      return jsonOf(body.messages, limit);
    case 'responses': {
      const parts: Record<string, unknown>[] = [];
      if (body.instructions !== undefined && body.instructions !== null) parts.push({ instructions: body.instructions });
      if (body.tools !== undefined && body.tools !== null) parts.push({ tools: body.tools });
      parts.push({ input: body.input ?? null });
      return boundedJson(parts, limit);
    }
    case 'conversations':
      return jsonOf(body.items, limit);
    case 'embeddings':
      return jsonOf(body.input, limit);
    case 'images-generations':
      return typeof body.prompt === 'string' ? body.prompt : '';
    case 'messages': {
      const parts: Record<string, unknown>[] = [];
      if (body.system !== undefined && body.system !== null) parts.push({ system: body.system });
      if (body.tools !== undefined && body.tools !== null) parts.push({ tools: body.tools });
      parts.push({ messages: body.messages ?? null });
      return boundedJson(parts, limit);
    }
    case 'generate':
      return jsonOf(body.token_ids, limit);
    case 'sglang-generate':
      return jsonOf(body.input_ids, limit);
  }
}

function completionsText(prompt: unknown, limit: number): string {
  if (typeof prompt === 'string') return prompt;
  if (!Array.isArray(prompt)) return '';
  if (prompt.length > 0 && typeof prompt[0] !== 'string') return boundedJson(prompt, limit);
  let out = '';
  for (let i = 0; i < prompt.length; i++) {
    const p: unknown = prompt[i];
    if (i > 0) out += ' ';
    out += typeof p === 'string' ? p : String(p);
    if (out.length >= limit) break;
  }
  return out;
}

function jsonOf(value: unknown, limit: number): string {
  return value === undefined ? '' : boundedJson(value, limit);
}

/**
 * `JSON.stringify(value)` (no indentation) for values as `JSON.parse` makes them, or a prefix of it
 * that is at least `limit` UTF-16 units long.
 */
export function boundedJson(value: unknown, limit: number): string {
  const w: Writer = { out: '', limit };
  write(w, value);
  return w.out;
}

interface Writer {
  out: string;
  readonly limit: number;
}

/** Appends `value`; false once the output has reached the limit (the caller must stop). */
function write(w: Writer, value: unknown): boolean {
  switch (typeof value) {
    case 'string': {
      const room = Math.max(0, w.limit - w.out.length);
      if (value.length <= room) {
        w.out += JSON.stringify(value);
      } else {
        // Every unit escapes to at least one, so `room` units fill the rest; never split a
        // surrogate pair (a lone half would be escaped, unlike in the full output); no closing quote.
        const cut = room > 0 && isHighSurrogate(value.charCodeAt(room - 1)) ? room + 1 : room;
        w.out += JSON.stringify(value.slice(0, cut)).slice(0, -1);
      }
      break;
    }
    case 'object':
      if (value === null) {
        w.out += 'null';
      } else if (Array.isArray(value)) {
        w.out += '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) w.out += ',';
          const item: unknown = value[i];
          // As JSON.stringify: undefined and functions inside arrays become null.
          if (!write(w, item === undefined || typeof item === 'function' ? null : item)) return false;
        }
        w.out += ']';
      } else {
        w.out += '{';
        let first = true;
        for (const key of Object.keys(value)) {
          const v: unknown = (value as Record<string, unknown>)[key];
          if (v === undefined || typeof v === 'function') continue;
          w.out += first ? JSON.stringify(key) : `,${JSON.stringify(key)}`;
          w.out += ':';
          first = false;
          if (!write(w, v)) return false;
        }
        w.out += '}';
      }
      break;
    default:
      // Numbers and booleans (parsed JSON holds nothing else).
      w.out += JSON.stringify(value) ?? 'null';
  }
  return w.out.length < w.limit;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
