import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/decode.js';
import { UNKNOWN_METRICS, type Endpoint } from '../../../src/datastore/endpoint.js';
import { ByLabelFilter, byLabelFactory } from '../../../src/scheduling/plugins/filters/by-label-filter.js';
import { byLabelSelectorFactory, labelSelectorFilter, labelSelectorFilterFactory } from '../../../src/scheduling/plugins/filters/label-selector-filter.js';
import { decodeFilter, decodeFilterFactory, encodeFilter, encodeFilterFactory, prefillFilter, prefillFilterFactory } from '../../../src/scheduling/plugins/filters/role-filters.js';
import { UtilizationDetector, utilizationDetectorFactory } from '../../../src/scheduling/plugins/admission/utilization-detector.js';
import type { PluginContext } from '../../../src/plugin/registry.js';
import { isSaturationDetector } from '../../../src/scheduling/saturation-detector.js';
import type { Filter } from '../../../src/scheduling/types.js';
import { describeFilter } from '../../contract/plugin-contracts.js';
import { endpoint, schedulingRequest } from '../../helpers/endpoints.js';

const CONTEXT = { random: () => 0.5 };
/** The helper stamps metrics at t=1; this clock keeps them fresh. */
const NOW = 50;
const clock = (): number => NOW;

function names(filter: Filter, pool: readonly Endpoint[]): string[] {
  return filter.filter(schedulingRequest(), pool).map((e) => e.name);
}

describeFilter('label-selector-filter', () =>
  labelSelectorFilter('s', { matchLabels: { tier: 'a' }, matchExpressions: [{ key: 'llm-d.ai/role', operator: 'NotIn', values: ['prefill'] }] }),
);
describeFilter('label-selector-filter (Exists/DoesNotExist)', () =>
  labelSelectorFilter('s', { matchExpressions: [{ key: 'tier', operator: 'Exists' }, { key: 'llm-d.ai/context-length-range', operator: 'DoesNotExist' }] }),
);
describeFilter('by-label', () => new ByLabelFilter('b', 'tier', ['a', 'b'], true));
describeFilter('decode-filter', () => decodeFilter());
describeFilter('prefill-filter', () => prefillFilter());
describeFilter('encode-filter', () => encodeFilter());
describeFilter('utilization-detector', () => new UtilizationDetector('u', undefined, clock));

describe('label-selector-filter', () => {
  const pool = [
    endpoint(0, {}, { tier: 'a', zone: 'x' }),
    endpoint(1, {}, { tier: 'b', zone: 'x' }),
    endpoint(2, {}, { tier: 'a' }),
    endpoint(3, {}, {}),
  ];

  it('matchLabels require the exact value', () => {
    expect(names(labelSelectorFilter('s', { matchLabels: { tier: 'a' } }), pool)).toEqual(['e0', 'e2']);
    expect(names(labelSelectorFilter('s', { matchLabels: { tier: 'a', zone: 'x' } }), pool)).toEqual(['e0']);
  });

  it('In, NotIn (absent label passes), Exists, DoesNotExist', () => {
    const expr = (operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist', values?: string[]): string[] =>
      names(labelSelectorFilter('s', { matchExpressions: [{ key: 'tier', operator, ...(values === undefined ? {} : { values }) }] }), pool);
    expect(expr('In', ['b', 'c'])).toEqual(['e1']);
    expect(expr('NotIn', ['a'])).toEqual(['e1', 'e3']);
    expect(expr('Exists')).toEqual(['e0', 'e1', 'e2']);
    expect(expr('DoesNotExist')).toEqual(['e3']);
  });

  it('every requirement must hold; an empty selector keeps everything (the same array)', () => {
    const f = labelSelectorFilter('s', { matchLabels: { tier: 'a' }, matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] });
    expect(names(f, pool)).toEqual(['e2']);
    expect(labelSelectorFilter('s', {}).filter(schedulingRequest(), pool)).toBe(pool);
    expect(labelSelectorFilterFactory('s', undefined, CONTEXT)).toBeDefined();
  });

  it('rejects invalid selectors like the Kubernetes conversion does', () => {
    expect(() => labelSelectorFilter('s', { matchExpressions: [{ key: 'tier', operator: 'In', values: [] }] })).toThrow(ConfigError);
    expect(() => labelSelectorFilter('s', { matchExpressions: [{ key: 'tier', operator: 'Exists', values: ['a'] }] })).toThrow(/values must be empty/);
    expect(() => labelSelectorFilterFactory('s', { matchExpressions: [{ key: 'tier', operator: 'Equals', values: ['a'] }] }, CONTEXT)).toThrow(ConfigError);
    expect(() => labelSelectorFilterFactory('s', { selector: {} }, CONTEXT)).toThrow(ConfigError);
  });

  it('by-label-selector is the same filter under the deprecated type name', () => {
    const f = byLabelSelectorFactory('old', { matchLabels: { tier: 'b' } }, CONTEXT) as Filter;
    expect(f.typedName).toEqual({ type: 'by-label-selector', name: 'old' });
    expect(names(f, pool)).toEqual(['e1']);
    expect((labelSelectorFilterFactory('new', {}, CONTEXT) as Filter).typedName).toEqual({ type: 'label-selector-filter', name: 'new' });
  });
});

