/**
 * The fairness id of a request (llm-d's flow-control tenant key, and the `fairness_id` metric label):
 * `x-llm-d-inference-fairness-id`, else its deprecated alias `x-gateway-inference-fairness-id`; absent
 * or empty means `default-flow`. Client-chosen: metrics bound it (1000 distinct values, 256 bytes).
 */
export const FAIRNESS_ID_HEADER = 'x-llm-d-inference-fairness-id';
export const LEGACY_FAIRNESS_ID_HEADER = 'x-gateway-inference-fairness-id';
export const DEFAULT_FAIRNESS_ID = 'default-flow';

export function fairnessIdOf(headers: ReadonlyMap<string, string>): string {
  const value = headers.get(FAIRNESS_ID_HEADER) ?? headers.get(LEGACY_FAIRNESS_ID_HEADER);
  return value === undefined || value === '' ? DEFAULT_FAIRNESS_ID : value;
}
