/**
 * Our /metrics against llm-d-router v0.10's (test/fixtures/upstream-v0.10/epp-metrics.json, taken
 * from its docs/metrics.md and the Go files that register the metrics, commit ebab6879): every
 * upstream metric and each of its deprecated twins is registered with the same type and label names,
 * except the explicit allow-list below of metrics whose subsystem is not built yet; those must not be
 * registered at all (no fake series). Every metric we register is upstream's or on the list of our
 * own additions.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GrpcStreamMetrics } from '../../../src/observability/grpc-stream-metrics.js';
import { EppMetrics } from '../../../src/observability/metrics.js';
import { PrefixCacheMetrics } from '../../../src/prefix/prefix-metrics.js';

interface UpstreamMetric {
  readonly name: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly labels: readonly string[];
  readonly section: string;
  readonly deprecated?: readonly { readonly name: string; readonly labels: readonly string[] }[];
}

const UPSTREAM = (JSON.parse(readFileSync(new URL('../../fixtures/upstream-v0.10/epp-metrics.json', import.meta.url), 'utf8')) as { metrics: UpstreamMetric[] }).metrics;

/**
 * Upstream metrics we do not register yet, by the issue that builds their subsystem. Their deprecated
 * twins are implied. Registering one of these without a real source would be a fake series.
 */
const NOT_YET_IMPLEMENTED: Readonly<Record<string, string>> = {
  // Issue 15, flow control (queues, fairness, usage limits, eviction): none of it exists here yet.
  llm_d_epp_flow_control_request_queue_duration_seconds: 'issue 16',
  llm_d_epp_flow_control_dispatch_cycle_duration_seconds: 'issue 16',
  llm_d_epp_flow_control_request_enqueue_duration_seconds: 'issue 16',
  llm_d_epp_flow_control_queue_size: 'issue 16',
  llm_d_epp_flow_control_queue_bytes: 'issue 16',
  llm_d_epp_flow_control_pool_saturation: 'issue 16',
  llm_d_epp_flow_control_stale_endpoints: 'issue 16',
  llm_d_epp_flow_control_capacity_utilization_requests: 'issue 16',
  llm_d_epp_flow_control_capacity_utilization_bytes: 'issue 16',
  llm_d_epp_flow_control_global_capacity_utilization_requests: 'issue 16',
  llm_d_epp_flow_control_global_capacity_utilization_bytes: 'issue 16',
  llm_d_epp_flow_control_requests_total: 'issue 16',
  // Issue 15: program-aware-fairness is a flow-control fairness policy.
  llm_d_epp_program_aware_jains_fairness_index: 'issue 16',
  llm_d_epp_program_aware_avg_wait_time_milliseconds: 'issue 16',
  llm_d_epp_program_aware_attained_service_tokens: 'issue 16',
  // Issue 15: labelled by the flow-control fairness id and priority per endpoint; our
  // inflight-load-producer keeps per-endpoint totals only until flow control brings flows.
  llm_d_epp_inflight_requests: 'issue 16',
  llm_d_epp_inflight_tokens: 'issue 16',
  // Issue 16, precise prefix-cache routing from vLLM KV events (the embedded kv-cache index).
  llm_d_epp_kv_cache_index_admissions_total: 'issue 15',
  llm_d_epp_kv_cache_index_evictions_total: 'issue 15',
  llm_d_epp_kv_cache_index_lookup_requests_total: 'issue 15',
  llm_d_epp_kv_cache_index_lookup_hits_total: 'issue 15',
  llm_d_epp_kv_cache_index_max_pod_hit_count_total: 'issue 15',
  llm_d_epp_kv_cache_index_lookup_latency_seconds: 'issue 15',
  llm_d_epp_kv_cache_events_dedup_removed_hashes_suppressed_total: 'issue 15',
  llm_d_epp_kv_cache_events_dedup_removed_hashes_forwarded_total: 'issue 15',
  // Issue 18, the remaining plugins: predicted latency / SLO routing, the multimodal encoder cache
  // producer and the disaggregatedset-rollout screener.
  llm_d_epp_inference_request_metric: 'issue 14',
  llm_d_epp_request_predicted_ttft_seconds: 'issue 14',
  llm_d_epp_request_ttft_prediction_duration_seconds: 'issue 14',
  llm_d_epp_request_predicted_tpot_seconds: 'issue 14',
  llm_d_epp_request_tpot_prediction_duration_seconds: 'issue 14',
  llm_d_epp_request_slo_violation_total: 'issue 14',
  llm_d_epp_encoder_cache_queries_total: 'issue 14',
  llm_d_epp_encoder_cache_hits_total: 'issue 14',
  llm_d_epp_encoder_cache_hit_ratio: 'issue 14',
  llm_d_epp_disaggregatedset_strict_header_no_match_total: 'issue 14',
  llm_d_epp_disaggregatedset_revision_gating_share: 'issue 14',
};

