import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../../src/errors/errors.js';
import { apiKindForPath, parseOpenAIRequest } from '../../../src/request/openai-parser.js';
import { MAX_MODEL_NAME_BYTES } from '../../../src/request/json-body.js';
import { jsonNestsDeeperThan } from '../../../src/request/json-depth.js';
import { promptText } from '../../../src/prefix/prompt-text.js';

const parse = (path: string, body: unknown): ReturnType<typeof parseOpenAIRequest> =>
  parseOpenAIRequest(path, Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)));

describe('apiKindForPath', () => {
  it.each([
    ['/v1/completions', 'completions'],
    ['/v1/chat/completions', 'chat-completions'],
    ['/v1/chat/completions?x=1', 'chat-completions'],
    ['/v1/chat/completions/', 'chat-completions'],
    ['/openai/v1/responses', 'responses'],
    ['/v1/embeddings', 'embeddings'],
    ['/v1/conversations', 'conversations'],
    ['/v1/chat/completions/render', 'chat-completions'],
    ['/v1/completions/render', 'completions'],
    ['/v1/images/generations', 'images-generations'],
    ['/v1/unknown', 'completions'],
  ])('%s → %s', (path, kind) => expect(apiKindForPath(path)).toBe(kind));
});

describe('parseOpenAIRequest', () => {
  it('parses a completion with model, stream and cache_salt', () => {
    const r = parse('/v1/completions', { model: 'm', prompt: 'hi', stream: true, cache_salt: 's' });
    expect(r).toMatchObject({ api: 'completions', model: 'm', stream: true, cacheSalt: 's' });
  });

  it('accepts every legal prompt form', () => {
    for (const prompt of ['x', ['a', 'b'], [1, 2, 3], [[1, 2], [3]]]) expect(parse('/v1/completions', { model: 'm', prompt }).model).toBe('m');
  });

  it('parses image generation and render requests by their own schema', () => {
    const images = parse('/v1/images/generations', { model: 'flux', prompt: 'a red cube', n: 2, size: '512x512', num_inference_steps: 20 });
    expect(images).toMatchObject({ api: 'images-generations', model: 'flux', maxOutputTokens: undefined });
    expect(promptText(images, 1000)).toBe('a red cube');
    expect(parse('/v1/chat/completions/render', { model: 'm', messages: [{ role: 'user', content: 'x' }] }).api).toBe('chat-completions');
  });

  it('reads stream only when it is a boolean', () => {
    expect(parse('/v1/completions', { model: 'm', prompt: 'x', stream: 'true' }).stream).toBe(false);
  });

  it.each([
    ['not JSON', '/v1/completions', 'no healthy upstream', 'error unmarshaling request body'],
    ['non-object', '/v1/completions', '"x"', 'must be a JSON object'],
    ['array', '/v1/completions', '[]', 'must be a JSON object'],
    ['null', '/v1/completions', 'null', 'must be a JSON object'],
    ['no model', '/v1/completions', { prompt: 'x' }, 'model not found in request body'],
    ['numeric model', '/v1/completions', { model: 5, prompt: 'x' }, 'model not found in request body'],
    ['empty prompt', '/v1/completions', { model: 'm', prompt: '' }, 'prompt must not be empty'],
    ['no prompt', '/v1/completions', { model: 'm' }, 'prompt is required'],
    ['mixed prompt', '/v1/completions', { model: 'm', prompt: ['a', 1] }, 'mixes'],
    ['negative token', '/v1/completions', { model: 'm', prompt: [1, -1] }, 'token ids'],
    ['fractional token', '/v1/completions', { model: 'm', prompt: [1.5] }, 'token ids'],
    ['token above uint32', '/v1/completions', { model: 'm', prompt: [2 ** 33] }, 'token ids'],
    ['empty messages', '/v1/chat/completions', { model: 'm', messages: [] }, 'at least one message'],
    ['messages object', '/v1/chat/completions', { model: 'm', messages: {} }, 'must be an array'],
    ['message without role', '/v1/chat/completions', { model: 'm', messages: [{ content: 'x' }] }, 'role'],
    ['responses without input', '/v1/responses', { model: 'm' }, 'input is required'],
    ['embeddings without input', '/v1/embeddings', { model: 'm' }, 'input is required'],
    ['conversations without items', '/v1/conversations', { model: 'm', items: [] }, 'items'],
    ['images without prompt', '/v1/images/generations', { model: 'm', size: '1024x1024' }, 'invalid images-generations request: must have prompt field'],
    ['images with an empty prompt', '/v1/images/generations', { model: 'm', prompt: '' }, 'must have prompt field'],
    ['images with a fractional n', '/v1/images/generations', { model: 'm', prompt: 'a cat', n: 1.5 }, 'n must be an integer'],
    ['images with a string step count', '/v1/images/generations', { model: 'm', prompt: 'a cat', num_inference_steps: '20' }, 'num_inference_steps must be an integer'],
    ['images with a numeric size', '/v1/images/generations', { model: 'm', prompt: 'a cat', size: 1024 }, 'size must be a string'],
    ['chat render without messages', '/v1/chat/completions/render', { model: 'm', prompt: 'x' }, 'messages is required'],
  ])('rejects %s with 400', (_name, path, body, message) => {
    expect(() => parse(path, body)).toThrow(BadRequestError);
    expect(() => parse(path, body)).toThrow(message);
  });

  it(`rejects a model name over ${MAX_MODEL_NAME_BYTES} UTF-8 bytes with 400`, () => {
    expect(parse('/v1/completions', { model: 'm'.repeat(MAX_MODEL_NAME_BYTES), prompt: 'x' }).model).toHaveLength(MAX_MODEL_NAME_BYTES);
    for (const model of ['m'.repeat(MAX_MODEL_NAME_BYTES + 1), '€'.repeat(342), 'x'.repeat(1 << 20)]) {
      expect(() => parse('/v1/completions', { model, prompt: 'x' })).toThrow(BadRequestError);
      expect(() => parse('/v1/completions', { model, prompt: 'x' })).toThrow(`longer than ${MAX_MODEL_NAME_BYTES} bytes`);
    }
  });

  it('rejects pathological nesting before parsing, and tolerates brackets inside strings', () => {
    const deep = `{"model":"m","prompt":"x","a":${'['.repeat(600)}${']'.repeat(600)}}`;
    expect(() => parse('/v1/completions', deep)).toThrow('deeper than');
    expect(jsonNestsDeeperThan(Buffer.from(`{"p":"${'['.repeat(1000)}\\"["}`), 3)).toBe(false);
  });

  it('never throws anything but BadRequestError on arbitrary input (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 256 }), fc.json().map((j) => Buffer.from(j)), fc.anything().map((v) => Buffer.from(JSON.stringify(v) ?? 'x'))), fc.constantFrom('/v1/completions', '/v1/chat/completions', '/v1/responses', '/v1/embeddings', '/v1/conversations'), (bytes, path) => {
        try {
          const r = parseOpenAIRequest(path, Buffer.from(bytes));
          expect(typeof r.model).toBe('string');
        } catch (err) {
          expect(err).toBeInstanceOf(BadRequestError);
        }
      }),
      { numRuns: 2000, seed: 42 },
    );
  });
});

