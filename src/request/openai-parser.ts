/**
 * OpenAI request parsing with the reference EPP's validation rules (openai-parser): the API is chosen
 * by the suffix of the path (query string and trailing slash ignored — the reference mis-detects
 * `/v1/chat/completions?x=1`), `model` must be a non-empty string, and each API needs its input:
 * completions a non-empty `prompt` (string, string[] or uint32 token ids), chat at least one message,
 * responses and embeddings an `input`, conversations non-empty `items`.
 *
 * A completions body whose prompt is one string — the bulk of it, on long prompts — takes a fast path:
 * it is validated where it lies (json-members.ts), the routing fields are read from their bytes, and
 * the rest is decoded only if something asks for `body`. Same results, same errors (anything the fast
 * path does not take goes through the full parse), without making strings the size of the prompt.
 */
import { isUtf8 } from 'node:buffer';
import { BadRequestError } from '../errors/errors.js';
import { DeferredBodyRequest } from './deferred-body-request.js';
import { boundedModel, decodeJsonObject, MAX_JSON_DEPTH, MAX_MODEL_NAME_BYTES, pathWithoutQuery } from './json-body.js';
import { JsonMemberScanner } from './json-members.js';
import type { ApiKind, LLMRequest } from './llm-request.js';

const UINT32_MAX = 0xffffffff;

/**
 * Maps a request path to its API; `/render` under chat or completions shares its parent's body; unknown
 * paths are completions, as in the reference.
 */
export function apiKindForPath(path: string): ApiKind {
  const p = pathWithoutQuery(path);
  if (p.endsWith('/chat/completions') || p.endsWith('/chat/completions/render')) return 'chat-completions';
  if (p.endsWith('/completions') || p.endsWith('/completions/render')) return 'completions';
  if (p.endsWith('/responses')) return 'responses';
  if (p.endsWith('/embeddings')) return 'embeddings';
  if (p.endsWith('/conversations')) return 'conversations';
  if (p.endsWith('/images/generations')) return 'images-generations';
  return 'completions';
}

function isTokenId(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= UINT32_MAX;
}

function validatePrompt(prompt: unknown): string | undefined {
  if (typeof prompt === 'string') return prompt.length > 0 ? undefined : 'prompt must not be empty';
  if (!Array.isArray(prompt)) return prompt === undefined ? 'prompt is required' : 'prompt must be a string, an array of strings or an array of token ids';
  if (prompt.length === 0) return 'prompt must not be empty';
  const first: unknown = prompt[0];
  if (typeof first === 'string') {
    return prompt.every((p) => typeof p === 'string') ? undefined : 'prompt array mixes strings and other types';
  }
  if (typeof first === 'number') {
    return prompt.every(isTokenId) ? undefined : 'prompt token ids must be integers in [0, 2^32-1]';
  }
  if (Array.isArray(first)) {
    return prompt.every((p) => Array.isArray(p) && p.length > 0 && p.every(isTokenId))
      ? undefined
      : 'prompt token id batches must be non-empty arrays of integers in [0, 2^32-1]';
  }
  return 'prompt must be a string, an array of strings or an array of token ids';
}

function validateMessages(messages: unknown): string | undefined {
  if (!Array.isArray(messages)) return messages === undefined ? 'messages is required' : 'messages must be an array';
  if (messages.length === 0) return 'messages must contain at least one message';
  for (let i = 0; i < messages.length; i++) {
    const m: unknown = messages[i];
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return `messages[${i}] must be an object`;
    const role = (m as { role?: unknown }).role;
    if (typeof role !== 'string' || role.length === 0) return `messages[${i}].role must be a non-empty string`;
    const content = (m as { content?: unknown }).content;
    if (content !== undefined && content !== null && typeof content !== 'string' && !Array.isArray(content)) {
      return `messages[${i}].content must be a string or an array of content parts`;
    }
  }
  return undefined;
}

const isCount = (v: unknown): boolean => v === undefined || v === null || (typeof v === 'number' && Number.isInteger(v));

/** An images request: a non-empty `prompt`; `n` and `num_inference_steps` integers, `size` a string, when given. */
function imagesProblem(body: Record<string, unknown>): string | undefined {
  if (typeof body.prompt !== 'string' || body.prompt.length === 0) return 'must have prompt field';
  if (!isCount(body.n)) return 'n must be an integer';
  if (!isCount(body.num_inference_steps)) return 'num_inference_steps must be an integer';
  if (body.size !== undefined && body.size !== null && typeof body.size !== 'string') return 'size must be a string';
  return undefined;
}

function validateApi(api: ApiKind, body: Record<string, unknown>): string | undefined {
  switch (api) {
    case 'completions':
      return validatePrompt(body.prompt);
    case 'chat-completions':
      return validateMessages(body.messages);
    case 'responses':
    case 'embeddings': {
      const input = body.input;
      if (input === undefined || input === null) return 'input is required';
      if (typeof input !== 'string' && !Array.isArray(input)) return 'input must be a string or an array';
      return undefined;
    }
    case 'conversations':
      return Array.isArray(body.items) && body.items.length > 0 ? undefined : 'items must be a non-empty array';
    case 'images-generations':
      return imagesProblem(body);
    case 'messages':
    case 'generate':
    case 'sglang-generate':
      // Never reached: apiKindForPath gives only OpenAI APIs; the other parsers validate their own.
      return undefined;
  }
}

