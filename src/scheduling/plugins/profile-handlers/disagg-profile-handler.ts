/**
 * `disagg-profile-handler` (and the deprecated `pd-profile-handler`): prefill/decode (and
 * encode) disaggregation, reference §7.
 *
 * Rounds of one scheduling cycle, `stageOrder: decode-first` (the default):
 * 1. the decode profile runs; no decode target ends the cycle and fails the request (429);
 * 2. if an encode profile exists and the encode decider approves (given the decode endpoint), the
 *    encode profile runs;
 * 3. if a prefill profile exists and the prefill decider approves, the prefill profile runs.
 * `stageOrder: prefill-first` (llm-d-router #2342; `prefill` and `prefill_first` are read the same,
 * as are `decode`, `decode_first` and any case): the prefill profile runs first whenever it exists
 * (a prefill decider is then a configuration error: there is no decode endpoint to decide against),
 * then encode if its decider approves (asked without a decode endpoint), then decode. A prefill
 * profile that finds no usable endpoint leaves the request decode-only.
 * The decode profile is primary: its target is the destination. A stage without a decider, or whose
 * profile is not configured, never runs. A stage whose profile could only pick an unreachable
 * endpoint (every endpoint it sees fails its scrapes; see `reachable-candidates.ts`) is dropped as if
 * it had found none: the decode endpoint then prefills (or encodes) itself rather than sending its
 * request to a dead prefill pod. The decode profile keeps such a target: with no reachable decode
 * endpoint, routing to one beats failing the request. As a PreRequest hook the handler sets
 * `x-prefiller-host-port` and `x-encoder-hosts-ports` (see `disagg-headers-handler.ts`); as a data
 * producer it only keeps the request's candidates for the deciders' saturation guard.
 *
 * Metrics (once attached with `attachDisaggMetrics`): `disagg-profile-handler` counts every request
 * whose decode profile found a target in `llm_d_inference_scheduler_disagg_decision_total` once its
 * stages are decided; `pd-profile-handler` counts the deprecated `..._pd_decision_total` when its
 * decider is asked, as the reference does. Both count saturation skips in `..._disagg_skipped_total`.
 *
 * ```yaml
 * - type: disagg-profile-handler
 *   parameters:
 *     profiles: {decode: decode, prefill: prefill, encode: encode}   # the defaults
 *     deciders: {prefill: my-pd-decider}    # plugin names; unset = stage disabled
 *     stageOrder: decode-first              # or prefill-first (no prefill decider then)
 * ```
 * The reference's deprecated flat parameters are accepted too (`decodeProfile`, `prefillProfile`,
 * `encodeProfile`, `prefillDeciderPluginName`, `encodeDeciderPluginName`, `deciderPluginName`), but
 * not mixed with the nested ones. `pd-profile-handler` takes `decodeProfile`, `prefillProfile`,
 * `deciderPluginName` (default `prefix-based-pd-decider`, required to exist), `prefixPluginType` /
 * `prefixPluginName` (accepted, unused) and `primaryPort` (only 0: the deprecated data-parallel port
 * rewrite is not supported). The prefix index learns the prefill target only for a prefill profile
 * named `prefill` (as in the reference), so keep that name.
 */
import { z } from 'zod';
import type { Endpoint } from '../../../datastore/endpoint.js';
import { ResourceExhaustedError } from '../../../errors/errors.js';
import type { DisaggDecisionType, DisaggMetrics, DisaggMetricsSource } from '../../../observability/metrics.js';
import { ConfigError } from '../../../config/decode.js';
import { decodeParameters } from '../../../plugin/parameters.js';
import type { Plugin, TypedName } from '../../../plugin/plugin.js';
import type { PluginContext, PluginFactory } from '../../../plugin/registry.js';
import { StateKey } from '../../cycle-state.js';
import type { DataProducer, PreRequestHook, ProfileHandler, ProfileResult, ProfileSpec, SchedulingRequest, SchedulingResult } from '../../types.js';
import { DEFAULT_DECODE_PROFILE, DEFAULT_ENCODE_PROFILE, DEFAULT_PREFILL_PROFILE, setDisaggHeaders } from './disagg-headers-handler.js';
import { findDecider, type PdDecider } from './pd-decider.js';

