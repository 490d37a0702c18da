import { describe, expect, it } from 'vitest';
import { BASELINE_CONFIGS, resolveSimulationConfig } from '../../../src/simulate/baselines.js';
import { quantile, runSimulation } from '../../../src/simulate/simulator.js';
import { generateAgentic } from '../../../src/simulate/workload/agentic.js';
import { generateSharedPrefix } from '../../../src/simulate/workload/shared-prefix.js';

const WORKLOAD = generateSharedPrefix({ numGroups: 6, promptsPerGroup: 10, systemPromptLen: 1024, questionLen: 64, outputLen: 16, qps: 20, seed: 3 });
const BASE = { workload: WORKLOAD, replicas: 4, profile: 'llama-8b-h100', seed: 7 } as const;

describe('runSimulation', () => {
  it('is deterministic: the same inputs give the same result', () => {
    for (const config of ['random', 'llm-d-default']) {
      const a = runSimulation({ ...BASE, config });
      const b = runSimulation({ ...BASE, config });
      expect(b).toEqual(a);
    }
  });

  it('serves every request and reports sane metrics', () => {
    const r = runSimulation({ ...BASE, config: 'round-robin' });
    expect(r).toMatchObject({ config: 'round-robin', requests: WORKLOAD.length, completed: WORKLOAD.length, rejected: 0, failed: 0 });
    expect(r.ttftP50Ms).toBeGreaterThan(0);
    expect(r.ttftP50Ms).toBeLessThanOrEqual(r.ttftP90Ms);
    expect(r.ttftP90Ms).toBeLessThanOrEqual(r.ttftP99Ms);
    expect(r.itlP50Ms).toBeGreaterThan(0);
    expect(r.outputTokensPerSec).toBeGreaterThan(0);
  });

  it('llm-d-default beats random on hit rate on a shared-prefix workload', () => {
    const random = runSimulation({ ...BASE, config: 'random' });
    const llmd = runSimulation({ ...BASE, config: 'llm-d-default' });
    expect(llmd.hitRate).toBeGreaterThan(random.hitRate);
  });

  it('the oracle hit rate bounds every configuration', () => {
    for (const config of BASELINE_CONFIGS.keys()) {
      const r = runSimulation({ ...BASE, config });
      expect(r.oracleHitRate).toBeGreaterThan(0);
      expect(r.hitRate).toBeLessThanOrEqual(r.oracleHitRate + 1e-12);
    }
  });

  it('sees metrics only through scrapes: with no scrape after the first, least-queue degrades to round-robin', () => {
    // Uneven output lengths make real queues differ between replicas.
    const uneven = generateSharedPrefix({ numGroups: 1, promptsPerGroup: 60, systemPromptLen: 0, questionLen: 256, outputLen: 1, qps: 40, seed: 2 }).map((w, i) => ({
      ...w,
      outputTokens: 1 + ((i * 37) % 11) * 40,
    }));
    const opts = { workload: uneven, replicas: 4, profile: 'llama-8b-h100', seed: 1 } as const;
    const blind = runSimulation({ ...opts, config: 'least-queue', scrapeIntervalMs: 3_600_000, stalenessMs: 7_200_000 });
    const fresh = runSimulation({ ...opts, config: 'least-queue' });
    const roundRobin = runSimulation({ ...opts, config: 'round-robin' });
    expect({ ...blind, config: '' }).toEqual({ ...roundRobin, config: '' });
    expect({ ...fresh, config: '' }).not.toEqual({ ...roundRobin, config: '' });
  });

  it('reports where requests went: per-replica counts add up to the whole', () => {
    const r = runSimulation({ ...BASE, config: 'prefill-cost' });
    expect(r.perReplica).toHaveLength(4);
    expect(r.perReplica.reduce((s, p) => s + p.requests, 0)).toBe(r.completed);
    expect(r.perReplica.reduce((s, p) => s + p.cachedTokens, 0) / r.perReplica.reduce((s, p) => s + p.promptTokens, 0)).toBeCloseTo(r.hitRate, 12);
  });

  it('on a small agentic workload the prefix-aware configs beat random on hit rate and TTFT p90', () => {
    const workload = generateAgentic({ tenants: 6, sessions: 60, sessionRate: 2, seed: 5 });
    const opts = { workload, replicas: 4, profile: 'llama-8b-h100', seed: 1 } as const;
    const random = runSimulation({ ...opts, config: 'random' });
    for (const config of ['llm-d-default', 'sglang-cache-aware', 'prefill-cost']) {
      const r = runSimulation({ ...opts, config });
      expect(r.hitRate, config).toBeGreaterThan(random.hitRate);
      expect(r.ttftP90Ms, config).toBeLessThan(random.ttftP90Ms);
      expect(r.hitRate, config).toBeGreaterThan(0.85 * r.oracleHitRate);
    }
  });

  it('P/D: disaggregated requests run a prefill leg on a prefill replica, then decode elsewhere', () => {
    const config = {
      text: `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: prefill-filter
- type: decode-filter
- type: prefill-cost-scorer
- type: always-disagg-pd-decider
- type: disagg-profile-handler
  parameters: {deciders: {prefill: always-disagg-pd-decider}}
schedulingProfiles:
- name: prefill
  plugins: [{pluginRef: prefill-filter}, {pluginRef: prefill-cost-scorer}]
- name: decode
  plugins: [{pluginRef: decode-filter}, {pluginRef: prefill-cost-scorer}]
`,
    };
    const opts = { ...BASE, replicas: 3, prefillReplicas: 1, config } as const;
    const r = runSimulation(opts);
    expect(r).toMatchObject({ requests: WORKLOAD.length, completed: WORKLOAD.length, failed: 0, rejected: 0 });
    // Every request's prefill leg ran on replica-0; the decode legs on the others.
    expect(r.perReplica[0]?.requests).toBe(WORKLOAD.length);
    expect((r.perReplica[1]?.requests ?? 0) + (r.perReplica[2]?.requests ?? 0)).toBe(WORKLOAD.length);
    expect(r.hitRate).toBeGreaterThan(0);
    expect(r.ttftP50Ms).toBeGreaterThan(0);
    expect(runSimulation(opts)).toEqual(r);
    expect(() => runSimulation({ ...opts, prefillReplicas: 3 })).toThrow(RangeError);
  });

  it('DP groups: coupled ranks wait for the slowest, so a group serves slower than independent replicas', () => {
    const independent = runSimulation({ ...BASE, config: 'random' });
    const coupled = runSimulation({ ...BASE, config: 'random', dpGroupSize: 2 });
    expect(coupled.completed).toBe(WORKLOAD.length);
    expect(coupled.perReplica.map((p) => p.name)).toEqual(['dp-0-rank-0', 'dp-0-rank-1', 'dp-1-rank-0', 'dp-1-rank-1']);
    expect(coupled.ttftP90Ms).toBeGreaterThan(independent.ttftP90Ms);
    expect(coupled.itlP50Ms).toBeGreaterThanOrEqual(independent.itlP50Ms);
    expect(() => runSimulation({ ...BASE, config: 'random', dpGroupSize: 3 })).toThrow(RangeError);
  });

  it('accepts a lazy iterable workload', () => {
    function* lazy(): Generator<(typeof WORKLOAD)[number]> {
      yield* WORKLOAD.slice(0, 12);
    }
    expect(runSimulation({ ...BASE, workload: lazy(), config: 'random' }).completed).toBe(12);
  });

  it('rejects bad options and unknown profiles', () => {
    expect(() => runSimulation({ ...BASE, replicas: 0, config: 'random' })).toThrow(RangeError);
    expect(() => runSimulation({ ...BASE, profile: 'nope', config: 'random' })).toThrow(/unknown engine profile/);
  });
});

describe('resolveSimulationConfig', () => {
  it('maps baselines by name and other strings to files', () => {
    expect(resolveSimulationConfig('llm-d-default')).toEqual({ label: 'llm-d-default', source: 'default' });
    expect(resolveSimulationConfig('default').source).toBe('default');
    expect(resolveSimulationConfig('random').source).toMatchObject({ text: expect.stringContaining('random-picker') as unknown });
    expect(resolveSimulationConfig('/tmp/x.yaml')).toEqual({ label: '/tmp/x.yaml', source: { file: '/tmp/x.yaml' } });
  });
});

describe('quantile', () => {
  it('uses the nearest rank', () => {
    expect(quantile(Float64Array.from([3, 1, 2, 4]), 0.5)).toBe(2);
    expect(quantile(Float64Array.from([3, 1, 2, 4]), 0.99)).toBe(4);
    expect(quantile(new Float64Array(0), 0.5)).toBeNaN();
  });
});
