import { describe, expect, it } from 'vitest';
import { buildScheduler } from '../../../src/config/build-scheduler.js';
import { loadConfig } from '../../../src/config/load-config.js';
import { registerBuiltins } from '../../../src/builtins.js';
import { endpoint, schedulingRequest } from '../../helpers/endpoints.js';
import { configProblems } from '../../helpers/config-problems.js';

const build = (text: string): ReturnType<typeof buildScheduler>['scheduler'] => buildScheduler(loadConfig({ text }), registerBuiltins(), { random: () => 0.5 }, undefined).scheduler;

const problems = configProblems;

describe('EndpointPickerConfig', () => {
  it('builds the built-in default and schedules to the least-queued endpoint', () => {
    const { scheduler } = buildScheduler(loadConfig('default'), registerBuiltins(), { random: Math.random }, undefined);
    const pool = [endpoint(0, { waitingQueueSize: 5 }), endpoint(1, { waitingQueueSize: 1 })];
    const result = scheduler.schedule(schedulingRequest(), pool);
    expect(result.primaryProfileName).toBe('default');
    expect(result.profileResults.get('default')?.targets).toEqual([pool[1]]);
  });

  it('accepts the deprecated apiVersion and infers a default profile with an injected picker', () => {
    const s = build('apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\nplugins:\n- type: queue-scorer\n');
    expect(s.schedule(schedulingRequest(), [endpoint(0)]).profileResults.get('default')?.targets).toHaveLength(1);
  });

  it('lists every decoding problem with its path', () => {
    const p = problems(() => loadConfig({ text: 'apiVersion: v9\nkind: Nope\nplugins:\n- {type: 3}\nextra: 1\n' }));
    expect(p).toEqual(
      expect.arrayContaining([expect.stringMatching(/^apiVersion: /), expect.stringMatching(/^kind: /), expect.stringMatching(/^plugins\[0\]\.type: /), expect.stringMatching(/extra/)]),
    );
  });

  it('reports unknown types, bad parameters, dangling refs and duplicate names together', () => {
    const p = problems(() =>
      build(`apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: no-such-plugin
- type: max-score-picker
  parameters: {maxNumOfEndpoints: 0}
- type: queue-scorer
- name: queue-scorer
  type: random-picker
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: missing
`),
    );
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^plugins\[0\]\.type: unknown plugin type "no-such-plugin"/),
        expect.stringMatching(/^plugins\[1\]\.parameters\.maxNumOfEndpoints: /),
        expect.stringMatching(/^plugins\[3\]\.name: duplicate plugin name "queue-scorer"/),
        expect.stringMatching(/^schedulingProfiles\[0\]\.plugins\[0\]\.pluginRef: no plugin named "missing"/),
      ]),
    );
  });

  it('registers every plugin type of the reference catalog that this build implements', () => {
    const types = registerBuiltins().types();
    for (const t of [
      'queue-scorer', 'running-requests-size-scorer', 'kv-cache-utilization-scorer', 'lora-affinity-scorer', 'load-aware-scorer',
      'active-request-scorer', 'inflight-load-producer', 'token-load-scorer', 'session-affinity-scorer', 'no-hit-lru-scorer',
      'context-length-aware', 'label-selector-filter', 'by-label-selector', 'by-label', 'decode-filter', 'prefill-filter',
      'encode-filter', 'utilization-detector', 'max-score-picker', 'random-picker', 'weighted-random-picker',
      'single-profile-handler', 'openai-parser', 'passthrough-parser', 'metrics-data-source', 'core-metrics-extractor',
    ]) expect(types, t).toContain(t);
  });

  it('injects the data producer a configured scorer consumes', () => {
    const built = buildScheduler(
      loadConfig({ text: 'apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\nplugins: [{type: active-request-scorer}, {type: token-load-scorer}]\n' }),
      registerBuiltins(),
      { random: Math.random },
      undefined,
    );
    expect(built.plugins.get('inflight-load-producer')?.typedName.type).toBe('inflight-load-producer');
    expect(built.scheduler.hooks.producers.map((p) => p.typedName.type)).toEqual(['inflight-load-producer']);
    expect(built.scheduler.hooks.requestEnd.map((p) => p.typedName.type)).toEqual(['inflight-load-producer']);
  });

  it('rejects two pickers in one profile and several profiles without a handler', () => {
    const p = problems(() =>
      build(`apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins: [{type: max-score-picker}, {type: random-picker}]
schedulingProfiles:
- {name: a, plugins: [{pluginRef: max-score-picker}, {pluginRef: random-picker}]}
- {name: b, plugins: []}
`),
    );
    expect(p.some((x) => x.includes('already has picker'))).toBe(true);
    expect(p.some((x) => x.includes('need a profile handler'))).toBe(true);
  });
});
