/**
 * Multimodal encoder-cache affinity through the picker over real gRPC: a conversation that comes back
 * with the same image (inline, also in bodies large enough to be parsed off the event loop, or by URL;
 * OpenAI chat and Anthropic messages) is routed to the endpoint that encoded it, and the encoder-cache
 * metrics are exported.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { PickerServer } from '../../src/app.js';
import type { EndpointSpec } from '../../src/datastore/endpoint.js';
import { LARGE_BODY_BYTES } from '../../src/request/parse-pool.js';
import type { MetricsFetcher } from '../../src/scrape/scrape-error.js';
import { pngBase64, pngDataUrl } from '../helpers/images.js';
import { startTestPicker } from '../helpers/picker.js';
import { RawExtProcClient, requestBody, requestHeaders } from '../helpers/raw-extproc-client.js';

const METRICS_PAGE = readFileSync(new URL('../fixtures/metrics/vllm-lora-single.txt', import.meta.url), 'utf8');
const fetcher: MetricsFetcher = { fetch: () => Promise.resolve(METRICS_PAGE), forget: () => undefined, close: () => undefined };
const ENDPOINTS: EndpointSpec[] = [0, 1, 2, 3].map((i) => ({ name: `vlm-${i}`, address: `127.0.0.${20 + i}`, port: 8000, labels: {} }));

const CONFIG = `
apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
  - type: mm-embeddings-cache-producer
    parameters:
      cacheSizeInMBPerServer: 2048
  - type: mm-embeddings-cache-scorer
  - type: queue-scorer
  - type: max-score-picker
  - type: single-profile-handler
schedulingProfiles:
  - name: default
    plugins:
      - pluginRef: mm-embeddings-cache-scorer
        weight: 4
      - pluginRef: queue-scorer
        weight: 1
      - pluginRef: max-score-picker
`;

let picker: PickerServer;
let client: RawExtProcClient;

beforeAll(async () => {
  picker = await startTestPicker({ config: { text: CONFIG }, discovery: { endpoints: ENDPOINTS }, fetcher });
  client = new RawExtProcClient(`127.0.0.1:${picker.grpcPort}`);
});

afterAll(async () => {
  client.close();
  await picker.shutdown(1000);
});

async function route(path: string, body: unknown): Promise<string> {
  const s = client.open();
  s.send(requestHeaders({ ':path': path, 'content-type': 'application/json' }));
  s.send(requestBody(JSON.stringify(body), true));
  await s.until((x) => x.responses.length >= 1 || x.ended, 5000);
  s.halfClose();
  const mutation = s.responses[0]?.msg.request_headers?.response?.header_mutation?.set_headers ?? [];
  return mutation.find((h) => h.header?.key === 'x-gateway-destination-endpoint')?.header?.raw_value?.toString() ?? 'none';
}

/** A picture inline, padded past the off-loop parse threshold when `large`. */
function picture(n: number, large: boolean): string {
  const url = pngDataUrl(1024, 768, n);
  return large ? url + 'A'.repeat(LARGE_BODY_BYTES) : url;
}

