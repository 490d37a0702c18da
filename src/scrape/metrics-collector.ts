/**
 * Keeps every endpoint's metrics fresh, off the request path: one scrape loop per endpoint at
 * `--refresh-metrics-interval`, started and stopped as discovery changes the pool. A loop never
 * overlaps itself (a tick is skipped while a scrape is in flight), backs off exponentially while an
 * endpoint fails, and publishes a new immutable EndpointMetrics value into the endpoint.
 *
 * Unknown is never idle: values older than `--metrics-staleness-threshold` become UNKNOWN (checked on
 * every tick, also while backing off), and a refused connection makes them UNKNOWN at once.
 */
import { UNKNOWN_METRICS, type Endpoint } from '../datastore/endpoint.js';
import type { Logger } from '../observability/logger.js';
import type { EngineConfig } from './engine-config.js';
import { extractMetrics } from './extract-metrics.js';
import { ScrapeError, type MetricsFetcher } from './scrape-error.js';

/** Time source and timers, injected so tests run on fake timers. */
export interface Clock {
  now(): number;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};

/** Counters the collector reports (the reference's data-layer error metrics). */
export interface CollectorMetrics {
  pollError(): void;
  extractError(): void;
}

export interface CollectorOptions {
  readonly intervalMs: number;
  readonly stalenessMs: number;
  readonly timeoutMs: number;
  readonly maxBytes: number;
  /** Longest pause between attempts while an endpoint keeps failing. */
  readonly maxBackoffMs: number;
  readonly scheme: 'http' | 'https';
  readonly path: string;
  /**
   * Ask for only the families the engine reads (`?name[]=…`, prometheus_client's filter, which vLLM
   * and SGLang serve); servers that ignore the parameter answer the full page, parsed the same way.
   */
  readonly nameFilter: boolean;
  readonly fetcher: MetricsFetcher;
  readonly engineFor: (endpoint: Endpoint) => EngineConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: CollectorMetrics;
}

/** Every this many scrapes (and whenever capacity is not known yet) the capacity families are read too. */
const CAPACITY_EVERY = 20;

class ScrapeLoop {
  #inFlight = false;
  #scrapes = 0;
  #capacityThisScrape = true;
  #stopped = false;
  #failures = 0;
  #nextAttemptAt = 0;
  #handle: unknown;
  readonly #url: URL;
  readonly #frequentUrl: URL;

  constructor(
    readonly endpoint: Endpoint,
    private readonly engine: EngineConfig,
    private readonly options: CollectorOptions,
  ) {
    const host = endpoint.address.includes(':') ? `[${endpoint.address}]` : endpoint.address;
    this.#url = new URL(`${options.scheme}://${host}:${endpoint.port}${options.path}`);
    this.#frequentUrl = new URL(this.#url);
    if (options.nameFilter) {
      for (const name of [...engine.wanted].sort()) this.#url.searchParams.append('name[]', name);
      for (const name of [...engine.wantedFrequent].sort()) this.#frequentUrl.searchParams.append('name[]', name);
    }
    this.#handle = options.clock.setInterval(() => this.tick(), options.intervalMs);
    this.tick();
  }

  tick(): void {
    const { clock, stalenessMs } = this.options;
    const now = clock.now();
    const m = this.endpoint.metrics;
    if (m.known && now - m.updatedAtMs > stalenessMs) this.endpoint.metrics = UNKNOWN_METRICS;
    if (this.#inFlight || this.#stopped || now < this.#nextAttemptAt) return;
    this.#inFlight = true;
    this.#capacityThisScrape = this.#scrapes++ % CAPACITY_EVERY === 0 || this.endpoint.metrics.cacheBlockSize === 0;
    const url = this.#capacityThisScrape ? this.#url : this.#frequentUrl;
    this.options.fetcher.fetch(url, { timeoutMs: this.options.timeoutMs, maxBytes: this.options.maxBytes }).then(
      (text) => this.#succeeded(text),
      (err: unknown) => this.#failed(err),
    );
  }

  stop(): void {
    this.#stopped = true;
    this.options.clock.clearInterval(this.#handle);
    this.options.fetcher.forget(this.#url);
  }

  #succeeded(text: string): void {
    this.#inFlight = false;
    if (this.#stopped) return;
    this.#failures = 0;
    this.#nextAttemptAt = 0;
    const now = this.options.clock.now();
    const { metrics, missing } = extractMetrics(text, this.engine, now, this.#capacityThisScrape, this.endpoint.metrics);
    if (missing.length > 0) {
      this.options.metrics?.extractError();
      if (this.options.logger.isLevelEnabled('debug')) this.options.logger.debug({ endpoint: this.endpoint.name, missing }, 'metrics families missing');
    }
    this.endpoint.metrics = metrics;
  }

  #failed(err: unknown): void {
    this.#inFlight = false;
    if (this.#stopped) return;
    this.options.metrics?.pollError();
    const { intervalMs, maxBackoffMs, clock } = this.options;
    this.#failures++;
    this.#nextAttemptAt = clock.now() + Math.min(maxBackoffMs, intervalMs * 2 ** Math.min(this.#failures, 16));
    // A refused connection means nothing is listening: the replica is gone or restarting.
    if (err instanceof ScrapeError && err.kind === 'refused') this.endpoint.metrics = UNKNOWN_METRICS;
    if (this.#failures === 1 || this.options.logger.isLevelEnabled('debug')) {
      this.options.logger.info({ endpoint: this.endpoint.name, err: err instanceof Error ? err.message : String(err), failures: this.#failures }, 'metrics scrape failed');
    }
  }
}

export class MetricsCollector {
  readonly #loops = new Map<Endpoint, ScrapeLoop>();

  constructor(private readonly options: CollectorOptions) {}

  /** Starts loops for new endpoints and stops those of endpoints no longer present. */
  sync(endpoints: readonly Endpoint[]): void {
    const present = new Set(endpoints);
    for (const [endpoint, loop] of this.#loops) {
      if (!present.has(endpoint)) {
        loop.stop();
        this.#loops.delete(endpoint);
      }
    }
    for (const endpoint of endpoints) {
      if (!this.#loops.has(endpoint)) this.#loops.set(endpoint, new ScrapeLoop(endpoint, this.options.engineFor(endpoint), this.options));
    }
  }

  get size(): number {
    return this.#loops.size;
  }

  stop(): void {
    for (const loop of this.#loops.values()) loop.stop();
    this.#loops.clear();
    this.options.fetcher.close();
  }
}
