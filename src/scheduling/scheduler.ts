import type { Endpoint } from '../datastore/endpoint.js';
import { ResourceExhaustedError } from '../errors/errors.js';
import type { SchedulerMetrics } from '../observability/metrics.js';
import { ProfileRunner } from './profile-runner.js';
import type { Admitter, DataProducer, FirstResponseByteHook, PreRequestHook, ProfileHandler, ProfileResult, ProfileSpec, RequestEndHook, ResponseHeadersHook, SchedulingRequest, SchedulingResult } from './types.js';

/** The request-lifecycle plugins around a scheduling cycle, in configuration order. */
export interface LifecycleHooks {
  readonly producers: readonly DataProducer[];
  readonly preRequest: readonly PreRequestHook[];
  readonly responseHeaders: readonly ResponseHeadersHook[];
  readonly firstResponseByte: readonly FirstResponseByteHook[];
  readonly requestEnd: readonly RequestEndHook[];
  /** Admission plugins, in configuration order; the first refusal wins. */
  readonly admitters?: readonly Admitter[];
}

export const NO_HOOKS: LifecycleHooks = { producers: [], preRequest: [], responseHeaders: [], firstResponseByte: [], requestEnd: [] };

/** Safety bound on profile-handler rounds; real handlers need one or two. */
const MAX_ROUNDS = 16;

/**
 * Runs a scheduling cycle: asks the profile handler which profiles to run until it has none left, runs
 * them over the candidates, and lets the handler choose the primary result. Synchronous; throws
 * ResourceExhaustedError when no profile produced a target.
 */
export class Scheduler {
  readonly #runners = new Map<string, ProfileRunner>();
  readonly #profiles: ReadonlyMap<string, ProfileSpec>;

  constructor(
    private readonly handler: ProfileHandler,
    profiles: readonly ProfileSpec[],
    private readonly metrics?: SchedulerMetrics,
    /** Data producers, pre-request and request-end hooks; the director runs them. */
    readonly hooks: LifecycleHooks = NO_HOOKS,
  ) {
    this.#profiles = new Map(profiles.map((p) => [p.name, p]));
    for (const p of profiles) this.#runners.set(p.name, new ProfileRunner(p, metrics));
  }

  schedule(request: SchedulingRequest, candidates: readonly Endpoint[]): SchedulingResult {
    const t0 = performance.now();
    const results = new Map<string, ProfileResult>();
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const next = this.handler.pickProfiles(request, this.#profiles, results);
      if (next.length === 0) break;
      for (let k = 0; k < next.length; k++) {
        const p = next[k] as ProfileSpec;
        const runner = this.#runners.get(p.name);
        results.set(p.name, runner === undefined ? null : runner.run(request, candidates));
      }
    }
    const metrics = this.metrics;
    if (metrics === undefined) return this.handler.processResults(request, results);
    let result: SchedulingResult | undefined;
    try {
      result = this.handler.processResults(request, results);
      return result;
    } finally {
      metrics.observeSchedulerE2e(performance.now() - t0);
      // As llm-d: the endpoint is the primary profile's first target, the one the request goes to.
      const first = result?.profileResults.get(result.primaryProfileName)?.targets[0];
      metrics.observeSchedulerAttempt(request.targetModel, first, result === undefined);
    }
  }
}

/** Thrown by profile handlers when the primary profile has no target. */
export function noTargetError(profileName: string): ResourceExhaustedError {
  return new ResourceExhaustedError(`failed to find target endpoint: profile "${profileName}" found no endpoint`);
}
