/**
 * End to end through the local gateway (playing Envoy), the picker and mock vLLM replicas: the path a
 * user's curl takes in `npm start`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PickerServer } from '../../src/app.js';
import { startGateway, type GatewayServer } from '../../src/gateway/gateway.js';
import { startMockVllm, type MockVllmServer } from '../../src/mockvllm/server.js';
import { startTestPicker } from '../helpers/picker.js';

const MODEL = 'Qwen/Qwen2.5-3B-Instruct';
let mocks: MockVllmServer[] = [];
let picker: PickerServer;
let gateway: GatewayServer;

beforeAll(async () => {
  // Distinct loopback addresses make distinct "pods".
  mocks = await Promise.all([0, 1, 2].map((i) => startMockVllm({ host: `127.0.0.${31 + i}`, port: 0, model: MODEL, podName: `vllm-${i}`, profile: 'none' })));
  picker = await startTestPicker({ discovery: { endpoints: mocks.map((m, i) => ({ name: `vllm-${i}`, address: m.host, port: m.port, labels: {} })) } });
  gateway = await startGateway({ host: '127.0.0.1', port: 0, epp: `127.0.0.1:${picker.grpcPort}` });
});

afterAll(async () => {
  await gateway.close();
  await picker.shutdown(1000);
  await Promise.all(mocks.map((m) => m.close()));
});

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

describe('gateway → picker → mock vLLM', () => {
  it('returns a completion whose x-inference-pod names a replica, and distinct prompts reach several replicas', async () => {
    const pods = new Set<string>();
    for (let i = 0; i < 9; i++) {
      const res = await post('/v1/completions', { model: MODEL, prompt: `distinct prompt ${i}` });
      expect(res.status).toBe(200);
      const json = (await res.json()) as { object: string; choices: unknown[] };
      expect(json.object).toBe('text_completion');
      expect(json.choices.length).toBeGreaterThan(0);
      pods.add(res.headers.get('x-inference-pod') ?? '');
    }
    expect([...pods].every((p) => /^vllm-[012]$/.test(p))).toBe(true);
    expect(pods.size).toBeGreaterThan(1);
  });

  it('streams a chat completion as SSE ending in [DONE]', async () => {
    const res = await post('/v1/chat/completions', { model: MODEL, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hello' }] });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const text = await res.text();
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(text).toContain('"usage"');
  });

  it('answers GET /v1/models through a header-only routing decision', async () => {
    const res = await fetch(`${gateway.url}/v1/models`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: { id: string }[] }).data[0]?.id).toBe(MODEL);
  });

  it('forwards a large body intact (many ext_proc chunks each way)', async () => {
    const prompt = 'lorem ipsum '.repeat(40_000);
    const res = await post('/v1/completions', { model: MODEL, prompt, max_tokens: 4 });
    expect(res.status).toBe(200);
    const json = (await res.json()) as { usage: { prompt_tokens: number } };
    expect(json.usage.prompt_tokens).toBe(Math.ceil(prompt.length / 4));
  });

  it('turns picker errors into client responses: 400 for invalid JSON, 400 without model', async () => {
    const bad = await post('/v1/completions', 'no healthy upstream');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('inference error: BadRequest');
    const noModel = await post('/v1/completions', { prompt: 'x' });
    expect(noModel.status).toBe(400);
  });

  it('never routes to a client-chosen destination', async () => {
    const res = await post('/v1/completions', { model: MODEL, prompt: 'spoof' }, { 'x-gateway-destination-endpoint': '127.0.0.99:1' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-inference-pod')).toMatch(/^vllm-[012]$/);
  });
});