/** The fields naming an API's output-token cap, in the order they are tried (llm-d's per-API choice). */
const OUTPUT_CAP_FIELDS: Readonly<Record<ApiKind, readonly string[]>> = {
  'chat-completions': ['max_completion_tokens', 'max_tokens'],
  completions: ['max_tokens'],
  responses: ['max_output_tokens'],
  embeddings: [],
  conversations: [],
  'images-generations': [],
  messages: ['max_tokens'],
  generate: [],
  'sglang-generate': [],
};

/** The first of the API's cap fields holding a non-negative integer (others are skipped as malformed). */
export function maxOutputTokensOf(api: ApiKind, body: Record<string, unknown>): number | undefined {
  for (const field of OUTPUT_CAP_FIELDS[api]) {
    const v = body[field];
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  }
  return undefined;
}

// The members a completions request is routed on (indexes into the scanner's answers).
const MODEL = 0;
const PROMPT = 1;
const STREAM = 2;
const CACHE_SALT = 3;
const MAX_TOKENS = 4;
const completionsMembers = new JsonMemberScanner(['model', 'prompt', 'stream', 'cache_salt', 'max_tokens'], MAX_JSON_DEPTH);

/** Member k's value when it is a non-negative integer (JSON number syntax), else undefined. */
function countMember(bytes: Buffer, scanner: JsonMemberScanner, k: number): number | undefined {
  const start = scanner.start(k);
  if (start < 0) return undefined;
  const c = bytes[start] as number;
  if (c !== 0x2d && (c < 0x30 || c > 0x39)) return undefined; // a number starts with - or a digit
  const v = Number(bytes.toString('latin1', start, scanner.end(k)));
  return Number.isInteger(v) && v >= 0 ? v : undefined;
}

/** Member k's value when it is a string, else undefined. */
function stringMember(bytes: Buffer, scanner: JsonMemberScanner, k: number): string | undefined {
  const start = scanner.start(k);
  if (start < 0 || bytes[start] !== 0x22) return undefined;
  const end = scanner.end(k);
  // Quotes are ASCII, so decoding the member alone gives the characters decoding the whole body would.
  return scanner.escaped(k) ? (JSON.parse(bytes.toString('utf8', start, end)) as string) : bytes.toString('utf8', start + 1, end - 1);
}

/**
 * The fast path for a completions request whose prompt is one string: the body is validated and the
 * routing fields read from its bytes, and `body` is decoded only if something reads it. Undefined for
 * any other body, valid or not: the full parse handles it, and words every error.
 */
function deferredCompletions(bytes: Buffer): LLMRequest | undefined {
  const members = completionsMembers;
  if (!members.scan(bytes)) return undefined;
  const model = stringMember(bytes, members, MODEL);
  // What the full parse accepts: a non-empty name of at most MAX_MODEL_NAME_BYTES.
  if (model === undefined || model.length === 0 || Buffer.byteLength(model, 'utf8') > MAX_MODEL_NAME_BYTES) return undefined;
  const promptStart = members.start(PROMPT);
  const promptEnd = members.end(PROMPT);
  if (promptStart < 0 || bytes[promptStart] !== 0x22 || promptEnd - promptStart <= 2) return undefined;
  const streamAt = members.start(STREAM);
  const prompt = bytes.subarray(promptStart + 1, promptEnd - 1);
  return new DeferredBodyRequest(
    'completions',
    model,
    streamAt >= 0 && bytes[streamAt] === 0x74, // only `true` starts with t
    stringMember(bytes, members, CACHE_SALT),
    bytes,
    isUtf8(prompt) ? prompt : undefined,
    countMember(bytes, members, MAX_TOKENS),
  );
}

/**
 * Parses and validates a request body. Throws BadRequestError (400) for anything that is not a
 * valid request of the path's API. A pure function of its arguments; the result is the one
 * `decodeOpenAIRequest` gives, except that `body` may be decoded from `bytes` on first read (so
 * `bytes` must not change while the result is in use).
 */
export function parseOpenAIRequest(path: string, bytes: Buffer): LLMRequest {
  if (apiKindForPath(path) === 'completions') {
    const deferred = deferredCompletions(bytes);
    if (deferred !== undefined) return deferred;
  }
  return decodeOpenAIRequest(path, bytes);
}

/** `parseOpenAIRequest` by decoding the whole body up front: the reference its fast path must match. */
export function decodeOpenAIRequest(path: string, bytes: Buffer): LLMRequest {
  const body = decodeJsonObject(bytes);
  const model = body.model;
  if (typeof model !== 'string' || model.length === 0) throw new BadRequestError('model not found in request body');
  boundedModel(model);
  const api = apiKindForPath(path);
  const problem = validateApi(api, body);
  if (problem !== undefined) throw new BadRequestError(`invalid ${api} request: ${problem}`);
  const salt = body.cache_salt;
  return {
    api,
    model,
    stream: body.stream === true,
    cacheSalt: typeof salt === 'string' ? salt : undefined,
    body,
    bodyBytes: bytes.length,
    maxOutputTokens: maxOutputTokensOf(api, body),
  };
}
