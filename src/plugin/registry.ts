import type { Plugin } from './plugin.js';

/** What a plugin factory may use besides its parameters. */
export interface PluginContext {
  /** Uniform [0,1) source; injected so simulations and tests are deterministic. */
  readonly random: () => number;
  /** Wall-clock milliseconds, the clock endpoint metrics are stamped with (default Date.now). */
  readonly now?: () => number;
  /** The pool's namespace, where a plugin needs it (session tokens); default `default`. */
  readonly namespace?: string;
}

/** Builds a plugin instance from its config name and raw `parameters` (validated by the factory). */
export type PluginFactory = (name: string, parameters: unknown, context: PluginContext) => Plugin;

/** Plugin type name → factory. Type names are the config contract shared with llm-d. */
export class PluginRegistry {
  readonly #factories = new Map<string, PluginFactory>();

  register(type: string, factory: PluginFactory): void {
    if (this.#factories.has(type)) throw new Error(`plugin type "${type}" registered twice`);
    this.#factories.set(type, factory);
  }

  has(type: string): boolean {
    return this.#factories.has(type);
  }

  types(): string[] {
    return [...this.#factories.keys()].sort();
  }

  create(type: string, name: string, parameters: unknown, context: PluginContext): Plugin {
    const factory = this.#factories.get(type);
    if (factory === undefined) throw new Error(`unknown plugin type "${type}"`);
    return factory(name, parameters, context);
  }
}
