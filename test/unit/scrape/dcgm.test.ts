import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { registerBuiltins } from '../../../src/builtins.js';
import { buildScheduler, type BuiltConfig } from '../../../src/config/build-scheduler.js';
import { loadConfig } from '../../../src/config/load-config.js';
import { Endpoint } from '../../../src/datastore/endpoint.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { AttributeCollector, type AttributeCollectorOptions } from '../../../src/scrape/attribute-collector.js';
import { MAX_ENDPOINT_ATTRIBUTES, publishAttributes, type AttributeExtractor } from '../../../src/scrape/attribute-source.js';
import { MetricsDataSource } from '../../../src/scrape/data-layer-plugins.js';
import type { DcgmDataSource} from '../../../src/scrape/dcgm-data-source.js';
import { dcgmDataSourceFactory } from '../../../src/scrape/dcgm-data-source.js';
import { DcgmExtractor, dcgmExtractorFactory } from '../../../src/scrape/dcgm-extractor.js';
import { SYSTEM_CLOCK } from '../../../src/scrape/metrics-collector.js';
import { ScrapeError, type FetchOptions, type MetricsFetcher } from '../../../src/scrape/scrape-error.js';
import { configProblems } from '../../helpers/config-problems.js';

const PAGE = readFileSync(new URL('../../fixtures/metrics/dcgm-exporter-daemonset.txt', import.meta.url), 'utf8');
const CONTEXT = { random: () => 0.5 };
const KEY = 'dcgm-extractor/GPUUtilization';

const problems = configProblems;

const source = (parameters: unknown): DcgmDataSource => dcgmDataSourceFactory('dcgm', parameters, CONTEXT) as DcgmDataSource;

describe('dcgm-data-source parameters', () => {
  it('defaults as llm-d-router v0.10 (http, /metrics, port 9400, insecureSkipVerify) with bounded pages', () => {
    const s = source(undefined);
    expect(s.target).toEqual({ scheme: 'http', path: '/metrics', port: 9400, timeoutMs: 1000, maxResponseBytes: 4 * 1024 * 1024 });
    expect(s.parameters.insecureSkipVerify).toBe(true);
    expect(s.intervalMs(50)).toBe(50);
  });

  it('rounds interval to the base tick and takes https, path and port', () => {
    const s = source({ scheme: 'https', path: '/dcgm', port: 9500, interval: '1s', insecureSkipVerify: false });
    expect(s.target).toMatchObject({ scheme: 'https', path: '/dcgm', port: 9500 });
    expect(s.intervalMs(300)).toBe(900);
    expect(s.intervalMs(50)).toBe(1000);
  });

  it('reports every bad parameter at once; useNodeAddress is refused with the reason', () => {
    const p = problems(() => source({ scheme: 'ftp', port: 0, useNodeAddress: true, maxResponseBytes: 1 << 30, bogus: 1 }));
    expect(p.join('\n')).toMatch(/scheme/);
    expect(p.join('\n')).toMatch(/port/);
    expect(p.join('\n')).toMatch(/maxResponseBytes/);
    expect(p.join('\n')).toMatch(/bogus/);
    expect(problems(() => source({ useNodeAddress: true })).join('\n')).toMatch(/useNodeAddress.*no node address/);
  });

  it('dcgm-extractor takes no parameters', () => {
    expect(dcgmExtractorFactory('x', undefined, CONTEXT)).toBeInstanceOf(DcgmExtractor);
    expect(problems(() => dcgmExtractorFactory('x', { metric: 'DCGM_FI_DEV_FB_USED' }, CONTEXT)).join('\n')).toMatch(/metric/);
  });
});

