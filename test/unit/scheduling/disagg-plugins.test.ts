import { describe, expect, it } from 'vitest';
import { registerBuiltins } from '../../../src/builtins.js';
import { buildScheduler } from '../../../src/config/build-scheduler.js';
import { ConfigError } from '../../../src/config/decode.js';
import { loadConfig } from '../../../src/config/load-config.js';
import type { Endpoint } from '../../../src/datastore/endpoint.js';
import { ResourceExhaustedError } from '../../../src/errors/errors.js';
import { EppMetrics, type DisaggDecisionType, type DisaggMetrics } from '../../../src/observability/metrics.js';
import type { PluginContext } from '../../../src/plugin/registry.js';
import { CycleState } from '../../../src/scheduling/cycle-state.js';
import { PREFIX_MATCH, type PrefixMatchInfo } from '../../../src/scheduling/prefix-match.js';
import type { AlwaysDisaggPdDecider} from '../../../src/scheduling/plugins/profile-handlers/always-disagg-pd-decider.js';
import { alwaysDisaggPdDeciderFactory } from '../../../src/scheduling/plugins/profile-handlers/always-disagg-pd-decider.js';
import type { DisaggHeadersHandler} from '../../../src/scheduling/plugins/profile-handlers/disagg-headers-handler.js';
import { prefillHeaderHandlerFactory } from '../../../src/scheduling/plugins/profile-handlers/disagg-headers-handler.js';
import { attachDisaggMetrics, decisionType, DisaggProfileHandler, disaggProfileHandlerFactory } from '../../../src/scheduling/plugins/profile-handlers/disagg-profile-handler.js';
import { isPdDecider, prefillPoolSaturated, type DisaggVerdict, type PdDecider } from '../../../src/scheduling/plugins/profile-handlers/pd-decider.js';
import { pdProfileHandlerFactory } from '../../../src/scheduling/plugins/profile-handlers/pd-profile-handler.js';
import { inputTokens, PrefixBasedPdDecider, prefixBasedPdDeciderFactory } from '../../../src/scheduling/plugins/profile-handlers/prefix-based-pd-decider.js';
import { MaxScorePicker } from '../../../src/scheduling/plugins/pickers/max-score-picker.js';
import { decodeFilter, prefillFilter } from '../../../src/scheduling/plugins/filters/role-filters.js';
import { Scheduler } from '../../../src/scheduling/scheduler.js';
import type { ProfileSpec, SchedulingRequest } from '../../../src/scheduling/types.js';
import type { LLMRequest } from '../../../src/request/llm-request.js';
import { endpoint, schedulingRequest } from '../../helpers/endpoints.js';

const SATURATION_ON = { enabled: true, queueDepthThreshold: 5, kvCacheUtilThreshold: 0.9 };
const SATURATION_OFF = { ...SATURATION_ON, enabled: false };

function completion(prompt: string, targetModel = 'm'): SchedulingRequest {
  const llm: LLMRequest = { api: 'completions', model: targetModel, stream: false, cacheSalt: undefined, body: { model: targetModel, prompt }, bodyBytes: prompt.length };
  return schedulingRequest({ llm, targetModel, state: new CycleState() });
}

function withMatch(request: SchedulingRequest, matched: (e: Endpoint) => number, blockSizeTokens = 16): SchedulingRequest {
  const info: PrefixMatchInfo = { totalBlocks: 100, blockSizeTokens, matchedBlocks: matched };
  request.state.set(PREFIX_MATCH, info);
  return request;
}

class FakeMetrics implements DisaggMetrics {
  readonly decisions: [string, DisaggDecisionType][] = [];
  readonly pd: [string, string][] = [];
  readonly skips: [string, string][] = [];
  disaggDecision(model: string, decision: DisaggDecisionType): void {
    this.decisions.push([model, decision]);
  }
  pdDecision(model: string, decision: string): void {
    this.pd.push([model, decision]);
  }
  disaggSkipped(model: string, reason: string): void {
    this.skips.push([model, reason]);
  }
}

const decodeE = endpoint(0, {}, { 'llm-d.ai/role': 'decode' });
const plainE = endpoint(1, {}, {});
const prefillE = endpoint(2, {}, { 'llm-d.ai/role': 'prefill' });
const prefillBusy = endpoint(3, { waitingQueueSize: 9 }, { 'llm-d.ai/role': 'prefill' });
const prefillFullKv = endpoint(4, { kvCacheUsage: 0.95 }, { 'llm-d.ai/role': 'prefill' });

