import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../../src/datastore/endpoint.js';
import { EndpointAttributeFilter, endpointAttributeFilterFactory } from '../../../src/scheduling/plugins/filters/endpoint-attribute-filter.js';
import type { EndpointAttributeScorer} from '../../../src/scheduling/plugins/scorers/endpoint-attribute-scorer.js';
import { endpointAttributeScorerFactory } from '../../../src/scheduling/plugins/scorers/endpoint-attribute-scorer.js';
import { describeFilter, describeScorer } from '../../contract/plugin-contracts.js';
import { endpoint, schedulingRequest } from '../../helpers/endpoints.js';
import { configProblems } from '../../helpers/config-problems.js';

const CONTEXT = { random: () => 0.5 };
const GPU = { attribute: 'GPUUtilization', producer: 'dcgm-extractor' };
const threshold = (operator: string, value: number) => ({ type: 'threshold', threshold: { operator, value } });

const filter = (p: Record<string, unknown>): EndpointAttributeFilter => endpointAttributeFilterFactory('f', p, CONTEXT) as EndpointAttributeFilter;
const scorer = (p: Record<string, unknown>): EndpointAttributeScorer => endpointAttributeScorerFactory('s', p, CONTEXT) as EndpointAttributeScorer;

const problems = (fn: () => unknown): string => configProblems(fn).join('\n');

/** Endpoints e0.. with GPU utilization values (undefined = no attribute) published by dcgm-extractor. */
function gpuPool(values: readonly (number | undefined)[]): Endpoint[] {
  return values.map((v, i) => {
    const e = endpoint(i);
    if (v !== undefined) e.attributes = Object.freeze({ 'dcgm-extractor/GPUUtilization': v });
    return e;
  });
}
const names = (pool: readonly Endpoint[]): string[] => pool.map((e) => e.name);

describeFilter('endpoint-attribute-filter (onMissing Pass)', () => filter({ ...GPU, algorithm: threshold('LessThanOrEqual', 0.9) }));
describeFilter('endpoint-attribute-filter (onMissing Fail, fallbackOnEmpty)', () => filter({ ...GPU, onMissing: 'Fail', fallbackOnEmpty: true, algorithm: threshold('GreaterThan', 0.5) }));
describeScorer('endpoint-attribute-scorer (adaptive)', () => scorer({ attributeKey: 'GPUUtilization', producer: 'dcgm-extractor', algorithm: { type: 'linear_lower_is_better' } }));
describeScorer('endpoint-attribute-scorer (fixed)', () => scorer({ attributeKey: 'q', algorithm: { type: 'linear_higher_is_better', normalization: { fixedRange: { min: 0, max: 10 } } } }));

describe('endpoint-attribute-filter', () => {
  it('keeps endpoints whose attribute satisfies the threshold; missing ones pass by default', () => {
    const pool = gpuPool([0.95, 0.3, undefined, 0.9]);
    expect(names(filter({ ...GPU, algorithm: threshold('LessThanOrEqual', 0.9) }).filter(schedulingRequest(), pool))).toEqual(['e1', 'e2', 'e3']);
    expect(names(filter({ ...GPU, onMissing: 'Fail', algorithm: threshold('LessThan', 0.9) }).filter(schedulingRequest(), pool))).toEqual(['e1']);
  });

  it.each([
    ['LessThan', ['e1']],
    ['LessThanOrEqual', ['e1', 'e2']],
    ['GreaterThan', ['e0']],
    ['GreaterThanOrEqual', ['e0', 'e2']],
    ['Equal', ['e2']],
    ['NotEqual', ['e0', 'e1']],
  ])('operator %s', (op, kept) => {
    const pool = gpuPool([0.9, 0.1, 0.5]);
    expect(names(filter({ ...GPU, onMissing: 'Fail', algorithm: threshold(op, 0.5) }).filter(schedulingRequest(), pool))).toEqual(kept);
  });

  it('returns every candidate when none passes only with fallbackOnEmpty', () => {
    const pool = gpuPool([0.95, 0.99]);
    expect(filter({ ...GPU, algorithm: threshold('LessThan', 0.5) }).filter(schedulingRequest(), pool)).toEqual([]);
    expect(filter({ ...GPU, fallbackOnEmpty: true, algorithm: threshold('LessThan', 0.5) }).filter(schedulingRequest(), pool)).toBe(pool);
  });

  it("without producer reads the core extractor's customMetrics, and only while metrics are known", () => {
    const a = endpoint(0, { custom: { queue_depth: 3 } });
    const b = endpoint(1, { custom: { queue_depth: 12 } });
    const c = endpoint(2, { known: false, custom: { queue_depth: 1 } });
    const f = filter({ attribute: 'queue_depth', onMissing: 'Fail', algorithm: threshold('LessThan', 10) });
    expect(names(f.filter(schedulingRequest(), [a, b, c]))).toEqual(['e0']);
    // An attribute of another producer with the same name is not read.
    b.attributes = Object.freeze({ 'dcgm-extractor/queue_depth': 1 });
    expect(names(f.filter(schedulingRequest(), [b]))).toEqual([]);
  });

  it('decodes as v0.10: defaults, required fields, and the combined attribute/producer spelling refused', () => {
    expect(problems(() => filter({ attribute: '', algorithm: threshold('Less', 1) }))).toMatch(/attribute[\s\S]*operator/);
    expect(problems(() => filter({ attribute: 'x', onMissing: 'Skip', algorithm: { type: 'percentile' } }))).toMatch(/onMissing[\s\S]*algorithm/);
    expect(problems(() => filter({ attribute: 'GPUUtilization/dcgm-extractor', algorithm: threshold('Equal', 1) }))).toMatch(/attribute: "GPUUtilization" and producer: "dcgm-extractor"/);
    expect(filter({ attribute: 'a/b', producer: '', algorithm: threshold('Equal', 1) })).toBeInstanceOf(EndpointAttributeFilter);
  });
});

