import { afterEach, describe, expect, it } from 'vitest';
import { startMockVllm, type MockVllmOptions, type MockVllmServer } from '../../src/mockvllm/server.js';
import { ManualClock } from './manual-clock.js';

const MODEL = 'Qwen/Qwen2.5-3B-Instruct';
const LABELS = `engine="0",model_name="${MODEL}"`;
const LONG = 'Tell me everything about prefix caching in vLLM, block by block. '.repeat(20);
/** ~990 tokens: ~330 ms of prefill on the T4 profile. */
const LONGER = 'Tell me everything about prefix caching in vLLM, block by block. '.repeat(60);
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

async function metric(server: MockVllmServer, name: string, labels = LABELS): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const series = `${name}{${labels}} `;
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
    expect(await refused.json()).toMatchObject({ object: 'error', type: 'RateLimitError', code: 429, message: 'Failed to enqueue request, waiting requests queue is full' });

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
    await expect(start({ profile: 'none', profileOverrides: { maxNumSeqs: 2 } })).rejects.toThrow(/need a profile/);
    await expect(start({ profile: 'gpt-9' })).rejects.toThrow(/unknown engine profile/);
  });

  it('runs the realistic default profile when none is named', async () => {
    const server = await start({});
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/^vllm:cache_config_info\{block_size="16",[^}]*num_gpu_blocks="10000"/m);
    // Qwen2.5-3B on a T4 serves a 2,048-token context.
    expect((await complete(server, { prompt: 'x'.repeat(9000) })).status).toBe(400);
  });
});

