/**
 * The decoding steps every request parser shares: bounded nesting, a JSON object at the top, a
 * bounded `model` name, the path without its query. Errors are BadRequestError (400) worded as the
 * reference words them.
 */
import { BadRequestError } from '../errors/errors.js';
import { jsonNestsDeeperThan } from './json-depth.js';

/** Deeper nesting than any real OpenAI body (tool schemas included) and far below the stack limit. */
export const MAX_JSON_DEPTH = 512;

/**
 * Longest `model` accepted, in UTF-8 bytes (as `epp bbr` bounds the header it makes of it): far above
 * any served model name, and it bounds what a request makes the picker copy — above all the name it
 * writes back into every response chunk when the model is rewritten.
 */
export const MAX_MODEL_NAME_BYTES = 1024;

/** `bytes` decoded as a JSON object nesting at most MAX_JSON_DEPTH levels. */
export function decodeJsonObject(bytes: Buffer): Record<string, unknown> {
  if (jsonNestsDeeperThan(bytes, MAX_JSON_DEPTH)) {
    throw new BadRequestError(`error unmarshaling request body: JSON nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new BadRequestError(`error unmarshaling request body: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BadRequestError('error unmarshaling request body: the body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

/**
 * The body's `model` when the API makes it optional (the reference reads it only when it is a
 * string): '' when absent or not a string; a name longer than MAX_MODEL_NAME_BYTES is refused.
 */
export function optionalModel(body: Readonly<Record<string, unknown>>): string {
  const model = body.model;
  return typeof model === 'string' ? boundedModel(model) : '';
}

/** `model`, refused (400) when longer than MAX_MODEL_NAME_BYTES. */
export function boundedModel(model: string): string {
  // A UTF-16 unit is 1–3 UTF-8 bytes: only names between MAX/3 and MAX units need counting.
  if (model.length > MAX_MODEL_NAME_BYTES || (model.length * 3 > MAX_MODEL_NAME_BYTES && Buffer.byteLength(model, 'utf8') > MAX_MODEL_NAME_BYTES)) {
    throw new BadRequestError(`model name is longer than ${MAX_MODEL_NAME_BYTES} bytes`);
  }
  return model;
}

/** `value` when it is a non-negative integer, else undefined (a malformed cap is ignored, as upstream). */
export function countOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
}

/** The path without its query string and trailing slashes. */
export function pathWithoutQuery(path: string): string {
  let end = path.indexOf('?');
  if (end < 0) end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 0x2f) end--;
  return path.slice(0, end);
}
