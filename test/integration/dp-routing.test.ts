/**
 * Data-parallel routing end to end: LeaderWorkerSet groups reached through their leaders
 * (`dp-group-leader-filter`), coupled ranks balanced within a group (`dp-group-balance-scorer`), and
 * engine-rank pinning on a one-port internal-LB server through the local gateway
 * (`data-parallel-rank-header` → `X-data-parallel-rank` on the forwarded request).
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EndpointSpec } from '../../src/datastore/endpoint.js';
import { startGateway } from '../../src/gateway/gateway.js';
import { startMockVllm } from '../../src/mockvllm/server.js';
import { LWS_GROUP_INDEX_LABEL, LWS_NAME_LABEL, LWS_WORKER_INDEX_LABEL } from '../../src/scheduling/plugins/dp-groups.js';
import { closeServer, listen } from '../../src/util/net.js';
import { startTestPicker } from '../helpers/picker.js';
import { RawExtProcClient, requestBody, requestHeaders } from '../helpers/raw-extproc-client.js';

const MODEL = 'deepseek-ai/DeepSeek-V3';
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const DP_CONFIG = `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: dp-group-leader-filter
- type: dp-group-balance-scorer
- type: queue-scorer
- type: prefix-cache-scorer
- type: data-parallel-rank-header
- type: max-score-picker
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: dp-group-leader-filter
  - pluginRef: dp-group-balance-scorer
    weight: 2
  - pluginRef: queue-scorer
    weight: 1
  - pluginRef: prefix-cache-scorer
    weight: 1
  - pluginRef: max-score-picker
`;

/** One external-LB rank: a mock vLLM on its own port reporting `waiting` queued requests. */
async function rank(host: string, waiting: number): Promise<number> {
  const m = await startMockVllm({ host, port: 0, model: MODEL, profile: 'none', fakeMetrics: { 'waiting-requests': waiting, 'kv-cache-usage': 0.1, 'running-requests': 0 } });
  cleanup.push(() => m.close());
  return m.port;
}

function lws(group: string, worker: string): Record<string, string> {
  return { [LWS_NAME_LABEL]: 'ds', [LWS_GROUP_INDEX_LABEL]: group, [LWS_WORKER_INDEX_LABEL]: worker };
}

describe('LeaderWorkerSet DP groups', () => {
  it("routes only to leaders' ranks and away from the rank that gates its group", async () => {
    const endpoints: EndpointSpec[] = [
      // group 0: the leader's rank 0 is the group's laggard (6 waiting), rank 1 has 2
      { name: 'ds-0-rank-0', address: '127.0.0.81', port: await rank('127.0.0.81', 6), labels: lws('0', '0') },
      { name: 'ds-0-rank-1', address: '127.0.0.81', port: await rank('127.0.0.81', 2), labels: lws('0', '0') },
      // group 0's worker pod: idle, but only reachable through the leader
      { name: 'ds-0-1-rank-0', address: '127.0.0.82', port: await rank('127.0.0.82', 0), labels: lws('0', '1') },
      // group 1: level at 4
      { name: 'ds-1-rank-0', address: '127.0.0.83', port: await rank('127.0.0.83', 4), labels: lws('1', '0') },
      { name: 'ds-1-rank-1', address: '127.0.0.83', port: await rank('127.0.0.83', 4), labels: lws('1', '0') },
    ];
    const picker = await startTestPicker({ discovery: { endpoints }, config: { text: DP_CONFIG } });
    const client = new RawExtProcClient(`127.0.0.1:${picker.grpcPort}`);
    cleanup.push(async () => {
      client.close();
      await picker.shutdown(1000);
    });
    await vi.waitFor(() => expect(picker.datastore.snapshot.endpoints.every((e) => e.metrics.known)).toBe(true), { timeout: 5000 });
    const destinations = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const s = client.open();
      s.send(requestHeaders({ ':path': '/v1/completions' }));
      s.send(requestBody(JSON.stringify({ model: MODEL, prompt: `distinct prompt ${i}` }), true));
      await s.until((x) => x.responses.length >= 1, 5000);
      const set = s.responses[0]?.msg.request_headers?.response?.header_mutation?.set_headers ?? [];
      destinations.add(set.find((h) => h.header?.key === 'x-gateway-destination-endpoint')?.header?.raw_value?.toString() ?? 'none');
      // External-LB ranks report one engine each: no rank header.
      expect(set.some((h) => h.header?.key === 'x-data-parallel-rank')).toBe(false);
      s.halfClose();
    }
    expect([...destinations]).toEqual([`127.0.0.81:${endpoints[1]?.port}`]);
  });
});

/** A one-port internal-LB DP server: two engines in /metrics, and it records the rank each request pins. */
async function internalLbServer(engineWaiting: readonly number[]): Promise<{ port: number; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url?.startsWith('/metrics') === true) {
      const lines: string[] = [];
      engineWaiting.forEach((w, i) => {
        lines.push(`vllm:num_requests_waiting{engine="${i}",model_name="${MODEL}"} ${w}`);
        lines.push(`vllm:num_requests_running{engine="${i}",model_name="${MODEL}"} 0`);
        lines.push(`vllm:kv_cache_usage_perc{engine="${i}",model_name="${MODEL}"} 0.1`);
      });
      const text = Buffer.from(`${lines.join('\n')}\n`);
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': text.length }).end(text);
      return;
    }
    req.resume();
    req.on('end', () => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'x', object: 'text_completion', model: MODEL, choices: [] }));
    });
  });
  const port = await listen(server, '127.0.0.91', 0);
  cleanup.push(() => closeServer(server));
  return { port, seen };
}

describe('internal-LB data parallel (one port, several engines)', () => {
  it('pins the least-loaded engine with X-data-parallel-rank, through the gateway', async () => {
    const server = await internalLbServer([5, 0, 3]);
    const picker = await startTestPicker({ discovery: { endpoints: [{ name: 'dp-pod', address: '127.0.0.91', port: server.port, labels: {} }] }, config: { text: DP_CONFIG } });
    cleanup.push(() => picker.shutdown(1000));
    await vi.waitFor(() => expect(picker.datastore.snapshot.endpoints[0]?.metrics.ranks.length).toBe(3), { timeout: 5000 });
    const gateway = await startGateway({ host: '127.0.0.1', port: 0, epp: `127.0.0.1:${picker.grpcPort}` });
    cleanup.push(() => gateway.close());
    const post = async (prompt: string): Promise<void> => {
      const res = await fetch(`${gateway.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-data-parallel-rank': '0' },
        body: JSON.stringify({ model: MODEL, prompt }),
      });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    };
    await post('first');
    // The client's own rank is overwritten by the picker's choice.
    expect(server.seen[0]?.['x-data-parallel-rank']).toBe('1');
    // Each request ends before the next starts, so the idle engine keeps winning.
    for (let i = 0; i < 3; i++) await post(`burst ${i}`);
    expect(server.seen.map((h) => h['x-data-parallel-rank'])).toEqual(['1', '1', '1', '1']);
  });
});
