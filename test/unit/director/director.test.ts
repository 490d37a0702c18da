import { describe, expect, it } from 'vitest';
import { Datastore } from '../../../src/datastore/datastore.js';
import { Director } from '../../../src/director/director.js';
import { ResourceExhaustedError, ServiceUnavailableError } from '../../../src/errors/errors.js';
import type { LLMRequest } from '../../../src/request/llm-request.js';
import { StateKey } from '../../../src/scheduling/cycle-state.js';
import { MaxScorePicker } from '../../../src/scheduling/plugins/pickers/max-score-picker.js';
import { SingleProfileHandler } from '../../../src/scheduling/plugins/profile-handlers/single-profile-handler.js';
import { Scheduler } from '../../../src/scheduling/scheduler.js';
import type { DataProducer, Filter, FirstResponseByteHook, PreRequestHook, RequestEndHook, Scorer, SchedulingRequest } from '../../../src/scheduling/types.js';

const SEEN = new StateKey<string>('seen');
const llm: LLMRequest = { api: 'completions', model: 'm', stream: false, cacheSalt: undefined, body: { model: 'm', prompt: 'p' }, bodyBytes: 10 };

function setup(filterAll = false, modelRewrite?: (model: string) => string | undefined): { director: Director; log: string[]; datastore: Datastore } {
  const log: string[] = [];
  const lifecycle: DataProducer & PreRequestHook & FirstResponseByteHook & RequestEndHook & Scorer = {
    typedName: { type: 'test', name: 't' },
    produce: (r: SchedulingRequest) => {
      log.push('produce');
      r.state.set(SEEN, 'produced');
    },
    score: (r: SchedulingRequest, _c, out) => {
      log.push(`score:${r.state.get(SEEN) ?? 'none'}`);
      out.fill(0.5);
    },
    preRequest: (_r, result, headers) => {
      log.push(`preRequest:${result.primaryProfileName}`);
      headers.set('x-test', 'yes');
    },
    firstResponseByte: () => log.push('first-byte'),
    requestEnded: () => log.push('ended'),
  };
  const dropAll: Filter = { typedName: { type: 'drop', name: 'drop' }, filter: () => [] };
  const scheduler = new Scheduler(
    new SingleProfileHandler('h'),
    [{ name: 'default', filters: filterAll ? [dropAll] : [], scorers: [{ scorer: lifecycle, weight: 1 }], picker: new MaxScorePicker('p', 1) }],
    undefined,
    { producers: [lifecycle], preRequest: [lifecycle], responseHeaders: [], firstResponseByte: [lifecycle], requestEnd: [lifecycle] },
  );
  const datastore = new Datastore();
  datastore.setEndpoints([{ name: 'a', address: '10.0.0.1', port: 8000, labels: {} }]);
  return { director: new Director(datastore, scheduler, { disableSubsetFilter: false, random: () => 0, ...(modelRewrite === undefined ? {} : { modelRewrite }) }), log, datastore };
}

