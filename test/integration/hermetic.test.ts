/**
 * The reference EPP's hermetic integration table (llm-d test/integration/epp/hermetic_test.go), run
 * through a real gRPC stream against mock vLLM replicas whose /metrics report the case's queue, KV
 * use and active LoRA adapters (`--fake-metrics`), scraped by the picker as in production. The
 * reference's pods 192.168.1.{1,2,3}:8000 become 127.0.0.x:<port>; objectives come from the local
 * endpoints file. Deliberate differences are asserted as such (see README "Deliberate differences").
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PickerServer } from '../../src/app.js';
import { startMockVllm, type MockVllmServer } from '../../src/mockvllm/server.js';
import { startTestPicker, writeEndpointsFile } from '../helpers/picker.js';
import { RawExtProcClient, requestBody, requestHeaders, subsetHint, type RawStream } from '../helpers/raw-extproc-client.js';

/** The reference's test config: queue, kv-cache and LoRA scorers, weight 1 each. */
const CONFIG = `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: queue-scorer
- type: kv-cache-utilization-scorer
- type: lora-affinity-scorer
- type: max-score-picker
- type: openai-parser
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
  - pluginRef: kv-cache-utilization-scorer
  - pluginRef: lora-affinity-scorer
  - pluginRef: max-score-picker
parser:
  pluginRef: openai-parser
`;
const PASSTHROUGH_CONFIG = `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins: [{type: queue-scorer}, {type: kv-cache-utilization-scorer}, {type: passthrough-parser}]
parser: {pluginRef: passthrough-parser}
`;
const OBJECTIVES = `objectives:
  - {name: sql-lora, priority: 2}
  - {name: sql-lora-sheddable}
  - {name: my-model, priority: 2}
  - {name: direct-model, priority: 2}
  - {name: inference-objective-with-priority-4, priority: 4}
`;

