/**
 * The `EndpointPickerConfig` document as the reference's `endpointpickerconfig_types.go` (v0.10)
 * defines it, decoded strictly as the reference's Kubernetes strict decoder does: unknown fields,
 * wrong types and duplicate keys are errors. Both apiVersions are accepted (the older one with a
 * deprecation warning from the loader). Plugin `parameters` are left raw here: each plugin decodes
 * its own.
 */
import { z } from 'zod';
import { durationSchema } from '../plugin/parameters.js';

export const API_VERSION = 'llm-d.ai/v1alpha1';
export const DEPRECATED_API_VERSION = 'inference.networking.x-k8s.io/v1alpha1';
export const API_VERSIONS = [API_VERSION, DEPRECATED_API_VERSION] as const;

/** Upstream serializes absent lists and objects as `null` as often as it omits them. */
function nullable<T extends z.ZodType>(schema: T) {
  return schema.nullish().transform((v) => v ?? undefined);
}

function list<T extends z.ZodType>(element: T) {
  return z
    .array(element)
    .nullish()
    .transform((v) => v ?? []);
}

const pluginRef = z.strictObject({ pluginRef: z.string().default('') });

/** A Kubernetes resource quantity (`5000`, `1G`, `512Mi`), decoded to a number. */
const QUANTITY_SUFFIX: Record<string, number> = {
  '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};
export const quantitySchema = z.union([z.number().finite().min(0), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const m = /^\s*(\d+(?:\.\d+)?)(?:[eE]([+-]?\d+))?(m|[kMGTPE]i?)?\s*$/.exec(value);
  const scale = m === null ? undefined : QUANTITY_SUFFIX[m[3] ?? ''];
  if (m === null || scale === undefined || (m[2] !== undefined && m[3] !== undefined)) {
    ctx.addIssue({ code: 'custom', message: `invalid quantity "${value}" (e.g. 5000, 1G, 512Mi)` });
    return z.NEVER;
  }
  return Number(m[1]) * 10 ** Number(m[2] ?? 0) * scale;
});

const priorityBand = z.strictObject({
  priority: z.number().int().default(0),
  maxBytes: quantitySchema.optional(),
  maxRequests: quantitySchema.optional(),
  fairnessPolicyRef: z.string().default(''),
  orderingPolicyRef: z.string().default(''),
});

export const flowControlSchema = z.strictObject({
  maxBytes: quantitySchema.optional(),
  maxRequests: quantitySchema.optional(),
  defaultRequestTTL: durationSchema.optional(),
  noEndpointRequestTTL: durationSchema.optional(),
  defaultPriorityBand: nullable(priorityBand),
  defaultNegativePriorityBand: nullable(priorityBand),
  priorityBands: list(priorityBand),
  usageLimitPolicyPluginRef: z.string().default(''),
  saturationDetector: nullable(pluginRef),
  enableEviction: z.boolean().default(false),
});

export const dataLayerSchema = z.strictObject({
  injectDefaults: z.boolean().optional(),
  sources: list(z.strictObject({ pluginRef: z.string().default(''), extractors: list(pluginRef) })),
  discovery: nullable(pluginRef),
  peerDiscovery: nullable(pluginRef),
  crossReplicaSyncerPluginRef: z.string().default(''),
  crossReplicaSyncInterval: durationSchema.optional(),
});

export const endpointPickerConfigSchema = z.strictObject({
  apiVersion: z.enum(API_VERSIONS),
  kind: z.literal('EndpointPickerConfig'),
  featureGates: list(z.string()),
  plugins: list(
    z.strictObject({
      name: z.string().default(''),
      type: z.string().default(''),
      parameters: z.unknown().optional(),
    }),
  ),
  schedulingProfiles: list(
    z.strictObject({
      name: z.string().default(''),
      plugins: list(z.strictObject({ pluginRef: z.string().default(''), weight: z.number().finite().min(0).optional() })),
    }),
  ),
  dataLayer: nullable(dataLayerSchema),
  flowControl: nullable(flowControlSchema),
  requestHandler: nullable(z.strictObject({ parsers: list(pluginRef) })),
  /** Deprecated: `flowControl.saturationDetector`. */
  saturationDetector: nullable(pluginRef),
  /** Deprecated: `requestHandler.parsers`. */
  parser: nullable(pluginRef),
});

export type EndpointPickerConfig = z.output<typeof endpointPickerConfigSchema>;
export type FlowControlConfig = z.output<typeof flowControlSchema>;
export type DataLayerConfig = z.output<typeof dataLayerSchema>;
