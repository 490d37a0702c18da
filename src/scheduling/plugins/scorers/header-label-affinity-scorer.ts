/**
 * `header-label-affinity-scorer`: a soft preference for endpoints whose label `labelKey` equals the
 * value of the request header `headerName` (as in llm-d-router v0.10). Matching endpoints score 1,
 * all others 0 and stay eligible; a missing or empty header, or an endpoint without the label,
 * scores 0 everywhere. One instance per header → label mapping, so each gets its own profile weight.
 * The value is compared exactly (no trimming, case-sensitive); a value longer than
 * MAX_AFFINITY_HEADER_VALUE_LENGTH is treated as absent. Nothing is written to the response.
 *
 * ```yaml
 * - type: header-label-affinity-scorer
 *   parameters:
 *     headerName: x-disagg-slice                  # required (matched case-insensitively)
 *     labelKey: disaggregatedset.x-k8s.io/slice   # required
 * ```
 */
import { z } from 'zod';
import type { Endpoint } from '../../../datastore/endpoint.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { Scorer, SchedulingRequest } from '../../types.js';
import type { TypedName } from '../../../plugin/plugin.js';
import { decodeParameters } from '../../../plugin/parameters.js';

export const HEADER_LABEL_AFFINITY_SCORER_TYPE = 'header-label-affinity-scorer';

/**
 * Longest header value compared, in characters. Kubernetes label values are at most 63 characters;
 * the margin admits label values from file discovery while a client cannot make each comparison
 * walk an arbitrarily long string.
 */
export const MAX_AFFINITY_HEADER_VALUE_LENGTH = 256;

export class HeaderLabelAffinityScorer implements Scorer {
  readonly typedName: TypedName;

  /** @param headerName lower-case request header name */
  constructor(
    name: string,
    readonly headerName: string,
    readonly labelKey: string,
  ) {
    this.typedName = { type: HEADER_LABEL_AFFINITY_SCORER_TYPE, name };
  }

  score(request: SchedulingRequest, candidates: readonly Endpoint[], out: Float64Array): void {
    const raw = request.headers.get(this.headerName);
    const wanted = raw === undefined || raw.length > MAX_AFFINITY_HEADER_VALUE_LENGTH ? '' : raw;
    for (let i = 0; i < candidates.length; i++) {
      out[i] = wanted !== '' && (candidates[i] as Endpoint).labels[this.labelKey] === wanted ? 1 : 0;
    }
  }
}

const schema = z.strictObject({
  headerName: z.string().trim().min(1, "'headerName' is required"),
  labelKey: z.string().min(1, "'labelKey' is required"),
});

export const headerLabelAffinityScorerFactory: PluginFactory = (name, parameters) => {
  const p = decodeParameters(schema, parameters, HEADER_LABEL_AFFINITY_SCORER_TYPE, name);
  return new HeaderLabelAffinityScorer(name, p.headerName.toLowerCase(), p.labelKey);
};
