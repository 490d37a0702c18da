/**
 * A custom resource kind that more than one API group may serve, watched from the group the cluster
 * serves it in. InferenceObjective and InferenceModelRewrite are served as `llm-d.ai/v1alpha2` since
 * llm-d-router v0.10 and as `inference.networking.x-k8s.io/v1alpha2` before; the reference decides
 * once at start with API discovery (`GET /apis/<group>/<version>`, the kind listed there) and prefers
 * the new group, ignoring the legacy one when both are installed.
 *
 * Contracts (the reference's choice, plus what it leaves to a restart):
 * - The first group, in the candidates' order, whose discovery document lists the kind is watched;
 *   when it is not the first candidate a deprecation is logged, and when the preferred group is
 *   installed alongside others, that the others are ignored.
 * - A discovery answer other than 200 or 404 (API server down, 5xx) decides nothing: it is retried
 *   with capped backoff, so a slow API server at start does not disable the resource.
 * - Until the preferred group is watched, discovery is repeated every `recheckMs` (default 60 s): a
 *   CRD installed after start is picked up, and a newly installed preferred group replaces a legacy
 *   one — the new group's first list completes before the legacy watch is dropped, so the objects
 *   never disappear in between. A group that stops being served (CRD deleted) empties the items.
 * - `onChange` is called after every change to `items`, including a switch of group.
 */
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { ServedKind } from './inference-api-groups.js';
import { httpStatusOf, Reflector, type KubeResource, type ReflectorOptions } from './reflector.js';
import { backoffDelay, SYSTEM_TIMERS, type KubeTimers } from './timers.js';

/** The kinds a group version serves, or undefined when the API server does not serve it (404). */
export type ApiDiscovery = (group: string, version: string) => Promise<ReadonlySet<string> | undefined>;

/** API discovery through the library's typed client (`GET /apis/<group>/<version>`). */
export function apiDiscovery(kc: KubeConfig): ApiDiscovery {
  const api = kc.makeApiClient(CustomObjectsApi);
  return async (group, version) => {
    try {
      const list = await api.getAPIResources({ group, version });
      return new Set((list.resources as { kind?: unknown }[] | undefined ?? []).map((r) => (typeof r.kind === 'string' ? r.kind : '')));
    } catch (err) {
      if (httpStatusOf(err) === 404) return undefined;
      throw err;
    }
  };
}

export interface ServedCrdReflectorOptions<T> extends Omit<ReflectorOptions<T>, 'resource' | 'optional' | 'list'> {
  readonly served: ServedKind;
  /** Test hook: API discovery (default: the library's client). */
  readonly discover?: ApiDiscovery;
  /** Discovery is repeated this often until the preferred group is watched; default 60 s. */
  readonly recheckMs?: number;
  /** Longest wait for one discovery answer; default 30 s. */
  readonly discoveryTimeoutMs?: number;
}

interface Watched<T> {
  readonly resource: KubeResource;
  readonly reflector: Reflector<T>;
}

const NOTHING: ReadonlyMap<string, never> = new Map<string, never>();

const groupVersion = (r: KubeResource): string => `${r.group}/${r.version}`;

/** Keeps `items` in step with the kind in the best group the cluster serves. See the module comment. */
export class ServedCrdReflector<T> {
  readonly #o: ServedCrdReflectorOptions<T>;
  readonly #timers: KubeTimers;
  readonly #discover: ApiDiscovery;
  #current: Watched<T> | undefined;
  #pending: Watched<T> | undefined;
  #decided = false;
  #reportedAbsent = false;
  #stopped = false;
  #running: Promise<void> | undefined;
  #interrupt: (() => void) | undefined;
  readonly #retired = new Set<Promise<void>>();

  constructor(options: ServedCrdReflectorOptions<T>) {
    this.#o = options;
    this.#timers = options.timers ?? SYSTEM_TIMERS;
    this.#discover = options.discover ?? apiDiscovery(options.kubeConfig);
  }

  /** Decoded objects by name, from the group being watched (empty when none serves the kind). */
  get items(): ReadonlyMap<string, T> {
    return this.#current?.reflector.items ?? NOTHING;
  }

  /** The resource being watched, undefined while no group serves the kind (or before discovery answered). */
  get resource(): KubeResource | undefined {
    return this.#current?.resource;
  }

  /** Discovery has answered, and the watched group (if any) has been listed. */
  get synced(): boolean {
    return this.#decided && (this.#current === undefined || this.#current.reflector.synced);
  }

  /** Starts discovery, then the watch, in the background; idempotent. */
  start(): void {
    this.#running ??= this.#run().catch((err: unknown) => this.#o.logger.error({ err, resource: this.#o.name }, 'CRD discovery stopped by an unexpected error'));
  }

