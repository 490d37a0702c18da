/**
 * What one request records, through the real ExtProcSession with an injected clock: the shared label
 * set, request/response sizes, end-to-end latency, TTFT (with `streaming`), inter-chunk latency,
 * TPOT, NTPOT, tokens, request and response processing time, and errors.
 */
import { describe, expect, it } from 'vitest';
import type { RequestRouter, RoutingDecision } from '../../../src/director/director.js';
import { ExtProcSession } from '../../../src/extproc/session.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { EppMetrics } from '../../../src/observability/metrics.js';
import { OpenAIParser } from '../../../src/request/request-parser.js';
import { endpoint } from '../../helpers/endpoints.js';

const target = endpoint(0);
const LABELS = 'model_name="m",target_model_name="m-lora",fairness_id="tenant-a",priority="1"';

/** A session over a fixed decision; `clock.t` is the time (ms) and `clock.step` what each reading adds. */
function harness(route: () => RoutingDecision = () => decision()) {
  const metrics = new EppMetrics();
  const clock = { t: 0, step: 0 };
  const router: RequestRouter = { route, release: () => undefined };
  const session = new ExtProcSession(
    { send: () => undefined, end: () => undefined },
    {
      router,
      parser: new OpenAIParser('openai-parser'),
      metrics,
      logger: silentLogger(),
      defaultBodyMode: 'full-duplex',
      maxRequestBodyBytes: 1024,
      decisionTimeoutMs: 5000,
      timers: { setTimeout: () => undefined, clearTimeout: () => undefined },
      now: () => (clock.t += clock.step),
    },
  );
  const header = (key: string, value: string) => ({ key, raw_value: Buffer.from(value) });
  return {
    metrics,
    clock,
    session,
    request(body: string, headers: Record<string, string> = {}): void {
      const list = Object.entries({ ':path': '/v1/completions', ...headers }).map(([k, v]) => header(k, v));
      session.onMessage({ request: 'request_headers', request_headers: { headers: { headers: list }, end_of_stream: false } });
      session.onMessage({ request: 'request_body', request_body: { body: Buffer.from(body), end_of_stream: true } });
    },
    responseHeaders(contentType: string, status = '200'): void {
      session.onMessage({ request: 'response_headers', response_headers: { headers: { headers: [header(':status', status), header('content-type', contentType)] } } });
    },
    responseBody(text: string, eos: boolean): void {
      session.onMessage({ request: 'response_body', response_body: { body: Buffer.from(text), end_of_stream: eos } });
    },
  };
}

function decision(over: Partial<RoutingDecision> = {}): RoutingDecision {
  return {
    targets: [target],
    destination: target.hostPort,
    incomingModel: 'm',
    targetModel: 'm-lora',
    objective: '',
    priority: 1,
    fairnessId: 'tenant-a',
    profile: 'default',
    scores: undefined,
    rewrittenBody: undefined,
    setHeaders: new Map(),
    responseHeaders: new Map(),
    scheduled: undefined,
    ...over,
  };
}

const BODY = '{"model":"m","prompt":"hello"}';

