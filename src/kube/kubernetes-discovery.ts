/**
 * Kubernetes discovery: the pool's endpoints from an InferencePool (or, standalone, a fixed selector
 * and target ports) and its Pods, plus InferenceObjective priorities and InferenceModelRewrite rules
 * when those CRDs are installed (`llm-d.ai/v1alpha2`, else the legacy
 * `inference.networking.x-k8s.io/v1alpha2`: see served-crd.ts), and optionally leader election.
 *
 * Contracts:
 * - `onEndpoints` is called with the full, name-sorted endpoint set whenever it changes, and first
 *   only once both the pool and its pods have been listed; until then nothing is published, so the
 *   datastore stays unsynced and health NOT_SERVING.
 * - While the API server is unreachable the last published set stays (routing continues); `synced`
 *   stays true once reached, except when the pool itself is deleted or becomes invalid: then the
 *   endpoints are cleared and `synced` is false, as the reference clears its datastore.
 * - A pool whose selector changes gets a fresh pod list with the new selector; target-port changes
 *   re-derive endpoints from the pods already known.
 * - With leader election every replica keeps discovering (a standby is warm), but only the leader is
 *   `ready`.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { EndpointSpec } from '../datastore/endpoint.js';
import type { Logger } from '../observability/logger.js';
import { loadKubeConfig } from './kube-client.js';
import { formatLabelSelector, type LabelSelector } from './label-selector.js';
import { LeaderElector, leaseNameFor } from './leader-election.js';
import { decodeModelRewrite, MODEL_REWRITE_KIND, poolRewriteRules, rewriteModelNames, type ModelRewriteInfo, type ModelRewriteRule } from './model-rewrites.js';
import { decodeObjective, OBJECTIVE_KIND, objectivePriorities, type ObjectiveInfo } from './objectives.js';
import { decodePod, poolEndpoints, sameEndpoints, type PodInfo } from './pod-endpoints.js';
import { decodePool, poolResource, type PoolSpec } from './pool-spec.js';
import { POD_RESOURCE, Reflector } from './reflector.js';
import { ServedCrdReflector } from './served-crd.js';
import type { KubeTimers } from './timers.js';

/** Which pool to serve: an InferencePool by name, or standalone pods by selector and ports. */
export type PoolSource =
  | { readonly poolName: string; readonly poolGroup: string }
  | { readonly selector: LabelSelector; readonly targetPorts: readonly number[] };

/** What `epp serve` passes for Kubernetes discovery (`--pool-*`, `--endpoint-*`, `--ha-*`). */
export interface KubernetesDiscoveryConfig {
  readonly namespace: string;
  readonly pool: PoolSource;
  /** Compete for the Lease `epp-<ns>-<pool>.llm-d.ai`; not ready while not the leader. */
  readonly leaderElection?: boolean;
  /** Lease name in standalone mode (no pool name); default `epp-<ns>-standalone.llm-d.ai`. */
  readonly leaseName?: string;
  /** Injected API access (tests); default in-cluster or KUBECONFIG. */
  readonly kubeConfig?: KubeConfig;
  readonly timers?: KubeTimers;
  readonly random?: () => number;
  /** Reflector backoff bounds (tests shorten them). */
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  /** How often API discovery is repeated while the preferred CRD group is not installed (default 60 s). */
  readonly crdRecheckMs?: number;
  /** Leader-election timings (tests shorten them). */
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
  readonly identity?: string;
}

export interface KubernetesDiscoveryOptions extends KubernetesDiscoveryConfig {
  readonly logger: Logger;
  readonly onEndpoints: (specs: EndpointSpec[]) => void;
  readonly onObjectives: (priorities: ReadonlyMap<string, number>) => void;
  /**
   * The model names this pool's InferenceModelRewrite rules configure (exact-match models and
   * targets), whenever the rules change; for pinning them as metric labels.
   */
  readonly onConfiguredModels?: (names: readonly string[]) => void;
  /** Called when this replica gains or loses the lease (leader election only). */
  readonly onLeaderChange?: (leader: boolean) => void;
}

