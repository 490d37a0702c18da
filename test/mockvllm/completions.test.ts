import { afterEach, describe, it, expect } from 'vitest';
import { startMockVllm, type MockVllmOptions, type MockVllmServer } from '../../src/mockvllm/server.js';

const MODEL = 'Qwen/Qwen2.5-3B-Instruct';
const servers: MockVllmServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(extra: Partial<MockVllmOptions> = {}): Promise<MockVllmServer> {
  const server = await startMockVllm({ host: '127.0.0.1', port: 0, model: MODEL, podName: 'pod-a', profile: 'none', ...extra });
  servers.push(server);
  return server;
}

function post(server: MockVllmServer, path: string, body: unknown): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

type Json = Record<string, unknown>;

/** Splits an SSE body into its `data:` payloads, checking the framing on the way. */
function sseData(text: string): string[] {
  expect(text.endsWith('\n\n')).toBe(true);
  return text
    .slice(0, -2)
    .split('\n\n')
    .map((frame) => {
      expect(frame.startsWith('data: ')).toBe(true);
      return frame.slice('data: '.length);
    });
}

function expectIdentity(res: Response, server: MockVllmServer): void {
  expect(res.headers.get('x-inference-pod')).toBe('pod-a');
  expect(res.headers.get('x-inference-port')).toBe(String(server.port));
}

describe('POST /v1/completions', () => {
  it('returns a text_completion with max_tokens tokens and estimated usage', async () => {
    const server = await start();
    const prompt = 'The quick brown fox jumps over the lazy dog';
    const res = await post(server, '/v1/completions', { model: MODEL, prompt, max_tokens: 5 });
    expect(res.status).toBe(200);
    expectIdentity(res, server);
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = (await res.json()) as Json;
    expect(body).toMatchObject({ object: 'text_completion', model: MODEL });
    expect(body.id).toMatch(/^cmpl-[0-9a-f]{32}$/);
    expect(Number.isInteger(body.created)).toBe(true);
    const choices = body.choices as Json[];
    expect(choices).toHaveLength(1);
    expect(choices[0]).toMatchObject({ index: 0, finish_reason: 'length' });
    const text = choices[0]?.text as string;
    expect(text.split(' ')).toHaveLength(5);
    for (const word of text.split(' ')) expect(prompt.toLowerCase().split(' ')).toContain(word);
    const promptTokens = Math.ceil(prompt.length / 4);
    expect(body.usage).toMatchObject({ prompt_tokens: promptTokens, completion_tokens: 5, total_tokens: promptTokens + 5 });
  });

  it('is deterministic for the same prompt and defaults to 16 tokens', async () => {
    const server = await start();
    const one = (await (await post(server, '/v1/completions', { model: MODEL, prompt: 'alpha beta gamma' })).json()) as Json;
    const two = (await (await post(server, '/v1/completions', { model: MODEL, prompt: 'alpha beta gamma' })).json()) as Json;
    expect((one.choices as Json[])[0]?.text).toBe((two.choices as Json[])[0]?.text);
    expect(one.usage).toMatchObject({ completion_tokens: 16 });
  });

  it('defaults a missing model to the served model', async () => {
    const server = await start();
    const res = await post(server, '/v1/completions', { prompt: 'hi', max_tokens: 1 });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Json).model).toBe(MODEL);
  });

  it('answers a batch of prompts with one choice each, counting token-id prompts by length', async () => {
    const server = await start();
    const res = await post(server, '/v1/completions', { model: MODEL, prompt: [[1, 2, 3, 4, 5, 6, 7], 'abcd'], max_tokens: 2 });
    const body = (await res.json()) as Json;
    expect((body.choices as Json[]).map((c) => c.index)).toEqual([0, 1]);
    expect(body.usage).toMatchObject({ prompt_tokens: 8, completion_tokens: 4, total_tokens: 12 });
  });

  it('streams one chunk per token, a finish chunk, the usage chunk and [DONE]', async () => {
    const server = await start();
    const res = await post(server, '/v1/completions', {
      model: MODEL,
      prompt: 'stream me some words',
      max_tokens: 4,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(res.status).toBe(200);
    expectIdentity(res, server);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const data = sseData(await res.text());
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as Json);
    expect(chunks).toHaveLength(4 + 1 + 1);
    const ids = new Set(chunks.map((c) => c.id));
    expect(ids.size).toBe(1);
    for (const c of chunks) expect(c.object).toBe('text_completion');
    const tokens = chunks.slice(0, 4).map((c) => (c.choices as Json[])[0]);
    for (const t of tokens) expect(t).toMatchObject({ index: 0, finish_reason: null });
    expect(tokens.map((t) => t?.text).join('').split(' ')).toHaveLength(4);
    expect((chunks[4]?.choices as Json[])[0]).toMatchObject({ text: '', finish_reason: 'length' });
    expect(chunks[5]).toMatchObject({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 } });
  });

  it('omits usage from the stream unless include_usage is set', async () => {
    const server = await start();
    const res = await post(server, '/v1/completions', { model: MODEL, prompt: 'no usage please', max_tokens: 2, stream: true });
    const data = sseData(await res.text());
    expect(data).toHaveLength(2 + 1 + 1);
    expect(data.at(-1)).toBe('[DONE]');
    for (const d of data.slice(0, -1)) expect(JSON.parse(d)).not.toHaveProperty('usage');
  });

  it('puts running usage on every chunk with continuous_usage_stats', async () => {
    const server = await start();
    const res = await post(server, '/v1/completions', {
      model: MODEL,
      prompt: 'abcdefgh',
      max_tokens: 3,
      stream: true,
      stream_options: { continuous_usage_stats: true },
    });
    const chunks = sseData(await res.text())
      .slice(0, -1)
      .map((d) => JSON.parse(d) as { usage: { completion_tokens: number; prompt_tokens: number } });
    expect(chunks.map((c) => c.usage.completion_tokens)).toEqual([1, 2, 3, 3]);
    for (const c of chunks) expect(c.usage.prompt_tokens).toBe(2);
  });
});

