/**
 * Keeps every endpoint's metrics fresh, off the request path: one scrape loop per endpoint at
 * `--refresh-metrics-interval`, started and stopped as discovery changes the pool. A loop never
 * overlaps itself (a tick is skipped while a scrape is in flight), backs off exponentially while an
 * endpoint fails, and publishes a new immutable EndpointMetrics value into the endpoint.
 *
 * Unknown is never idle: values older than `--metrics-staleness-threshold` become UNKNOWN (checked on
 * every tick, also while backing off), and a refused connection makes them UNKNOWN at once.
 *
 * Unreachable means unroutable: the loop also maintains `Endpoint.reachable`. The first failed
 * scrape (any ScrapeFailure: refused, timeout, connection lost, non-200, not Prometheus text, over
 * the size cap), or a last good scrape older than the staleness threshold, makes the endpoint
 * unreachable; the first good scrape (a page that parses, even one lacking some families) makes it
 * reachable again. A new endpoint is reachable until its first scrape fails. Each transition is
 * logged once at info with its reason. Readmission: attempts continue while the endpoint fails, at
 * most `maxBackoffMs` apart and on the interval's ticks, so a replica that recovers is readmitted
 * within `maxBackoffMs + intervalMs` plus one scrape (1.05 s with the defaults), or plus the
 * scrape deadline when the attempt in flight at recovery hangs until it.
 */
import { EndpointLoops } from './endpoint-loops.js';
import { UNKNOWN_METRICS, type Endpoint } from '../datastore/endpoint.js';
import type { Logger } from '../observability/logger.js';
import type { EngineConfig } from './engine-config.js';
import { extractMetrics } from './extract-metrics.js';
import { ScrapeError, type MetricsFetcher, type ScrapeFailure } from './scrape-error.js';

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

/** Why an endpoint is unreachable: how its last scrape failed, or `stale` (no good scrape within the threshold). */
export type UnreachableReason = ScrapeFailure | 'stale';

/** Counters the collector reports (the reference's data-layer error metrics). */
export interface CollectorMetrics {
  pollError(): void;
  extractError(): void;
  /** Called once each time an endpoint becomes unreachable (not on every failed scrape). */
  endpointUnreachable?(reason: UnreachableReason): void;
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
  /** Scrape this port instead of each endpoint's serving port (metrics-data-source `port`). */
  readonly port?: number | undefined;
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
  /** Clock time of the last good scrape; 0 = none yet. */
  #lastGoodAt = 0;
  #unreachableSince = 0;
  #handle: unknown;
  readonly #url: URL;
  readonly #frequentUrl: URL;

  constructor(
    readonly endpoint: Endpoint,
    private readonly engine: EngineConfig,
    private readonly options: CollectorOptions,
  ) {
    const host = endpoint.address.includes(':') ? `[${endpoint.address}]` : endpoint.address;
    this.#url = new URL(`${options.scheme}://${host}:${options.port ?? endpoint.port}${options.path}`);
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
    // Only a deadline longer than the threshold lets a scrape hang this long without failing first.
    if (this.endpoint.reachable && this.#lastGoodAt > 0 && now - this.#lastGoodAt > stalenessMs) this.#unreachable('stale', `no good scrape for ${now - this.#lastGoodAt} ms`, now);
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
    const now = this.options.clock.now();
    const { metrics, missing, garbage } = extractMetrics(text, this.engine, now, this.#capacityThisScrape, this.endpoint.metrics);
    if (missing.length > 0) {
      this.options.metrics?.extractError();
      if (this.options.logger.isLevelEnabled('debug')) this.options.logger.debug({ endpoint: this.endpoint.name, missing }, 'metrics families missing');
    }
    this.endpoint.metrics = metrics;
    if (garbage) {
      this.#failure(new ScrapeError('garbage', `the ${text.length}-character page is not Prometheus text`));
      return;
    }
    this.#failures = 0;
    this.#nextAttemptAt = 0;
    this.#lastGoodAt = now;
    if (!this.endpoint.reachable) {
      this.endpoint.reachable = true;
      this.options.logger.info({ endpoint: this.endpoint.name, unreachableForMs: now - this.#unreachableSince }, 'endpoint reachable again: back in routing');
    }
  }

  #failed(err: unknown): void {
    this.#inFlight = false;
    if (this.#stopped) return;
    this.options.metrics?.pollError();
    this.#failure(err instanceof ScrapeError ? err : new ScrapeError('network', err instanceof Error ? err.message : String(err)));
  }

  #failure(err: ScrapeError): void {
    const { intervalMs, maxBackoffMs, clock, logger } = this.options;
    const now = clock.now();
    this.#failures++;
    this.#nextAttemptAt = now + Math.min(maxBackoffMs, intervalMs * 2 ** Math.min(this.#failures, 16));
    // A refused connection means nothing is listening: the replica is gone or restarting.
    if (err.kind === 'refused') this.endpoint.metrics = UNKNOWN_METRICS;
    this.#unreachable(err.kind, err.message, now);
    if (logger.isLevelEnabled('debug')) logger.debug({ endpoint: this.endpoint.name, reason: err.kind, err: err.message, failures: this.#failures }, 'metrics scrape failed');
  }

  #unreachable(reason: UnreachableReason, detail: string, now: number): void {
    if (!this.endpoint.reachable) return;
    this.endpoint.reachable = false;
    this.#unreachableSince = now;
    this.options.metrics?.endpointUnreachable?.(reason);
    this.options.logger.info({ endpoint: this.endpoint.name, reason, err: detail }, 'endpoint unreachable: out of routing while a reachable candidate exists');
  }
}

export class MetricsCollector {
  readonly #loops: EndpointLoops<ScrapeLoop>;

  constructor(private readonly options: CollectorOptions) {
    this.#loops = new EndpointLoops((endpoint) => new ScrapeLoop(endpoint, options.engineFor(endpoint), options));
  }

  /** Starts loops for new endpoints and stops those of endpoints no longer present. */
  sync(endpoints: readonly Endpoint[]): void {
    this.#loops.sync(endpoints);
  }

  get size(): number {
    return this.#loops.size;
  }

  stop(): void {
    this.#loops.stopAll();
    this.options.fetcher.close();
  }
}
