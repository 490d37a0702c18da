/**
 * Where InferenceObjective and InferenceModelRewrite are served: as `llm-d.ai/v1alpha2` since
 * llm-d-router v0.10, and as `inference.networking.x-k8s.io/v1alpha2` before (same schema). Plain data,
 * so that importing it does not load the Kubernetes client (see served-crd.ts for the watching).
 */
import type { KubeResource } from './reflector.js';

/** The API group serving InferenceObjective and InferenceModelRewrite since llm-d-router v0.10. */
export const INFERENCE_API_GROUP = 'llm-d.ai';
/** The group that served them before (Gateway API Inference Extension's experimental group). */
export const LEGACY_INFERENCE_API_GROUP = 'inference.networking.x-k8s.io';
/** Both groups serve the kinds at this version, with the same schema. */
export const INFERENCE_API_VERSION = 'v1alpha2';

/** A kind and the resources that may serve it, most preferred first. */
export interface ServedKind {
  readonly kind: string;
  readonly candidates: readonly [KubeResource, ...KubeResource[]];
}

/** The `llm-d.ai/v1alpha2` resource of a kind, with the legacy group as fallback. */
export function inferenceKind(kind: string, plural: string): ServedKind {
  return {
    kind,
    candidates: [
      { group: INFERENCE_API_GROUP, version: INFERENCE_API_VERSION, plural },
      { group: LEGACY_INFERENCE_API_GROUP, version: INFERENCE_API_VERSION, plural },
    ],
  };
}
