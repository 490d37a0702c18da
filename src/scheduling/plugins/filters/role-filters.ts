/**
 * The P/D role filters, by the pod label `llm-d.ai/role`:
 *
 * - `decode-filter` keeps `decode`, `prefill-decode`, `both` (deprecated = prefill-decode),
 *   `encode-prefill-decode`, **and unlabelled endpoints** (a plain, non-disaggregated server decodes);
 * - `prefill-filter` keeps `prefill`, `encode-prefill`, `prefill-decode`, `both`, `encode-prefill-decode`;
 * - `encode-filter` keeps `encode`, `encode-prefill`, `encode-prefill-decode`.
 *
 * No parameters.
 */
import type { PluginFactory } from '../../../plugin/registry.js';
import { ByLabelFilter } from './by-label-filter.js';
import { decodeParameters, noParametersSchema } from '../../../plugin/parameters.js';

export const ROLE_LABEL = 'llm-d.ai/role';
export const DECODE_FILTER_TYPE = 'decode-filter';
export const PREFILL_FILTER_TYPE = 'prefill-filter';
export const ENCODE_FILTER_TYPE = 'encode-filter';

const DECODE_ROLES = ['decode', 'prefill-decode', 'both', 'encode-prefill-decode'] as const;
const PREFILL_ROLES = ['prefill', 'encode-prefill', 'prefill-decode', 'both', 'encode-prefill-decode'] as const;
const ENCODE_ROLES = ['encode', 'encode-prefill', 'encode-prefill-decode'] as const;

export function decodeFilter(name: string = DECODE_FILTER_TYPE): ByLabelFilter {
  return new ByLabelFilter(name, ROLE_LABEL, DECODE_ROLES, true, DECODE_FILTER_TYPE);
}
export function prefillFilter(name: string = PREFILL_FILTER_TYPE): ByLabelFilter {
  return new ByLabelFilter(name, ROLE_LABEL, PREFILL_ROLES, false, PREFILL_FILTER_TYPE);
}
export function encodeFilter(name: string = ENCODE_FILTER_TYPE): ByLabelFilter {
  return new ByLabelFilter(name, ROLE_LABEL, ENCODE_ROLES, false, ENCODE_FILTER_TYPE);
}

export const decodeFilterFactory: PluginFactory = (name, parameters) => {
  decodeParameters(noParametersSchema, parameters, DECODE_FILTER_TYPE, name);
  return decodeFilter(name);
};
export const prefillFilterFactory: PluginFactory = (name, parameters) => {
  decodeParameters(noParametersSchema, parameters, PREFILL_FILTER_TYPE, name);
  return prefillFilter(name);
};
export const encodeFilterFactory: PluginFactory = (name, parameters) => {
  decodeParameters(noParametersSchema, parameters, ENCODE_FILTER_TYPE, name);
  return encodeFilter(name);
};
