import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { BadRequestError } from '../../../src/errors/errors.js';
import { promptText } from '../../../src/prefix/prompt-text.js';
import { rewriteModel } from '../../../src/request/model-rewrite.js';
import { MAX_MODEL_NAME_BYTES } from '../../../src/request/json-body.js';
import { ParserRegistry } from '../../../src/request/parser-registry.js';
import { OpenAIParser, PassthroughParser, sharedParsePool } from '../../../src/request/request-parser.js';
import type { VertexAIParser } from '../../../src/request/vertexai-parser.js';
import { vertexAIParserFactory } from '../../../src/request/vertexai-parser.js';
import { parseVertexAIRequest, vertexJsonOf } from '../../../src/request/vertexai-request.js';

afterAll(() => sharedParsePool().close());

// A minimal protobuf/gRPC encoder for the test's own messages (independent of the parser's code).
function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 128) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const ld = (field: number, payload: Buffer): Buffer => Buffer.concat([Buffer.from([...varint((field << 3) | 2), ...varint(payload.length)]), payload]);
const str = (s: string): Buffer => Buffer.from(s, 'utf8');
function frame(message: Buffer, flag = 0): Buffer {
  const header = Buffer.alloc(5);
  header[0] = flag;
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}
/** A Vertex request message: endpoint (1), http_body (2) { content_type (1), data (2) }. */
const vertexMessage = (json: unknown): Buffer =>
  Buffer.concat([ld(1, str('projects/p/locations/l/endpoints/e')), ld(2, Buffer.concat([ld(1, str('application/json')), ld(2, str(typeof json === 'string' ? json : JSON.stringify(json)))]))]);
const vertexFrame = (json: unknown): Buffer => frame(vertexMessage(json));

const CHAT = '/google.cloud.aiplatform.v1beta1.PredictionService/ChatCompletions';
const RAW = '/google.cloud.aiplatform.v1beta1.PredictionService/RawPredict';
const STREAM_RAW = '/google.cloud.aiplatform.v1.PredictionService/StreamRawPredict';
const chat = { model: 'google/gemma-3', messages: [{ role: 'user', content: 'Hello' }], stream: true, max_tokens: 32 };

