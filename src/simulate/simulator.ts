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
import type { EngineResult } from '../engine/request.js';
import { EppError } from '../errors/errors.js';
import type { LLMRequest } from '../request/llm-request.js';
import { resolveSimulationConfig, simulationRegistry, type SimulationConfig } from './baselines.js';
import { Prng } from './workload/prng.js';
import type { WorkloadRequest } from './workload/workload-request.js';

/** Inputs of {@link runSimulation}. */
export interface SimulationOptions {
  /** Requests in arrival order (an earlier arrival than the previous one is taken as "now"). */
  readonly workload: Iterable<WorkloadRequest>;
  /** Number of simulated replicas (endpoints), ≥ 1. */
  readonly replicas: number;
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
  /** Generated tokens / simulated span (first arrival to last finish). */
  readonly outputTokensPerSec: number;
  /** Simulated span in seconds. */
  readonly spanS: number;
  readonly preemptions: number;
}

/** The q-quantile (nearest rank) of `values`, or NaN when empty; sorts `values` in place. */
export function quantile(values: Float64Array, q: number): number {
  if (values.length === 0) return Number.NaN;
  values.sort();
  const i = Math.min(values.length - 1, Math.max(0, Math.ceil(q * values.length) - 1));
  return values[i] ?? Number.NaN;
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
  readonly #seen = new Set<number>();
  hits = 0;
  blocks = 0;

  observe(hashes: Float64Array): void {
    for (const h of hashes) {
      if (this.#seen.has(h)) this.hits++;
      else this.#seen.add(h);
    }
    this.blocks += hashes.length;
  }
}

const NO_HEADERS: ReadonlyMap<string, string> = new Map();

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
  datastore.setEndpoints(
    Array.from({ length: options.replicas }, (_, i) => ({ name: `replica-${i}`, address: `replica-${i}`, port: 8000, labels: {} })),
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
  const onFinish = (r: EngineResult): void => {
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
    cachedTokens += r.cachedTokens;
    promptTokens += r.request.promptTokens;
    ttfts.push(r.firstTokenS - r.arrivalS);
  };
  const engines = endpoints.map((e) => new Engine({ profile, engineId: e.name, listener: { onFinish } }));
  const engineOf = new Map<Endpoint, Engine>(endpoints.map((e, i) => [e, engines[i] as Engine]));

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
    const engine = target === undefined ? undefined : engineOf.get(target);
    if (engine === undefined) {
      director.release(decision);
      failed++;
      return;
    }
    decisions.set(id, decision);
    // The engine generates at least one token; a zero-length answer still costs one decode step.
    engine.submit({ id, promptTokens: w.promptTokens, blockHashes: hashes, maxOutputTokens: Math.max(1, w.outputTokens) });
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
  for (const e of engines) {
    const s = e.snapshot();
    generated += s.generationTokens;
    preemptions += s.preemptions;
    for (const v of s.itl.values()) itls.push(v);
  }
  const ttftValues = ttfts.toArray();
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
    itlP50Ms: quantile(itls.toArray(), 0.5) * 1000,
    outputTokensPerSec: spanS > 0 ? generated / spanS : 0,
    spanS,
    preemptions,
  };
}
