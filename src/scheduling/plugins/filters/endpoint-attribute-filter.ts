/**
 * `endpoint-attribute-filter` (llm-d-router v0.10): keeps the candidates whose numeric attribute
 * satisfies a threshold.
 *
 * ```yaml
 * - type: endpoint-attribute-filter
 *   parameters:
 *     attribute: GPUUtilization     # required
 *     producer: dcgm-extractor      # default: the core metrics extractor's customMetrics
 *     onMissing: Pass               # Pass (default, keep) | Fail (drop) an endpoint without the attribute
 *     fallbackOnEmpty: true         # default false: when nothing passes, keep every candidate
 *     algorithm: {type: threshold, threshold: {operator: LessThanOrEqual, value: 0.9}}
 * ```
 *
 * Operators: LessThan, LessThanOrEqual, GreaterThan, GreaterThanOrEqual, Equal, NotEqual.
 */
import { z } from 'zod';
import type { Endpoint } from '../../../datastore/endpoint.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters } from '../../../plugin/parameters.js';
import type { Filter, SchedulingRequest } from '../../types.js';
import { readEndpointAttribute, resolveAttributeRef, type EndpointAttributeRef } from '../endpoint-attribute-key.js';

export const ENDPOINT_ATTRIBUTE_FILTER_TYPE = 'endpoint-attribute-filter';

const OPERATORS = ['LessThan', 'LessThanOrEqual', 'GreaterThan', 'GreaterThanOrEqual', 'Equal', 'NotEqual'] as const;
type Operator = (typeof OPERATORS)[number];

const schema = z
  .strictObject({
    attribute: z.string().min(1),
    producer: z.string().optional(),
    onMissing: z.enum(['Pass', 'Fail']).default('Pass'),
    fallbackOnEmpty: z.boolean().default(false),
    algorithm: z.strictObject({
      type: z.literal('threshold'),
      threshold: z.strictObject({ operator: z.enum(OPERATORS), value: z.number() }),
    }),
  })
  .transform((p, ctx) => ({ ...p, ref: resolveAttributeRef(p.attribute, p.producer, 'attribute', ctx) }));

function satisfies(value: number, op: Operator, threshold: number): boolean {
  switch (op) {
    case 'LessThan':
      return value < threshold;
    case 'LessThanOrEqual':
      return value <= threshold;
    case 'GreaterThan':
      return value > threshold;
    case 'GreaterThanOrEqual':
      return value >= threshold;
    case 'Equal':
      return value === threshold;
    case 'NotEqual':
      return value !== threshold;
  }
}

export class EndpointAttributeFilter implements Filter {
  readonly typedName: TypedName;
  readonly #ref: EndpointAttributeRef;
  readonly #passOnMissing: boolean;
  readonly #fallbackOnEmpty: boolean;
  readonly #op: Operator;
  readonly #threshold: number;

  constructor(name: string, parameters: z.output<typeof schema>) {
    this.typedName = { type: ENDPOINT_ATTRIBUTE_FILTER_TYPE, name };
    this.#ref = parameters.ref;
    this.#passOnMissing = parameters.onMissing === 'Pass';
    this.#fallbackOnEmpty = parameters.fallbackOnEmpty;
    this.#op = parameters.algorithm.threshold.operator;
    this.#threshold = parameters.algorithm.threshold.value;
  }

  filter(_request: SchedulingRequest, candidates: readonly Endpoint[]): readonly Endpoint[] {
    const kept: Endpoint[] = [];
    for (const e of candidates) {
      const v = readEndpointAttribute(e, this.#ref);
      if (v === undefined ? this.#passOnMissing : satisfies(v, this.#op, this.#threshold)) kept.push(e);
    }
    return kept.length === 0 && this.#fallbackOnEmpty ? candidates : kept;
  }
}

export const endpointAttributeFilterFactory: PluginFactory = (name, parameters) =>
  new EndpointAttributeFilter(name, decodeParameters(schema, parameters, ENDPOINT_ATTRIBUTE_FILTER_TYPE, name));
