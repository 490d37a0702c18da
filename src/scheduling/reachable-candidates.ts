/**
 * Unreachable means unroutable (not in the reference, whose scorers let an endpoint with unknown
 * metrics win on prefix affinity, so a dead replica kept its returning conversations).
 *
 * Applied to the set each profile sees, after its own filters (`profile-runner.ts`), and to the
 * candidates of a body-less request (`director.ts`): endpoints the metrics collector cannot reach
 * (`Endpoint.reachable`) are dropped as long as one reachable endpoint remains in that set. When
 * none does, the set is kept whole: a metrics outage must not become a traffic outage, so routing
 * falls back to what the scorers make of the endpoints. Per set rather than once over the pool, so
 * that a P/D decode profile whose decode pods all fail their scrapes still routes (to one of them)
 * although the prefill pods are reachable; a prefill stage that could only pick an unreachable pod
 * is dropped by the disaggregation handler instead (the request goes decode-only).
 */
import type { Endpoint } from '../datastore/endpoint.js';

/**
 * `candidates` without its unreachable endpoints, unless that would leave none. Returns
 * `candidates` itself when nothing is dropped, so the usual all-reachable case allocates nothing.
 */
export function reachableCandidates(candidates: readonly Endpoint[]): readonly Endpoint[] {
  const n = candidates.length;
  let unreachable = 0;
  for (let i = 0; i < n; i++) if (!(candidates[i] as Endpoint).reachable) unreachable++;
  if (unreachable === 0 || unreachable === n) return candidates;
  const out = new Array<Endpoint>(n - unreachable);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const e = candidates[i] as Endpoint;
    if (e.reachable) out[k++] = e;
  }
  return out;
}
