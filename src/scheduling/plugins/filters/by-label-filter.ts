/**
 * `by-label` (deprecated in the reference in favour of `label-selector-filter` and the role
 * filters): keeps endpoints whose label `label` has one of `validValues`, plus, with
 * `allowsNoLabel`, endpoints without that label. The role filters (`decode-filter`, …) are
 * instances of this filter.
 *
 * ```yaml
 * - type: by-label
 *   parameters:
 *     label: llm-d.ai/role          # required
 *     validValues: [decode, both]   # required unless allowsNoLabel
 *     allowsNoLabel: false          # default
 * ```
 */
import { z } from 'zod';
import type { Endpoint } from '../../../datastore/endpoint.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { Filter, SchedulingRequest } from '../../types.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters } from '../../../plugin/parameters.js';
import { retain } from '../retain.js';

export const BY_LABEL_TYPE = 'by-label';

const schema = z
  .strictObject({
    label: z.string().min(1, "'label' must be specified"),
    validValues: z.array(z.string()).default([]),
    allowsNoLabel: z.boolean().default(false),
  })
  .refine((p) => p.validValues.length > 0 || p.allowsNoLabel, { message: "either 'validValues' must be non-empty or 'allowsNoLabel' must be true" });

export class ByLabelFilter implements Filter {
  readonly typedName: TypedName;
  readonly #valid: ReadonlySet<string>;
  readonly #keep = (e: Endpoint): boolean => {
    const value = e.labels[this.label];
    // As in the reference, an absent label reads as '' against validValues.
    return (value === undefined && this.allowsNoLabel) || this.#valid.has(value ?? '');
  };

  constructor(
    name: string,
    readonly label: string,
    validValues: readonly string[],
    readonly allowsNoLabel: boolean,
    type = BY_LABEL_TYPE,
  ) {
    this.typedName = { type, name };
    this.#valid = new Set(validValues);
  }

  filter(_request: SchedulingRequest, candidates: readonly Endpoint[]): readonly Endpoint[] {
    return retain(candidates, this.#keep);
  }
}

export const byLabelFactory: PluginFactory = (name, parameters) => {
  const p = decodeParameters(schema, parameters, BY_LABEL_TYPE, name);
  return new ByLabelFilter(name, p.label, p.validValues, p.allowsNoLabel);
};
