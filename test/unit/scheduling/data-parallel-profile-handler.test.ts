import { describe, expect, it } from 'vitest';
import { buildScheduler } from '../../../src/config/build-scheduler.js';
import { loadConfig } from '../../../src/config/load-config.js';
import { registerBuiltins } from '../../../src/builtins.js';
import { Datastore } from '../../../src/datastore/datastore.js';
import { Endpoint } from '../../../src/datastore/endpoint.js';
import { Director } from '../../../src/director/director.js';
import { ResourceExhaustedError } from '../../../src/errors/errors.js';
import type { LLMRequest } from '../../../src/request/llm-request.js';
import { DATA_PARALLEL_HOST_PORT_HEADER, DataParallelProfileHandler, dataParallelProfileHandlerFactory } from '../../../src/scheduling/plugins/profile-handlers/data-parallel-profile-handler.js';
import { MaxScorePicker } from '../../../src/scheduling/plugins/pickers/max-score-picker.js';
import type { ProfileResult, ProfileSpec } from '../../../src/scheduling/types.js';
import { endpoint, schedulingRequest } from '../../helpers/endpoints.js';
import { describeProfileHandler } from '../../contract/plugin-contracts.js';
import { configProblems } from '../../helpers/config-problems.js';

const CONTEXT = { random: () => 0.5 };
const llm: LLMRequest = { api: 'completions', model: 'm', stream: false, cacheSalt: undefined, body: { model: 'm', prompt: 'p' }, bodyBytes: 10 };

const config = (primaryPort: string, profiles = '- name: default\n  plugins:\n  - pluginRef: queue-scorer\n'): string =>
  `apiVersion: llm-d.ai/v1alpha1\nkind: EndpointPickerConfig\nplugins:\n- type: queue-scorer\n- type: max-score-picker\n- type: data-parallel-profile-handler\n${primaryPort}schedulingProfiles:\n${profiles}`;

const problems = configProblems;

/** A pod with two data-parallel rank ports (8001 idle, 8002 busy) behind a router on 8000. */
function rankPool(): Datastore {
  const datastore = new Datastore();
  datastore.setEndpoints([
    { name: 'pod-rank0', address: '10.0.0.9', port: 8002, labels: {} },
    { name: 'pod-rank1', address: '10.0.0.9', port: 8001, labels: {} },
  ]);
  const [busy, idle] = datastore.snapshot.endpoints;
  if (busy === undefined || idle === undefined) throw new Error('pool');
  busy.metrics = { ...busy.metrics, known: true, updatedAtMs: 1, waitingQueueSize: 9 };
  idle.metrics = { ...idle.metrics, known: true, updatedAtMs: 1, waitingQueueSize: 0 };
  return datastore;
}

describeProfileHandler('data-parallel-profile-handler', () => new DataParallelProfileHandler('h', 9000), ['default']);

describe('data-parallel-profile-handler', () => {
  it('defaults primaryPort to 8000 and validates it as 1–65535', () => {
    expect((dataParallelProfileHandlerFactory('h', undefined, CONTEXT) as DataParallelProfileHandler).primaryPort).toBe(8000);
    expect((dataParallelProfileHandlerFactory('h', { primaryPort: 9000 }, CONTEXT) as DataParallelProfileHandler).primaryPort).toBe(9000);
    for (const bad of [0, 65536, 1.5, '8000']) expect(() => dataParallelProfileHandlerFactory('h', { primaryPort: bad }, CONTEXT), String(bad)).toThrow(/primaryPort/);
    expect(() => dataParallelProfileHandlerFactory('h', { port: 1 }, CONTEXT)).toThrow(/port/);
  });

  it('sends the request to the primary port with the chosen rank in x-data-parallel-host-port, keeping accounting on the rank', () => {
    const { scheduler } = buildScheduler(loadConfig({ text: config('  parameters:\n    primaryPort: 8000\n') }), registerBuiltins(), CONTEXT, undefined);
    const datastore = rankPool();
    const director = new Director(datastore, scheduler, { disableSubsetFilter: false, random: () => 0 });
    const d = director.route({ requestId: 'r', headers: new Map(), llm, bodyless: false, subsetHint: undefined });
    expect(d.destination).toBe('10.0.0.9:8000');
    expect(d.setHeaders.get(DATA_PARALLEL_HOST_PORT_HEADER)).toBe('10.0.0.9:8001');
    const idle = datastore.snapshot.endpoints.find((e) => e.port === 8001);
    expect(d.targets).toEqual([idle]);
    expect(idle?.inFlight).toBe(1);
    director.release(d);
    expect(idle?.inFlight).toBe(0);
  });

  it('brackets IPv6 addresses in the destination and the header', () => {
    const h = new DataParallelProfileHandler('h', 7000);
    const v6 = new Endpoint('v6', 'fd00::1', 8003, {});
    const headers = new Map<string, string>();
    h.preRequest(schedulingRequest(), { primaryProfileName: 'p', profileResults: new Map([['p', { targets: [v6] }]]), destinationPort: 7000 }, headers);
    expect(headers.get(DATA_PARALLEL_HOST_PORT_HEADER)).toBe('[fd00::1]:8003');
  });

  it('runs its one profile once and fails with 429 when it found no endpoint', () => {
    const h = new DataParallelProfileHandler('h');
    const spec: ProfileSpec = { name: 'only', filters: [], scorers: [], picker: new MaxScorePicker('p', 1) };
    const profiles = new Map([['only', spec]]);
    expect(h.pickProfiles(schedulingRequest(), profiles, new Map())).toEqual([spec]);
    const ran = new Map<string, ProfileResult>([['only', null]]);
    expect(h.pickProfiles(schedulingRequest(), profiles, ran)).toEqual([]);
    expect(() => h.processResults(schedulingRequest(), ran)).toThrow(ResourceExhaustedError);
    const ok = h.processResults(schedulingRequest(), new Map([['only', { targets: [endpoint(1)] }]]));
    expect(ok).toMatchObject({ primaryProfileName: 'only', destinationPort: 8000 });
  });

  it('refuses a configuration with more than one scheduling profile', () => {
    const two = '- name: a\n  plugins:\n  - pluginRef: queue-scorer\n- name: b\n  plugins:\n  - pluginRef: queue-scorer\n';
    expect(problems(() => buildScheduler(loadConfig({ text: config('', two) }), registerBuiltins(), CONTEXT, undefined))).toContain(
      'schedulingProfiles: data-parallel-profile-handler cannot run 2 profiles',
    );
  });

  it('loads with a deprecation warning naming single-profile-handler', () => {
    const built = buildScheduler(loadConfig({ text: config('') }), registerBuiltins(), CONTEXT, undefined);
    expect(built.warnings.join('\n')).toMatch(/data-parallel-profile-handler.*single-profile-handler/);
  });
});
