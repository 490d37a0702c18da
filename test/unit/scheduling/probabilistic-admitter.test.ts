import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildScheduler } from '../../../src/config/build-scheduler.js';
import { loadConfig } from '../../../src/config/load-config.js';
import { registerBuiltins } from '../../../src/builtins.js';
import { Datastore } from '../../../src/datastore/datastore.js';
import { Endpoint, UNKNOWN_METRICS } from '../../../src/datastore/endpoint.js';
import { Director } from '../../../src/director/director.js';
import { ResourceExhaustedError } from '../../../src/errors/errors.js';
import type { LLMRequest } from '../../../src/request/llm-request.js';
import { type ProbabilisticAdmitter, probabilisticAdmitterFactory } from '../../../src/scheduling/plugins/admission/probabilistic-admitter.js';
import { endpoint, schedulingRequest } from '../../helpers/endpoints.js';

const llm: LLMRequest = { api: 'completions', model: 'm', stream: false, cacheSalt: undefined, body: { model: 'm', prompt: 'p' }, bodyBytes: 10 };
const make = (parameters: unknown, random: () => number = () => 0.5): ProbabilisticAdmitter => probabilisticAdmitterFactory('a', parameters, { random }) as ProbabilisticAdmitter;

describe('probabilistic-admitter', () => {
  it('has the reference defaults and refuses non-positive parameters, each by name', () => {
    expect(make(undefined).config).toEqual({ queueDepthThreshold: 5, kvCacheUtilThreshold: 0.8, power: 5, k: 300 });
    for (const key of ['queueDepthThreshold', 'kvCacheUtilThreshold', 'power', 'k']) {
      expect(() => make({ [key]: 0 }), key).toThrow(new RegExp(`${key} must be > 0`));
    }
    expect(() => make({ queueDepthThreshold: 2.5 })).toThrow(/queueDepthThreshold/);
    expect(() => make({ threshold: 1 })).toThrow(/threshold/);
  });

  it('computes saturation as the mean of max(queue/qd, kv/kv) per endpoint; unknown metrics count 1', () => {
    const a = make(undefined);
    const unknown = new Endpoint('u', '10.0.0.9', 8000, {});
    unknown.metrics = UNKNOWN_METRICS;
    expect(a.saturation([endpoint(0, { waitingQueueSize: 5, kvCacheUsage: 0.2 }), endpoint(1, { waitingQueueSize: 0, kvCacheUsage: 0.4 })])).toBeCloseTo((1 + 0.5) / 2, 12);
    expect(a.saturation([endpoint(0), unknown])).toBeCloseTo(0.5, 12);
  });

  it('follows min(sat^power·k, 1): ~2.3% at 0.15, ~9.6% at 0.2, ~73% at 0.3, all from ~0.32', () => {
    const a = make(undefined);
    expect(a.sheddingProbability(0.15)).toBeCloseTo(0.0228, 4);
    expect(a.sheddingProbability(0.2)).toBeCloseTo(0.096, 4);
    expect(a.sheddingProbability(0.3)).toBeCloseTo(0.729, 4);
    expect(a.sheddingProbability((1 / 300) ** (1 / 5))).toBeCloseTo(1, 9);
    expect(a.sheddingProbability(0.5)).toBe(1);
    expect(a.sheddingProbability(0)).toBe(0);
  });

  it('refuses a sheddable request when the draw falls below the probability, admits it otherwise', () => {
    // saturation 0.2 (queue 1 of 5) → p ≈ 0.096
    const pool = [endpoint(0, { waitingQueueSize: 1 })];
    expect(make(undefined, () => 0.09).admit(schedulingRequest(), -1, pool)).toMatch(/^probabilistic-admitter: rejected, saturation=0\.200 prob=0\.10$/);
    expect(make(undefined, () => 0.1).admit(schedulingRequest(), -1, pool)).toBeUndefined();
  });

  it('always admits priority ≥ 0 and requests without candidates, without drawing', () => {
    let draws = 0;
    const a = make(undefined, () => {
      draws++;
      return 0;
    });
    const saturated = [endpoint(0, { waitingQueueSize: 50, kvCacheUsage: 1 })];
    expect(a.admit(schedulingRequest(), 0, saturated)).toBeUndefined();
    expect(a.admit(schedulingRequest(), 3, saturated)).toBeUndefined();
    expect(a.admit(schedulingRequest(), -1, [])).toBeUndefined();
    expect(draws).toBe(0);
    expect(a.admit(schedulingRequest(), -1, saturated)).toBeDefined();
    expect(draws).toBe(1);
  });

  it('sheds about the expected share of sheddable traffic over many requests (seeded draws)', () => {
    let seed = 12345;
    const lcg = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const a = make(undefined, lcg);
    const pool = [endpoint(0, { kvCacheUsage: 0.24 }), endpoint(1, { kvCacheUsage: 0.24 })]; // saturation 0.3 → p = 0.729
    let refused = 0;
    for (let i = 0; i < 10_000; i++) if (a.admit(schedulingRequest(), -1, pool) !== undefined) refused++;
    expect(refused / 10_000).toBeGreaterThan(0.71);
    expect(refused / 10_000).toBeLessThan(0.75);
  });

  it('through the reference deploy config: the director answers 429 for a shed sheddable request and routes critical ones', () => {
    const text = readFileSync(new URL('../../fixtures/upstream-v0.10/deploy-config/probabilistic-admitter-epp-config.yaml', import.meta.url), 'utf8');
    const { scheduler } = buildScheduler(loadConfig({ text }), registerBuiltins(), { random: () => 0 }, undefined);
    const datastore = new Datastore();
    datastore.setEndpoints([{ name: 'a', address: '10.0.0.1', port: 8000, labels: {} }]);
    const [only] = datastore.snapshot.endpoints;
    if (only === undefined) throw new Error('pool');
    only.metrics = { ...UNKNOWN_METRICS, known: true, updatedAtMs: Date.now(), waitingQueueSize: 4, kvCacheUsage: 0.1 };
    datastore.setObjectives(new Map([['batch', -1], ['chat', 1]]));
    const director = new Director(datastore, scheduler, { disableSubsetFilter: false, random: () => 0 });
    const input = (objective: string) => ({ requestId: 'r', headers: new Map([['x-llm-d-inference-objective', objective]]), llm, bodyless: false, subsetHint: undefined });
    expect(() => director.route(input('batch'))).toThrow(ResourceExhaustedError);
    expect(() => director.route(input('batch'))).toThrow(/request cannot be admitted: probabilistic-admitter: rejected, saturation=0\.800 prob=1\.00/);
    expect(only.inFlight).toBe(0);
    const d = director.route(input('chat'));
    expect(d.destination).toBe('10.0.0.1:8000');
    director.release(d);
  });
});
