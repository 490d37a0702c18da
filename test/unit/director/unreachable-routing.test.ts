/**
 * Unreachable means unroutable: endpoints whose scrapes fail are dropped from every profile's
 * candidates while a reachable one remains, whatever their prefix affinity; with none reachable,
 * routing falls back to all of them; under P/D a prefill stage with no reachable prefill pod goes
 * decode-only.
 */
import { describe, expect, it } from 'vitest';
import { registerBuiltins } from '../../../src/builtins.js';
import { buildScheduler } from '../../../src/config/build-scheduler.js';
import { loadConfig, type ConfigSource } from '../../../src/config/load-config.js';
import { Datastore } from '../../../src/datastore/datastore.js';
import { UNKNOWN_METRICS, type Endpoint, type EndpointMetrics } from '../../../src/datastore/endpoint.js';
import { Director, type RoutingDecision } from '../../../src/director/director.js';
import { EppMetrics } from '../../../src/observability/metrics.js';
import type { LLMRequest } from '../../../src/request/llm-request.js';
import { attachDisaggMetrics } from '../../../src/scheduling/plugins/profile-handlers/disagg-profile-handler.js';
import { reachableCandidates } from '../../../src/scheduling/reachable-candidates.js';
import { endpoint } from '../../helpers/endpoints.js';

const LONG = (topic: string): string => `A conversation about ${topic}. `.repeat(40);

function completion(prompt: string): LLMRequest {
  return { api: 'completions', model: 'm', stream: false, cacheSalt: undefined, body: { model: 'm', prompt }, bodyBytes: prompt.length };
}

function known(metrics: Partial<EndpointMetrics>): EndpointMetrics {
  return { ...UNKNOWN_METRICS, known: true, updatedAtMs: Date.now(), ...metrics };
}

function setup(config: ConfigSource, pods: { name: string; labels?: Record<string, string>; address?: string; port?: number }[]) {
  const metrics = new EppMetrics();
  const built = buildScheduler(loadConfig(config), registerBuiltins(), { random: () => 0.5 }, metrics);
  attachDisaggMetrics(built.plugins.values(), metrics);
  const datastore = new Datastore();
  datastore.setEndpoints(pods.map((p, i) => ({ name: p.name, address: p.address ?? `10.0.0.${i + 1}`, port: p.port ?? 8000, labels: p.labels ?? {} })));
  const director = new Director(datastore, built.scheduler, { disableSubsetFilter: false, random: () => 0.5 });
  const pod = (name: string): Endpoint => datastore.snapshot.endpoints.find((e) => e.name === name) as Endpoint;
  const route = (prompt: string): RoutingDecision => {
    const d = director.route({ requestId: 'r', headers: new Map(), llm: completion(prompt), bodyless: false, subsetHint: undefined });
    director.release(d);
    return d;
  };
  return { director, datastore, pod, route, metrics };
}

describe('reachableCandidates', () => {
  it('returns the very input when every candidate, or none, is reachable; else the reachable ones in order', () => {
    const pool = [endpoint(0), endpoint(1), endpoint(2)];
    expect(reachableCandidates(pool)).toBe(pool);
    (pool[1] as Endpoint).reachable = false;
    expect(reachableCandidates(pool)).toEqual([pool[0], pool[2]]);
    for (const e of pool) e.reachable = false;
    expect(reachableCandidates(pool)).toBe(pool);
    expect(reachableCandidates([])).toEqual([]);
  });
});