describe('maxOutputTokens (the client output cap llm-d reads per API)', () => {
  it('chat: max_completion_tokens, else max_tokens; malformed values are skipped', () => {
    const chat = (extra: Record<string, unknown>): number | undefined => parse('/v1/chat/completions', { model: 'm', messages: [{ role: 'user', content: 'hi' }], ...extra }).maxOutputTokens;
    expect(chat({ max_completion_tokens: 50, max_tokens: 70 })).toBe(50);
    expect(chat({ max_tokens: 70 })).toBe(70);
    expect(chat({ max_completion_tokens: -1, max_tokens: 70 })).toBe(70);
    expect(chat({ max_completion_tokens: 1.5, max_tokens: '9' })).toBeUndefined();
    expect(chat({})).toBeUndefined();
  });

  it('completions (both the fast path and the full parse): max_tokens; responses: max_output_tokens; others none', () => {
    expect(parse('/v1/completions', { model: 'm', prompt: 'a long prompt', max_tokens: 12 }).maxOutputTokens).toBe(12);
    expect(parse('/v1/completions', '{"model":"m","prompt":"x","max_tokens":1e2}').maxOutputTokens).toBe(100);
    expect(parse('/v1/completions', { model: 'm', prompt: ['a', 'b'], max_tokens: 12 }).maxOutputTokens).toBe(12);
    expect(parse('/v1/completions', { model: 'm', prompt: 'x', max_tokens: -3 }).maxOutputTokens).toBeUndefined();
    expect(parse('/v1/completions', { model: 'm', prompt: 'x', max_tokens: 'lots' }).maxOutputTokens).toBeUndefined();
    expect(parse('/v1/completions', { model: 'm', prompt: 'x', max_completion_tokens: 5 }).maxOutputTokens).toBeUndefined();
    expect(parse('/v1/responses', { model: 'm', input: 'x', max_output_tokens: 8, max_tokens: 9 }).maxOutputTokens).toBe(8);
    expect(parse('/v1/embeddings', { model: 'm', input: 'x', max_tokens: 9 }).maxOutputTokens).toBeUndefined();
  });
});
