/**
 * A reflector keeps a local copy of one resource type in one namespace in step with the API server,
 * using the library's list call and its `Watch` stream. It does what the library's `ListWatch` does
 * not: a dropped or failed watch resumes from the last seen resourceVersion (the informer stops
 * and reports an error on anything but a clean close); list and watch failures retry with capped,
 * jittered backoff; a watch with no traffic for longer than its server timeout plus a grace period is
 * abandoned and reopened (a half-open connection otherwise hangs forever); 410 Gone — an HTTP 410 or
 * an ERROR event carrying a 410 Status — triggers a fresh list that replaces the copy. A 404 on the
 * first list of an optional resource means its CRD is not installed: logged once, then the reflector
 * stays empty and counts as synced.
 */
import { CoreV1Api, CustomObjectsApi, Watch, type KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import type { Logger } from '../observability/logger.js';
import { backoffDelay, SYSTEM_TIMERS, type KubeTimers } from './timers.js';

/** A namespaced resource type: `group` '' is the core API. */
export interface KubeResource {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
}

export const POD_RESOURCE: KubeResource = { group: '', version: 'v1', plural: 'pods' };

/** The collection URL of a namespaced resource. */
export function resourcePath(r: KubeResource, namespace: string): string {
  const ns = encodeURIComponent(namespace);
  return r.group === '' ? `/api/${r.version}/namespaces/${ns}/${r.plural}` : `/apis/${r.group}/${r.version}/namespaces/${ns}/${r.plural}`;
}

/** One page of a list: raw items and the collection's resourceVersion. */
export interface ListResult {
  readonly items: readonly unknown[];
  readonly resourceVersion: string;
}

export interface Selectors {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

/** Lists a resource through the library's typed API clients (CoreV1Api for pods, CustomObjectsApi for CRDs). */
export function makeLister(kc: KubeConfig, r: KubeResource, namespace: string, selectors: Selectors): () => Promise<ListResult> {
  const sel = {
    ...(selectors.labelSelector === undefined ? {} : { labelSelector: selectors.labelSelector }),
    ...(selectors.fieldSelector === undefined ? {} : { fieldSelector: selectors.fieldSelector }),
  };
  if (r.group === '' && r.plural === 'pods') {
    const core = kc.makeApiClient(CoreV1Api);
    return async () => {
      const list = await core.listNamespacedPod({ namespace, ...sel });
      return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
    };
  }
  if (r.group === '') throw new Error(`no lister for core resource ${r.plural}`);
  const custom = kc.makeApiClient(CustomObjectsApi);
  return async () => {
    const list = listSchema.parse(await custom.listNamespacedCustomObject({ group: r.group, version: r.version, plural: r.plural, namespace, ...sel }));
    return { items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion ?? '' };
  };
}

const listSchema = z.object({ items: z.array(z.unknown()).nullish(), metadata: z.object({ resourceVersion: z.string().optional() }).optional() });

const metaSchema = z.object({
  metadata: z.object({ name: z.string().min(1), namespace: z.string().optional(), resourceVersion: z.string().optional() }),
});

const statusSchema = z.object({ code: z.number().optional(), reason: z.string().optional(), message: z.string().optional() });

/** An HTTP status carried by the library's errors (`ApiException.code`, watch errors' `statusCode`). */
export function httpStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e.statusCode === 'number') return e.statusCode;
  if (typeof e.code === 'number') return e.code;
  return undefined;
}

/** A watch ended with a Status the reflector does not recover from by resuming. */
class WatchStatusError extends Error {
  override readonly name = 'WatchStatusError';
  constructor(readonly code: number | undefined, message: string) {
    super(message);
  }
}

/** A list or watch took longer than allowed. */
class KubeTimeoutError extends Error {
  override readonly name = 'KubeTimeoutError';
}

export interface ReflectorOptions<T> {
  /** For logs: e.g. `pods`. */
  readonly name: string;
  readonly kubeConfig: KubeConfig;
  readonly resource: KubeResource;
  readonly namespace: string;
  readonly selectors?: Selectors;
  /** Decodes one raw object; throwing marks it invalid (logged, treated as absent). */
  readonly decode: (raw: unknown) => T;
  /** Called after each change to the copy (a list, or a watch event that changed it). Must not throw. */
  readonly onChange: () => void;
  /** A 404 on the first list means "CRD not installed" rather than an error. */
  readonly optional?: boolean;
  readonly logger: Logger;
  readonly timers?: KubeTimers;
  readonly random?: () => number;
  /** First retry delay; default 200 ms. */
  readonly backoffBaseMs?: number;
  /** Longest retry delay; default 30 s. */
  readonly backoffMaxMs?: number;
  /** Server-side watch timeout (`timeoutSeconds`); default 5–10 min, jittered. */
  readonly watchTimeoutSeconds?: number;
  /** Longest wait for a list answer; default 60 s. */
  readonly listTimeoutMs?: number;
  /** Test hook: the list function (default: the library's typed clients). */
  readonly list?: () => Promise<ListResult>;
}

