/** vLLM's OpenAI error body: `{"object":"error","message","type","param":null,"code":<HTTP status>}`. */
export interface OpenAiErrorBody {
  readonly object: 'error';
  readonly message: string;
  readonly type: string;
  readonly param: string | null;
  readonly code: number;
}

/** A request failure that reaches the client as an HTTP status plus an {@link OpenAiErrorBody}. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }

  toBody(): OpenAiErrorBody {
    return { object: 'error', message: this.message, type: this.type, param: null, code: this.status };
  }
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequestError', message);
}

export function notFound(message: string): ApiError {
  return new ApiError(404, 'NotFoundError', message);
}

export function payloadTooLarge(limit: number): ApiError {
  return new ApiError(413, 'PayloadTooLargeError', `Request body exceeds the limit of ${limit} bytes.`);
}
