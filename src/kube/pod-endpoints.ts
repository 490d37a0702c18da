/**
 * From pods to endpoints, as the reference EPP does: a pod belongs to the pool when its labels match
 * the selector, its Ready condition is True, it has no deletionTimestamp and `status.podIP` is set.
 * Each belonging pod gives one endpoint per active target port, named `<pod>-rank-<i>` where `i` is
 * the port's index in the pool's `targetPorts` (so a rank keeps its name when another rank goes
 * inactive; one target port still gives `<pod>-rank-0`). Pod labels are copied to the endpoint.
 *
 * The `llm-d.ai/active-ports` annotation (legacy `inference.networking.k8s.io/active-ports`) lists the
 * ports that take traffic, comma-separated: absent = every target port, empty = none; entries that are
 * not target ports are ignored.
 */
import { z } from 'zod';
import type { EndpointSpec } from '../datastore/endpoint.js';
import { matchesLabels } from './label-selector.js';
import type { PoolSpec } from './pool-spec.js';

export const ACTIVE_PORTS_ANNOTATION = 'llm-d.ai/active-ports';
export const LEGACY_ACTIVE_PORTS_ANNOTATION = 'inference.networking.k8s.io/active-ports';

/** The fields of a Pod that decide its endpoints. */
export interface PodInfo {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly ready: boolean;
  readonly deleting: boolean;
  /** '' when not assigned yet. */
  readonly podIP: string;
}

const podSchema = z.object({
  metadata: z.object({
    name: z.string().min(1),
    labels: z.record(z.string(), z.string()).nullish(),
    annotations: z.record(z.string(), z.string()).nullish(),
    // A string from a watch, a Date from the typed list client: only presence matters.
    deletionTimestamp: z.unknown().optional(),
  }),
  status: z
    .object({
      podIP: z.string().nullish(),
      conditions: z.array(z.object({ type: z.string(), status: z.string() })).nullish(),
    })
    .nullish(),
});

/** Decodes the fields of a Pod that discovery uses (throws on a malformed object). */
export function decodePod(raw: unknown): PodInfo {
  const p = podSchema.parse(raw);
  return {
    name: p.metadata.name,
    labels: p.metadata.labels ?? {},
    annotations: p.metadata.annotations ?? {},
    ready: (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    deleting: p.metadata.deletionTimestamp !== undefined && p.metadata.deletionTimestamp !== null,
    podIP: p.status?.podIP ?? '',
  };
}

/** The target ports the pod's annotation leaves active (all when not annotated). */
export function activePorts(pod: PodInfo, targetPorts: readonly number[]): ReadonlySet<number> {
  const text = pod.annotations[ACTIVE_PORTS_ANNOTATION] ?? pod.annotations[LEGACY_ACTIVE_PORTS_ANNOTATION];
  if (text === undefined) return new Set(targetPorts);
  const listed = new Set(
    text
      .split(',')
      .map((s) => s.trim())
      .filter((s) => /^\d+$/.test(s))
      .map(Number),
  );
  return new Set(targetPorts.filter((p) => listed.has(p)));
}

/** True when the pod takes traffic: selected, Ready, not terminating, with an IP. */
export function podInPool(pod: PodInfo, pool: PoolSpec): boolean {
  return pod.ready && !pod.deleting && pod.podIP !== '' && matchesLabels(pool.selector, pod.labels);
}

/** The endpoints of one pod (none when it is not in the pool). */
export function podEndpoints(pod: PodInfo, pool: PoolSpec): EndpointSpec[] {
  if (!podInPool(pod, pool)) return [];
  const active = activePorts(pod, pool.targetPorts);
  const out: EndpointSpec[] = [];
  pool.targetPorts.forEach((port, rank) => {
    if (active.has(port)) out.push({ name: `${pod.name}-rank-${rank}`, address: pod.podIP, port, labels: { ...pod.labels } });
  });
  return out;
}

/** Every endpoint of the pool, sorted by name so equal sets compare equal. */
export function poolEndpoints(pods: Iterable<PodInfo>, pool: PoolSpec): EndpointSpec[] {
  const out: EndpointSpec[] = [];
  for (const pod of pods) out.push(...podEndpoints(pod, pool));
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** True when two sorted endpoint lists describe the same endpoints (names, addresses, ports, labels). */
export function sameEndpoints(a: readonly EndpointSpec[], b: readonly EndpointSpec[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i];
    if (y === undefined || x.name !== y.name || x.address !== y.address || x.port !== y.port) return false;
    const kx = Object.keys(x.labels);
    return kx.length === Object.keys(y.labels).length && kx.every((k) => x.labels[k] === y.labels[k]);
  });
}
