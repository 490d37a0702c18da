import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startMockVllm, type MockVllmServer } from '../../src/mockvllm/server.js';

const MODEL = 'Qwen/Qwen2.5-3B-Instruct';
const PROMPT = 'Each data-parallel rank keeps its own prefix cache. '.repeat(10);
const servers: MockVllmServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function cachedTokens(url: string): Promise<number | undefined> {
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: PROMPT, max_tokens: 2 }),
  });
  const body = (await res.json()) as { usage: { prompt_tokens_details: { cached_tokens: number } | null } };
  return body.usage.prompt_tokens_details?.cached_tokens;
}

describe('mock-vllm --data-parallel-size', () => {
  it('serves rank i on port + i, each with its own engine and engine="i" metrics', async () => {
    const server = await startMockVllm({ host: '127.0.0.1', port: 0, model: MODEL, profile: 'instant', dataParallelSize: 3, podName: 'dp-pod' });
    servers.push(server);
    expect(server.ranks.map((r) => r.rank)).toEqual([0, 1, 2]);
    expect(server.ranks.map((r) => r.port)).toEqual([server.port, server.port + 1, server.port + 2]);
    expect(server.ranks[0]?.url).toBe(server.url);

    const [r0, r1, r2] = server.ranks.map((r) => r.url);
    if (r0 === undefined || r1 === undefined || r2 === undefined) throw new Error('missing ranks');
    expect(await cachedTokens(r0)).toBe(0);
    expect(await cachedTokens(r0)).toBeGreaterThan(100);
    // Rank 1 has its own KV cache: nothing of rank 0's prompt is there.
    expect(await cachedTokens(r1)).toBe(0);

    for (const { rank, url, port } of server.ranks) {
      const res = await fetch(`${url}/metrics`);
      expect(res.headers.get('x-inference-pod')).toBe('dp-pod');
      expect(res.headers.get('x-inference-port')).toBe(String(port));
      const text = await res.text();
      const queries = text.match(/^vllm:prefix_cache_queries_total\{engine="(\d)",model_name="[^"]+"\} (\S+)$/m);
      expect(queries?.[1]).toBe(String(rank));
      expect(Number(queries?.[2])).toBe(rank === 0 ? 2 * 130 : rank === 1 ? 130 : 0);
      expect(text).toMatch(new RegExp(`^vllm:cache_config_info\\{[^}]*engine="${rank}"`, 'm'));
      const engines = new Set([...text.matchAll(/engine="([^"]*)"/g)].map((m) => m[1]));
      expect(engines).toEqual(new Set([String(rank)]));
    }
  });

  it('closes every rank on close()', async () => {
    const server = await startMockVllm({ host: '127.0.0.1', port: 0, model: MODEL, profile: 'none', dataParallelSize: 2 });
    const urls = server.ranks.map((r) => r.url);
    for (const url of urls) expect((await fetch(`${url}/health`)).status).toBe(200);
    await server.close();
    for (const url of urls) await expect(fetch(`${url}/health`)).rejects.toThrow();
  });

  it('fails when a fixed rank port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as { port: number }).port;
    try {
      await expect(startMockVllm({ host: '127.0.0.1', port: taken - 1, model: MODEL, profile: 'none', dataParallelSize: 2 })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('rejects a size outside 1..8', async () => {
    await expect(startMockVllm({ host: '127.0.0.1', port: 0, model: MODEL, profile: 'none', dataParallelSize: 9 })).rejects.toThrow(/dataParallelSize/);
    await expect(startMockVllm({ host: '127.0.0.1', port: 0, model: MODEL, profile: 'none', dataParallelSize: 0 })).rejects.toThrow(/dataParallelSize/);
  });
});