describe('prefix-based-pd-decider', () => {
  const long = 'x'.repeat(400); // 100 tokens
  it('estimates input tokens as bytes / 4 for the generative APIs (completions, chat, messages, generate), none for others', () => {
    expect(inputTokens(completion('abcdefgh'))).toBe(2);
    const chat = schedulingRequest({ llm: { api: 'chat-completions', model: 'm', stream: false, cacheSalt: undefined, body: { messages: [{ role: 'user', content: 'hello' }] }, bodyBytes: 0 } });
    expect(inputTokens(chat)).toBe(Math.floor(JSON.stringify([{ role: 'user', content: 'hello' }]).length / 4));
    expect(inputTokens(schedulingRequest({ llm: { api: 'embeddings', model: 'm', stream: false, cacheSalt: undefined, body: { input: long }, bodyBytes: 0 } }))).toBeUndefined();
    const messages = schedulingRequest({ llm: { api: 'messages', model: 'm', stream: false, cacheSalt: undefined, body: { system: long, messages: [{ role: 'user', content: 'hi' }] }, bodyBytes: 0 } });
    expect(inputTokens(messages)).toBe(Math.floor(JSON.stringify([{ system: long }, { messages: [{ role: 'user', content: 'hi' }] }]).length / 4));
    const generate = schedulingRequest({ llm: { api: 'generate', model: 'm', stream: false, cacheSalt: undefined, body: { token_ids: [1, 2, 3, 4, 5, 6] }, bodyBytes: 0 } });
    expect(inputTokens(generate)).toBe(Math.floor('[1,2,3,4,5,6]'.length / 4));
  });

  it('disaggregates when the uncached suffix on the decode endpoint reaches nonCachedTokens', () => {
    const d = new PrefixBasedPdDecider('d', 16, SATURATION_OFF);
    expect(d.decide(withMatch(completion(long), () => 0), decodeE, [decodeE, prefillE])).toBe('disaggregate');
    // 100 tokens, 5 blocks of 16 cached → 20 uncached ≥ 16
    expect(d.decide(withMatch(completion(long), () => 5), decodeE, [decodeE, prefillE])).toBe('disaggregate');
    // 6 blocks cached → 4 uncached < 16
    expect(d.decide(withMatch(completion(long), () => 6), decodeE, [decodeE, prefillE])).toBe('decode-only');
  });

  it('keeps short prompts, nonCachedTokens 0 and requests without prefix data decode-only', () => {
    expect(new PrefixBasedPdDecider('d', 16, SATURATION_OFF).decide(withMatch(completion('short'), () => 0), decodeE, [])).toBe('decode-only');
    expect(new PrefixBasedPdDecider('d', 0, SATURATION_OFF).decide(withMatch(completion(long), () => 0), decodeE, [])).toBe('decode-only');
    expect(new PrefixBasedPdDecider('d', 16, SATURATION_OFF).decide(completion(long), decodeE, [])).toBe('decode-only');
    expect(new PrefixBasedPdDecider('d', 16, SATURATION_OFF).decide(schedulingRequest(), decodeE, [])).toBe('decode-only');
  });

  it('skips disaggregation when every prefill endpoint is saturated (queue, KV or unknown metrics)', () => {
    const d = new PrefixBasedPdDecider('d', 16, SATURATION_ON);
    const req = (): SchedulingRequest => withMatch(completion(long), () => 0);
    expect(d.decide(req(), decodeE, [decodeE, prefillBusy, prefillFullKv])).toBe('prefill-saturated');
    expect(d.decide(req(), decodeE, [decodeE, prefillBusy, prefillE])).toBe('disaggregate');
    const unknown = endpoint(5, { known: false }, { 'llm-d.ai/role': 'prefill' });
    expect(d.decide(req(), decodeE, [decodeE, unknown])).toBe('prefill-saturated');
    // No prefill endpoint at all is not saturation (the prefill profile then finds nothing).
    expect(d.decide(req(), decodeE, [decodeE, plainE])).toBe('disaggregate');
    expect(new PrefixBasedPdDecider('d', 16, SATURATION_OFF).decide(req(), decodeE, [decodeE, prefillBusy])).toBe('disaggregate');
  });

  it('decodes its parameters strictly, with the guard on by default', () => {
    const ctx: PluginContext = { random: () => 0.5 };
    const d = prefixBasedPdDeciderFactory('d', { nonCachedTokens: 8 }, ctx) as PrefixBasedPdDecider;
    expect(d.nonCachedTokens).toBe(8);
    expect(d.saturation).toEqual({ enabled: true, queueDepthThreshold: 5, kvCacheUtilThreshold: 0.9 });
    expect(() => prefixBasedPdDeciderFactory('d', { nonCachedTokens: -1 }, ctx)).toThrow(ConfigError);
    expect(() => prefixBasedPdDeciderFactory('d', { threshold: 3 }, ctx)).toThrow(ConfigError);
    expect(isPdDecider(d)).toBe(true);
  });
});

