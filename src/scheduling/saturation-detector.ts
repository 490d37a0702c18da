/**
 * Pool saturation, as admission control reads it: a number in [0, ∞) where ≥ 1 means saturated.
 * Legacy admission sheds sheddable requests (priority < 0) while the detector over the request's
 * candidates reports ≥ 1; flow control compares it with a per-priority ceiling. The reference's
 * default detector is `utilization-detector` (plugins/utilization-detector.ts).
 */
import type { Endpoint } from '../datastore/endpoint.js';
import type { Plugin } from '../plugin/plugin.js';

export interface SaturationDetector {
  /** Saturation over `candidates`; no candidates counts as saturated (1.0). Synchronous and cheap. */
  saturation(candidates: readonly Endpoint[]): number;
}

export function isSaturationDetector(p: Plugin): p is Plugin & SaturationDetector {
  return typeof (p as Partial<SaturationDetector>).saturation === 'function';
}
