/**
 * `dp-group-balance-scorer`: balances load across the coupled ranks of a data-parallel group (see
 * dp-groups.ts for what a group is). Ranks of a DP × EP group advance in lock-step, so the most
 * loaded rank gates the whole group: sending a request to it slows every rank, sending it to a
 * lighter rank is nearly free. Each candidate is scored by its own load relative to its group's:
 *
 *     load  = max(waiting + running, in-flight)      (requests)
 *     score = (groupMax − load) / (groupMax − groupMin), or 1 when the group is level
 *
 * over the group's candidates with known metrics; unknown metrics score 0 (unknown is busy). A
 * candidate alone in its group, and an endpoint reporting several engines behind one port (whose
 * engines `data-parallel-rank-header` balances), score 1. Load across groups is left to the other
 * scorers (queue, KV), and prefix affinity per rank to `prefix-cache-scorer`: this scorer composes
 * with them by weight. No parameters. The reference has no equivalent.
 *
 * ```yaml
 * - type: dp-group-balance-scorer
 * ```
 */
import type { Endpoint } from '../../../datastore/endpoint.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters, noParametersSchema } from '../../../plugin/parameters.js';
import type { Scorer, SchedulingRequest } from '../../types.js';
import { dpGroupKey, rankLoad } from '../dp-groups.js';

export const DP_GROUP_BALANCE_SCORER_TYPE = 'dp-group-balance-scorer';

interface GroupRange {
  min: number;
  max: number;
}

export class DpGroupBalanceScorer implements Scorer {
  readonly typedName: TypedName;
  constructor(name: string) {
    this.typedName = { type: DP_GROUP_BALANCE_SCORER_TYPE, name };
  }

  score(_request: SchedulingRequest, candidates: readonly Endpoint[], out: Float64Array): void {
    const n = candidates.length;
    const loads = new Float64Array(n);
    const keys: (string | undefined)[] = new Array<string | undefined>(n);
    const ranges = new Map<string, GroupRange>();
    for (let i = 0; i < n; i++) {
      const e = candidates[i] as Endpoint;
      if (!e.metrics.known || e.metrics.ranks.length > 1) continue;
      const load = rankLoad(e.metrics.waitingQueueSize, e.metrics.runningRequestsSize, e.inFlight);
      const key = dpGroupKey(e);
      loads[i] = load;
      keys[i] = key;
      const r = ranges.get(key);
      if (r === undefined) ranges.set(key, { min: load, max: load });
      else {
        if (load < r.min) r.min = load;
        if (load > r.max) r.max = load;
      }
    }
    for (let i = 0; i < n; i++) {
      const e = candidates[i] as Endpoint;
      if (!e.metrics.known) {
        out[i] = 0;
        continue;
      }
      const key = keys[i];
      const r = key === undefined ? undefined : ranges.get(key);
      if (r === undefined || r.max <= r.min) {
        out[i] = 1;
        continue;
      }
      out[i] = (r.max - (loads[i] as number)) / (r.max - r.min);
    }
  }
}

export const dpGroupBalanceScorerFactory: PluginFactory = (name, parameters) => {
  decodeParameters(noParametersSchema, parameters, DP_GROUP_BALANCE_SCORER_TYPE, name);
  return new DpGroupBalanceScorer(name);
};
