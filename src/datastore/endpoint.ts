/**
 * An endpoint is one `address:port` a model server listens on (a pod with N target ports, or a
 * data-parallel server with N rank ports, is N endpoints). Identity and labels never change for the
 * life of an Endpoint object; scraped metrics arrive as new immutable `EndpointMetrics` values, and
 * the in-flight counter is the one mutable field, owned by the request lifecycle.
 */

/** Model-server signals, as last scraped. `updatedAtMs` 0 means never scraped (unknown). */
export interface EndpointMetrics {
  readonly waitingQueueSize: number;
  readonly runningRequestsSize: number;
  /** KV-cache use in [0, 1]. */
  readonly kvCacheUsage: number;
  readonly activeModels: readonly string[];
  readonly waitingModels: readonly string[];
  readonly maxActiveModels: number;
  readonly updatedAtMs: number;
}

export const UNKNOWN_METRICS: EndpointMetrics = Object.freeze({
  waitingQueueSize: 0,
  runningRequestsSize: 0,
  kvCacheUsage: 0,
  activeModels: Object.freeze([]),
  waitingModels: Object.freeze([]),
  maxActiveModels: 0,
  updatedAtMs: 0,
});

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
  metrics: EndpointMetrics = UNKNOWN_METRICS;

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
