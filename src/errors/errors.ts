/**
 * The picker's error family. Every failure that reaches a client is one of these classes, each with a
 * stable `code` (the reference EPP's error codes, used in bodies and in the
 * `inference_objective_request_error_total{error_code}` label). They are mapped to HTTP statuses in one
 * place only: the protocol edge (`extproc/responses.ts`).
 */
export type ErrorCode =
  | 'BadRequest'
  | 'PayloadTooLarge'
  | 'ServiceUnavailable'
  | 'ResourceExhausted'
  | 'DeadlineExceeded'
  | 'Internal';

/** Why a request was dropped, sent as `x-llm-d-request-dropped-reason` (the reference's values). */
export type DropReason = 'rejected-saturated' | 'rejected-ttl-expired' | 'rejected-context-cancelled' | 'rejected-shutting-down' | 'rejected-no-endpoints';

export abstract class EppError extends Error {
  abstract readonly code: ErrorCode;
  /** Set for requests the picker refused to route (shed, shutting down): sent to the client as a header. */
  readonly dropReason: DropReason | undefined;
  constructor(message: string, options?: { cause?: unknown; dropReason?: DropReason }) {
    super(message, options);
    this.dropReason = options?.dropReason;
  }
}

/** The request body or headers are invalid: not JSON, no `model`, failed API validation. */
export class BadRequestError extends EppError {
  readonly code = 'BadRequest';
  override readonly name = 'BadRequestError';
}

/** The request body passed `--max-request-body-bytes`. */
export class PayloadTooLargeError extends EppError {
  readonly code = 'PayloadTooLarge';
  override readonly name = 'PayloadTooLargeError';
}

/** No endpoint can serve the request (empty pool, a subset hint that matches nothing), or the picker is shutting down. */
export class ServiceUnavailableError extends EppError {
  readonly code = 'ServiceUnavailable';
  override readonly name = 'ServiceUnavailableError';
}

/** Scheduling found no target, or the request was shed: retry later. */
export class ResourceExhaustedError extends EppError {
  readonly code = 'ResourceExhausted';
  override readonly name = 'ResourceExhaustedError';
}

/** The routing decision did not finish within `--decision-timeout`. */
export class DeadlineExceededError extends EppError {
  readonly code = 'DeadlineExceeded';
  override readonly name = 'DeadlineExceededError';
}

/** A bug or an unexpected failure; the stream gets a 500 and the process carries on. */
export class InternalError extends EppError {
  readonly code = 'Internal';
  override readonly name: string = 'InternalError';
}

/**
 * The data plane broke the ext_proc protocol (messages out of order, a message without content): a
 * 500 like any internal failure, but logged as the peer's fault, not ours.
 */
export class ProtocolViolationError extends InternalError {
  override readonly name = 'ProtocolViolationError';
}

/** Wraps anything thrown into the family, keeping EppErrors as they are. */
export function toEppError(err: unknown): EppError {
  if (err instanceof EppError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new InternalError(message, { cause: err });
}
