import type { Endpoint } from '../datastore/endpoint.js';

/** A per-endpoint polling loop that can be stopped. */
export interface StoppableLoop {
  stop(): void;
}

/** One loop per endpoint of the pool: `sync` starts loops for new endpoints and stops those that left. */
export class EndpointLoops<L extends StoppableLoop> {
  readonly #loops = new Map<Endpoint, L>();

  constructor(private readonly start: (endpoint: Endpoint) => L) {}

  sync(endpoints: readonly Endpoint[]): void {
    const present = new Set(endpoints);
    for (const [endpoint, loop] of this.#loops) {
      if (!present.has(endpoint)) {
        loop.stop();
        this.#loops.delete(endpoint);
      }
    }
    for (const endpoint of endpoints) if (!this.#loops.has(endpoint)) this.#loops.set(endpoint, this.start(endpoint));
  }

  get size(): number {
    return this.#loops.size;
  }

  stopAll(): void {
    for (const loop of this.#loops.values()) loop.stop();
    this.#loops.clear();
  }
}
