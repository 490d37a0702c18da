/**
 * `data-parallel-rank-header` (PreRequestHook + RequestEndHook): pins an engine rank on internal-LB
 * data-parallel servers, where one port fronts N engines (vLLM `--data-parallel-size N`) and the
 * scrape reports per-engine series (`engine="0".."N-1"`, kept in `EndpointMetrics.ranks`). When the
 * chosen endpoint reports more than one engine, the hook picks one and sets `X-data-parallel-rank:
 * <engine>` on the forwarded request, which vLLM's OpenAI server honours; endpoints with one engine
 * are left alone. The choice follows SGLang's cache-aware DP routing, per engine:
 *
 * - `load = max(waiting + running, requests this hook pinned there that are still running)`;
 * - when the engines are imbalanced (`max − min > balanceAbsThreshold` and `max > balanceRelThreshold ·
 *   min`), or the request has no prompt blocks, the least-loaded engine;
 * - otherwise the engine believed to hold the longest prefix of the prompt, ties to the lower load.
 *
 * Prefix knowledge is the hook's own index per (endpoint, engine), fed with the block hashes
 * `approx-prefix-cache-producer` computed for the request (without that producer: load only).
 * Remaining ties go to the lower engine number; engine labels that are not non-negative integers
 * are skipped.
 *
 * Parameters: `balanceAbsThreshold` (requests, default 8), `balanceRelThreshold` (≥ 1, default 1.5),
 * `lruCapacityPerEngine` (default: the endpoint's `num_gpu_blocks` per engine, else 31250).
 * The reference has no equivalent (llm-d-router#750 proposed the header and was closed).
 *
 * ```yaml
 * - type: data-parallel-rank-header
 *   parameters: {balanceAbsThreshold: 8, balanceRelThreshold: 1.5}
 * ```
 */
import { z } from 'zod';
import { Endpoint } from '../../../datastore/endpoint.js';
import { ApproxPrefixMatch } from '../../../prefix/approx-prefix-match.js';
import { PrefixIndex } from '../../../prefix/prefix-index.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters } from '../../../plugin/parameters.js';
import { StateKey } from '../../cycle-state.js';
import { PREFIX_MATCH, readPrefixMatch } from '../../prefix-match.js';
import type { PreRequestHook, RequestEndHook, SchedulingRequest, SchedulingResult } from '../../types.js';
import { rankLoad } from '../dp-groups.js';
import { DEFAULT_LRU_CAPACITY_PER_SERVER } from '../producers/approx-prefix-cache-producer.js';

export const DATA_PARALLEL_RANK_HEADER_TYPE = 'data-parallel-rank-header';
/** vLLM's rank-pinning request header (lower-case, as set headers are). */
export const DATA_PARALLEL_RANK_HEADER = 'x-data-parallel-rank';
/** Endpoints whose engines are tracked at once; the oldest is forgotten beyond this. */
export const MAX_TRACKED_ENDPOINTS = 1024;

const schema = z.strictObject({
  balanceAbsThreshold: z.number().min(0).default(8),
  balanceRelThreshold: z.number().min(1).default(1.5),
  lruCapacityPerEngine: z.number().int().min(1).optional(),
});

/** One engine of a tracked endpoint: a stand-in Endpoint keys its prefix-index entries. */
interface Engine {
  readonly rank: string;
  readonly key: Endpoint;
  pinned: number;
}

const PINNED = new StateKey<Engine>(`${DATA_PARALLEL_RANK_HEADER_TYPE}/pinned`);
const RANK_TEXT = /^\d{1,6}$/;

export class DataParallelRankHeader implements PreRequestHook, RequestEndHook {
  readonly typedName: TypedName;
  readonly #index = new PrefixIndex();
  readonly #engines = new Map<Endpoint, Map<string, Engine>>();

