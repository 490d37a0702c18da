/**
 * `prefix-cache-affinity-filter` (llm-d-router v0.10): narrows the candidates to the "sticky" ones,
 * whose prefix-cache match ratio (matched / total blocks, from the prefix producer's match) is at
 * least `affinityThreshold`, so a picker spreading load (e.g. `weighted-random-picker`) spreads it
 * over endpoints that already hold the prompt. It keeps every candidate instead when:
 *
 * - there are fewer than two candidates, or `affinityThreshold` ≤ 0 (the gate is off);
 * - the exploration draw falls below `explorationProbability` (seeds cache elsewhere over time);
 * - no candidate is sticky (no match, or a prompt shorter than one block);
 * - the TTFT load gate breaks stickiness: with `maxTTFTPenaltyMs` > 0 and at least one non-sticky
 *   candidate, the fastest sticky endpoint's estimated TTFT exceeds the fastest non-sticky one's by
 *   more than `maxTTFTPenaltyMs`. TTFT is estimated as `inFlightTokens / peakPrefillThroughput × 1000`
 *   ms from the in-flight load producer (an endpoint without load counts 0 tokens).
 *
 * The prefix producer and, when the load gate is on, the in-flight load producer are injected with
 * default parameters when the configuration lacks them.
 *
 * ```yaml
 * - type: prefix-cache-affinity-filter
 *   parameters:
 *     affinityThreshold: 0.80         # ≤ 1; ≤ 0 disables the filter
 *     explorationProbability: 0       # [0, 1]
 *     maxTTFTPenaltyMs: 18000         # ≥ 0; 0 = always stick
 *     ttftSource: prefillThroughput   # latencyPredictor needs predicted-latency routing (not implemented)
 *     peakPrefillThroughput: 15928    # tokens/s; > 0 when the load gate is on
 *     prefixMatchInfoProducerName: approx-prefix-cache-producer
 *     inFlightLoadProducerName: inflight-load-producer
 * ```
 */
import { z } from 'zod';
import type { Endpoint } from '../../../datastore/endpoint.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { StateKey } from '../../cycle-state.js';
import { prefixMatchKey, readPrefixMatch, type PrefixMatchInfo } from '../../prefix-match.js';
import type { Filter, SchedulingRequest } from '../../types.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters } from '../../../plugin/parameters.js';
import { inFlightLoadKey, type InFlightLoad } from '../producers/inflight-load-producer.js';

export const PREFIX_CACHE_AFFINITY_FILTER_TYPE = 'prefix-cache-affinity-filter';

/** The filter's settings after defaulting and validation. */
export interface PrefixCacheAffinityConfig {
  readonly affinityThreshold: number;
  readonly explorationProbability: number;
  readonly maxTTFTPenaltyMs: number;
  /** Tokens per second a fully idle endpoint prefills (the reference's calibration: Qwen 32B, 2×H100, vLLM 0.19). */
  readonly peakPrefillThroughput: number;
}

export const DEFAULT_PREFIX_CACHE_AFFINITY: PrefixCacheAffinityConfig = Object.freeze({
  affinityThreshold: 0.8,
  explorationProbability: 0,
  maxTTFTPenaltyMs: 18_000,
  peakPrefillThroughput: 15_928,
});

export class PrefixCacheAffinityFilter implements Filter {
  readonly typedName: TypedName;
  readonly #match: StateKey<PrefixMatchInfo>;
  readonly #load: StateKey<InFlightLoad>;

  /**
   * @param prefixMatchProducer the prefix producer instance read (undefined = the default one)
   * @param inFlightLoadProducer the in-flight load producer instance read (undefined = the default one)
   * @param random the exploration draw, uniform in [0, 1)
   */
  constructor(
    name: string,
    readonly config: PrefixCacheAffinityConfig = DEFAULT_PREFIX_CACHE_AFFINITY,
    readonly random: () => number = Math.random,
    readonly prefixMatchProducer?: string,
    readonly inFlightLoadProducer?: string,
  ) {
    this.typedName = { type: PREFIX_CACHE_AFFINITY_FILTER_TYPE, name };
    this.#match = prefixMatchKey(prefixMatchProducer);
    this.#load = inFlightLoadKey(inFlightLoadProducer);
  }

