/**
 * InferenceModelRewrites (`llm-d.ai/v1alpha2`, or the legacy `inference.networking.x-k8s.io/v1alpha2`;
 * same schema): rules that rewrite the requested
 * model to weighted targets. A rule matches a model when one of its `matches[].model` (type Exact) has
 * that value; a rule without matches is generic and matches any model. Exact rules beat generic ones;
 * among equals the oldest resource (creationTimestamp, then name) wins, then the first rule in its list.
 * A target is picked by weighted random over `weight` (all zero → uniform).
 */
import { z } from 'zod';
import { POOL_GROUP_V1 } from './pool-spec.js';
import { inferenceKind, type ServedKind } from './inference-api-groups.js';

/** Where InferenceModelRewrites are served, preferred group first. */
export const MODEL_REWRITE_KIND: ServedKind = inferenceKind('InferenceModelRewrite', 'inferencemodelrewrites');

export interface RewriteTarget {
  readonly model: string;
  readonly weight: number;
}

/** One rule of one InferenceModelRewrite. */
export interface ModelRewriteRule {
  /** The resource's name (for logs and tie-breaks). */
  readonly source: string;
  /** Exact model names matched; empty = generic rule. */
  readonly models: readonly string[];
  readonly targets: readonly RewriteTarget[];
}

/** One decoded InferenceModelRewrite. */
export interface ModelRewriteInfo {
  readonly name: string;
  /** ms since epoch; NaN sorts last. */
  readonly createdAt: number;
  readonly poolName: string;
  readonly poolGroup: string;
  readonly rules: readonly ModelRewriteRule[];
}

const schema = z.object({
  metadata: z.object({ name: z.string().min(1), creationTimestamp: z.unknown().optional() }),
  spec: z.object({
    poolRef: z.object({ name: z.string().min(1), group: z.string().nullish() }),
    rules: z
      .array(
        z.object({
          matches: z.array(z.object({ model: z.object({ type: z.string().default('Exact'), value: z.string() }) })).nullish(),
          targets: z.array(z.object({ modelRewrite: z.string().min(1), weight: z.number().int().min(0).max(1_000_000).nullish() })).min(1),
        }),
      )
      .nullish(),
  }),
});

export function decodeModelRewrite(raw: unknown): ModelRewriteInfo {
  const r = schema.parse(raw);
  const ts = r.metadata.creationTimestamp;
  const createdAt = ts instanceof Date ? ts.getTime() : typeof ts === 'string' ? Date.parse(ts) : NaN;
  return {
    name: r.metadata.name,
    createdAt,
    poolName: r.spec.poolRef.name,
    poolGroup: r.spec.poolRef.group ?? POOL_GROUP_V1,
    rules: (r.spec.rules ?? []).map((rule) => ({
      source: r.metadata.name,
      models: (rule.matches ?? []).filter((m) => m.model.type === 'Exact').map((m) => m.model.value),
      targets: rule.targets.map((t) => ({ model: t.modelRewrite, weight: t.weight ?? 1 })),
    })),
  };
}

/** The rules that apply to a pool, in precedence order (oldest resource first, then list order). */
export function poolRewriteRules(rewrites: Iterable<ModelRewriteInfo>, poolName: string, poolGroup: string): ModelRewriteRule[] {
  const mine = [...rewrites].filter((r) => r.poolName === poolName && r.poolGroup === poolGroup);
  mine.sort((a, b) => {
    const ta = Number.isNaN(a.createdAt) ? Infinity : a.createdAt;
    const tb = Number.isNaN(b.createdAt) ? Infinity : b.createdAt;
    return ta !== tb ? ta - tb : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
  return mine.flatMap((r) => r.rules);
}

/**
 * The model names rules configure: their exact-match models and rewrite targets, each once, in rule
 * order. These are the operator's names, which metrics pin so client-chosen names cannot crowd out.
 */
export function rewriteModelNames(rules: readonly ModelRewriteRule[]): string[] {
  const names = new Set<string>();
  for (const r of rules) {
    for (const m of r.models) names.add(m);
    for (const t of r.targets) names.add(t.model);
  }
  return [...names];
}

/** The model a request for `model` is rewritten to, or undefined when no rule matches. */
export function resolveModelRewrite(rules: readonly ModelRewriteRule[], model: string, random: () => number): string | undefined {
  return pickModelRewrite(rules, model, random)?.target;
}

/** The rewrite of `model` with the name of the InferenceModelRewrite that chose it (for metrics), or undefined. */
export function pickModelRewrite(rules: readonly ModelRewriteRule[], model: string, random: () => number): { readonly rewriteName: string; readonly target: string } | undefined {
  const rule = rules.find((r) => r.models.includes(model)) ?? rules.find((r) => r.models.length === 0);
  if (rule === undefined) return undefined;
  const target = weightedTarget(rule.targets, random);
  return target === undefined ? undefined : { rewriteName: rule.source, target };
}

function weightedTarget(targets: readonly RewriteTarget[], random: () => number): string | undefined {
  const total = targets.reduce((s, t) => s + t.weight, 0);
  if (total <= 0) return targets[Math.floor(random() * targets.length)]?.model;
  let x = random() * total;
  for (const t of targets) {
    x -= t.weight;
    if (x < 0) return t.model;
  }
  return targets[targets.length - 1]?.model;
}
