/**
 * Leader election over a `coordination.k8s.io/v1` Lease, with client-go's algorithm and
 * controller-runtime's default timings (lease 15 s, renew deadline 10 s, retry every 2 s): a replica
 * takes the lease when it does not exist, is free (empty holder) or has not been renewed for a lease
 * duration as observed on this replica's own clock (so clock skew between replicas does not matter);
 * updates carry the resourceVersion read, so two candidates never both win. The leader renews every
 * retry period and steps down when renewals fail for the renew deadline or another holder appears.
 * `stop()` releases a held lease (holder cleared) so a standby takes over without waiting it out.
 *
 * Unlike controller-runtime, losing the lease does not exit the process: the replica reports not
 * ready and keeps competing.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { z } from 'zod';
import type { Logger } from '../observability/logger.js';
import { httpStatusOf } from './reflector.js';
import { SYSTEM_TIMERS, type KubeTimers } from './timers.js';

export interface LeaderElectionOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  /** The Lease name: the reference uses `epp-<namespace>-<pool>.llm-d.ai`. */
  readonly leaseName: string;
  /** This replica's identity; default `<hostname>_<random>`. */
  readonly identity?: string;
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
  readonly logger: Logger;
  readonly timers?: KubeTimers;
  /** Called whenever leadership is gained or lost. */
  readonly onChange?: (leader: boolean) => void;
}

/** The reference's Lease name for a pool. */
export function leaseNameFor(namespace: string, pool: string): string {
  return `epp-${namespace}-${pool}.llm-d.ai`;
}

const leaseSchema = z.object({
  metadata: z.object({ resourceVersion: z.string().optional() }),
  spec: z
    .object({
      holderIdentity: z.string().nullish(),
      leaseDurationSeconds: z.number().nullish(),
      // The library leaves MicroTime undecoded (a string); accept a Date too.
      acquireTime: z.unknown().optional(),
      renewTime: z.unknown().optional(),
      leaseTransitions: z.number().nullish(),
    })
    .nullish(),
});

interface Observed {
  readonly holder: string;
  readonly renewTime: string;
}

/** Competes for the Lease; `leader` says whether this replica holds it now. */
export class LeaderElector {
  readonly #o: LeaderElectionOptions;
  readonly #api: CoordinationV1Api;
  readonly #timers: KubeTimers;
  readonly identity: string;
  readonly #leaseMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryMs: number;
  #leader = false;
  #stopped = false;
  #timer: unknown;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #observed: Observed | undefined;
  #observedAt = 0;
  #lastRenew = 0;

  constructor(options: LeaderElectionOptions) {
    this.#o = options;
    this.#api = options.kubeConfig.makeApiClient(CoordinationV1Api);
    this.#timers = options.timers ?? SYSTEM_TIMERS;
    this.identity = options.identity ?? `${hostname()}_${randomBytes(6).toString('hex')}`;
    this.#leaseMs = options.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.#retryMs = options.retryPeriodMs ?? 2_000;
    if (!(this.#renewDeadlineMs < this.#leaseMs && this.#retryMs < this.#renewDeadlineMs)) {
      throw new RangeError('leader election needs retryPeriod < renewDeadline < leaseDuration');
    }
  }

  get leader(): boolean {
    return this.#leader;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops competing; a held lease is released. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timers.clearTimeout(this.#timer);
    this.#wake?.();
    await this.#loop;
    if (this.#leader) {
      this.#setLeader(false);
      try {
        const current = await this.#api.readNamespacedLease({ name: this.#o.leaseName, namespace: this.#o.namespace });
        const lease = leaseSchema.parse(current);
        if ((lease.spec?.holderIdentity ?? '') === this.identity) {
          const now = new V1MicroTime(this.#timers.now());
          await this.#api.replaceNamespacedLease({
            name: this.#o.leaseName,
            namespace: this.#o.namespace,
            body: { ...current, spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now } },
          });
        }
      } catch (err) {
        this.#o.logger.warn({ err: err instanceof Error ? err.message : String(err), lease: this.#o.leaseName }, 'could not release the leader lease');
      }
    }
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      let won = false;
      try {
        won = await this.#tryAcquireOrRenew();
      } catch (err) {
        this.#o.logger.warn({ err: err instanceof Error ? err.message : String(err), httpStatus: httpStatusOf(err), lease: this.#o.leaseName }, 'leader lease update failed');
      }
      if (this.#stopped) return;
      if (won) {
        this.#lastRenew = this.#timers.now();
        this.#setLeader(true);
      } else if (this.#leader && this.#timers.now() - this.#lastRenew >= this.#renewDeadlineMs) {
        this.#setLeader(false);
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        this.#timer = this.#timers.setTimeout(resolve, this.#retryMs);
      });
      this.#wake = undefined;
    }
  }

  /** One attempt; true when this replica holds the lease afterwards. Throws on API errors. */
  async #tryAcquireOrRenew(): Promise<boolean> {
    const { leaseName: name, namespace } = this.#o;
    const now = this.#timers.now();
    const micro = new V1MicroTime(now);
    let current: V1Lease;
    try {
      current = await this.#api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (httpStatusOf(err) !== 404) throw err;
      try {
        await this.#api.createNamespacedLease({
          namespace,
          body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: { holderIdentity: this.identity, leaseDurationSeconds: Math.ceil(this.#leaseMs / 1000), acquireTime: micro, renewTime: micro, leaseTransitions: 0 } },
        });
        return true;
      } catch (createErr) {
        if (httpStatusOf(createErr) === 409) return false;
        throw createErr;
      }
    }
    const lease = leaseSchema.parse(current);
    const holder = lease.spec?.holderIdentity ?? '';
    const renewTime = timeText(lease.spec?.renewTime);
    if (this.#observed === undefined || this.#observed.holder !== holder || this.#observed.renewTime !== renewTime) {
      this.#observed = { holder, renewTime };
      this.#observedAt = now;
    }
    const durationMs = (lease.spec?.leaseDurationSeconds ?? Math.ceil(this.#leaseMs / 1000)) * 1000;
    if (holder !== '' && holder !== this.identity && this.#observedAt + durationMs > now) {
      if (this.#leader) this.#setLeader(false);
      return false;
    }
    const mine = holder === this.identity;
    const body: V1Lease = {
      ...current,
      spec: {
        ...current.spec,
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.ceil(this.#leaseMs / 1000),
        acquireTime: mine && current.spec?.acquireTime !== undefined ? current.spec.acquireTime : micro,
        renewTime: micro,
        leaseTransitions: mine ? (lease.spec?.leaseTransitions ?? 0) : (lease.spec?.leaseTransitions ?? 0) + 1,
      },
    };
    try {
      await this.#api.replaceNamespacedLease({ name, namespace, body });
      return true;
    } catch (err) {
      if (httpStatusOf(err) === 409) return false;
      throw err;
    }
  }

  #setLeader(leader: boolean): void {
    if (leader === this.#leader) return;
    this.#leader = leader;
    this.#o.logger.info({ lease: this.#o.leaseName, identity: this.identity }, leader ? 'became leader' : 'lost leadership');
    this.#o.onChange?.(leader);
  }
}

function timeText(v: unknown): string {
  if (v instanceof Date) return v.toISOString();
  return typeof v === 'string' ? v : '';
}