  constructor(
    name: string,
    readonly balanceAbsThreshold = 8,
    readonly balanceRelThreshold = 1.5,
    readonly lruCapacityPerEngine: number | undefined = undefined,
  ) {
    this.typedName = { type: DATA_PARALLEL_RANK_HEADER_TYPE, name };
  }

  /** Endpoints currently tracked (for tests and pool maintenance). */
  get trackedEndpoints(): number {
    return this.#engines.size;
  }

  preRequest(request: SchedulingRequest, result: SchedulingResult, setHeaders: Map<string, string>): void {
    const target = result.profileResults.get(result.primaryProfileName)?.targets[0];
    if (target === undefined || !target.metrics.known) return;
    const ranks = target.metrics.ranks.filter((r) => RANK_TEXT.test(r.rank));
    if (ranks.length < 2) return;
    const engines = this.#enginesOf(target);
    const n = ranks.length;
    const list: Engine[] = new Array<Engine>(n);
    const loads = new Float64Array(n);
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < n; i++) {
      const r = ranks[i] as (typeof ranks)[number];
      let engine = engines.get(r.rank);
      if (engine === undefined) {
        engine = { rank: r.rank, key: new Endpoint(`${target.name}#engine-${r.rank}`, target.address, target.port, {}), pinned: 0 };
        engines.set(r.rank, engine);
      }
      list[i] = engine;
      const load = rankLoad(r.waitingQueueSize, r.runningRequestsSize, engine.pinned);
      loads[i] = load;
      if (load < min) min = load;
      if (load > max) max = load;
    }
    const info = readPrefixMatch(request.state, PREFIX_MATCH, false);
    const hashes = info instanceof ApproxPrefixMatch && info.totalBlocks > 0 ? info.hashes : undefined;
    const imbalanced = max - min > this.balanceAbsThreshold && max > this.balanceRelThreshold * min;
    const matched = new Int32Array(n);
    if (hashes !== undefined && !imbalanced) this.#index.match(hashes, list.map((e) => e.key), matched);
    let best = 0;
    for (let i = 1; i < n; i++) {
      const m = matched[i] as number;
      const bm = matched[best] as number;
      if (m > bm || (m === bm && (loads[i] as number) < (loads[best] as number))) best = i;
    }
    const chosen = list[best] as Engine;
    setHeaders.set(DATA_PARALLEL_RANK_HEADER, chosen.rank);
    chosen.pinned++;
    request.state.set(PINNED, chosen);
    if (hashes !== undefined) {
      const perEngine = target.metrics.cacheNumBlocks > 0 ? target.metrics.cacheNumBlocks : DEFAULT_LRU_CAPACITY_PER_SERVER;
      this.#index.add(chosen.key, hashes, this.lruCapacityPerEngine ?? perEngine);
    }
  }

  requestEnded(request: SchedulingRequest, _result: SchedulingResult): void {
    const engine = request.state.get(PINNED);
    if (engine !== undefined && engine.pinned > 0) engine.pinned--;
  }

  #enginesOf(target: Endpoint): Map<string, Engine> {
    let engines = this.#engines.get(target);
    if (engines !== undefined) return engines;
    engines = new Map();
    this.#engines.set(target, engines);
    // Endpoint objects are replaced when discovery changes them; forgetting the oldest bounds both
    // this map and the index (an endpoint seen again simply starts cold).
    if (this.#engines.size > MAX_TRACKED_ENDPOINTS) {
      const [oldest, stale] = this.#engines.entries().next().value as [Endpoint, Map<string, Engine>];
      this.#engines.delete(oldest);
      for (const e of stale.values()) this.#index.removeEndpoint(e.key);
    }
    return engines;
  }
}

export const dataParallelRankHeaderFactory: PluginFactory = (name, parameters) => {
  const p = decodeParameters(schema, parameters, DATA_PARALLEL_RANK_HEADER_TYPE, name);
  return new DataParallelRankHeader(name, p.balanceAbsThreshold, p.balanceRelThreshold, p.lruCapacityPerEngine);
};