/** P(i, queue, kv, activeAdapters…) from the reference harness. */
interface Pod {
  readonly queue: number;
  readonly kv: number;
  readonly adapters?: readonly string[];
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

interface Harness {
  readonly picker: PickerServer;
  readonly pods: readonly MockVllmServer[];
  send(opts: { headers?: Record<string, string>; chunks: string[]; hint?: string[] }): Promise<RawStream>;
  dest(s: RawStream): string;
  pod(i: number): string;
}

async function harness(pods: readonly Pod[], config = CONFIG): Promise<Harness> {
  const mocks: MockVllmServer[] = [];
  for (const [i, p] of pods.entries()) {
    const m = await startMockVllm({
      host: `127.0.0.${91 + i}`,
      port: 0,
      model: 'base',
      profile: 'none',
      fakeMetrics: {
        'waiting-requests': p.queue,
        'kv-cache-usage': p.kv,
        // max_lora equals the active count, like the reference harness's MaxActiveModels = 0: no free slot.
        ...(p.adapters === undefined ? {} : { loras: [{ running: p.adapters.join(','), waiting: '', timestamp: 1 }] }),
      },
      maxLoras: Math.max(1, p.adapters?.length ?? 0),
    });
    mocks.push(m);
    cleanup.push(() => m.close());
  }
  const endpoints = mocks.map((m, i) => `  - {name: pod-${i}, address: ${m.host}, port: ${m.port}}`).join('\n');
  const picker = await startTestPicker({ config: { text: config }, discovery: { endpointsFile: writeEndpointsFile(`endpoints:\n${endpoints}\n${OBJECTIVES}`) } });
  const client = new RawExtProcClient(`127.0.0.1:${picker.grpcPort}`);
  cleanup.push(async () => {
    client.close();
    await picker.shutdown(1000);
  });
  if (mocks.length > 0) await vi.waitFor(() => expect(picker.datastore.snapshot.endpoints.every((e) => e.metrics.known)).toBe(true), { timeout: 5000 });
  return {
    picker,
    pods: mocks,
    async send({ headers = {}, chunks, hint }) {
      const s = client.open();
      const base = { ':method': 'POST', ':path': '/v1/completions', hi: 'mom', 'x-request-id': 'test-request-id', ...headers };
      s.send(requestHeaders(base, chunks.length === 0, hint === undefined ? {} : subsetHint(hint)));
      chunks.forEach((c, i) => s.send(requestBody(c, i === chunks.length - 1)));
      await s.until((x) => x.ended || x.responses.some((r) => r.msg.immediate_response !== undefined || r.msg.request_body?.response?.body_mutation?.streamed_response?.end_of_stream === true || (chunks.length === 0 && r.msg.request_headers !== undefined)));
      s.halfClose();
      return s;
    },
    dest: (s) => s.responses[0]?.msg.request_headers?.response?.header_mutation?.set_headers?.find((h) => h.header?.key === 'x-gateway-destination-endpoint')?.header?.raw_value?.toString() ?? 'none',
    pod: (i) => `${mocks[i]?.host ?? ''}:${mocks[i]?.port ?? 0}`,
  };
}

/** The reference's ReqLLM(prompt, model, target). */
function reqLLM(prompt: string, model: string, target: string): { headers: Record<string, string>; chunks: string[] } {
  return {
    headers: { 'x-gateway-inference-objective': model, 'x-gateway-model-name-rewrite': target },
    chunks: [JSON.stringify({ max_tokens: 100, model, prompt, temperature: 0 })],
  };
}

const body = (s: RawStream): string => Buffer.concat(s.responses.slice(1).map((r) => r.msg.request_body?.response?.body_mutation?.streamed_response?.body ?? Buffer.alloc(0))).toString();
const immediate = (s: RawStream): { code: number | undefined; body: string } => {
  const ir = s.responses.find((r) => r.msg.immediate_response !== undefined)?.msg.immediate_response;
  return { code: ir?.status?.code, body: ir?.body?.toString() ?? '' };
};

describe('reference hermetic cases', () => {
  it('select lower queue and kv cache; rewrite the model; count priority 2; 3 ready pods', async () => {
    const h = await harness([{ queue: 3, kv: 0.2 }, { queue: 0, kv: 0.1 }, { queue: 10, kv: 0.2 }]);
    const s = await h.send(reqLLM('test1', 'my-model', 'my-model-12345'));
    expect(h.dest(s)).toBe(h.pod(1));
    expect(JSON.parse(body(s))).toEqual({ max_tokens: 100, model: 'my-model-12345', prompt: 'test1', temperature: 0 });
    const metrics = await h.picker.metrics.registry.metrics();
    expect(metrics).toContain('inference_objective_request_total{model_name="my-model",target_model_name="my-model-12345",priority="2"} 1');
    expect(metrics).toContain('inference_pool_ready_pods{name="test"} 3');
  });

  it('select active lora, low queue', async () => {
    const h = await harness([
      { queue: 0, kv: 0.2, adapters: ['foo', 'bar'] },
      { queue: 0, kv: 0.1, adapters: ['foo', 'sql-lora-1fdg2'] },
      { queue: 10, kv: 0.2, adapters: ['foo', 'bar'] },
    ]);
    expect(h.dest(await h.send(reqLLM('test2', 'sql-lora', 'sql-lora-1fdg2')))).toBe(h.pod(1));
  });

  it('select lora despite higher kv cache usage', async () => {
    const h = await harness([
      { queue: 10, kv: 0.2, adapters: ['foo', 'bar'] },
      { queue: 10, kv: 0.4, adapters: ['foo', 'sql-lora-1fdg2'] },
      { queue: 10, kv: 0.3, adapters: ['foo'] },
    ]);
    expect(h.dest(await h.send(reqLLM('test3', 'sql-lora', 'sql-lora-1fdg2')))).toBe(h.pod(1));
  });

  it('passthrough parser: routed on load, body unchanged, empty model labels', async () => {
    const h = await harness([{ queue: 3, kv: 0.2 }, { queue: 0, kv: 0.1 }, { queue: 10, kv: 0.2 }], PASSTHROUGH_CONFIG);
    const s = await h.send({ headers: { 'x-gateway-inference-objective': 'my-model' }, chunks: ['passthrough-parser'] });
    expect(h.dest(s)).toBe(h.pod(1));
    expect(body(s)).toBe('passthrough-parser');
    expect(await h.picker.metrics.registry.metrics()).toContain('inference_objective_request_total{model_name="",target_model_name="",priority="2"} 1');
  });

  it('do not shed requests by default (priority 2, saturated pool)', async () => {
    const h = await harness([{ queue: 6, kv: 0.2, adapters: ['foo', 'bar', 'sql-lora-1fdg2'] }, { queue: 0, kv: 0.85 }, { queue: 10, kv: 0.9 }]);
    expect(h.dest(await h.send(reqLLM('test4', 'sql-lora', 'sql-lora-1fdg2')))).toBe(h.pod(0));
  });

  it('invalid json body → 400 BadRequest', async () => {
    const h = await harness([{ queue: 0, kv: 0.1 }]);
    const r = immediate(await h.send({ chunks: ['no healthy upstream'] }));
    expect(r.code).toBe(400);
    // Same code and prefix as the reference; the parser's own message follows (JavaScript's, not Go's).
    expect(r.body).toMatch(/^inference error: BadRequest - error unmarshaling request body: /);
  });

  it('split body across chunks, sheddable objective with unset priority → 0', async () => {
    const h = await harness([{ queue: 4, kv: 0.2, adapters: ['sql-lora-1fdg3'] }, { queue: 4, kv: 0.85, adapters: ['sql-lora-1fdg3'] }]);
    const s = await h.send({
      headers: { 'x-gateway-inference-objective': 'sql-lora-sheddable', 'x-gateway-model-name-rewrite': 'sql-lora-1fdg3' },
      chunks: ['{"max_tokens":100,"model":"sql-lo', 'ra-sheddable","prompt":"test6","temperature":0}'],
    });
    expect(h.dest(s)).toBe(h.pod(0));
    expect(await h.picker.metrics.registry.metrics()).toContain('inference_objective_request_total{model_name="sql-lora-sheddable",target_model_name="sql-lora-1fdg3",priority="0"} 1');
  });

  it('no backend pods: a header-only request gets 503 (the reference answers 500; the protocol says 503)', async () => {
    const h = await harness([]);
    const r = immediate(await h.send({ headers: { ':method': 'GET' }, chunks: [] }));
    expect(r.code).toBe(503);
    expect(r.body).toBe('inference error: ServiceUnavailable - failed to find endpoint candidates for serving the request');
  });

  it('request missing model field → 400', async () => {
    const h = await harness([{ queue: 0, kv: 0.1 }]);
    expect(immediate(await h.send({ chunks: ['{"prompt":"hello world"}'] }))).toEqual({ code: 400, body: 'inference error: BadRequest - model not found in request body' });
  });

  it('subsetting: select best from subset, partial match, no match', async () => {
    const h = await harness([{ queue: 0, kv: 0.2 }, { queue: 0, kv: 0.1, adapters: ['sql-lora-1fdg2'] }, { queue: 10, kv: 0.2 }]);
    const all = [h.pod(0), h.pod(1), h.pod(2)];
    expect(h.dest(await h.send({ ...reqLLM('test5', 'sql-lora', 'sql-lora-1fdg2'), hint: all }))).toBe(h.pod(1));
    expect(h.dest(await h.send({ ...reqLLM('test5', 'sql-lora', 'sql-lora-1fdg2'), hint: [h.pod(2)] }))).toBe(h.pod(2));
    const none = immediate(await h.send({ ...reqLLM('test5', 'sql-lora', 'sql-lora-1fdg2'), hint: ['127.0.0.99:8000'] }));
    expect(none).toEqual({ code: 503, body: 'inference error: ServiceUnavailable - failed to find endpoint candidates for serving the request' });
  });

  it('model not in objectives passes through with priority 0 and the model unchanged', async () => {
    const h = await harness([{ queue: 4, kv: 0.2 }]);
    const s = await h.send(reqLLM('test7', 'unknown-model', 'unknown-model'));
    expect(h.dest(s)).toBe(h.pod(0));
    expect((JSON.parse(body(s)) as { model: string }).model).toBe('unknown-model');
    expect(await h.picker.metrics.registry.metrics()).toContain('inference_objective_request_total{model_name="unknown-model",target_model_name="unknown-model",priority="0"} 1');
  });

  it('response streaming: SSE chunks are echoed one by one and the usage is counted (input tokens 7)', async () => {
    const h = await harness([{ queue: 0, kv: 0.1 }]);
    const client = new RawExtProcClient(`127.0.0.1:${h.picker.grpcPort}`);
    cleanup.push(() => client.close());
    const s = client.open();
    s.send(requestHeaders({ ':path': '/v1/completions' }));
    s.send(requestBody(JSON.stringify({ model: 'm', prompt: 'p', stream: true, stream_options: { include_usage: true } }), true));
    await s.until((x) => x.responses.length === 2);
    s.send({ response_headers: { headers: { headers: [{ key: 'content-type', raw_value: Buffer.from('text/event-stream') }] } } });
    const chunks = ['data: {"choices":[{"text":"a"}]}\n\n', 'data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":10,"total_tokens":17}}\n\n', 'data: [DONE]\n\n', ''];
    chunks.forEach((c, i) => s.send({ response_body: { body: Buffer.from(c), end_of_stream: i === chunks.length - 1 } }));
    await s.until((x) => x.responses.length === 3 + chunks.length);
    const echoed = s.responses.slice(3).map((r) => r.msg.response_body?.response?.body_mutation?.streamed_response?.body?.toString() ?? '');
    expect(echoed).toEqual(chunks);
    s.halfClose();
    const metrics = await h.picker.metrics.registry.metrics();
    expect(metrics).toContain('inference_objective_input_tokens_sum{model_name="m",target_model_name="m"} 7');
    expect(metrics).toContain('inference_objective_output_tokens_sum{model_name="m",target_model_name="m"} 10');
  });

  it('simple GET (header only) is routed', async () => {
    const h = await harness([{ queue: 0, kv: 0.1 }]);
    expect(h.dest(await h.send({ headers: { ':method': 'GET', ':path': '/v1/models' }, chunks: [] }))).toBe(h.pod(0));
  });
});

describe('admission beyond the reference table', () => {
  it('sheds a sheddable request (priority < 0) with 429 when the pool is saturated; priority ≥ 0 is still routed', async () => {
    const h = await harness([{ queue: 20, kv: 0.95 }, { queue: 30, kv: 0.99 }], CONFIG);
    const file = `endpoints:\n  - {name: a, address: ${h.pods[0]?.host ?? ''}, port: ${h.pods[0]?.port ?? 0}}\n  - {name: b, address: ${h.pods[1]?.host ?? ''}, port: ${h.pods[1]?.port ?? 0}}\nobjectives:\n  - {name: batch, priority: -1}\n  - {name: chat, priority: 1}\n`;
    const picker = await startTestPicker({ config: { text: CONFIG }, discovery: { endpointsFile: writeEndpointsFile(file) } });
    const client = new RawExtProcClient(`127.0.0.1:${picker.grpcPort}`);
    cleanup.push(async () => {
      client.close();
      await picker.shutdown(1000);
    });
    await vi.waitFor(() => expect(picker.datastore.snapshot.endpoints.every((e) => e.metrics.known)).toBe(true), { timeout: 5000 });
    const send = async (objective: string): Promise<RawStream> => {
      const s = client.open();
      s.send(requestHeaders({ ':path': '/v1/completions', 'x-gateway-inference-objective': objective }));
      s.send(requestBody('{"model":"base","prompt":"p"}', true));
      await s.until((x) => x.responses.length > 0);
      s.halfClose();
      return s;
    };
    const shed = (await send('batch')).responses[0]?.msg.immediate_response;
    expect(shed?.status?.code).toBe(429);
    expect(shed?.body?.toString()).toBe('inference error: ResourceExhausted - system saturated, sheddable request dropped');
    // The reference's legacy admission sends this 429 without a dropped-reason header.
    expect(shed?.headers?.set_headers?.map((o) => o.header?.key)).not.toContain('x-llm-d-request-dropped-reason');
    expect((await send('chat')).responses[0]?.msg.request_headers).toBeDefined();
  });
});
