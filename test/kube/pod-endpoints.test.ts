import { describe, expect, it } from 'vitest';
import { selectorFromLabels } from '../../src/kube/label-selector.js';
import { decodeModelRewrite, poolRewriteRules, resolveModelRewrite, rewriteModelNames } from '../../src/kube/model-rewrites.js';
import { decodeObjective, objectivePriorities } from '../../src/kube/objectives.js';
import { activePorts, decodePod, podEndpoints } from '../../src/kube/pod-endpoints.js';
import { decodePool, POOL_GROUP_V1, POOL_GROUP_V1ALPHA2 } from '../../src/kube/pool-spec.js';
import { leaderHealthStatus } from '../../src/health/leader-health.js';
import { podObject } from '../helpers/fake-kube-apiserver.js';

const pool = { selector: selectorFromLabels({ app: 'vllm' }), targetPorts: [8000, 8001], appProtocol: 'http' };

describe('pods to endpoints', () => {
  it('names one endpoint per target port <pod>-rank-<i>, copying labels; a single port is still rank-0', () => {
    const pod = decodePod(podObject('p', 'ns', { app: 'vllm', 'llm-d.ai/role': 'decode' }, '10.0.0.1'));
    expect(podEndpoints(pod, pool)).toEqual([
      { name: 'p-rank-0', address: '10.0.0.1', port: 8000, labels: { app: 'vllm', 'llm-d.ai/role': 'decode' } },
      { name: 'p-rank-1', address: '10.0.0.1', port: 8001, labels: { app: 'vllm', 'llm-d.ai/role': 'decode' } },
    ]);
    expect(podEndpoints(pod, { ...pool, targetPorts: [9000] }).map((e) => e.name)).toEqual(['p-rank-0']);
  });

  it('leaves out pods that are not Ready, have no IP, are terminating or do not match', () => {
    const cases = [
      podObject('a', 'ns', { app: 'vllm' }, '10.0.0.1', { ready: false }),
      podObject('b', 'ns', { app: 'vllm' }, undefined),
      podObject('c', 'ns', { app: 'vllm' }, '10.0.0.3', { deleting: true }),
      podObject('d', 'ns', { app: 'other' }, '10.0.0.4'),
    ];
    for (const raw of cases) expect(podEndpoints(decodePod(raw), pool)).toEqual([]);
  });

  it('honours llm-d.ai/active-ports (absent = all, empty = none, unknown ports ignored, rank index kept) and the legacy key', () => {
    const withAnnotation = (v: string, key = 'llm-d.ai/active-ports') => decodePod(podObject('p', 'ns', { app: 'vllm' }, '10.0.0.1', { annotations: { [key]: v } }));
    expect([...activePorts(withAnnotation(' 8001 , 9999'), pool.targetPorts)]).toEqual([8001]);
    expect(podEndpoints(withAnnotation('8001'), pool).map((e) => e.name)).toEqual(['p-rank-1']);
    expect(podEndpoints(withAnnotation(''), pool)).toEqual([]);
    expect(podEndpoints(withAnnotation('8000', 'inference.networking.k8s.io/active-ports'), pool).map((e) => e.name)).toEqual(['p-rank-0']);
  });
});

describe('InferencePool decoding', () => {
  it('reads v1 matchLabels/targetPorts and v1alpha2 selector/targetPortNumber into one shape', () => {
    expect(decodePool(POOL_GROUP_V1, { spec: { selector: { matchLabels: { app: 'x' } }, targetPorts: [{ number: 8000 }, { number: 8002 }] } })).toEqual({ selector: [{ key: 'app', operator: '=', values: ['x'] }], targetPorts: [8000, 8002], appProtocol: 'http' });
    expect(decodePool(POOL_GROUP_V1ALPHA2, { spec: { selector: { app: 'x' }, targetPortNumber: 8000 } })).toEqual({ selector: [{ key: 'app', operator: '=', values: ['x'] }], targetPorts: [8000], appProtocol: 'http' });
  });

  it('rejects duplicate, missing or out-of-range ports', () => {
    expect(() => decodePool(POOL_GROUP_V1, { spec: { selector: { matchLabels: {} }, targetPorts: [{ number: 1 }, { number: 1 }] } })).toThrow();
    expect(() => decodePool(POOL_GROUP_V1, { spec: { selector: { matchLabels: {} }, targetPorts: [] } })).toThrow();
    expect(() => decodePool(POOL_GROUP_V1ALPHA2, { spec: { selector: {}, targetPortNumber: 70000 } })).toThrow();
  });
});

describe('objectives and model rewrites', () => {
  it('keeps objectives of this pool only, unset priority = 0', () => {
    const objs = [
      decodeObjective({ metadata: { name: 'chat' }, spec: { priority: 2, poolRef: { name: 'pool' } } }),
      decodeObjective({ metadata: { name: 'plain' }, spec: { poolRef: { name: 'pool', group: POOL_GROUP_V1 } } }),
      decodeObjective({ metadata: { name: 'other' }, spec: { priority: 5, poolRef: { name: 'elsewhere' } } }),
    ];
    expect(objectivePriorities(objs, 'pool', POOL_GROUP_V1)).toEqual(new Map([['chat', 2], ['plain', 0]]));
  });

  it('prefers exact rules over generic ones, oldest resource first, and picks targets by weight', () => {
    const rw = (name: string, created: string, rules: unknown[]) => decodeModelRewrite({ metadata: { name, creationTimestamp: created }, spec: { poolRef: { name: 'pool' }, rules } });
    const rules = poolRewriteRules(
      [
        rw('newer', '2026-02-01T00:00:00Z', [{ matches: [{ model: { type: 'Exact', value: 'm' } }], targets: [{ modelRewrite: 'newer-target' }] }]),
        rw('generic', '2025-01-01T00:00:00Z', [{ targets: [{ modelRewrite: 'fallback' }] }]),
        rw('older', '2026-01-01T00:00:00Z', [{ matches: [{ model: { value: 'm' } }], targets: [{ modelRewrite: 'a', weight: 1 }, { modelRewrite: 'b', weight: 3 }] }]),
      ],
      'pool',
      POOL_GROUP_V1,
    );
    expect(resolveModelRewrite(rules, 'm', () => 0.1)).toBe('a');
    expect(resolveModelRewrite(rules, 'm', () => 0.5)).toBe('b');
    expect(resolveModelRewrite(rules, 'unknown', () => 0.5)).toBe('fallback');
    expect(resolveModelRewrite([], 'm', () => 0.5)).toBeUndefined();
    // The names metrics pin: exact-match models and targets, once each, in precedence order.
    expect(rewriteModelNames(rules)).toEqual(['fallback', 'm', 'a', 'b', 'newer-target']);
  });
});

describe('leader-election health', () => {
  it('keeps liveness SERVING, gates readiness/""/ext_proc on live and leader, and answers SERVICE_UNKNOWN otherwise', () => {
    expect(leaderHealthStatus('liveness', false, false)).toBe('SERVING');
    for (const s of ['', 'readiness', 'envoy.service.ext_proc.v3.ExternalProcessor']) {
      expect(leaderHealthStatus(s, true, true)).toBe('SERVING');
      expect(leaderHealthStatus(s, true, false)).toBe('NOT_SERVING');
      expect(leaderHealthStatus(s, false, true)).toBe('NOT_SERVING');
    }
    expect(leaderHealthStatus('inference-extension', true, true)).toBe('SERVICE_UNKNOWN');
  });
});
