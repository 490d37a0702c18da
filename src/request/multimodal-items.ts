/**
 * The multimodal items of a request — images, videos and audio clips — in the order the model server
 * sees them, each with a content hash, as the reference's token estimator finds them (llm-d-router
 * v0.10 `tokenizer/estimate.go`):
 *
 * - OpenAI chat completions: content parts `image_url` (hash of the URL: an `http(s)` address or a
 *   whole `data:` URL), `video_url` (the URL), `input_audio` (`data` followed by `format`) and
 *   `audio_url` (the URL; the reference reads `input_audio` there and so hashes nothing);
 * - Anthropic messages: `image` blocks (`source.url`, else `source.data`), also inside `tool_result`
 *   blocks' content;
 * - vLLM generate: `features.mm_hashes` paired with `features.mm_placeholders` per modality (a
 *   modality without placeholder ranges is skipped, as in the reference), ordered by placeholder
 *   offset; the client's hash is kept when at most MAX_CLIENT_HASH_CHARS long, else hashed.
 *
 * A hash is 16 lower-case hex digits: the first 64 bits of SHA-256 over the content's UTF-8 (the
 * reference uses XXH64; the values only need to agree within this process). Bounds: at most
 * MAX_MULTIMODAL_ITEMS items per request (later ones are ignored), and an item longer than
 * MAX_HASHED_CHARS_PER_ITEM is identified by its first and last half of that and its length. Malformed
 * parts (wrong types, missing fields) are skipped, never an error: the parsers validate shape.
 *
 * Items are computed where the body is parsed (on a worker for large bodies, carried by the request
 * summary) or on first use, once per request.
 */
import { createHash } from 'node:crypto';
import { base64ImageDimensions, dataUrlImageDimensions, type ImageDimensions } from './image-dimensions.js';
import type { ApiKind, LLMRequest } from './llm-request.js';
import type { Modality, MultimodalItem } from './multimodal-item.js';

export const MAX_MULTIMODAL_ITEMS = 64;
export const MAX_HASHED_CHARS_PER_ITEM = 4 * 1024 * 1024;
export const MAX_CLIENT_HASH_CHARS = 128;

const NONE: readonly MultimodalItem[] = Object.freeze([]);

/** What a content part or block carries when it is media: its modality and the text identifying it. */
export interface MediaContent {
  readonly modality: Modality;
  readonly content: string;
  /** Where the content is a bare base64 image payload (Anthropic `source.data`), not a URL. */
  readonly bareBase64?: boolean;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `{url}` or a bare string, as clients send both for `image_url` / `video_url` / `audio_url`. */
function urlOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isRecord(v) && typeof v.url === 'string') return v.url;
  return undefined;
}

/** The media an OpenAI chat content part carries, or undefined. */
export function chatPartMedia(part: unknown): MediaContent | undefined {
  if (!isRecord(part)) return undefined;
  switch (part.type) {
    case 'image_url': {
      const url = urlOf(part.image_url);
      return url === undefined || url === '' ? undefined : { modality: 'image', content: url };
    }
    case 'video_url': {
      const url = urlOf(part.video_url);
      return url === undefined || url === '' ? undefined : { modality: 'video', content: url };
    }
    case 'input_audio': {
      const audio = part.input_audio;
      if (!isRecord(audio) || typeof audio.data !== 'string' || audio.data === '') return undefined;
      return { modality: 'audio', content: audio.data + (typeof audio.format === 'string' ? audio.format : '') };
    }
    case 'audio_url': {
      const url = urlOf(part.audio_url);
      return url === undefined || url === '' ? undefined : { modality: 'audio', content: url };
    }
    default:
      return undefined;
  }
}

/** The image an Anthropic content block carries (an `image` block), or undefined. */
export function anthropicBlockMedia(block: unknown): MediaContent | undefined {
  if (!isRecord(block) || block.type !== 'image' || !isRecord(block.source)) return undefined;
  const { url, data } = block.source;
  if (typeof url === 'string' && url !== '') return { modality: 'image', content: url };
  if (typeof data === 'string' && data !== '') return { modality: 'image', content: data, bareBase64: true };
  return undefined;
}

/** The content blocks of an Anthropic `tool_result` block (its `content` when an array), else none. */
export function toolResultBlocks(block: unknown): readonly unknown[] {
  return isRecord(block) && block.type === 'tool_result' && Array.isArray(block.content) ? block.content : NONE;
}

