import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { BadRequestError } from '../../../src/errors/errors.js';
import { promptText } from '../../../src/prefix/prompt-text.js';
import { anthropicParserFactory, AnthropicParser } from '../../../src/request/anthropic-parser.js';
import { parseAnthropicRequest } from '../../../src/request/anthropic-request.js';
import { rewriteModel } from '../../../src/request/model-rewrite.js';
import { MAX_JSON_DEPTH, MAX_MODEL_NAME_BYTES } from '../../../src/request/json-body.js';
import { multimodalItemsOf } from '../../../src/request/multimodal-items.js';
import { sharedParsePool } from '../../../src/request/request-parser.js';
import { SummarizedRequest, summarizeRequest } from '../../../src/request/request-summary.js';
import { UsageTracker } from '../../../src/request/usage-tracker.js';

afterAll(() => sharedParsePool().close());

const bytes = (v: unknown): Buffer => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const parse = (path: string, v: unknown) => parseAnthropicRequest(path, bytes(v));

const request = {
  model: 'claude-sonnet-4-5',
  max_tokens: 1024,
  stream: true,
  cache_salt: 'tenant-a',
  system: [{ type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } }],
  tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
  messages: [
    { role: 'user', content: 'Hello' },
    { role: 'assistant', content: [{ type: 'text', text: 'Hi.' }] },
    { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } }] },
  ],
};

