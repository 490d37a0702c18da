import { Endpoint, type EndpointSpec } from './endpoint.js';
import { EndpointSnapshot } from './snapshot.js';

/**
 * Holds the pool's endpoints and publishes an immutable snapshot on every change. Endpoint objects
 * are kept across updates while their identity and labels are unchanged, so their in-flight counters
 * and scraped metrics survive a discovery refresh.
 */
export class Datastore {
  #snapshot = EndpointSnapshot.EMPTY;
  #synced = false;
  #objectives: ReadonlyMap<string, number> = new Map();
  readonly #listeners = new Set<(snapshot: EndpointSnapshot) => void>();

  /** The current snapshot; cheap, never blocks. */
  get snapshot(): EndpointSnapshot {
    return this.#snapshot;
  }

  /** True once discovery has delivered the pool at least once (even an empty one). */
  get synced(): boolean {
    return this.#synced;
  }

  /** Replaces the endpoint set. Names must be unique; later duplicates are an error. */
  setEndpoints(specs: readonly EndpointSpec[]): void {
    const previous = new Map(this.#snapshot.endpoints.map((e) => [e.name, e]));
    const seen = new Set<string>();
    const next: Endpoint[] = [];
    for (const spec of specs) {
      if (seen.has(spec.name)) throw new Error(`duplicate endpoint name "${spec.name}"`);
      seen.add(spec.name);
      const old = previous.get(spec.name);
      next.push(old !== undefined && old.sameAs(spec) ? old : new Endpoint(spec.name, spec.address, spec.port, { ...spec.labels }));
    }
    this.#snapshot = new EndpointSnapshot(next, this.#snapshot.version + 1);
    this.#synced = true;
    for (const l of this.#listeners) l(this.#snapshot);
  }

  /** Replaces the InferenceObjectives: priority by objective name. */
  setObjectives(priorities: ReadonlyMap<string, number>): void {
    this.#objectives = priorities;
  }

  /** The priority of a named objective; unknown names (and no header) are priority 0. */
  priorityOf(objective: string): number {
    return this.#objectives.get(objective) ?? 0;
  }

  /** Calls `listener` after every snapshot change; returns an unsubscribe function. */
  onChange(listener: (snapshot: EndpointSnapshot) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
