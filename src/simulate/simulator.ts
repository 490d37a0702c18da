/**
 * `runSimulation`: replays a workload through the real routing path (`Director` over a scheduler
 * built from an EndpointPickerConfig) onto simulated vLLM replicas (`Engine`), all in virtual time.
 *
 * One event loop interleaves three sources, earliest first: request arrivals, engine events (the
 * minimum of every engine's `nextEventTime()`) and metrics scrape ticks every `scrapeIntervalMs`.
 * At equal times engines advance first (so finishes release their decisions), then the scrape runs,
 * then arrivals are routed — so routing sees metrics exactly as stale as a production picker that
 * scrapes on that interval. Nothing reads a clock and every random draw comes from one seeded
 * `Prng`: the same inputs always give the same result.
 */
import { buildScheduler } from '../config/build-scheduler.js';
import { loadConfig } from '../config/load-config.js';
import { Datastore } from '../datastore/datastore.js';
import { UNKNOWN_METRICS, type Endpoint, type EndpointMetrics } from '../datastore/endpoint.js';
import { Director, type RoutingDecision } from '../director/director.js';
import { expandHashIds } from '../engine/block-hashes.js';
import { Engine } from '../engine/engine.js';
import { engineProfile, type EngineProfile } from '../engine/profiles.js';
import type { EngineRequest, EngineResult } from '../engine/request.js';
import { EppError } from '../errors/errors.js';
import type { LLMRequest } from '../request/llm-request.js';
import { resolveSimulationConfig, simulationRegistry, type SimulationConfig } from './baselines.js';
import { FloatHashSet } from './float-hash-set.js';
import { Prng } from '../util/prng.js';
import type { WorkloadRequest } from './workload/workload-request.js';

/** Inputs of {@link runSimulation}. */
export interface SimulationOptions {
  /** Requests in arrival order (an earlier arrival than the previous one is taken as "now"). */
  readonly workload: Iterable<WorkloadRequest>;
  /** Number of simulated replicas (endpoints), ≥ 1. */
  readonly replicas: number;
  /**
   * P/D: the first this many replicas are labelled `llm-d.ai/role: prefill`, the others `decode`
   * (default 0: no role labels). A decision carrying `x-prefiller-host-port` runs a prefill leg there
   * (one token, returning `kv_transfer_params`), then the decode leg on the destination, which pulls
   * the prompt's KV instead of computing it — what the P/D sidecar does.
   */
  readonly prefillReplicas?: number;
  /**
   * Data parallel with expert parallelism: consecutive replicas form groups of this many coupled
   * ranks (default 1: independent replicas). A group's ranks are endpoints `dp-<g>-rank-<i>` of one
   * address (ports 8000 + i), and every engine step of the group ends when its slowest rank's does
   * (DP attention synchronises each forward pass); an idle rank joins at the next step boundary.
   */
  readonly dpGroupSize?: number;
  /** Engine profile name (see `ENGINE_PROFILES`) or the profile itself. */
  readonly profile: string | EngineProfile;
  /** Routing configuration: a baseline name, `'default'`, a config file path or a `ConfigSource`. */
  readonly config: SimulationConfig;
  /** Virtual milliseconds between metrics scrapes; default 50. */
  readonly scrapeIntervalMs?: number;
  /** Scraped metrics older than this become unknown; default 2000. */
  readonly stalenessMs?: number;
  /** Seed of the routing randomness; default 0. */
  readonly seed?: number;
  /** Called every `progressEvery` routed requests with the count so far. */
  readonly onProgress?: (routed: number) => void;
  /** Default 1000. */
  readonly progressEvery?: number;
}

