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
import { RequestHistogram } from '../../../src/observability/request-metrics.js';
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
function oneRequest(m: EppMetrics, model: string, target: string, fairnessId = 'default-flow'): void {
  const s = m.requestSeries(model, target, fairnessId, 0);
  s.requests.inc();
  s.observe(RequestHistogram.InputTokens, 10);
  s.observe(RequestHistogram.OutputTokens, 20);
  s.observe(RequestHistogram.CachedTokens, 5);
  s.error('BadRequest');
  s.running.inc();
  m.disaggMetricsFor(HANDLER).disaggDecision(target, 'decode-only');
  s.running.dec();
}

const HANDLER = { type: 'disagg-profile-handler', name: 'pd' };

/** Counts one routed request. */
function count(m: EppMetrics, model: string, target: string, fairnessId = 'default-flow'): void {
  m.requestSeries(model, target, fairnessId, 0).requests.inc();
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
    expect(text).toContain(`llm_d_epp_request_total{model_name="${OTHER_LABEL}",target_model_name="${OTHER_LABEL}",fairness_id="default-flow",priority="0"} 300`);
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
    for (let i = 0; i < 500; i++) count(m, `client-${i}`, `target-${i}`);
    count(m, 'late', 'late');
    m.requestSeries('target-7', 'late', 'default-flow', 0).observe(RequestHistogram.InputTokens, 1);
    const text = await m.registry.metrics();
    expect(text).toContain('inference_objective_request_total{model_name="client-499",target_model_name="target-499",priority="0"} 1');
    expect(text).toContain(`inference_objective_request_total{model_name="${OTHER_LABEL}",target_model_name="${OTHER_LABEL}",priority="0"} 1`);
    expect(text).toContain(`inference_objective_input_tokens_count{model_name="target-7",target_model_name="${OTHER_LABEL}"} 1`);
    expect(text).not.toContain('"late"');
  });

  it('pinned operator names keep their label past the cap; 1000 client names still fit beside them', async () => {
    const m = new EppMetrics();
    m.pinModelNames(['alias', 'real-model']);
    for (let i = 0; i < 1000; i++) count(m, `client-${i}`, `client-${i}`);
    count(m, 'alias', 'real-model');
    count(m, 'one-too-many', 'real-model');
    m.requestSeries('real-model', 'real-model', 'default-flow', 0).running.inc();
    const text = await m.registry.metrics();
    expect(text).toContain('inference_objective_request_total{model_name="client-999",target_model_name="client-999",priority="0"} 1');
    expect(text).toContain('inference_objective_request_total{model_name="alias",target_model_name="real-model",priority="0"} 1');
    expect(text).toContain(`inference_objective_request_total{model_name="${OTHER_LABEL}",target_model_name="real-model",priority="0"} 1`);
    expect(text).toContain('inference_objective_running_requests{model_name="real-model"} 1');
  });

  it('reports an empty model as empty, and disaggregation counters report it as unknown even past the cap', async () => {
    const m = new EppMetrics();
    for (let i = 0; i < 1000; i++) count(m, `c${i}`, `c${i}`);
    count(m, '', '');
    m.disaggMetricsFor(HANDLER).disaggDecision('', 'decode-only');
    const text = await m.registry.metrics();
    expect(text).toContain('inference_objective_request_total{model_name="",target_model_name="",priority="0"} 1');
    expect(text).toContain('llm_d_inference_scheduler_disagg_decision_total{model_name="unknown",decision_type="decode-only"} 1');
    expect(text).toContain('llm_d_epp_disagg_decision_total{plugin_name="pd",plugin_type="disagg-profile-handler",model_name="unknown",decision_type="decode-only"} 1');
  });

  it('fairness_id has its own cap of 1000 distinct values, then other; model names are unaffected by it', async () => {
    const m = new EppMetrics();
    for (let i = 0; i < 1000; i++) count(m, 'm', 'm', `tenant-${i}`);
    count(m, 'm', 'm', 'tenant-late');
    count(m, 'm', 'm', 'tenant-late-2');
    count(m, 'm', 'm', 'tenant-3');
    const text = await m.registry.metrics();
    expect(text).toContain('llm_d_epp_request_total{model_name="m",target_model_name="m",fairness_id="tenant-3",priority="0"} 2');
    expect(text).toContain(`llm_d_epp_request_total{model_name="m",target_model_name="m",fairness_id="${OTHER_LABEL}",priority="0"} 2`);
    expect(text).not.toContain('tenant-late');
    // The legacy twin has no fairness_id: every tenant sums into its one series.
    expect(text).toContain('inference_objective_request_total{model_name="m",target_model_name="m",priority="0"} 1003');
  });

  it('at most 2000 request label tuples: later ones fold into the all-other tuple, under both names', async () => {
    const m = new EppMetrics();
    for (let i = 0; i < 1000; i++) for (const tenant of ['t1', 't2', 't3']) count(m, `m${i}`, `m${i}`, tenant);
    const text = await m.registry.metrics();
    expect(text.match(/^llm_d_epp_request_total\{/gm)).toHaveLength(2001);
    expect(text).toContain(`llm_d_epp_request_total{model_name="${OTHER_LABEL}",target_model_name="${OTHER_LABEL}",fairness_id="${OTHER_LABEL}",priority="${OTHER_LABEL}"} 1000`);
    expect(text).toContain(`inference_objective_request_total{model_name="${OTHER_LABEL}",target_model_name="${OTHER_LABEL}",priority="${OTHER_LABEL}"} 1000`);
    let legacy = 0;
    for (const x of text.matchAll(/^inference_objective_request_total\{[^}]*\} (\d+)$/gm)) legacy += Number(x[1]);
    expect(legacy).toBe(3000);
  });

  it('a fairness id over 256 bytes reports as other and is never stored', async () => {
    const m = new EppMetrics();
    count(m, 'm', 'm', 'x'.repeat(257));
    count(m, 'm', 'm', 'y'.repeat(256));
    const text = await m.registry.metrics();
    expect(text).toContain(`fairness_id="${OTHER_LABEL}",priority="0"} 1`);
    expect(text).toContain(`fairness_id="${'y'.repeat(256)}",priority="0"} 1`);
    expect(text).not.toContain('x'.repeat(257));
  });
});
