import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockVllm, type MockVllmServer } from '../../src/mockvllm/server.js';
import { UsageTracker } from '../../src/request/usage-tracker.js';

const MODEL = 'claude-mock';
let server: MockVllmServer;

beforeAll(async () => {
  server = await startMockVllm({ host: '127.0.0.1', port: 0, model: MODEL, podName: 'pod-n', profile: 'none' });
});
afterAll(() => server.close());

const post = (path: string, body: unknown): Promise<Response> =>
  fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** The `event:` / `data:` pairs of an Anthropic-style SSE body. */
function events(text: string): { event: string; data: Record<string, unknown> }[] {
  return text
    .split('\n\n')
    .filter((frame) => frame.trim() !== '')
    .map((frame) => {
      const lines = frame.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? '';
      const data = JSON.parse(lines.find((l) => l.startsWith('data: '))?.slice(6) ?? 'null') as Record<string, unknown>;
      return { event, data };
    });
}

const messages = { model: MODEL, max_tokens: 5, system: 'Be brief.', messages: [{ role: 'user', content: [{ type: 'text', text: 'alpha beta gamma' }] }] };

describe('mock model server: Anthropic /v1/messages', () => {
  it('answers a message with text content and Anthropic usage', async () => {
    const res = await post('/v1/messages', messages);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-inference-pod')).toBe('pod-n');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ type: 'message', role: 'assistant', model: MODEL, stop_reason: 'max_tokens', stop_sequence: null });
    expect(String(body.id)).toMatch(/^msg_/);
    const content = body.content as { type: string; text: string }[];
    expect(content).toHaveLength(1);
    expect(content[0]?.type).toBe('text');
    expect(content[0]?.text.split(' ')).toHaveLength(5);
    const usage = body.usage as { input_tokens: number; output_tokens: number };
    expect(usage.output_tokens).toBe(5);
    expect(usage.input_tokens).toBeGreaterThan(0);
  });

  it('streams the Anthropic event sequence, whose usage the picker reads', async () => {
    const res = await post('/v1/messages', { ...messages, stream: true });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await res.text();
    const seq = events(text);
    expect(seq.map((e) => e.event)).toEqual(['message_start', 'content_block_start', 'ping', ...Array<string>(5).fill('content_block_delta'), 'content_block_stop', 'message_delta', 'message_stop']);
    for (const e of seq) expect(e.data.type).toBe(e.event);
    expect(text).not.toContain('[DONE]');
    const start = seq[0]?.data.message as { usage: { input_tokens: number } };
    const tracker = new UsageTracker();
    tracker.start('text/event-stream');
    tracker.chunk(Buffer.from(text));
    expect(tracker.finish()).toEqual({ promptTokens: start.usage.input_tokens, completionTokens: 5, cachedTokens: 0 });
  });

  it('counts tokens, and refuses a body without max_tokens or messages', async () => {
    const count = (await (await post('/v1/messages/count_tokens', { model: MODEL, messages: messages.messages })).json()) as { input_tokens: number };
    expect(count.input_tokens).toBeGreaterThan(0);
    expect((await post('/v1/messages', { model: MODEL, messages: messages.messages })).status).toBe(400);
    expect((await post('/v1/messages', { model: MODEL, max_tokens: 3, messages: [] })).status).toBe(400);
    expect((await post('/v1/messages', { ...messages, model: 'other' })).status).toBe(404);
  });
});

describe('mock model server: vLLM /inference/v1/generate', () => {
  const generate = { model: MODEL, token_ids: [1, 2, 3, 4], sampling_params: { max_tokens: 3 } };

  it('answers with generated token ids, usage and (for a prefill leg) kv_transfer_params', async () => {
    const body = (await (await post('/inference/v1/generate', generate)).json()) as Record<string, unknown>;
    const choices = body.choices as { token_ids: number[]; finish_reason: string }[];
    expect(choices[0]?.token_ids).toHaveLength(3);
    expect(choices[0]?.finish_reason).toBe('length');
    expect(body.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 3 });
    expect(body.kv_transfer_params).toBeNull();
    const prefill = (await (await post('/inference/v1/generate', { ...generate, sampling_params: { max_tokens: 1, extra_args: { kv_transfer_params: { do_remote_decode: true } } } })).json()) as Record<string, unknown>;
    expect(prefill.kv_transfer_params).toMatchObject({ do_remote_prefill: true, remote_num_tokens: 4 });
  });

  it('streams one body per token and the finish, then [DONE]', async () => {
    const text = await (await post('/inference/v1/generate', { ...generate, stream: true, stream_options: { include_usage: true } })).text();
    const frames = text.split('\n\n').filter((f) => f.startsWith('data: '));
    expect(frames.at(-1)).toBe('data: [DONE]');
    const bodies = frames.slice(0, -1).map((f) => JSON.parse(f.slice(6)) as { choices: { token_ids: number[]; finish_reason: string | null }[]; usage?: unknown });
    expect(bodies.map((b) => b.choices[0]?.token_ids.length)).toEqual([1, 1, 1, 0]);
    expect(bodies.at(-1)?.choices[0]?.finish_reason).toBe('length');
    expect(bodies.at(-1)?.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 3 });
  });

  it('refuses a body without token ids', async () => {
    expect((await post('/inference/v1/generate', { model: MODEL, token_ids: [] })).status).toBe(400);
    expect((await post('/inference/v1/generate', { model: MODEL, prompt: 'x' })).status).toBe(400);
  });
});