/** Outcome of one simulated configuration. Latencies are NaN when nothing was observed. */
export interface SimulationResult {
  /** The configuration's label (baseline name or file path). */
  readonly config: string;
  /** Requests in the workload. */
  readonly requests: number;
  /** Requests that produced all their tokens. */
  readonly completed: number;
  /** Requests an engine refused (too long for the profile). */
  readonly rejected: number;
  /** Requests the router could not place (an error or no target). */
  readonly failed: number;
  /** Prompt tokens served from a replica's prefix cache / prompt tokens, over completed requests. */
  readonly hitRate: number;
  /** Block hit rate of one infinite cache shared by all replicas (an upper bound of `hitRate`). */
  readonly oracleHitRate: number;
  readonly ttftP50Ms: number;
  readonly ttftP90Ms: number;
  readonly ttftP99Ms: number;
  readonly itlP50Ms: number;
  readonly itlP99Ms: number;
  /** Generated tokens / simulated span (first arrival to last finish). */
  readonly outputTokensPerSec: number;
  /** Simulated span in seconds. */
  readonly spanS: number;
  readonly preemptions: number;
  /** TTFT quantiles in ms at q = i / (length − 1) (the CDF for plots); empty when nothing completed. */
  readonly ttftQuantilesMs: readonly number[];
  /** Per replica, in endpoint order: where the load and the cache hits went. */
  readonly perReplica: readonly ReplicaStats[];
}

/** One simulated replica's share of a run. */
export interface ReplicaStats {
  readonly name: string;
  /** Requests routed to it. */
  readonly requests: number;
  readonly promptTokens: number;
  readonly cachedTokens: number;
  /** Prefix-cache blocks evicted (reused for other content). */
  readonly evictions: number;
  readonly preemptions: number;
  /** TTFT median of its completed requests (ms). */
  readonly ttftP50Ms: number;
}

/** The q-quantile (nearest rank) of `values`, or NaN when empty; sorts `values` in place. */
export function quantile(values: Float64Array, q: number): number {
  values.sort();
  return sortedQuantile(values, q);
}

/** The q-quantile (nearest rank) of ascending `sorted`, or NaN when empty. */
function sortedQuantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

/** Grows a Float64Array log of numbers without per-value allocation. */
class NumberLog {
  #values = new Float64Array(256);
  #count = 0;