describe('Director', () => {
  it('runs producers, the scheduler, pre-request hooks, and request-end hooks once on release', () => {
    const { director, log, datastore } = setup();
    const d = director.route({ requestId: 'r', headers: new Map(), llm, bodyless: false, subsetHint: undefined });
    expect(d.destination).toBe('10.0.0.1:8000');
    expect(d.setHeaders.get('x-test')).toBe('yes');
    expect(datastore.snapshot.endpoints[0]?.inFlight).toBe(1);
    director.firstResponseByte(d);
    director.release(d);
    expect(log).toEqual(['produce', 'score:produced', 'preRequest:default', 'first-byte', 'ended']);
    expect(datastore.snapshot.endpoints[0]?.inFlight).toBe(0);
  });

  it('429 when the profile filters everything out; 503 when no candidate matches the subset', () => {
    expect(() => setup(true).director.route({ requestId: 'r', headers: new Map(), llm, bodyless: false, subsetHint: undefined })).toThrow(ResourceExhaustedError);
    expect(() => setup().director.route({ requestId: 'r', headers: new Map(), llm, bodyless: false, subsetHint: ['10.9.9.9'] })).toThrow(ServiceUnavailableError);
  });

  it('sheds sheddable requests (priority < 0) only when saturated; priority ≥ 0 is never shed', () => {
    const { datastore } = setup();
    datastore.setObjectives(new Map([['batch', -1], ['critical', 2]]));
    const scheduler = new Scheduler(new SingleProfileHandler('h'), [{ name: 'default', filters: [], scorers: [], picker: new MaxScorePicker('p', 1) }]);
    let saturation = 1.5;
    const director = new Director(datastore, scheduler, { disableSubsetFilter: false, random: () => 0, saturationDetector: { saturation: () => saturation } });
    const input = (objective: string) => ({ requestId: 'r', headers: new Map([['x-gateway-inference-objective', objective]]), llm, bodyless: false, subsetHint: undefined });
    let shed: unknown;
    try {
      director.route(input('batch'));
    } catch (err) {
      shed = err;
    }
    expect(shed).toBeInstanceOf(ResourceExhaustedError);
    // The reference's legacy admission sends no dropped-reason header with this 429.
    expect((shed as ResourceExhaustedError).dropReason).toBeUndefined();
    expect(director.route(input('critical')).priority).toBe(2);
    expect(director.route(input('unknown-objective')).priority).toBe(0);
    saturation = 0.5;
    expect(director.route(input('batch')).priority).toBe(-1);
  });

  it('reads the x-llm-d-* headers, with the x-gateway-* names as aliases; the new name wins when both are sent', () => {
    const { datastore } = setup();
    datastore.setObjectives(new Map([['new', -2], ['old', 3]]));
    const scheduler = new Scheduler(new SingleProfileHandler('h'), [{ name: 'default', filters: [], scorers: [], picker: new MaxScorePicker('p', 1) }]);
    const director = new Director(datastore, scheduler, { disableSubsetFilter: false, random: () => 0 });
    const route = (headers: [string, string][]) => director.route({ requestId: 'r', headers: new Map(headers), llm, bodyless: false, subsetHint: undefined });
    const viaNew = route([['x-llm-d-inference-objective', 'new'], ['x-llm-d-inference-fairness-id', 'tenant-a'], ['x-llm-d-model-name-rewrite', 'n']]);
    expect([viaNew.objective, viaNew.priority, viaNew.fairnessId, viaNew.targetModel]).toEqual(['new', -2, 'tenant-a', 'n']);
    const viaOld = route([['x-gateway-inference-objective', 'old'], ['x-gateway-inference-fairness-id', 'tenant-b'], ['x-gateway-model-name-rewrite', 'o']]);
    expect([viaOld.objective, viaOld.priority, viaOld.fairnessId, viaOld.targetModel]).toEqual(['old', 3, 'tenant-b', 'o']);
    const both = route([
      ['x-gateway-inference-objective', 'old'],
      ['x-llm-d-inference-objective', 'new'],
      ['x-gateway-model-name-rewrite', 'o'],
      ['x-llm-d-model-name-rewrite', 'n'],
      ['x-gateway-inference-fairness-id', 'tenant-b'],
      ['x-llm-d-inference-fairness-id', 'tenant-a'],
    ]);
    expect([both.objective, both.priority, both.fairnessId, both.targetModel]).toEqual(['new', -2, 'tenant-a', 'n']);
    const none = route([]);
    expect([none.objective, none.priority, none.fairnessId, none.targetModel]).toEqual(['', 0, 'default-flow', 'm']);
  });

  it('503 rejected-no-endpoints when no candidate is left', () => {
    let err: unknown;
    try {
      setup().director.route({ requestId: 'r', headers: new Map(), llm, bodyless: false, subsetHint: [] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ServiceUnavailableError);
    expect((err as ServiceUnavailableError).dropReason).toBe('rejected-no-endpoints');
  });

  it('rewrites the body model from x-gateway-model-name-rewrite', () => {
    const d = setup().director.route({ requestId: 'r', headers: new Map([['x-gateway-model-name-rewrite', 't']]), llm: { ...llm, body: { model: 'm', prompt: 'p' } }, bodyless: false, subsetHint: undefined });
    expect(d.targetModel).toBe('t');
    expect(JSON.parse(d.rewrittenBody?.toString() ?? '{}')).toEqual({ model: 't', prompt: 'p' });
  });

  it('applies InferenceModelRewrite rules after the header, and leaves unmatched models alone', () => {
    const { director } = setup(false, (model) => (model === 'm' ? 'from-rule' : undefined));
    const body = { ...llm, body: { model: 'm', prompt: 'p' } };
    const viaRule = director.route({ requestId: 'r', headers: new Map(), llm: body, bodyless: false, subsetHint: undefined });
    expect(viaRule.targetModel).toBe('from-rule');
    expect(JSON.parse(viaRule.rewrittenBody?.toString() ?? '{}')).toEqual({ model: 'from-rule', prompt: 'p' });
    const viaHeader = director.route({ requestId: 'r', headers: new Map([['x-gateway-model-name-rewrite', 't']]), llm: body, bodyless: false, subsetHint: undefined });
    expect(viaHeader.targetModel).toBe('t');
    const other = director.route({ requestId: 'r', headers: new Map(), llm: { ...llm, model: 'x', body: { model: 'x', prompt: 'p' } }, bodyless: false, subsetHint: undefined });
    expect(other.targetModel).toBe('x');
    expect(other.rewrittenBody).toBeUndefined();
  });
});