  /** Stops discovery and every watch; no `onChange` is called after this resolves. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#interrupt?.();
    await this.#running;
    await Promise.all([this.#current?.reflector.stop(), this.#pending?.reflector.stop(), ...this.#retired]);
  }

  async #run(): Promise<void> {
    const preferred = this.#o.served.candidates[0];
    let failures = 0;
    while (!this.#stopped) {
      let served: KubeResource[];
      try {
        served = await this.#servedResources();
        failures = 0;
      } catch (err) {
        if (this.#stopped) return;
        const delay = backoffDelay(failures++, this.#o.backoffBaseMs ?? 200, this.#o.backoffMaxMs ?? 30_000, this.#o.random ?? Math.random);
        this.#o.logger.warn({ resource: this.#o.name, err: err instanceof Error ? err.message : String(err), retryInMs: Math.round(delay) }, 'API discovery failed; retrying');
        await this.#sleep(delay);
        continue;
      }
      if (this.#stopped) return;
      this.#follow(served);
      if (served[0] === preferred) return;
      await this.#sleep(this.#o.recheckMs ?? 60_000);
    }
  }

  /** The candidates whose group version lists the kind, in preference order. */
  async #servedResources(): Promise<KubeResource[]> {
    const out: KubeResource[] = [];
    for (const r of this.#o.served.candidates) {
      const kinds = await this.#withTimeout(this.#discover(r.group, r.version));
      if (kinds?.has(this.#o.served.kind) === true) out.push(r);
    }
    return out;
  }

  /** Moves the watch to the best served group (or drops it when none serves the kind any more). */
  #follow(served: readonly KubeResource[]): void {
    const { logger, name, served: kind } = this.#o;
    const first = !this.#decided;
    this.#decided = true;
    const best = served[0];
    if (best === undefined) {
      if (!this.#reportedAbsent) {
        logger.info({ resource: name, groups: kind.candidates.map(groupVersion) }, `${kind.kind} is not installed in the cluster; checking again every ${Math.round((this.#o.recheckMs ?? 60_000) / 1000)} s`);
        this.#reportedAbsent = true;
      }
      if (this.#current !== undefined) {
        logger.warn({ resource: name, group: groupVersion(this.#current.resource) }, `${kind.kind} is no longer served; its objects are dropped`);
        this.#retire(this.#current);
        this.#current = undefined;
        this.#safeOnChange();
      } else if (first) {
        this.#safeOnChange();
      }
      return;
    }
    this.#reportedAbsent = false;
    if (this.#current?.resource === best) {
      // A newer group that appeared and went again before it was listed.
      if (this.#pending !== undefined) this.#retire(this.#pending);
      this.#pending = undefined;
      return;
    }
    if (this.#pending?.resource === best) return;
    if (best === kind.candidates[0] && served.length > 1) {
      logger.warn({ resource: name, using: groupVersion(best), ignored: served.slice(1).map(groupVersion) }, `${kind.kind} is installed in more than one API group; using ${best.group} and ignoring the others`);
    } else if (best !== kind.candidates[0]) {
      logger.warn({ resource: name, using: groupVersion(best), replacement: groupVersion(kind.candidates[0]) }, `DEPRECATION: ${kind.kind} is served only as ${groupVersion(best)}; install the ${kind.candidates[0].group} CRD`);
    }
    const watched = this.#watch(best);
    if (this.#current === undefined) {
      this.#current = watched;
      logger.info({ resource: name, group: groupVersion(best) }, `watching ${kind.kind}`);
    } else {
      if (this.#pending !== undefined) this.#retire(this.#pending);
      this.#pending = watched;
      logger.info({ resource: name, from: groupVersion(this.#current.resource), to: groupVersion(best) }, `${kind.kind} is now served by a preferred group; switching once it is listed`);
    }
    watched.reflector.start();
  }

  #watch(resource: KubeResource): Watched<T> {
    const { served: _served, discover: _discover, recheckMs: _recheck, discoveryTimeoutMs: _timeout, onChange: _onChange, ...common } = this.#o;
    const entry: { resource: KubeResource; reflector?: Reflector<T> } = { resource };
    const reflector = new Reflector<T>({ ...common, resource, optional: true, onChange: () => this.#changed(entry as Watched<T>) });
    entry.reflector = reflector;
    return entry as Watched<T>;
  }

  #changed(entry: Watched<T>): void {
    if (entry === this.#current) {
      this.#safeOnChange();
      return;
    }
    if (entry === this.#pending && entry.reflector.synced) {
      const old = this.#current;
      this.#current = entry;
      this.#pending = undefined;
      if (old !== undefined) this.#retire(old);
      this.#o.logger.info({ resource: this.#o.name, group: groupVersion(entry.resource) }, `switched ${this.#o.served.kind} to the preferred group`);
      this.#safeOnChange();
    }
  }

  #retire(w: Watched<T>): void {
    const p = w.reflector.stop().finally(() => this.#retired.delete(p));
    this.#retired.add(p);
  }

  #safeOnChange(): void {
    if (this.#stopped) return;
    try {
      this.#o.onChange();
    } catch (err) {
      this.#o.logger.error({ err, resource: this.#o.name }, 'discovery change handler failed');
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = this.#timers.setTimeout(() => {
        this.#interrupt = undefined;
        resolve();
      }, ms);
      this.#interrupt = () => {
        this.#timers.clearTimeout(t);
        this.#interrupt = undefined;
        resolve();
      };
    });
  }

  /** Bounds one discovery call; a stop abandons it at once. */
  #withTimeout<R>(p: Promise<R>): Promise<R> {
    const ms = this.#o.discoveryTimeoutMs ?? 30_000;
    return new Promise<R>((resolve, reject) => {
      const t = this.#timers.setTimeout(() => reject(new Error(`API discovery took longer than ${ms} ms`)), ms);
      this.#interrupt = () => {
        this.#timers.clearTimeout(t);
        this.#interrupt = undefined;
        reject(new Error('stopped'));
      };
      p.then(
        (v) => {
          this.#timers.clearTimeout(t);
          this.#interrupt = undefined;
          resolve(v);
        },
        (err: unknown) => {
          this.#timers.clearTimeout(t);
          this.#interrupt = undefined;
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }
}
