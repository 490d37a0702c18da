/**
 * Issue 13's done-when: with the default config (legacy admission, the default utilization detector)
 * and a saturated pool, a request whose only priority signal is `x-llm-d-inference-objective`
 * naming a sheddable objective is shed with 429; a non-sheddable one is routed. The legacy
 * `x-gateway-inference-objective` name still works, and neither name reaches the model server.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PickerServer } from '../../src/app.js';
import { startMockVllm, type MockVllmServer } from '../../src/mockvllm/server.js';
import { startTestPicker, writeEndpointsFile } from '../helpers/picker.js';
import { RawExtProcClient, requestBody, requestHeaders, type RawStream } from '../helpers/raw-extproc-client.js';

const OBJECTIVES = 'objectives:\n  - {name: batch, priority: -1}\n  - {name: chat, priority: 1}\n';

interface Pool {
  readonly picker: PickerServer;
  readonly client: RawExtProcClient;
  readonly mocks: readonly MockVllmServer[];
}

async function pool(firstHost: number, queue: number, kv: number): Promise<Pool> {
  const mocks: MockVllmServer[] = [];
  for (let i = 0; i < 2; i++) {
    mocks.push(await startMockVllm({ host: `127.0.0.${firstHost + i}`, port: 0, model: 'base', profile: 'none', fakeMetrics: { 'waiting-requests': queue, 'kv-cache-usage': kv } }));
  }
  const endpoints = mocks.map((m, i) => `  - {name: pod-${i}, address: ${m.host}, port: ${m.port}}`).join('\n');
  const picker = await startTestPicker({ config: 'default', discovery: { endpointsFile: writeEndpointsFile(`endpoints:\n${endpoints}\n${OBJECTIVES}`) } });
  await vi.waitFor(() => expect(picker.datastore.snapshot.endpoints.every((e) => e.metrics.known)).toBe(true), { timeout: 5000 });
  return { picker, client: new RawExtProcClient(`127.0.0.1:${picker.grpcPort}`), mocks };
}

async function send(p: Pool, headers: Record<string, string>): Promise<RawStream> {
  const s = p.client.open();
  s.send(requestHeaders({ ':method': 'POST', ':path': '/v1/completions', ...headers }));
  s.send(requestBody('{"model":"base","prompt":"hello"}', true));
  await s.until((x) => x.responses.length > 0);
  s.halfClose();
  return s;
}

const immediate = (s: RawStream) => s.responses[0]?.msg.immediate_response;
const routed = (s: RawStream) => s.responses[0]?.msg.request_headers?.response?.header_mutation;

let saturated: Pool;
let idle: Pool;

beforeAll(async () => {
  // The default utilization detector: saturated at queue ≥ 5 or KV use ≥ 0.8 on every endpoint.
  saturated = await pool(161, 20, 0.95);
  idle = await pool(163, 0, 0.1);
});

afterAll(async () => {
  for (const p of [saturated, idle]) {
    p.client.close();
    await p.picker.shutdown(1000);
    for (const m of p.mocks) await m.close();
  }
});

describe('x-llm-d-inference-objective under saturation (default config, legacy admission)', () => {
  it('sheds a request whose only priority signal is a sheddable objective in the new header: 429, no dropped-reason', async () => {
    const r = immediate(await send(saturated, { 'x-llm-d-inference-objective': 'batch' }));
    expect(r?.status?.code).toBe(429);
    expect(r?.body?.toString()).toBe('inference error: ResourceExhausted - system saturated, sheddable request dropped');
    expect(r?.headers?.set_headers?.map((o) => o.header?.key)).not.toContain('x-llm-d-request-dropped-reason');
  });

  it('routes a non-sheddable objective named in the new header, and strips the header from the forwarded request', async () => {
    const m = routed(await send(saturated, { 'x-llm-d-inference-objective': 'chat' }));
    const dest = m?.set_headers?.find((o) => o.header?.key === 'x-gateway-destination-endpoint')?.header?.raw_value?.toString();
    expect(saturated.mocks.map((x) => `${x.host}:${x.port}`)).toContain(dest);
    expect(m?.remove_headers).toContain('x-llm-d-inference-objective');
  });

  it('still honours the legacy header name, and the new name wins when both are sent', async () => {
    expect(immediate(await send(saturated, { 'x-gateway-inference-objective': 'batch' }))?.status?.code).toBe(429);
    const both = await send(saturated, { 'x-llm-d-inference-objective': 'chat', 'x-gateway-inference-objective': 'batch' });
    expect(immediate(both)).toBeUndefined();
    expect(routed(both)?.remove_headers).toEqual(expect.arrayContaining(['x-llm-d-inference-objective', 'x-gateway-inference-objective']));
  });

  it('counts the request under the objective priority it resolved to', async () => {
    await send(saturated, { 'x-llm-d-inference-objective': 'chat' });
    expect(await saturated.picker.metrics.registry.metrics()).toMatch(/inference_objective_request_total\{[^}]*priority="1"\} [1-9]/);
  });

  it('leaves W3C trace context for the data plane to pass on: traceparent and tracestate are neither removed nor rewritten', async () => {
    const m = routed(await send(idle, { 'x-llm-d-inference-objective': 'chat', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'v=1' }));
    expect(m).toBeDefined();
    expect(m?.remove_headers ?? []).not.toEqual(expect.arrayContaining(['traceparent']));
    expect(m?.remove_headers ?? []).not.toEqual(expect.arrayContaining(['tracestate']));
    expect(m?.set_headers?.map((o) => o.header?.key)).not.toEqual(expect.arrayContaining(['traceparent']));
  });

  it('routes the same sheddable request when the pool is not saturated', async () => {
    expect(routed(await send(idle, { 'x-llm-d-inference-objective': 'batch' }))).toBeDefined();
  });
});
