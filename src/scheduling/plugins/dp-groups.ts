/**
 * Data-parallel groups as the DP plugins see them. A MoE model served with DP × EP runs its DP ranks
 * in lock-step (every forward pass synchronises across the group), so ranks are coupled:
 *
 * - a LeaderWorkerSet group (pods sharing `leaderworkerset.sigs.k8s.io/name` and `group-index`) is
 *   one DP group, reached through its leader (`worker-index: "0"`);
 * - without LWS labels, the ranks of one pod (the endpoints `<pod>-rank-<i>` sharing its address)
 *   form the group;
 * - an endpoint whose scrape reports several engines (internal-LB DP behind one port) is a group of
 *   its own, whose ranks are its engines.
 */
import type { Endpoint } from '../../datastore/endpoint.js';

export const LWS_NAME_LABEL = 'leaderworkerset.sigs.k8s.io/name';
export const LWS_GROUP_INDEX_LABEL = 'leaderworkerset.sigs.k8s.io/group-index';
export const LWS_WORKER_INDEX_LABEL = 'leaderworkerset.sigs.k8s.io/worker-index';
/** The worker index LeaderWorkerSet gives a group's leader pod. */
export const LWS_LEADER_INDEX = '0';

/** The DP group an endpoint belongs to: its LWS group when labelled, else its pod (address). */
export function dpGroupKey(e: Endpoint): string {
  const group = e.labels[LWS_GROUP_INDEX_LABEL];
  if (group !== undefined) return `lws:${e.labels[LWS_NAME_LABEL] ?? ''}/${group}`;
  return `pod:${e.address}`;
}

/** True for a pod of a LeaderWorkerSet group that is not its leader. */
export function isLwsWorker(e: Endpoint): boolean {
  const index = e.labels[LWS_WORKER_INDEX_LABEL];
  return index !== undefined && index !== LWS_LEADER_INDEX;
}

/**
 * A rank's load in requests: waiting + running as last scraped, or the picker's own count of
 * requests sent there and not yet finished when that is higher (it is, between scrapes, in a burst).
 */
export function rankLoad(waiting: number, running: number, inFlight: number): number {
  const scraped = waiting + running;
  return inFlight > scraped ? inFlight : scraped;
}