describe('request metrics through the session', () => {
  it('a streamed response: TTFT, inter-chunk latency, TPOT, NTPOT, duration, sizes and tokens, all on the shared labels', async () => {
    const h = harness();
    h.clock.t = 1000;
    h.request(BODY); // headers and body at t=1000: routed at once
    h.clock.t = 1100;
    h.responseHeaders('text/event-stream');
    h.clock.t = 1250;
    h.responseBody('data: {"choices":[{"text":"a"}]}\n\n', false);
    h.clock.t = 1270;
    h.responseBody('data: {"choices":[{"text":"b"}]}\n\n', false);
    h.clock.t = 1300;
    const last = 'data: {"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":6,"prompt_tokens_details":{"cached_tokens":8}}}\n\ndata: [DONE]\n\n';
    h.responseBody(last, true);
    h.session.onStreamEnd();
    const text = await h.metrics.registry.metrics();
    expect(text).toContain(`llm_d_epp_request_total{${LABELS}} 1`);
    expect(text).toContain(`llm_d_epp_request_size_bytes_sum{${LABELS}} ${BODY.length}`);
    expect(text).toContain(`llm_d_epp_request_duration_seconds_sum{${LABELS}} 0.3`);
    expect(text).toContain(`llm_d_epp_request_ttft_seconds_sum{${LABELS},streaming="true"} 0.25`);
    expect(text).not.toContain('streaming="false"');
    expect(text).toContain(`llm_d_epp_request_streaming_itl_seconds_count{${LABELS}} 2`);
    expect(text).toMatch(new RegExp(`llm_d_epp_request_streaming_itl_seconds_sum\\{${escape(LABELS)}\\} 0\\.05\\d*\\n`));
    // (e2e − TTFT) / (completion tokens − 1) = (0.3 − 0.25) / 5; NTPOT = 0.3 / 6.
    expect(text).toMatch(new RegExp(`llm_d_epp_request_streaming_tpot_seconds_sum\\{${escape(LABELS)}\\} 0\\.0(09999|1)\\d*\\n`));
    expect(text).toMatch(new RegExp(`llm_d_epp_request_ntpot_seconds_sum\\{${escape(LABELS)}\\} 0\\.0(49999|5)\\d*\\n`));
    expect(text).toContain(`llm_d_epp_request_input_tokens_sum{${LABELS}} 12`);
    expect(text).toContain(`llm_d_epp_request_output_tokens_sum{${LABELS}} 6`);
    expect(text).toContain(`llm_d_epp_request_cached_tokens_sum{${LABELS}} 8`);
    const responseBytes = 2 * 'data: {"choices":[{"text":"a"}]}\n\n'.length + last.length;
    expect(text).toContain(`llm_d_epp_response_size_bytes_sum{${LABELS}} ${responseBytes}`);
    // The deprecated twins, on their own label sets.
    expect(text).toContain('inference_objective_request_total{model_name="m",target_model_name="m-lora",priority="1"} 1');
    expect(text).toContain('inference_objective_request_duration_seconds_sum{model_name="m",target_model_name="m-lora"} 0.3');
    expect(text).toContain(`inference_objective_response_sizes_sum{model_name="m",target_model_name="m-lora"} ${responseBytes}`);
  });

  it('a non-streamed response: TTFT under streaming="false", no TPOT and no inter-chunk latency', async () => {
    const h = harness();
    h.request(BODY);
    h.clock.t = 40;
    h.responseHeaders('application/json');
    h.clock.t = 90;
    h.responseBody('{"choices":[{"text":"abc"}],', false);
    h.clock.t = 100;
    h.responseBody('"usage":{"prompt_tokens":3,"completion_tokens":2}}', true);
    const text = await h.metrics.registry.metrics();
    expect(text).toContain(`llm_d_epp_request_ttft_seconds_sum{${LABELS},streaming="false"} 0.09`);
    expect(text).toContain(`llm_d_epp_request_duration_seconds_sum{${LABELS}} 0.1`);
    expect(text).not.toContain('llm_d_epp_request_streaming_tpot_seconds_count{');
    expect(text).not.toContain('llm_d_epp_request_streaming_itl_seconds_count{');
    // No prompt_tokens_details: cached tokens observe 0, as llm-d's parser reports them.
    expect(text).toContain(`llm_d_epp_request_cached_tokens_count{${LABELS}} 1`);
  });

  it('a request that asked for a stream counts as streamed whatever the response content type says, as llm-d', async () => {
    const h = harness();
    h.request('{"model":"m","prompt":"hello","stream":true}');
    h.clock.t = 30;
    h.responseHeaders('application/json');
    h.responseBody('{"choices":[]}', true);
    const text = await h.metrics.registry.metrics();
    expect(text).toContain(`llm_d_epp_request_ttft_seconds_count{${LABELS},streaming="true"} 1`);
  });

  it('request processing runs from the request headers to the answer, body upload included', async () => {
    const h = harness();
    const list = [{ key: ':path', raw_value: Buffer.from('/v1/completions') }];
    h.clock.t = 10;
    h.session.onMessage({ request: 'request_headers', request_headers: { headers: { headers: list }, end_of_stream: false } });
    h.clock.t = 14;
    h.session.onMessage({ request: 'request_body', request_body: { body: Buffer.from(BODY), end_of_stream: true } });
    const text = await h.metrics.registry.metrics();
    expect(text).toMatch(/^llm_d_epp_request_processing_duration_seconds_sum 0.004$/m);
    expect(text).toContain('llm_d_epp_request_processing_duration_seconds_bucket{le="0.005"} 1');
    expect(text).toContain('llm_d_epp_request_processing_duration_seconds_bucket{le="0.002"} 0');
  });

  it('response processing is the sum of the handler slices, recorded once when the stream ends (aborted ones too)', async () => {
    const h = harness();
    h.request(BODY);
    h.clock.step = 0.25; // each clock reading moves 0.25 ms on: each handler slice is 0.25 ms
    h.responseHeaders('text/event-stream');
    h.responseBody('data: {}\n\n', false);
    h.responseBody('data: {}\n\n', false);
    expect(await h.metrics.registry.metrics()).toMatch(/^llm_d_epp_response_processing_duration_seconds_count 0$/m);
    h.session.onStreamEnd(); // aborted before the response's end of stream
    const text = await h.metrics.registry.metrics();
    expect(text).toMatch(/^llm_d_epp_response_processing_duration_seconds_count 1$/m);
    expect(text).toMatch(/^llm_d_epp_response_processing_duration_seconds_sum 0.00075$/m);
  });

  it('counts errors on the shared labels: a rejected request (fairness id from the header) and a model server error', async () => {
    const rejected = harness(() => {
      throw new Error('boom');
    });
    rejected.request(BODY, { 'x-llm-d-inference-fairness-id': 'tenant-b' });
    const failed = await rejected.metrics.registry.metrics();
    expect(failed).toContain('llm_d_epp_request_error_total{model_name="m",target_model_name="m",fairness_id="tenant-b",priority="0",error_code="Internal"} 1');
    expect(failed).toContain('inference_objective_request_error_total{model_name="m",target_model_name="m",error_code="Internal"} 1');
    expect(failed).not.toContain('llm_d_epp_request_total{');
    expect(failed).toMatch(/^llm_d_epp_request_processing_duration_seconds_count 1$/m);

    const h = harness();
    h.request(BODY);
    h.responseHeaders('application/json', '503');
    h.responseBody('{"error":"overloaded"}', true);
    h.session.onStreamEnd();
    h.session.onStreamEnd();
    const text = await h.metrics.registry.metrics();
    expect(text).toContain(`llm_d_epp_request_error_total{${LABELS},error_code="ModelServerError"} 1`);
    expect(text).toContain(`llm_d_epp_request_total{${LABELS}} 1`);
  });
});

function escape(s: string): string {
  return s.replace(/[{}()[\].*+?^$|\\]/g, '\\$&');
}
