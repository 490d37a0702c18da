import type { Endpoint } from '../datastore/endpoint.js';
import type { SchedulerMetrics } from '../observability/metrics.js';
import type { ProfileResult, ProfileSpec, SchedulingRequest } from './types.js';

/**
 * Runs one profile: filters in order (an empty result fails the profile), then every scorer into a
 * reused scratch buffer, clamped to [0,1] and added with its weight, then the picker.
 * Not re-entrant: the buffers belong to this runner and a cycle is synchronous.
 */
export class ProfileRunner {
  #total = new Float64Array(64);
  #scratch = new Float64Array(64);

  constructor(
    readonly profile: ProfileSpec,
    private readonly metrics: SchedulerMetrics | undefined,
  ) {}

  run(request: SchedulingRequest, candidates: readonly Endpoint[]): ProfileResult {
    const { profile, metrics } = this;
    let current = candidates;
    for (const f of profile.filters) {
      const t0 = metrics === undefined ? 0 : performance.now();
      current = f.filter(request, current);
      if (metrics !== undefined) metrics.observePlugin('Filter', f.typedName, performance.now() - t0);
      if (current.length === 0) return null;
    }
    const n = current.length;
    if (this.#total.length < n) {
      this.#total = new Float64Array(n * 2);
      this.#scratch = new Float64Array(n * 2);
    }
    const total = this.#total.subarray(0, n);
    const scratch = this.#scratch.subarray(0, n);
    total.fill(0);
    for (const { scorer, weight } of profile.scorers) {
      scratch.fill(0);
      const t0 = metrics === undefined ? 0 : performance.now();
      scorer.score(request, current, scratch);
      if (metrics !== undefined) metrics.observePlugin('Scorer', scorer.typedName, performance.now() - t0);
      for (let i = 0; i < n; i++) {
        const s = scratch[i] ?? 0;
        // NaN (a scorer bug) counts as 0 rather than poisoning the sum.
        total[i] = (total[i] ?? 0) + weight * (s > 1 ? 1 : s >= 0 ? s : 0);
      }
    }
    const t0 = metrics === undefined ? 0 : performance.now();
    const targets = profile.picker.pick(request, current, total);
    if (metrics !== undefined) metrics.observePlugin('Picker', profile.picker.typedName, performance.now() - t0);
    return targets.length === 0 ? null : { targets };
  }
}