function hashOf(content: string): string {
  const h = createHash('sha256');
  if (content.length <= MAX_HASHED_CHARS_PER_ITEM) {
    h.update(content);
  } else {
    const half = MAX_HASHED_CHARS_PER_ITEM / 2;
    h.update(content.slice(0, half));
    h.update(content.slice(content.length - half));
    h.update(`\u0000${content.length}`);
  }
  return h.digest('hex').slice(0, 16);
}

const NO_DIMENSIONS: ImageDimensions = { width: 0, height: 0 };

function itemOf(media: MediaContent): MultimodalItem {
  let dims: ImageDimensions | undefined;
  if (media.modality === 'image') dims = media.bareBase64 === true ? base64ImageDimensions(media.content) : dataUrlImageDimensions(media.content);
  dims ??= NO_DIMENSIONS;
  return { modality: media.modality, hash: hashOf(media.content), width: dims.width, height: dims.height, contentChars: media.content.length };
}

function chatItems(messages: unknown, out: MultimodalItem[]): void {
  if (!Array.isArray(messages)) return;
  for (const m of messages) {
    if (!isRecord(m) || !Array.isArray(m.content)) continue;
    for (const part of m.content) {
      const media = chatPartMedia(part);
      if (media === undefined) continue;
      out.push(itemOf(media));
      if (out.length >= MAX_MULTIMODAL_ITEMS) return;
    }
  }
}

function anthropicItems(messages: unknown, out: MultimodalItem[]): void {
  if (!Array.isArray(messages)) return;
  for (const m of messages) {
    if (!isRecord(m) || !Array.isArray(m.content)) continue;
    for (const block of m.content) {
      const blocks = toolResultBlocks(block);
      for (const b of blocks.length > 0 ? blocks : [block]) {
        const media = anthropicBlockMedia(b);
        if (media === undefined) continue;
        out.push(itemOf(media));
        if (out.length >= MAX_MULTIMODAL_ITEMS) return;
      }
    }
  }
}

const MODALITIES: ReadonlySet<string> = new Set<Modality>(['image', 'video', 'audio']);

function generateItems(features: unknown, out: MultimodalItem[]): void {
  if (!isRecord(features) || !isRecord(features.mm_hashes) || !isRecord(features.mm_placeholders)) return;
  const found: { readonly offset: number; readonly item: MultimodalItem }[] = [];
  for (const [modality, hashes] of Object.entries(features.mm_hashes)) {
    const ranges = features.mm_placeholders[modality];
    if (!MODALITIES.has(modality) || !Array.isArray(hashes) || !Array.isArray(ranges)) continue;
    const n = Math.min(hashes.length, ranges.length, MAX_MULTIMODAL_ITEMS);
    for (let i = 0; i < n; i++) {
      const hash: unknown = hashes[i];
      const range: unknown = ranges[i];
      if (typeof hash !== 'string' || hash === '') continue;
      const offset = isRecord(range) && typeof range.offset === 'number' ? range.offset : 0;
      const item: MultimodalItem = {
        modality: modality as Modality,
        hash: hash.length <= MAX_CLIENT_HASH_CHARS ? hash : hashOf(hash),
        width: 0,
        height: 0,
        contentChars: hash.length,
      };
      found.push({ offset, item });
    }
  }
  found.sort((a, b) => a.offset - b.offset);
  for (const f of found) {
    if (out.length >= MAX_MULTIMODAL_ITEMS) return;
    out.push(f.item);
  }
}

/** The items of a parsed body of API `api` (see the module doc); empty when it has none. */
export function extractMultimodalItems(api: ApiKind, body: Readonly<Record<string, unknown>>): readonly MultimodalItem[] {
  const out: MultimodalItem[] = [];
  switch (api) {
    case 'chat-completions':
      chatItems(body.messages, out);
      break;
    case 'messages':
      anthropicItems(body.messages, out);
      break;
    case 'generate':
      generateItems(body.features, out);
      break;
    default:
      return NONE;
  }
  return out.length === 0 ? NONE : Object.freeze(out);
}

const APIS_WITH_MEDIA: ReadonlySet<ApiKind> = new Set<ApiKind>(['chat-completions', 'messages', 'generate']);

// Computed once per request object (both the prefix and the embeddings producers read them).
const computed = new WeakMap<LLMRequest, readonly MultimodalItem[]>();

/** The multimodal items of `request` (see the module doc): a readonly array, empty when none. */
export function multimodalItemsOf(request: LLMRequest | undefined): readonly MultimodalItem[] {
  if (request === undefined || !APIS_WITH_MEDIA.has(request.api)) return NONE;
  if (request.multimodalItems !== undefined) return request.multimodalItems;
  let items = computed.get(request);
  if (items === undefined) {
    items = extractMultimodalItems(request.api, request.body);
    computed.set(request, items);
  }
  return items;
}