describe('by-label', () => {
  const pool = [endpoint(0, {}, { gpu: 'h100' }), endpoint(1, {}, { gpu: 'a100' }), endpoint(2)];

  it('keeps listed values, and unlabelled endpoints only with allowsNoLabel', () => {
    expect(names(byLabelFactory('b', { label: 'gpu', validValues: ['h100'] }, CONTEXT) as Filter, pool)).toEqual(['e0']);
    expect(names(byLabelFactory('b', { label: 'gpu', validValues: ['h100'], allowsNoLabel: true }, CONTEXT) as Filter, pool)).toEqual(['e0', 'e2']);
    expect(names(byLabelFactory('b', { label: 'gpu', allowsNoLabel: true }, CONTEXT) as Filter, pool)).toEqual(['e2']);
  });

  it('needs a label and either validValues or allowsNoLabel', () => {
    expect(() => byLabelFactory('b', { validValues: ['x'] }, CONTEXT)).toThrow(ConfigError);
    expect(() => byLabelFactory('b', { label: 'gpu' }, CONTEXT)).toThrow(/validValues/);
  });
});

describe('role filters (llm-d.ai/role)', () => {
  const roles = ['decode', 'prefill', 'encode', 'prefill-decode', 'encode-prefill', 'encode-prefill-decode', 'both', 'other'];
  const pool = [...roles.map((role, i) => endpoint(i, {}, { 'llm-d.ai/role': role })), endpoint(roles.length)];
  const kept = (f: Filter): string[] => f.filter(schedulingRequest(), pool).map((e) => e.labels['llm-d.ai/role'] ?? '(unlabelled)');

  it('decode-filter keeps decoders and unlabelled endpoints', () => {
    expect(kept(decodeFilter())).toEqual(['decode', 'prefill-decode', 'encode-prefill-decode', 'both', '(unlabelled)']);
  });

  it('prefill-filter and encode-filter keep only labelled roles', () => {
    expect(kept(prefillFilter())).toEqual(['prefill', 'prefill-decode', 'encode-prefill', 'encode-prefill-decode', 'both']);
    expect(kept(encodeFilter())).toEqual(['encode', 'encode-prefill', 'encode-prefill-decode']);
  });

  it('factories carry the reference type names', () => {
    expect((decodeFilterFactory('d', undefined, CONTEXT) as Filter).typedName).toEqual({ type: 'decode-filter', name: 'd' });
    expect((prefillFilterFactory('p', {}, CONTEXT) as Filter).typedName).toEqual({ type: 'prefill-filter', name: 'p' });
    expect((encodeFilterFactory('e', undefined, CONTEXT) as Filter).typedName).toEqual({ type: 'encode-filter', name: 'e' });
  });
});

