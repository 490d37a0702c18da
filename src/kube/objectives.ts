/**
 * InferenceObjectives (`llm-d.ai/v1alpha2`, or the legacy `inference.networking.x-k8s.io/v1alpha2`;
 * same schema): the priority of each objective, looked up by `metadata.name` from the objective
 * header. Only objectives whose `poolRef` names this pool (group defaulting to
 * `inference.networking.k8s.io`) count; unset priority is 0.
 */
import { z } from 'zod';
import { POOL_GROUP_V1 } from './pool-spec.js';
import { inferenceKind, type ServedKind } from './inference-api-groups.js';

/** Where InferenceObjectives are served, preferred group first. */
export const OBJECTIVE_KIND: ServedKind = inferenceKind('InferenceObjective', 'inferenceobjectives');

/** One decoded InferenceObjective. */
export interface ObjectiveInfo {
  readonly name: string;
  readonly priority: number;
  readonly poolName: string;
  readonly poolGroup: string;
}

const schema = z.object({
  metadata: z.object({ name: z.string().min(1) }),
  spec: z.object({
    priority: z.number().int().min(-2147483648).max(2147483647).nullish(),
    poolRef: z.object({ name: z.string().min(1), group: z.string().nullish() }),
  }),
});

export function decodeObjective(raw: unknown): ObjectiveInfo {
  const o = schema.parse(raw);
  return { name: o.metadata.name, priority: o.spec.priority ?? 0, poolName: o.spec.poolRef.name, poolGroup: o.spec.poolRef.group ?? POOL_GROUP_V1 };
}

/** Priority by objective name, for the objectives that reference the pool `poolName` of group `poolGroup`. */
export function objectivePriorities(objectives: Iterable<ObjectiveInfo>, poolName: string, poolGroup: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const o of objectives) if (o.poolName === poolName && o.poolGroup === poolGroup) out.set(o.name, o.priority);
  return out;
}