describe('dcgm-extractor on a DCGM exporter page', () => {
  const x = new DcgmExtractor('dcgm-extractor');

  it("takes the busiest GPU of the endpoint's pod, normalized to [0, 1] (DaemonSet page)", () => {
    expect(x.extract(PAGE, new Endpoint('vllm-decode-7c9f-abcde', '10.0.0.1', 8000, {}))).toEqual({ ok: true, values: { GPUUtilization: 0.93 } });
    expect(x.extract(PAGE, new Endpoint('vllm-decode-7c9f-xyz12', '10.0.0.2', 8000, {}))).toEqual({ ok: true, values: { GPUUtilization: 0.41 } });
  });

  it('matches the pod label against a data-parallel endpoint name without its -rank-N suffix', () => {
    expect(x.extract(PAGE, new Endpoint('vllm-decode-7c9f-abcde-rank-1', '10.0.0.1', 8001, {}))).toEqual({ ok: true, values: { GPUUtilization: 0.93 } });
  });

  it('counts series without a pod label for every endpoint (sidecar page); an unknown pod sees only those', () => {
    const sidecar = 'DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a",device="nvidia0",modelName="NVIDIA L4",Hostname="n"} 35\nDCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-b",device="nvidia1",modelName="NVIDIA L4",Hostname="n"} 12\n';
    expect(x.extract(sidecar, new Endpoint('anything', '10.0.0.3', 8000, {}))).toEqual({ ok: true, values: { GPUUtilization: 0.35 } });
    expect(x.extract(PAGE, new Endpoint('other-pod', '10.0.0.9', 8000, {}))).toEqual({ ok: true, values: { GPUUtilization: 0 } });
  });

  it('fails without the metric, or without a usable sample for the pod; clamps above 100 %', () => {
    expect(x.extract(PAGE.replaceAll('DCGM_FI_DEV_GPU_UTIL', 'DCGM_FI_DEV_GPU_UTILX'), new Endpoint('p', '10.0.0.1', 8000, {}))).toMatchObject({ ok: false, reason: expect.stringMatching(/not found/) as unknown });
    expect(x.extract('DCGM_FI_DEV_GPU_UTIL{pod="q"} 50\n', new Endpoint('p', '10.0.0.1', 8000, {}))).toMatchObject({ ok: false, reason: expect.stringMatching(/no usable sample for pod p/) as unknown });
    expect(x.extract('DCGM_FI_DEV_GPU_UTIL{pod="p"} NaN\n', new Endpoint('p', '10.0.0.1', 8000, {})).ok).toBe(false);
    expect(x.extract('DCGM_FI_DEV_GPU_UTIL 140\n', new Endpoint('p', '10.0.0.1', 8000, {}))).toEqual({ ok: true, values: { GPUUtilization: 1 } });
    expect(x.extract('<html>not metrics</html>', new Endpoint('p', '10.0.0.1', 8000, {})).ok).toBe(false);
  });
});

class ScriptedFetcher implements MetricsFetcher {
  calls: { url: URL; options: FetchOptions; resolve: (text: string) => void; reject: (err: Error) => void }[] = [];
  closed = false;
  forgotten: string[] = [];
  fetch(url: URL, options: FetchOptions): Promise<string> {
    return new Promise((resolve, reject) => this.calls.push({ url, options, resolve, reject }));
  }
  forget(url: URL): void {
    this.forgotten.push(url.href);
  }
  close(): void {
    this.closed = true;
  }
}

