/**
 * OpenAI response and stream-chunk bodies in vLLM's flavour, for completions and chat. Pure builders:
 * no I/O, no state.
 */
import type { ApiKind } from './openai-request.js';

/** The `usage` object; `prompt_tokens_details` is set only when an engine model knows the cached tokens. */
export interface Usage {
  readonly prompt_tokens: number;
  readonly total_tokens: number;
  readonly completion_tokens: number;
  readonly prompt_tokens_details: { readonly cached_tokens: number } | null;
}

/** Identity shared by every body of one response (`id`, `created`, `model`). */
export interface ResponseIdentity {
  readonly kind: ApiKind;
  readonly id: string;
  readonly created: number;
  readonly model: string;
}

/** A generated choice, complete. */
export interface ChoiceResult {
  readonly text: string;
  readonly finishReason: string;
}

/** Token totals; `cachedTokens` (prompt tokens served from the prefix cache) fills `prompt_tokens_details`. */
export function usage(promptTokens: number, completionTokens: number, cachedTokens?: number): Usage {
  return {
    prompt_tokens: promptTokens,
    total_tokens: promptTokens + completionTokens,
    completion_tokens: completionTokens,
    prompt_tokens_details: cachedTokens === undefined ? null : { cached_tokens: cachedTokens },
  };
}

/** `cmpl-…` for completions, `chatcmpl-…` for chat, `msg_…` for Anthropic messages, `gen-…` for generate. */
export function responseId(kind: ApiKind, random: string): string {
  switch (kind) {
    case 'chat':
      return `chatcmpl-${random}`;
    case 'messages':
      return `msg_${random}`;
    case 'generate':
      return `gen-${random}`;
    case 'completion':
      return `cmpl-${random}`;
  }
}

/**
 * The non-streaming body: `text_completion` or `chat.completion`. `kvTransferParams` is what a P/D
 * prefill leg hands the decoder (vLLM's top-level `kv_transfer_params`; null otherwise).
 */
export function fullResponse(who: ResponseIdentity, choices: readonly ChoiceResult[], total: Usage, kvTransferParams: Record<string, unknown> | null = null): Record<string, unknown> {
  if (who.kind === 'chat') {
    return {
      id: who.id,
      object: 'chat.completion',
      created: who.created,
      model: who.model,
      choices: choices.map((c, index) => ({
        index,
        message: { role: 'assistant', content: c.text, refusal: null, tool_calls: [], reasoning_content: null },
        logprobs: null,
        finish_reason: c.finishReason,
        stop_reason: null,
      })),
      usage: total,
      prompt_logprobs: null,
      kv_transfer_params: kvTransferParams,
    };
  }
  return {
    id: who.id,
    object: 'text_completion',
    created: who.created,
    model: who.model,
    choices: choices.map((c, index) => ({
      index,
      text: c.text,
      logprobs: null,
      finish_reason: c.finishReason,
      stop_reason: null,
      prompt_logprobs: null,
    })),
    usage: total,
    kv_transfer_params: kvTransferParams,
  };
}

/** What one stream chunk carries for its single choice. */
export interface ChunkContent {
  readonly index: number;
  /** Text of this chunk ('' for the role chunk and the finish chunk). */
  readonly text: string;
  /** Chat only: the first chunk of a choice announces the assistant role. */
  readonly role?: 'assistant';
  readonly finishReason: string | null;
}

/** One streamed chunk (`text_completion` or `chat.completion.chunk`); `usage` only when continuous. */
export function streamChunk(who: ResponseIdentity, content: ChunkContent, running: Usage | undefined): Record<string, unknown> {
  const choice =
    who.kind === 'chat'
      ? {
          index: content.index,
          delta: chatDelta(content),
          logprobs: null,
          finish_reason: content.finishReason,
          ...(content.finishReason !== null ? { stop_reason: null } : {}),
        }
      : {
          index: content.index,
          text: content.text,
          logprobs: null,
          finish_reason: content.finishReason,
          stop_reason: null,
        };
  return {
    id: who.id,
    object: who.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion',
    created: who.created,
    model: who.model,
    choices: [choice],
    ...(running !== undefined ? { usage: running } : {}),
  };
}

function chatDelta(content: ChunkContent): Record<string, string> {
  if (content.role !== undefined) return { role: content.role, content: content.text };
  if (content.finishReason !== null && content.text === '') return {};
  return { content: content.text };
}

/** The `include_usage` chunk sent after the last choice: empty `choices`, totals in `usage`. */
export function usageChunk(who: ResponseIdentity, total: Usage): Record<string, unknown> {
  return {
    id: who.id,
    object: who.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion',
    created: who.created,
    model: who.model,
    choices: [],
    usage: total,
  };
}
