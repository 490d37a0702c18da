import { afterEach, describe, expect, it } from 'vitest';
import { startMockVllm, type MockVllmServer } from '../../src/mockvllm/server.js';

let server: MockVllmServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('mock-vllm /metrics name[] filter (prometheus_client semantics)', () => {
  it('returns only the requested families', async () => {
    server = await startMockVllm({ host: '127.0.0.1', port: 0, model: 'm', profile: 'none', fakeMetrics: { 'waiting-requests': 4 } });
    const full = await (await fetch(`${server.url}/metrics`)).text();
    const res = await fetch(`${server.url}/metrics?name[]=vllm:num_requests_waiting&name[]=vllm:kv_cache_usage_perc`);
    const text = await res.text();
    const samples = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(samples.map((l) => l.split('{')[0])).toEqual(['vllm:num_requests_waiting', 'vllm:kv_cache_usage_perc']);
    expect(text).toContain('vllm:num_requests_waiting{engine="0",model_name="m"} 4.0');
    expect(text.length).toBeLessThan(full.length / 5);
  });
});