  filter(request: SchedulingRequest, candidates: readonly Endpoint[]): readonly Endpoint[] {
    const c = this.config;
    const n = candidates.length;
    if (n <= 1 || c.affinityThreshold <= 0) return candidates;
    // No draw at probability 0, so a deterministic configuration consumes no randomness.
    if (c.explorationProbability > 0 && this.random() < c.explorationProbability) return candidates;
    const info = readPrefixMatch(request.state, this.#match, this.prefixMatchProducer !== undefined);
    const total = info === undefined ? 0 : info.totalBlocks;
    if (info === undefined || !(total > 0)) return candidates;

    const load = c.maxTTFTPenaltyMs > 0 ? request.state.get(this.#load) : undefined;
    let sticky = 0;
    let bestStickyTokens = Infinity;
    let bestOtherTokens = Infinity;
    for (let i = 0; i < n; i++) {
      const e = candidates[i] as Endpoint;
      const tokens = load === undefined ? 0 : load.tokens(e);
      if (info.matchedBlocks(e) / total >= c.affinityThreshold) {
        sticky++;
        if (tokens < bestStickyTokens) bestStickyTokens = tokens;
      } else if (tokens < bestOtherTokens) {
        bestOtherTokens = tokens;
      }
    }
    if (sticky === 0 || sticky === n) return candidates;
    if (c.maxTTFTPenaltyMs > 0) {
      const stickyTtftMs = (bestStickyTokens / c.peakPrefillThroughput) * 1000;
      const otherTtftMs = (bestOtherTokens / c.peakPrefillThroughput) * 1000;
      if (stickyTtftMs - otherTtftMs > c.maxTTFTPenaltyMs) return candidates;
    }
    const kept: Endpoint[] = [];
    for (let i = 0; i < n; i++) {
      const e = candidates[i] as Endpoint;
      if (info.matchedBlocks(e) / total >= c.affinityThreshold) kept.push(e);
    }
    return kept;
  }
}

const schema = z
  .strictObject({
    affinityThreshold: z.number().max(1, 'affinityThreshold must be <= 1').default(DEFAULT_PREFIX_CACHE_AFFINITY.affinityThreshold),
    explorationProbability: z.number().min(0).max(1).default(DEFAULT_PREFIX_CACHE_AFFINITY.explorationProbability),
    maxTTFTPenaltyMs: z.number().min(0).default(DEFAULT_PREFIX_CACHE_AFFINITY.maxTTFTPenaltyMs),
    ttftSource: z.enum(['prefillThroughput', 'latencyPredictor']).default('prefillThroughput'),
    peakPrefillThroughput: z.number().min(0).default(DEFAULT_PREFIX_CACHE_AFFINITY.peakPrefillThroughput),
    prefixMatchInfoProducerName: z.string().optional(),
    inFlightLoadProducerName: z.string().optional(),
    latencyPredictionInfoProducerName: z.string().optional(),
  })
  .superRefine((p, ctx) => {
    if (p.ttftSource === 'latencyPredictor') {
      ctx.addIssue({
        code: 'custom',
        path: ['ttftSource'],
        message: 'latencyPredictor reads predicted-latency-producer, which is not implemented yet (issue 14: predicted-latency / SLO routing); use prefillThroughput',
      });
    }
    if (p.maxTTFTPenaltyMs > 0 && p.peakPrefillThroughput === 0) {
      ctx.addIssue({ code: 'custom', path: ['peakPrefillThroughput'], message: 'peakPrefillThroughput must be > 0 when ttftSource is prefillThroughput and maxTTFTPenaltyMs > 0' });
    }
  });

const named = (s: string | undefined): string | undefined => (s === '' ? undefined : s);

export const prefixCacheAffinityFilterFactory: PluginFactory = (name, parameters, context) => {
  const p = decodeParameters(schema, parameters, PREFIX_CACHE_AFFINITY_FILTER_TYPE, name);
  const config: PrefixCacheAffinityConfig = Object.freeze({
    affinityThreshold: p.affinityThreshold,
    explorationProbability: p.explorationProbability,
    maxTTFTPenaltyMs: p.maxTTFTPenaltyMs,
    peakPrefillThroughput: p.peakPrefillThroughput,
  });
  return new PrefixCacheAffinityFilter(name, config, context.random, named(p.prefixMatchInfoProducerName), named(p.inFlightLoadProducerName));
};
