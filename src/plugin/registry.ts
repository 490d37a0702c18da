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

/**
 * The reference's stability levels. Alpha plugins are refused unless `--allow-experimental-plugins`
 * is set; Beta and Stable ones always load.
 */
export type Stability = 'Alpha' | 'Beta' | 'Stable';

/** How a type is registered besides its factory. */
export interface PluginRegistration {
  readonly stability: Stability;
  /**
   * Built after every other plugin of a configuration, because its factory looks up other plugins
   * by name (a disaggregation handler and its deciders): the order plugins are listed in then does
   * not matter, as in the reference.
   */
  readonly resolvesReferences?: boolean;
  /** Deprecated in the reference: still loads, with a warning naming the replacement. */
  readonly deprecatedFor?: string;
}

/** Plugin type name → factory. Type names are the config contract shared with llm-d. */
export class PluginRegistry {
  readonly #factories = new Map<string, PluginFactory>();
  readonly #registrations = new Map<string, PluginRegistration>();

  register(type: string, factory: PluginFactory, registration: PluginRegistration = { stability: 'Beta' }): void {
    if (this.#factories.has(type)) throw new Error(`plugin type "${type}" registered twice`);
    this.#factories.set(type, factory);
    this.#registrations.set(type, registration);
  }

  has(type: string): boolean {
    return this.#factories.has(type);
  }

  types(): string[] {
    return [...this.#factories.keys()].sort();
  }

  /** How `type` was registered (undefined for an unknown type). */
  registration(type: string): PluginRegistration | undefined {
    return this.#registrations.get(type);
  }

  create(type: string, name: string, parameters: unknown, context: PluginContext): Plugin {
    const factory = this.#factories.get(type);
    if (factory === undefined) throw new Error(`unknown plugin type "${type}"`);
    return factory(name, parameters, context);
  }
}
