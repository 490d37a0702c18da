import type { LoraAdapter } from './model-card.js';

/**
 * The LoRA adapters the mock serves, by name, in load order. Adapter names are model names for
 * routing purposes: a request whose `model` is a loaded adapter is accepted.
 */
export class LoraRegistry {
  private readonly adapters = new Map<string, LoraAdapter>();

  constructor(initial: Iterable<LoraAdapter> = []) {
    for (const a of initial) this.adapters.set(a.name, a);
  }

  has(name: string): boolean {
    return this.adapters.has(name);
  }

  list(): LoraAdapter[] {
    return [...this.adapters.values()];
  }

  /** Adds an adapter; returns false when one of that name is already loaded. */
  load(adapter: LoraAdapter): boolean {
    if (this.adapters.has(adapter.name)) return false;
    this.adapters.set(adapter.name, adapter);
    return true;
  }

  /** Removes an adapter; returns false when none of that name is loaded. */
  unload(name: string): boolean {
    return this.adapters.delete(name);
  }
}

/** Parses a `--lora-modules` entry: `name` or `name=path` (the path defaults to the name). */
export function parseLoraModule(spec: string): LoraAdapter {
  const eq = spec.indexOf('=');
  const name = (eq < 0 ? spec : spec.slice(0, eq)).trim();
  const path = eq < 0 ? name : spec.slice(eq + 1).trim();
  if (name === '') throw new Error(`invalid LoRA module "${spec}": empty name`);
  return { name, path: path === '' ? name : path };
}
