/**
 * Runs one attribute source (`dcgm-data-source`, …) for every endpoint: a scrape loop per endpoint on
 * the source's own period, never overlapping itself, backing off while the endpoint's page fails.
 * Each good page goes through the source's extractors; their values are merged into the endpoint's
 * endpoint (`attributes`: a new frozen record each time, other producers' attributes kept). An extractor whose
 * page lacks its metric, or whose values are older than the staleness threshold, has its attributes
 * removed: a missing GPU reading must not look like an idle GPU. Attribute sources never change an
 * endpoint's reachability (only its model server's metrics page does).
 */
import { EndpointLoops } from './endpoint-loops.js';
import type { Endpoint } from '../datastore/endpoint.js';
import type { Logger } from '../observability/logger.js';
import type { AttributeExtractor, AttributeSource } from './attribute-source.js';
import type { Clock, CollectorMetrics } from './metrics-collector.js';
import type { MetricsFetcher } from './scrape-error.js';

export interface AttributeCollectorOptions {
  readonly source: AttributeSource;
  readonly extractors: readonly AttributeExtractor[];
  readonly intervalMs: number;
  readonly stalenessMs: number;
  readonly maxBackoffMs: number;
  readonly fetcher: MetricsFetcher;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: CollectorMetrics;
}

class AttributeLoop {
  #inFlight = false;
  #stopped = false;
  #failures = 0;
  #nextAttemptAt = 0;
  /** Per extractor, clock time of its last good values; 0 = none held. */
  readonly #goodAt: number[];
  readonly #handle: unknown;
  readonly #url: URL;

  constructor(
    readonly endpoint: Endpoint,
    private readonly options: AttributeCollectorOptions,
  ) {
    const { target } = options.source;
    const host = endpoint.address.includes(':') ? `[${endpoint.address}]` : endpoint.address;
    this.#url = new URL(`${target.scheme}://${host}:${target.port ?? endpoint.port}${target.path}`);
    this.#goodAt = options.extractors.map(() => 0);
    this.#handle = options.clock.setInterval(() => this.tick(), options.intervalMs);
    this.tick();
  }

  tick(): void {
    const { clock, stalenessMs, extractors } = this.options;
    const now = clock.now();
    extractors.forEach((x, i) => {
      const at = this.#goodAt[i] ?? 0;
      if (at > 0 && now - at > stalenessMs) this.#drop(x, i);
    });
    if (this.#inFlight || this.#stopped || now < this.#nextAttemptAt) return;
    this.#inFlight = true;
    const { timeoutMs, maxResponseBytes } = this.options.source.target;
    this.options.fetcher.fetch(this.#url, { timeoutMs, maxBytes: maxResponseBytes }).then(
      (page) => this.#succeeded(page),
      (err: unknown) => this.#failed(err),
    );
  }

  stop(): void {
    this.#stopped = true;
    this.options.clock.clearInterval(this.#handle);
    this.options.fetcher.forget(this.#url);
    this.options.extractors.forEach((x, i) => this.#drop(x, i));
  }

  #drop(extractor: AttributeExtractor, i: number): void {
    this.#goodAt[i] = 0;
    extractor.clear(this.endpoint);
  }

  #succeeded(page: string): void {
    this.#inFlight = false;
    if (this.#stopped) return;
    this.#failures = 0;
    this.#nextAttemptAt = 0;
    const now = this.options.clock.now();
    this.options.extractors.forEach((x, i) => {
      const failure = x.update(page, this.endpoint);
      if (failure === undefined) {
        this.#goodAt[i] = now;
        return;
      }
      this.#goodAt[i] = 0;
      this.options.metrics?.extractError();
      if (this.options.logger.isLevelEnabled('debug')) this.options.logger.debug({ endpoint: this.endpoint.name, source: this.options.source.typedName.name, extractor: x.typedName.name, reason: failure }, 'attribute extraction failed');
    });
  }

  #failed(err: unknown): void {
    this.#inFlight = false;
    if (this.#stopped) return;
    const { intervalMs, maxBackoffMs, clock, logger, metrics } = this.options;
    metrics?.pollError();
    this.#failures++;
    this.#nextAttemptAt = clock.now() + Math.min(maxBackoffMs, intervalMs * 2 ** Math.min(this.#failures, 16));
    if (logger.isLevelEnabled('debug')) logger.debug({ endpoint: this.endpoint.name, source: this.options.source.typedName.name, err: err instanceof Error ? err.message : String(err), failures: this.#failures }, 'attribute scrape failed');
  }
}

export class AttributeCollector {
  readonly #loops: EndpointLoops<AttributeLoop>;

  constructor(private readonly options: AttributeCollectorOptions) {
    this.#loops = new EndpointLoops((endpoint) => new AttributeLoop(endpoint, options));
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
