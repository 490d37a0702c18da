/**
 * `label-selector-filter` (deprecated alias type `by-label-selector`): keeps endpoints whose labels
 * match a Kubernetes label selector. `matchLabels` entries require the label with that exact value;
 * `matchExpressions` support `In` (label present, value listed), `NotIn` (label absent or value not
 * listed), `Exists` and `DoesNotExist`. All requirements must hold; an empty selector keeps every
 * endpoint.
 *
 * ```yaml
 * - type: label-selector-filter
 *   parameters:
 *     matchLabels: {llm-d.ai/model-family: qwen}
 *     matchExpressions:
 *     - {key: llm-d.ai/role, operator: In, values: [decode, both]}
 *     - {key: canary, operator: DoesNotExist}
 * ```
 */
import { z } from 'zod';
import type { Endpoint } from '../../../datastore/endpoint.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { Filter, SchedulingRequest } from '../../types.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters } from '../../../plugin/parameters.js';
import { retain } from '../retain.js';

export const LABEL_SELECTOR_FILTER_TYPE = 'label-selector-filter';
export const BY_LABEL_SELECTOR_TYPE = 'by-label-selector';

const expressionSchema = z
  .strictObject({
    key: z.string().min(1),
    operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
    values: z.array(z.string()).default([]),
  })
  .superRefine((e, ctx) => {
    const needsValues = e.operator === 'In' || e.operator === 'NotIn';
    if (needsValues && e.values.length === 0) ctx.addIssue({ code: 'custom', path: ['values'], message: `values must be non-empty for operator ${e.operator}` });
    if (!needsValues && e.values.length > 0) ctx.addIssue({ code: 'custom', path: ['values'], message: `values must be empty for operator ${e.operator}` });
  });

const schema = z.strictObject({
  matchLabels: z.record(z.string(), z.string()).default({}),
  matchExpressions: z.array(expressionSchema).default([]),
});

export type LabelSelector = z.input<typeof schema>;
export type LabelSelectorOperator = z.output<typeof expressionSchema>['operator'];

interface Requirement {
  readonly key: string;
  readonly operator: LabelSelectorOperator;
  readonly values: ReadonlySet<string>;
}

function matches(labels: Readonly<Record<string, string>>, r: Requirement): boolean {
  const value = Object.hasOwn(labels, r.key) ? labels[r.key] : undefined;
  switch (r.operator) {
    case 'In':
      return value !== undefined && r.values.has(value);
    case 'NotIn':
      return value === undefined || !r.values.has(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
  }
}

export class LabelSelectorFilter implements Filter {
  readonly typedName: TypedName;
  readonly #requirements: readonly Requirement[];
  readonly #keep = (e: Endpoint): boolean => {
    for (const r of this.#requirements) if (!matches(e.labels, r)) return false;
    return true;
  };

  /** `selector` must already be valid (the factory validates configuration input). */
  constructor(name: string, selector: z.output<typeof schema>, type = LABEL_SELECTOR_FILTER_TYPE) {
    this.typedName = { type, name };
    const requirements: Requirement[] = [];
    for (const [key, value] of Object.entries(selector.matchLabels)) requirements.push({ key, operator: 'In', values: new Set([value]) });
    for (const e of selector.matchExpressions) requirements.push({ key: e.key, operator: e.operator, values: new Set(e.values) });
    this.#requirements = requirements;
  }

  filter(_request: SchedulingRequest, candidates: readonly Endpoint[]): readonly Endpoint[] {
    return this.#requirements.length === 0 ? candidates : retain(candidates, this.#keep);
  }
}

/** Validates `selector` (as configuration) and builds the filter; throws ConfigError when invalid. */
export function labelSelectorFilter(name: string, selector: unknown, type = LABEL_SELECTOR_FILTER_TYPE): LabelSelectorFilter {
  return new LabelSelectorFilter(name, decodeParameters(schema, selector, type, name), type);
}

export const labelSelectorFilterFactory: PluginFactory = (name, parameters) => labelSelectorFilter(name, parameters);

export const byLabelSelectorFactory: PluginFactory = (name, parameters) => labelSelectorFilter(name, parameters, BY_LABEL_SELECTOR_TYPE);