describe('AttributeCollector running dcgm-data-source', () => {
  let fetcher: ScriptedFetcher;
  let errors: { poll: number; extract: number };
  beforeEach(() => {
    vi.useFakeTimers();
    fetcher = new ScriptedFetcher();
    errors = { poll: 0, extract: 0 };
  });
  afterEach(() => vi.useRealTimers());

  function collector(over: Partial<AttributeCollectorOptions> = {}): AttributeCollector {
    return new AttributeCollector({
      source: source({ port: 9400, maxResponseBytes: 65536, timeout: '500ms' }),
      extractors: [new DcgmExtractor('gpu')],
      intervalMs: 1000,
      stalenessMs: 2000,
      maxBackoffMs: 4000,
      fetcher,
      clock: SYSTEM_CLOCK,
      logger: silentLogger(),
      metrics: { pollError: () => errors.poll++, extractError: () => errors.extract++ },
      ...over,
    });
  }

  it("scrapes the exporter port of each endpoint on the source's own period, bounded, and merges the attribute", async () => {
    const e = new Endpoint('vllm-decode-7c9f-abcde', '10.0.0.1', 8000, {});
    e.attributes = Object.freeze({ 'other-extractor/Zone': 3 });
    const c = collector();
    c.sync([e]);
    expect(fetcher.calls).toHaveLength(1);
    expect(fetcher.calls[0]?.url.href).toBe('http://10.0.0.1:9400/metrics');
    expect(fetcher.calls[0]?.options).toEqual({ timeoutMs: 500, maxBytes: 65536 });
    fetcher.calls[0]?.resolve(PAGE);
    await vi.advanceTimersByTimeAsync(0);
    expect(e.attributes).toEqual({ 'other-extractor/Zone': 3, [KEY]: 0.93 });
    expect(Object.isFrozen(e.attributes)).toBe(true);
    expect(e.reachable).toBe(true);
    await vi.advanceTimersByTimeAsync(999);
    expect(fetcher.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(fetcher.calls).toHaveLength(2);
    c.stop();
    expect(e.attributes).toEqual({ 'other-extractor/Zone': 3 });
    expect(fetcher.closed).toBe(true);
    expect(fetcher.forgotten).toEqual(['http://10.0.0.1:9400/metrics']);
  });

  it('does not overlap scrapes, backs off on failure, drops stale values, never changes reachability', async () => {
    const e = new Endpoint('p', '10.0.0.1', 8000, {});
    const c = collector();
    c.sync([e]);
    await vi.advanceTimersByTimeAsync(3000);
    expect(fetcher.calls).toHaveLength(1);
    fetcher.calls[0]?.resolve('DCGM_FI_DEV_GPU_UTIL 20\n');
    await vi.advanceTimersByTimeAsync(0);
    expect(e.attributes[KEY]).toBe(0.2);
    await vi.advanceTimersByTimeAsync(1000);
    fetcher.calls[1]?.reject(new ScrapeError('refused', 'connection refused'));
    await vi.advanceTimersByTimeAsync(0);
    expect(errors.poll).toBe(1);
    expect(e.reachable).toBe(true);
    // Backoff: 1000 * 2 = 2000 ms before the next attempt.
    await vi.advanceTimersByTimeAsync(1000);
    expect(fetcher.calls).toHaveLength(2);
    // The value from t=3000 is older than 2000 ms at t=6000: gone, even while backing off.
    await vi.advanceTimersByTimeAsync(1000);
    expect(e.attributes[KEY]).toBeUndefined();
    expect(fetcher.calls).toHaveLength(3);
    c.stop();
  });

  it('removes the attribute when a page lacks the metric and counts an extract error', async () => {
    const e = new Endpoint('p', '10.0.0.1', 8000, {});
    const c = collector();
    c.sync([e]);
    fetcher.calls[0]?.resolve('DCGM_FI_DEV_GPU_UTIL 50\n');
    await vi.advanceTimersByTimeAsync(1000);
    expect(e.attributes[KEY]).toBe(0.5);
    fetcher.calls[1]?.resolve('DCGM_FI_DEV_FB_USED 10\n');
    await vi.advanceTimersByTimeAsync(0);
    expect(e.attributes[KEY]).toBeUndefined();
    expect(errors.extract).toBe(1);
    c.stop();
  });

  it('caps the attributes an endpoint carries', async () => {
    const e = new Endpoint('p', '10.0.0.1', 8000, {});
    e.attributes = Object.freeze(Object.fromEntries(Array.from({ length: MAX_ENDPOINT_ATTRIBUTES }, (_, i) => [`x/a${i}`, i])));
    const c = collector();
    c.sync([e]);
    fetcher.calls[0]?.resolve('DCGM_FI_DEV_GPU_UTIL 50\n');
    await vi.advanceTimersByTimeAsync(0);
    expect(Object.keys(e.attributes)).toHaveLength(MAX_ENDPOINT_ATTRIBUTES);
    expect(e.attributes[KEY]).toBeUndefined();
    c.stop();
  });

  it('stops the loops of endpoints that leave the pool', () => {
    const a = new Endpoint('a', '10.0.0.1', 8000, {});
    const b = new Endpoint('b', '10.0.0.2', 8000, {});
    const c = collector();
    c.sync([a, b]);
    expect(c.size).toBe(2);
    c.sync([b]);
    expect(c.size).toBe(1);
    expect(fetcher.forgotten).toEqual(['http://10.0.0.1:9400/metrics']);
    c.stop();
  });

  it('runs several extractors of one page independently', async () => {
    const other: AttributeExtractor = {
      typedName: { type: 'test-extractor', name: 't' },
      update: (page, e) => {
        publishAttributes(e, 'test-extractor', ['Power'], page.includes('DCGM_FI_DEV_POWER_USAGE') ? { Power: 1 } : undefined);
        return undefined;
      },
      clear: (e) => publishAttributes(e, 'test-extractor', ['Power'], undefined),
    };
    const e = new Endpoint('vllm-decode-7c9f-abcde', '10.0.0.1', 8000, {});
    const c = collector({ extractors: [new DcgmExtractor('gpu'), other] });
    c.sync([e]);
    fetcher.calls[0]?.resolve(PAGE);
    await vi.advanceTimersByTimeAsync(0);
    expect(e.attributes).toEqual({ [KEY]: 0.93, 'test-extractor/Power': 1 });
    c.stop();
  });
});

describe('dataLayer with a metrics source and a dcgm source', () => {
  const HEADER = 'apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\n';
  const build = (body: string): BuiltConfig => buildScheduler(loadConfig({ text: HEADER + body }), registerBuiltins(), CONTEXT, undefined, 'EndpointPickerConfig', { allowExperimentalPlugins: true });

  it('binds both: the default metrics source is still injected next to the dcgm source', () => {
    const built = build(`plugins:
- {type: dcgm-data-source, name: dcgm-source, parameters: {port: 9400, interval: 1s}}
- {type: dcgm-extractor, name: dcgm-extractor}
dataLayer: {sources: [{pluginRef: dcgm-source, extractors: [{pluginRef: dcgm-extractor}]}]}
`);
    expect(built.dataSources.map((b) => b.source)).toEqual([built.plugins.get('metrics-data-source')]);
    expect(built.dataSources[0]?.source).toBeInstanceOf(MetricsDataSource);
    expect(built.attributeSources).toEqual([{ source: built.plugins.get('dcgm-source'), extractors: [built.plugins.get('dcgm-extractor')] }]);
  });

  it('refuses an extractor that cannot read the source, and the DCGM types are Alpha', () => {
    const p = problems(() =>
      build(`plugins:
- {type: dcgm-data-source, name: d}
- {type: core-metrics-extractor, name: core}
dataLayer: {sources: [{pluginRef: d, extractors: [{pluginRef: core}]}]}
`),
    );
    expect(p).toEqual(['dataLayer.sources[0].extractors[0].pluginRef: plugin "core" (type core-metrics-extractor) cannot read the pages of data source "d" (type dcgm-data-source)']);
    expect(problems(() => buildScheduler(loadConfig({ text: HEADER + 'plugins: [{type: dcgm-extractor}]\n' }), registerBuiltins(), CONTEXT, undefined, 'EndpointPickerConfig', { allowExperimentalPlugins: false })).join('\n')).toMatch(/Alpha stability level/);
  });
});
