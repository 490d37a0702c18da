import { afterEach, describe, it, expect } from 'vitest';
import { startMockVllm, type MockVllmOptions, type MockVllmServer, type TokenPacer } from '../../src/mockvllm/server.js';

const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';
const LABELS = `engine="0",model_name="${MODEL}"`;
const servers: MockVllmServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(extra: Partial<MockVllmOptions> = {}): Promise<MockVllmServer> {
  const server = await startMockVllm({ host: '127.0.0.1', port: 0, model: MODEL, profile: 'none', ...extra });
  servers.push(server);
  return server;
}

async function scrape(server: MockVllmServer): Promise<string> {
  const res = await fetch(`${server.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return res.text();
}

function post(server: MockVllmServer, path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...(signal !== undefined ? { signal } : {}),
  });
}

/** The value of the one sample line starting with `series` (name plus labels). */
function sample(text: string, series: string): string | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line?.slice(series.length + 1);
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A pacer that holds every request at its first token until `release` is called. */
function gatedPacer(expected: number): { pacer: TokenPacer; allHeld: Promise<void>; release: () => void } {
  const gate = deferred();
  const held = deferred();
  let count = 0;
  const pacer: TokenPacer = async (step, signal) => {
    if (step.index !== 0) return;
    if (++count === expected) held.resolve();
    const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    await Promise.race([gate.promise, aborted]);
  };
  return { pacer, allHeld: held.promise, release: gate.resolve };
}

describe('GET /metrics', () => {
  it('exposes vLLM V1 families with HELP/TYPE, engine and model_name labels and Python floats', async () => {
    const server = await start();
    const text = await scrape(server);
    for (const [name, type] of [
      ['vllm:num_requests_running', 'gauge'],
      ['vllm:num_requests_waiting', 'gauge'],
      ['vllm:kv_cache_usage_perc', 'gauge'],
      ['vllm:prefix_cache_queries_total', 'counter'],
      ['vllm:prefix_cache_hits_total', 'counter'],
      ['vllm:prompt_tokens_total', 'counter'],
      ['vllm:generation_tokens_total', 'counter'],
      ['vllm:request_success_total', 'counter'],
      ['vllm:time_to_first_token_seconds', 'histogram'],
      ['vllm:cache_config_info', 'gauge'],
      ['vllm:lora_requests_info', 'gauge'],
    ] as const) {
      expect(text).toContain(`# HELP ${name} `);
      expect(text).toContain(`# TYPE ${name} ${type}\n`);
    }
    expect(sample(text, `vllm:num_requests_running{${LABELS}}`)).toBe('0.0');
    expect(sample(text, `vllm:num_requests_waiting{${LABELS}}`)).toBe('0.0');
    expect(sample(text, `vllm:kv_cache_usage_perc{${LABELS}}`)).toBe('0.0');
    expect(sample(text, `vllm:request_success_total{engine="0",finished_reason="stop",model_name="${MODEL}"}`)).toBe('0.0');
    expect(sample(text, `vllm:time_to_first_token_seconds_bucket{engine="0",le="2560.0",model_name="${MODEL}"}`)).toBe('0.0');
    expect(sample(text, `vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="${MODEL}"}`)).toBe('0.0');
    expect(sample(text, `vllm:time_to_first_token_seconds_count{${LABELS}}`)).toBe('0.0');
    expect(sample(text, `vllm:time_to_first_token_seconds_sum{${LABELS}}`)).toBe('0.0');
    expect(text).toMatch(/^vllm:cache_config_info\{block_size="16",.*engine="0",.*num_gpu_blocks="\d+",.*\} 1\.0$/m);
    expect(text).toMatch(/^vllm:lora_requests_info\{max_lora="1",running_lora_adapters="",waiting_lora_adapters=""\} \d\.\d+e\+09$/m);
    // Every value is a Python float: no bare integers like Go's client writes.
    for (const line of text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))) {
      expect(line).toMatch(/ (-?\d+\.\d+(e[+-]\d+)?|\d(\.\d+)?e[+-]\d+|[+-]Inf|NaN)$/);
    }
  });

  it('reports pinned fake metrics in Python float form, one lora series per entry', async () => {
    const server = await start({
      maxLoras: 4,
      fakeMetrics: {
        'running-requests': 12,
        'waiting-requests': 3,
        'kv-cache-usage': 0.4508602,
        loras: [
          { running: 'sql-lora', waiting: '', timestamp: 1741528310.4512 },
          { running: 'sql-lora,tweet-lora', waiting: 'chat-lora', timestamp: 1741528329.6545 },
        ],
      },
    });
    const text = await scrape(server);
    expect(sample(text, `vllm:num_requests_running{${LABELS}}`)).toBe('12.0');
    expect(sample(text, `vllm:num_requests_waiting{${LABELS}}`)).toBe('3.0');
    expect(sample(text, `vllm:kv_cache_usage_perc{${LABELS}}`)).toBe('0.4508602');
    expect(sample(text, 'vllm:lora_requests_info{max_lora="4",running_lora_adapters="sql-lora",waiting_lora_adapters=""}')).toBe(
      '1.7415283104512e+09',
    );
    expect(
      sample(text, 'vllm:lora_requests_info{max_lora="4",running_lora_adapters="sql-lora,tweet-lora",waiting_lora_adapters="chat-lora"}'),
    ).toBe('1.7415283296545e+09');
    expect(text.match(/^vllm:lora_requests_info\{/gm)).toHaveLength(2);
  });

  it('accepts requests for adapters named in fake lora metrics', async () => {
    const server = await start({ fakeMetrics: { loras: [{ running: 'a', waiting: 'b' }] } });
    for (const model of ['a', 'b']) {
      const res = await post(server, '/v1/completions', { model, prompt: 'x', max_tokens: 1 });
      expect(res.status).toBe(200);
    }
  });

  it('pins only the keys given and keeps the rest live', async () => {
    const { pacer, allHeld, release } = gatedPacer(1);
    const server = await start({ tokenPacer: pacer, fakeMetrics: { 'waiting-requests': 5 } });
    const pending = post(server, '/v1/completions', { prompt: 'x', max_tokens: 1 });
    await allHeld;
    const text = await scrape(server);
    expect(sample(text, `vllm:num_requests_waiting{${LABELS}}`)).toBe('5.0');
    expect(sample(text, `vllm:num_requests_running{${LABELS}}`)).toBe('1.0');
    release();
    expect((await pending).status).toBe(200);
  });

  it('counts concurrent requests as running, with KV usage and LoRA info following them', async () => {
    const { pacer, allHeld, release } = gatedPacer(2);
    const server = await start({ tokenPacer: pacer, loras: [{ name: 'sql-lora', path: '/a' }] });
    const longPrompt = 'word '.repeat(400);
    const first = post(server, '/v1/completions', { prompt: longPrompt, max_tokens: 2 });
    const second = post(server, '/v1/chat/completions', { model: 'sql-lora', messages: [{ role: 'user', content: 'hi' }], stream: true, max_tokens: 2 });
    await allHeld;

    const busy = await scrape(server);
    expect(sample(busy, `vllm:num_requests_running{${LABELS}}`)).toBe('2.0');
    expect(Number(sample(busy, `vllm:kv_cache_usage_perc{${LABELS}}`))).toBeGreaterThan(0);
    expect(busy).toMatch(/^vllm:lora_requests_info\{max_lora="1",running_lora_adapters="sql-lora",waiting_lora_adapters=""\} /m);

    release();
    const [a, b] = await Promise.all([first, second]);
    expect(a.status).toBe(200);
    await a.json();
    expect((await b.text()).endsWith('data: [DONE]\n\n')).toBe(true);

    const idle = await scrape(server);
    expect(sample(idle, `vllm:num_requests_running{${LABELS}}`)).toBe('0.0');
    expect(sample(idle, `vllm:kv_cache_usage_perc{${LABELS}}`)).toBe('0.0');
    expect(sample(idle, `vllm:request_success_total{engine="0",finished_reason="length",model_name="${MODEL}"}`)).toBe('2.0');
    expect(sample(idle, `vllm:generation_tokens_total{${LABELS}}`)).toBe('4.0');
    expect(sample(idle, `vllm:time_to_first_token_seconds_count{${LABELS}}`)).toBe('2.0');
    expect(sample(idle, `vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="${MODEL}"}`)).toBe('2.0');
    expect(idle).toMatch(/^vllm:lora_requests_info\{max_lora="1",running_lora_adapters="",waiting_lora_adapters=""\} /m);
  });

  it('counts prompt tokens and prefix-cache queries', async () => {
    const server = await start();
    await (await post(server, '/v1/completions', { prompt: 'x'.repeat(400), max_tokens: 3 })).json();
    const text = await scrape(server);
    expect(sample(text, `vllm:prompt_tokens_total{${LABELS}}`)).toBe('100.0');
    expect(sample(text, `vllm:prefix_cache_queries_total{${LABELS}}`)).toBe('100.0');
    expect(sample(text, `vllm:prefix_cache_hits_total{${LABELS}}`)).toBe('0.0');
    expect(sample(text, `vllm:generation_tokens_total{${LABELS}}`)).toBe('3.0');
  });

  it('records a client that disconnects mid-stream as an abort and stops counting it as running', async () => {
    const aborted = deferred();
    const gate = deferred();
    const pacer: TokenPacer = async (step, signal) => {
      if (step.index !== 2) return;
      signal.addEventListener('abort', () => aborted.resolve(), { once: true });
      await Promise.race([gate.promise, aborted.promise]);
    };
    const server = await start({ tokenPacer: pacer });
    const client = new AbortController();
    const res = await post(server, '/v1/completions', { prompt: 'hang up on me', max_tokens: 50, stream: true }, client.signal);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toMatch(/^data: /);
    client.abort();
    await aborted.promise;

    const text = await scrape(server);
    expect(sample(text, `vllm:num_requests_running{${LABELS}}`)).toBe('0.0');
    expect(sample(text, `vllm:request_success_total{engine="0",finished_reason="abort",model_name="${MODEL}"}`)).toBe('1.0');
    expect(sample(text, `vllm:generation_tokens_total{${LABELS}}`)).toBe('2.0');
    // The server is still healthy afterwards.
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });
});
