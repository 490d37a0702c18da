/**
 * `dp-group-leader-filter`: for DP × EP deployments on LeaderWorkerSets, where a group is reached
 * through its leader, keeps only the leader's endpoints (its ranks): endpoints labelled
 * `leaderworkerset.sigs.k8s.io/worker-index` with a value other than "0" are dropped. Endpoints without
 * the label (not part of an LWS) pass, so a mixed pool keeps its plain replicas. No parameters.
 * The reference has no equivalent (it treats every pod of the pool alike).
 *
 * ```yaml
 * - type: dp-group-leader-filter
 * ```
 */
import type { Endpoint } from '../../../datastore/endpoint.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters, noParametersSchema } from '../../../plugin/parameters.js';
import type { Filter, SchedulingRequest } from '../../types.js';
import { isLwsWorker } from '../dp-groups.js';
import { retain } from '../retain.js';

export const DP_GROUP_LEADER_FILTER_TYPE = 'dp-group-leader-filter';

const keep = (e: Endpoint): boolean => !isLwsWorker(e);

export class DpGroupLeaderFilter implements Filter {
  readonly typedName: TypedName;
  constructor(name: string) {
    this.typedName = { type: DP_GROUP_LEADER_FILTER_TYPE, name };
  }

  filter(_request: SchedulingRequest, candidates: readonly Endpoint[]): readonly Endpoint[] {
    return retain(candidates, keep);
  }
}

export const dpGroupLeaderFilterFactory: PluginFactory = (name, parameters) => {
  decodeParameters(noParametersSchema, parameters, DP_GROUP_LEADER_FILTER_TYPE, name);
  return new DpGroupLeaderFilter(name);
};
