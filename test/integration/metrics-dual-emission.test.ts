/**
 * Issue 13's "done when" for metrics: requests through the real picker (ext_proc over gRPC on
 * loopback), then `/metrics` over HTTP serves `llm_d_epp_request_total` and its deprecated twin
 * `inference_objective_request_total` with the same counts, and the other twins agree with theirs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PickerServer } from '../../src/app.js';
import { startTestPicker } from '../helpers/picker.js';
import { RawExtProcClient, requestBody, requestHeaders } from '../helpers/raw-extproc-client.js';

const N = 30;
const MODELS = ['llama', 'qwen', 'mistral'];

let picker: PickerServer;
let client: RawExtProcClient;

beforeAll(async () => {
  picker = await startTestPicker({
    discovery: {
      endpoints: [
        { name: 'a', address: '127.0.0.21', port: 8000, labels: {} },
        { name: 'b', address: '127.0.0.22', port: 8000, labels: {} },
      ],
      objectives: new Map([
        ['critical', 2],
        ['standard', 1],
      ]),
    },
    enableGrpcStreamMetrics: true,
  });
  client = new RawExtProcClient(`127.0.0.1:${picker.grpcPort}`);
  for (let i = 0; i < N; i++) await oneRequest(i);
});
afterAll(async () => {
  client.close();
  await picker.shutdown(1000);
});

/** One request and its (streamed, for odd i) response, then the stream's end, as Envoy drives them. */
async function oneRequest(i: number): Promise<void> {
  const model = MODELS[i % MODELS.length] as string;
  const headers: Record<string, string> = { ':method': 'POST', ':path': '/v1/completions', 'content-type': 'application/json', 'x-request-id': `r${i}` };
  if (i % 5 === 0) headers['x-gateway-inference-objective'] = 'critical';
  else if (i % 7 === 0) headers['x-gateway-inference-objective'] = 'standard';
  if (i % 2 === 0) headers['x-llm-d-inference-fairness-id'] = `tenant-${i % 4}`;
  const s = client.open();
  s.send(requestHeaders(headers, false));
  s.send(requestBody(JSON.stringify({ model, prompt: `prompt ${i}`, max_tokens: 8 }), true));
  await s.until((x) => x.responses.some((r) => r.msg.request_body?.response?.body_mutation?.streamed_response?.end_of_stream === true));
  const streamed = i % 2 === 1;
  s.send({ response_headers: { headers: { headers: [{ key: ':status', raw_value: Buffer.from('200') }, { key: 'content-type', raw_value: Buffer.from(streamed ? 'text/event-stream' : 'application/json') }] } } });
  const usage = { prompt_tokens: 10 + i, completion_tokens: 4, prompt_tokens_details: { cached_tokens: i } };
  const chunks = streamed
    ? ['data: {"choices":[{"text":"a"}]}\n\n', `data: {"choices":[],"usage":${JSON.stringify(usage)}}\n\n`, 'data: [DONE]\n\n']
    : [JSON.stringify({ choices: [{ text: 'abcd' }], usage })];
  chunks.forEach((text, k) => s.send({ response_body: { body: Buffer.from(text), end_of_stream: k === chunks.length - 1 } }));
  await s.until((x) => x.responses.some((r) => r.msg.response_body?.response?.body_mutation?.streamed_response?.end_of_stream === true));
  s.halfClose();
  await s.until((x) => x.ended);
}

/** `/metrics` over HTTP, as Prometheus scrapes it. */
async function scrape(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${picker.metricsPort}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

interface Sample {
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** The samples of one series name (exact, so `x_count` does not match `x`). */
function samples(text: string, name: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    const brace = line.indexOf('}');
    const labels: Record<string, string> = {};
    if (line[name.length] === '{') for (const m of line.slice(name.length + 1, brace).matchAll(/(\w+)="([^"]*)"/g)) labels[m[1] as string] = m[2] as string;
    out.push({ labels, value: Number(line.slice((brace < 0 ? name.length : brace + 1) + 1)) });
  }
  return out;
}

/** Sums samples by the given labels (the projection a deprecated twin makes). */
function byLabels(list: readonly Sample[], keep: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of list) {
    const key = keep.map((k) => `${k}=${s.labels[k] ?? ''}`).join(',');
    out.set(key, (out.get(key) ?? 0) + s.value);
  }
  return out;
}

const total = (list: readonly Sample[]): number => list.reduce((a, s) => a + s.value, 0);

