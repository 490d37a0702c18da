/**
 * Counters kept by the gateway, in the spirit of Envoy's `ext_proc.*` and router stats. They are
 * plain numbers read live (no snapshots), for tests and for the demo's summary.
 */

/** Live, read-only view of the gateway's counters. All start at 0 and only `inFlight`/`streamsActive` go down. */
export interface GatewayStats {
  /** HTTP requests accepted. */
  readonly requests: number;
  /** Requests not yet finished (answered, failed or aborted); 0 when idle. */
  readonly inFlight: number;
  /** Requests sent on to an endpoint the picker chose (whatever the upstream then did). */
  readonly routed: number;
  /** `routed`, by the chosen endpoint's `ip:port`. */
  readonly routedByEndpoint: ReadonlyMap<string, number>;
  /** Routed requests whose header and `envoy.lb` metadata named the same destination. */
  readonly destinationAgreed: number;
  /** Routed requests whose header and metadata both named a destination, but different ones (metadata wins). */
  readonly destinationMismatch: number;
  /** Routed requests with the destination only in metadata. */
  readonly destinationMetadataOnly: number;
  /** Routed requests with the destination only in the header the picker set. */
  readonly destinationHeaderOnly: number;
  /** Requests whose client sent `x-gateway-destination-endpoint` itself (never used for routing). */
  readonly clientDestinationHeaders: number;
  /** Requests answered by the picker's `ImmediateResponse`. */
  readonly immediateResponses: number;
  /** 503 `no healthy upstream`: no valid destination from the picker. */
  readonly noHealthyUpstream: number;
  /** Upstream connect failures, resets and idle timeouts. */
  readonly upstreamFailures: number;
  /** Requests failed closed because the picker was unreachable, erred or broke the protocol (500). */
  readonly processorErrors: number;
  /** Requests failed because the picker did not answer in time (504 when fail closed). */
  readonly processorTimeouts: number;
  /** Processor failures let through by `failureModeAllow`. */
  readonly failureModeAllowed: number;
  /** Header mutations ignored under Envoy's default rules (e.g. setting `host` or `x-envoy-*`). */
  readonly rejectedHeaderMutations: number;
  /** Request-header responses with `clear_route_cache` set. */
  readonly clearRouteCache: number;
  /** Requests the client abandoned before the response was complete. */
  readonly clientAborts: number;
  /** Requests routing by model found no pool for (answered 404). */
  readonly noRoute: number;
  /** ext_proc streams opened. */
  readonly streamsStarted: number;
  /** ext_proc streams not yet closed; 0 when idle. */
  readonly streamsActive: number;
}

/** The mutable counters behind {@link GatewayStats}; only the gateway writes them. */
export class GatewayCounters implements GatewayStats {
  requests = 0;
  inFlight = 0;
  routed = 0;
  readonly routedByEndpoint = new Map<string, number>();
  destinationAgreed = 0;
  destinationMismatch = 0;
  destinationMetadataOnly = 0;
  destinationHeaderOnly = 0;
  clientDestinationHeaders = 0;
  immediateResponses = 0;
  noHealthyUpstream = 0;
  upstreamFailures = 0;
  processorErrors = 0;
  processorTimeouts = 0;
  failureModeAllowed = 0;
  rejectedHeaderMutations = 0;
  clearRouteCache = 0;
  clientAborts = 0;
  noRoute = 0;
  streamsStarted = 0;
  streamsActive = 0;

  countRouted(address: string): void {
    this.routed++;
    this.routedByEndpoint.set(address, (this.routedByEndpoint.get(address) ?? 0) + 1);
  }
}