describe('always-disagg-pd-decider', () => {
  it('always disaggregates; its saturation guard is opt-in', () => {
    const ctx: PluginContext = { random: () => 0.5 };
    const d = alwaysDisaggPdDeciderFactory('a', undefined, ctx) as AlwaysDisaggPdDecider;
    expect(d.decide(schedulingRequest(), decodeE, [prefillBusy])).toBe('disaggregate');
    const guarded = alwaysDisaggPdDeciderFactory('g', { skipWhenPrefillSaturated: true }, ctx) as AlwaysDisaggPdDecider;
    expect(guarded.decide(schedulingRequest(), decodeE, [prefillBusy])).toBe('prefill-saturated');
    expect(prefillPoolSaturated(SATURATION_ON, schedulingRequest(), [prefillE, prefillBusy])).toBe(false);
  });
});

function profile(name: string, filter = name === 'prefill' ? prefillFilter() : decodeFilter()): ProfileSpec {
  return { name, filters: [filter], scorers: [], picker: new MaxScorePicker(`${name}-picker`, 1) };
}

class FixedDecider implements PdDecider {
  readonly typedName = { type: 'fixed', name: 'fixed' };
  calls = 0;
  /** The decode endpoint of every call. */
  readonly seen: (Endpoint | undefined)[] = [];
  constructor(private readonly verdict: DisaggVerdict) {}
  decide(_request: SchedulingRequest, decode: Endpoint | undefined): DisaggVerdict {
    this.calls++;
    this.seen.push(decode);
    return this.verdict;
  }
}

function handler(verdict: DisaggVerdict | undefined, legacyPd = false, encodeVerdict?: DisaggVerdict): { h: DisaggProfileHandler; metrics: FakeMetrics; decider: FixedDecider | undefined } {
  const decider = verdict === undefined ? undefined : new FixedDecider(verdict);
  const h = new DisaggProfileHandler('h', {
    decodeProfile: 'decode',
    prefillProfile: 'prefill',
    encodeProfile: 'encode',
    prefillDecider: decider,
    encodeDecider: encodeVerdict === undefined ? undefined : new FixedDecider(encodeVerdict),
    legacyPd,
  });
  const metrics = new FakeMetrics();
  h.attachDisaggMetrics(metrics);
  return { h, metrics, decider };
}

function run(h: DisaggProfileHandler, pool: readonly Endpoint[], profiles = [profile('decode'), profile('prefill')], request = completion('p')) {
  const scheduler = new Scheduler(h, profiles, undefined, { producers: [h], preRequest: [h], responseHeaders: [], firstResponseByte: [], requestEnd: [] });
  h.produce(request, pool);
  const result = scheduler.schedule(request, pool);
  const headers = new Map<string, string>();
  h.preRequest(request, result, headers);
  return { result, headers };
}

