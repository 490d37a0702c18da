/**
 * `endpoint-attribute-scorer` (llm-d-router v0.10): scores candidates linearly by a numeric attribute.
 *
 * ```yaml
 * - type: endpoint-attribute-scorer
 *   parameters:
 *     attributeKey: GPUUtilization   # required
 *     producer: dcgm-extractor       # default: the core metrics extractor's customMetrics
 *     algorithm:
 *       type: linear_lower_is_better # | linear_higher_is_better (required)
 *       normalization:               # at most one; default adaptiveRange
 *         fixedRange: {min: 0, max: 1}
 * ```
 *
 * `adaptiveRange` takes min and max over the candidates that have the attribute (all equal: each
 * scores 1); `fixedRange` clamps to the configured bounds (min < max). A candidate without the
 * attribute scores 0.
 */
import { z } from 'zod';
import type { Endpoint } from '../../../datastore/endpoint.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters } from '../../../plugin/parameters.js';
import type { Scorer, SchedulingRequest } from '../../types.js';
import { readEndpointAttribute, resolveAttributeRef, type EndpointAttributeRef } from '../endpoint-attribute-key.js';

export const ENDPOINT_ATTRIBUTE_SCORER_TYPE = 'endpoint-attribute-scorer';

const schema = z
  .strictObject({
    attributeKey: z.string().min(1),
    producer: z.string().optional(),
    algorithm: z.strictObject({
      type: z.enum(['linear_lower_is_better', 'linear_higher_is_better']),
      normalization: z
        .strictObject({
          fixedRange: z.strictObject({ min: z.number().default(0), max: z.number().default(0) }).optional(),
          adaptiveRange: z.strictObject({}).optional(),
        })
        .default({}),
    }),
  })
  .transform((p, ctx) => {
    const { fixedRange, adaptiveRange } = p.algorithm.normalization;
    if (fixedRange !== undefined && adaptiveRange !== undefined) ctx.addIssue({ code: 'custom', path: ['algorithm', 'normalization'], message: 'at most one normalization strategy: got both fixedRange and adaptiveRange' });
    if (fixedRange !== undefined && fixedRange.min >= fixedRange.max) ctx.addIssue({ code: 'custom', path: ['algorithm', 'normalization', 'fixedRange'], message: `requires min < max, got min ${fixedRange.min}, max ${fixedRange.max}` });
    return { ...p, ref: resolveAttributeRef(p.attributeKey, p.producer, 'attributeKey', ctx) };
  });

export class EndpointAttributeScorer implements Scorer {
  readonly typedName: TypedName;
  readonly #ref: EndpointAttributeRef;
  readonly #lowerIsBetter: boolean;
  readonly #fixed: { readonly min: number; readonly max: number } | undefined;

  constructor(name: string, parameters: z.output<typeof schema>) {
    this.typedName = { type: ENDPOINT_ATTRIBUTE_SCORER_TYPE, name };
    this.#ref = parameters.ref;
    this.#lowerIsBetter = parameters.algorithm.type === 'linear_lower_is_better';
    this.#fixed = parameters.algorithm.normalization.fixedRange;
  }

  score(_request: SchedulingRequest, candidates: readonly Endpoint[], out: Float64Array): void {
    let min = Infinity;
    let max = -Infinity;
    // NaN marks a candidate without the attribute.
    for (let i = 0; i < candidates.length; i++) {
      const v = readEndpointAttribute(candidates[i] as Endpoint, this.#ref);
      out[i] = v ?? Number.NaN;
      if (v !== undefined) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
    }
    if (this.#fixed !== undefined) ({ min, max } = this.#fixed);
    for (let i = 0; i < candidates.length; i++) {
      const v = out[i] as number;
      if (Number.isNaN(v)) out[i] = 0;
      else if (this.#fixed === undefined && max === min) out[i] = 1;
      else {
        const n = Math.max(0, Math.min(1, (v - min) / (max - min)));
        out[i] = this.#lowerIsBetter ? 1 - n : n;
      }
    }
  }
}

export const endpointAttributeScorerFactory: PluginFactory = (name, parameters) =>
  new EndpointAttributeScorer(name, decodeParameters(schema, parameters, ENDPOINT_ATTRIBUTE_SCORER_TYPE, name));