export class KubernetesDiscovery {
  readonly #o: KubernetesDiscoveryOptions;
  readonly #kc: KubeConfig;
  readonly #poolReflector: Reflector<PoolSpec> | undefined;
  readonly #objectives: ServedCrdReflector<ObjectiveInfo> | undefined;
  readonly #rewrites: ServedCrdReflector<ModelRewriteInfo> | undefined;
  readonly #elector: LeaderElector | undefined;
  #pods: Reflector<PodInfo> | undefined;
  #pool: PoolSpec | undefined;
  #published: EndpointSpec[] | undefined;
  #rewriteRules: ModelRewriteRule[] = [];
  #stopped = false;
  readonly #stopping = new Set<Promise<void>>();
  readonly #makePodReflector: (pool: PoolSpec) => Reflector<PodInfo>;

  constructor(options: KubernetesDiscoveryOptions) {
    this.#o = options;
    this.#kc = options.kubeConfig ?? loadKubeConfig();
    const common = {
      kubeConfig: this.#kc,
      namespace: options.namespace,
      logger: options.logger,
      ...(options.timers === undefined ? {} : { timers: options.timers }),
      ...(options.random === undefined ? {} : { random: options.random }),
      ...(options.backoffBaseMs === undefined ? {} : { backoffBaseMs: options.backoffBaseMs }),
      ...(options.backoffMaxMs === undefined ? {} : { backoffMaxMs: options.backoffMaxMs }),
    };
    const source = options.pool;
    if ('poolName' in source) {
      const group = source.poolGroup;
      this.#poolReflector = new Reflector<PoolSpec>({
        ...common,
        name: 'inferencepools',
        resource: poolResource(group),
        selectors: { fieldSelector: `metadata.name=${source.poolName}` },
        decode: (raw) => decodePool(group, raw),
        onChange: () => this.#poolChanged(),
      });
      const recheck = options.crdRecheckMs === undefined ? {} : { recheckMs: options.crdRecheckMs };
      this.#objectives = new ServedCrdReflector<ObjectiveInfo>({
        ...common,
        ...recheck,
        name: 'inferenceobjectives',
        served: OBJECTIVE_KIND,
        decode: decodeObjective,
        onChange: () => this.#objectivesChanged(),
      });
      this.#rewrites = new ServedCrdReflector<ModelRewriteInfo>({
        ...common,
        ...recheck,
        name: 'inferencemodelrewrites',
        served: MODEL_REWRITE_KIND,
        decode: decodeModelRewrite,
        onChange: () => {
          if (this.#rewrites === undefined) return;
          this.#rewriteRules = poolRewriteRules(this.#rewrites.items.values(), source.poolName, group);
          options.onConfiguredModels?.(rewriteModelNames(this.#rewriteRules));
        },
      });
    } else {
      this.#pool = { selector: source.selector, targetPorts: source.targetPorts, appProtocol: 'http' };
    }
    this.#makePodReflector = (pool) =>
      new Reflector<PodInfo>({
        ...common,
        name: 'pods',
        resource: POD_RESOURCE,
        selectors: { labelSelector: formatLabelSelector(pool.selector) },
        decode: decodePod,
        onChange: () => this.#publish(),
      });
    if (options.leaderElection === true) {
      const leaseName = 'poolName' in source ? leaseNameFor(options.namespace, source.poolName) : (options.leaseName ?? leaseNameFor(options.namespace, 'standalone'));
      this.#elector = new LeaderElector({
        kubeConfig: this.#kc,
        namespace: options.namespace,
        leaseName,
        logger: options.logger,
        ...(options.onLeaderChange === undefined ? {} : { onChange: options.onLeaderChange }),
        ...(options.timers === undefined ? {} : { timers: options.timers }),
        ...(options.identity === undefined ? {} : { identity: options.identity }),
        ...(options.leaseDurationMs === undefined ? {} : { leaseDurationMs: options.leaseDurationMs }),
        ...(options.renewDeadlineMs === undefined ? {} : { renewDeadlineMs: options.renewDeadlineMs }),
        ...(options.retryPeriodMs === undefined ? {} : { retryPeriodMs: options.retryPeriodMs }),
      });
    }
  }

  /** Starts watching (and competing for the lease); returns at once, the first sync comes later. */
  start(): void {
    this.#o.logger.info({ namespace: this.#o.namespace, pool: this.#o.pool, leaderElection: this.#elector !== undefined }, 'Kubernetes discovery starting');
    this.#elector?.start();
    this.#objectives?.start();
    this.#rewrites?.start();
    if (this.#poolReflector !== undefined) this.#poolReflector.start();
    else this.#restartPods();
  }

  /** Stops every watch and releases a held lease. */
  async close(): Promise<void> {
    this.#stopped = true;
    await Promise.all([...this.#stopping, this.#poolReflector?.stop(), this.#pods?.stop(), this.#objectives?.stop(), this.#rewrites?.stop(), this.#elector?.stop()]);
  }

  /** The pool and its pods have been listed and the pool exists (what health calls "live"). */
  get synced(): boolean {
    return this.#pool !== undefined && this.#published !== undefined && this.#pods?.synced === true;
  }

  /** True when leader election is off, or this replica holds the lease. */
  get leader(): boolean {
    return this.#elector?.leader ?? true;
  }

  /** Whether leader election is on. */
  get leaderElection(): boolean {
    return this.#elector !== undefined;
  }

  /** The pool as last decoded (undefined before the first sync or after deletion). */
  get pool(): PoolSpec | undefined {
    return this.#pool;
  }

  /**
   * The InferenceModelRewrite rules for this pool, in precedence order (see `resolveModelRewrite`).
   * Not yet applied on the request path.
   */
  get modelRewriteRules(): readonly ModelRewriteRule[] {
    return this.#rewriteRules;
  }

  /** Relists and reconnects done so far, per resource (for tests and debugging). */
  get stats(): { readonly poolLists: number; readonly podLists: number; readonly podResourceVersion: string } {
    return { poolLists: this.#poolReflector?.lists ?? 0, podLists: this.#pods?.lists ?? 0, podResourceVersion: this.#pods?.resourceVersion ?? '' };
  }

  #poolChanged(): void {
    if (this.#poolReflector === undefined || !('poolName' in this.#o.pool)) return;
    const next = this.#poolReflector.items.get(this.#o.pool.poolName);
    const prev = this.#pool;
    if (next === undefined) {
      if (prev === undefined && this.#published === undefined) return;
      this.#o.logger.warn({ pool: this.#o.pool.poolName }, 'InferencePool not found (deleted, or invalid); endpoints cleared');
      this.#pool = undefined;
      const pods = this.#pods;
      this.#pods = undefined;
      if (pods !== undefined) this.#retire(pods);
      this.#published = undefined;
      this.#o.onEndpoints([]);
      return;
    }
    this.#pool = next;
    if (prev === undefined || formatLabelSelector(prev.selector) !== formatLabelSelector(next.selector)) {
      this.#o.logger.info({ pool: this.#o.pool.poolName, selector: next.selector, targetPorts: next.targetPorts }, 'InferencePool selector set; listing pods');
      this.#restartPods();
    } else {
      this.#publish();
    }
  }

  #restartPods(): void {
    if (this.#stopped || this.#pool === undefined) return;
    const old = this.#pods;
    if (old !== undefined) this.#retire(old);
    this.#pods = this.#makePodReflector(this.#pool);
    this.#pods.start();
  }

  /** Stops a pod reflector that was replaced; `close()` waits for it. */
  #retire(r: Reflector<PodInfo>): void {
    const p = r.stop().finally(() => this.#stopping.delete(p));
    this.#stopping.add(p);
  }

  #publish(): void {
    const pods = this.#pods;
    const pool = this.#pool;
    if (this.#stopped || pods === undefined || pool === undefined || !pods.synced) return;
    const specs = poolEndpoints(pods.items.values(), pool);
    if (this.#published !== undefined && sameEndpoints(this.#published, specs)) return;
    this.#published = specs;
    this.#o.logger.info({ endpoints: specs.length, pods: pods.items.size }, 'pool endpoints updated');
    this.#o.onEndpoints(specs);
  }

  #objectivesChanged(): void {
    if (this.#objectives === undefined || !('poolName' in this.#o.pool)) return;
    this.#o.onObjectives(objectivePriorities(this.#objectives.items.values(), this.#o.pool.poolName, this.#o.pool.poolGroup));
  }
}
