/**
 * `epp loadtest` against the real demo stack in-process: mock vLLM replicas on distinct loopback
 * addresses, the picker with its default (prefix-aware) config, and the local gateway.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PickerServer } from '../../src/app.js';
import { runCommand } from '../../src/cli/command.js';
import { loadtestCommand } from '../../src/cli/commands/loadtest.js';
import { startGateway, type GatewayServer } from '../../src/gateway/gateway.js';
import { systemClock } from '../../src/loadtest/clock.js';
import { LoadtestError } from '../../src/loadtest/errors.js';
import { jsonDocument } from '../../src/loadtest/json-output.js';
import { runLoadtest, type LoadtestOptions } from '../../src/loadtest/loadtest.js';
import { silentProgress } from '../../src/loadtest/progress.js';
import { startMockVllm, type MockVllmServer, type TokenPacer } from '../../src/mockvllm/server.js';
import { startTestPicker } from '../helpers/picker.js';

const MODEL = 'Qwen/Qwen2.5-3B-Instruct';
let mocks: MockVllmServer[] = [];
let picker: PickerServer;
let gateway: GatewayServer;

// Tokens after the first come 1 ms apart, so streams have real inter-token gaps to measure.
const pacer: TokenPacer = (step) => (step.index === 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, 1)));

beforeAll(async () => {
  mocks = await Promise.all([0, 1, 2].map((i) => startMockVllm({ host: `127.0.0.${51 + i}`, port: 0, model: MODEL, podName: `vllm-${i}`, profile: 'instant', tokenPacer: pacer })));
  picker = await startTestPicker({ discovery: { endpoints: mocks.map((m, i) => ({ name: `vllm-${i}`, address: m.host, port: m.port, labels: {} })) } });
  gateway = await startGateway({ host: '127.0.0.1', port: 0, epp: `127.0.0.1:${picker.grpcPort}` });
});

afterAll(async () => {
  await gateway.close();
  await picker.shutdown(1000);
  await Promise.all(mocks.map((m) => m.close()));
});

function options(overrides: Partial<LoadtestOptions> = {}): LoadtestOptions {
  return {
    url: gateway.url,
    model: '',
    requests: 12,
    concurrency: 4,
    groups: 3,
    groupSize: 4,
    systemPromptTokens: 300,
    distributionRequests: 12,
    latencyRequests: 12,
    promptTokens: 32,
    maxTokens: 4,
    timeoutMs: 5000,
    stageTimeoutMs: 10_000,
    replicaMetrics: [],
    runId: `t${Math.floor(Math.random() * 1e9).toString(16)}`,
    ...overrides,
  };
}

const urlOf = (input: string | URL | Request): string => (typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
const finitePositive = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v > 0;

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

describe('epp loadtest against gateway → picker → mock vLLM', () => {
  it('keeps prefix groups together, uses every replica for distinct prompts, and measures real numbers', async () => {
    const r = await runLoadtest(options(), { clock: systemClock, progress: silentProgress });
    expect(r.model).toBe(MODEL);
    expect(r.identity).toBe('header');
    expect(r.health.ok).toBe(true);
    expect(r.prefix?.counts).toMatchObject({ planned: 12, ok: 12, errors: {} });
    expect(r.prefix?.affinity).toBeGreaterThanOrEqual(0.9);
    expect(Object.keys(r.distribution?.perReplica ?? {}).sort()).toEqual(['vllm-0', 'vllm-1', 'vllm-2']);
    expect(Object.values(r.distribution?.perReplica ?? {}).every((n) => n > 0)).toBe(true);

    const doc = JSON.parse(jsonDocument(r)) as Record<string, Record<string, unknown> | number>;
    expect(doc.health).toMatchObject({ ok: true });
    expect(doc.prefixAffinity).toBeGreaterThanOrEqual(0.9);
    expect(doc.balance).toBeGreaterThanOrEqual(1);
    const nested = ['prefixTtftMs.first', 'prefixTtftMs.later', 'throughput.requestsPerSec', 'throughput.outputTokensPerSec', 'latencyMs.p50', 'latencyMs.p95', 'latencyMs.p99', 'ttftMs.p50', 'ttftMs.p95', 'ttftMs.p99', 'itlMs.p50'];
    for (const path of nested) {
      const [outer = '', inner = ''] = path.split('.');
      const value = (doc[outer] as Record<string, unknown>)[inner];
      expect(finitePositive(value), `${path} = ${String(value)}`).toBe(true);
    }
    // The instant engine reports prefix-cache hits: later requests of a group reuse the system prompt.
    expect(r.prefix?.cachedTokensLater).toBeGreaterThan(200);
  });

  it('names replicas from /metrics deltas when responses carry no x-inference-pod header', async () => {
    const stripping = (async (input: string | URL | Request, init?: RequestInit) => {
      const res = await fetch(input, init);
      if (!urlOf(input).startsWith(gateway.url)) return res;
      const headers = new Headers(res.headers);
      headers.delete('x-inference-pod');
      return new Response(res.body, { status: res.status, headers });
    }) as typeof fetch;
    const replicaMetrics = mocks.map((m, i) => ({ name: `vllm-${i}`, url: `${m.url}/metrics` }));
    const r = await runLoadtest(options({ groups: 2, groupSize: 3, distributionRequests: 6, requests: 4, latencyRequests: 4, replicaMetrics }), { clock: systemClock, progress: silentProgress, fetch: stripping });
    expect(r.identity).toBe('metrics');
    expect(r.prefix?.unattributed).toBe(0);
    expect(r.prefix?.affinity).toBeGreaterThanOrEqual(0.9);
    expect(r.distribution?.unattributed).toBe(0);
    expect(Object.values(r.distribution?.perReplica ?? {}).reduce((a, b) => a + b, 0)).toBe(6);
    expect(Object.values(r.distribution?.perReplica ?? {}).every((n) => n > 0)).toBe(true);
  });

  it('runs from the command line and writes the JSON file', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'epp-loadtest-')), 'out.json');
    let stdout = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    });
    const argv = ['--url', gateway.url, '--requests', '8', '--concurrency', '4', '--groups', '2', '--group-size', '3', '--distribution-requests', '6', '--max-tokens', '4', '--system-prompt-tokens', '200', '--json', out, '--quiet'];
    await runCommand(loadtestCommand, argv, () => {});
    vi.restoreAllMocks();
    expect(stdout).toContain('prefix        affinity');
    const doc = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
    for (const key of ['health', 'prefixAffinity', 'prefixTtftMs', 'distribution', 'balance', 'throughput', 'latencyMs', 'ttftMs', 'itlMs']) expect(doc).toHaveProperty(key);
    expect(doc.health).toMatchObject({ ok: true });
  });

  it('fails fast with a clear message when nothing listens at the URL', async () => {
    const port = await closedPort();
    const started = Date.now();
    const run = runLoadtest(options({ url: `http://127.0.0.1:${port}` }), { clock: systemClock, progress: silentProgress });
    await expect(run).rejects.toThrow(LoadtestError);
    await expect(run).rejects.toThrow(`cannot reach http://127.0.0.1:${port}: connection refused`);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('compares two URLs side by side', async () => {
    let stdout = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    });
    const argv = ['--url', gateway.url, '--compare', gateway.url, '--requests', '4', '--groups', '2', '--group-size', '2', '--distribution-requests', '3', '--max-tokens', '2', '--quiet'];
    await runCommand(loadtestCommand, argv, () => {});
    vi.restoreAllMocks();
    expect(stdout).toMatch(/metric\s+A\s+B\s+A\/B\s+better/);
    expect(stdout).toMatch(/prefix affinity\s+1\.000\s+1\.000\s+1\.00/);
  });
});