describe('POST /v1/chat/completions', () => {
  it('returns a chat.completion with an assistant message', async () => {
    const server = await start();
    const res = await post(server, '/v1/chat/completions', {
      model: MODEL,
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: [{ type: 'text', text: 'Tell me about routers' }] },
      ],
      max_completion_tokens: 3,
      max_tokens: 99,
    });
    expect(res.status).toBe(200);
    expectIdentity(res, server);
    const body = (await res.json()) as Json;
    expect(body).toMatchObject({ object: 'chat.completion', model: MODEL });
    expect(body.id).toMatch(/^chatcmpl-/);
    const choice = (body.choices as Json[])[0];
    expect(choice).toMatchObject({ index: 0, finish_reason: 'length', message: { role: 'assistant' } });
    expect(((choice?.message as Json).content as string).split(' ')).toHaveLength(3);
    const usage = body.usage as { prompt_tokens: number; completion_tokens: number; total_tokens: number };
    expect(usage.completion_tokens).toBe(3);
    expect(usage.prompt_tokens).toBeGreaterThan(Math.ceil('You are terse.Tell me about routers'.length / 4));
    expect(usage.total_tokens).toBe(usage.prompt_tokens + 3);
  });

  it('streams a role chunk first, then content deltas, a finish chunk, usage and [DONE]', async () => {
    const server = await start();
    const res = await post(server, '/v1/chat/completions', {
      model: MODEL,
      messages: [{ role: 'user', content: 'hello streaming world' }],
      max_tokens: 3,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const data = sseData(await res.text());
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as Json);
    expect(chunks).toHaveLength(1 + 3 + 1 + 1);
    for (const c of chunks) expect(c.object).toBe('chat.completion.chunk');
    expect((chunks[0]?.choices as Json[])[0]).toMatchObject({ delta: { role: 'assistant', content: '' }, finish_reason: null });
    const deltas = chunks.slice(1, 4).map((c) => (c.choices as Json[])[0]?.delta as Json);
    for (const d of deltas) {
      expect(d).not.toHaveProperty('role');
      expect(typeof d.content).toBe('string');
    }
    expect((chunks[4]?.choices as Json[])[0]).toMatchObject({ delta: {}, finish_reason: 'length' });
    expect(chunks[5]).toMatchObject({ choices: [], usage: { completion_tokens: 3 } });
  });

  it('accepts a loaded LoRA adapter as the model and echoes its name', async () => {
    const server = await start({ loras: [{ name: 'sql-lora', path: '/adapters/sql' }] });
    const res = await post(server, '/v1/chat/completions', { model: 'sql-lora', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Json).model).toBe('sql-lora');
  });
});

describe('errors', () => {
  it('answers an unknown model with vLLM 404 NotFoundError', async () => {
    const server = await start();
    const res = await post(server, '/v1/chat/completions', { model: 'nope', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(404);
    expectIdentity(res, server);
    expect(await res.json()).toEqual({
      object: 'error',
      message: 'The model `nope` does not exist.',
      type: 'NotFoundError',
      param: null,
      code: 404,
    });
  });

  it.each([
    ['/v1/completions', '{"model":'],
    ['/v1/completions', '[1,2]'],
    ['/v1/completions', { model: MODEL }],
    ['/v1/completions', { model: MODEL, prompt: '' }],
    ['/v1/completions', { model: MODEL, prompt: [] }],
    ['/v1/completions', { model: MODEL, prompt: [{}] }],
    ['/v1/completions', { model: MODEL, prompt: 'x', max_tokens: 0 }],
    ['/v1/completions', { model: MODEL, prompt: 'x', max_tokens: 'ten' }],
    ['/v1/completions', { model: MODEL, prompt: 'x', max_tokens: 1_000_000 }],
    ['/v1/completions', { model: MODEL, prompt: 'x', stream: 'yes' }],
    ['/v1/completions', { model: MODEL, prompt: 'x', stream_options: { include_usage: true } }],
    ['/v1/completions', { model: 7, prompt: 'x' }],
    ['/v1/chat/completions', { model: MODEL }],
    ['/v1/chat/completions', { model: MODEL, messages: [] }],
    ['/v1/chat/completions', { model: MODEL, messages: ['hi'] }],
    ['/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 5 }] }],
  ])('answers a bad body on %s (%j) with 400 BadRequestError', async (path, body) => {
    const server = await start();
    const res = await post(server, path, body);
    expect(res.status).toBe(400);
    expectIdentity(res, server);
    const err = (await res.json()) as Json;
    expect(err).toMatchObject({ object: 'error', type: 'BadRequestError', param: null, code: 400 });
    expect(typeof err.message).toBe('string');
  });
});
