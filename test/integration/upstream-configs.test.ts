/**
 * Every EndpointPickerConfig shipped with llm-d-router v0.10.0 (test/fixtures/upstream-v0.10): each
 * either starts the picker and routes a request over a fixed endpoint list, or fails with only
 * `plugin type "X" is not implemented yet (issue N: …)` errors — never a schema error.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { PickerServer } from '../../src/app.js';
import { registerBuiltins } from '../../src/builtins.js';
import { ConfigError } from '../../src/config/decode.js';
import type { EndpointSpec } from '../../src/datastore/endpoint.js';
import { metricsDataSourceFactory } from '../../src/scrape/data-layer-plugins.js';
import type { MetricsFetcher } from '../../src/scrape/scrape-error.js';
import { startTestPicker } from '../helpers/picker.js';
import { RawExtProcClient, requestBody, requestHeaders } from '../helpers/raw-extproc-client.js';

const FIXTURES = new URL('../fixtures/upstream-v0.10/', import.meta.url);
const METRICS_PAGE = readFileSync(new URL('../fixtures/metrics/vllm-lora-single.txt', import.meta.url), 'utf8');

/** Expected outcome per file: routes, or fails naming exactly these unimplemented types and their issues. */
type Outcome = 'routes' | 'routes with --allow-experimental-plugins' | { readonly notImplemented: Readonly<Record<string, number>> };

const EXPECTED: Readonly<Record<string, Outcome>> = {
  'deploy-config/dp-epp-config.yaml': 'routes',
  'deploy-config/epp-burst-prefix-cache-config.yaml': { notImplemented: { 'token-producer': 15, 'burst-prefix-cache-producer': 14 } },
  'deploy-config/epp-config.yaml': 'routes',
  'deploy-config/epp-estimate-prefix-cache-config.yaml': 'routes',
  'deploy-config/epp-mm-embeddings-cache-config.yaml': {
    notImplemented: { 'token-producer': 15, 'endpoint-notification-source': 14, 'precise-prefix-cache-producer': 15 },
  },
  'deploy-config/epp-precise-prefix-cache-config.yaml': { notImplemented: { 'token-producer': 15, 'endpoint-notification-source': 14, 'precise-prefix-cache-producer': 15 } },
  'deploy-config/pd-epp-config.yaml': 'routes',
  'deploy-config/pd-topology-epp-config.yaml': { notImplemented: { 'topology-extractor': 14, 'topology-affinity-filter': 14, 'topology-affinity-scorer': 14 } },
  'deploy-config/probabilistic-admitter-epp-config.yaml': 'routes',
  'deploy-config/sim-e-p-d-epp-config.yaml': { notImplemented: { 'always-disagg-multimodal-decider': 14 } },
  'deploy-config/sim-e-pd-epp-config.yaml': { notImplemented: { 'always-disagg-multimodal-decider': 14 } },
  'deploy-config/sim-epp-config.yaml': 'routes',
  // dcgm-* and endpoint-attribute-* are Alpha in the reference too.
  'deploy-config/sim-epp-gpu-config.yaml': 'routes with --allow-experimental-plugins',
  'deploy-config/sim-epp-kvcache-config.yaml': { notImplemented: { 'token-producer': 15, 'precise-prefix-cache-producer': 15 } },
  'deploy-config/sim-epp-no-hit-lru.yaml': { notImplemented: { 'precise-prefix-cache-producer': 15 } },
  'deploy-config/sim-epp-tokenizer-vllm-http-config.yaml': { notImplemented: { 'token-producer': 15, 'precise-prefix-cache-producer': 15 } },
  'deploy-config/sim-pd-epp-config.yaml': 'routes',
  'deploy-config/sim-program-aware-config.yaml': { notImplemented: { 'program-aware-fairness': 16 } },
  'deploy-config/soft-reflective-ceiling-epp-config.yaml': { notImplemented: { 'soft-reflective-ceiling-policy': 16 } },
  'perf-router-configs/optimized-baseline.yaml': 'routes',
  'perf-router-configs/precise-prefix.yaml': { notImplemented: { 'token-producer': 15, 'endpoint-notification-source': 14, 'precise-prefix-cache-producer': 15 } },
  'perf-router-configs/random-only-default-parsers.yaml': 'routes',
  'perf-router-configs/random-passthrough-parser.yaml': 'routes',
  'integration-testdata/datalayer-config.yaml': 'routes',
  'integration-testdata/default-config.yaml': 'routes',
  'integration-testdata/request-attribute-reporter-config.yaml': { notImplemented: { 'request-attribute-reporter': 14 } },
  'chart/default-plugins.yaml': 'routes',
};

/** The config text of a fixture; the perf files are Helm values embedding it. */
function configText(file: string): string {
  const text = readFileSync(new URL(file, FIXTURES), 'utf8');
  if (!file.startsWith('perf-router-configs/')) return text;
  const values = parseYaml(text) as { router: { epp: { pluginsConfigFile: string; pluginsCustomConfig: Record<string, string> } } };
  const embedded = values.router.epp.pluginsCustomConfig[values.router.epp.pluginsConfigFile];
  if (embedded === undefined) throw new Error(`${file}: no router.epp.pluginsCustomConfig[${values.router.epp.pluginsConfigFile}]`);
  return embedded;
}