describe('disagg-profile-handler', () => {
  const pool = [decodeE, prefillE];

  it('runs decode then prefill when the decider approves; decode is primary; the prefill target is announced', () => {
    const { h, metrics } = handler('disaggregate');
    const { result, headers } = run(h, pool);
    expect(result.primaryProfileName).toBe('decode');
    expect(result.profileResults.get('decode')?.targets).toEqual([decodeE]);
    expect(result.profileResults.get('prefill')?.targets).toEqual([prefillE]);
    expect(headers.get('x-prefiller-host-port')).toBe(prefillE.hostPort);
    expect(headers.has('x-encoder-hosts-ports')).toBe(false);
    expect(metrics.decisions).toEqual([['m', 'prefill-decode']]);
  });

  it('stays decode-only when the decider declines, when no decider is set and when the prefill profile is missing', () => {
    for (const [verdict, profiles] of [
      ['decode-only', undefined],
      [undefined, undefined],
      ['disaggregate', [profile('decode')]],
    ] as const) {
      const { h, metrics } = handler(verdict);
      const { result, headers } = run(h, pool, profiles === undefined ? undefined : [...profiles]);
      expect([...result.profileResults.keys()]).toEqual(['decode']);
      expect(headers.size).toBe(0);
      expect(metrics.decisions).toEqual([['m', 'decode-only']]);
    }
  });

  it('counts a saturation skip as decode-only plus a skip', () => {
    const { h, metrics } = handler('prefill-saturated');
    const { headers } = run(h, pool);
    expect(headers.size).toBe(0);
    expect(metrics.decisions).toEqual([['m', 'decode-only']]);
    expect(metrics.skips).toEqual([['m', 'prefill-saturated']]);
  });

  it('counts decode-only when the prefill profile finds no endpoint', () => {
    const { h, metrics } = handler('disaggregate');
    const { result, headers } = run(h, [decodeE]);
    expect(result.profileResults.has('prefill')).toBe(false);
    expect(headers.size).toBe(0);
    expect(metrics.decisions).toEqual([['m', 'decode-only']]);
  });

  it('fails with ResourceExhausted (429) and counts nothing when no decode endpoint exists', () => {
    const { h, metrics, decider } = handler('disaggregate');
    expect(() => run(h, [prefillE])).toThrow(ResourceExhaustedError);
    expect(decider?.calls).toBe(0);
    expect(metrics.decisions).toEqual([]);
  });

  it('runs the encode stage before prefill and lists every encode target', () => {
    const encodeE = endpoint(6, {}, { 'llm-d.ai/role': 'encode' });
    const { h, metrics } = handler('disaggregate', false, 'disaggregate');
    const { result, headers } = run(h, [decodeE, prefillE, encodeE], [profile('decode'), profile('prefill'), { ...profile('encode'), filters: [], picker: new MaxScorePicker('e', 2) }]);
    expect(result.profileResults.get('encode')?.targets.length).toBe(2);
    expect(headers.get('x-encoder-hosts-ports')?.split(',').length).toBe(2);
    expect(headers.get('x-prefiller-host-port')).toBe(prefillE.hostPort);
    expect(metrics.decisions).toEqual([['m', 'encode-prefill-decode']]);
  });

  it('reports the reference decision types', () => {
    expect([decisionType(false, false), decisionType(false, true), decisionType(true, false), decisionType(true, true)]).toEqual(['decode-only', 'prefill-decode', 'encode-decode', 'encode-prefill-decode']);
  });

  it('resolves deciders by name among plugins declared before it, in nested or flat parameters (not mixed)', () => {
    const ctx: PluginContext = { random: () => 0.5 };
    alwaysDisaggPdDeciderFactory('always', undefined, ctx);
    const nested = disaggProfileHandlerFactory('h', { profiles: { decode: 'd', prefill: 'p' }, deciders: { prefill: 'always' } }, ctx) as DisaggProfileHandler;
    expect(nested.config).toMatchObject({ decodeProfile: 'd', prefillProfile: 'p', encodeProfile: 'encode', legacyPd: false });
    expect(nested.config.prefillDecider?.typedName.name).toBe('always');
    const flat = disaggProfileHandlerFactory('h', { decodeProfile: 'd', deciderPluginName: 'always' }, ctx) as DisaggProfileHandler;
    expect(flat.config.prefillDecider?.typedName.name).toBe('always');
    expect(() => disaggProfileHandlerFactory('h', { profiles: { decode: 'd' }, decodeProfile: 'x' }, ctx)).toThrow(/cannot mix/);
    expect(() => disaggProfileHandlerFactory('h', { deciders: { prefill: 'missing' } }, ctx)).toThrow(/no decider plugin named "missing"/);
    // Another build (another context) does not see this build's deciders.
    expect(() => disaggProfileHandlerFactory('h', { deciders: { prefill: 'always' } }, { random: () => 0.5 })).toThrow(ConfigError);
    expect(() => disaggProfileHandlerFactory('h', { bogus: 1 }, ctx)).toThrow(ConfigError);
  });
});

