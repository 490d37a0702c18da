import { badRequest } from './api-error.js';
import { DEFAULT_MAX_TOKENS, estimateTokens } from './generate.js';
import { MAX_MODEL_LEN } from './model-card.js';

/**
 * Which endpoint a request came in on; it decides the response shapes: OpenAI completions or chat,
 * Anthropic Messages (`/v1/messages`), or vLLM's native token-in generate (`/inference/v1/generate`).
 */
export type ApiKind = 'completion' | 'chat' | 'messages' | 'generate';

/** One prompt to generate for (a completions batch has several, chat has one). */
export interface PromptInput {
  /** The text generated words derive from (for chat, the messages' text). */
  readonly text: string;
  readonly tokens: number;
  /** The token ids, when the client sent a token-id prompt. */
  readonly tokenIds?: readonly number[];
  /** The text the token count was estimated from, when it differs from `text` (chat's rendered template). */
  readonly templated?: string;
}

/**
 * The P/D leg a request's `kv_transfer_params` asks for (vLLM's NixlConnector, model-server.md §5):
 * `do_remote_decode: true` is a prefill leg (compute the prompt, answer with `kv_transfer_params` for
 * the decoder); `do_remote_prefill: true` a decode leg (pull the prompt's KV, then decode), whose
 * `params` are what the prefill leg returned.
 */
export type KvTransferLeg = { readonly role: 'prefill' } | { readonly role: 'decode'; readonly params: Readonly<Record<string, unknown>> };

/** A validated generation request (any ApiKind), reduced to what the mock uses. */
export interface GenerationRequest {
  readonly kind: ApiKind;
  /** The requested model; `undefined` means the served model (recent vLLM makes `model` optional). */
  readonly model: string | undefined;
  /** At least one prompt; one choice is generated per prompt. */
  readonly prompts: readonly PromptInput[];
  /** Tokens to generate per choice, at least 1. */
  readonly maxTokens: number;
  readonly stream: boolean;
  /** `stream_options.include_usage`: send a final chunk with empty `choices` and `usage`. */
  readonly includeUsage: boolean;
  /** `stream_options.continuous_usage_stats`: put running `usage` on every chunk. */
  readonly continuousUsage: boolean;
  /** Set when `kv_transfer_params` asks for a P/D leg. */
  readonly kvTransfer?: KvTransferLeg;
}

type Body = Record<string, unknown>;

export function optional<T>(body: Body, key: string, check: (v: unknown) => v is T, expected: string): T | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (!check(v)) throw badRequest(`'${key}' must be ${expected}.`);
  return v;
}

export const isString = (v: unknown): v is string => typeof v === 'string';
export const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
export const isPositiveInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 1;
export const isObject = (v: unknown): v is Body => typeof v === 'object' && v !== null && !Array.isArray(v);
export const isTokenIds = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((t) => Number.isSafeInteger(t) && (t as number) >= 0);

function parseCommon(kind: ApiKind, body: Body, prompts: readonly PromptInput[], maxTokens: number | undefined): GenerationRequest {
  const stream = optional(body, 'stream', isBool, 'a boolean') ?? false;
  const options = optional(body, 'stream_options', isObject, 'an object');
  if (options !== undefined && !stream) throw badRequest('Stream options can only be defined when `stream=True`.');
  // The prompt is not counted against the context: the token estimate is too rough to reject on.
  if (maxTokens !== undefined && maxTokens > MAX_MODEL_LEN) {
    throw badRequest(`The requested number of output tokens (${maxTokens}) exceeds the model's maximum context length of ${MAX_MODEL_LEN} tokens.`);
  }
  const transfer = optional(body, 'kv_transfer_params', isObject, 'an object');
  const kvTransfer: KvTransferLeg | undefined =
    transfer?.do_remote_decode === true ? { role: 'prefill' } : transfer?.do_remote_prefill === true ? { role: 'decode', params: transfer } : undefined;
  return {
    kind,
    model: optional(body, 'model', isString, 'a string'),
    prompts,
    maxTokens: maxTokens ?? DEFAULT_MAX_TOKENS,
    stream,
    includeUsage: (options !== undefined && optional(options, 'include_usage', isBool, 'a boolean')) === true,
    continuousUsage: (options !== undefined && optional(options, 'continuous_usage_stats', isBool, 'a boolean')) === true,
    ...(kvTransfer === undefined ? {} : { kvTransfer }),
  };
}

function completionPrompts(prompt: unknown): PromptInput[] {
  if (typeof prompt === 'string') {
    if (prompt.length === 0) throw badRequest("'prompt' must not be empty.");
    return [{ text: prompt, tokens: estimateTokens(prompt) }];
  }
  if (isTokenIds(prompt)) return [{ text: prompt.join(' '), tokens: prompt.length, tokenIds: prompt }];
  if (Array.isArray(prompt) && prompt.length > 0) {
    return prompt.map((p) => {
      if (typeof p === 'string' && p.length > 0) return { text: p, tokens: estimateTokens(p) };
      if (isTokenIds(p)) return { text: p.join(' '), tokens: p.length, tokenIds: p };
      throw badRequest("'prompt' must be a non-empty string, a list of strings, or a list of token IDs.");
    });
  }
  throw badRequest("'prompt' is required: a non-empty string, a list of strings, or a list of token IDs.");
}

/** Validates a `/v1/completions` body; throws a 400 `ApiError` naming the bad field. */
export function parseCompletionRequest(body: Body): GenerationRequest {
  const maxTokens = optional(body, 'max_tokens', isPositiveInt, 'a positive integer');
  return parseCommon('completion', body, completionPrompts(body.prompt), maxTokens);
}

export function messageText(message: unknown, i: number): { role: string; text: string } {
  if (!isObject(message) || typeof message.role !== 'string') {
    throw badRequest(`'messages[${i}]' must be an object with a string 'role'.`);
  }
  const content = message.content;
  if (content === undefined || content === null) return { role: message.role, text: '' };
  if (typeof content === 'string') return { role: message.role, text: content };
  if (Array.isArray(content)) {
    // Non-text parts (images, audio) contribute nothing the mock can count.
    const text = content
      .map((part) => (isObject(part) && part.type === 'text' && typeof part.text === 'string' ? part.text : ''))
      .join('');
    return { role: message.role, text };
  }
  throw badRequest(`'messages[${i}].content' must be a string or a list of content parts.`);
}

/** Renders messages with a ChatML-style template, so prompt length grows the way a real template does. */
export function renderChat(messages: readonly { role: string; text: string }[]): string {
  return `${messages.map((m) => `<|im_start|>${m.role}\n${m.text}<|im_end|>\n`).join('')}<|im_start|>assistant\n`;
}

/** Validates a `/v1/chat/completions` body; throws a 400 `ApiError` naming the bad field. */
export function parseChatRequest(body: Body): GenerationRequest {
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    throw badRequest("'messages' is required: a non-empty list of messages.");
  }
  const parsed = messages.map(messageText);
  // Tokens count the rendered template; generated words come from the conversation alone.
  const text = parsed.map((m) => m.text).join('\n');
  const templated = renderChat(parsed);
  const tokens = estimateTokens(templated);
  const maxTokens =
    optional(body, 'max_completion_tokens', isPositiveInt, 'a positive integer') ??
    optional(body, 'max_tokens', isPositiveInt, 'a positive integer');
  return parseCommon('chat', body, [{ text, tokens, templated }], maxTokens);
}