/** Decode and prefill endpoints, so the P/D configs find both roles. */
const ENDPOINTS: EndpointSpec[] = [
  { name: 'decode-0', address: '127.0.0.2', port: 8000, labels: { 'llm-d.ai/role': 'decode' } },
  { name: 'decode-1', address: '127.0.0.3', port: 8000, labels: { 'llm-d.ai/role': 'decode' } },
  { name: 'prefill-0', address: '127.0.0.4', port: 8000, labels: { 'llm-d.ai/role': 'prefill' } },
];
const ADDRESSES = new Set(ENDPOINTS.map((e) => `${e.address}:${e.port}`));

/** Every endpoint serves the same vLLM metrics page (no sockets to the fake endpoints). */
const fetcher: MetricsFetcher = { fetch: () => Promise.resolve(METRICS_PAGE), forget: () => undefined, close: () => undefined };

/** The reference's integration harness registers `mock-metrics-source`; this test registers its equivalent. */
function testRegistry(): ReturnType<typeof registerBuiltins> {
  const registry = registerBuiltins();
  registry.register('mock-metrics-source', metricsDataSourceFactory);
  return registry;
}

const running: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of running.splice(0)) await stop();
});

async function start(text: string, allowExperimentalPlugins = false): Promise<PickerServer> {
  const picker = await startTestPicker({ config: { text }, discovery: { endpoints: ENDPOINTS }, fetcher, registry: testRegistry(), allowExperimentalPlugins });
  running.push(() => picker.shutdown(1000));
  return picker;
}

/** Sends one completions request and returns the destination the picker chose. */
async function route(picker: PickerServer): Promise<string> {
  const client = new RawExtProcClient(`127.0.0.1:${picker.grpcPort}`);
  running.push(() => Promise.resolve(client.close()));
  const s = client.open();
  s.send(requestHeaders({ ':path': '/v1/completions', 'content-type': 'application/json' }));
  s.send(requestBody(JSON.stringify({ model: 'meta-llama/Llama-3.1-8B-Instruct', prompt: 'Say hello to the upstream configs. '.repeat(40), max_tokens: 8 }), true));
  await s.until((x) => x.responses.length >= 1 || x.ended, 5000);
  s.halfClose();
  const mutation = s.responses[0]?.msg.request_headers?.response?.header_mutation?.set_headers ?? [];
  return mutation.find((h) => h.header?.key === 'x-gateway-destination-endpoint')?.header?.raw_value?.toString() ?? 'none';
}

async function problemsOf(text: string, allowExperimentalPlugins = false): Promise<readonly string[]> {
  try {
    await start(text, allowExperimentalPlugins);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected the picker to refuse this config');
}

const NOT_IMPLEMENTED = /^[\w.[\]]+: plugin type "([^"]+)" is not implemented yet \(issue (\d+): [^)]+\)$/;

describe('the EndpointPickerConfigs of llm-d-router v0.10.0', () => {
  it('covers every shipped config', () => {
    expect(Object.keys(EXPECTED)).toHaveLength(27);
    expect(Object.values(EXPECTED).filter((o) => o === 'routes' || o === 'routes with --allow-experimental-plugins').length).toBeGreaterThanOrEqual(14);
  });

  for (const [file, outcome] of Object.entries(EXPECTED)) {
    if (outcome === 'routes' || outcome === 'routes with --allow-experimental-plugins') {
      it(`${file}: starts and ${outcome === 'routes' ? 'routes a request' : outcome}`, async () => {
        const picker = await start(configText(file), outcome !== 'routes');
        const destination = await route(picker);
        expect(ADDRESSES, destination).toContain(destination.split(',')[0]);
      });
    } else {
      it(`${file}: fails only with "not implemented yet" naming the issue`, async () => {
        // Alpha types (dcgm-*, …) are allowed here, so only what is missing is reported.
        const problems = await problemsOf(configText(file), true);
        const found: Record<string, number> = {};
        for (const p of problems) {
          const m = NOT_IMPLEMENTED.exec(p);
          expect(m, p).not.toBeNull();
          if (m?.[1] !== undefined) found[m[1]] = Number(m[2]);
        }
        expect(found).toEqual(outcome.notImplemented);
      });
    }
  }

  it('chart payload-agnostic.yaml: refused without --allow-experimental-plugins (session-affinity-scorer is Alpha), routes with it', async () => {
    const text = readFileSync(new URL('chart/payload-agnostic.yaml', FIXTURES), 'utf8');
    expect(await problemsOf(text)).toEqual([
      'plugins[2]: plugin "session-affinity-scorer" (type session-affinity-scorer) has Alpha stability level, but command line flag --allow-experimental-plugins is not set',
    ]);
    const picker = await start(text, true);
    expect(ADDRESSES).toContain(await route(picker));
  });
});