describe('multimodal encoder-cache affinity through the picker', () => {
  it('OpenAI chat: a returning conversation with the same image goes back to the endpoint that encoded it', async () => {
    const addresses = new Set(ENDPOINTS.map((e) => `${e.address}:${e.port}`));
    const homes = new Set<string>();
    for (let n = 0; n < 8; n++) {
      const image = n % 3 === 2 ? `https://images.example/${n}.jpg` : picture(n, n % 2 === 1);
      const first = [{ role: 'user', content: [{ type: 'text', text: 'What is in this image?' }, { type: 'image_url', image_url: { url: image } }] }];
      const home = await route('/v1/chat/completions', { model: 'm', messages: first });
      expect(addresses).toContain(home);
      homes.add(home);
      const followUp = [...first, { role: 'assistant', content: 'A lighthouse at dusk.' }, { role: 'user', content: 'Which season is it?' }];
      // Tied scores rotate over the pool, so without the affinity the follow-ups would move on.
      for (let k = 0; k < 2; k++) expect(await route('/v1/chat/completions', { model: 'm', messages: followUp })).toBe(home);
    }
    expect(homes.size).toBeGreaterThanOrEqual(3);
  });

  it('Anthropic messages: the same for image blocks', async () => {
    const data = pngBase64(640, 640, 77);
    const first = [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data } }, { type: 'text', text: 'Describe.' }] }];
    const home = await route('/v1/messages', { model: 'm', max_tokens: 16, messages: first });
    const followUp = [...first, { role: 'assistant', content: 'A square.' }, { role: 'user', content: 'Which colour?' }];
    expect(await route('/v1/messages', { model: 'm', max_tokens: 16, messages: followUp })).toBe(home);
  });

  it('exports the encoder-cache metrics', async () => {
    const text = await picker.metrics.registry.metrics();
    expect(text).toMatch(/llm_d_epp_encoder_cache_queries_total\{plugin_type="mm-embeddings-cache-producer",plugin_name="mm-embeddings-cache-producer",modality="image"\} (\d+)/);
    const hits = /llm_d_epp_encoder_cache_hits_total\{[^}]*modality="image"\} (\d+)/g;
    let total = 0;
    for (const m of text.matchAll(hits)) total += Number(m[1]);
    // 8 × 2 chat follow-ups and 1 Anthropic one, each finding its image on its home endpoint.
    expect(total).toBeGreaterThanOrEqual(17);
  });
});

/**
 * llm-d's own `epp-mm-embeddings-cache-config.yaml` with only what other issues bring taken out
 * (token-producer and precise-prefix-cache-producer: issue 15; endpoint-notification-source: its own
 * helper): the multimodal part — including the sample's `cacheSizeInMB` — starts and routes.
 */
describe('the reference sample epp-mm-embeddings-cache-config.yaml, less what other issues bring', () => {
  interface Sample {
    plugins: { type: string; name?: string; parameters?: Record<string, unknown> }[];
    dataLayer: { sources: { pluginRef: string }[] };
  }

  it('starts and keeps an image conversation on one endpoint', async () => {
    const sample = parseYaml(readFileSync(new URL('../fixtures/upstream-v0.10/deploy-config/epp-mm-embeddings-cache-config.yaml', import.meta.url), 'utf8')) as Sample;
    const elsewhere = new Set(['token-producer', 'precise-prefix-cache-producer', 'endpoint-notification-source']);
    sample.plugins = sample.plugins.filter((p) => !elsewhere.has(p.type));
    for (const p of sample.plugins) if (p.type === 'prefix-cache-scorer') delete p.parameters;
    sample.dataLayer.sources = sample.dataLayer.sources.filter((s) => !elsewhere.has(s.pluginRef));
    expect(sample.plugins.find((p) => p.type === 'mm-embeddings-cache-producer')?.parameters).toEqual({ cacheSizeInMB: 2048 });
    const own = await startTestPicker({ config: { text: stringifyYaml(sample) }, discovery: { endpoints: ENDPOINTS }, fetcher });
    const ownClient = new RawExtProcClient(`127.0.0.1:${own.grpcPort}`);
    try {
      const send = async (messages: unknown[]): Promise<string> => {
        const s = ownClient.open();
        s.send(requestHeaders({ ':path': '/v1/chat/completions', 'content-type': 'application/json' }));
        s.send(requestBody(JSON.stringify({ model: 'm', messages }), true));
        await s.until((x) => x.responses.length >= 1 || x.ended, 5000);
        s.halfClose();
        const mutation = s.responses[0]?.msg.request_headers?.response?.header_mutation?.set_headers ?? [];
        return mutation.find((h) => h.header?.key === 'x-gateway-destination-endpoint')?.header?.raw_value?.toString() ?? 'none';
      };
      const first = [{ role: 'user', content: [{ type: 'image_url', image_url: { url: pngDataUrl(512, 512, 5) } }, { type: 'text', text: 'Caption this.' }] }];
      const home = await send(first);
      expect(ENDPOINTS.map((e) => `${e.address}:${e.port}`)).toContain(home);
      expect(await send([...first, { role: 'assistant', content: 'A dog.' }, { role: 'user', content: 'Its breed?' }])).toBe(home);
      expect(await own.metrics.registry.metrics()).toMatch(/llm_d_epp_encoder_cache_hits_total\{[^}]*\} 1/);
    } finally {
      ownClient.close();
      await own.shutdown(1000);
    }
  });
});
