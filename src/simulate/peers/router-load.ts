/**
 * Per-endpoint load as a router counts it from its own decisions (SGLang's in-flight counter and
 * processed count): what the peer-router baselines score. Keyed by endpoint identity.
 */
import type { Endpoint } from '../../datastore/endpoint.js';

/** Counters of one endpoint. */
export class EndpointLoad {
  /** Requests routed here and not ended. */
  inFlight = 0;
  /** Requests routed here so far (SGLang's `processed` tie-break). */
  processed = 0;
}

/** The load of every endpoint a router has seen. */
export class RouterLoad {
  readonly #loads = new WeakMap<Endpoint, EndpointLoad>();

  /** The counters of `endpoint` (created at zero on first use). */
  of(endpoint: Endpoint): EndpointLoad {
    let load = this.#loads.get(endpoint);
    if (load === undefined) {
      load = new EndpointLoad();
      this.#loads.set(endpoint, load);
    }
    return load;
  }
}