/** Metrics of ours that llm-d does not have (README "Observability" says what each is for). */
const OURS: Readonly<Record<string, 'counter' | 'gauge'>> = {
  // The ext_proc transport's own limits (src/h2): grpc-go has no such counters.
  llm_d_epp_extproc_connections: 'gauge',
  llm_d_epp_extproc_streams: 'gauge',
  llm_d_epp_extproc_buffered_bytes: 'gauge',
  llm_d_epp_extproc_streams_refused_total: 'counter',
  llm_d_epp_extproc_connection_closes_total: 'counter',
  // Endpoints out of routing because their metrics cannot be scraped, with the names earlier
  // releases of this picker used as deprecated twins.
  llm_d_epp_endpoint_unreachable_total: 'counter',
  llm_d_inference_scheduler_endpoint_unreachable_total: 'counter',
  llm_d_epp_unreachable_endpoints: 'gauge',
  inference_pool_unreachable_endpoints: 'gauge',
  // P/D: requests kept decode-only because every prefill endpoint was saturated.
  llm_d_epp_disagg_skipped_total: 'counter',
  llm_d_inference_scheduler_disagg_skipped_total: 'counter',
};

/** Process metrics, the counterpart of Go's `go_*`/`process_*` (upstream's docs leave them out too). */
const RUNTIME_PREFIXES = ['process_', 'nodejs_'];

/** Everything the picker can register: core, pool, transport, P/D, prefix indexer and the opt-in stream metrics. */
function everyMetric(): Map<string, { type: string; labels: readonly string[] }> {
  const m = new EppMetrics({ defaultMetrics: true });
  m.attachPool('pool', () => []);
  m.attachTransport({ connections: 0, activeStreams: 0, bufferedBytes: 0, streamsRefused: 0, closesByReason: new Map() });
  m.disaggMetricsFor({ type: 'disagg-profile-handler', name: 'pd' });
  new PrefixCacheMetrics(m.registry);
  new GrpcStreamMetrics(m.registry);
  const out = new Map<string, { type: string; labels: readonly string[] }>();
  for (const metric of m.registry.getMetricsAsArray()) {
    const { name, type, labelNames } = metric as unknown as { name: string; type: string; labelNames?: readonly string[] };
    if (RUNTIME_PREFIXES.some((p) => name.startsWith(p))) continue;
    out.set(name, { type, labels: labelNames ?? [] });
  }
  return out;
}

describe('metric names, types and labels as llm-d-router v0.10', () => {
  const ours = everyMetric();

  it('the fixture is the v0.10 list (74 metrics, 47 deprecated twins) and the allow-list names only upstream metrics', () => {
    expect(UPSTREAM).toHaveLength(74);
    expect(UPSTREAM.reduce((n, m) => n + (m.deprecated?.length ?? 0), 0)).toBe(47);
    const names = new Set(UPSTREAM.map((m) => m.name));
    for (const name of Object.keys(NOT_YET_IMPLEMENTED)) expect(names.has(name), name).toBe(true);
  });

  for (const upstream of UPSTREAM) {
    const pending = NOT_YET_IMPLEMENTED[upstream.name];
    if (pending !== undefined) {
      it(`${upstream.name} (and its twins) is not registered until ${pending}`, () => {
        expect(ours.has(upstream.name)).toBe(false);
        for (const d of upstream.deprecated ?? []) expect(ours.has(d.name), d.name).toBe(false);
      });
      continue;
    }
    it(`${upstream.name}: ${upstream.type} {${upstream.labels.join(', ')}}, with its deprecated twins`, () => {
      expect(ours.get(upstream.name)).toEqual({ type: upstream.type, labels: upstream.labels });
      for (const d of upstream.deprecated ?? []) expect(ours.get(d.name), d.name).toEqual({ type: upstream.type, labels: d.labels });
    });
  }

  it('registers nothing beyond upstream and the listed additions of ours', () => {
    const known = new Set<string>(Object.keys(OURS));
    for (const m of UPSTREAM) {
      known.add(m.name);
      for (const d of m.deprecated ?? []) known.add(d.name);
    }
    const extra = [...ours.keys()].filter((n) => !known.has(n));
    expect(extra).toEqual([]);
    for (const [name, type] of Object.entries(OURS)) expect(ours.get(name)?.type, name).toBe(type);
  });

  it('registers no llm_d_router_epp_* names: llm-d renamed that prefix to llm_d_epp_ and emits no twin for it', () => {
    expect([...ours.keys()].filter((n) => n.startsWith('llm_d_router_epp_'))).toEqual([]);
  });
});
