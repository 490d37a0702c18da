/**
 * The plugin types the reference (llm-d-router v0.10.0, `registerInTreePlugins`) registers and this
 * build does not implement, each with the issue that tracks the gap. A configuration naming one fails
 * with `plugin type "X" is not implemented yet (issue N: <gap>)` instead of a schema error, so a
 * user of the reference sees what is missing rather than a typo report.
 */

/** A capability gap: the issue that tracks it and what it is. */
export interface PluginGap {
  readonly issue: number;
  readonly gap: string;
}

const FLOW_CONTROL: PluginGap = { issue: 16, gap: 'flow control: queueing, fairness, ordering, usage limits, eviction' };
const PRECISE_PREFIX: PluginGap = { issue: 15, gap: 'precise prefix-cache routing from KV events, and tokenization' };
const PARSERS: PluginGap = { issue: 14, gap: 'request parsers beyond openai, anthropic, vllmhttp, sglanghttp and passthrough' };
const LATENCY: PluginGap = { issue: 14, gap: 'predicted-latency / SLO routing' };
const SCHEDULING: PluginGap = { issue: 14, gap: 'scheduling plugins not yet ported' };
const DATA_LAYER: PluginGap = { issue: 14, gap: 'data-layer sources and extractors not yet ported' };
const REQUEST_CONTROL: PluginGap = { issue: 14, gap: 'request-control plugins not yet ported' };
const MULTI_CLUSTER: PluginGap = { issue: 14, gap: 'multi-cluster plugins' };
const CONFORMANCE: PluginGap = { issue: 14, gap: 'the reference\'s conformance-test plugins' };

/** Reference plugin type → the gap it belongs to. */
export const UNIMPLEMENTED_PLUGIN_TYPES: ReadonlyMap<string, PluginGap> = new Map<string, PluginGap>([
  // Flow control policies and the detectors only flow control uses.
  ['global-strict-fairness-policy', FLOW_CONTROL],
  ['round-robin-fairness-policy', FLOW_CONTROL],
  ['program-aware-fairness', FLOW_CONTROL],
  ['fcfs-ordering-policy', FLOW_CONTROL],
  ['edf-ordering-policy', FLOW_CONTROL],
  ['slo-deadline-ordering-policy', FLOW_CONTROL],
  ['static-usage-limit-policy', FLOW_CONTROL],
  ['priority-holdback-policy', FLOW_CONTROL],
  ['soft-reflective-ceiling-policy', FLOW_CONTROL],
  ['sheddable-eviction-filter', FLOW_CONTROL],
  ['priority-then-time-eviction-order-policy', FLOW_CONTROL],
  ['concurrency-detector', FLOW_CONTROL],
  // Precise prefix-cache routing, KV events, tokenization.
  ['precise-prefix-cache-scorer', PRECISE_PREFIX],
  ['precise-prefix-cache-producer', PRECISE_PREFIX],
  ['token-producer', PRECISE_PREFIX],
  ['tokenizer', PRECISE_PREFIX],
  // Parsers.
  ['vllmgrpc-parser', PARSERS],
  // Predicted latency and SLOs.
  ['predicted-latency-producer', LATENCY],
  ['latency-scorer', LATENCY],
  ['latency-slo-admitter', LATENCY],
  ['slo-headroom-tier-filter', LATENCY],
  // Scheduling: profile handlers, filters, scorers, producers.
  ['always-disagg-multimodal-decider', SCHEDULING],
  ['session-affinity-filter', SCHEDULING],
  ['topology-affinity-filter', SCHEDULING],
  ['topology-affinity-scorer', SCHEDULING],
  ['burst-prefix-cache-producer', SCHEDULING],
  ['p2p-source-producer', SCHEDULING],
  ['session-id-producer', SCHEDULING],
  // Data layer.
  ['topology-extractor', DATA_LAYER],
  ['k8s-notification-source', DATA_LAYER],
  ['endpoint-notification-source', DATA_LAYER],
  // Request control.
  ['request-attribute-reporter', REQUEST_CONTROL],
  ['agent-identity', REQUEST_CONTROL],
  ['disaggregatedset-rollout-screener', REQUEST_CONTROL],
  // Multi-cluster variants.
  ['multicluster-session-affinity-filter', MULTI_CLUSTER],
  ['multicluster-queue-scorer', MULTI_CLUSTER],
  ['multicluster-kv-cache-utilization-scorer', MULTI_CLUSTER],
  ['multicluster-prefix-cache-scorer', MULTI_CLUSTER],
  ['multicluster-approx-prefix-cache-producer', MULTI_CLUSTER],
  ['multicluster-metrics-data-source', MULTI_CLUSTER],
  ['multicluster-metrics-extractor', MULTI_CLUSTER],
  ['multicluster-file-discovery', MULTI_CLUSTER],
  // Conformance-test plugins.
  ['header-based-testing-filter', CONFORMANCE],
  ['destination-endpoint-served-verifier', CONFORMANCE],
]);

/** The error text for a reference plugin type this build lacks. */
export function notImplementedMessage(type: string, gap: PluginGap): string {
  return `plugin type "${type}" is not implemented yet (issue ${gap.issue}: ${gap.gap})`;
}