describe('utilization-detector', () => {
  const detector = new UtilizationDetector('u', undefined, clock);

  it('filter drops q ≥ 5 and kv ≥ 0.8 (defaults), keeps the rest', () => {
    const pool = [
      endpoint(0, { waitingQueueSize: 4, kvCacheUsage: 0.79 }),
      endpoint(1, { waitingQueueSize: 5, kvCacheUsage: 0.1 }),
      endpoint(2, { waitingQueueSize: 0, kvCacheUsage: 0.8 }),
      endpoint(3, { waitingQueueSize: 0, kvCacheUsage: 0 }),
    ];
    expect(names(detector, pool)).toEqual(['e0', 'e3']);
  });

  it('headroom raises the limits: q < 5·1.5, kv < min(1, 0.8·1.5)', () => {
    const roomy = new UtilizationDetector('u', { queueDepthThreshold: 5, kvCacheUtilThreshold: 0.8, metricsStalenessMs: 200, headroom: 0.5 }, clock);
    const pool = [endpoint(0, { waitingQueueSize: 7, kvCacheUsage: 0.99 }), endpoint(1, { waitingQueueSize: 8 }), endpoint(2, { kvCacheUsage: 1 })];
    expect(names(roomy, pool)).toEqual(['e0']);
  });

  it('drops stale endpoints: unknown metrics, or older than metricsStalenessThreshold by the clock', () => {
    const pool = [endpoint(0), endpoint(1), endpoint(2, { updatedAtMs: NOW - 201 }), endpoint(3, { updatedAtMs: NOW - 200 })];
    (pool[1] as Endpoint).metrics = UNKNOWN_METRICS;
    expect(names(detector, pool)).toEqual(['e0', 'e3']);
  });

  it('returns every candidate when all would be dropped', () => {
    const pool = [endpoint(0, { waitingQueueSize: 50 }), endpoint(1, { kvCacheUsage: 0.95 }), endpoint(2)];
    (pool[2] as Endpoint).metrics = UNKNOWN_METRICS;
    expect(detector.filter(schedulingRequest(), pool)).toBe(pool);
  });

  it('saturation = mean of max(q/5, kv/0.8); stale counts 1; no candidates → 1', () => {
    expect(detector.saturation([])).toBe(1);
    expect(detector.saturation([endpoint(0, { waitingQueueSize: 0, kvCacheUsage: 0 })])).toBe(0);
    expect(detector.saturation([endpoint(0, { waitingQueueSize: 5, kvCacheUsage: 0.4 }), endpoint(1, { waitingQueueSize: 1, kvCacheUsage: 0.4 })])).toBeCloseTo((1 + 0.5) / 2, 12);
    const stale = endpoint(1, { updatedAtMs: NOW - 1000 });
    const unknown = endpoint(2);
    unknown.metrics = UNKNOWN_METRICS;
    expect(detector.saturation([endpoint(0, { waitingQueueSize: 10 }), stale, unknown])).toBeCloseTo((2 + 1 + 1) / 3, 12);
    expect(isSaturationDetector(detector)).toBe(true);
    expect(isSaturationDetector(decodeFilter())).toBe(false);
  });

  it('parameters: defaults, Go durations, validation; the clock comes from the plugin context', () => {
    const d = utilizationDetectorFactory('u', undefined, CONTEXT) as UtilizationDetector;
    expect(d.config).toEqual({ queueDepthThreshold: 5, kvCacheUtilThreshold: 0.8, metricsStalenessMs: 200, headroom: 0 });
    const ctx: PluginContext = { ...CONTEXT, now: () => 10_000 };
    const p = utilizationDetectorFactory('u', { queueDepthThreshold: 10, kvCacheUtilThreshold: 1, metricsStalenessThreshold: '1.5s', headroom: 0.2 }, ctx) as UtilizationDetector;
    expect(p.config).toEqual({ queueDepthThreshold: 10, kvCacheUtilThreshold: 1, metricsStalenessMs: 1500, headroom: 0.2 });
    expect(p.saturation([endpoint(0, { updatedAtMs: 9000 })])).toBe(0);
    expect(p.saturation([endpoint(0, { updatedAtMs: 8000 })])).toBe(1);
    for (const bad of [{ queueDepthThreshold: 0 }, { kvCacheUtilThreshold: 1.2 }, { kvCacheUtilThreshold: 0 }, { metricsStalenessThreshold: '0' }, { metricsStalenessThreshold: 'soon' }, { headroom: -0.1 }, { queueDepth: 3 }]) {
      expect(() => utilizationDetectorFactory('u', bad, CONTEXT)).toThrow(ConfigError);
    }
  });
});
