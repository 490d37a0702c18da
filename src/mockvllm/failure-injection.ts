/**
 * Failure injection with llm-d-inference-sim's semantics (model-server.md §7.1; the sim's
 * `failures.go` and `communication/http.go`):
 * - `--failure-injection-rate` P, an integer percentage 0–100: each generation request fails with
 *   probability P/100, before its model is checked, with one of the `--failure-types` drawn
 *   uniformly (all six when none are given);
 * - the `X-Return-Error: <status>` request header answers that status at once, bypassing the rate;
 *   a value that is not an integer answers 400.
 * Draws come from a seeded generator, so a seed replays the same sequence of failures.
 */
import { Prng } from '../util/prng.js';
import { ApiError, badRequest, errorTypeForStatus } from './api-error.js';

/** The sim's failure types, in its declaration order. */
export const FAILURE_TYPES = ['rate_limit', 'invalid_api_key', 'context_length', 'server_error', 'invalid_request', 'model_not_found'] as const;

export type FailureType = (typeof FAILURE_TYPES)[number];

/** Whether `name` is one of {@link FAILURE_TYPES}. */
export function isFailureType(name: string): name is FailureType {
  return (FAILURE_TYPES as readonly string[]).includes(name);
}

function failure(status: number, message: string, param: string | null = null): ApiError {
  return new ApiError(status, errorTypeForStatus(status), message, param);
}

/** The sim's canned error for `type` (statuses, messages and `param` copied from its `predefinedFailures`). */
export function injectedFailure(type: FailureType, model: string): ApiError {
  switch (type) {
    case 'rate_limit':
      return failure(429, `Rate limit reached for ${model} in organization org-xxx on requests per min (RPM): Limit 3, Used 3, Requested 1.`);
    case 'invalid_api_key':
      return failure(401, 'Incorrect API key provided.');
    case 'context_length':
      return failure(400, "This model's maximum context length is 4096 tokens. However, your messages resulted in 4500 tokens.", 'messages');
    case 'server_error':
      return failure(503, 'The server is overloaded or not ready yet.');
    case 'invalid_request':
      return failure(400, "Invalid request: missing required parameter 'model'.", 'model');
    case 'model_not_found':
      return failure(404, `The model '${model}-nonexistent' does not exist`, 'model');
  }
}

/** Thrown for an unusable failure-injection setting. */
export class FailureConfigError extends Error {
  override readonly name = 'FailureConfigError';
}

/** Draws injected failures for one server (one DP rank): `draw()` once per generation request. */
export class FailureInjector {
  readonly #ratePercent: number;
  readonly #types: readonly FailureType[];
  readonly #prng: Prng;

  /**
   * @param ratePercent integer percentage 0–100 of requests to fail
   * @param types the failure types to draw from; empty = all of {@link FAILURE_TYPES}
   * @param seed seeds the generator (taken modulo 2³²)
   */
  constructor(ratePercent: number, types: readonly FailureType[], seed: number) {
    if (!Number.isInteger(ratePercent) || ratePercent < 0 || ratePercent > 100) {
      throw new FailureConfigError(`failure injection rate must be an integer percentage 0-100, got ${ratePercent}`);
    }
    for (const t of types) if (!isFailureType(t)) throw new FailureConfigError(`unknown failure type "${String(t)}" (known: ${FAILURE_TYPES.join(', ')})`);
    this.#ratePercent = ratePercent;
    this.#types = types.length === 0 ? FAILURE_TYPES : [...types];
    this.#prng = new Prng(seed);
  }

  /** The failure to answer this request with (for `model`, the served name), or undefined to serve it. */
  draw(model: string): ApiError | undefined {
    // Like the sim, no draw at all at rate 0, so enabling injection never shifts other random streams.
    if (this.#ratePercent === 0) return undefined;
    if (this.#prng.int(100) >= this.#ratePercent) return undefined;
    const type = this.#types[this.#prng.int(this.#types.length)] ?? 'server_error';
    return injectedFailure(type, model);
  }
}

/** The request header that forces an error response. */
export const RETURN_ERROR_HEADER = 'x-return-error';

/**
 * The error an `X-Return-Error` header value asks for, or undefined when the header is absent or
 * empty. An integer status 200–599 is answered with itself (message as the sim's); anything else —
 * not an integer, or a status Node cannot send as a final response — is a 400.
 */
export function returnErrorFor(value: string | readonly string[] | undefined): ApiError | undefined {
  const text = typeof value === 'string' ? value : (value?.[0] ?? '');
  if (text === '') return undefined;
  const trimmed = text.trim();
  if (!/^[+-]?\d+$/.test(trimmed)) return badRequest(`Invalid X-Return-Error header value ${JSON.stringify(text)}: must be an integer`);
  const code = Number(trimmed);
  if (code < 200 || code > 599) return badRequest(`Invalid X-Return-Error header value ${JSON.stringify(text)}: must be an HTTP status code from 200 to 599`);
  return failure(code, `Simulated error triggered by X-Return-Error header (code ${code})`);
}