describe('routing around unreachable endpoints (default config: prefix 3, queue 2, KV 2)', () => {
  it('never picks an unreachable endpoint while a reachable one exists, whatever its prefix affinity', () => {
    const { pod, route } = setup('default', [{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
    for (const e of ['a', 'b', 'c']) pod(e).metrics = known({ waitingQueueSize: 0, kvCacheUsage: 0.1 });
    const prompt = LONG('caching');
    const home = route(prompt).targets[0] as Endpoint;
    expect(route(prompt).targets[0]).toBe(home); // affinity established
    // The others get busy, and the home pod's scrapes fail: with its last values (a 500 within the
    // staleness threshold) or with unknown ones (refused), affinity alone would keep it first.
    for (const e of ['a', 'b', 'c']) if (e !== home.name) pod(e).metrics = known({ waitingQueueSize: 8, kvCacheUsage: 0.95 });
    home.reachable = false;
    for (const m of [home.metrics, UNKNOWN_METRICS]) {
      home.metrics = m;
      for (let i = 0; i < 10; i++) {
        const d = route(prompt);
        expect(d.targets[0]).not.toBe(home);
        expect(d.targets.every((t) => t.reachable)).toBe(true);
      }
    }
    // Its first good scrape: back in routing, and ahead again (the others have learned the prefix too).
    home.reachable = true;
    home.metrics = known({ waitingQueueSize: 0, kvCacheUsage: 0.1 });
    expect(route(prompt).targets[0]).toBe(home);
  });

  it('falls back to every candidate when none is reachable (a metrics outage is not a traffic outage)', () => {
    const { pod, route, director } = setup('default', [{ name: 'a' }, { name: 'b' }]);
    const prompt = LONG('outages');
    const home = route(prompt).targets[0] as Endpoint;
    for (const e of ['a', 'b']) {
      pod(e).reachable = false;
      pod(e).metrics = UNKNOWN_METRICS;
    }
    expect(route(prompt).targets[0]).toBe(home);
    expect(route(LONG('something else')).targets).toHaveLength(1);
    const bodyless = director.route({ requestId: 'r', headers: new Map(), llm: undefined, bodyless: true, subsetHint: undefined });
    expect(bodyless.targets).toHaveLength(1);
  });

  it('applies within the subset hint, and to body-less requests', () => {
    const { pod, director } = setup('default', [{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
    pod('b').reachable = false;
    const route = (bodyless: boolean, hint: string[] | undefined): string =>
      director.route({ requestId: 'r', headers: new Map(), llm: bodyless ? undefined : completion('hi'), bodyless, subsetHint: hint }).destination;
    // random() = 0.5 would pick the middle of three; b is out, so c (the second of the two left).
    expect(route(true, undefined)).toBe('10.0.0.3:8000');
    for (let i = 0; i < 4; i++) {
      expect(route(false, ['10.0.0.1:8000', '10.0.0.2:8000'])).toBe('10.0.0.1:8000'); // ties would rotate
      expect(route(true, ['10.0.0.1:8000', '10.0.0.2:8000'])).toBe('10.0.0.1:8000');
    }
    // The hint names only the unreachable pod: it is all there is, so it is used.
    expect(route(false, ['10.0.0.2:8000'])).toBe('10.0.0.2:8000');
  });
});

describe('routing around unreachable endpoints under P/D', () => {
  const config = (decider: string): ConfigSource => ({
    text: `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: prefill-filter
- type: decode-filter
- type: prefix-cache-scorer
- type: queue-scorer
- type: ${decider}
- type: disagg-profile-handler
  parameters:
    deciders: {prefill: ${decider}}
schedulingProfiles:
- name: prefill
  plugins: [{pluginRef: prefill-filter}, {pluginRef: prefix-cache-scorer, weight: 2}, {pluginRef: queue-scorer}]
- name: decode
  plugins: [{pluginRef: decode-filter}, {pluginRef: prefix-cache-scorer, weight: 2}, {pluginRef: queue-scorer}]
`,
  });
  const pods = [
    { name: 'd1', labels: { 'llm-d.ai/role': 'decode' } },
    { name: 'd2', labels: { 'llm-d.ai/role': 'decode' } },
    { name: 'p1', labels: { 'llm-d.ai/role': 'prefill' } },
    { name: 'p2', labels: { 'llm-d.ai/role': 'prefill' } },
  ];
  const prefiller = (d: RoutingDecision): string | undefined => d.setHeaders.get('x-prefiller-host-port');

  it('never picks an unreachable prefill pod while another prefill pod is reachable, whatever its affinity', () => {
    const { pod, route } = setup(config('always-disagg-pd-decider'), pods);
    for (const p of pods) pod(p.name).metrics = known({ waitingQueueSize: 0, kvCacheUsage: 0.1 });
    const prompt = LONG('prefill');
    const first = prefiller(route(prompt));
    const home = pod(first === '10.0.0.3:8000' ? 'p1' : 'p2');
    const other = pod(home.name === 'p1' ? 'p2' : 'p1');
    expect(prefiller(route(prompt))).toBe(home.hostPort);
    other.metrics = known({ waitingQueueSize: 9, kvCacheUsage: 0.9 });
    home.reachable = false;
    for (let i = 0; i < 5; i++) expect(prefiller(route(prompt))).toBe(other.hostPort);
  });

  it.each(['always-disagg-pd-decider', 'prefix-based-pd-decider'])('goes decode-only when no prefill pod is reachable (%s)', async (decider) => {
    const { pod, route, metrics } = setup(decider === 'prefix-based-pd-decider' ? { text: (config(decider) as { text: string }).text.replace(`- type: ${decider}\n`, `- type: ${decider}\n  parameters: {nonCachedTokens: 16}\n`) } : config(decider), pods);
    // The prefill pods' last values still look idle (a 500 or a reset within the staleness threshold).
    for (const p of pods) pod(p.name).metrics = known({ waitingQueueSize: 0, kvCacheUsage: 0.1 });
    pod('p1').reachable = false;
    pod('p2').reachable = false;
    for (let i = 0; i < 4; i++) {
      const d = route(LONG(`topic ${i}`));
      expect(['d1', 'd2']).toContain(d.targets[0]?.name);
      expect(prefiller(d)).toBeUndefined();
    }
    const text = await metrics.registry.metrics();
    expect(text).not.toContain('decision_type="prefill-decode"');
    expect(text).toMatch(/llm_d_inference_scheduler_disagg_decision_total\{model_name="m",decision_type="decode-only"\} 4/);
  });

  it('still routes when no decode pod is reachable although prefill pods are (falls back within the decode profile)', () => {
    const { pod, route } = setup(config('always-disagg-pd-decider'), pods);
    for (const p of pods) pod(p.name).metrics = known({ waitingQueueSize: 0, kvCacheUsage: 0.1 });
    pod('d1').reachable = false;
    pod('d2').reachable = false;
    pod('p1').reachable = false;
    const d = route(LONG('decode outage'));
    expect(['d1', 'd2']).toContain(d.targets[0]?.name);
    expect(prefiller(d)).toBe(pod('p2').hostPort);
  });
});

describe('routing around unreachable endpoints with data-parallel groups', () => {
  const config: ConfigSource = {
    text: `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: dp-group-leader-filter
- type: dp-group-balance-scorer
- type: queue-scorer
- type: prefix-cache-scorer
- type: max-score-picker
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: dp-group-leader-filter
  - {pluginRef: dp-group-balance-scorer, weight: 2}
  - {pluginRef: queue-scorer, weight: 1}
  - {pluginRef: prefix-cache-scorer, weight: 3}
  - pluginRef: max-score-picker
`,
  };
  const lws = (group: string, worker: string): Record<string, string> => ({
    'leaderworkerset.sigs.k8s.io/name': 'moe',
    'leaderworkerset.sigs.k8s.io/group-index': group,
    'leaderworkerset.sigs.k8s.io/worker-index': worker,
  });
  // Two LWS groups reached through their leaders' two rank ports each, and a worker the profile never routes to.
  const pods = [
    { name: 'g0-rank-0', address: '10.0.1.1', port: 8000, labels: lws('0', '0') },
    { name: 'g0-rank-1', address: '10.0.1.1', port: 8001, labels: lws('0', '0') },
    { name: 'g1-rank-0', address: '10.0.2.1', port: 8000, labels: lws('1', '0') },
    { name: 'g1-rank-1', address: '10.0.2.1', port: 8001, labels: lws('1', '0') },
    { name: 'g0-worker', address: '10.0.1.2', port: 8000, labels: lws('0', '1') },
  ];

  it("moves a dead leader's conversations to the other group, and falls back to the leaders (never a worker) when none is reachable", () => {
    const { pod, route } = setup(config, pods);
    for (const p of pods) pod(p.name).metrics = known({ waitingQueueSize: 1, runningRequestsSize: 4, kvCacheUsage: 0.5 });
    const prompt = LONG('experts');
    const home = route(prompt).targets[0] as Endpoint;
    expect(home.name.startsWith('g0') || home.name.startsWith('g1')).toBe(true);
    const group = home.name.slice(0, 2);
    // The leader pod of that group dies: both its rank ports fail their scrapes.
    for (const p of pods) if (p.name.startsWith(`${group}-rank`)) pod(p.name).reachable = false;
    for (let i = 0; i < 6; i++) expect(route(prompt).targets[0]?.name.startsWith(group === 'g0' ? 'g1-rank' : 'g0-rank')).toBe(true);
    // Every leader unreachable, the worker reachable: the profile sees only leaders, so it falls back to them.
    for (const p of pods) if (p.name.includes('rank')) pod(p.name).reachable = false;
    for (let i = 0; i < 4; i++) expect(route(LONG(`fallback ${i}`)).targets[0]?.name).toMatch(/rank/);
  });
});
