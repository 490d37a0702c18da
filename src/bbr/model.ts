/**
 * What body-based routing reads from a request: the OpenAI `model` field of a JSON body (completions,
 * chat completions, responses, embeddings … all carry it at the top level), which becomes the
 * `X-Gateway-Model-Name` request header an HTTPRoute can match to pick the InferencePool.
 */

/** The header BBR sets (GIE's name; lower-case on the wire, as HTTP/2 and Envoy's header map want). */
export const MODEL_NAME_HEADER = 'x-gateway-model-name';

/** Longest model name put in a header; longer values are treated as unparsable. */
export const MAX_MODEL_NAME_BYTES = 1024;

/**
 * The outcome of reading `model`: a usable name; `missing` (no body, no field, null or empty); or
 * `unparsable` (not a JSON object, a non-string model, or a value that cannot be a header value).
 */
export type ModelExtraction =
  | { readonly kind: 'model'; readonly model: string }
  | { readonly kind: 'missing' }
  | { readonly kind: 'unparsable'; readonly reason: string };

// Header values may not hold control characters (CR/LF would split the header; NUL is rejected).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Reads the model name from a request body. Never throws. */
export function extractModel(body: Buffer): ModelExtraction {
  if (body.length === 0) return { kind: 'missing' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return { kind: 'unparsable', reason: `invalid JSON body: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { kind: 'unparsable', reason: 'the body is not a JSON object' };
  const model = (parsed as Record<string, unknown>).model;
  if (model === undefined || model === null) return { kind: 'missing' };
  if (typeof model !== 'string') return { kind: 'unparsable', reason: `model is a ${typeof model}, not a string` };
  const name = model.trim();
  if (name === '') return { kind: 'missing' };
  if (CONTROL.test(name)) return { kind: 'unparsable', reason: 'model holds control characters' };
  if (Buffer.byteLength(name, 'utf8') > MAX_MODEL_NAME_BYTES) return { kind: 'unparsable', reason: `model is longer than ${MAX_MODEL_NAME_BYTES} bytes` };
  return { kind: 'model', model: name };
}
