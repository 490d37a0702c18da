/**
 * Unreachable means unroutable, end to end over real sockets: pods still listed by discovery whose
 * /metrics cannot be scraped — killed (connections refused), hanging, resetting, answering 500,
 * garbage or a 50 MB page — lose every request after their first failed scrape, including the
 * returning conversations whose prompts they cache, and win them back after their first good one.
 * The healthy pods are loaded, so prefix affinity alone would keep the broken pods first.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PickerServer } from '../../src/app.js';
import type { Endpoint, EndpointSpec } from '../../src/datastore/endpoint.js';
import { startMockVllm, type MockVllmServer } from '../../src/mockvllm/server.js';
import { listen } from '../../src/util/net.js';
import { startTestPicker } from '../helpers/picker.js';
import { RawExtProcClient, requestBody, requestHeaders } from '../helpers/raw-extproc-client.js';

const MODEL = 'm';
/** Every pod reports the same load, so prefix affinity decides among them. */
const LOADED = { 'waiting-requests': 5, 'kv-cache-usage': 0.9, 'running-requests': 4 };
const PAGE = 'vllm:num_requests_waiting{engine="0",model_name="m"} 5.0\nvllm:num_requests_running{engine="0",model_name="m"} 4.0\nvllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.9\n';
const HUGE_BYTES = 50_000_000;

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function mock(host: string, port = 0): Promise<MockVllmServer> {
  const m = await startMockVllm({ host, port, model: MODEL, profile: 'none', fakeMetrics: LOADED });
  cleanup.push(() => m.close());
  return m;
}

type Mode = 'ok' | 'hang' | 'reset' | 'http-500' | 'garbage' | 'huge';

