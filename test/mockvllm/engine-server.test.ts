import { afterEach, describe, expect, it } from 'vitest';
import { startMockVllm, type MockVllmOptions, type MockVllmServer } from '../../src/mockvllm/server.js';
import { ManualClock } from './manual-clock.js';

const MODEL = 'Qwen/Qwen2.5-3B-Instruct';
const LABELS = `engine="0",model_name="${MODEL}"`;
const LONG = 'Tell me everything about prefix caching in vLLM, block by block. '.repeat(20);
const servers: MockVllmServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(extra: Partial<MockVllmOptions>): Promise<MockVllmServer> {
  const server = await startMockVllm({ host: '127.0.0.1', port: 0, model: MODEL, ...extra });
  servers.push(server);
  return server;
}

function complete(server: MockVllmServer, body: Record<string, unknown>): Promise<Response> {
  return fetch(`${server.url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, max_tokens: 4, ...body }),
  });
}

async function metric(server: MockVllmServer, name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const series = `${name}{${LABELS}} `;
  const line = text.split('\n').find((l) => l.startsWith(series));
  if (line === undefined) throw new Error(`no ${name} in scrape`);
  return Number(line.slice(series.length));
}

interface UsageBody {
  usage: { prompt_tokens: number; prompt_tokens_details: { cached_tokens: number } | null };
}

describe('mock-vllm driven by an engine profile', () => {
  it('reports cached_tokens in usage and prefix-cache hits in /metrics for a repeated prompt', async () => {
    const server = await start({ profile: 'instant' });
    const first = (await (await complete(server, { prompt: LONG })).json()) as UsageBody;
    expect(first.usage.prompt_tokens_details).toEqual({ cached_tokens: 0 });
    expect(await metric(server, 'vllm:prefix_cache_hits_total')).toBe(0);

    const second = (await (await complete(server, { prompt: LONG })).json()) as UsageBody;
    const cached = second.usage.prompt_tokens_details?.cached_tokens ?? 0;
    expect(cached).toBeGreaterThan(second.usage.prompt_tokens - 32);
    expect(await metric(server, 'vllm:prefix_cache_hits_total')).toBe(cached);
    expect(await metric(server, 'vllm:prefix_cache_queries_total')).toBeGreaterThanOrEqual(2 * second.usage.prompt_tokens - 1);
    expect(await metric(server, 'vllm:num_requests_running')).toBe(0);
  });

  it('hashes token-id prompts and streams usage with cached_tokens', async () => {
    const server = await start({ profile: 'instant', profileOverrides: { blockSize: 4 } });
    const prompt = Array.from({ length: 40 }, (_, i) => i + 100);
    await (await complete(server, { prompt })).text();
    const res = await complete(server, { prompt, stream: true, stream_options: { include_usage: true } });
    const events = (await res.text()).split('\n\n').filter((e) => e.startsWith('data: {'));
    const last = JSON.parse(events.at(-1)?.slice(6) ?? '{}') as UsageBody;
    expect(last.usage.prompt_tokens_details).toEqual({ cached_tokens: 36 });
  });

  it('queues requests beyond --max-num-seqs and answers 429 beyond the waiting limit', async () => {
    const clock = new ManualClock();
    const server = await start({ profile: 'qwen2.5-3b-t4', profileOverrides: { maxNumSeqs: 1 }, maxWaitingQueueLength: 2, engineClock: clock });
    const inFlight = ['a', 'b', 'c'].map((p) => complete(server, { prompt: `prompt ${p}` }));
    for (let i = 0; i < 200 && (await metric(server, 'vllm:num_requests_waiting')) < 2; i++) await clock.advance(0);
    expect(await metric(server, 'vllm:num_requests_running')).toBe(1);
    expect(await metric(server, 'vllm:num_requests_waiting')).toBe(2);

    const refused = await complete(server, { prompt: 'one too many' });
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ object: 'error', code: 429 });

    const done = Promise.all(inFlight.map(async (r) => (await r).status));
    let settled = false;
    void done.then(() => {
      settled = true;
    });
    for (let i = 0; i < 1000 && !settled; i++) await clock.advance(50);
    expect(await done).toEqual([200, 200, 200]);
    expect(await metric(server, 'vllm:num_requests_waiting')).toBe(0);
  });

  it('answers 400 when prompt plus output exceed the profile’s context', async () => {
    const server = await start({ profile: 'qwen2.5-3b-t4' });
    const res = await complete(server, { prompt: 'x'.repeat(9000) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ object: 'error', type: 'BadRequestError', code: 400 });
  });

  it('keeps --fake-metrics overriding the engine', async () => {
    const server = await start({ profile: 'instant', fakeMetrics: { 'waiting-requests': 7 } });
    expect(await metric(server, 'vllm:num_requests_waiting')).toBe(7);
  });

  it('rejects engine options without a profile and unknown profiles', async () => {
    await expect(start({ profileOverrides: { maxNumSeqs: 2 } })).rejects.toThrow(/need a profile/);
    await expect(start({ profile: 'gpt-9' })).rejects.toThrow(/unknown engine profile/);
  });
});
