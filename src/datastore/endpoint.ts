/**
 * An endpoint is one `address:port` a model server listens on (a pod with N target ports, or a
 * data-parallel server with N rank ports, is N endpoints). Identity and labels never change for the
 * life of an Endpoint object; scraped metrics arrive as new immutable `EndpointMetrics` values and
 * the reachability flag changes with them (both owned by the metrics collector), and the in-flight
 * counter is owned by the request lifecycle.
 */

/** One data-parallel rank's signals, when a scrape reports several engines. */
export interface RankMetrics {
  readonly rank: string;
  readonly waitingQueueSize: number;
  readonly runningRequestsSize: number;
  readonly kvCacheUsage: number;
}

/**
 * Model-server signals, as last scraped; an immutable value replaced whole by each scrape.
 * `known` is false when the endpoint was never scraped, its scrape fails, or its values are older
 * than the staleness threshold: scorers then treat it as busy, never as idle. When a scrape reports
 * several data-parallel engines, queue and running are summed, KV use is their mean, and `ranks`
 * keeps each engine's values.
 */
export interface EndpointMetrics {
  readonly known: boolean;
  readonly waitingQueueSize: number;
  readonly runningRequestsSize: number;
  /** KV-cache use in [0, 1]. */
  readonly kvCacheUsage: number;
  readonly activeModels: readonly string[];
  readonly waitingModels: readonly string[];
  readonly maxActiveModels: number;
  /** Tokens per KV block (`cache_config_info`), 0 when not reported. */
  readonly cacheBlockSize: number;
  /** KV blocks of one engine (`cache_config_info`), 0 when not reported. */
  readonly cacheNumBlocks: number;
  readonly ranks: readonly RankMetrics[];
  /** Clock time (ms) of the scrape that produced these values; 0 = never. */
  readonly updatedAtMs: number;
  /** The engine's `customMetrics` (core-metrics-extractor) by attribute key; absent when none are configured or found. */
  readonly custom?: Readonly<Record<string, number>>;
}

export const UNKNOWN_METRICS: EndpointMetrics = Object.freeze({
  known: false,
  waitingQueueSize: 0,
  runningRequestsSize: 0,
  kvCacheUsage: 0,
  activeModels: Object.freeze([]),
  waitingModels: Object.freeze([]),
  maxActiveModels: 0,
  cacheBlockSize: 0,
  cacheNumBlocks: 0,
  ranks: Object.freeze([]),
  updatedAtMs: 0,
});

/** No attributes: the value every endpoint starts with. */
export const NO_ATTRIBUTES: Readonly<Record<string, number>> = Object.freeze({});

/** The key of attribute `name` published by extractor type `producer` in `Endpoint.attributes`. */
export function attributeKey(producer: string, name: string): string {
  return `${producer}/${name}`;
}

/** One entry of a model server's `/v1/models` list (OpenAI format), as `models-data-extractor` keeps it. */
export interface ServedModel {
  readonly id: string;
  readonly object?: string;
  readonly created?: number;
  readonly ownedBy?: string;
  /** The base model a LoRA adapter derives from. */
  readonly parent?: string;
}

/** What discovery knows about an endpoint. */
export interface EndpointSpec {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly labels: Readonly<Record<string, string>>;
}

/** Formats `address:port`, bracketing IPv6 addresses (`[::1]:8000`). */
export function joinHostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export class Endpoint implements EndpointSpec {
  /** `address:port` as sent in `x-gateway-destination-endpoint`. */
  readonly hostPort: string;
  /** Requests routed here whose stream has not ended yet (maintained by the director). */
  inFlight = 0;
  /** Replaced (never mutated) by the metrics collector, off the request path. */
  metrics: EndpointMetrics = UNKNOWN_METRICS;
  /**
   * False while the metrics collector cannot reach this endpoint: its last scrape was refused, timed
   * out, lost its connection, answered non-200, a page that is not Prometheus text or one over the
   * size cap, or its last good scrape is older than the staleness threshold. True from discovery
   * (a new replica takes traffic before its first scrape completes) until the first failed scrape,
   * and again from the first good one. Unreachable endpoints are unroutable while a reachable
   * candidate exists (`scheduling/reachable-candidates.ts`). Written by the collector only.
   */
  reachable = true;
  /**
   * Scalar attributes published by data-layer extractors other than the core metrics extractor
   * (e.g. `dcgm-extractor/GPUUtilization`), keyed by `attributeKey`. Replaced whole (never mutated)
   * by the attribute collector, off the request path; an attribute is absent when its source has
   * not answered within the staleness threshold.
   */
  attributes: Readonly<Record<string, number>> = NO_ATTRIBUTES;
  /**
   * The models the endpoint's server lists at `/v1/models` (`models-data-extractor`), replaced whole
   * by the attribute collector; undefined when not configured, not answered yet, or stale.
   */
  servedModels: readonly ServedModel[] | undefined = undefined;

  constructor(
    readonly name: string,
    readonly address: string,
    readonly port: number,
    readonly labels: Readonly<Record<string, string>>,
  ) {
    this.hostPort = joinHostPort(address, port);
  }

  /** True when `spec` describes this very endpoint (same identity, same labels). */
  sameAs(spec: EndpointSpec): boolean {
    if (spec.name !== this.name || spec.address !== this.address || spec.port !== this.port) return false;
    const a = Object.keys(this.labels);
    const b = Object.keys(spec.labels);
    return a.length === b.length && a.every((k) => this.labels[k] === spec.labels[k]);
  }
}
