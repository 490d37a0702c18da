/**
 * Several pools behind one gateway, chosen by the body's model (BBR + HTTPRoute, in-process): each
 * model's requests reach only its own replicas, through its own picker; unknown models get 404.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PickerServer } from '../../src/app.js';
import { startGateway, type GatewayServer } from '../../src/gateway/gateway.js';
import { startMockVllm, type MockVllmServer } from '../../src/mockvllm/server.js';
import { startTestPicker } from '../helpers/picker.js';

const LLAMA = 'meta-llama/Llama-3.1-8B-Instruct';
const QWEN = 'Qwen/Qwen2.5-3B-Instruct';
const mocks: MockVllmServer[] = [];
const pickers: PickerServer[] = [];
let gateway: GatewayServer;

async function pool(model: string, prefix: string): Promise<PickerServer> {
  const replicas: MockVllmServer[] = [];
  for (let i = 0; i < 2; i++) replicas.push(await startMockVllm({ host: '127.0.0.1', port: 0, model, profile: 'none', podName: `${prefix}-${i}` }));
  mocks.push(...replicas);
  const picker = await startTestPicker({ discovery: { endpoints: replicas.map((m, i) => ({ name: `${prefix}-${i}`, address: m.host, port: m.port, labels: {} })) } });
  pickers.push(picker);
  return picker;
}

beforeAll(async () => {
  const llama = await pool(LLAMA, 'llama');
  const qwen = await pool(QWEN, 'qwen');
  gateway = await startGateway({
    host: '127.0.0.1',
    port: 0,
    pools: [
      { model: LLAMA, epp: `127.0.0.1:${llama.grpcPort}` },
      { model: QWEN, epp: `127.0.0.1:${qwen.grpcPort}` },
    ],
  });
});

afterAll(async () => {
  await gateway.close();
  for (const p of pickers) await p.shutdown(1000);
  await Promise.all(mocks.map((m) => m.close()));
});

async function complete(model: unknown, prompt: string): Promise<Response> {
  return fetch(`${gateway.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, prompt, max_tokens: 2 }) });
}

describe('multi-model gateway', () => {
  it("routes each model's requests only to its own replicas, through its own picker", async () => {
    const served = new Map<string, Set<string>>([
      [LLAMA, new Set()],
      [QWEN, new Set()],
    ]);
    for (let i = 0; i < 12; i++) {
      const model = i % 2 === 0 ? LLAMA : QWEN;
      const res = await complete(model, `prompt number ${i}`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { model: string };
      expect(body.model).toBe(model);
      served.get(model)?.add(res.headers.get('x-inference-pod') ?? '');
    }
    expect([...(served.get(LLAMA) ?? [])].every((p) => p.startsWith('llama-'))).toBe(true);
    expect([...(served.get(QWEN) ?? [])].every((p) => p.startsWith('qwen-'))).toBe(true);
    const counted = async (p: PickerServer): Promise<number> => {
      const text = await p.metrics.registry.metrics();
      return [...text.matchAll(/^inference_objective_request_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    };
    expect(await counted(pickers[0] as PickerServer)).toBe(6);
    expect(await counted(pickers[1] as PickerServer)).toBe(6);
  });

  it('streams chat completions through the chosen pool', async () => {
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: QWEN, stream: true, messages: [{ role: 'user', content: 'hello' }] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-inference-pod')).toMatch(/^qwen-/);
    expect(await res.text()).toContain('data: [DONE]');
  });

  it('answers 404 with an OpenAI-style error for an unknown model, and for a body without one', async () => {
    const unknown = await complete('gpt-4o', 'hi');
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toBe('application/json');
    expect(await unknown.json()).toEqual({ error: { message: 'The model `gpt-4o` does not exist.', type: 'invalid_request_error', param: 'model', code: 'model_not_found' } });
    const none = await fetch(`${gateway.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'hi' }) });
    expect(none.status).toBe(404);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('model_not_found');
    expect(gateway.stats.noRoute).toBe(2);
  });
});
