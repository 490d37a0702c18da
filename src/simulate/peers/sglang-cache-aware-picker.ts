/**
 * `sglang-cache-aware-picker`: a simulation baseline after SGLang's router `cache_aware` policy
 * (SMG `policies/cache_aware.rs`, HTTP mode; peer-routers.md §2.2), registered only in the
 * simulator's registry.
 *
 * Per request, over the router's own in-flight counts:
 * 1. imbalanced when `max − min > balanceAbsThreshold` and `max > balanceRelThreshold × min`: route
 *    to the least-loaded endpoint (the prefix index is still updated by the producer's hook);
 * 2. otherwise the endpoint holding the longest prefix (ties: lower load) when its match rate
 *    (matched / total blocks) exceeds `cacheThreshold`, else the least-loaded endpoint.
 * Least-loaded ties break by fewer requests processed, then candidate order.
 *
 * The prefix match comes from `PREFIX_MATCH` (an `approx-prefix-cache-producer` configured to match
 * whole prompts), standing in for SGLang's per-worker character radix tree: both are approximate
 * indexes fed by routing decisions; SGLang's tree is pruned by size every 60 s, ours per endpoint
 * by the replica's KV capacity.
 *
 * ```yaml
 * - type: sglang-cache-aware-picker
 *   parameters: {cacheThreshold: 0.3, balanceAbsThreshold: 64, balanceRelThreshold: 1.5}  # SGLang's CLI defaults
 * ```
 */
import { z } from 'zod';
import type { Endpoint } from '../../datastore/endpoint.js';
import type { TypedName } from '../../plugin/plugin.js';
import { decodeParameters } from '../../plugin/parameters.js';
import type { PluginFactory } from '../../plugin/registry.js';
import { PREFIX_MATCH } from '../../scheduling/prefix-match.js';
import type { Picker, PreRequestHook, RequestEndHook, SchedulingRequest, SchedulingResult } from '../../scheduling/types.js';
import { RouterLoad } from './router-load.js';

export const SGLANG_CACHE_AWARE_PICKER_TYPE = 'sglang-cache-aware-picker';

const parametersSchema = z.strictObject({
  cacheThreshold: z.number().min(0).max(1).default(0.3),
  balanceAbsThreshold: z.number().int().min(0).default(64),
  balanceRelThreshold: z.number().min(1).default(1.5),
});

type Parameters = z.output<typeof parametersSchema>;

/** SGLang's cache-aware policy as a picker (see the module doc). */
export class SglangCacheAwarePicker implements Picker, PreRequestHook, RequestEndHook {
  readonly typedName: TypedName;
  readonly #load = new RouterLoad();

  constructor(
    name: string,
    readonly parameters: Parameters,
  ) {
    this.typedName = { type: SGLANG_CACHE_AWARE_PICKER_TYPE, name };
  }

  pick(request: SchedulingRequest, candidates: readonly Endpoint[]): readonly Endpoint[] {
    if (candidates.length === 0) return [];
    let minLoad = Number.POSITIVE_INFINITY;
    let maxLoad = 0;
    let leastLoaded = candidates[0] as Endpoint;
    let leastProcessed = Number.POSITIVE_INFINITY;
    for (const e of candidates) {
      const l = this.#load.of(e);
      if (l.inFlight > maxLoad) maxLoad = l.inFlight;
      if (l.inFlight < minLoad || (l.inFlight === minLoad && l.processed < leastProcessed)) {
        minLoad = l.inFlight;
        leastProcessed = l.processed;
        leastLoaded = e;
      }
    }
    const p = this.parameters;
    if (maxLoad - minLoad > p.balanceAbsThreshold && maxLoad > p.balanceRelThreshold * minLoad) return [leastLoaded];
    const info = request.state.get(PREFIX_MATCH);
    if (info === undefined || info.totalBlocks === 0) return [leastLoaded];
    let best: Endpoint | undefined;
    let bestMatch = 0;
    let bestLoad = 0;
    for (const e of candidates) {
      const m = info.matchedBlocks(e);
      const l = this.#load.of(e).inFlight;
      if (m > bestMatch || (m === bestMatch && m > 0 && l < bestLoad)) {
        best = e;
        bestMatch = m;
        bestLoad = l;
      }
    }
    return best !== undefined && bestMatch / info.totalBlocks > p.cacheThreshold ? [best] : [leastLoaded];
  }

  preRequest(_request: SchedulingRequest, result: SchedulingResult): void {
    const target = result.profileResults.get(result.primaryProfileName)?.targets[0];
    if (target === undefined) return;
    const l = this.#load.of(target);
    l.inFlight++;
    l.processed++;
  }

  requestEnded(_request: SchedulingRequest, result: SchedulingResult): void {
    const target = result.profileResults.get(result.primaryProfileName)?.targets[0];
    if (target === undefined) return;
    const l = this.#load.of(target);
    if (l.inFlight > 0) l.inFlight--;
  }
}

export const sglangCacheAwarePickerFactory: PluginFactory = (name, parameters) =>
  new SglangCacheAwarePicker(name, decodeParameters(parametersSchema, parameters ?? {}, SGLANG_CACHE_AWARE_PICKER_TYPE, name));