export const DISAGG_PROFILE_HANDLER_TYPE = 'disagg-profile-handler';
/** The deprecated type, served by the same class (see `pd-profile-handler.ts`). */
export const PD_PROFILE_HANDLER_TYPE = 'pd-profile-handler';

/** The handler's wiring. `legacyPd` selects `pd-profile-handler`'s metric. */
export interface DisaggProfileHandlerConfig {
  readonly decodeProfile: string;
  readonly prefillProfile: string;
  readonly encodeProfile: string;
  readonly prefillDecider: PdDecider | undefined;
  readonly encodeDecider: PdDecider | undefined;
  readonly legacyPd: boolean;
  /** Undefined = `decode-first`. */
  readonly stageOrder?: StageOrder;
  /** The prefix producer the deciders depend on (pd-profile-handler's `prefixMatchInfoProducerName`); undefined = the default one. */
  readonly prefixMatchProducer?: string;
}

/** Which of decode and prefill is scheduled first. */
export type StageOrder = 'decode-first' | 'prefill-first';

/** Reads a `stageOrder` value as the reference does (case, `-` and `_` ignored; `decode`/`prefill` alone accepted); undefined if invalid. */
export function parseStageOrder(text: string): StageOrder | undefined {
  switch (text.toLowerCase().replaceAll('-', '').replaceAll('_', '')) {
    case '':
    case 'decodefirst':
    case 'decode':
      return 'decode-first';
    case 'prefillfirst':
    case 'prefill':
      return 'prefill-first';
    default:
      return undefined;
  }
}

/** Per-request progress through the stages. */
interface Progress {
  candidates: readonly Endpoint[];
  encodeDecided: boolean;
  prefillDecided: boolean;
  recorded: boolean;
}

const NO_CANDIDATES: readonly Endpoint[] = Object.freeze([]);

export class DisaggProfileHandler implements ProfileHandler, PreRequestHook, DataProducer {
  readonly typedName: TypedName;
  readonly #progress: StateKey<Progress>;
  #metrics: DisaggMetrics | undefined;

  constructor(
    name: string,
    readonly config: DisaggProfileHandlerConfig,
  ) {
    this.typedName = { type: config.legacyPd ? PD_PROFILE_HANDLER_TYPE : DISAGG_PROFILE_HANDLER_TYPE, name };
    this.#progress = new StateKey(`${this.typedName.type}/${name}`);
  }

  /** Reports decisions to `metrics` from now on. */
  attachDisaggMetrics(metrics: DisaggMetrics): void {
    this.#metrics = metrics;
  }

  produce(request: SchedulingRequest, candidates: readonly Endpoint[]): void {
    this.#state(request).candidates = candidates;
  }

  pickProfiles(request: SchedulingRequest, profiles: ReadonlyMap<string, ProfileSpec>, results: ReadonlyMap<string, ProfileResult>): readonly ProfileSpec[] {
    if (this.config.stageOrder === 'prefill-first') return this.#pickPrefillFirst(request, profiles, results);
    const { decodeProfile, prefillProfile, encodeProfile, prefillDecider, encodeDecider, legacyPd } = this.config;
    if (!results.has(decodeProfile)) {
      const decode = profiles.get(decodeProfile);
      return decode === undefined ? [] : [decode];
    }
    const decodeTarget = results.get(decodeProfile)?.targets[0];
    if (decodeTarget === undefined) return [];
    const progress = this.#state(request);

    const encode = profiles.get(encodeProfile);
    if (encode !== undefined && !legacyPd && !progress.encodeDecided && !results.has(encodeProfile)) {
      progress.encodeDecided = true;
      if (encodeDecider !== undefined && encodeDecider.decide(request, decodeTarget, progress.candidates) === 'disaggregate') return [encode];
    }

    const prefill = profiles.get(prefillProfile);
    if (prefill !== undefined && !progress.prefillDecided && !results.has(prefillProfile)) {
      progress.prefillDecided = true;
      if (prefillDecider !== undefined) {
        const verdict = prefillDecider.decide(request, decodeTarget, progress.candidates);
        if (verdict === 'prefill-saturated') this.#metrics?.disaggSkipped(request.targetModel, 'prefill-saturated');
        if (legacyPd) this.#metrics?.pdDecision(request.targetModel, verdict === 'disaggregate' ? 'prefill-decode' : 'decode-only');
        if (verdict === 'disaggregate') return [prefill];
      }
    }

    if (!legacyPd) this.#record(request, progress, results);
    return [];
  }