/** Advances `clock` in `stepMs` steps, letting I/O run between them, until `done()` holds (bounded). */
async function until(clock: ManualClock, done: () => boolean, stepMs: number, what: string): Promise<void> {
  for (let i = 0; i < 5000 && !done(); i++) {
    await clock.advance(stepMs);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  if (!done()) throw new Error(`timed out waiting for ${what}`);
}

/** Settles `promise` while advancing the clock; returns its value. */
async function settle<T>(clock: ManualClock, promise: Promise<T>, stepMs = 10): Promise<T> {
  let out: { value: T } | undefined;
  void promise.then((value) => {
    out = { value };
  });
  await until(clock, () => out !== undefined, stepMs, 'a response');
  if (out === undefined) throw new Error('unreachable');
  return out.value;
}

async function scrapeUntil(server: MockVllmServer, clock: ManualClock, name: string, want: number): Promise<void> {
  let value = Number.NaN;
  for (let i = 0; i < 500 && value !== want; i++) {
    value = await metric(server, name);
    if (value !== want) await clock.advance(0);
  }
  expect(value).toBe(want);
}

describe('mock-vllm done-when checks (virtual time)', () => {
  it('sends a cached prompt’s first token far sooner than an uncached one’s, in the stream and in the TTFT histogram', async () => {
    const clock = new ManualClock();
    const server = await start({ profile: 'qwen2.5-3b-t4', engineClock: clock });
    const firstToken = async (): Promise<{ ms: number; cached: number | undefined }> => {
      const t0 = clock.t;
      // A completions stream's first bytes are its first token (there is no role chunk).
      const res = await settle(clock, complete(server, { prompt: LONGER, stream: true, stream_options: { include_usage: true } }), 1);
      const ms = clock.t - t0;
      const text = await settle(clock, res.text());
      const events = text.split('\n\n').filter((e) => e.startsWith('data: {'));
      const last = JSON.parse(events.at(-1)?.slice(6) ?? '{}') as UsageBody;
      return { ms, cached: last.usage.prompt_tokens_details?.cached_tokens };
    };
    const cold = await firstToken();
    const warm = await firstToken();
    expect(cold.cached).toBe(0);
    expect(warm.cached).toBeGreaterThan(950);
    // ~990 uncached tokens at 3,000 tok/s plus a 30 ms step, against one 30 ms step with one block recomputed.
    expect(cold.ms).toBeGreaterThan(300);
    expect(warm.ms).toBeLessThan(cold.ms / 4);

    const text = await (await fetch(`${server.url}/metrics`)).text();
    const bucket = (name: string, le: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(`${name}_bucket{engine="0",le="${le}",model_name="${MODEL}"} `));
      return Number(line?.split(' ')[1]);
    };
    const ttft = 'vllm:time_to_first_token_seconds';
    expect([bucket(ttft, '0.02'), bucket(ttft, '0.04'), bucket(ttft, '0.25'), bucket(ttft, '0.5'), bucket(ttft, '+Inf')]).toEqual([0, 1, 1, 2, 2]);
    // Three gaps per request of four tokens, each one ~30 ms decode step.
    const itl = 'vllm:inter_token_latency_seconds';
    expect([bucket(itl, '0.025'), bucket(itl, '0.05'), bucket(itl, '+Inf')]).toEqual([0, 6, 6]);
    expect(await metric(server, 'vllm:prompt_tokens_total')).toBe(2 * Math.ceil(LONGER.length / 4));
    expect(await metric(server, 'vllm:generation_tokens_total')).toBe(8);
    expect(await metric(server, 'vllm:prefix_cache_hits_total')).toBe(warm.cached);
    expect(await metric(server, 'vllm:e2e_request_latency_seconds_count')).toBe(2);
  });

  it('aborts a streaming request in the engine when its client disconnects: the waiting one gets its seat at once', async () => {
    const clock = new ManualClock();
    const server = await start({ profile: 'qwen2.5-3b-t4', profileOverrides: { maxNumSeqs: 1 }, engineClock: clock });
    const client = new AbortController();
    const long = await settle(
      clock,
      fetch(`${server.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, prompt: LONG, max_tokens: 500, stream: true }),
        signal: client.signal,
      }),
    );
    expect(long.status).toBe(200);
    const next = complete(server, { prompt: 'next in line', max_tokens: 2 });
    await scrapeUntil(server, clock, 'vllm:num_requests_waiting', 1);
    expect(await metric(server, 'vllm:kv_cache_usage_perc')).toBeGreaterThan(0);

    client.abort();
    const abortedAt = clock.t;
    const res = await settle(clock, next, 5);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    // Without the abort it would wait for ~500 decode steps (~15 s).
    expect(clock.t - abortedAt).toBeLessThan(500);
    expect(await metric(server, 'vllm:num_requests_running')).toBe(0);
    expect(await metric(server, 'vllm:kv_cache_usage_perc')).toBe(0);
    expect(await metric(server, 'vllm:request_success_total', `engine="0",finished_reason="abort",model_name="${MODEL}"`)).toBe(1);
  });

  it('aborts a non-streaming request in the engine when its client disconnects', async () => {
    const clock = new ManualClock();
    const server = await start({ profile: 'qwen2.5-3b-t4', engineClock: clock });
    const client = new AbortController();
    const pending = fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, prompt: LONG, max_tokens: 1000 }),
      signal: client.signal,
    }).catch(() => 'aborted');
    await scrapeUntil(server, clock, 'vllm:num_requests_running', 1);
    await clock.advance(200);
    expect(await metric(server, 'vllm:kv_cache_usage_perc')).toBeGreaterThan(0);
    client.abort();
    expect(await pending).toBe('aborted');
    await scrapeUntil(server, clock, 'vllm:num_requests_running', 0);
    expect(await metric(server, 'vllm:kv_cache_usage_perc')).toBe(0);
    // Its prompt blocks stay cached, like any finished request's.
    const again = (await (await settle(clock, complete(server, { prompt: LONG }))).json()) as UsageBody;
    expect(again.usage.prompt_tokens_details?.cached_tokens).toBeGreaterThan(300);
  });

  it('reports waiting LoRA adapters from the engine in vllm:lora_requests_info', async () => {
    const clock = new ManualClock();
    const server = await start({
      profile: 'qwen2.5-3b-t4',
      profileOverrides: { maxNumSeqs: 1 },
      engineClock: clock,
      loras: [{ name: 'sql-lora', path: '/adapters/sql' }],
    });
    const first = complete(server, { prompt: 'base model first', max_tokens: 3 });
    const second = complete(server, { model: 'sql-lora', prompt: 'then the adapter', max_tokens: 3 });
    await scrapeUntil(server, clock, 'vllm:num_requests_waiting', 1);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/^vllm:lora_requests_info\{max_lora="1",running_lora_adapters="",waiting_lora_adapters="sql-lora"\} /m);
    expect((await settle(clock, first)).status).toBe(200);
    expect((await settle(clock, second)).status).toBe(200);
  });
});
