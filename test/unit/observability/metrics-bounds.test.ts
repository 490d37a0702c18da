/**
 * Client-chosen label values cannot grow the picker's memory or its /metrics page: the fault harness's
 * case (300 requests with distinct 1 MB model names and rewrite headers) through the real EppMetrics,
 * the 1000-value cap shared by model_name and target_model_name, and pinned operator names.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { RoutingDecision } from '../../../src/director/director.js';
import { ExtProcSession } from '../../../src/extproc/session.js';
import { OTHER_LABEL } from '../../../src/observability/bounded-label.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { EppMetrics } from '../../../src/observability/metrics.js';
import { PassthroughParser } from '../../../src/request/request-parser.js';
import { endpoint } from '../../helpers/endpoints.js';

const MB = 1 << 20;

/** A distinct, flat (not a rope over a shared string) 1 MB name. */
function hugeName(i: number, tag: string): string {
  const b = Buffer.alloc(MB, 0x61);
  b.write(`${tag}-${i}-`, 'latin1');
  return b.toString('latin1');
}

function forceGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** What one request does to the metrics: the session's counters and histograms, the director's gauge, a P/D decision. */
function oneRequest(m: EppMetrics, model: string, target: string): void {
  m.requestTotal.labels(model, target, '0').inc();
  m.inputTokens.labels(model, target).observe(10);
  m.outputTokens.labels(model, target).observe(20);
  m.promptCachedTokens.labels(model, target).observe(5);
  m.requestErrorTotal.labels(model, target, 'BadRequest').inc();
  const running = m.runningRequestsSeries(model);
  running.inc();
  m.disaggDecision(target, 'decode-only');
  running.dec();
}