  /** Prefill (when configured), then encode (when approved), then decode. */
  #pickPrefillFirst(request: SchedulingRequest, profiles: ReadonlyMap<string, ProfileSpec>, results: ReadonlyMap<string, ProfileResult>): readonly ProfileSpec[] {
    const { decodeProfile, prefillProfile, encodeProfile, encodeDecider } = this.config;
    const progress = this.#state(request);
    if (results.has(decodeProfile)) {
      if (results.get(decodeProfile)?.targets[0] !== undefined) this.#record(request, progress, results);
      return [];
    }
    const prefill = profiles.get(prefillProfile);
    if (prefill !== undefined && !results.has(prefillProfile)) return [prefill];
    const encode = profiles.get(encodeProfile);
    if (encode !== undefined && !progress.encodeDecided && !results.has(encodeProfile)) {
      progress.encodeDecided = true;
      if (encodeDecider !== undefined && encodeDecider.decide(request, undefined, progress.candidates) === 'disaggregate') return [encode];
    }
    const decode = profiles.get(decodeProfile);
    return decode === undefined ? [] : [decode];
  }

  #record(request: SchedulingRequest, progress: Progress, results: ReadonlyMap<string, ProfileResult>): void {
    if (progress.recorded) return;
    progress.recorded = true;
    const encodeUsed = stageResult(results.get(this.config.encodeProfile)) !== null;
    const prefillUsed = stageResult(results.get(this.config.prefillProfile)) !== null;
    this.#metrics?.disaggDecision(request.targetModel, decisionType(encodeUsed, prefillUsed));
  }

  processResults(_request: SchedulingRequest, results: ReadonlyMap<string, ProfileResult>): SchedulingResult {
    const { decodeProfile, prefillProfile, encodeProfile } = this.config;
    const decode = results.get(decodeProfile) ?? null;
    if (decode === null || decode.targets.length === 0) throw new ResourceExhaustedError('failed to find available decode workers');
    const out = new Map<string, ProfileResult>([[decodeProfile, decode]]);
    for (const name of [prefillProfile, encodeProfile]) {
      const r = stageResult(results.get(name));
      if (r !== null && name !== decodeProfile) out.set(name, r);
    }
    return { primaryProfileName: decodeProfile, profileResults: out };
  }

  preRequest(_request: SchedulingRequest, result: SchedulingResult, setHeaders: Map<string, string>): void {
    setDisaggHeaders(result, this.config.prefillProfile, this.config.encodeProfile, setHeaders);
  }

  #state(request: SchedulingRequest): Progress {
    let p = request.state.get(this.#progress);
    if (p === undefined) {
      p = { candidates: NO_CANDIDATES, encodeDecided: false, prefillDecided: false, recorded: false };
      request.state.set(this.#progress, p);
    }
    return p;
  }
}

/**
 * A prefill or encode stage's usable result: null when it found nothing or only an unreachable
 * endpoint (the profile falls back to those only when it sees no reachable one).
 */
function stageResult(r: ProfileResult | undefined): ProfileResult {
  if (r === undefined || r === null) return null;
  return r.targets[0]?.reachable === true ? r : null;
}

/** The reference's `decision_type` for the stages used. */
export function decisionType(encodeUsed: boolean, prefillUsed: boolean): DisaggDecisionType {
  if (encodeUsed) return prefillUsed ? 'encode-prefill-decode' : 'encode-decode';
  return prefillUsed ? 'prefill-decode' : 'decode-only';
}

/** Attaches `metrics` to every disaggregation handler among `plugins` (the composition root calls it). */
export function attachDisaggMetrics(plugins: Iterable<Plugin>, metrics: DisaggMetricsSource): void {
  for (const p of plugins) if (p instanceof DisaggProfileHandler) p.attachDisaggMetrics(metrics.disaggMetricsFor(p.typedName));
}

