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
    /** The request field at fault, when there is one (`"messages"`, `"model"`). */
    readonly param: string | null = null,
  ) {
    super(message);
  }

  toBody(): OpenAiErrorBody {
    return { object: 'error', message: this.message, type: this.type, param: this.param, code: this.status };
  }
}

/**
 * The OpenAI client's error type for an HTTP status, as llm-d-inference-sim maps it
 * (`pkg/api/response.go` `ErrorCodeToType`): 400 BadRequestError, 401 AuthenticationError,
 * 403 PermissionDeniedError, 404 NotFoundError, 422 UnprocessableEntityError, 429 RateLimitError,
 * ≥ 500 InternalServerError, anything else APIConnectionError.
 */
export function errorTypeForStatus(status: number): string {
  switch (status) {
    case 400:
      return 'BadRequestError';
    case 401:
      return 'AuthenticationError';
    case 403:
      return 'PermissionDeniedError';
    case 404:
      return 'NotFoundError';
    case 422:
      return 'UnprocessableEntityError';
    case 429:
      return 'RateLimitError';
    default:
      return status >= 500 ? 'InternalServerError' : 'APIConnectionError';
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