describe('vertexai-parser: Vertex AI PredictionService gRPC requests', () => {
  it('reads model, prompt and stream from the chat completions JSON inside ChatCompletions', () => {
    const llm = parseVertexAIRequest(CHAT, vertexFrame(chat));
    expect(llm).toMatchObject({ api: 'chat-completions', model: 'google/gemma-3', stream: true, maxOutputTokens: 32, envelope: 'vertexai-grpc', bodyBytes: JSON.stringify(chat).length });
    expect(llm?.body).toEqual(chat);
    expect(promptText(llm as NonNullable<typeof llm>, 1000)).toContain('Hello');
  });

  it('reads RawPredict and StreamRawPredict bodies as OpenAI Responses requests', () => {
    for (const path of [RAW, STREAM_RAW, `${RAW}/`, `${STREAM_RAW}?x=1`]) {
      const llm = parseVertexAIRequest(path, vertexFrame({ model: 'm', input: `hi from ${path}`, max_output_tokens: 7 }));
      expect(llm).toMatchObject({ api: 'responses', model: 'm', stream: false, maxOutputTokens: 7 });
      expect(promptText(llm as NonNullable<typeof llm>, 1000)).toContain('hi from');
    }
  });

  it('ignores bytes after the declared message, merges repeated HttpBody fields (last data wins), skips unknown fields', () => {
    const trailing = Buffer.concat([vertexFrame(chat), Buffer.from([9, 9, 9])]);
    expect(parseVertexAIRequest(CHAT, trailing)?.model).toBe('google/gemma-3');
    const twice = frame(Buffer.concat([ld(2, ld(2, str('{"model":"old","messages":[]}'))), Buffer.from([0x18, 0x96, 0x01]), Buffer.from([0x25, 1, 2, 3, 4]), ld(2, ld(2, str(JSON.stringify(chat))))]));
    expect(parseVertexAIRequest(CHAT, twice)?.model).toBe('google/gemma-3');
  });

  it('routes a path that is none of the three methods unparsed', () => {
    expect(parseVertexAIRequest('/google.cloud.aiplatform.v1.PredictionService/Predict', Buffer.alloc(0))).toBeUndefined();
  });

  it('refuses malformed frames, messages and inner bodies with 400 (BadRequestError)', () => {
    const message = vertexMessage(chat);
    for (const [body, text] of [
      [Buffer.from([0, 0, 0, 0]), 'invalid gRPC frame: expected at least 5 bytes'],
      [frame(message, 1), 'compressed gRPC payload is not supported'],
      [frame(message, 7), 'compression flag 7'],
      [frame(message).subarray(0, 20), 'incomplete gRPC payload'],
      [frame(Buffer.from([0xff])), 'unmarshaling ChatCompletionsRequest: truncated varint'],
      [frame(Buffer.from(Array.from({ length: 11 }, () => 0xff))), 'varint longer than 10 bytes'],
      [frame(Buffer.from([0x12, 0x7f, 1])), 'runs past the end of the message'],
      [frame(Buffer.from([0x0b])), 'unsupported wire type 3'],
      [frame(Buffer.from([0x02, 0])), 'invalid field number 0'],
      [frame(ld(1, str('endpoint'))), 'ChatCompletionsRequest has no HttpBody'],
      [frame(ld(2, Buffer.from([0x12, 9]))), 'unmarshaling HttpBody'],
      [frame(ld(2, ld(1, str('application/json')))), 'error unmarshaling request body'],
      [vertexFrame('not json'), 'error unmarshaling request body'],
      [vertexFrame({ messages: [{ role: 'user', content: 'x' }] }), 'model not found'],
      [vertexFrame({ model: 'm', messages: [] }), 'invalid chat-completions request'],
      [vertexFrame({ model: 'x'.repeat(MAX_MODEL_NAME_BYTES + 1), messages: [{ role: 'user', content: 'x' }] }), `longer than ${MAX_MODEL_NAME_BYTES} bytes`],
    ] as const) {
      expect(() => parseVertexAIRequest(CHAT, body)).toThrow(BadRequestError);
      expect(() => parseVertexAIRequest(CHAT, body)).toThrow(text);
    }
    expect(() => parseVertexAIRequest(RAW, vertexFrame({ model: 'm' }))).toThrow('invalid responses request: input is required');
  });

  it('rewrites the model inside the envelope, keeping every other field, to a frame that parses again', () => {
    const original = vertexFrame(chat);
    const llm = parseVertexAIRequest(CHAT, original);
    if (llm === undefined) throw new Error('expected a request');
    const rewritten = rewriteModel(original, llm, 'served/model-b');
    const again = parseVertexAIRequest(CHAT, rewritten);
    expect(again).toMatchObject({ model: 'served/model-b', stream: true, api: 'chat-completions' });
    expect(JSON.parse(vertexJsonOf(rewritten).toString())).toEqual({ ...chat, model: 'served/model-b' });
    // endpoint (field 1) and content_type (HttpBody field 1) survive
    expect(rewritten.includes(str('projects/p/locations/l/endpoints/e'))).toBe(true);
    expect(rewritten.includes(str('application/json'))).toBe(true);
    expect(rewritten.readUInt32BE(1)).toBe(rewritten.length - 5);
  });

  it('is a plugin with no parameters, claims the three methods, and parses a large body off the event loop to the inline result', async () => {
    const parser = vertexAIParserFactory('v', undefined, undefined as never) as VertexAIParser;
    expect(parser.typedName).toEqual({ type: 'vertexai-parser', name: 'v' });
    expect(() => vertexAIParserFactory('v', { x: 1 }, undefined as never)).toThrow();
    const registry = new ParserRegistry([new OpenAIParser('openai-parser'), parser, new PassthroughParser('passthrough-parser')]);
    for (const path of [CHAT, RAW, STREAM_RAW]) expect(registry.resolve(path)).toBe(parser);
    expect(registry.resolve('/v1/chat/completions').typedName.type).toBe('openai-parser');
    expect(registry.resolve('/google.cloud.aiplatform.v1.PredictionService/Predict').typedName.type).toBe('passthrough-parser');
    expect(() => new ParserRegistry([new OpenAIParser('o')]).resolve(CHAT)).toThrow('vertexai-parser would take it');

    const big = { ...chat, messages: [{ role: 'user', content: 'y'.repeat(400_000) }] };
    const large = await parser.parseLarge(CHAT, vertexFrame(big));
    expect(large).toMatchObject({ api: 'chat-completions', model: chat.model, stream: true, envelope: 'vertexai-grpc' });
    expect(promptText(large as NonNullable<typeof large>, 64).slice(0, 64)).toBe(promptText(parser.parse(CHAT, vertexFrame(big)) as NonNullable<typeof large>, 64).slice(0, 64));
    const rewritten = rewriteModel(vertexFrame(big), large as NonNullable<typeof large>, 'b');
    expect(parser.parse(CHAT, rewritten)?.model).toBe('b');
    await expect(parser.parseLarge(CHAT, vertexFrame({ ...big, model: '' }))).rejects.toThrow(BadRequestError);
    await expect(parser.parseLarge(CHAT, Buffer.from([1, 0, 0, 0, 0]))).rejects.toThrow(BadRequestError);
  });

  it('never throws anything but BadRequestError on arbitrary bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        for (const body of [Buffer.from(bytes), frame(Buffer.from(bytes))]) {
          try {
            parseVertexAIRequest(CHAT, body);
          } catch (err) {
            expect(err).toBeInstanceOf(BadRequestError);
          }
        }
      }),
      { numRuns: 500, seed: 14 },
    );
  });
});
