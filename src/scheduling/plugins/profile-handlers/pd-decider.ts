/**
 * The contract between the disaggregation profile handlers and their deciders, and the prefill-pool
 * saturation guard the deciders share.
 *
 * A decider is asked once per request, after the decode profile chose its endpoint, whether a stage
 * (prefill, or encode) should run on a separate endpoint. Handlers name their deciders by plugin name
 * in their parameters; as in the reference, a decider must be declared before the handler that names
 * it. Deciders are found through the `PluginContext` the factories were given: one configuration
 * build uses one context, so names resolve within that build only.
 *
 * Saturation guard (not in the reference; Dynamo's conditional disaggregation): when every prefill
 * endpoint among the request's candidates is over its queue or KV threshold (or has unknown
 * metrics, which the picker always treats as busy, or is unreachable), the request is kept
 * decode-only: the decode endpoint prefills it locally instead of queueing behind a saturated
 * prefill pool.
 */
import { z } from 'zod';
import type { Endpoint } from '../../../datastore/endpoint.js';
import type { Plugin } from '../../../plugin/plugin.js';
import type { PluginContext } from '../../../plugin/registry.js';
import type { SchedulingRequest } from '../../types.js';
import { prefillFilter } from '../filters/role-filters.js';

/**
 * A decider's answer: `disaggregate`, `decode-only`, or `prefill-saturated` (the request qualified
 * but every prefill endpoint is saturated; the handler counts it as decode-only and as a skip).
 */
export type DisaggVerdict = 'disaggregate' | 'decode-only' | 'prefill-saturated';

/**
 * Decides whether a request's stage runs on a separate endpoint. Synchronous, no side effects;
 * `decode` is the decode profile's first target (undefined when the handler runs `prefill-first`, so
 * no decode endpoint is chosen yet) and `candidates` every endpoint the request could use (for the
 * saturation guard).
 */
export interface PdDecider extends Plugin {
  decide(request: SchedulingRequest, decode: Endpoint | undefined, candidates: readonly Endpoint[]): DisaggVerdict;
}

export function isPdDecider(p: Plugin): p is PdDecider {
  return typeof (p as Partial<PdDecider>).decide === 'function';
}

const decidersByContext = new WeakMap<PluginContext, Map<string, PdDecider>>();

/** Makes `decider` findable by its name for handlers built later with the same `context`. */
export function rememberDecider(context: PluginContext, decider: PdDecider): void {
  let byName = decidersByContext.get(context);
  if (byName === undefined) {
    byName = new Map();
    decidersByContext.set(context, byName);
  }
  byName.set(decider.typedName.name, decider);
}

/** The decider named `name` built with `context`, if any. */
export function findDecider(context: PluginContext, name: string): PdDecider | undefined {
  return decidersByContext.get(context)?.get(name);
}

/** Thresholds of the saturation guard; an endpoint at or over either one is saturated. */
export interface PrefillSaturationConfig {
  readonly enabled: boolean;
  /** Waiting requests (`vllm:num_requests_waiting`). */
  readonly queueDepthThreshold: number;
  /** KV-cache use in [0, 1]. */
  readonly kvCacheUtilThreshold: number;
}

/** The guard's parameters, shared by the deciders (`enabledByDefault` differs between them). */
export function saturationParameters(enabledByDefault: boolean) {
  return {
    skipWhenPrefillSaturated: z.boolean().default(enabledByDefault),
    prefillQueueDepthThreshold: z.number().int().min(1).default(5),
    prefillKvCacheUtilThreshold: z.number().gt(0).max(1).default(0.9),
  };
}

export function saturationConfig(p: { skipWhenPrefillSaturated: boolean; prefillQueueDepthThreshold: number; prefillKvCacheUtilThreshold: number }): PrefillSaturationConfig {
  return { enabled: p.skipWhenPrefillSaturated, queueDepthThreshold: p.prefillQueueDepthThreshold, kvCacheUtilThreshold: p.prefillKvCacheUtilThreshold };
}

const PREFILL_ROLES = prefillFilter('pd-decider/prefill-roles');

/**
 * True when the candidates include prefill endpoints (by `llm-d.ai/role`, as `prefill-filter`) and
 * every one of them is saturated or unreachable. No prefill endpoint at all is not saturation: the
 * prefill profile then finds nothing and the request stays decode-only anyway.
 */
export function prefillPoolSaturated(config: PrefillSaturationConfig, request: SchedulingRequest, candidates: readonly Endpoint[]): boolean {
  const prefill = PREFILL_ROLES.filter(request, candidates);
  if (prefill.length === 0) return false;
  for (const e of prefill) {
    const m = e.metrics;
    if (e.reachable && m.known && m.waitingQueueSize < config.queueDepthThreshold && m.kvCacheUsage < config.kvCacheUtilThreshold) return false;
  }
  return true;
}
