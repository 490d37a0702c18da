/**
 * `prefill-cost-scorer`: prefers the endpoint where this request's prompt would be computed soonest,
 * from this picker's own routing ledger, so load counts as soon as a request is routed instead of a
 * scrape later. The cost is NVIDIA Dynamo's "linear" KV-router cost (peer-routers.md §2.4):
 *
 *     uncached_i = max(promptBlocks − overlapCredit · matchedBlocks_i, 0)
 *     cost_i     = prefillLoadScale · (pendingPrefill_i + uncached_i) + decodeLoadScale · (activeBlocks_i + promptBlocks)
 *     score_i    = (maxCost − cost_i) / (maxCost − minCost)          (all equal → 1)
 *
 * `pendingPrefill_i` counts the uncached prompt blocks of requests routed to endpoint i whose
 * response has not started (the first response byte ends prefill), `activeBlocks_i` the prompt
 * blocks of requests routed there and not ended. Under P/D disaggregation (a `prefill` profile
 * target besides the primary) the prefill work is charged to the prefill target and only the
 * active blocks to the decode target, so the same scorer serves both profiles. Blocks and matches come from `PREFIX_MATCH` (the
 * prefix producer, which the loader injects); without it every request counts one block.
 *
 * Why this and not `queue-scorer` alone: vLLM admits up to `max-num-seqs` requests at once, so its
 * waiting queue stays empty while prefills pile up in the running batch; the cost of that pile is
 * what a new request's TTFT pays.
 *
 * Dynamo weighs both terms 1. Our default `decodeLoadScale` is 0: the cost is then the prefill work
 * queued ahead of this request's first token plus its own, i.e. its TTFT in units of block prefill
 * time, which routed better on every workload we simulated (bench/README.md, "routing quality"):
 * the decode term charges long-context sessions for occupying memory and pushes their next turn away
 * from the replica that caches them.
 *
 * ```yaml
 * - type: prefill-cost-scorer
 *   parameters: {overlapCredit: 1.0, prefillLoadScale: 1.0, decodeLoadScale: 0}   # defaults; Dynamo's: decodeLoadScale 1.0
 * ```
 */
import { z } from 'zod';
import type { Endpoint } from '../../../datastore/endpoint.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters } from '../../../plugin/parameters.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import { StateKey } from '../../cycle-state.js';
import { PREFIX_MATCH, readPrefixMatch } from '../../prefix-match.js';
import { PREFILL_PROFILE_NAME } from '../producers/approx-prefix-cache-producer.js';
import type { FirstResponseByteHook, PreRequestHook, RequestEndHook, Scorer, SchedulingRequest, SchedulingResult } from '../../types.js';

export const PREFILL_COST_SCORER_TYPE = 'prefill-cost-scorer';

const parametersSchema = z.strictObject({
  overlapCredit: z.number().min(0).max(1).default(1),
  prefillLoadScale: z.number().min(0).default(1),
  decodeLoadScale: z.number().min(0).default(0),
});

/** The decoded parameters. */
export type PrefillCostParameters = z.output<typeof parametersSchema>;

/** One endpoint's ledger. */
class EndpointCost {
  pendingPrefill = 0;
  activeBlocks = 0;
}

/** What one routed request added to its targets' ledgers, taken back exactly once. */
class Charge {
  ended = false;
  constructor(
    /** Where its prompt is computed: the prefill target under P/D, else the destination. */
    readonly prefillLedger: EndpointCost,
    public prefill: number,
    /** The destination (decode target under P/D). */
    readonly ledger: EndpointCost,
    readonly blocks: number,
  ) {}
}

const CHARGE = new StateKey<Charge>('prefill-cost-scorer/charge');

/** See the module doc. */
export class PrefillCostScorer implements Scorer, PreRequestHook, FirstResponseByteHook, RequestEndHook {
  readonly typedName: TypedName;
  readonly #ledgers = new WeakMap<Endpoint, EndpointCost>();
  #costs = new Float64Array(16);

