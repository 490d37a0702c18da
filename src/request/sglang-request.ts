/**
 * SGLang's native `/generate` request as the reference's sglanghttp-parser reads it: the path must be
 * exactly `/generate`; `input_ids` (required) a non-empty array of integers in [0, 2^32-1];
 * `extra_key` (a string) isolates the prefix cache like `cache_salt`; `sampling_params.max_new_tokens`
 * the output cap; `stream` a boolean. SGLang's body names no model, so none is read (no rewrite).
 * Prefix hashing covers `input_ids` as JSON, as a token-id completions prompt (prompt-text.ts).
 */
import { BadRequestError } from '../errors/errors.js';
import { countOf, decodeJsonObject, pathWithoutQuery } from './json-body.js';
import type { LLMRequest } from './llm-request.js';

/** The path suffix the parser claims; only `/generate` itself is parsed. */
export const SGLANG_GENERATE_SUFFIX = 'generate';

export function isSglangGeneratePath(path: string): boolean {
  const p = pathWithoutQuery(path.trim());
  return p === '/generate' || p === 'generate';
}

const UINT32_MAX = 0xffffffff;

function problemOf(body: Readonly<Record<string, unknown>>): string | undefined {
  const ids = body.input_ids;
  if (ids === undefined || ids === null) return 'input_ids must be provided';
  if (!Array.isArray(ids) || !ids.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= UINT32_MAX)) {
    return 'input_ids must be an array of uint32 integers';
  }
  if (ids.length === 0) return 'input_ids cannot be empty';
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') return 'stream must be a boolean';
  return undefined;
}

/** Parses an SGLang generate body; BadRequestError (400) for another path or an invalid body. */
export function parseSglangGenerateRequest(path: string, bytes: Buffer): LLMRequest {
  if (!isSglangGeneratePath(path)) throw new BadRequestError(`unsupported path: ${pathWithoutQuery(path).slice(0, 256)}`);
  const body = decodeJsonObject(bytes);
  const problem = problemOf(body);
  if (problem !== undefined) throw new BadRequestError(`invalid generate request: ${problem}`);
  const key = body.extra_key;
  if (key !== undefined && key !== null && typeof key !== 'string') throw new BadRequestError('unsupported generate request: extra_key must be a string');
  const sampling = body.sampling_params;
  return {
    api: 'sglang-generate',
    model: '',
    stream: body.stream === true,
    cacheSalt: typeof key === 'string' && key !== '' ? key : undefined,
    body,
    bodyBytes: bytes.length,
    maxOutputTokens: typeof sampling === 'object' && sampling !== null && !Array.isArray(sampling) ? countOf((sampling as Record<string, unknown>).max_new_tokens) : undefined,
  };
}
