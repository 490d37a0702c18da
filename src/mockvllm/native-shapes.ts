/**
 * Response bodies of the mock's non-OpenAI endpoints. Anthropic Messages: a `message` object, or a
 * stream of named events (message_start with the input usage, content_block_start, ping,
 * content_block_delta per token, content_block_stop, message_delta with the output usage,
 * message_stop). vLLM generate: `{request_id, choices: [{index, token_ids, finish_reason}], …}`,
 * streamed as one such body per token. Pure builders: no I/O, no state.
 */
import type { ResponseIdentity, Usage } from './openai-shapes.js';

/** `max_tokens` is Anthropic's name for the `length` finish reason. */
const ANTHROPIC_STOP = 'max_tokens';

/** Anthropic's usage object from the mock's counts (`cache_read_input_tokens` when the engine knows them). */
export function anthropicUsage(total: Usage): Record<string, number> {
  return {
    input_tokens: total.prompt_tokens,
    output_tokens: total.completion_tokens,
    ...(total.prompt_tokens_details === null ? {} : { cache_read_input_tokens: total.prompt_tokens_details.cached_tokens, cache_creation_input_tokens: 0 }),
  };
}

/** The non-streaming `/v1/messages` answer. */
export function anthropicMessage(who: ResponseIdentity, text: string, total: Usage): Record<string, unknown> {
  return {
    id: who.id,
    type: 'message',
    role: 'assistant',
    model: who.model,
    content: [{ type: 'text', text }],
    stop_reason: ANTHROPIC_STOP,
    stop_sequence: null,
    usage: anthropicUsage(total),
  };
}

/** The `message_start` event: the message shell with the input side of usage. */
export function messageStart(who: ResponseIdentity, total: Usage): Record<string, unknown> {
  return {
    type: 'message_start',
    message: { id: who.id, type: 'message', role: 'assistant', model: who.model, content: [], stop_reason: null, stop_sequence: null, usage: anthropicUsage(total) },
  };
}

export const contentBlockStart = { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } as const;
export const ping = { type: 'ping' } as const;
export const contentBlockStop = { type: 'content_block_stop', index: 0 } as const;
export const messageStop = { type: 'message_stop' } as const;

export function contentBlockDelta(text: string): Record<string, unknown> {
  return { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } };
}

/** The `message_delta` event closing the message: stop reason and the output tokens. */
export function messageDelta(outputTokens: number): Record<string, unknown> {
  return { type: 'message_delta', delta: { stop_reason: ANTHROPIC_STOP, stop_sequence: null }, usage: { output_tokens: outputTokens } };
}

/**
 * A mock token id for a generated word: stable per word (FNV-1a into a 32k vocabulary), as a
 * tokenizer would give, though not any real model's.
 */
export function mockTokenId(word: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193) >>> 0;
  return h % 32000;
}

/** One `/inference/v1/generate` body: the whole answer, or one streamed step. */
export function generateResponse(
  who: ResponseIdentity,
  tokenIds: readonly number[],
  finishReason: string | null,
  total: Usage | undefined,
  kvTransferParams: Record<string, unknown> | null = null,
): Record<string, unknown> {
  return {
    request_id: who.id,
    choices: [{ index: 0, logprobs: null, finish_reason: finishReason, token_ids: tokenIds }],
    prompt_logprobs: null,
    kv_transfer_params: kvTransferParams,
    ...(total === undefined ? {} : { usage: total }),
  };
}