describe('EppMetrics label bounds', () => {
  it('300 requests with distinct 1 MB model names and rewrite headers: small page, flat heap', async () => {
    const gc = forceGc();
    const m = new EppMetrics();
    oneRequest(m, 'warm', 'warm');
    await m.registry.metrics();
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 300; i++) oneRequest(m, hugeName(i, 'model'), hugeName(i, 'rewrite'));
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    const text = await m.registry.metrics();
    // Before the bound: ~900 MB retained and a page that no longer rendered.
    expect(grown).toBeLessThan(16 * MB);
    expect(text.length).toBeLessThan(200 * 1024);
    expect(text).not.toContain('aaaaaaaaaaaaaaaa');
    expect(text).toContain(`inference_objective_request_total{model_name="${OTHER_LABEL}",target_model_name="${OTHER_LABEL}",priority="0"} 300`);
    expect(text).toContain(`inference_objective_running_requests{model_name="${OTHER_LABEL}"} 0`);
    expect(text).toContain(`llm_d_inference_scheduler_disagg_decision_total{model_name="${OTHER_LABEL}",decision_type="decode-only"} 300`);
    for (const line of text.split('\n')) expect(line.length).toBeLessThan(1024);
  });

  it('the same through the real ext_proc session: routed decisions with 1 MB model names never reach the page', async () => {
    const m = new EppMetrics();
    const target = endpoint(0);
    let model = '';
    const router = {
      route: (): RoutingDecision => ({
        targets: [target],
        destination: target.hostPort,
        incomingModel: model,
        targetModel: `${model}-rewritten`,
        objective: '',
        priority: 0,
        fairnessId: 'default-flow',
        profile: 'default',
        scores: undefined,
        rewrittenBody: undefined,
        setHeaders: new Map(),
        responseHeaders: new Map(),
        scheduled: undefined,
      }),
      release: (): void => undefined,
    };
    const usage = Buffer.from(JSON.stringify({ usage: { prompt_tokens: 3, completion_tokens: 4 } }));
    for (let i = 0; i < 100; i++) {
      model = hugeName(i, 'model');
      const session = new ExtProcSession(
        { send: () => undefined, end: () => undefined },
        {
          router,
          parser: new PassthroughParser('passthrough-parser'),
          metrics: m,
          logger: silentLogger(),
          defaultBodyMode: 'full-duplex',
          maxRequestBodyBytes: 1024,
          decisionTimeoutMs: 5000,
          timers: { setTimeout: () => undefined, clearTimeout: () => undefined },
        },
      );
      const header = (key: string, value: string) => ({ key, raw_value: Buffer.from(value) });
      session.onMessage({ request: 'request_headers', request_headers: { headers: { headers: [header(':path', '/v1/completions')] }, end_of_stream: false } });
      session.onMessage({ request: 'request_body', request_body: { body: Buffer.from('{}'), end_of_stream: true } });
      session.onMessage({ request: 'response_headers', response_headers: { headers: { headers: [header('content-type', 'application/json')] } } });
      session.onMessage({ request: 'response_body', response_body: { body: usage, end_of_stream: true } });
      session.onStreamEnd();
    }
    const text = await m.registry.metrics();
    expect(text.length).toBeLessThan(200 * 1024);
    expect(text).toContain(`inference_objective_request_total{model_name="${OTHER_LABEL}",target_model_name="${OTHER_LABEL}",priority="0"} 100`);
    expect(text).toContain(`inference_objective_input_tokens_sum{model_name="${OTHER_LABEL}",target_model_name="${OTHER_LABEL}"} 300`);
  });

  it('model_name and target_model_name share one cap of 1000 distinct names, across every metric', async () => {
    const m = new EppMetrics();
    for (let i = 0; i < 500; i++) m.requestTotal.labels(`client-${i}`, `target-${i}`, '0').inc();
    m.requestTotal.labels('late', 'late', '0').inc();
    m.inputTokens.labels('target-7', 'late').observe(1);
    const text = await m.registry.metrics();
    expect(text).toContain('inference_objective_request_total{model_name="client-499",target_model_name="target-499",priority="0"} 1');
    expect(text).toContain(`inference_objective_request_total{model_name="${OTHER_LABEL}",target_model_name="${OTHER_LABEL}",priority="0"} 1`);
    expect(text).toContain(`inference_objective_input_tokens_count{model_name="target-7",target_model_name="${OTHER_LABEL}"} 1`);
    expect(text).not.toContain('"late"');
  });

  it('pinned operator names keep their label past the cap; 1000 client names still fit beside them', async () => {
    const m = new EppMetrics();
    m.pinModelNames(['alias', 'real-model']);
    for (let i = 0; i < 1000; i++) m.requestTotal.labels(`client-${i}`, `client-${i}`, '0').inc();
    m.requestTotal.labels('alias', 'real-model', '0').inc();
    m.requestTotal.labels('one-too-many', 'real-model', '0').inc();
    m.runningRequestsSeries('real-model').inc();
    const text = await m.registry.metrics();
    expect(text).toContain('inference_objective_request_total{model_name="client-999",target_model_name="client-999",priority="0"} 1');
    expect(text).toContain('inference_objective_request_total{model_name="alias",target_model_name="real-model",priority="0"} 1');
    expect(text).toContain(`inference_objective_request_total{model_name="${OTHER_LABEL}",target_model_name="real-model",priority="0"} 1`);
    expect(text).toContain('inference_objective_running_requests{model_name="real-model"} 1');
  });

  it('reports an empty model as empty, and disaggregation counters report it as unknown even past the cap', async () => {
    const m = new EppMetrics();
    for (let i = 0; i < 1000; i++) m.requestTotal.labels(`c${i}`, `c${i}`, '0').inc();
    m.requestTotal.labels('', '', '0').inc();
    m.disaggDecision('', 'decode-only');
    const text = await m.registry.metrics();
    expect(text).toContain('inference_objective_request_total{model_name="",target_model_name="",priority="0"} 1');
    expect(text).toContain('llm_d_inference_scheduler_disagg_decision_total{model_name="unknown",decision_type="decode-only"} 1');
  });
});
