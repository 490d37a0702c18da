/**
 * The `EndpointPickerConfig` document, decoded strictly as the reference does (unknown fields are
 * errors). Both apiVersions are accepted.
 */
import { z } from 'zod';

export const API_VERSIONS = ['llm-d.ai/v1alpha1', 'inference.networking.x-k8s.io/v1alpha1'] as const;
export const FEATURE_GATES = ['flowControl', 'enableLegacyMetrics', 'dataLayer'] as const;

const pluginRef = z.strictObject({ pluginRef: z.string().min(1) });

export const endpointPickerConfigSchema = z.strictObject({
  apiVersion: z.enum(API_VERSIONS),
  kind: z.literal('EndpointPickerConfig'),
  featureGates: z.array(z.enum(FEATURE_GATES)).default([]),
  plugins: z
    .array(
      z.strictObject({
        name: z.string().min(1).optional(),
        type: z.string().min(1),
        parameters: z.unknown().optional(),
      }),
    )
    .default([]),
  schedulingProfiles: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        plugins: z.array(z.strictObject({ pluginRef: z.string().min(1), weight: z.number().finite().min(0).optional() })).default([]),
      }),
    )
    .default([]),
  saturationDetector: pluginRef.optional(),
  parser: pluginRef.optional(),
  dataLayer: z
    .strictObject({
      injectDefaults: z.boolean().optional(),
      sources: z.array(z.strictObject({ pluginRef: z.string().min(1), extractors: z.array(pluginRef).default([]) })).default([]),
      discovery: pluginRef.optional(),
    })
    .optional(),
  flowControl: z.record(z.string(), z.unknown()).optional(),
});

export type EndpointPickerConfig = z.output<typeof endpointPickerConfigSchema>;
