/**
 * Typed per-request state shared by the plugins of one request: a data producer stores what it
 * computed (e.g. prefix matches) under a key, and the scorers and hooks that need it read it back.
 * Keys are created once per plugin type at module load; state is a small array indexed by key.
 */
let nextKeyIndex = 0;

/** A typed slot in CycleState. Create one per kind of data, at module level. */
export class StateKey<T> {
  readonly index = nextKeyIndex++;
  declare readonly type: T;
  constructor(readonly name: string) {}
}

export class CycleState {
  readonly #slots: unknown[] = [];

  get<T>(key: StateKey<T>): T | undefined {
    return this.#slots[key.index] as T | undefined;
  }

  set<T>(key: StateKey<T>, value: T): void {
    this.#slots[key.index] = value;
  }
}
