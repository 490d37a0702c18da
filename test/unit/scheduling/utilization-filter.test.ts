import { describe, expect, it } from 'vitest';
import { buildScheduler } from '../../../src/config/build-scheduler.js';
import { ConfigError } from '../../../src/config/decode.js';
import { loadConfig } from '../../../src/config/load-config.js';
import { registerBuiltins } from '../../../src/builtins.js';
import { Endpoint, UNKNOWN_METRICS } from '../../../src/datastore/endpoint.js';
import { CycleState } from '../../../src/scheduling/cycle-state.js';
import { inFlightLoadKey, type InFlightLoad } from '../../../src/scheduling/plugins/producers/inflight-load-producer.js';
import { UtilizationFilter, utilizationFilterFactory, type UtilizationCondition } from '../../../src/scheduling/plugins/filters/utilization-filter.js';
import { describeFilter } from '../../contract/plugin-contracts.js';
import { endpoint, schedulingRequest } from '../../helpers/endpoints.js';

const CONTEXT = { random: () => 0.5 };
const make = (parameters: unknown): UtilizationFilter => utilizationFilterFactory('f', parameters, CONTEXT) as UtilizationFilter;
const names = (es: readonly Endpoint[]): string[] => es.map((e) => e.name);

describeFilter('utilization-filter', () =>
  make({ conditions: [{ metric: 'waiting-queue', maxValue: 3 }, { metric: 'kv-cache-utilization', maxValue: 0.7 }, { metric: 'running-requests', maxValue: 5000 }] }),
);
describeFilter('utilization-filter (fallbackOnEmpty)', () => make({ conditions: [{ metric: 'waiting-queue', maxValue: 0 }], fallbackOnEmpty: true }));

describe('utilization-filter', () => {
  it('drops an endpoint as soon as any condition exceeds its cap (at the cap is kept)', () => {
    const f = make({ conditions: [{ metric: 'running-requests', maxValue: 40 }, { metric: 'waiting-queue', maxValue: 0 }, { metric: 'kv-cache-utilization', maxValue: 0.8 }] });
    const pool = [
      endpoint(0, { runningRequestsSize: 40, waitingQueueSize: 0, kvCacheUsage: 0.8 }),
      endpoint(1, { runningRequestsSize: 41 }),
      endpoint(2, { waitingQueueSize: 1 }),
      endpoint(3, { kvCacheUsage: 0.81 }),
      endpoint(4, { runningRequestsSize: 3, kvCacheUsage: 0.1 }),
    ];
    expect(names(f.filter(schedulingRequest(), pool))).toEqual(['e0', 'e4']);
  });

  it('returns nothing when all are dropped, or the candidates unchanged with fallbackOnEmpty', () => {
    const busy = [endpoint(0, { waitingQueueSize: 2 }), endpoint(1, { waitingQueueSize: 9 })];
    expect(make({ conditions: [{ metric: 'waiting-queue', maxValue: 1 }] }).filter(schedulingRequest(), busy)).toEqual([]);
    expect(make({ conditions: [{ metric: 'waiting-queue', maxValue: 1 }], fallbackOnEmpty: true }).filter(schedulingRequest(), busy)).toBe(busy);
  });

  it('reads active-requests from the named in-flight load producer, else the endpoint in-flight count', () => {
    const a = endpoint(0);
    const b = endpoint(1);
    a.inFlight = 5;
    b.inFlight = 1;
    const f = new UtilizationFilter('f', [{ metric: 'active-requests', maxValue: 2 }], false, 'load');
    expect(names(f.filter(schedulingRequest(), [a, b]))).toEqual(['e1']);
    const load: InFlightLoad = { requests: (e) => (e === a ? 0 : 7), tokens: () => 0, requestTokens: () => 0 };
    const state = new CycleState();
    state.set(inFlightLoadKey('load'), load);
    expect(names(f.filter(schedulingRequest({ state }), [a, b]))).toEqual(['e0']);
    // The default producer's slot is not the named one's.
    const other = new CycleState();
    other.set(inFlightLoadKey(), load);
    expect(names(f.filter(schedulingRequest({ state: other }), [a, b]))).toEqual(['e1']);
  });

  it('treats an endpoint never scraped as 0 for the scraped metrics, as the reference', () => {
    const fresh = new Endpoint('new', '10.0.0.9', 8000, {});
    fresh.metrics = UNKNOWN_METRICS;
    expect(make({ conditions: [{ metric: 'waiting-queue', maxValue: 0 }] }).filter(schedulingRequest(), [fresh, endpoint(1, { waitingQueueSize: 1 })])).toEqual([fresh]);
  });

  it('validates conditions, each problem by path', () => {
    expect(() => make(undefined)).toThrow(/conditions/);
    expect(() => make({ conditions: [] })).toThrow(/at least one condition/);
    expect(() => make({ conditions: [{ metric: 'gpu', maxValue: 1 }] })).toThrow(/metric/);
    expect(() => make({ conditions: [{ metric: 'waiting-queue' }] })).toThrow(/maxValue/);
    expect(() => make({ conditions: [{ metric: 'waiting-queue', maxValue: -1 }] })).toThrow(/non-negative/);
    expect(() => make({ conditions: [{ metric: 'kv-cache-utilization', maxValue: 1.5 }] })).toThrow(/at most 1/);
    expect(() => make({ conditions: [{ metric: 'waiting-queue', maxValue: 1, extra: 1 }] })).toThrow(/extra/);
    const f = make({ conditions: [{ metric: 'kv-cache-utilization', maxValue: 1 }] });
    expect([f.fallbackOnEmpty, f.inFlightLoadProducer, f.conditions]).toEqual([false, undefined, [{ metric: 'kv-cache-utilization', maxValue: 1 } satisfies UtilizationCondition]]);
  });

  it('is Alpha and checks its in-flight producer reference when the configuration is built', () => {
    const text = (producer: string): string =>
      `apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\nplugins:\n- type: utilization-filter\n  parameters:\n    conditions: [{metric: active-requests, maxValue: 3}]\n    inFlightLoadProducerName: ${producer}\n- type: inflight-load-producer\n  name: load\n- type: max-score-picker\n`;
    const build = (t: string, allow: boolean) => buildScheduler(loadConfig({ text: t }), registerBuiltins(), CONTEXT, undefined, 'EndpointPickerConfig', { allowExperimentalPlugins: allow });
    expect(() => build(text('load'), true)).not.toThrow();
    const problems = (() => {
      try {
        build(text('lod'), false);
      } catch (err) {
        if (err instanceof ConfigError) return err.problems.join('\n');
      }
      return '';
    })();
    expect(problems).toMatch(/inFlightLoadProducerName: no plugin named "lod"/);
    expect(problems).toMatch(/Alpha stability level/);
  });
});
