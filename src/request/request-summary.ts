/**
 * What routing needs of a request, computed where the body is parsed — on a worker thread for large
 * bodies (parse-pool.ts) — so that the event loop never decodes a large body: the parsed fields, the
 * start of the prompt text prefix hashing reads, the request's multimodal items, the sizes P/D and context-length plugins estimate
 * from, and where `model` lies for an in-place rewrite.
 */
import { promptText } from '../prefix/prompt-text.js';
import { contextCharacters } from './context-chars.js';
import { DeferredBodyRequest } from './deferred-body-request.js';
import type { ApiKind } from './llm-request.js';
import { topLevelModelSpan } from './model-rewrite.js';
import { isMessagesPath, parseAnthropicRequest } from './anthropic-request.js';
import { isGeneratePath, parseGenerateRequest } from './generate-request.js';
import type { LLMRequest } from './llm-request.js';
import type { MultimodalItem } from './multimodal-item.js';
import { multimodalItemsOf } from './multimodal-items.js';
import { parseOpenAIRequest } from './openai-parser.js';
import { isSglangGeneratePath, parseSglangGenerateRequest } from './sglang-request.js';

/** Structured-cloneable: crosses the worker boundary as is. */
export interface RequestSummary {
  readonly api: ApiKind;
  readonly model: string;
  readonly stream: boolean;
  readonly cacheSalt: string | undefined;
  readonly bodyBytes: number;
  readonly maxOutputTokens: number | undefined;
  /** The prompt text, cut after `promptLimit` characters (never inside a surrogate pair). */
  readonly promptPrefix: string;
  readonly promptComplete: boolean;
  readonly promptUtf8Bytes: number;
  readonly contextChars: number;
  readonly modelSpan: readonly [number, number] | undefined;
  readonly multimodalItems: readonly MultimodalItem[];
}

/**
 * The parse the registry's choice of parser makes for `path` (the parsers' claimed suffixes do not
 * overlap): Anthropic messages, vLLM generate, SGLang generate, else OpenAI.
 */
function parseForPath(path: string, bytes: Buffer): LLMRequest {
  if (isGeneratePath(path)) return parseGenerateRequest(path, bytes);
  if (isSglangGeneratePath(path)) return parseSglangGenerateRequest(path, bytes);
  if (isMessagesPath(path)) {
    const llm = parseAnthropicRequest(path, bytes);
    if (llm !== undefined) return llm;
  }
  return parseOpenAIRequest(path, bytes);
}

/** Parses and summarises a body; throws BadRequestError as the path's parser does. */
export function summarizeRequest(path: string, bytes: Buffer, promptLimit: number): RequestSummary {
  const llm = parseForPath(path, bytes);
  const full = promptText(llm, Number.POSITIVE_INFINITY);
  let cut = full.length;
  if (cut > promptLimit) {
    cut = promptLimit;
    const code = full.charCodeAt(cut - 1);
    if (code >= 0xd800 && code <= 0xdbff) cut++;
  }
  return {
    api: llm.api,
    model: llm.model,
    stream: llm.stream,
    cacheSalt: llm.cacheSalt,
    bodyBytes: bytes.length,
    maxOutputTokens: llm.maxOutputTokens,
    promptPrefix: cut === full.length ? full : full.slice(0, cut),
    promptComplete: cut === full.length,
    promptUtf8Bytes: Buffer.byteLength(full, 'utf8'),
    contextChars: contextCharacters(llm.body),
    modelSpan: topLevelModelSpan(bytes),
    multimodalItems: multimodalItemsOf(llm),
  };
}

/** A request parsed elsewhere: the summary's fields; `body` is decoded only if something reads it. */
export class SummarizedRequest extends DeferredBodyRequest {
  readonly promptPrefix: string;
  readonly promptComplete: boolean;
  readonly promptUtf8Bytes: number;
  readonly contextChars: number;
  readonly modelSpan: readonly [number, number] | undefined;
  readonly multimodalItems: readonly MultimodalItem[];

  constructor(summary: RequestSummary, bytes: Buffer) {
    super(summary.api, summary.model, summary.stream, summary.cacheSalt, bytes, undefined, summary.maxOutputTokens);
    this.promptPrefix = summary.promptPrefix;
    this.promptComplete = summary.promptComplete;
    this.promptUtf8Bytes = summary.promptUtf8Bytes;
    this.contextChars = summary.contextChars;
    this.modelSpan = summary.modelSpan;
    this.multimodalItems = summary.multimodalItems;
  }
}
