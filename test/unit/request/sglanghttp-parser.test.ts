import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { BadRequestError } from '../../../src/errors/errors.js';
import { promptText } from '../../../src/prefix/prompt-text.js';
import { MAX_JSON_DEPTH } from '../../../src/request/json-body.js';
import { ParserRegistry } from '../../../src/request/parser-registry.js';
import { OpenAIParser, PassthroughParser, sharedParsePool } from '../../../src/request/request-parser.js';
import { parseSglangGenerateRequest } from '../../../src/request/sglang-request.js';
import { sglangHttpParserFactory, type SglangHttpParser } from '../../../src/request/sglanghttp-parser.js';
import { UsageTracker } from '../../../src/request/usage-tracker.js';
import { VllmHttpParser } from '../../../src/request/vllmhttp-parser.js';

afterAll(() => sharedParsePool().close());

const bytes = (v: unknown): Buffer => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const parse = (v: unknown, path = '/generate') => parseSglangGenerateRequest(path, bytes(v));
const request = { input_ids: [1, 2, 3], extra_key: 'tenant', sampling_params: { max_new_tokens: 32, temperature: 0 }, stream: true };

describe('sglanghttp-parser: /generate', () => {
  it('reads input_ids, extra_key as the cache salt, max_new_tokens and stream; no model', () => {
    const llm = parse(request);
    expect(llm).toMatchObject({ api: 'sglang-generate', model: '', stream: true, cacheSalt: 'tenant', maxOutputTokens: 32 });
    expect(promptText(llm, 100)).toBe('[1,2,3]');
    expect(parse({ input_ids: [7], sampling_params: { max_new_tokens: -1 } }, '/generate/?x=1')).toMatchObject({ stream: false, cacheSalt: undefined, maxOutputTokens: undefined });
  });

  it('refuses invalid bodies and other paths with 400', () => {
    for (const [body, message] of [
      ['{', 'error unmarshaling request body'],
      [{ text: 'hi' }, 'invalid generate request: input_ids must be provided'],
      [{ input_ids: [] }, 'input_ids cannot be empty'],
      [{ input_ids: 'hi' }, 'input_ids must be an array of uint32 integers'],
      [{ input_ids: [-1] }, 'input_ids must be an array of uint32 integers'],
      [{ input_ids: [1], stream: 'yes' }, 'stream must be a boolean'],
      [{ input_ids: [1], extra_key: 5 }, 'unsupported generate request: extra_key must be a string'],
      [`{"input_ids":[1],"x":${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}}`, 'deeper than'],
    ] as const) {
      expect(() => parse(body)).toThrow(BadRequestError);
      expect(() => parse(body)).toThrow(message);
    }
    expect(() => parse(request, '/v1/generate')).toThrow('unsupported path: /v1/generate');
  });

  it('is claimed for …generate below vLLM’s longer suffix, and parses large bodies off the loop', async () => {
    const sglang = sglangHttpParserFactory('s', undefined, undefined as never) as SglangHttpParser;
    const vllm = new VllmHttpParser('v');
    const registry = new ParserRegistry([new OpenAIParser('o'), vllm, sglang, new PassthroughParser('p')]);
    expect(registry.resolve('/generate')).toBe(sglang);
    expect(registry.resolve('/inference/v1/generate')).toBe(vllm);
    const big = { ...request, input_ids: Array.from({ length: 60_000 }, (_, i) => i) };
    expect(await sglang.parseLarge('/generate', bytes(big))).toMatchObject({ api: 'sglang-generate', cacheSalt: 'tenant', maxOutputTokens: 32 });
    await expect(sglang.parseLarge('/generate', bytes({ input_ids: [] }))).rejects.toThrow(BadRequestError);
  });

  it('reads usage from meta_info in JSON and in the stream (the last chunk holds the totals)', () => {
    const track = (ct: string, text: string) => {
      const t = new UsageTracker();
      t.start(ct);
      t.chunk(Buffer.from(text));
      return t.finish();
    };
    expect(track('application/json', '{"text":"hi","meta_info":{"prompt_tokens":3,"completion_tokens":2,"cached_tokens":1,"finish_reason":{"type":"length"}}}')).toEqual({
      promptTokens: 3,
      completionTokens: 2,
      cachedTokens: 1,
    });
    const stream = [1, 2, 3].map((n) => `data: {"text":"t","meta_info":{"prompt_tokens":3,"completion_tokens":${n},"cached_tokens":0,"finish_reason":${n === 3 ? '{"type":"length"}' : 'null'}}}\n\n`).join('') + 'data: [DONE]\n\n';
    expect(track('text/event-stream', stream)).toEqual({ promptTokens: 3, completionTokens: 3, cachedTokens: 0 });
  });

  it('never throws anything but BadRequestError on arbitrary input (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (s) => {
        try {
          parseSglangGenerateRequest('/generate', Buffer.from(s));
        } catch (err) {
          expect(err).toBeInstanceOf(BadRequestError);
        }
      }),
      { numRuns: 300, seed: 14 },
    );
  });
});