type WatchOutcome = 'closed' | 'expired';

/** Keeps `items` (decoded objects by name) in step with the API server. See the module comment. */
export class Reflector<T> {
  readonly #o: ReflectorOptions<T>;
  readonly #timers: KubeTimers;
  readonly #random: () => number;
  readonly #list: () => Promise<ListResult>;
  readonly #watch: Watch;
  readonly #items = new Map<string, T>();
  #resourceVersion = '';
  #synced = false;
  #absent = false;
  #stopped = false;
  #running: Promise<void> | undefined;
  /** Ends the current wait (sleep or watch) early when stopping. */
  #interrupt: (() => void) | undefined;
  #abortWatch: (() => void) | undefined;
  #lists = 0;

  constructor(options: ReflectorOptions<T>) {
    this.#o = options;
    this.#timers = options.timers ?? SYSTEM_TIMERS;
    this.#random = options.random ?? Math.random;
    this.#list = options.list ?? makeLister(options.kubeConfig, options.resource, options.namespace, options.selectors ?? {});
    this.#watch = new Watch(options.kubeConfig);
  }

  /** Decoded objects by name. */
  get items(): ReadonlyMap<string, T> {
    return this.#items;
  }

  /** True once the first list succeeded (or the optional CRD turned out not to be installed). */
  get synced(): boolean {
    return this.#synced;
  }

  /** True when the optional resource's CRD is not installed. */
  get absent(): boolean {
    return this.#absent;
  }

  /** The last resourceVersion seen (from a list, an event or a bookmark). */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  /** How many lists succeeded (1 + relists). */
  get lists(): number {
    return this.#lists;
  }

  /** Starts the list/watch loop in the background; idempotent. */
  start(): void {
    this.#running ??= this.#run().catch((err: unknown) => this.#o.logger.error({ err, resource: this.#o.name }, 'reflector stopped by an unexpected error'));
  }

