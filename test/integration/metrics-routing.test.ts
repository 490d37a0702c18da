/**
 * Routing on scraped metrics, end to end: mock vLLM replicas report pinned metrics, the picker scrapes
 * them over HTTP, and requests go to the least-loaded replica. Replicas with broken /metrics never
 * stall the picker nor win over healthy ones; a replica that dies stops receiving picks.
 */
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PickerServer } from '../../src/app.js';
import type { EndpointSpec } from '../../src/datastore/endpoint.js';
import { startMockVllm, type MockVllmServer } from '../../src/mockvllm/server.js';
import { listen } from '../../src/util/net.js';
import { startTestPicker } from '../helpers/picker.js';
import { RawExtProcClient, requestBody, requestHeaders } from '../helpers/raw-extproc-client.js';

const MODEL = 'm';
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function mock(host: string, fake: { 'waiting-requests': number; 'kv-cache-usage': number }): Promise<MockVllmServer> {
  const m = await startMockVllm({ host, port: 0, model: MODEL, profile: 'none', fakeMetrics: { ...fake, 'running-requests': 1 } });
  cleanup.push(() => m.close());
  return m;
}

/** A /metrics server that misbehaves in the given way. */
async function brokenMetrics(host: string, mode: 'garbage' | 'huge' | 'silent'): Promise<{ port: number }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => {
    if (mode === 'garbage') res.end('\u0000\u00ff{{{ not prometheus\nvllm:num_requests_waiting{engine="0" 12\n');
    else if (mode === 'huge') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const line = Buffer.alloc(1024 * 1024, 0x61);
      let sent = 0;
      const write = (): void => {
        while (sent < 24 && res.write(line)) sent++;
        if (sent < 24) res.once('drain', write);
        else res.end();
      };
      write();
    }
    // 'silent': accept and never answer
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const port = await listen(server, host, 0);
  cleanup.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return { port };
}

async function picker(endpoints: EndpointSpec[]): Promise<{ picker: PickerServer; route: () => Promise<string> }> {
  const p = await startTestPicker({ discovery: { endpoints } });
  const client = new RawExtProcClient(`127.0.0.1:${p.grpcPort}`);
  cleanup.push(async () => {
    client.close();
    await p.shutdown(1000);
  });
  const route = async (): Promise<string> => {
    const s = client.open();
    s.send(requestHeaders({ ':path': '/v1/completions' }));
    s.send(requestBody(JSON.stringify({ model: MODEL, prompt: 'hello' }), true));
    await s.until((x) => x.responses.length >= 1, 5000);
    s.halfClose();
    return s.responses[0]?.msg.request_headers?.response?.header_mutation?.set_headers?.[0]?.header?.raw_value?.toString() ?? 'none';
  };
  return { picker: p, route };
}

const spec = (name: string, host: string, port: number): EndpointSpec => ({ name, address: host, port, labels: {} });

describe('routing on scraped metrics', () => {
  it('sends requests to the replica reporting the lowest queue and KV use', async () => {
    const busy = await mock('127.0.0.51', { 'waiting-requests': 5, 'kv-cache-usage': 0.5 });
    const idle = await mock('127.0.0.52', { 'waiting-requests': 0, 'kv-cache-usage': 0.1 });
    const full = await mock('127.0.0.53', { 'waiting-requests': 10, 'kv-cache-usage': 0.9 });
    const { picker: p, route } = await picker([spec('busy', busy.host, busy.port), spec('idle', idle.host, idle.port), spec('full', full.host, full.port)]);
    await vi.waitFor(() => expect(p.datastore.snapshot.endpoints.every((e) => e.metrics.known)).toBe(true), { timeout: 5000 });
    expect(p.datastore.snapshot.endpoints.map((e) => [e.name, e.metrics.waitingQueueSize, e.metrics.kvCacheUsage])).toEqual([
      ['busy', 5, 0.5],
      ['idle', 0, 0.1],
      ['full', 10, 0.9],
    ]);
    for (let i = 0; i < 20; i++) expect(await route()).toBe(`127.0.0.52:${idle.port}`);
    const text = await p.metrics.registry.metrics();
    expect(text).toContain('inference_pool_average_queue_size{name="test"} 5');
    expect(text).toContain('inference_pool_ready_pods{name="test"} 3');
    expect(text).toContain(`inference_pool_per_pod_queue_size{name="test",model_server_pod="full"} 10`);
  });

  it('is not stalled nor misled by replicas whose /metrics return garbage, 24 MB, or never answer', async () => {
    const healthy = await mock('127.0.0.61', { 'waiting-requests': 3, 'kv-cache-usage': 0.6 });
    const garbage = await brokenMetrics('127.0.0.62', 'garbage');
    const huge = await brokenMetrics('127.0.0.63', 'huge');
    const silent = await brokenMetrics('127.0.0.64', 'silent');
    const { picker: p, route } = await picker([
      spec('garbage', '127.0.0.62', garbage.port),
      spec('huge', '127.0.0.63', huge.port),
      spec('silent', '127.0.0.64', silent.port),
      spec('healthy', healthy.host, healthy.port),
    ]);
    await vi.waitFor(() => expect(p.datastore.snapshot.endpoints.find((e) => e.name === 'healthy')?.metrics.known).toBe(true), { timeout: 5000 });
    const started = performance.now();
    for (let i = 0; i < 30; i++) expect(await route()).toBe(`127.0.0.61:${healthy.port}`);
    // 30 decisions while three scrapers misbehave: the request path never waits on them.
    expect(performance.now() - started).toBeLessThan(3000);
    expect(p.datastore.snapshot.endpoints.filter((e) => e.metrics.known).map((e) => e.name)).toEqual(['healthy']);
    // The failures are counted as they happen (the silent replica's at its 1 s scrape deadline).
    await vi.waitFor(async () => {
      const text = await p.metrics.registry.metrics();
      expect(text).toMatch(/llm_d_inference_scheduler_datalayer_poll_errors_total\{source_type="metrics-data-source"\} [1-9]/);
      expect(text).toMatch(/llm_d_inference_scheduler_endpoint_unreachable_total\{reason="garbage"\} [1-9]/);
    }, { timeout: 5000 });
  });

  it('stops picking a replica that dies, at once when its connections are refused', async () => {
    const a = await mock('127.0.0.71', { 'waiting-requests': 0, 'kv-cache-usage': 0.1 });
    const b = await mock('127.0.0.72', { 'waiting-requests': 0, 'kv-cache-usage': 0.1 });
    const { picker: p, route } = await picker([spec('a', a.host, a.port), spec('b', b.host, b.port)]);
    await vi.waitFor(() => expect(p.datastore.snapshot.endpoints.every((e) => e.metrics.known)).toBe(true), { timeout: 5000 });
    const dead = `127.0.0.71:${a.port}`;
    await a.close();
    const killedAt = performance.now();
    await vi.waitFor(() => expect(p.datastore.snapshot.endpoints.find((e) => e.name === 'a')?.metrics.known).toBe(false), { timeout: 3000, interval: 5 });
    const unknownAfterMs = performance.now() - killedAt;
    for (let i = 0; i < 10; i++) expect(await route()).not.toBe(dead);
    // Refused connections are noticed on the next scrape, far inside the 2 s staleness threshold.
    expect(unknownAfterMs).toBeLessThan(1000);
  });
});
