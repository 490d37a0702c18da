import type { ApiKind, LLMRequest } from './llm-request.js';

/**
 * A parsed request whose `body` is decoded from its bytes the first time something reads it. The
 * parser returns one when it could validate the body and read the fields routing needs without
 * decoding it (openai-parser.ts); most requests are then routed without ever making the body's
 * strings. `body` is exactly `JSON.parse(bytes.toString('utf8'))`, decoded once.
 */
export class DeferredBodyRequest implements LLMRequest {
  readonly bodyBytes: number;
  readonly #bytes: Buffer;
  #body: Record<string, unknown> | undefined;

  /** @param bytes a JSON object JSON.parse is known to accept */
  constructor(
    readonly api: ApiKind,
    readonly model: string,
    readonly stream: boolean,
    readonly cacheSalt: string | undefined,
    bytes: Buffer,
    readonly promptJson: Buffer | undefined,
    readonly maxOutputTokens?: number,
  ) {
    this.#bytes = bytes;
    this.bodyBytes = bytes.length;
  }

  get body(): Record<string, unknown> {
    return (this.#body ??= JSON.parse(this.#bytes.toString('utf8')) as Record<string, unknown>);
  }
}