describe('/metrics after requests through the picker', () => {
  it(`serves llm_d_epp_request_total and inference_objective_request_total with the same counts (${N} requests)`, async () => {
    const text = await scrape();
    const canonical = samples(text, 'llm_d_epp_request_total');
    const legacy = samples(text, 'inference_objective_request_total');
    expect(total(canonical)).toBe(N);
    expect(total(legacy)).toBe(N);
    expect(byLabels(canonical, ['model_name', 'target_model_name', 'priority'])).toEqual(byLabels(legacy, ['model_name', 'target_model_name', 'priority']));
    // The shared request labels, with the fairness id from either header name and priorities from objectives.
    expect(Object.keys(canonical[0]?.labels ?? {})).toEqual(['model_name', 'target_model_name', 'fairness_id', 'priority']);
    const fairness = byLabels(canonical, ['fairness_id']);
    expect(fairness.get('fairness_id=default-flow')).toBe(N / 2);
    expect(fairness.get('fairness_id=tenant-0')).toBe(8);
    const priority = byLabels(canonical, ['priority']);
    expect(priority.get('priority=2')).toBe(6);
    expect(priority.get('priority=1')).toBe(4);
    expect(byLabels(canonical, ['model_name']).get('model_name=qwen')).toBe(N / 3);
  });

  it('serves the other per-request twins with the values of their canonical metric', async () => {
    const text = await scrape();
    const pairs: [string, string][] = [
      ['llm_d_epp_request_duration_seconds_count', 'inference_objective_request_duration_seconds_count'],
      ['llm_d_epp_request_size_bytes_sum', 'inference_objective_request_sizes_sum'],
      ['llm_d_epp_response_size_bytes_sum', 'inference_objective_response_sizes_sum'],
      ['llm_d_epp_request_input_tokens_sum', 'inference_objective_input_tokens_sum'],
      ['llm_d_epp_request_output_tokens_sum', 'inference_objective_output_tokens_sum'],
      ['llm_d_epp_request_cached_tokens_count', 'inference_objective_prompt_cached_tokens_count'],
      ['llm_d_epp_request_ntpot_seconds_count', 'inference_objective_normalized_time_per_output_token_seconds_count'],
    ];
    for (const [current, deprecated] of pairs) {
      const a = byLabels(samples(text, current), ['model_name', 'target_model_name']);
      expect(a.size, current).toBeGreaterThan(0);
      expect(byLabels(samples(text, deprecated), ['model_name', 'target_model_name']), deprecated).toEqual(a);
    }
    expect(total(samples(text, 'llm_d_epp_request_duration_seconds_count'))).toBe(N);
    expect(total(samples(text, 'llm_d_epp_request_output_tokens_sum'))).toBe(4 * N);
    expect(total(samples(text, 'llm_d_epp_request_input_tokens_sum'))).toBe(10 * N + (N * (N - 1)) / 2);
    // Every request ended: the in-flight gauge and its twin are back to 0.
    expect(total(samples(text, 'llm_d_epp_request_running'))).toBe(0);
    expect(samples(text, 'inference_objective_running_requests').every((s) => s.value === 0)).toBe(true);
    // TTFT carries `streaming`; the streaming-only histograms saw the streamed half.
    const ttft = byLabels(samples(text, 'llm_d_epp_request_ttft_seconds_count'), ['streaming']);
    expect(ttft.get('streaming=true')).toBe(N / 2);
    expect(ttft.get('streaming=false')).toBe(N / 2);
    expect(total(samples(text, 'llm_d_epp_request_streaming_tpot_seconds_count'))).toBe(N / 2);
    expect(total(samples(text, 'llm_d_epp_request_streaming_itl_seconds_count'))).toBe(2 * (N / 2));
  });

  it('counts scheduler attempts, processing overhead, pool gauges and the opt-in stream metrics', async () => {
    const text = await scrape();
    const attempts = samples(text, 'llm_d_epp_scheduler_attempts_total');
    expect(total(attempts)).toBe(N);
    expect(attempts.every((s) => s.labels.status === 'success' && ['a', 'b'].includes(s.labels.endpoint_name ?? '') && s.labels.port === '8000')).toBe(true);
    expect(byLabels(samples(text, 'inference_extension_scheduler_attempts_total'), ['pod_name'])).toEqual(
      new Map([...byLabels(attempts, ['endpoint_name'])].map(([k, v]) => [k.replace('endpoint_name', 'pod_name'), v])),
    );
    expect(samples(text, 'llm_d_epp_request_processing_duration_seconds_count')[0]?.value).toBe(N);
    expect(samples(text, 'llm_d_epp_response_processing_duration_seconds_count')[0]?.value).toBe(N);
    expect(samples(text, 'llm_d_epp_scheduler_e2e_duration_seconds_count')[0]?.value).toBe(N);
    expect(samples(text, 'inference_extension_scheduler_e2e_duration_seconds_count')[0]?.value).toBe(N);
    expect(samples(text, 'llm_d_epp_extproc_streams_total')).toEqual([{ labels: { code: 'OK' }, value: N }]);
    expect(samples(text, 'llm_d_epp_extproc_streams_inflight')).toEqual([{ labels: {}, value: 0 }]);
    expect(samples(text, 'llm_d_epp_extproc_stream_duration_seconds_count')[0]?.value).toBe(N);
    // Nothing scraped the (unreachable) endpoints: no fresh metrics, so no ready endpoints.
    expect(samples(text, 'llm_d_epp_ready_endpoints')).toEqual([{ labels: { name: 'test' }, value: 0 }]);
    expect(samples(text, 'inference_pool_ready_pods')).toEqual([{ labels: { name: 'test' }, value: 0 }]);
  });
});