  constructor(
    name: string,
    readonly parameters: PrefillCostParameters = parametersSchema.parse({}),
  ) {
    this.typedName = { type: PREFILL_COST_SCORER_TYPE, name };
  }

  #ledger(endpoint: Endpoint): EndpointCost {
    let l = this.#ledgers.get(endpoint);
    if (l === undefined) {
      l = new EndpointCost();
      this.#ledgers.set(endpoint, l);
    }
    return l;
  }

  /** Pending prefill and active blocks this scorer attributes to `endpoint`. */
  load(endpoint: Endpoint): { readonly pendingPrefill: number; readonly activeBlocks: number } {
    const l = this.#ledgers.get(endpoint);
    return { pendingPrefill: l?.pendingPrefill ?? 0, activeBlocks: l?.activeBlocks ?? 0 };
  }

  score(request: SchedulingRequest, candidates: readonly Endpoint[], out: Float64Array): void {
    const n = candidates.length;
    if (this.#costs.length < n) this.#costs = new Float64Array(Math.max(n, this.#costs.length * 2));
    const costs = this.#costs;
    const info = readPrefixMatch(request.state, PREFIX_MATCH, false);
    const blocks = info === undefined || info.totalBlocks === 0 ? 1 : info.totalBlocks;
    const { overlapCredit, prefillLoadScale, decodeLoadScale } = this.parameters;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const e = candidates[i] as Endpoint;
      const l = this.#ledgers.get(e);
      const matched = info === undefined ? 0 : info.matchedBlocks(e);
      const uncached = Math.max(blocks - overlapCredit * matched, 0);
      const cost = prefillLoadScale * ((l?.pendingPrefill ?? 0) + uncached) + decodeLoadScale * ((l?.activeBlocks ?? 0) + blocks);
      costs[i] = cost;
      if (cost < min) min = cost;
      if (cost > max) max = cost;
    }
    const range = max - min;
    for (let i = 0; i < n; i++) out[i] = range > 0 ? (max - (costs[i] as number)) / range : 1;
  }

  preRequest(request: SchedulingRequest, result: SchedulingResult): void {
    if (request.state.get(CHARGE) !== undefined) return;
    const target = result.profileResults.get(result.primaryProfileName)?.targets[0];
    if (target === undefined) return;
    const prefillTarget = result.primaryProfileName === PREFILL_PROFILE_NAME ? undefined : result.profileResults.get(PREFILL_PROFILE_NAME)?.targets[0];
    const computesAt = prefillTarget ?? target;
    const info = readPrefixMatch(request.state, PREFIX_MATCH, false);
    const blocks = info === undefined || info.totalBlocks === 0 ? 1 : info.totalBlocks;
    const matched = info === undefined ? 0 : info.matchedBlocks(computesAt);
    const uncached = Math.max(blocks - this.parameters.overlapCredit * matched, 0);
    const prefillLedger = this.#ledger(computesAt);
    const ledger = this.#ledger(target);
    prefillLedger.pendingPrefill += uncached;
    ledger.activeBlocks += blocks;
    request.state.set(CHARGE, new Charge(prefillLedger, uncached, ledger, blocks));
  }

  firstResponseByte(request: SchedulingRequest): void {
    const charge = request.state.get(CHARGE);
    if (charge === undefined || charge.prefill === 0) return;
    charge.prefillLedger.pendingPrefill = Math.max(0, charge.prefillLedger.pendingPrefill - charge.prefill);
    charge.prefill = 0;
  }

  requestEnded(request: SchedulingRequest): void {
    const charge = request.state.get(CHARGE);
    if (charge === undefined || charge.ended) return;
    charge.ended = true;
    this.firstResponseByte(request);
    charge.ledger.activeBlocks = Math.max(0, charge.ledger.activeBlocks - charge.blocks);
  }
}

export const prefillCostScorerFactory: PluginFactory = (name, parameters) =>
  new PrefillCostScorer(name, decodeParameters(parametersSchema, parameters, PREFILL_COST_SCORER_TYPE, name));
