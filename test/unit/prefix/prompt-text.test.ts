import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boundedJson, promptText } from '../../../src/prefix/prompt-text.js';
import type { ApiKind, LLMRequest } from '../../../src/request/llm-request.js';

const req = (api: ApiKind, body: Record<string, unknown>): LLMRequest => ({ api, model: 'm', stream: false, cacheSalt: undefined, body: { model: 'm', ...body }, bodyBytes: 0 });

describe('promptText', () => {
  it('completions: the prompt; string arrays joined with a space; token ids as JSON', () => {
    expect(promptText(req('completions', { prompt: 'hello world' }), 1000)).toBe('hello world');
    expect(promptText(req('completions', { prompt: ['a', 'b', 'c'] }), 1000)).toBe('a b c');
    expect(promptText(req('completions', { prompt: [1, 2, 3] }), 1000)).toBe('[1,2,3]');
    expect(promptText(req('completions', { prompt: [[1, 2], [3]] }), 1000)).toBe('[[1,2],[3]]');
  });

  it('chat: JSON of messages', () => {
    const messages = [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'hi "there"' },
    ];
    expect(promptText(req('chat-completions', { messages }), 10_000)).toBe(JSON.stringify(messages));
  });

  it('responses: JSON of [{instructions}?, {tools}?, {input}]', () => {
    expect(promptText(req('responses', { input: 'x' }), 1000)).toBe('[{"input":"x"}]');
    expect(promptText(req('responses', { input: [{ role: 'user', content: 'x' }], instructions: 'sys', tools: [{ type: 'f' }] }), 1000)).toBe(
      '[{"instructions":"sys"},{"tools":[{"type":"f"}]},{"input":[{"role":"user","content":"x"}]}]',
    );
  });

  it('conversations: JSON of items; embeddings: JSON of input', () => {
    expect(promptText(req('conversations', { items: [{ type: 'message' }] }), 1000)).toBe('[{"type":"message"}]');
    expect(promptText(req('embeddings', { input: 'abc' }), 1000)).toBe('"abc"');
    expect(promptText(req('embeddings', { input: ['a', 'b'] }), 1000)).toBe('["a","b"]');
  });

  it('stops serialising long arrays past the limit, keeping a prefix of the full text at least that long', () => {
    const messages = Array.from({ length: 200 }, (_, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: `message number ${i} `.repeat(20) }));
    const full = JSON.stringify(messages);
    const cut = promptText(req('chat-completions', { messages }), 5000);
    expect(cut.length).toBeGreaterThanOrEqual(5000);
    expect(cut.length).toBeLessThan(full.length);
    expect(full.startsWith(cut)).toBe(true);
    const prompts = Array.from({ length: 500 }, (_, i) => `p${i}`.repeat(10));
    const joined = promptText(req('completions', { prompt: prompts }), 300);
    expect(joined.length).toBeGreaterThanOrEqual(300);
    expect(prompts.join(' ').startsWith(joined)).toBe(true);
  });

  it('cuts a long message mid-string: a 100 KB message is not escaped whole to hash 16 KB', () => {
    const messages = [{ role: 'user', content: 'line "one"\n'.repeat(10_000) }];
    const cut = promptText(req('chat-completions', { messages }), 16_384);
    expect(cut.length).toBeGreaterThanOrEqual(16_384);
    // Escapes may lengthen the cut (`\n` is two units), but not to the whole message.
    expect(cut.length).toBeLessThan(2 * 16_384);
    expect(JSON.stringify(messages).startsWith(cut)).toBe(true);
  });
});

describe('boundedJson', () => {
  it('is JSON.stringify, or a prefix of it at least `limit` long', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'binary' }), fc.nat(300), (value, limit) => {
        const full = JSON.stringify(value);
        const out = boundedJson(value, limit);
        expect(full.startsWith(out)).toBe(true);
        expect(out.length).toBeGreaterThanOrEqual(Math.min(limit, full.length));
      }),
      { numRuns: 2000, seed: 5 },
    );
  });

  it('never splits a surrogate pair and keeps lone surrogates escaped as JSON.stringify does', () => {
    for (const s of ['ab😀cd', '😀😀😀', 'a\ud800b', 'x\udc00\ud800']) {
      const full = JSON.stringify([s]);
      for (let limit = 0; limit <= full.length + 1; limit++) expect(full.startsWith(boundedJson([s], limit))).toBe(true);
    }
  });
});
