/** `dataLayer.sources[].extractors[]`: the configured metrics source and extractor instances are the ones the collector uses. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PickerServer } from '../../src/app.js';
import type { MetricsFetcher } from '../../src/scrape/scrape-error.js';
import { startTestPicker } from '../helpers/picker.js';

const running: PickerServer[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) await p.shutdown(500);
});

/** Records every scraped URL and answers with an SGLang page (the engine the configured extractor defaults to). */
function recordingFetcher(urls: string[]): MetricsFetcher {
  const page = ['sglang:num_queue_reqs{model_name="m"} 7', 'sglang:num_running_reqs{model_name="m"} 3', 'sglang:token_usage{model_name="m"} 0.5', ''].join('\n');
  return {
    fetch: (url) => {
      urls.push(url.toString());
      return Promise.resolve(page);
    },
    forget: () => undefined,
    close: () => undefined,
  };
}

describe('dataLayer sources and extractors', () => {
  it('scrapes with the configured source and reads with the configured extractor', async () => {
    const urls: string[] = [];
    const picker = await startTestPicker({
      config: {
        text: `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- {name: src, type: metrics-data-source, parameters: {path: /custom-metrics}}
- {name: ext, type: core-metrics-extractor, parameters: {defaultEngine: sglang}}
dataLayer:
  sources: [{pluginRef: src, extractors: [{pluginRef: ext}]}]
`,
      },
      discovery: { endpoints: [{ name: 'e0', address: '127.0.0.81', port: 8000, labels: {} }] },
      fetcher: recordingFetcher(urls),
    });
    running.push(picker);
    await vi.waitFor(() => expect(picker.datastore.snapshot.endpoints[0]?.metrics.known).toBe(true));
    const url = new URL(urls[0] ?? '');
    expect(url.host + url.pathname).toBe('127.0.0.81:8000/custom-metrics');
    expect(picker.datastore.snapshot.endpoints[0]?.metrics.waitingQueueSize).toBe(7);
  });
});
