/**
 * The mock's non-OpenAI generation endpoints: Anthropic's Messages API (`/v1/messages`, as vLLM
 * serves it: `max_tokens` required, `system` a string or text blocks) and vLLM's token-in
 * `/inference/v1/generate` (`token_ids` required; `sampling_params.max_tokens`; a P/D leg from
 * `kv_transfer_params`, top-level or under `sampling_params.extra_args` where vLLM reads it).
 */
import { badRequest } from './api-error.js';
import { DEFAULT_MAX_TOKENS, estimateTokens } from './generate.js';
import { MAX_MODEL_LEN } from './model-card.js';
import { isBool, isObject, isPositiveInt, isString, isTokenIds, messageText, optional, renderChat, type GenerationRequest, type KvTransferLeg } from './openai-request.js';

type Body = Record<string, unknown>;

function checkMaxTokens(maxTokens: number | undefined): void {
  if (maxTokens !== undefined && maxTokens > MAX_MODEL_LEN) {
    throw badRequest(`The requested number of output tokens (${maxTokens}) exceeds the model's maximum context length of ${MAX_MODEL_LEN} tokens.`);
  }
}

function systemText(system: unknown): string {
  if (system === undefined || system === null) return '';
  if (typeof system === 'string') return system;
  if (Array.isArray(system)) return system.map((b) => (isObject(b) && b.type === 'text' && typeof b.text === 'string' ? b.text : '')).join('');
  throw badRequest("'system' must be a string or a list of text blocks.");
}

/** The rendered Anthropic conversation (system first) and the text generated words come from. */
function renderMessages(body: Body): { text: string; templated: string } {
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) throw badRequest("'messages' is required: a non-empty list of messages.");
  const parsed = messages.map(messageText);
  const system = systemText(body.system);
  const all = system === '' ? parsed : [{ role: 'system', text: system }, ...parsed];
  return { text: parsed.map((m) => m.text).join('\n'), templated: renderChat(all) };
}

/** Validates a `/v1/messages` body; throws a 400 `ApiError` naming the bad field. */
export function parseMessagesRequest(body: Body): GenerationRequest {
  const maxTokens = optional(body, 'max_tokens', isPositiveInt, 'a positive integer');
  if (maxTokens === undefined) throw badRequest("'max_tokens' is required: a positive integer.");
  checkMaxTokens(maxTokens);
  const { text, templated } = renderMessages(body);
  return {
    kind: 'messages',
    model: optional(body, 'model', isString, 'a string'),
    prompts: [{ text, tokens: estimateTokens(templated), templated }],
    maxTokens,
    stream: optional(body, 'stream', isBool, 'a boolean') ?? false,
    includeUsage: false,
    continuousUsage: false,
  };
}

/** The token count `/v1/messages/count_tokens` answers: the rendered conversation's estimate. */
export function countMessageTokens(body: Body): number {
  return estimateTokens(renderMessages(body).templated);
}

function transferLeg(body: Body, sampling: Body | undefined): KvTransferLeg | undefined {
  const extra = sampling !== undefined ? optional(sampling, 'extra_args', isObject, 'an object') : undefined;
  const transfer = optional(body, 'kv_transfer_params', isObject, 'an object') ?? (extra !== undefined ? optional(extra, 'kv_transfer_params', isObject, 'an object') : undefined);
  if (transfer?.do_remote_decode === true) return { role: 'prefill' };
  if (transfer?.do_remote_prefill === true) return { role: 'decode', params: transfer };
  return undefined;
}

/** Validates an `/inference/v1/generate` body; throws a 400 `ApiError` naming the bad field. */
export function parseGenerateRequest(body: Body): GenerationRequest {
  const ids = body.token_ids;
  if (!isTokenIds(ids)) throw badRequest("'token_ids' is required: a non-empty list of token IDs.");
  const sampling = optional(body, 'sampling_params', isObject, 'an object');
  const maxTokens = sampling !== undefined ? optional(sampling, 'max_tokens', isPositiveInt, 'a positive integer') : undefined;
  checkMaxTokens(maxTokens);
  const stream = optional(body, 'stream', isBool, 'a boolean') ?? false;
  const options = optional(body, 'stream_options', isObject, 'an object');
  const kvTransfer = transferLeg(body, sampling);
  return {
    kind: 'generate',
    model: optional(body, 'model', isString, 'a string'),
    prompts: [{ text: ids.join(' '), tokens: ids.length, tokenIds: ids }],
    maxTokens: maxTokens ?? DEFAULT_MAX_TOKENS,
    stream,
    includeUsage: (options !== undefined && optional(options, 'include_usage', isBool, 'a boolean')) === true,
    continuousUsage: false,
    ...(kvTransfer === undefined ? {} : { kvTransfer }),
  };
}