  /** Stops the loop and closes the watch; no `onChange` is called after this resolves. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abortWatch?.();
    this.#interrupt?.();
    await this.#running;
  }

  async #run(): Promise<void> {
    const { logger } = this.#o;
    let failures = 0;
    let needList = true;
    while (!this.#stopped) {
      const startedAt = this.#timers.now();
      try {
        if (needList) {
          const list = await this.#withTimeout(this.#list(), this.#o.listTimeoutMs ?? 60_000, 'list');
          if (this.#stopped) return;
          this.#replace(list);
          needList = false;
          failures = 0;
        }
        const before = this.#resourceVersion;
        const outcome = await this.#watchOnce();
        if (this.#stopped) return;
        if (outcome === 'expired') {
          logger.info({ resource: this.#o.name, resourceVersion: before }, 'watch expired (410 Gone); relisting');
          needList = true;
          continue;
        }
        // A watch that ends at once without progress, over and over, must not spin.
        if (this.#resourceVersion === before && this.#timers.now() - startedAt < 1000) {
          await this.#sleep(backoffDelay(failures++, this.#o.backoffBaseMs ?? 200, this.#o.backoffMaxMs ?? 30_000, this.#random));
        } else {
          failures = 0;
        }
      } catch (err) {
        if (this.#stopped) return;
        const code = err instanceof WatchStatusError ? err.code : httpStatusOf(err);
        if (code === 410) {
          logger.info({ resource: this.#o.name }, 'resourceVersion too old (410 Gone); relisting');
          needList = true;
          continue;
        }
        if (code === 404 && needList && this.#o.optional === true && !this.#synced) {
          logger.info({ resource: this.#o.name }, 'resource not installed in the cluster (404 on list); not watching it');
          this.#absent = true;
          this.#synced = true;
          this.#safeOnChange();
          return;
        }
        const delay = backoffDelay(failures++, this.#o.backoffBaseMs ?? 200, this.#o.backoffMaxMs ?? 30_000, this.#random);
        logger.warn({ resource: this.#o.name, err: errorText(err), httpStatus: code, retryInMs: Math.round(delay), phase: needList ? 'list' : 'watch' }, 'Kubernetes API call failed; retrying');
        await this.#sleep(delay);
      }
    }
  }

  #replace(list: ListResult): void {
    this.#items.clear();
    for (const raw of list.items) this.#upsert(raw);
    this.#resourceVersion = list.resourceVersion;
    this.#synced = true;
    this.#lists++;
    this.#safeOnChange();
  }

  /** Stores a decoded object; an undecodable one is removed (it no longer describes anything usable). */
  #upsert(raw: unknown): void {
    const meta = metaSchema.safeParse(raw);
    if (!meta.success) {
      this.#o.logger.warn({ resource: this.#o.name }, 'object without metadata.name ignored');
      return;
    }
    const name = meta.data.metadata.name;
    try {
      this.#items.set(name, this.#o.decode(raw));
    } catch (err) {
      this.#items.delete(name);
      this.#o.logger.warn({ resource: this.#o.name, name, err: errorText(err) }, 'object could not be decoded; ignored');
    }
  }

  #watchOnce(): Promise<WatchOutcome> {
    return new Promise<WatchOutcome>((resolve, reject) => {
      let settled = false;
      let controller: AbortController | undefined;
      let deadline: unknown;
      const timeoutSeconds = this.#o.watchTimeoutSeconds ?? Math.round(300 + this.#random() * 300);
      const graceMs = Math.max(1000, timeoutSeconds * 100);
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        this.#timers.clearTimeout(deadline);
        this.#abortWatch = undefined;
        this.#interrupt = undefined;
        controller?.abort();
        fn();
      };
      const armDeadline = (): void => {
        this.#timers.clearTimeout(deadline);
        deadline = this.#timers.setTimeout(() => finish(() => reject(new KubeTimeoutError(`watch silent for ${timeoutSeconds}s + grace`))), timeoutSeconds * 1000 + graceMs);
      };
      this.#abortWatch = () => finish(() => resolve('closed'));
      this.#interrupt = this.#abortWatch;
      armDeadline();
      const query: Record<string, string | boolean | number> = { allowWatchBookmarks: true, timeoutSeconds };
      if (this.#resourceVersion !== '') query.resourceVersion = this.#resourceVersion;
      if (this.#o.selectors?.labelSelector !== undefined) query.labelSelector = this.#o.selectors.labelSelector;
      if (this.#o.selectors?.fieldSelector !== undefined) query.fieldSelector = this.#o.selectors.fieldSelector;
      this.#watch
        .watch(
          resourcePath(this.#o.resource, this.#o.namespace),
          query,
          (type: string, object: unknown) => {
            if (settled) return;
            armDeadline();
            const outcome = this.#onEvent(type, object);
            if (outcome === 'expired') finish(() => resolve('expired'));
            else if (outcome instanceof Error) finish(() => reject(outcome));
          },
          (err: unknown) => finish(() => (err === null || err === undefined ? resolve('closed') : reject(toError(err)))),
        )
        .then(
          (c) => {
            controller = c;
            if (settled) c.abort();
          },
          (err: unknown) => finish(() => reject(toError(err))),
        );
    });
  }

  /** Applies one watch event; returns 'expired' for a 410 ERROR, an Error for other ERROR events. */
  #onEvent(type: string, object: unknown): 'expired' | Error | undefined {
    if (type === 'ERROR') {
      const s = statusSchema.safeParse(object);
      const code = s.success ? s.data.code : undefined;
      if (code === 410) return 'expired';
      return new WatchStatusError(code, `watch ERROR event: ${s.success ? (s.data.message ?? s.data.reason ?? 'unknown') : 'malformed status'}`);
    }
    const meta = metaSchema.safeParse(object);
    const rv = meta.success ? meta.data.metadata.resourceVersion : undefined;
    if (type === 'BOOKMARK') {
      const bm = z.object({ metadata: z.object({ resourceVersion: z.string() }) }).safeParse(object);
      if (bm.success) this.#resourceVersion = bm.data.metadata.resourceVersion;
      return undefined;
    }
    if (!meta.success) return undefined;
    if (type === 'ADDED' || type === 'MODIFIED') this.#upsert(object);
    else if (type === 'DELETED') this.#items.delete(meta.data.metadata.name);
    else return undefined;
    if (rv !== undefined) this.#resourceVersion = rv;
    this.#safeOnChange();
    return undefined;
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

  #withTimeout<R>(p: Promise<R>, ms: number, what: string): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const t = this.#timers.setTimeout(() => reject(new KubeTimeoutError(`${what} took longer than ${ms} ms`)), ms);
      // A stop during a hung list must not wait for it.
      this.#interrupt = () => {
        this.#timers.clearTimeout(t);
        this.#interrupt = undefined;
        reject(new KubeTimeoutError('stopped'));
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
          reject(toError(err));
        },
      );
    });
  }
}

/** Keeps Errors (and their status fields) as they are; wraps anything else. */
function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