const profileName = z.string().min(1).optional();

const stageOrderSchema = z.string().transform((text, ctx) => {
  const order = parseStageOrder(text);
  if (order === undefined) {
    ctx.addIssue({ code: 'custom', message: `invalid stage order "${text}": must be "decode-first" or "prefill-first"` });
    return z.NEVER;
  }
  return order;
});

const disaggSchema = z
  .strictObject({
    stageOrder: stageOrderSchema.default('decode-first'),
    profiles: z.strictObject({ decode: profileName, prefill: profileName, encode: profileName }).optional(),
    deciders: z.strictObject({ prefill: profileName, encode: profileName }).optional(),
    decodeProfile: profileName,
    prefillProfile: profileName,
    encodeProfile: profileName,
    prefillDeciderPluginName: profileName,
    encodeDeciderPluginName: profileName,
    deciderPluginName: profileName,
    // pd-profile-handler's parameters, silently ignored by the reference when the type is switched.
    prefixPluginType: z.string().optional(),
    prefixPluginName: z.string().optional(),
  })
  .superRefine((p, ctx) => {
    const nested = p.profiles !== undefined || p.deciders !== undefined;
    const flat = ['decodeProfile', 'prefillProfile', 'encodeProfile', 'prefillDeciderPluginName', 'encodeDeciderPluginName', 'deciderPluginName'].filter(
      (k) => p[k as keyof typeof p] !== undefined,
    );
    if (nested && flat.length > 0) {
      ctx.addIssue({ code: 'custom', message: `cannot mix the deprecated flat parameters (${flat.join(', ')}) with the nested ones (profiles, deciders): use one format or the other` });
    }
    const prefillDecider = p.deciders?.prefill ?? p.prefillDeciderPluginName ?? p.deciderPluginName;
    if (p.stageOrder === 'prefill-first' && prefillDecider !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['stageOrder'], message: 'a prefill decider is not supported with stageOrder prefill-first (prefill always runs first; remove the prefill decider)' });
    }
  });

/** The decider `name` (undefined = stage disabled) declared before handler `handler`; ConfigError if missing. */
export function resolveDecider(context: PluginContext, name: string | undefined, type: string, handler: string, param: string): PdDecider | undefined {
  if (name === undefined) return undefined;
  const decider = findDecider(context, name);
  if (decider === undefined) {
    throw new ConfigError(`parameters of plugin "${handler}" (type ${type})`, [
      `${param}: no decider plugin named "${name}" declared before this handler (known decider types: prefix-based-pd-decider, always-disagg-pd-decider)`,
    ]);
  }
  return decider;
}

export const disaggProfileHandlerFactory: PluginFactory = (name, parameters, context) => {
  const p = decodeParameters(disaggSchema, parameters, DISAGG_PROFILE_HANDLER_TYPE, name);
  const prefillDeciderName = p.deciders?.prefill ?? p.prefillDeciderPluginName ?? p.deciderPluginName;
  const encodeDeciderName = p.deciders?.encode ?? p.encodeDeciderPluginName;
  return new DisaggProfileHandler(name, {
    decodeProfile: p.profiles?.decode ?? p.decodeProfile ?? DEFAULT_DECODE_PROFILE,
    prefillProfile: p.profiles?.prefill ?? p.prefillProfile ?? DEFAULT_PREFILL_PROFILE,
    encodeProfile: p.profiles?.encode ?? p.encodeProfile ?? DEFAULT_ENCODE_PROFILE,
    prefillDecider: resolveDecider(context, prefillDeciderName, DISAGG_PROFILE_HANDLER_TYPE, name, p.deciders?.prefill !== undefined ? 'deciders.prefill' : 'prefillDeciderPluginName'),
    encodeDecider: resolveDecider(context, encodeDeciderName, DISAGG_PROFILE_HANDLER_TYPE, name, p.deciders?.encode !== undefined ? 'deciders.encode' : 'encodeDeciderPluginName'),
    legacyPd: false,
    stageOrder: p.stageOrder,
  });
};
