import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { registerBuiltins } from '../../../src/builtins.js';
import { buildScheduler } from '../../../src/config/build-scheduler.js';
import { loadConfig } from '../../../src/config/load-config.js';
import { Endpoint } from '../../../src/datastore/endpoint.js';
import { startMockVllm } from '../../../src/mockvllm/server.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { AttributeCollector } from '../../../src/scrape/attribute-collector.js';
import { SYSTEM_CLOCK } from '../../../src/scrape/metrics-collector.js';
import { MAX_MODEL_FIELD_CHARS, MAX_SERVED_MODELS, ModelsDataExtractor, modelsDataExtractorFactory, parseModelList } from '../../../src/scrape/models-data-extractor.js';
import type { ModelsDataSource } from '../../../src/scrape/models-data-source.js';
import { modelsDataSourceFactory } from '../../../src/scrape/models-data-source.js';
import type { FetchOptions, MetricsFetcher } from '../../../src/scrape/scrape-error.js';
import { configProblems } from '../../helpers/config-problems.js';

const CONTEXT = { random: () => 0.5 };
/** A vLLM /v1/models answer with a base model and a LoRA adapter. */
const VLLM_MODELS = JSON.stringify({
  object: 'list',
  data: [
    { id: 'meta-llama/Llama-3.1-8B-Instruct', object: 'model', created: 1733500000, owned_by: 'vllm', root: 'meta-llama/Llama-3.1-8B-Instruct', parent: null, max_model_len: 8192, permission: [] },
    { id: 'sql-lora', object: 'model', created: 1733500000, owned_by: 'vllm', root: '/adapters/sql', parent: 'meta-llama/Llama-3.1-8B-Instruct', permission: [] },
  ],
});

const problems = (fn: () => unknown): string => configProblems(fn).join('\n');

const source = (parameters: unknown): ModelsDataSource => modelsDataSourceFactory('models', parameters, CONTEXT) as ModelsDataSource;

describe('models-data-source parameters', () => {
  it('defaults as llm-d-router v0.10: http, /v1/models on the serving port, insecureSkipVerify', () => {
    const s = source(undefined);
    expect(s.target).toEqual({ scheme: 'http', path: '/v1/models', port: undefined, timeoutMs: 1000, maxResponseBytes: 1024 * 1024 });
    expect(s.parameters.tls.verify).toBe(false);
    expect(source({ interval: '5s' }).intervalMs(50)).toBe(5000);
  });

  it('reads the certificate files at load time and reports every problem at once', () => {
    const p = problems(() => source({ scheme: 'https', insecureSkipVerify: false, caCertPath: '/nonexistent/ca.pem', clientCertPath: '/x.crt', port: 1 }));
    expect(p).toMatch(/port/);
    const q = problems(() => source({ scheme: 'https', insecureSkipVerify: false, caCertPath: '/nonexistent/ca.pem', clientCertPath: '/x.crt' }));
    expect(q).toMatch(/caCertPath[\s\S]*cannot read \/nonexistent\/ca.pem/);
    expect(q).toMatch(/clientCertPath and clientKeyPath must be set together/);
  });

  it('models-data-extractor takes no parameters', () => {
    expect(modelsDataExtractorFactory('m', undefined, CONTEXT)).toBeInstanceOf(ModelsDataExtractor);
    expect(problems(() => modelsDataExtractorFactory('m', { x: 1 }, CONTEXT))).toMatch(/x/);
  });
});

describe('models-data-extractor', () => {
  it('keeps id, object, created, owned_by and parent of each served model', () => {
    expect(parseModelList(VLLM_MODELS)).toEqual([
      { id: 'meta-llama/Llama-3.1-8B-Instruct', object: 'model', created: 1733500000, ownedBy: 'vllm' },
      { id: 'sql-lora', object: 'model', created: 1733500000, ownedBy: 'vllm', parent: 'meta-llama/Llama-3.1-8B-Instruct' },
    ]);
  });

  it('refuses what is not a model list, and bounds what the pod sends', () => {
    expect(parseModelList('<html>')).toMatch(/not JSON/);
    expect(parseModelList('{"object":"list"}')).toMatch(/no "data" list/);
    expect(parseModelList('[1,2]')).toMatch(/no "data" list/);
    expect(parseModelList(JSON.stringify({ data: [{ id: 7 }, null, { id: '' }, { id: 'x'.repeat(MAX_MODEL_FIELD_CHARS + 1) }, { id: 'ok', parent: 'p'.repeat(MAX_MODEL_FIELD_CHARS + 1) }] }))).toEqual([{ id: 'ok' }]);
    const many = JSON.stringify({ data: Array.from({ length: MAX_SERVED_MODELS + 10 }, (_, i) => ({ id: `m${i}` })) });
    expect(parseModelList(many)).toHaveLength(MAX_SERVED_MODELS);
  });

  it('publishes the list on the endpoint and clears it on a bad page', () => {
    const x = new ModelsDataExtractor('m');
    const e = new Endpoint('p', '10.0.0.1', 8000, {});
    expect(x.update(VLLM_MODELS, e)).toBeUndefined();
    expect(e.servedModels?.map((m) => m.id)).toEqual(['meta-llama/Llama-3.1-8B-Instruct', 'sql-lora']);
    expect(x.update('oops', e)).toMatch(/not JSON/);
    expect(e.servedModels).toBeUndefined();
  });
});

