/**
 * llm-d-router v0.10's sim-epp-gpu-config.yaml end to end: the metrics source and the dcgm source
 * both scrape every endpoint, and the GPU utilization read from the DCGM page decides the route.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { PickerServer } from '../../src/app.js';
import type { EndpointSpec } from '../../src/datastore/endpoint.js';
import type { FetchOptions, MetricsFetcher } from '../../src/scrape/scrape-error.js';
import { startTestPicker } from '../helpers/picker.js';
import { RawExtProcClient, requestBody, requestHeaders } from '../helpers/raw-extproc-client.js';

const CONFIG = readFileSync(new URL('../fixtures/upstream-v0.10/deploy-config/sim-epp-gpu-config.yaml', import.meta.url), 'utf8');
const METRICS_PAGE = readFileSync(new URL('../fixtures/metrics/vllm-lora-single.txt', import.meta.url), 'utf8');
const ENDPOINTS: EndpointSpec[] = [
  { name: 'decode-0', address: '127.0.0.2', port: 8000, labels: { 'llm-d.ai/role': 'decode' } },
  { name: 'decode-1', address: '127.0.0.3', port: 8000, labels: { 'llm-d.ai/role': 'decode' } },
];

/** Serves the engine page on 8000 and a sidecar DCGM page on 9400 with the utilization set per host. */
class TwoSourceFetcher implements MetricsFetcher {
  readonly gpuUtil = new Map<string, number>();
  readonly requests: { href: string; options: FetchOptions }[] = [];
  #dcgmAnswered = new Set<string>();
  #onBothAnswered: (() => void) | undefined;
  readonly bothAnswered = new Promise<void>((resolve) => (this.#onBothAnswered = resolve));

  fetch(url: URL, options: FetchOptions): Promise<string> {
    this.requests.push({ href: url.href, options });
    if (url.port !== '9400') return Promise.resolve(METRICS_PAGE);
    const util = this.gpuUtil.get(url.hostname) ?? 0;
    this.#dcgmAnswered.add(url.hostname);
    if (this.#dcgmAnswered.size === ENDPOINTS.length) this.#onBothAnswered?.();
    return Promise.resolve(`# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).\n# TYPE DCGM_FI_DEV_GPU_UTIL gauge\nDCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-1",device="nvidia0",modelName="NVIDIA L4",Hostname="n"} ${util}\n`);
  }
  forget(): void {}
  close(): void {}
}

const running: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of running.splice(0)) await stop();
});

async function route(picker: PickerServer): Promise<string> {
  const client = new RawExtProcClient(`127.0.0.1:${picker.grpcPort}`);
  running.push(() => Promise.resolve(client.close()));
  const s = client.open();
  s.send(requestHeaders({ ':path': '/v1/completions', 'content-type': 'application/json' }));
  s.send(requestBody(JSON.stringify({ model: 'meta-llama/Llama-3.1-8B-Instruct', prompt: 'hello', max_tokens: 8 }), true));
  await s.until((x) => x.responses.length >= 1 || x.ended, 5000);
  s.halfClose();
  const mutation = s.responses[0]?.msg.request_headers?.response?.header_mutation?.set_headers ?? [];
  return mutation.find((h) => h.header?.key === 'x-gateway-destination-endpoint')?.header?.raw_value?.toString() ?? 'none';
}

async function startWith(util: Record<string, number>): Promise<{ picker: PickerServer; fetcher: TwoSourceFetcher }> {
  const fetcher = new TwoSourceFetcher();
  for (const [host, v] of Object.entries(util)) fetcher.gpuUtil.set(host, v);
  const picker = await startTestPicker({ config: { text: CONFIG }, discovery: { endpoints: ENDPOINTS }, fetcher, allowExperimentalPlugins: true });
  running.push(() => picker.shutdown(1000));
  await fetcher.bothAnswered;
  // The answers are applied in the promise callbacks that follow.
  await new Promise((resolve) => setImmediate(resolve));
  return { picker, fetcher };
}

describe('sim-epp-gpu-config.yaml with DCGM pages', () => {
  it('scrapes the engine page and the DCGM exporter of every endpoint', async () => {
    const { fetcher } = await startWith({});
    const hrefs = new Set(fetcher.requests.map((r) => r.href.split('?')[0]));
    for (const e of ENDPOINTS) {
      expect(hrefs).toContain(`http://${e.address}:8000/metrics`);
      expect(hrefs).toContain(`http://${e.address}:9400/metrics`);
    }
    expect(fetcher.requests.find((r) => r.href.includes(':9400'))?.options.maxBytes).toBe(4 * 1024 * 1024);
  });

  it('routes away from a GPU above the 0.9 threshold, whichever endpoint it is', async () => {
    const a = await startWith({ '127.0.0.2': 97, '127.0.0.3': 35 });
    for (let i = 0; i < 3; i++) expect(await route(a.picker)).toBe('127.0.0.3:8000');
    const b = await startWith({ '127.0.0.2': 20, '127.0.0.3': 95 });
    for (let i = 0; i < 3; i++) expect(await route(b.picker)).toBe('127.0.0.2:8000');
  });

  it('prefers the less utilized GPU when both pass the filter', async () => {
    const { picker } = await startWith({ '127.0.0.2': 80, '127.0.0.3': 10 });
    for (let i = 0; i < 3; i++) expect(await route(picker)).toBe('127.0.0.3:8000');
  });
});
