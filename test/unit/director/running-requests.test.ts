/** `llm_d_epp_request_running` (and its twin `inference_objective_running_requests`): +1 per routed request, −1 exactly once on release. */
import { describe, expect, it } from 'vitest';
import { Datastore } from '../../../src/datastore/datastore.js';
import { Director } from '../../../src/director/director.js';
import { EppMetrics } from '../../../src/observability/metrics.js';
import type { LLMRequest } from '../../../src/request/llm-request.js';
import { MaxScorePicker } from '../../../src/scheduling/plugins/pickers/max-score-picker.js';
import { SingleProfileHandler } from '../../../src/scheduling/plugins/profile-handlers/single-profile-handler.js';
import { Scheduler } from '../../../src/scheduling/scheduler.js';

const llm = (model: string): LLMRequest => ({ api: 'completions', model, stream: false, cacheSalt: undefined, body: { model, prompt: 'p' }, bodyBytes: 10 });

function setup(): { director: Director; metrics: EppMetrics } {
  const datastore = new Datastore();
  datastore.setEndpoints([{ name: 'a', address: '10.0.0.1', port: 8000, labels: {} }]);
  const scheduler = new Scheduler(new SingleProfileHandler('h'), [{ name: 'default', filters: [], scorers: [], picker: new MaxScorePicker('p', 1) }]);
  const metrics = new EppMetrics();
  return { director: new Director(datastore, scheduler, { disableSubsetFilter: false, random: () => 0, metrics }), metrics };
}

/** The gauge by requested model, summed over the other labels; checked against the deprecated twin. */
async function running(metrics: EppMetrics): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await metrics.runningRequests.get()).values) out[String(v.labels.model_name)] = (out[String(v.labels.model_name)] ?? 0) + v.value;
  const legacy: Record<string, number> = {};
  const text = await metrics.registry.metrics();
  for (const m of text.matchAll(/^inference_objective_running_requests\{model_name="([^"]*)"\} (\S+)$/gm)) legacy[m[1] ?? ''] = Number(m[2]);
  expect(legacy).toEqual(out);
  return out;
}

const input = (model: string, headers: [string, string][] = []) => ({ requestId: 'r', headers: new Map(headers), llm: llm(model), bodyless: false, subsetHint: undefined });

describe('running requests gauge', () => {
  it('counts routed requests by the requested model and drops each exactly once, even when released twice', async () => {
    const { director, metrics } = setup();
    const a1 = director.route(input('a'));
    const a2 = director.route(input('a'));
    // Labelled by the model the client asked for, not the rewrite target.
    const b = director.route(input('b', [['x-gateway-model-name-rewrite', 'b-lora']]));
    expect(await running(metrics)).toEqual({ a: 2, b: 1 });
    director.release(a1);
    director.release(a1);
    expect(await running(metrics)).toEqual({ a: 1, b: 1 });
    director.release(a2);
    director.release(b);
    director.release(b);
    expect(await running(metrics)).toEqual({ a: 0, b: 0 });
  });

  it('does not count body-less requests (no model name), as llm-d', async () => {
    const { director, metrics } = setup();
    const d = director.route({ requestId: 'r', headers: new Map(), llm: undefined, bodyless: true, subsetHint: undefined });
    expect(await running(metrics)).toEqual({});
    director.release(d);
    expect(await running(metrics)).toEqual({});
  });

  it('labels the gauge with the target model, fairness id (either header name, default-flow) and priority', async () => {
    const { director, metrics } = setup();
    const a = director.route(input('a', [['x-llm-d-inference-fairness-id', 'tenant-1']]));
    const b = director.route(input('a', [['x-gateway-inference-fairness-id', 'tenant-2']]));
    const c = director.route(input('a'));
    const text = await metrics.registry.metrics();
    expect(text).toContain('llm_d_epp_request_running{model_name="a",target_model_name="a",fairness_id="tenant-1",priority="0"} 1');
    expect(text).toContain('llm_d_epp_request_running{model_name="a",target_model_name="a",fairness_id="tenant-2",priority="0"} 1');
    expect(text).toContain('llm_d_epp_request_running{model_name="a",target_model_name="a",fairness_id="default-flow",priority="0"} 1');
    expect(text).toContain('inference_objective_running_requests{model_name="a"} 3');
    for (const d of [a, b, c]) director.release(d);
    expect(await running(metrics)).toEqual({ a: 0 });
  });

  it('stays balanced on the bounded label: over-long and past-the-cap names count under other, pinning mid-flight moves nothing', async () => {
    const { director, metrics } = setup();
    const huge = director.route(input('x'.repeat(1 << 20)));
    const decisions = Array.from({ length: 1000 }, (_, i) => director.route(input(`m${i}`)));
    const late = director.route(input('late'));
    expect((await running(metrics)).other).toBe(2);
    // The operator configures `late` while its request is in flight: the decrement still hits `other`.
    metrics.pinModelNames(['late']);
    director.release(late);
    director.release(huge);
    for (const d of decisions) director.release(d);
    const after = await running(metrics);
    expect(after.other).toBe(0);
    expect(Object.values(after).every((v) => v === 0)).toBe(true);
    expect(after.late).toBeUndefined();
    const again = director.route(input('late'));
    expect((await running(metrics)).late).toBe(1);
    director.release(again);
  });
});
