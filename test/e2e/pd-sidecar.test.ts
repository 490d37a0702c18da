/**
 * `epp pd-sidecar` (in process) in front of a decode mock vLLM, with prefill mocks: the nixlv2
 * protocol end to end (prefill leg on the prefiller, decode leg locally, streamed and not), the
 * fallbacks, pass-through, and aborts on client disconnect.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/observability/logger.js';
import { startMockVllm, type MockVllmServer } from '../../src/mockvllm/server.js';
import { startPdSidecar, type PdSidecar } from '../../src/pdsidecar/sidecar.js';

let prefill: MockVllmServer;
let failing: MockVllmServer;
let decode: MockVllmServer;
let held: MockVllmServer;
let sidecar: PdSidecar;
let heldSidecar: PdSidecar;
const release: (() => void)[] = [];

const sidecarOptions = { host: '127.0.0.1', port: 0, connectTimeoutMs: 2000, prefillTimeoutMs: 10_000, idleTimeoutMs: 10_000, maxRequestBodyBytes: 1 << 20, logger: silentLogger() };

beforeAll(async () => {
  prefill = await startMockVllm({ host: '127.0.0.141', port: 0, model: 'm', profile: 'instant', podName: 'prefill-0' });
  failing = await startMockVllm({ host: '127.0.0.143', port: 0, model: 'm', profile: 'instant', podName: 'prefill-bad', failureInjectionRate: 100, failureTypes: ['server_error'], seed: 1 });
  decode = await startMockVllm({ host: '127.0.0.142', port: 0, model: 'm', profile: 'instant', podName: 'decode-0' });
  // Holds every token after the first until the request aborts (or the test releases it).
  held = await startMockVllm({
    host: '127.0.0.144',
    port: 0,
    model: 'm',
    profile: 'none',
    podName: 'decode-held',
    tokenPacer: (step, signal) =>
      step.index === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            signal.addEventListener('abort', () => resolve(), { once: true });
            release.push(resolve);
          }),
  });
  sidecar = await startPdSidecar({ ...sidecarOptions, vllmHost: decode.host, vllmPort: decode.port });
  heldSidecar = await startPdSidecar({ ...sidecarOptions, vllmHost: held.host, vllmPort: held.port });
});

afterAll(async () => {
  for (const r of release) r();
  await Promise.all([sidecar.close(), heldSidecar.close()]);
  await Promise.all([prefill, failing, decode, held].map((m) => m.close()));
});

async function metric(server: MockVllmServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return Number(line?.split(' ').pop() ?? Number.NaN);
}

const promptTokens = (s: MockVllmServer): Promise<number> => metric(s, 'vllm:prompt_tokens_total');
const hostPort = (s: MockVllmServer): string => `${s.host}:${s.port}`;
const longPrompt = (tag: string): string => `${tag}: ${'The quick brown fox jumps over the lazy dog. '.repeat(60)}`;

function post(url: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), ...(signal === undefined ? {} : { signal }) });
}

describe('mock vLLM P/D legs', () => {
  it('answers a do_remote_decode leg with kv_transfer_params for the decoder', async () => {
    const res = await post(`${prefill.url}/v1/completions`, { model: 'm', prompt: longPrompt('mock'), max_tokens: 1, kv_transfer_params: { do_remote_decode: true } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { kv_transfer_params: Record<string, unknown>; usage: { completion_tokens: number } };
    expect(body.usage.completion_tokens).toBe(1);
    expect(body.kv_transfer_params).toMatchObject({ do_remote_prefill: true, do_remote_decode: false, remote_host: '127.0.0.141', remote_port: 5600, tp_size: 1 });
    expect(typeof body.kv_transfer_params.remote_engine_id).toBe('string');
    expect((body.kv_transfer_params.remote_block_ids as unknown[]).length).toBeGreaterThan(0);
    // A decode leg with those params is served (after the simulated KV pull).
    const decoded = await post(`${decode.url}/v1/completions`, { model: 'm', prompt: longPrompt('mock'), max_tokens: 3, kv_transfer_params: body.kv_transfer_params });
    expect(decoded.status).toBe(200);
    expect(((await decoded.json()) as { kv_transfer_params: unknown }).kv_transfer_params).toBeNull();
  });
});

describe('epp pd-sidecar (nixlv2)', () => {
  it('runs the prefill leg on the prefiller, then decodes locally (non-streaming)', async () => {
    const [p0, d0] = [await promptTokens(prefill), await promptTokens(decode)];
    const prompt = longPrompt('plain');
    const res = await post(`${sidecar.url}/v1/completions`, { model: 'm', prompt, max_tokens: 5 }, { 'x-prefiller-host-port': hostPort(prefill) });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-inference-pod')).toBe('decode-0');
    const body = (await res.json()) as { usage: { completion_tokens: number; prompt_tokens: number; prompt_tokens_details: { cached_tokens: number } } };
    expect(body.usage.completion_tokens).toBe(5);
    expect(await promptTokens(prefill)).toBe(p0 + body.usage.prompt_tokens);
    expect(await promptTokens(decode)).toBe(d0 + body.usage.prompt_tokens);
    expect(body.usage.prompt_tokens_details.cached_tokens).toBe(0);
    // The same prompt again: the prefiller's prefix-cache hits are what the client sees.
    const again = (await (await post(`${sidecar.url}/v1/completions`, { model: 'm', prompt, max_tokens: 5 }, { 'x-prefiller-host-port': hostPort(prefill) })).json()) as typeof body;
    expect(again.usage.prompt_tokens_details.cached_tokens).toBeGreaterThan(0);
  });

  it('streams the decode leg with the client stream settings (chat)', async () => {
    const p0 = await promptTokens(prefill);
    const res = await post(
      `${sidecar.url}/v1/chat/completions`,
      { model: 'm', messages: [{ role: 'user', content: longPrompt('chat') }], max_completion_tokens: 4, stream: true, stream_options: { include_usage: true } },
      { 'x-prefiller-host-port': hostPort(prefill) },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(res.headers.get('x-inference-pod')).toBe('decode-0');
    const events = (await res.text()).split('\n').filter((l) => l.startsWith('data: '));
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((l) => JSON.parse(l.slice(6)) as { choices: { delta: { content?: string } }[]; usage?: { completion_tokens: number; prompt_tokens_details: { cached_tokens: number } | null } });
    expect(chunks.filter((c) => c.choices[0]?.delta.content !== undefined && c.choices[0].delta.content !== '').length).toBe(4);
    const usage = chunks.at(-1)?.usage;
    expect(usage?.completion_tokens).toBe(4);
    expect(usage?.prompt_tokens_details?.cached_tokens).toBe(0);
    expect(await promptTokens(prefill)).toBeGreaterThan(p0);
  });

  it('falls back to a local decode when the prefiller answers 5xx or cannot be reached', async () => {
    for (const target of [hostPort(failing), '127.0.0.145:1']) {
      const d0 = await promptTokens(decode);
      const res = await post(`${sidecar.url}/v1/completions`, { model: 'm', prompt: longPrompt(`fallback ${target}`), max_tokens: 2 }, { 'x-prefiller-host-port': target });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-inference-pod')).toBe('decode-0');
      const body = (await res.json()) as { usage: { completion_tokens: number; prompt_tokens: number } };
      expect(body.usage.completion_tokens).toBe(2);
      expect(await promptTokens(decode)).toBe(d0 + body.usage.prompt_tokens);
    }
    expect(await promptTokens(failing)).toBe(0);
  });

  it('answers a 4xx of the prefill leg as it is, without decoding', async () => {
    const d0 = await promptTokens(decode);
    const res = await post(`${sidecar.url}/v1/completions`, { model: 'm', prompt: longPrompt('4xx'), max_tokens: 2 }, { 'x-prefiller-host-port': hostPort(prefill), 'x-return-error': '429' });
    expect(res.status).toBe(429);
    expect(res.headers.get('x-inference-pod')).toBe('prefill-0');
    expect(await promptTokens(decode)).toBe(d0);
  });

  it('passes requests without the header, and other paths, straight to the local server', async () => {
    const p0 = await promptTokens(prefill);
    const res = await post(`${sidecar.url}/v1/completions`, { model: 'm', prompt: longPrompt('direct'), max_tokens: 2, stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-inference-pod')).toBe('decode-0');
    expect(await res.text()).toContain('data: [DONE]');
    expect(await promptTokens(prefill)).toBe(p0);
    const models = await fetch(`${sidecar.url}/v1/models`);
    expect(((await models.json()) as { data: { id: string }[] }).data[0]?.id).toBe('m');
    expect((await fetch(`${sidecar.url}/health`)).status).toBe(200);
    expect(await (await fetch(`${sidecar.url}/metrics`)).text()).toContain('vllm:num_requests_running');
    expect((await post(`${sidecar.url}/v1/completions`, 'not json', { 'x-prefiller-host-port': hostPort(prefill) })).status).toBe(400);
  });

  it('aborts the decode leg when the client disconnects mid-stream', async () => {
    const controller = new AbortController();
    const res = await post(`${heldSidecar.url}/v1/completions`, { model: 'm', prompt: longPrompt('abort'), max_tokens: 50, stream: true }, { 'x-prefiller-host-port': hostPort(prefill) }, controller.signal);
    const reader = res.body?.getReader();
    const first = (await reader?.read())?.value as Uint8Array | undefined;
    expect(Buffer.from(first ?? new Uint8Array()).toString()).toContain('data: ');
    await vi.waitFor(async () => expect(await metric(held, 'vllm:num_requests_running')).toBe(1), { timeout: 5000 });
    controller.abort();
    await vi.waitFor(async () => expect(await metric(held, 'vllm:num_requests_running')).toBe(0), { timeout: 5000 });
  });
});
