/**
 * The default profile (queue 2, kv-cache 2, prefix-cache 3) over real gRPC and scraped mock replicas:
 * requests that share a long prefix stay on one replica, while distinct prefixes spread over the pool.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PickerServer } from '../../src/app.js';
import { startMockVllm, type MockVllmServer } from '../../src/mockvllm/server.js';
import { startTestPicker } from '../helpers/picker.js';
import { RawExtProcClient, requestBody, requestHeaders } from '../helpers/raw-extproc-client.js';

let mocks: MockVllmServer[] = [];
let picker: PickerServer;
let client: RawExtProcClient;

beforeAll(async () => {
  mocks = await Promise.all([0, 1, 2, 3].map((i) => startMockVllm({ host: `127.0.0.${111 + i}`, port: 0, model: 'm', profile: 'none' })));
  picker = await startTestPicker({ config: 'default', discovery: { endpoints: mocks.map((m, i) => ({ name: `r${i}`, address: m.host, port: m.port, labels: {} })) } });
  client = new RawExtProcClient(`127.0.0.1:${picker.grpcPort}`);
  await vi.waitFor(() => expect(picker.datastore.snapshot.endpoints.every((e) => e.metrics.known)).toBe(true), { timeout: 5000 });
});

afterAll(async () => {
  client.close();
  await picker.shutdown(1000);
  await Promise.all(mocks.map((m) => m.close()));
});

async function route(messages: { role: string; content: string }[]): Promise<string> {
  const s = client.open();
  s.send(requestHeaders({ ':path': '/v1/chat/completions' }));
  s.send(requestBody(JSON.stringify({ model: 'm', messages }), true));
  await s.until((x) => x.responses.length >= 1);
  s.halfClose();
  return s.responses[0]?.msg.request_headers?.response?.header_mutation?.set_headers?.[0]?.header?.raw_value?.toString() ?? 'none';
}

describe('prefix-cache affinity with the default profile', () => {
  it('keeps each shared-prefix group on one replica (≥ 90 %) and spreads the groups over the pool', async () => {
    const groups = 6;
    const perGroup = 10;
    const system = (g: number): string => `You are assistant number ${g}. `.repeat(200); // ~6 KB each
    const seen: string[][] = Array.from({ length: groups }, () => []);
    for (let i = 0; i < perGroup; i++) {
      for (let g = 0; g < groups; g++) {
        seen[g]?.push(await route([{ role: 'system', content: system(g) }, { role: 'user', content: `question ${i} for group ${g}` }]));
      }
    }
    const homes = new Set<string>();
    for (const picks of seen) {
      const counts = new Map<string, number>();
      for (const p of picks) counts.set(p, (counts.get(p) ?? 0) + 1);
      const [home, n] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
      expect(n / picks.length).toBeGreaterThanOrEqual(0.9);
      homes.add(home);
    }
    expect(homes.size).toBeGreaterThanOrEqual(3);
    const text = await picker.metrics.registry.metrics();
    expect(text).toMatch(/inference_extension_prefix_indexer_size \d+/);
    expect(text).toMatch(/inference_extension_prefix_indexer_hit_ratio_count \d+/);
  });
});
