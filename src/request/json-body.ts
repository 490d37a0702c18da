/**
 * The decoding steps every JSON request parser shares: bounded nesting, a JSON object at the top,
 * and a bounded `model` name. Errors are BadRequestError (400) worded as the reference words them.
 */
import { BadRequestError } from '../errors/errors.js';
import { jsonNestsDeeperThan } from './json-depth.js';
import { MAX_JSON_DEPTH, MAX_MODEL_NAME_BYTES } from './openai-parser.js';

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
  if (typeof model !== 'string') return '';
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
