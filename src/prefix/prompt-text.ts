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
 *
 * Media (multimodal-items.ts) is hashed by identity and size, as the reference's estimator folds it
 * into its token stream: in chat and Anthropic messages, each image, video or audio part is written,
 * in place of its JSON, as a NUL (which JSON text never holds raw) and then its placeholder tokens
 * (media-placeholders.ts) × 4 characters of its hash repeated. So the same image hashes the same
 * wherever it is, a different one differently, text after it keeps matching blocks, and a 2 MB
 * data URL weighs what the model server makes of it (hundreds of tokens), not 2 MB. Parts beyond the
 * item cap, or past the request's media token budget (media-placeholders.ts), are written short (down
 * to a bare NUL). Videos are sized with the request's `x-llm-d-video-*` headers
 * (`video`); the text made where the body was parsed assumes none.
 */
import type { LLMRequest } from '../request/llm-request.js';
import type { MultimodalItem } from '../request/multimodal-item.js';
import { anthropicBlockMedia, chatPartMedia, multimodalItemsOf, toolResultBlocks, type MediaContent } from '../request/multimodal-items.js';
import { hasVideoMetadata, NO_VIDEO_METADATA, type VideoMetadata } from '../request/video-metadata.js';
import { CHARS_PER_TOKEN } from './constants.js';
import { MAX_MEDIA_TOKENS_PER_REQUEST, placeholderTokens } from './media-placeholders.js';

/** The hashed text of `llm`, possibly cut after its first `limit` bytes (see the module doc). */
export function promptText(llm: LLMRequest, limit: number, video: VideoMetadata = NO_VIDEO_METADATA): string {
  const items = multimodalItemsOf(llm);
  // Parsed off the event loop: the text was made there (far longer than any configured limit), with
  // no video headers.
  const prefix = llm.promptPrefix;
  const reusable = !hasVideoMetadata(video) || !items.some((i) => i.modality === 'video');
  if (reusable && prefix !== undefined && (llm.promptComplete === true || prefix.length >= limit)) return prefix;
  const body = llm.body;
  switch (llm.api) {
    case 'completions':
      return completionsText(body.prompt, limit);
    case 'chat-completions':
      return jsonOf(items.length > 0 ? withMediaSlots(body.messages, items, video, false) : body.messages, limit);
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
      parts.push({ messages: (items.length > 0 ? withMediaSlots(body.messages, items, video, true) : body.messages) ?? null });
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

/** A media part's stand-in in the hashed text (see the module doc). */
class MediaSlot {
  constructor(
    readonly hash: string,
    readonly chars: number,
  ) {}

  /** The slot's first `n` characters (n ≤ 1 + chars). */
  text(n: number): string {
    if (n <= 0) return '';
    const body = n - 1;
    return this.hash.length === 0 || body <= 0 ? '\u0000' : `\u0000${this.hash.repeat(Math.ceil(body / this.hash.length)).slice(0, body)}`;
  }
}

const EMPTY_SLOT = new MediaSlot('', 0);
const NO_PARTS: readonly unknown[] = [];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * `messages` with every media part (chat parts, or `anthropic` blocks including those inside
 * `tool_result` blocks) replaced by its slot, in the order multimodal-items.ts found them; messages
 * and blocks without media are shared, not copied.
 */
function withMediaSlots(messages: unknown, items: readonly MultimodalItem[], video: VideoMetadata, anthropic: boolean): unknown {
  const mediaOf: (part: unknown) => MediaContent | undefined = anthropic ? anthropicBlockMedia : chatPartMedia;
  if (!Array.isArray(messages)) return messages;
  let next = 0;
  let budget = MAX_MEDIA_TOKENS_PER_REQUEST;
  const slot = (): MediaSlot => {
    const item = items[next++];
    if (item === undefined) return EMPTY_SLOT;
    const tokens = Math.min(placeholderTokens(item, video), budget);
    budget -= tokens;
    return new MediaSlot(item.hash, tokens * CHARS_PER_TOKEN);
  };
  const replaceParts = (parts: readonly unknown[]): unknown[] | undefined => {
    let out: unknown[] | undefined;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      let replacement: unknown;
      const nested = anthropic ? toolResultBlocks(part) : NO_PARTS;
      if (nested.length > 0) {
        const inner = replaceParts(nested);
        if (inner !== undefined) replacement = { ...(part as Record<string, unknown>), content: inner };
      } else if (mediaOf(part) !== undefined) {
        replacement = slot();
      }
      if (replacement !== undefined) {
        out ??= parts.slice();
        out[i] = replacement;
      }
    }
    return out;
  };
  return messages.map((m: unknown) => {
    if (!isRecord(m) || !Array.isArray(m.content)) return m;
    const content = replaceParts(m.content);
    return content === undefined ? m : { ...m, content };
  });
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
      if (value instanceof MediaSlot) {
        w.out += value.text(Math.min(1 + value.chars, Math.max(1, w.limit - w.out.length)));
      } else if (value === null) {
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