/** A pod whose /metrics answers PAGE until told to misbehave. */
async function switchablePod(host: string): Promise<{ port: number; mode: Mode; hugeWrites: number[]; hugeFinished: number }> {
  const sockets = new Set<Socket>();
  const pod = { port: 0, mode: 'ok' as Mode, hugeWrites: [] as number[], hugeFinished: 0 };
  const line = Buffer.from('vllm:num_requests_waiting{engine="0",model_name="m"} 5.0\n'.repeat(1170)); // ~64 KiB
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    switch (pod.mode) {
      case 'ok':
        res.end(PAGE);
        return;
      case 'hang':
        return; // accept, never answer
      case 'reset':
        req.socket.resetAndDestroy();
        return;
      case 'http-500':
        res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error');
        return;
      case 'garbage':
        res.end('<html><body>\n<h1>502 Bad Gateway</h1>\n\u0000\u00ff{{{ vllm:num_requests_waiting{engine="0" 12\n</body></html>\n');
        return;
      case 'huge': {
        // 50 MB, chunked, as fast as the client reads it: how much it took is what the client buffered at most.
        const slot = pod.hugeWrites.push(0) - 1;
        const pump = (): void => {
          while ((pod.hugeWrites[slot] ?? 0) < HUGE_BYTES) {
            pod.hugeWrites[slot] = (pod.hugeWrites[slot] ?? 0) + line.length;
            if (!res.write(line)) {
              res.once('drain', pump);
              return;
            }
          }
          pod.hugeFinished++;
          res.end();
        };
        res.on('close', () => res.removeAllListeners('drain'));
        pump();
        return;
      }
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  pod.port = await listen(server, host, 0);
  cleanup.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return pod;
}

async function picker(endpoints: EndpointSpec[]): Promise<{ picker: PickerServer; route: (prompt: string) => Promise<string>; pod: (name: string) => Endpoint }> {
  const p = await startTestPicker({ discovery: { endpoints } });
  const client = new RawExtProcClient(`127.0.0.1:${p.grpcPort}`);
  cleanup.push(async () => {
    client.close();
    await p.shutdown(1000);
  });
  const route = async (prompt: string): Promise<string> => {
    const s = client.open();
    s.send(requestHeaders({ ':path': '/v1/completions' }));
    s.send(requestBody(JSON.stringify({ model: MODEL, prompt }), true));
    await s.until((x) => x.responses.length >= 1, 5000);
    s.halfClose();
    return s.responses[0]?.msg.request_headers?.response?.header_mutation?.set_headers?.[0]?.header?.raw_value?.toString() ?? 'none';
  };
  const pod = (name: string): Endpoint => p.datastore.snapshot.endpoints.find((e) => e.name === name) as Endpoint;
  return { picker: p, route, pod };
}

const spec = (name: string, address: string, port: number): EndpointSpec => ({ name, address, port, labels: {} });
const conversation = (i: number): string => `Conversation ${i}: you are a helpful assistant who answers questions about topic ${i}. `.repeat(8);

/** One prompt cached on each pod: distinct new prompts spread over the pods (ties rotate); each sticks to its first pod. */
async function affinityPrompts(route: (prompt: string) => Promise<string>, pods: readonly Endpoint[]): Promise<Map<string, string>> {
  const prompts = new Map<string, string>();
  for (let i = 0; prompts.size < pods.length && i < 20 * pods.length; i++) {
    const prompt = conversation(i);
    const dest = await route(prompt);
    if (!prompts.has(dest)) prompts.set(dest, prompt);
  }
  expect(prompts.size).toBe(pods.length);
  for (const [dest, prompt] of prompts) expect(await route(prompt)).toBe(dest);
  return prompts;
}

describe('unreachable endpoints are unroutable', () => {
  it('a killed pod still listed by discovery gets no request after its first failed scrape, then comes back', async () => {
    const mocks = [await mock('127.0.9.1'), await mock('127.0.9.2'), await mock('127.0.9.3')];
    const { route, pod } = await picker(mocks.map((m, i) => spec(`pod-${i}`, m.host, m.port)));
    const pods = ['pod-0', 'pod-1', 'pod-2'].map(pod);
    await vi.waitFor(() => expect(pods.every((e) => e.metrics.known)).toBe(true), { timeout: 5000 });
    const prompts = await affinityPrompts(route, pods);

    const victim = pods[1] as Endpoint;
    const victimMock = mocks[1] as MockVllmServer;
    await victimMock.close(); // SIGKILL-like: listener gone, open connections dropped
    const killedAt = performance.now();
    await vi.waitFor(() => expect(victim.reachable).toBe(false), { timeout: 3000, interval: 2 });
    expect(performance.now() - killedAt).toBeLessThan(1000); // the next scrape, refused
    expect(pods.filter((e) => e.reachable)).toHaveLength(2);

    const counts = new Map<string, number>();
    for (let round = 0; round < 10; round++) {
      for (const prompt of [...prompts.values(), conversation(1000 + round)]) {
        const dest = await route(prompt);
        counts.set(dest, (counts.get(dest) ?? 0) + 1);
      }
    }
    expect(counts.get(victim.hostPort)).toBeUndefined(); // not one, its own conversation included
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(40);

    // The replica restarts on the same address and port: its first good scrape readmits it.
    await mock(victimMock.host, victimMock.port);
    await vi.waitFor(() => expect(victim.reachable).toBe(true), { timeout: 3000, interval: 5 });
    const back: string[] = [];
    for (let i = 0; i < 6; i++) back.push(await route(conversation(2000 + i)));
    expect(back).toContain(victim.hostPort);
  });

  it('pods whose /metrics hang, reset, answer 500, garbage or 50 MB lose their traffic without stalling the picker, and win it back', async () => {
    const healthy = [await mock('127.0.9.11'), await mock('127.0.9.12')];
    const modes: Mode[] = ['hang', 'reset', 'http-500', 'garbage', 'huge'];
    const broken = await Promise.all(modes.map((_, i) => switchablePod(`127.0.9.${21 + i}`)));
    const { route, pod } = await picker([
      ...healthy.map((m, i) => spec(`healthy-${i}`, m.host, m.port)),
      ...broken.map((b, i) => spec(modes[i] as string, `127.0.9.${21 + i}`, b.port)),
    ]);
    const all = [...healthy.map((_, i) => pod(`healthy-${i}`)), ...modes.map(pod)];
    await vi.waitFor(() => expect(all.every((e) => e.metrics.known)).toBe(true), { timeout: 5000 });
    const prompts = await affinityPrompts(route, all);

    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    broken.forEach((b, i) => (b.mode = modes[i] as Mode));
    const brokenAt = performance.now();
    const excludedAfter = new Map<string, number>();
    await vi.waitFor(
      () => {
        for (const m of modes) if (!pod(m).reachable && !excludedAfter.has(m)) excludedAfter.set(m, performance.now() - brokenAt);
        expect(excludedAfter.size).toBe(modes.length);
      },
      { timeout: 5000, interval: 2 },
    );
    // Each is out at its first failed scrape: the hanging one at the 1 s scrape deadline, the huge
    // one once 16 MiB have streamed in (slow here, where this process also writes them). The bounds
    // leave room for a loaded machine; bench/scrape/failover.ts measures the real figures.
    for (const m of modes) expect(excludedAfter.get(m), m).toBeLessThan(m === 'hang' || m === 'huge' ? 2500 : 1000);

    const healthyHosts = new Set(all.slice(0, 2).map((e) => e.hostPort));
    const started = performance.now();
    for (let round = 0; round < 5; round++) {
      for (const m of modes) expect(healthyHosts.has(await route(prompts.get(pod(m).hostPort) as string)), m).toBe(true);
      expect(healthyHosts.has(await route(conversation(3000 + round)))).toBe(true);
    }
    // 30 decisions while five scrapers misbehave: the request path never waits on them.
    expect(performance.now() - started).toBeLessThan(3000);
    delay.disable();
    // No stall: buffering and parsing a 50 MB page, or a busy retry loop, would hold the loop for
    // seconds (typically ~50 ms here; the bound leaves room for a loaded machine).
    expect(delay.max / 1e6).toBeLessThan(1000);
    // The 50 MB page was abandoned at the 16 MiB cap as it streamed: no attempt got near its end.
    const huge = broken[modes.indexOf('huge')] as Awaited<ReturnType<typeof switchablePod>>;
    expect(huge.hugeWrites.length).toBeGreaterThan(0);
    expect(huge.hugeFinished).toBe(0);
    expect(Math.max(...huge.hugeWrites)).toBeLessThan(16 * 1024 * 1024 + 24 * 1024 * 1024);

    for (const b of broken) b.mode = 'ok';
    await vi.waitFor(() => expect(all.every((e) => e.reachable)).toBe(true), { timeout: 5000, interval: 5 });
    const seen = new Set<string>();
    for (let i = 0; i < 30 && seen.size < all.length; i++) seen.add(await route(conversation(4000 + i)));
    expect(seen.size).toBe(all.length);
  });
});
