import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../../src/errors/errors.js';
import { ParserRegistry } from '../../../src/request/parser-registry.js';
import { AnthropicParser } from '../../../src/request/anthropic-parser.js';
import { OpenAIParser, PassthroughParser } from '../../../src/request/request-parser.js';
import { VllmHttpParser } from '../../../src/request/vllmhttp-parser.js';

const body = Buffer.from(JSON.stringify({ model: 'm', prompt: 'hi' }));

describe('ParserRegistry (requestHandler.parsers)', () => {
  it('sends claimed paths to openai and everything else to the passthrough fallback', async () => {
    const openai = new OpenAIParser('openai-parser');
    const passthrough = new PassthroughParser('passthrough-parser');
    const registry = new ParserRegistry([openai, passthrough]);
    expect(registry.resolve('/v1/chat/completions?x=1')).toBe(openai);
    expect(registry.resolve('/v1/completions/')).toBe(openai);
    expect(registry.resolve('/v1/images/generations')).toBe(openai);
    expect(registry.resolve('/v1/messages')).toBe(passthrough);
    expect(registry.parse('/v1/completions', body)?.model).toBe('m');
    expect(registry.parse('/inference/v1/generate', body)).toBeUndefined();
    expect(await registry.parseLarge('/v1/messages', body)).toBeUndefined();
  });

  it('skips a duplicate type and parsers after the fallback, and refuses an unclaimed path without a fallback', async () => {
    const registry = new ParserRegistry([new PassthroughParser('p1'), new OpenAIParser('o1')]);
    expect(registry.skipped).toEqual(['o1 (listed after the fallback parser p1)']);
    expect(registry.resolve('/v1/completions').typedName.name).toBe('p1');
    const onlyOpenAI = new ParserRegistry([new OpenAIParser('o1'), new OpenAIParser('o2')]);
    expect(onlyOpenAI.skipped).toEqual(['o2 (a parser of type openai-parser is already listed)']);
    expect(() => onlyOpenAI.resolve('/v1/messages')).toThrow(BadRequestError);
    expect(() => onlyOpenAI.resolve('/v1/messages?beta=true')).toThrow('no parser is configured for path /v1/messages (anthropic-parser would take it)');
    expect(() => onlyOpenAI.resolve('/inference/v1/generate')).toThrow('(vllmhttp-parser would take it)');
    expect(() => onlyOpenAI.resolve('/v1/models')).toThrow('no parser is configured for path /v1/models (no parser type claims it; add passthrough-parser to route it unparsed)');
    await expect(onlyOpenAI.parseLarge('/v1/messages', body)).rejects.toThrow(BadRequestError);
  });

  it('sends Anthropic and vLLM generate paths to their parsers in the default list', () => {
    const [openai, anthropic, vllm, passthrough] = [new OpenAIParser('o'), new AnthropicParser('a'), new VllmHttpParser('v'), new PassthroughParser('p')];
    const registry = new ParserRegistry([openai, anthropic, vllm, passthrough]);
    expect(registry.resolve('/v1/messages')).toBe(anthropic);
    expect(registry.resolve('/v1/messages/count_tokens?beta=true')).toBe(anthropic);
    expect(registry.resolve('/inference/v1/generate')).toBe(vllm);
    expect(registry.resolve('/v1/chat/completions')).toBe(openai);
    expect(registry.resolve('/v1/models')).toBe(passthrough);
    expect(registry.parse('/v1/messages', Buffer.from('{"model":"c","messages":[{"role":"user","content":"hi"}]}'))).toMatchObject({ api: 'messages', model: 'c' });
    expect(registry.parse('/inference/v1/generate', Buffer.from('{"token_ids":[1,2]}'))).toMatchObject({ api: 'generate' });
    expect(registry.parse('/v1/messages/count_tokens', Buffer.from('{}'))).toBeUndefined();
  });
});