describe('pd-profile-handler (deprecated)', () => {
  it('needs its decider (default name prefix-based-pd-decider) and refuses primaryPort', () => {
    const ctx: PluginContext = { random: () => 0.5 };
    expect(() => pdProfileHandlerFactory('pd', undefined, ctx)).toThrow(/prefix-based-pd-decider/);
    prefixBasedPdDeciderFactory('prefix-based-pd-decider', { nonCachedTokens: 4 }, ctx);
    const h = pdProfileHandlerFactory('pd', { prefixPluginType: 'prefix-cache-scorer', prefixPluginName: 'x' }, ctx) as DisaggProfileHandler;
    expect(h.typedName.type).toBe('pd-profile-handler');
    expect(() => pdProfileHandlerFactory('pd', { primaryPort: 8000 }, ctx)).toThrow(/primaryPort/);
  });

  it('records the deprecated pd decision counter when asking its decider, and sets the prefill header', () => {
    const yes = handler('disaggregate', true);
    const { headers } = run(yes.h, [decodeE, prefillE]);
    expect(headers.get('x-prefiller-host-port')).toBe(prefillE.hostPort);
    expect(yes.metrics.pd).toEqual([['m', 'prefill-decode']]);
    expect(yes.metrics.decisions).toEqual([]);
    const no = handler('decode-only', true);
    run(no.h, [decodeE, prefillE]);
    expect(no.metrics.pd).toEqual([['m', 'decode-only']]);
  });
});

describe('prefill-header-handler (deprecated)', () => {
  it('sets the headers from the named profiles', () => {
    const p = prefillHeaderHandlerFactory('ph', { prefillProfile: 'pf' }, { random: () => 0.5 }) as DisaggHeadersHandler;
    expect(p.typedName.type).toBe('prefill-header-handler');
    const headers = new Map<string, string>();
    p.preRequest(schedulingRequest(), { primaryProfileName: 'decode', profileResults: new Map([['decode', { targets: [decodeE] }], ['pf', { targets: [prefillE] }]]) }, headers);
    expect(headers.get('x-prefiller-host-port')).toBe(prefillE.hostPort);
  });
});

describe('P/D from an EndpointPickerConfig', () => {
  const config = `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: prefill-filter
- type: decode-filter
- type: prefix-cache-scorer
- type: queue-scorer
- type: prefix-based-pd-decider
  parameters: {nonCachedTokens: 16}
- type: disagg-profile-handler
  parameters:
    deciders: {prefill: prefix-based-pd-decider}
schedulingProfiles:
- name: prefill
  plugins: [{pluginRef: prefill-filter}, {pluginRef: prefix-cache-scorer, weight: 2}, {pluginRef: queue-scorer}]
- name: decode
  plugins: [{pluginRef: decode-filter}, {pluginRef: prefix-cache-scorer, weight: 2}, {pluginRef: queue-scorer}]
`;

  it('disaggregates a long uncached prompt, not the same prompt again, and counts both decisions', async () => {
    const metrics = new EppMetrics();
    const built = buildScheduler(loadConfig({ text: config }), registerBuiltins(), { random: () => 0.5 }, undefined);
    attachDisaggMetrics(built.plugins.values(), metrics);
    const { scheduler } = built;
    const pool = [endpoint(0, {}, { 'llm-d.ai/role': 'decode' }), endpoint(1, {}, { 'llm-d.ai/role': 'decode' }), endpoint(2, {}, { 'llm-d.ai/role': 'prefill' }), endpoint(3, {}, { 'llm-d.ai/role': 'prefill' })];
    const cycle = (prompt: string): Map<string, string> => {
      const request = completion(prompt);
      for (const p of scheduler.hooks.producers) p.produce(request, pool);
      const result = scheduler.schedule(request, pool);
      const headers = new Map<string, string>();
      for (const h of scheduler.hooks.preRequest) h.preRequest(request, result, headers);
      headers.set('destination', result.profileResults.get(result.primaryProfileName)?.targets[0]?.hostPort ?? '');
      return headers;
    };
    const prompt = 'A long system prompt about many things. '.repeat(100);
    const first = cycle(prompt);
    expect(['10.0.0.1:8000', '10.0.0.2:8000']).toContain(first.get('destination'));
    expect(['10.0.0.3:8000', '10.0.0.4:8000']).toContain(first.get('x-prefiller-host-port'));
    const again = cycle(prompt);
    expect(again.get('destination')).toBe(first.get('destination'));
    expect(again.has('x-prefiller-host-port')).toBe(false);
    expect(cycle('hi').has('x-prefiller-host-port')).toBe(false);
    const text = await metrics.registry.metrics();
    expect(text).toContain('llm_d_inference_scheduler_disagg_decision_total{model_name="m",decision_type="prefill-decode"} 1');
    expect(text).toContain('llm_d_inference_scheduler_disagg_decision_total{model_name="m",decision_type="decode-only"} 2');
  });
});

