/** `llm_d_epp_scheduler_attempts_total` and the e2e histogram, recorded by the real Scheduler. */
import { describe, expect, it } from 'vitest';
import { EppMetrics } from '../../../src/observability/metrics.js';
import { MaxScorePicker } from '../../../src/scheduling/plugins/pickers/max-score-picker.js';
import { SingleProfileHandler } from '../../../src/scheduling/plugins/profile-handlers/single-profile-handler.js';
import { Scheduler } from '../../../src/scheduling/scheduler.js';
import type { Filter } from '../../../src/scheduling/types.js';
import { endpoint, schedulingRequest } from '../../helpers/endpoints.js';

/** Keeps the candidates while `open`, else none (the primary profile then finds no target). */
class Gate implements Filter {
  readonly typedName = { type: 'gate', name: 'gate' };
  open = true;
  filter<T>(_request: unknown, candidates: readonly T[]): readonly T[] {
    return this.open ? candidates : [];
  }
}

describe('scheduler metrics', () => {
  it('counts successes with the picked endpoint (name, namespace, port) and failures without one, under both names', async () => {
    const metrics = new EppMetrics({ namespace: 'llm' });
    const gate = new Gate();
    const scheduler = new Scheduler(new SingleProfileHandler('h'), [{ name: 'default', filters: [gate], scorers: [], picker: new MaxScorePicker('p', 1) }], metrics);
    const candidates = [endpoint(0)];
    for (let i = 0; i < 3; i++) scheduler.schedule(schedulingRequest({ targetModel: 'm-lora' }), candidates);
    gate.open = false;
    expect(() => scheduler.schedule(schedulingRequest({ targetModel: 'm-lora' }), candidates)).toThrow(/no endpoint/);
    const text = await metrics.registry.metrics();
    expect(text).toContain('llm_d_epp_scheduler_attempts_total{status="success",target_model_name="m-lora",endpoint_name="e0",namespace="llm",port="8000"} 3');
    expect(text).toContain('llm_d_epp_scheduler_attempts_total{status="failure",target_model_name="m-lora",endpoint_name="",namespace="",port=""} 1');
    expect(text).toContain('inference_extension_scheduler_attempts_total{status="success",target_model_name="m-lora",pod_name="e0",namespace="llm",port="8000"} 3');
    expect(text).toMatch(/^llm_d_epp_scheduler_e2e_duration_seconds_count 4$/m);
    expect(text).toMatch(/^inference_extension_scheduler_e2e_duration_seconds_count 4$/m);
    expect(text).toMatch(/^llm_d_epp_plugin_duration_seconds_count\{extension_point="Filter",plugin_type="gate",plugin_name="gate"\} 4$/m);
  });
});
