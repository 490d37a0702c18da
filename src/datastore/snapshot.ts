import type { Endpoint } from './endpoint.js';

/**
 * An immutable view of the pool, built off the request path whenever discovery changes it. Requests
 * read the current snapshot once and use it for their whole decision.
 */
export class EndpointSnapshot {
  /** Endpoints by `address:port`. */
  readonly byHostPort: ReadonlyMap<string, Endpoint>;
  /** Endpoints by bare address (all ports of one address). */
  readonly byAddress: ReadonlyMap<string, readonly Endpoint[]>;

  constructor(
    readonly endpoints: readonly Endpoint[],
    readonly version: number,
  ) {
    const byHostPort = new Map<string, Endpoint>();
    const byAddress = new Map<string, Endpoint[]>();
    for (const e of endpoints) {
      byHostPort.set(e.hostPort, e);
      const list = byAddress.get(e.address);
      if (list === undefined) byAddress.set(e.address, [e]);
      else list.push(e);
    }
    this.byHostPort = byHostPort;
    this.byAddress = byAddress;
    Object.freeze(this.endpoints);
  }

  static readonly EMPTY = new EndpointSnapshot([], 0);
}