describe('prefix-based-pd-decider promptTokens', () => {
  const ctx: PluginContext = { random: () => 0.5 };
  const decider = (parameters: unknown): PrefixBasedPdDecider => prefixBasedPdDeciderFactory('d', parameters, ctx) as PrefixBasedPdDecider;
  const cold = (prompt: string): SchedulingRequest => withMatch(completion(prompt), () => 0);

  it('keeps prompts shorter than promptTokens decode-only, whatever is uncached; 0 (the default) disables the gate', () => {
    const d = decider({ nonCachedTokens: 16, promptTokens: 100, skipWhenPrefillSaturated: false });
    expect(d.promptTokens).toBe(100);
    expect(d.decide(cold('x'.repeat(396)), decodeE, [decodeE, prefillE])).toBe('decode-only'); // 99 tokens
    expect(d.decide(cold('x'.repeat(400)), decodeE, [decodeE, prefillE])).toBe('disaggregate'); // 100 tokens
    const off = decider({ nonCachedTokens: 16, skipWhenPrefillSaturated: false });
    expect(off.promptTokens).toBe(0);
    expect(off.decide(cold('x'.repeat(80)), decodeE, [decodeE, prefillE])).toBe('disaggregate'); // 20 tokens ≥ 16
  });

  it('still needs nonCachedTokens uncached tokens past the gate', () => {
    const d = decider({ nonCachedTokens: 16, promptTokens: 50, skipWhenPrefillSaturated: false });
    // 100 tokens, 6 blocks of 16 cached → 4 uncached < 16.
    expect(d.decide(withMatch(completion('x'.repeat(400)), () => 6), decodeE, [decodeE, prefillE])).toBe('decode-only');
  });

  it('rejects a negative promptTokens', () => {
    expect(() => decider({ promptTokens: -1 })).toThrow(/promptTokens/);
  });
});