describe('endpoint-attribute-scorer', () => {
  const score = (s: EndpointAttributeScorer, pool: readonly Endpoint[]): number[] => {
    const out = new Float64Array(pool.length);
    s.score(schedulingRequest(), pool, out);
    return Array.from(out, (v) => Math.round(v * 1e9) / 1e9);
  };

  it('adaptive range: lowest scores 1, highest 0, missing 0; all equal score 1', () => {
    const s = scorer({ attributeKey: 'GPUUtilization', producer: 'dcgm-extractor', algorithm: { type: 'linear_lower_is_better' } });
    expect(score(s, gpuPool([0.2, 0.6, undefined, 1.0]))).toEqual([1, 0.5, 0, 0]);
    expect(score(s, gpuPool([0.4, 0.4, undefined]))).toEqual([1, 1, 0]);
    const h = scorer({ attributeKey: 'GPUUtilization', producer: 'dcgm-extractor', algorithm: { type: 'linear_higher_is_better', normalization: { adaptiveRange: {} } } });
    expect(score(h, gpuPool([0.2, 0.6, 1.0]))).toEqual([0, 0.5, 1]);
  });

  it('fixed range: normalized against the bounds and clamped', () => {
    const s = scorer({ attributeKey: 'GPUUtilization', producer: 'dcgm-extractor', algorithm: { type: 'linear_lower_is_better', normalization: { fixedRange: { min: 0, max: 1 } } } });
    expect(score(s, gpuPool([0.25, 0.25, 1.5, undefined]))).toEqual([0.75, 0.75, 0, 0]);
    const q = scorer({ attributeKey: 'queue_depth', algorithm: { type: 'linear_higher_is_better', normalization: { fixedRange: { min: 10, max: 20 } } } });
    expect(score(q, [endpoint(0, { custom: { queue_depth: 15 } }), endpoint(1, { custom: { queue_depth: 5 } })])).toEqual([0.5, 0]);
  });

  it('decodes as v0.10: algorithm.type required, one normalization, min < max', () => {
    expect(problems(() => scorer({ attributeKey: 'x', algorithm: {} }))).toMatch(/type/);
    expect(problems(() => scorer({ attributeKey: 'x', algorithm: { type: 'linear_lower_is_better', normalization: { fixedRange: { min: 0, max: 1 }, adaptiveRange: {} } } }))).toMatch(/at most one normalization/);
    expect(problems(() => scorer({ attributeKey: 'x', algorithm: { type: 'linear_lower_is_better', normalization: { fixedRange: { min: 1, max: 1 } } } }))).toMatch(/min < max/);
    expect(problems(() => scorer({ attributeKey: 'a/b', algorithm: { type: 'linear_lower_is_better' } }))).toMatch(/no producer is set/);
  });
});
