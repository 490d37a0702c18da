import type { Endpoint } from '../datastore/endpoint.js';
import type { SchedulerMetrics } from '../observability/metrics.js';
import { reachableCandidates } from './reachable-candidates.js';
import type { Plugin } from '../plugin/plugin.js';
import type { Filter, ProfileResult, ProfileScores, ProfileSpec, SchedulingRequest } from './types.js';

/**
 * Runs one profile: filters in order (an empty result fails the profile), then drops unreachable
 * endpoints while a reachable one remains (`reachable-candidates.ts`), then every scorer into a
 * reused scratch buffer, clamped to [0,1] and added with its weight, then the picker.
 * Not re-entrant: the buffers belong to this runner and a cycle is synchronous.
 */
export class ProfileRunner {
  #total = new Float64Array(64);
  #scratch = new Float64Array(64);
  // Views of the first n scores, kept while n stays the same (it does while the pool does).
  #totalView = this.#total.subarray(0, 0);
  #scratchView = this.#scratch.subarray(0, 0);

  constructor(
    readonly profile: ProfileSpec,
    private readonly metrics: SchedulerMetrics | undefined,
  ) {}

  run(request: SchedulingRequest, candidates: readonly Endpoint[]): ProfileResult {
    const { profile, metrics } = this;
    let current = candidates;
    // Indexed loops, and one clock read per plugin (a plugin's end starts the next one, so the few
    // nanoseconds of adding up a scorer's scores count towards the next): this runs for every request.
    const filters = profile.filters;
    let t = metrics === undefined ? 0 : performance.now();
    for (let k = 0; k < filters.length; k++) {
      const f = filters[k] as Filter;
      current = f.filter(request, current);
      if (metrics !== undefined) t = observe(metrics, 'Filter', f, t);
      if (current.length === 0) return null;
    }
    current = reachableCandidates(current);
    const n = current.length;
    if (this.#totalView.length !== n) {
      if (this.#total.length < n) {
        this.#total = new Float64Array(n * 2);
        this.#scratch = new Float64Array(n * 2);
      }
      this.#totalView = this.#total.subarray(0, n);
      this.#scratchView = this.#scratch.subarray(0, n);
    }
    const total = this.#totalView;
    const scratch = this.#scratchView;
    total.fill(0);
    if (metrics !== undefined) t = performance.now();
    const scorers = profile.scorers;
    const recorded: ProfileScores['scorers'][number][] | undefined = request.recordScores === true ? [] : undefined;
    for (let k = 0; k < scorers.length; k++) {
      const { scorer, weight } = scorers[k] as ProfileSpec['scorers'][number];
      scratch.fill(0);
      scorer.score(request, current, scratch);
      if (metrics !== undefined) t = observe(metrics, 'Scorer', scorer, t);
      for (let i = 0; i < n; i++) {
        const s = scratch[i] ?? 0;
        // NaN (a scorer bug) counts as 0 rather than poisoning the sum.
        const clamped = s > 1 ? 1 : s >= 0 ? s : 0;
        scratch[i] = clamped;
        total[i] = (total[i] ?? 0) + weight * clamped;
      }
      if (recorded !== undefined) recorded.push({ name: scorer.typedName.name, weight, scores: scratch.slice() });
    }
    // Copied before the picker runs: the buffers are reused by the next cycle.
    const scores: ProfileScores | undefined = recorded === undefined ? undefined : { candidates: current, totals: total.slice(), scorers: recorded };
    const targets = profile.picker.pick(request, current, total);
    if (metrics !== undefined) observe(metrics, 'Picker', profile.picker, t);
    if (targets.length === 0) return null;
    return scores === undefined ? { targets } : { targets, scores };
  }
}

/** Records a plugin that ran from `since` until now; returns now. */
function observe(metrics: SchedulerMetrics, extensionPoint: string, plugin: Plugin, since: number): number {
  const now = performance.now();
  metrics.observePlugin(extensionPoint, plugin.typedName, now - since);
  return now;
}