  push(v: number): void {
    if (this.#count === this.#values.length) {
      const grown = new Float64Array(this.#count * 2);
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#values[this.#count++] = v;
  }

  /** A copy of the values pushed so far. */
  toArray(): Float64Array {
    return this.#values.slice(0, this.#count);
  }
}

/**
 * Oracle accounting: an infinite cache shared by every replica, fed each request's engine-level
 * block hashes in arrival order. Hit rate = blocks already seen / blocks looked up.
 */
class OracleCache {
  readonly #seen = new FloatHashSet(1 << 16);
  hits = 0;
  blocks = 0;

  observe(hashes: Float64Array): void {
    for (let i = 0; i < hashes.length; i++) if (!this.#seen.add(hashes[i] as number)) this.hits++;
    this.blocks += hashes.length;
  }
}

const NO_HEADERS: ReadonlyMap<string, string> = new Map();
const ROLE_LABEL = 'llm-d.ai/role';
/** Set by the disaggregation handler on decisions that need a remote prefill (reference §7). */
const PREFILLER_HEADER = 'x-prefiller-host-port';

/**
 * A disaggregated request: when it arrived, where its decode leg goes, and — once its prefill leg
 * succeeded (`remote`) — what that leg found cached. A failed prefill leg leaves `remote` false: the
 * decode replica then computes the prompt itself, as the sidecar's fallback does.
 */
class PdFlight {
  remote = false;
  prefillCachedTokens = 0;
  constructor(
    readonly decodeReplica: number,
    readonly request: EngineRequest,
    readonly arrivalS: number,
  ) {}
}
/** Intervals of the TTFT CDF kept for plots. */
const CDF_POINTS = 200;

/**
 * Couples the ranks of each DP group: every step in flight ends with the group's slowest, and idle
 * ranks start their next step no earlier.
 */
function alignGroups(engines: readonly Engine[], groupSize: number): void {
  for (let g = 0; g < engines.length; g += groupSize) {
    let end = Number.NEGATIVE_INFINITY;
    for (let i = g; i < g + groupSize; i++) {
      const s = engines[i]?.stepEndS ?? Number.NaN;
      if (s > end) end = s;
    }
    if (end === Number.NEGATIVE_INFINITY) continue;
    for (let i = g; i < g + groupSize; i++) {
      engines[i]?.stretchStepTo(end);
      engines[i]?.holdUntil(end);
    }
  }
}

/** Runs one configuration over the workload in virtual time (see the module doc). */
export function runSimulation(options: SimulationOptions): SimulationResult {
  const profile = typeof options.profile === 'string' ? engineProfile(options.profile) : options.profile;
  const scrapeS = (options.scrapeIntervalMs ?? 50) / 1000;
  const stalenessMs = options.stalenessMs ?? 2000;
  if (!Number.isInteger(options.replicas) || options.replicas < 1) throw new RangeError(`replicas must be a positive integer, got ${options.replicas}`);
  if (!(scrapeS > 0) || !Number.isFinite(scrapeS)) throw new RangeError(`scrapeIntervalMs must be positive, got ${options.scrapeIntervalMs}`);
  const progressEvery = options.progressEvery ?? 1000;

  const prng = new Prng(options.seed ?? 0);
  const random = (): number => prng.next();
  let nowMs = 0;
  const { label, source } = resolveSimulationConfig(options.config);
  const { scheduler } = buildScheduler(loadConfig(source), simulationRegistry(), { random, now: () => nowMs }, undefined, label);
  const datastore = new Datastore();
  const prefillReplicas = options.prefillReplicas ?? 0;
  if (!Number.isInteger(prefillReplicas) || prefillReplicas < 0 || prefillReplicas >= options.replicas) {
    throw new RangeError(`prefillReplicas must be an integer in [0, replicas), got ${prefillReplicas}`);
  }
  const roleOf = (i: number): Record<string, string> => (prefillReplicas === 0 ? {} : { [ROLE_LABEL]: i < prefillReplicas ? 'prefill' : 'decode' });
  const groupSize = options.dpGroupSize ?? 1;
  if (!Number.isInteger(groupSize) || groupSize < 1 || options.replicas % groupSize !== 0) {
    throw new RangeError(`dpGroupSize must be a positive integer dividing replicas, got ${groupSize}`);
  }
  datastore.setEndpoints(
    Array.from({ length: options.replicas }, (_, i) => {
      if (groupSize === 1) return { name: `replica-${i}`, address: `replica-${i}`, port: 8000, labels: roleOf(i) };
      const g = Math.floor(i / groupSize);
      const rank = i % groupSize;
      return { name: `dp-${g}-rank-${rank}`, address: `dp-${g}`, port: 8000 + rank, labels: roleOf(i) };
    }),
  );
  const director = new Director(datastore, scheduler, { disableSubsetFilter: true, random });
  const endpoints = datastore.snapshot.endpoints;

  const decisions = new Map<string, RoutingDecision>();
  let completed = 0;
  let rejected = 0;
  let cachedTokens = 0;
  let promptTokens = 0;
  let lastFinishS = 0;
  const ttfts = new NumberLog();
  const replicaRequests = new Int32Array(options.replicas);
  const replicaPrompt = new Float64Array(options.replicas);
  const replicaCached = new Float64Array(options.replicas);
  const replicaTtfts = Array.from({ length: options.replicas }, () => new NumberLog());
  // P/D: requests between their prefill and decode legs (by prefill-leg id), and requests whose
  // decode leg runs (by request id).
  const awaitingDecode = new Map<string, PdFlight>();
  const decoding = new Map<string, PdFlight>();
  const onPrefillFinish = (replica: number, r: EngineResult): void => {
    const flight = awaitingDecode.get(r.request.id);
    if (flight === undefined) return;
    awaitingDecode.delete(r.request.id);
    replicaPrompt[replica] = (replicaPrompt[replica] ?? 0) + r.request.promptTokens;
    replicaCached[replica] = (replicaCached[replica] ?? 0) + r.cachedTokens;
    const decodeEngine = engines[flight.decodeReplica];
    if (decodeEngine === undefined) return;
    decoding.set(flight.request.id, flight);
    decodeEngine.advanceTo(r.finishS);
    if (r.finishReason !== 'length' || r.kvTransferParams === undefined) {
      // The sidecar falls back to computing the prompt on the decode replica.
      decodeEngine.submit(flight.request);
      return;
    }
    flight.remote = true;
    flight.prefillCachedTokens = r.cachedTokens;
    decodeEngine.submit({ ...flight.request, pd: { role: 'decode', transfer: r.kvTransferParams } });
  };
  const onFinish = (replica: number, r: EngineResult): void => {
    if (r.request.pd?.role === 'prefill') {
      onPrefillFinish(replica, r);
      return;
    }
    const flight = decoding.get(r.request.id);
    if (flight !== undefined) decoding.delete(r.request.id);
    const decision = decisions.get(r.request.id);
    if (decision !== undefined) {
      decisions.delete(r.request.id);
      director.release(decision);
    }
    if (r.finishS > lastFinishS) lastFinishS = r.finishS;
    if (r.finishReason === 'rejected') {
      rejected++;
      return;
    }
    completed++;
    // A disaggregated request's prompt was computed by its prefill leg: that leg's cache hits count.
    const remote = flight?.remote === true;
    cachedTokens += remote ? (flight?.prefillCachedTokens ?? 0) : r.cachedTokens;
    promptTokens += r.request.promptTokens;
    if (!remote) {
      replicaCached[replica] = (replicaCached[replica] ?? 0) + r.cachedTokens;
      replicaPrompt[replica] = (replicaPrompt[replica] ?? 0) + r.request.promptTokens;
    }
    // The decode leg arrived when its prefill leg ended; the client's clock started at routing.
    const ttft = r.firstTokenS - (flight === undefined ? r.arrivalS : flight.arrivalS);
    ttfts.push(ttft);
    replicaTtfts[replica]?.push(ttft);
  };
  const onToken = (request: EngineRequest, index: number): void => {
    if (index !== 0) return;
    const decision = decisions.get(request.id);
    if (decision !== undefined) director.firstResponseByte(decision);
  };
  const engines = endpoints.map((e, i) => new Engine({ profile, engineId: e.name, listener: { onToken, onFinish: (r) => onFinish(i, r) } }));
  const replicaOf = new Map<Endpoint, number>(endpoints.map((e, i) => [e, i]));
  const replicaByHostPort = new Map<string, number>(endpoints.map((e, i) => [e.hostPort, i]));

  const scrape = (): void => {
    endpoints.forEach((e, i) => {
      const s = (engines[i] as Engine).snapshot();
      const metrics: EndpointMetrics = {
        ...UNKNOWN_METRICS,
        known: true,
        waitingQueueSize: s.waiting,
        runningRequestsSize: s.running,
        kvCacheUsage: s.kvCacheUsage,
        cacheBlockSize: profile.blockSize,
        cacheNumBlocks: profile.numGpuBlocks,
        updatedAtMs: nowMs,
      };
      e.metrics = metrics;
    });
  };
  const expireStale = (): void => {
    for (const e of endpoints) if (e.metrics.known && nowMs - e.metrics.updatedAtMs > stalenessMs) e.metrics = UNKNOWN_METRICS;
  };

  const oracle = new OracleCache();
  let requests = 0;
  let failed = 0;
  let firstArrivalS = Number.NaN;
  const route = (w: WorkloadRequest, id: string): void => {
    const text = w.prompt.text();
    const llm: LLMRequest = {
      api: 'completions',
      model: w.model,
      stream: false,
      cacheSalt: undefined,
      body: { model: w.model, prompt: text },
      // The JSON body's size, approximately: the prompt is ASCII text without characters to escape.
      bodyBytes: text.length + w.model.length + 24,
    };
    const hashes = expandHashIds(w.blockIds, w.blockTokens, w.promptTokens, profile.blockSize);
    oracle.observe(hashes);
    let decision: RoutingDecision;
    try {
      decision = director.route({ requestId: id, headers: NO_HEADERS, llm, bodyless: false, subsetHint: undefined });
    } catch (err) {
      if (err instanceof EppError) {
        failed++;
        return;
      }
      throw err;
    }
    const target = decision.targets[0];
    const replica = target === undefined ? undefined : replicaOf.get(target);
    const engine = replica === undefined ? undefined : engines[replica];
    if (replica === undefined || engine === undefined) {
      director.release(decision);
      failed++;
      return;
    }
    decisions.set(id, decision);
    replicaRequests[replica] = (replicaRequests[replica] ?? 0) + 1;
    // The engine generates at least one token; a zero-length answer still costs one decode step.
    const request: EngineRequest = { id, promptTokens: w.promptTokens, blockHashes: hashes, maxOutputTokens: Math.max(1, w.outputTokens) };
    const prefiller = decision.setHeaders.get(PREFILLER_HEADER);
    const prefillReplica = prefiller === undefined ? undefined : replicaByHostPort.get(prefiller);
    const prefillEngine = prefillReplica === undefined ? undefined : engines[prefillReplica];
    if (prefillReplica === undefined || prefillEngine === undefined || prefillReplica === replica) {
      engine.submit(request);
      return;
    }
    replicaRequests[prefillReplica] = (replicaRequests[prefillReplica] ?? 0) + 1;
    const legId = `${id}/prefill`;
    awaitingDecode.set(legId, new PdFlight(replica, request, nowMs / 1000));
    prefillEngine.submit({ ...request, id: legId, maxOutputTokens: 1, pd: { role: 'prefill' } });
  };

  const iterator = options.workload[Symbol.iterator]();
  let pending = iterator.next();
  let tick = 0;
  // A scrape of idle engines already reflects every later idle scrape until the next arrival.
  let scrapedIdle = false;
  for (;;) {
    const arrivalS = pending.done === true ? Number.POSITIVE_INFINITY : pending.value.arrivalMs / 1000;
    let engineS = Number.POSITIVE_INFINITY;
    for (const e of engines) {
      const t = e.nextEventTime();
      if (t < engineS) engineS = t;
    }
    if (arrivalS === Number.POSITIVE_INFINITY && engineS === Number.POSITIVE_INFINITY) break;
    if (engineS === Number.POSITIVE_INFINITY && scrapedIdle) tick = Math.max(tick, Math.floor(arrivalS / scrapeS));
    const scrapeAtS = tick * scrapeS;
    const t = Math.max(nowMs / 1000, Math.min(arrivalS, engineS, scrapeAtS));
    nowMs = t * 1000;
    for (const e of engines) e.advanceTo(t);
    if (groupSize > 1) alignGroups(engines, groupSize);
    if (scrapeAtS <= t) {
      scrape();
      scrapedIdle = engines.every((e) => e.idle);
      tick++;
    }
    while (pending.done !== true && pending.value.arrivalMs / 1000 <= t) {
      if (requests === 0) firstArrivalS = t;
      expireStale();
      route(pending.value, `req-${requests}`);
      requests++;
      scrapedIdle = false;
      if (options.onProgress !== undefined && requests % progressEvery === 0) options.onProgress(requests);
      pending = iterator.next();
    }
  }

  let generated = 0;
  let preemptions = 0;
  const itls = new NumberLog();
  const perReplica: ReplicaStats[] = [];
  engines.forEach((e, i) => {
    const s = e.snapshot();
    generated += s.generationTokens;
    preemptions += s.preemptions;
    for (const v of s.itl.values()) itls.push(v);
    perReplica.push({
      name: endpoints[i]?.name ?? `replica-${i}`,
      requests: replicaRequests[i] ?? 0,
      promptTokens: replicaPrompt[i] ?? 0,
      cachedTokens: replicaCached[i] ?? 0,
      evictions: s.evictions,
      preemptions: s.preemptions,
      ttftP50Ms: quantile(replicaTtfts[i]?.toArray() ?? new Float64Array(0), 0.5) * 1000,
    });
  });
  const itlValues = itls.toArray();
  const ttftValues = ttfts.toArray();
  ttftValues.sort();
  const ttftQuantilesMs: number[] = [];
  if (ttftValues.length > 0) for (let i = 0; i <= CDF_POINTS; i++) ttftQuantilesMs.push(sortedQuantile(ttftValues, i / CDF_POINTS) * 1000);
  const spanS = requests === 0 ? 0 : lastFinishS - firstArrivalS;
  return {
    config: label,
    requests,
    completed,
    rejected,
    failed,
    hitRate: promptTokens === 0 ? 0 : cachedTokens / promptTokens,
    oracleHitRate: oracle.blocks === 0 ? 0 : oracle.hits / oracle.blocks,
    ttftP50Ms: quantile(ttftValues, 0.5) * 1000,
    ttftP90Ms: quantile(ttftValues, 0.9) * 1000,
    ttftP99Ms: quantile(ttftValues, 0.99) * 1000,
    itlP50Ms: quantile(itlValues, 0.5) * 1000,
    itlP99Ms: quantile(itlValues, 0.99) * 1000,
    outputTokensPerSec: spanS > 0 ? generated / spanS : 0,
    spanS,
    preemptions,
    ttftQuantilesMs,
    perReplica,
  };
}
