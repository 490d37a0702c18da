import type { MultimodalItem } from './multimodal-item.js';

/**
 * The APIs the parsers recognise, chosen by path suffix: OpenAI's (openai-parser), Anthropic's
 * Messages (anthropic-parser), vLLM's native generate (vllmhttp-parser) and SGLang's (sglanghttp-parser).
 */
export type ApiKind = 'completions' | 'chat-completions' | 'responses' | 'embeddings' | 'conversations' | 'images-generations' | 'messages' | 'generate' | 'sglang-generate';

/**
 * A parsed inference request. `body` is the decoded JSON object (never re-serialised unless the
 * model is rewritten, so the forwarded bytes stay exactly the client's).
 */
export interface LLMRequest {
  readonly api: ApiKind;
  /** `model` from the body (required). */
  readonly model: string;
  readonly stream: boolean;
  readonly cacheSalt: string | undefined;
  readonly body: Record<string, unknown>;
  /** Size of the raw body in bytes. */
  readonly bodyBytes: number;
  /**
   * The client's cap on output tokens, when it gave one (a non-negative integer): chat
   * `max_completion_tokens`, else `max_tokens`; completions `max_tokens`; responses
   * `max_output_tokens` (llm-d's per-API fields). Undefined otherwise.
   */
  readonly maxOutputTokens?: number | undefined;
  /**
   * A completions `prompt` that is one JSON string, as the raw bytes between its quotes (a view of the
   * body: valid UTF-8, escapes as written), when the parser kept them: the prefix hasher reads the text
   * from them without decoding `body`. Undefined otherwise.
   */
  readonly promptJson?: Buffer | undefined;
  /**
   * Set when the body was parsed off the event loop (a large body, see parse-pool.ts), so that routing
   * never decodes `body` on the request path: the start of the prompt text prefix hashing reads
   * (`promptText`'s result, the whole text when `promptComplete`), the whole text's UTF-8 length,
   * the characters `context-length-aware` counts, and where the top-level `model` value lies in the
   * body (for rewriting it in place).
   */
  readonly promptPrefix?: string | undefined;
  readonly promptComplete?: boolean | undefined;
  readonly promptUtf8Bytes?: number | undefined;
  readonly contextChars?: number | undefined;
  readonly modelSpan?: readonly [start: number, end: number] | undefined;
  /**
   * Set when the JSON came wrapped in an envelope (`vertexai-grpc`: a gRPC frame around a Vertex AI
   * message around an HttpBody): the raw body is the envelope, `bodyBytes` and `modelSpan` refer to
   * the JSON inside it, and rewriting the model must re-wrap the JSON.
   */
  readonly envelope?: 'vertexai-grpc' | undefined;
  /**
   * The request's images, videos and audio clips when the parse already found them (a body parsed
   * off the event loop); read them with `multimodalItemsOf` (multimodal-items.ts), which computes them
   * otherwise.
   */
  readonly multimodalItems?: readonly MultimodalItem[] | undefined;
}