class ScriptedFetcher implements MetricsFetcher {
  calls: { url: URL; options: FetchOptions; resolve: (text: string) => void }[] = [];
  fetch(url: URL, options: FetchOptions): Promise<string> {
    return new Promise((resolve) => this.calls.push({ url, options, resolve }));
  }
  forget(): void {}
  close(): void {}
}

describe('AttributeCollector running models-data-source', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("fetches /v1/models on each endpoint's serving port and keeps the list fresh", async () => {
    const fetcher = new ScriptedFetcher();
    const c = new AttributeCollector({ source: source({ interval: '5s' }), extractors: [new ModelsDataExtractor('m')], intervalMs: 5000, stalenessMs: 10_000, maxBackoffMs: 5000, fetcher, clock: SYSTEM_CLOCK, logger: silentLogger() });
    const e = new Endpoint('p', '10.0.0.1', 8123, {});
    c.sync([e]);
    expect(fetcher.calls[0]?.url.href).toBe('http://10.0.0.1:8123/v1/models');
    expect(fetcher.calls[0]?.options.maxBytes).toBe(1024 * 1024);
    fetcher.calls[0]?.resolve(VLLM_MODELS);
    await vi.advanceTimersByTimeAsync(0);
    expect(e.servedModels).toHaveLength(2);
    // The next fetch (at 5 s) hangs; no answer for longer than the staleness threshold drops the list.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fetcher.calls).toHaveLength(2);
    expect(e.servedModels).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(5000);
    expect(fetcher.calls).toHaveLength(2);
    expect(e.servedModels).toBeUndefined();
    c.stop();
  });
});

describe('dataLayer with metrics, dcgm and models sources', () => {
  it('binds every source with its extractors', () => {
    const built = buildScheduler(
      loadConfig({
        text: `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- {type: models-data-source, name: models}
- {type: models-data-extractor, name: models-x}
- {type: dcgm-data-source, name: dcgm}
- {type: dcgm-extractor, name: dcgm-x}
dataLayer:
  sources:
  - {pluginRef: models, extractors: [{pluginRef: models-x}]}
  - {pluginRef: dcgm, extractors: [{pluginRef: dcgm-x}]}
`,
      }),
      registerBuiltins(),
      CONTEXT,
      undefined,
      'EndpointPickerConfig',
      { allowExperimentalPlugins: true },
    );
    expect(built.dataSources.map((b) => b.source.typedName.name)).toEqual(['metrics-data-source']);
    expect(built.attributeSources.map((b) => [b.source.typedName.name, b.extractors.map((x) => x.typedName.name)])).toEqual([
      ['models', ['models-x']],
      ['dcgm', ['dcgm-x']],
    ]);
  });
});

describe('models-data-source against the mock model server (loopback)', () => {
  it('reads the served models, LoRA adapters with their parent, over a real connection', async () => {
    const mock = await startMockVllm({ host: '127.0.0.61', port: 0, model: 'base-model', profile: 'none', loras: [{ name: 'sql-lora', path: '/adapters/sql' }], maxLoras: 2 });
    const s = source(undefined);
    const fetcher = s.createFetcher();
    const c = new AttributeCollector({ source: s, extractors: [new ModelsDataExtractor('m')], intervalMs: 60_000, stalenessMs: 120_000, maxBackoffMs: 60_000, fetcher, clock: SYSTEM_CLOCK, logger: silentLogger() });
    const e = new Endpoint('pod', mock.host, mock.port, {});
    try {
      c.sync([e]);
      await vi.waitFor(() => expect(e.servedModels).toBeDefined(), { timeout: 5000, interval: 10 });
      expect(e.servedModels?.map((m) => [m.id, m.parent])).toEqual([
        ['base-model', undefined],
        ['sql-lora', 'base-model'],
      ]);
    } finally {
      c.stop();
      await mock.close();
    }
  });
});