describe('disagg-profile-handler stageOrder', () => {
  const ctx = (): PluginContext => ({ random: () => 0.5 });

  it('reads the reference spellings; decode-first is the default; others are errors', () => {
    for (const [text, order] of [
      ['decode-first', 'decode-first'],
      ['DECODE_FIRST', 'decode-first'],
      ['decode', 'decode-first'],
      ['', 'decode-first'],
      ['prefill-first', 'prefill-first'],
      ['Prefill_First', 'prefill-first'],
      ['prefill', 'prefill-first'],
    ] as const) {
      expect((disaggProfileHandlerFactory('h', { stageOrder: text }, ctx()) as DisaggProfileHandler).config.stageOrder).toBe(order);
    }
    expect((disaggProfileHandlerFactory('h', {}, ctx()) as DisaggProfileHandler).config.stageOrder).toBe('decode-first');
    expect(() => disaggProfileHandlerFactory('h', { stageOrder: 'encode-first' }, ctx())).toThrow(/invalid stage order "encode-first"/);
  });

  it('refuses a prefill decider with prefill-first, in nested or flat parameters', () => {
    const c = ctx();
    alwaysDisaggPdDeciderFactory('always', undefined, c);
    expect(() => disaggProfileHandlerFactory('h', { stageOrder: 'prefill-first', deciders: { prefill: 'always' } }, c)).toThrow(/prefill decider is not supported/);
    expect(() => disaggProfileHandlerFactory('h', { stageOrder: 'prefill-first', deciderPluginName: 'always' }, c)).toThrow(/prefill decider is not supported/);
    // The flat format takes stageOrder too.
    expect((disaggProfileHandlerFactory('h', { stageOrder: 'prefill-first', decodeProfile: 'd' }, c) as DisaggProfileHandler).config).toMatchObject({ stageOrder: 'prefill-first', decodeProfile: 'd' });
  });

  function prefillFirst(encodeVerdict?: DisaggVerdict): { h: DisaggProfileHandler; metrics: FakeMetrics; order: string[]; encode: FixedDecider | undefined } {
    const encode = encodeVerdict === undefined ? undefined : new FixedDecider(encodeVerdict);
    const h = new DisaggProfileHandler('h', { decodeProfile: 'decode', prefillProfile: 'prefill', encodeProfile: 'encode', prefillDecider: undefined, encodeDecider: encode, legacyPd: false, stageOrder: 'prefill-first' });
    const metrics = new FakeMetrics();
    h.attachDisaggMetrics(metrics);
    const order: string[] = [];
    const pick = h.pickProfiles.bind(h);
    h.pickProfiles = (request, profiles, results) => {
      const next = pick(request, profiles, results);
      for (const p of next) order.push(p.name);
      return next;
    };
    return { h, metrics, order, encode };
  }

  it('prefill-first runs prefill before decode without asking a decider; decode stays primary', () => {
    const { h, metrics, order } = prefillFirst();
    const { result, headers } = run(h, [decodeE, prefillE]);
    expect(order).toEqual(['prefill', 'decode']);
    expect(result.primaryProfileName).toBe('decode');
    expect(result.profileResults.get('decode')?.targets).toEqual([decodeE]);
    expect(result.profileResults.get('prefill')?.targets).toEqual([prefillE]);
    expect(headers.get('x-prefiller-host-port')).toBe(prefillE.hostPort);
    expect(metrics.decisions).toEqual([['m', 'prefill-decode']]);
  });

  it('prefill-first without a prefill endpoint, or without a prefill profile, is decode-only', () => {
    for (const profiles of [undefined, [profile('decode')]]) {
      const { h, metrics, order } = prefillFirst();
      const { result, headers } = run(h, profiles === undefined ? [decodeE] : [decodeE, prefillE], profiles);
      expect(order).toEqual(profiles === undefined ? ['prefill', 'decode'] : ['decode']);
      expect([...result.profileResults.keys()]).toEqual(['decode']);
      expect(headers.size).toBe(0);
      expect(metrics.decisions).toEqual([['m', 'decode-only']]);
    }
  });

  it('prefill-first asks the encode decider without a decode endpoint, between prefill and decode', () => {
    const encodeE = endpoint(6, {}, { 'llm-d.ai/role': 'encode' });
    const profiles = [profile('decode'), profile('prefill'), { ...profile('encode'), filters: [] }];
    const yes = prefillFirst('disaggregate');
    const { result } = run(yes.h, [decodeE, prefillE, encodeE], profiles);
    expect(yes.order).toEqual(['prefill', 'encode', 'decode']);
    expect(yes.encode?.seen).toEqual([undefined]);
    expect(result.profileResults.has('encode')).toBe(true);
    expect(yes.metrics.decisions).toEqual([['m', 'encode-prefill-decode']]);
    const no = prefillFirst('decode-only');
    run(no.h, [decodeE, prefillE, encodeE], profiles);
    expect(no.order).toEqual(['prefill', 'decode']);
    expect(no.metrics.decisions).toEqual([['m', 'prefill-decode']]);
  });

  it('prefill-first still fails (429) without a decode endpoint, counting nothing', () => {
    const { h, metrics } = prefillFirst();
    expect(() => run(h, [prefillE])).toThrow(ResourceExhaustedError);
    expect(metrics.decisions).toEqual([]);
  });
});

describe('pd-profile-handler prefixMatchInfoProducerName', () => {
  it('is accepted and names the prefix producer its decider depends on', () => {
    const ctx: PluginContext = { random: () => 0.5 };
    prefixBasedPdDeciderFactory('prefix-based-pd-decider', { nonCachedTokens: 4 }, ctx);
    const named = pdProfileHandlerFactory('pd', { prefixMatchInfoProducerName: 'precise' }, ctx) as DisaggProfileHandler;
    expect(named.config.prefixMatchProducer).toBe('precise');
    const plain = pdProfileHandlerFactory('pd', {}, ctx) as DisaggProfileHandler;
    expect(plain.config.prefixMatchProducer).toBeUndefined();
    expect(() => pdProfileHandlerFactory('pd', { prefixMatchInfoProducer: 'x' }, ctx)).toThrow(/prefixMatchInfoProducer/);
  });
});
