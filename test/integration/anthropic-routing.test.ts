/**
 * Anthropic Messages and vLLM generate requests end to end with the default configuration (whose
 * parser list is openai → anthropic → vllmhttp → passthrough): through the local gateway and the
 * picker to mock replicas, with prefix affinity on the system prompt, the Anthropic answer (JSON
 * and SSE) passed back intact, usage read from it into the token metrics, and a bad body refused
 * with 400 before it reaches a replica.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PickerServer } from '../../src/app.js';
import { startGateway, type GatewayServer } from '../../src/gateway/gateway.js';
import { startMockVllm, type MockVllmServer } from '../../src/mockvllm/server.js';
import { startTestPicker } from '../helpers/picker.js';

const MODEL = 'claude-mock';
let mocks: MockVllmServer[] = [];
let picker: PickerServer;
let gateway: GatewayServer;

beforeAll(async () => {
  mocks = await Promise.all([0, 1, 2, 3].map((i) => startMockVllm({ host: `127.0.0.${141 + i}`, port: 0, model: MODEL, podName: `pod-${i}`, profile: 'none' })));
  picker = await startTestPicker({ config: 'default', discovery: { endpoints: mocks.map((m, i) => ({ name: `r${i}`, address: m.host, port: m.port, labels: {} })) } });
  await vi.waitFor(() => expect(picker.datastore.snapshot.endpoints.every((e) => e.metrics.known)).toBe(true), { timeout: 5000 });
  gateway = await startGateway({ host: '127.0.0.1', port: 0, epp: `127.0.0.1:${picker.grpcPort}` });
});

afterAll(async () => {
  await gateway.close();
  await picker.shutdown(1000);
  await Promise.all(mocks.map((m) => m.close()));
});

const post = (path: string, body: unknown): Promise<Response> =>
  fetch(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body: JSON.stringify(body) });

describe('Anthropic /v1/messages through the picker', () => {
  it('routes to a replica and returns its message; a shared system prompt keeps to one replica', async () => {
    const system = (g: number): string => `You are assistant number ${g}, a careful reviewer. `.repeat(150);
    const homes = new Set<string>();
    for (let g = 0; g < 4; g++) {
      const pods = new Set<string>();
      for (let i = 0; i < 6; i++) {
        const res = await post('/v1/messages', { model: MODEL, max_tokens: 4, system: [{ type: 'text', text: system(g) }], messages: [{ role: 'user', content: `question ${i}` }] });
        expect(res.status).toBe(200);
        const body = (await res.json()) as { type: string; content: { type: string }[]; usage: { output_tokens: number } };
        expect(body.type).toBe('message');
        expect(body.content[0]?.type).toBe('text');
        expect(body.usage.output_tokens).toBe(4);
        pods.add(res.headers.get('x-inference-pod') ?? 'none');
      }
      expect(pods.size).toBe(1);
      homes.add([...pods][0] ?? '');
    }
    expect(homes.size).toBeGreaterThanOrEqual(2);
  });

  it('streams Anthropic events back and records their usage as token metrics', async () => {
    const tokens = async (family: string): Promise<number> => {
      const line = (await picker.metrics.registry.metrics()).split('\n').find((l) => l.startsWith(`inference_objective_${family}_tokens_sum{`) && l.includes(`model_name="${MODEL}"`));
      return Number(line?.split(' ').at(-1) ?? 0);
    };
    const [inputBefore, outputBefore] = [await tokens('input'), await tokens('output')];
    const res = await post('/v1/messages', { model: MODEL, max_tokens: 3, stream: true, messages: [{ role: 'user', content: [{ type: 'text', text: 'stream please' }] }] });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('event: message_start');
    expect(text).toContain('event: message_stop');
    // The input count comes from the stream's message_start event, the output count from message_delta.
    const start = /event: message_start\ndata: (.*)\n/.exec(text)?.[1] ?? '{}';
    const inputTokens = (JSON.parse(start) as { message: { usage: { input_tokens: number } } }).message.usage.input_tokens;
    expect(inputTokens).toBeGreaterThan(0);
    await vi.waitFor(async () => expect([await tokens('input'), await tokens('output')]).toEqual([inputBefore + inputTokens, outputBefore + 3]));
  });

  it('forwards count_tokens unparsed, and refuses an invalid messages body with 400', async () => {
    const count = await post('/v1/messages/count_tokens', { model: MODEL, messages: [{ role: 'user', content: 'hi' }] });
    expect(count.status).toBe(200);
    expect(((await count.json()) as { input_tokens: number }).input_tokens).toBeGreaterThan(0);
    const bad = await post('/v1/messages', { model: MODEL, max_tokens: 3, messages: [] });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('must have at least one message');
  });
});

describe('vLLM /inference/v1/generate through the picker', () => {
  it('routes pre-tokenized requests and refuses one without token ids', async () => {
    const res = await post('/inference/v1/generate', { model: MODEL, token_ids: [11, 12, 13], sampling_params: { max_tokens: 2 } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: { token_ids: number[] }[] };
    expect(body.choices[0]?.token_ids).toHaveLength(2);
    const bad = await post('/inference/v1/generate', { model: MODEL, token_ids: [] });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('token_ids');
  });
});
