/**
 * vLLM's native `/inference/v1/generate` request as the reference's vllmhttp-parser reads it: a JSON
 * object whose `token_ids` is a non-empty array of integers in [0, 2^32-1] (the prompt, already
 * tokenized); `model` read when a string; `sampling_params.max_tokens` the output cap; `stream`;
 * `cache_salt`; and an optional `features` block with per-modality content hashes
 * (`mm_hashes: {modality: [hash…]}`) and placeholder ranges (`mm_placeholders: {modality:
 * [{offset, length}…]}`), checked for shape. Prefix hashing covers `token_ids` as JSON, as a
 * token-id completions prompt (prompt-text.ts), so the two APIs share cached prefixes.
 */
import { BadRequestError } from '../errors/errors.js';
import { countOf, decodeJsonObject, optionalModel, pathWithoutQuery } from './json-body.js';
import type { LLMRequest } from './llm-request.js';

/** The path suffix the parser claims (the reference's `Claims().Paths`). */
export const GENERATE_PATH_SUFFIX = 'inference/v1/generate';

export function isGeneratePath(path: string): boolean {
  return pathWithoutQuery(path).endsWith(GENERATE_PATH_SUFFIX);
}

const UINT32_MAX = 0xffffffff;

function tokenIdsProblem(ids: unknown): string | undefined {
  if (ids !== undefined && ids !== null && !Array.isArray(ids)) return 'token_ids must be an array of integers';
  if (!Array.isArray(ids) || ids.length === 0) return 'must have non-empty token_ids field';
  for (let i = 0; i < ids.length; i++) {
    const v: unknown = ids[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > UINT32_MAX) return `token_ids[${i}]: invalid value ${JSON.stringify(v)?.slice(0, 32) ?? 'undefined'}`;
  }
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function featuresProblem(features: unknown): string | undefined {
  if (features === undefined || features === null) return undefined;
  if (!isObject(features)) return 'features must be an object';
  const hashes = features.mm_hashes;
  if (hashes !== undefined && hashes !== null) {
    if (!isObject(hashes)) return 'features.mm_hashes must be an object of string arrays';
    for (const [modality, list] of Object.entries(hashes)) {
      if (list === null) continue;
      if (!Array.isArray(list) || !list.every((h) => typeof h === 'string')) return `features.mm_hashes.${modality.slice(0, 64)} must be an array of strings`;
    }
  }
  const placeholders = features.mm_placeholders;
  if (placeholders !== undefined && placeholders !== null) {
    if (!isObject(placeholders)) return 'features.mm_placeholders must be an object of range arrays';
    for (const [modality, list] of Object.entries(placeholders)) {
      if (list === null) continue;
      const ok =
        Array.isArray(list) &&
        list.every((r) => isObject(r) && (r.offset === undefined || Number.isInteger(r.offset)) && (r.length === undefined || Number.isInteger(r.length)));
      if (!ok) return `features.mm_placeholders.${modality.slice(0, 64)} must be an array of {offset, length} integer ranges`;
    }
  }
  return undefined;
}

/** Parses a generate body; BadRequestError (400) for a path it does not serve or an invalid body. */
export function parseGenerateRequest(path: string, bytes: Buffer): LLMRequest {
  if (!isGeneratePath(path)) throw new BadRequestError(`unsupported path: ${pathWithoutQuery(path).slice(0, 256)}`);
  const body = decodeJsonObject(bytes);
  const problem = tokenIdsProblem(body.token_ids) ?? featuresProblem(body.features);
  if (problem !== undefined) throw new BadRequestError(`invalid generate request: ${problem}`);
  const salt = body.cache_salt;
  const sampling = body.sampling_params;
  return {
    api: 'generate',
    model: optionalModel(body),
    stream: body.stream === true,
    cacheSalt: typeof salt === 'string' ? salt : undefined,
    body,
    bodyBytes: bytes.length,
    maxOutputTokens: isObject(sampling) ? countOf(sampling.max_tokens) : undefined,
  };
}

