import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { BadRequestError } from '../../../src/errors/errors.js';
import { promptText } from '../../../src/prefix/prompt-text.js';
import { parseGenerateRequest } from '../../../src/request/generate-request.js';
import { parseOpenAIRequest } from '../../../src/request/openai-parser.js';
import { MAX_JSON_DEPTH, MAX_MODEL_NAME_BYTES } from '../../../src/request/json-body.js';
import { sharedParsePool } from '../../../src/request/request-parser.js';
import type { VllmHttpParser } from '../../../src/request/vllmhttp-parser.js';
import { vllmHttpParserFactory } from '../../../src/request/vllmhttp-parser.js';

afterAll(() => sharedParsePool().close());

const bytes = (v: unknown): Buffer => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const parse = (v: unknown, path = '/inference/v1/generate') => parseGenerateRequest(path, bytes(v));

const request = {
  model: 'Qwen/Qwen3-0.6B',
  token_ids: [151644, 872, 198, 9707, 0],
  sampling_params: { max_tokens: 64, temperature: 0 },
  stream: true,
  cache_salt: 's',
  features: { mm_hashes: { image: ['abc123'] }, mm_placeholders: { image: [{ offset: 2, length: 1 }] } },
};

describe('vllmhttp-parser: /inference/v1/generate', () => {
  it('reads model, stream, sampling_params.max_tokens and cache_salt', () => {
    expect(parse(request)).toMatchObject({ api: 'generate', model: 'Qwen/Qwen3-0.6B', stream: true, cacheSalt: 's', maxOutputTokens: 64, bodyBytes: bytes(request).length });
    expect(parse({ token_ids: [1], max_tokens: 9 }, '/inference/v1/generate/?x=1')).toMatchObject({ model: '', stream: false, maxOutputTokens: undefined, cacheSalt: undefined });
  });

  it('hashes the token ids as a token-id completions prompt does', () => {
    const llm = parse(request);
    const completions = parseOpenAIRequest('/v1/completions', bytes({ model: 'm', prompt: request.token_ids }));
    expect(promptText(llm, Number.POSITIVE_INFINITY)).toBe(JSON.stringify(request.token_ids));
    expect(promptText(llm, Number.POSITIVE_INFINITY)).toBe(promptText(completions, Number.POSITIVE_INFINITY));
  });

  it('refuses invalid bodies with 400 errors naming the problem', () => {
    for (const [body, message] of [
      ['nope', 'error unmarshaling request body'],
      [{ model: 'm' }, 'invalid generate request: must have non-empty token_ids field'],
      [{ token_ids: [] }, 'must have non-empty token_ids field'],
      [{ token_ids: 'abc' }, 'token_ids must be an array of integers'],
      [{ token_ids: [1, -1] }, 'token_ids[1]: invalid value -1'],
      [{ token_ids: [1.5] }, 'token_ids[0]: invalid value 1.5'],
      [{ token_ids: [2 ** 32] }, 'token_ids[0]: invalid value'],
      [{ token_ids: [1], features: [] }, 'features must be an object'],
      [{ token_ids: [1], features: { mm_hashes: { image: [1] } } }, 'features.mm_hashes.image must be an array of strings'],
      [{ token_ids: [1], features: { mm_placeholders: { image: [{ offset: 'a' }] } } }, 'features.mm_placeholders.image must be an array of {offset, length} integer ranges'],
      [{ token_ids: [1], model: 'x'.repeat(MAX_MODEL_NAME_BYTES + 1) }, `longer than ${MAX_MODEL_NAME_BYTES} bytes`],
      [`{"token_ids":[1],"x":${'{"a":'.repeat(MAX_JSON_DEPTH + 1)}1${'}'.repeat(MAX_JSON_DEPTH + 1)}}`, 'deeper than'],
    ] as const) {
      expect(() => parse(body)).toThrow(BadRequestError);
      expect(() => parse(body)).toThrow(message);
    }
    expect(() => parse(request, '/v1/completions')).toThrow('unsupported path: /v1/completions');
  });

  it('is a plugin, and parses a large body off the event loop to the inline result', async () => {
    const parser = vllmHttpParserFactory('g', undefined, undefined as never) as VllmHttpParser;
    expect(parser.typedName).toEqual({ type: 'vllmhttp-parser', name: 'g' });
    const big = { ...request, token_ids: Array.from({ length: 60_000 }, (_, i) => i) };
    const llm = await parser.parseLarge('/inference/v1/generate', bytes(big));
    expect(llm).toMatchObject({ api: 'generate', model: request.model, maxOutputTokens: 64, stream: true });
    expect(promptText(llm, 32).startsWith(promptText(parser.parse('/inference/v1/generate', bytes(big)), 32))).toBe(true);
    await expect(parser.parseLarge('/inference/v1/generate', bytes({ token_ids: [] }))).rejects.toThrow(BadRequestError);
  });

  it('never throws anything but BadRequestError on arbitrary input (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (s) => {
        try {
          parseGenerateRequest('/inference/v1/generate', Buffer.from(s));
        } catch (err) {
          expect(err).toBeInstanceOf(BadRequestError);
        }
      }),
      { numRuns: 500, seed: 14 },
    );
  });
});
