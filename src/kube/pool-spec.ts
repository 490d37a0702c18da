/**
 * The InferencePool as discovery needs it, decoded from either API version into one shape:
 * - `inference.networking.k8s.io/v1`: `spec.selector.matchLabels` (matchLabels only) and
 *   `spec.targetPorts[].number` (1–8, unique), `spec.appProtocol`;
 * - `inference.networking.x-k8s.io/v1alpha2`: `spec.selector` as a plain map and one
 *   `spec.targetPortNumber`.
 */
import { z } from 'zod';
import { selectorFromLabels, type LabelSelector } from './label-selector.js';
import type { KubeResource } from './reflector.js';

/** What selects a pool's pods and which of their ports serve traffic (rank i = `targetPorts[i]`). */
export interface PoolSpec {
  /** Equality requirements from `matchLabels` (or `--endpoint-selector`'s full grammar in standalone mode). */
  readonly selector: LabelSelector;
  readonly targetPorts: readonly number[];
  /** `http` (default) or `kubernetes.io/h2c`. */
  readonly appProtocol: string;
}

export const POOL_GROUP_V1 = 'inference.networking.k8s.io';
export const POOL_GROUP_V1ALPHA2 = 'inference.networking.x-k8s.io';

/** The InferencePool resource of a `--pool-group`; other groups are refused. */
export function poolResource(group: string): KubeResource {
  if (group === POOL_GROUP_V1) return { group, version: 'v1', plural: 'inferencepools' };
  if (group === POOL_GROUP_V1ALPHA2) return { group, version: 'v1alpha2', plural: 'inferencepools' };
  throw new RangeError(`unsupported --pool-group "${group}" (use ${POOL_GROUP_V1} or ${POOL_GROUP_V1ALPHA2})`);
}

const port = z.number().int().min(1).max(65535);
const labels = z.record(z.string(), z.string());

const v1Schema = z.object({
  spec: z.object({
    selector: z.object({ matchLabels: labels.default({}) }),
    targetPorts: z
      .array(z.object({ number: port }))
      .min(1)
      .max(8)
      .refine((ps) => new Set(ps.map((p) => p.number)).size === ps.length, { message: 'targetPorts must be unique' }),
    appProtocol: z.string().optional(),
  }),
});

const v1alpha2Schema = z.object({
  spec: z.object({ selector: labels, targetPortNumber: port }),
});

/** Decodes a pool of the given group (throws a ZodError when the object is not a valid pool). */
export function decodePool(group: string, raw: unknown): PoolSpec {
  if (group === POOL_GROUP_V1ALPHA2) {
    const { spec } = v1alpha2Schema.parse(raw);
    return { selector: selectorFromLabels(spec.selector), targetPorts: [spec.targetPortNumber], appProtocol: 'http' };
  }
  const { spec } = v1Schema.parse(raw);
  return { selector: selectorFromLabels(spec.selector.matchLabels), targetPorts: spec.targetPorts.map((p) => p.number), appProtocol: spec.appProtocol ?? 'http' };
}