describe('anthropic-parser: /v1/messages', () => {
  it('reads model, stream, max_tokens and cache_salt, and keeps the body', () => {
    const llm = parse('/v1/messages', request);
    expect(llm).toMatchObject({ api: 'messages', model: 'claude-sonnet-4-5', stream: true, cacheSalt: 'tenant-a', maxOutputTokens: 1024, bodyBytes: bytes(request).length });
    expect(llm?.body).toEqual(request);
    const plain = parse('/v1/messages?beta=true', { model: 'm', max_tokens: 'lots', stream: 'yes', messages: [{ role: 'user', content: 'x' }] });
    expect(plain).toMatchObject({ stream: false, maxOutputTokens: undefined, cacheSalt: undefined });
  });

  it('takes a missing model as empty, as upstream, but bounds a given one', () => {
    expect(parse('/v1/messages', { messages: [{ role: 'user', content: 'x' }] })?.model).toBe('');
    expect(() => parse('/v1/messages', { model: 'm'.repeat(MAX_MODEL_NAME_BYTES + 1), messages: [{ role: 'user', content: 'x' }] })).toThrow(`longer than ${MAX_MODEL_NAME_BYTES} bytes`);
  });

  it('hashes system, tools and messages in rendering order, and the off-loop summary agrees', () => {
    const llm = parse('/v1/messages', request);
    if (llm === undefined) throw new Error('parsed');
    const full = promptText(llm, Number.POSITIVE_INFINITY);
    // The image is hashed as its stand-in (a NUL, then its hash over 640×360/1024 = 225 tokens), not its JSON.
    const image = multimodalItemsOf(llm)[0];
    expect(image).toMatchObject({ modality: 'image' });
    const imageJson = JSON.stringify({ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } });
    const standIn = `\u0000${(image?.hash ?? '').repeat(64).slice(0, 225 * 4)}`;
    expect(full).toBe(JSON.stringify([{ system: request.system }, { tools: request.tools }, { messages: request.messages }]).replace(imageJson, standIn));
    expect(full.startsWith(promptText(llm, 20))).toBe(true);
    const summarized = new SummarizedRequest(summarizeRequest('/v1/messages', bytes(request), 1 << 20), bytes(request));
    expect(summarized).toMatchObject({ api: 'messages', model: llm.model, stream: true, cacheSalt: 'tenant-a', maxOutputTokens: 1024, promptComplete: true });
    expect(promptText(summarized, 64)).toBe(full);
    // Different system prompts must not share a prefix.
    const other = parse('/v1/messages', { ...request, system: 'Be verbose.' });
    if (other === undefined) throw new Error('parsed');
    expect(promptText(other, 16)).not.toBe(promptText(llm, 16));
  });

  it('refuses invalid bodies with 400 errors naming the problem', () => {
    for (const [body, message] of [
      ['{"model":', 'error unmarshaling request body'],
      ['[1]', 'must be a JSON object'],
      [{ model: 'm' }, 'invalid messages request: must have at least one message'],
      [{ model: 'm', messages: [] }, 'must have at least one message'],
      [{ model: 'm', messages: 'hi' }, 'messages must be an array'],
      [{ model: 'm', messages: [7] }, 'messages[0] must be an object'],
      [{ model: 'm', messages: [{ role: 1, content: 'x' }] }, 'messages[0].role must be a string'],
      [{ model: 'm', messages: [{ role: 'user', content: 5 }] }, 'messages[0].content must be a string or an array of content blocks'],
      [{ model: 'm', messages: [{ role: 'user', content: ['x'] }] }, 'messages[0].content[0] must be a content block object'],
      [{ model: 'm', system: { text: 'x' }, messages: [{ role: 'user', content: 'x' }] }, 'system must be a string or an array of content blocks'],
      [{ model: 'm', tools: {}, messages: [{ role: 'user', content: 'x' }] }, 'tools must be an array'],
    ] as const) {
      expect(() => parse('/v1/messages', body)).toThrow(BadRequestError);
      expect(() => parse('/v1/messages', body)).toThrow(message);
    }
    const deep = `{"model":"m","messages":[{"role":"user","content":"x"}],"x":${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}}`;
    expect(() => parse('/v1/messages', deep)).toThrow('deeper than');
  });

  it('forwards count_tokens unparsed, and refuses paths it does not serve', async () => {
    expect(parse('/v1/messages/count_tokens', 'not even json')).toBeUndefined();
    const parser = anthropicParserFactory('a', undefined, undefined as never) as AnthropicParser;
    expect(parser.typedName).toEqual({ type: 'anthropic-parser', name: 'a' });
    expect(await parser.parseLarge('/v1/messages/count_tokens/', bytes('x'))).toBeUndefined();
    expect(() => parse('/v1/chat/completions', request)).toThrow('unsupported API endpoint: /v1/chat/completions');
  });

  it('parses a large body off the event loop to the inline result', async () => {
    const big = { ...request, messages: [{ role: 'user', content: 'é'.repeat(300_000) }] };
    const parser = new AnthropicParser('a');
    const llm = await parser.parseLarge('/v1/messages', bytes(big));
    expect(llm).toMatchObject({ api: 'messages', model: 'claude-sonnet-4-5', maxOutputTokens: 1024 });
    await expect(parser.parseLarge('/v1/messages', bytes({ model: 'm', messages: [] }))).rejects.toThrow(BadRequestError);
  });

  it('rewrites the model in place', () => {
    const body = bytes(request);
    const llm = parse('/v1/messages', request);
    if (llm === undefined) throw new Error('parsed');
    const out = JSON.parse(rewriteModel(body, llm, 'served-model').toString('utf8')) as Record<string, unknown>;
    expect(out).toEqual({ ...request, model: 'served-model' });
  });

  it('never throws anything but BadRequestError on arbitrary input (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (s) => {
        try {
          parseAnthropicRequest('/v1/messages', Buffer.from(s));
        } catch (err) {
          expect(err).toBeInstanceOf(BadRequestError);
        }
      }),
      { numRuns: 500, seed: 14 },
    );
  });
});

describe('usage in Anthropic responses', () => {
  const track = (contentType: string, chunks: string[]) => {
    const t = new UsageTracker();
    t.start(contentType);
    for (const c of chunks) t.chunk(Buffer.from(c));
    return t.finish();
  };

  it('reads a JSON response with cache reads', () => {
    const body = { id: 'msg_1', type: 'message', usage: { input_tokens: 25, output_tokens: 9, cache_read_input_tokens: 16, cache_creation_input_tokens: 0 } };
    expect(track('application/json', [JSON.stringify(body)])).toEqual({ promptTokens: 25, completionTokens: 9, cachedTokens: 16 });
  });

  it('merges message_start and message_delta events of a stream', () => {
    const events = [
      'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":25,"output_tokens":1,"cache_read_input_tokens":8}}}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\n\n',
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":15}}\n\n',
      'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    ].join('');
    for (const cut of [5, 70, 200, events.length - 3]) {
      expect(track('text/event-stream', [events.slice(0, cut), events.slice(cut)])).toEqual({ promptTokens: 25, completionTokens: 15, cachedTokens: 8 });
    }
  });
});
