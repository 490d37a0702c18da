/**
 * Every metric the picker exports, on a private registry, under llm-d-router v0.10's names (its
 * `docs/metrics.md`): the canonical `llm_d_epp_*` family, and each deprecated name llm-d still emits
 * (`inference_objective_*`, `inference_pool_*`, `inference_extension_*`,
 * `llm_d_inference_scheduler_*`) as a LegacyTwin rendered from its canonical metric at scrape time, so
 * existing dashboards keep working, one recording feeds both names and the two never disagree.
 *
 * Metrics updated per request are HotCounter / HotHistogram or views over the RequestSeriesTable (one
 * cached series per label tuple); the rest are plain prom-client metrics computed when scraped.
 *
 * Client-derived labels are bounded here, so callers pass raw values: `model_name` and
 * `target_model_name` share one BoundedLabel (as llm-d's `modelLabelLimiter`), `fairness_id` has its
 * own; each admits 1000 distinct values, then reports `other`. Model names the operator configured
 * (InferenceModelRewrite rules) are pinned with `pinModelNames` and never fold.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Endpoint } from '../datastore/endpoint.js';
import { BoundedLabel } from './bounded-label.js';
import { HotCounter, HotHistogram, type CounterSeries, type HistogramSeries } from './hot-metrics.js';
import { twin, type TwinLabel } from './legacy-twin.js';
import { RequestHistogram, RequestMetricView, RequestSeriesTable, type RequestSeries } from './request-metrics.js';
import type { TypedName } from '../plugin/plugin.js';

/** The canonical prefix (llm-d's `LLMDRouterEndpointPickerSubsystem`). */
export const CANONICAL_PREFIX = 'llm_d_epp_';

/** `decision_type` of the disaggregation counters (the reference's values). */
export type DisaggDecisionType = 'decode-only' | 'prefill-decode' | 'encode-decode' | 'encode-prefill-decode';

/**
 * What one P/D profile handler reports (kept narrow so tests can pass a fake); bound to the handler's
 * name and type, which label the canonical series. Empty model names report as `unknown`, as llm-d.
 */
export interface DisaggMetrics {
  /** `llm_d_epp_disagg_decision_total`: one per request whose decode profile found a target. */
  disaggDecision(model: string, decision: DisaggDecisionType): void;
  /** `llm_d_epp_pd_decision_total` (only the deprecated `pd-profile-handler` reports it). */
  pdDecision(model: string, decision: 'decode-only' | 'prefill-decode'): void;
  /**
   * `llm_d_epp_disagg_skipped_total` (not in llm-d): requests the decider kept decode-only although
   * they qualified, by reason (`prefill-saturated`).
   */
  disaggSkipped(model: string, reason: string): void;
}

/** Where P/D handlers get their DisaggMetrics from: one per handler instance. */
export interface DisaggMetricsSource {
  disaggMetricsFor(plugin: TypedName): DisaggMetrics;
}

/** The per-request series as the director drives them (kept narrow so tests can pass a fake). */
export interface RunningRequestsMetrics {
  /**
   * The request-series tuple of a routed request, whose `running` gauge the director increments when
   * routing and decrements (that same object) when the request ends: the pair then stays balanced
   * whatever the label bounds admit or pin in between. Raw values: they are bounded here.
   */
  requestSeries(model: string, target: string, fairnessId: string, priority: number): RequestSeries;
}

/** What the ext_proc transport exposes for its metrics (src/h2/h2-server.ts). */
export interface TransportStats {
  readonly connections: number;
  readonly activeStreams: number;
  readonly bufferedBytes: number;
  readonly streamsRefused: number;
  readonly closesByReason: ReadonlyMap<string, number>;
}

/** What the scheduling framework reports (kept narrow so tests can pass a fake). */
export interface SchedulerMetrics {
  observePlugin(extensionPoint: string, plugin: TypedName, ms: number): void;
  observeSchedulerE2e(ms: number): void;
  /**
   * `llm_d_epp_scheduler_attempts_total`: one per scheduling cycle; `target` is the primary profile's
   * first endpoint on success (undefined when it found none), `failed` when the cycle threw.
   */
  observeSchedulerAttempt(targetModel: string, target: Endpoint | undefined, failed: boolean): void;
}

// Buckets are llm-d v0.10's, value for value (pkg/epp/metrics), including its 32778 where 32768 was
// surely meant: a dashboard's `le` selectors must find the same bounds.
const GENERAL_LATENCY_BUCKETS = [
  0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700,
  3600,
];
const REQUEST_SIZE_BUCKETS = [
  64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288, 1048576, 2097152, 4194304, 8388608, 16777216, 33554432, 67108864,
  134217728, 268435456, 536870912, 1073741824,
];
const RESPONSE_SIZE_BUCKETS = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32778, 65536];
const PROMPT_TOKEN_BUCKETS = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32778, 65536, 131072, 262144, 524288, 1048576];
const OUTPUT_TOKEN_BUCKETS = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];
const NTPOT_BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0];
const TTFT_BUCKETS = [0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60, 120];
const TPOT_BUCKETS = [0.0005, 0.00205, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.125, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1, 2];
const ITL_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2];
const SCHEDULER_BUCKETS = [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1];
const REQUEST_PROCESSING_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.015, 0.025, 0.04, 0.06, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const RESPONSE_PROCESSING_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

const REQUEST_BUCKETS: Record<RequestHistogram, readonly number[]> = {
  [RequestHistogram.Duration]: GENERAL_LATENCY_BUCKETS,
  [RequestHistogram.RequestSize]: REQUEST_SIZE_BUCKETS,
  [RequestHistogram.ResponseSize]: RESPONSE_SIZE_BUCKETS,
  [RequestHistogram.InputTokens]: PROMPT_TOKEN_BUCKETS,
  [RequestHistogram.OutputTokens]: OUTPUT_TOKEN_BUCKETS,
  [RequestHistogram.CachedTokens]: PROMPT_TOKEN_BUCKETS,
  [RequestHistogram.Ntpot]: NTPOT_BUCKETS,
  [RequestHistogram.TtftStreaming]: TTFT_BUCKETS,
  [RequestHistogram.TtftNonStreaming]: TTFT_BUCKETS,
  [RequestHistogram.StreamingTpot]: TPOT_BUCKETS,
  [RequestHistogram.StreamingItl]: ITL_BUCKETS,
};

/** The model name the disaggregation counters report for an empty one, as the reference. */
const UNKNOWN_MODEL = 'unknown';
const MODELS: readonly TwinLabel[] = ['model_name', 'target_model_name'];

export interface EppMetricsOptions {
  /** Node.js process metrics (`process_*`, `nodejs_*`), the counterpart of Go's runtime metrics. */
  readonly defaultMetrics?: boolean;
  /** The `namespace` label of `scheduler_attempts_total` (the pool's namespace; '' when unknown). */
  readonly namespace?: string;
}

export class EppMetrics implements SchedulerMetrics, DisaggMetricsSource, RunningRequestsMetrics {
  readonly registry = new Registry();
  // Declared before the metrics that use them (fields initialise in order).
  readonly #models = new BoundedLabel();
  readonly #fairness = new BoundedLabel();
  readonly #requests = new RequestSeriesTable(this.#models, this.#fairness, REQUEST_BUCKETS);
  readonly #namespace: string;

  readonly requestTotal = this.#requestView('request_total', 'Requests routed, by model, target model, fairness id and priority.', { kind: 'requests' }, {
    name: 'inference_objective_request_total',
    labels: [...MODELS, 'priority'],
  });
  readonly requestErrorTotal = this.#requestView('request_error_total', 'Requests that ended in an error, by error code.', { kind: 'errors' }, {
    name: 'inference_objective_request_error_total',
    labels: [...MODELS, 'error_code'],
  });
  readonly requestDuration = this.#requestView(
    'request_duration_seconds',
    'End-to-end request latency in seconds, from the request headers to the end of the response.',
    { kind: 'histogram', histogram: RequestHistogram.Duration },
    { name: 'inference_objective_request_duration_seconds', labels: MODELS },
  );
  readonly requestSize = this.#requestView(
    'request_size_bytes',
    'Size in bytes of the request body forwarded to the model server.',
    { kind: 'histogram', histogram: RequestHistogram.RequestSize },
    { name: 'inference_objective_request_sizes', labels: MODELS },
  );
  readonly responseSize = this.#requestView(
    'response_size_bytes',
    'Size in bytes of the response body returned to the client.',
    { kind: 'histogram', histogram: RequestHistogram.ResponseSize },
    { name: 'inference_objective_response_sizes', labels: MODELS },
  );
  readonly inputTokens = this.#requestView(
    'request_input_tokens',
    'Prompt tokens per request, as the model server reported them in the response usage.',
    { kind: 'histogram', histogram: RequestHistogram.InputTokens },
    { name: 'inference_objective_input_tokens', labels: MODELS },
  );
  readonly outputTokens = this.#requestView(
    'request_output_tokens',
    'Completion tokens per request, as the model server reported them in the response usage.',
    { kind: 'histogram', histogram: RequestHistogram.OutputTokens },
    { name: 'inference_objective_output_tokens', labels: MODELS },
  );
  readonly cachedTokens = this.#requestView(
    'request_cached_tokens',
    'Prompt tokens per request the model server served from its prefix cache, as reported in the response usage.',
    { kind: 'histogram', histogram: RequestHistogram.CachedTokens },
    { name: 'inference_objective_prompt_cached_tokens', labels: MODELS },
  );
  readonly runningRequests = this.#requestView('request_running', 'Requests routed whose stream has not ended yet.', { kind: 'running' }, {
    name: 'inference_objective_running_requests',
    labels: ['model_name'],
  });
  readonly ntpot = this.#requestView(
    'request_ntpot_seconds',
    'Normalized time per output token in seconds: end-to-end latency divided by completion tokens.',
    { kind: 'histogram', histogram: RequestHistogram.Ntpot },
    { name: 'inference_objective_normalized_time_per_output_token_seconds', labels: MODELS },
  );
  readonly ttft = this.#requestView(
    'request_ttft_seconds',
    'Time to first token in seconds, from the request headers to the first response body byte; for a non-streamed response, to its end.',
    { kind: 'ttft' },
  );
  readonly streamingTpot = this.#requestView(
    'request_streaming_tpot_seconds',
    'Mean time per output token in seconds of a streamed response: (end-to-end - TTFT) / (completion tokens - 1).',
    { kind: 'histogram', histogram: RequestHistogram.StreamingTpot },
  );
  readonly streamingItl = this.#requestView(
    'request_streaming_itl_seconds',
    'Time in seconds between consecutive response body chunks of a streamed response.',
    { kind: 'histogram', histogram: RequestHistogram.StreamingItl },
  );

  readonly schedulerE2e = this.#twinned(
    new HotHistogram({
      name: 'llm_d_epp_scheduler_e2e_duration_seconds',
      help: 'Scheduling cycle latency in seconds (all profiles, filters, scorers and pickers).',
      labelNames: [],
      buckets: SCHEDULER_BUCKETS,
      registry: this.registry,
    }),
    { name: 'inference_extension_scheduler_e2e_duration_seconds', labels: [] },
  );
  readonly schedulerAttempts = this.#twinned(
    new HotCounter({
      name: 'llm_d_epp_scheduler_attempts_total',
      help: 'Scheduling cycles by status (success, failure), with the endpoint the primary profile picked first.',
      labelNames: ['status', 'target_model_name', 'endpoint_name', 'namespace', 'port'],
      registry: this.registry,
      bounded: { target_model_name: this.#models },
    }),
    { name: 'inference_extension_scheduler_attempts_total', labels: ['status', 'target_model_name', ['pod_name', 'endpoint_name'], 'namespace', 'port'] },
  );
  readonly pluginDuration = this.#twinned(
    new HotHistogram({
      name: 'llm_d_epp_plugin_duration_seconds',
      help: 'Plugin latency in seconds, by extension point, plugin type and plugin name.',
      labelNames: ['extension_point', 'plugin_type', 'plugin_name'],
      buckets: SCHEDULER_BUCKETS,
      registry: this.registry,
    }),
    { name: 'inference_extension_plugin_duration_seconds', labels: ['extension_point', 'plugin_type', 'plugin_name'] },
  );
  /**
   * The picker's own time per request: from the request headers to the routing answer (or the
   * rejection), body upload included, as llm-d measures it.
   */
  readonly requestProcessing = new HotHistogram({
    name: 'llm_d_epp_request_processing_duration_seconds',
    help: 'Endpoint picker time per request in seconds, from the request headers until the request body is handled and answered (admission and scheduling included).',
    labelNames: [],
    buckets: REQUEST_PROCESSING_BUCKETS,
    registry: this.registry,
  });
  /** The picker's own time per response: the sum of its response-message handler slices. */
  readonly responseProcessing = new HotHistogram({
    name: 'llm_d_epp_response_processing_duration_seconds',
    help: 'Endpoint picker time per response in seconds: the sum of the time spent handling the response headers and each response body chunk (model server time between chunks excluded).',
    labelNames: [],
    buckets: RESPONSE_PROCESSING_BUCKETS,
    registry: this.registry,
  });
  readonly info = this.#twinned(
    new Gauge({
      name: 'llm_d_epp_info',
      help: 'Build information of the endpoint picker: commit and build ref.',
      labelNames: ['commit', 'build_ref'] as const,
      registers: [this.registry],
    }),
    { name: 'inference_extension_info', labels: ['commit', 'build_ref'] },
  );
  readonly modelRewriteDecisions = this.#twinned(
    new HotCounter({
      name: 'llm_d_epp_model_rewrite_decisions_total',
      help: 'Requests an InferenceModelRewrite rule rewrote, by rule (resource) name, requested model and chosen target model.',
      labelNames: ['model_rewrite_name', 'model_name', 'target_model'],
      registry: this.registry,
      bounded: { model_name: this.#models },
    }),
    { name: 'inference_extension_model_rewrite_decisions_total', labels: ['model_rewrite_name', 'model_name', 'target_model'] },
  );

  readonly pollErrors = this.#twinned(
    new Counter({
      name: 'llm_d_epp_datalayer_poll_errors_total',
      help: 'Data source poll failures, by source type.',
      labelNames: ['source_type'] as const,
      registers: [this.registry],
    }),
    { name: 'llm_d_inference_scheduler_datalayer_poll_errors_total', labels: ['source_type'] },
  );
  readonly extractErrors = this.#twinned(
    new Counter({
      name: 'llm_d_epp_datalayer_extract_errors_total',
      help: 'Extractor failures (required metric families missing from a scrape), by source and extractor type.',
      labelNames: ['source_type', 'extractor_type'] as const,
      registers: [this.registry],
    }),
    { name: 'llm_d_inference_scheduler_datalayer_extract_errors_total', labels: ['source_type', 'extractor_type'] },
  );

  /** Not in llm-d: endpoints taken out of routing because they could not be scraped (see scheduling/reachable-candidates.ts). */
  readonly endpointUnreachableTotal = this.#twinned(
    new Counter({
      name: 'llm_d_epp_endpoint_unreachable_total',
      help: 'Times an endpoint was taken out of routing because its metrics could not be scraped, by reason (refused, timeout, network, http-status, too-large, garbage, stale).',
      labelNames: ['reason'] as const,
      registers: [this.registry],
    }),
    { name: 'llm_d_inference_scheduler_endpoint_unreachable_total', labels: ['reason'] },
  );

  #disagg: { decision: HotCounter<string>; pd: HotCounter<string>; skipped: HotCounter<string> } | undefined;
  readonly #pluginSeries = new Map<TypedName, Map<string, HistogramSeries>>();
  readonly #e2e = this.schedulerE2e.labels();
  readonly #requestProcessing = this.requestProcessing.labels();
  readonly #responseProcessing = this.responseProcessing.labels();
  /** Success attempts by endpoint object and target model: no label joining per request. */
  readonly #attempts = new WeakMap<Endpoint, Map<string, CounterSeries>>();

  constructor(options: EppMetricsOptions = {}) {
    if (options.defaultMetrics === true) collectDefaultMetrics({ register: this.registry });
    this.#namespace = options.namespace ?? '';
    this.info.labels(process.env.EPP_COMMIT ?? 'dev', process.env.EPP_BUILD_REF ?? 'dev').set(1);
    this.#models.pin(UNKNOWN_MODEL);
  }

  #requestView(name: string, help: string, view: ConstructorParameters<typeof RequestMetricView>[4], legacy?: { name: string; labels: readonly TwinLabel[] }): RequestMetricView {
    const metric = new RequestMetricView(this.registry, this.#requests, CANONICAL_PREFIX + name, help, view);
    if (legacy !== undefined) twin(this.registry, metric, legacy.name, legacy.labels);
    return metric;
  }

  #twinned<M extends object>(metric: M, legacy: { name: string; labels: readonly TwinLabel[] }): M {
    twin(this.registry, metric, legacy.name, legacy.labels);
    return metric;
  }

  /**
   * Pins model names the operator configured (InferenceModelRewrite exact-match sources and rewrite
   * targets): they always report as themselves on model-name labels and take none of the 1000 slots
   * client-chosen names share. Names over 256 bytes are not pinned (they report as `other`). Pins are
   * never removed. Call it whenever the rules are (re)loaded.
   */
  pinModelNames(names: Iterable<string>): void {
    for (const n of names) this.#models.pin(n);
  }

  requestSeries(model: string, target: string, fairnessId: string, priority: number): RequestSeries {
    return this.#requests.series(model, target, fairnessId, priority);
  }

  /** The data-layer counters bound to the built-in source and extractor. */
  collectorMetrics(source = 'metrics-data-source', extractor = 'core-metrics-extractor'): { pollError(): void; extractError(): void; endpointUnreachable(reason: string): void } {
    const poll = this.pollErrors.labels(source);
    const extract = this.extractErrors.labels(source, extractor);
    return { pollError: () => poll.inc(), extractError: () => extract.inc(), endpointUnreachable: (reason) => this.endpointUnreachableTotal.labels(reason).inc() };
  }

  /** One InferenceModelRewrite decision (the rule's resource name, the requested and the chosen model). */
  modelRewriteDecision(ruleName: string, model: string, target: string): void {
    this.modelRewriteDecisions.labels(ruleName, model, target).inc();
  }

  /**
   * Registers the pool gauges, computed from the current endpoints whenever Prometheus scrapes (no
   * timer). As llm-d, they cover the endpoints with fresh metrics (`ready_endpoints` counts those),
   * the standard deviation is the sample one (n − 1, at least 1), and averages and deviations are
   * rounded to two decimals.
   */
  attachPool(poolName: string, endpoints: () => readonly Endpoint[]): void {
    const known = (): Endpoint[] => endpoints().filter((e) => e.metrics.known);
    const registry = this.registry;
    const stat = (name: string, help: string, pick: (e: Endpoint) => number, kind: 'mean' | 'stddev', legacy?: string): void => {
      const gauge = new Gauge({
        name: CANONICAL_PREFIX + name,
        help,
        labelNames: ['name'] as const,
        registers: [registry],
        collect(this: Gauge<'name'>) {
          this.reset();
          const list = known();
          if (list.length === 0) return;
          const { mean, stddev } = summary(list, pick);
          this.labels(poolName).set(kind === 'mean' ? mean : stddev);
        },
      });
      if (legacy !== undefined) twin(registry, gauge, legacy, ['name']);
    };
    const kv = (e: Endpoint): number => e.metrics.kvCacheUsage;
    const queue = (e: Endpoint): number => e.metrics.waitingQueueSize;
    const running = (e: Endpoint): number => e.metrics.runningRequestsSize;
    stat('average_kv_cache_utilization', 'Mean KV-cache utilization (0-1) of the ready endpoints of the pool.', kv, 'mean', 'inference_pool_average_kv_cache_utilization');
    stat('average_queue_size', 'Mean number of requests waiting in the model server queue, over the ready endpoints of the pool.', queue, 'mean', 'inference_pool_average_queue_size');
    stat('average_running_requests', 'Mean number of requests the model servers of the pool are running, over its ready endpoints.', running, 'mean', 'inference_pool_average_running_requests');
    stat('std_dev_kv_cache_utilization', 'Standard deviation of KV-cache utilization over the ready endpoints of the pool.', kv, 'stddev');
    stat('std_dev_queue_size', 'Standard deviation of the model server queue size over the ready endpoints of the pool.', queue, 'stddev');
    stat('std_dev_running_requests', 'Standard deviation of running requests over the ready endpoints of the pool.', running, 'stddev');
    const ready = new Gauge({
      name: 'llm_d_epp_ready_endpoints',
      help: 'Endpoints of the pool whose metrics are fresh.',
      labelNames: ['name'] as const,
      registers: [registry],
      collect(this: Gauge<'name'>) {
        this.labels(poolName).set(known().length);
      },
    });
    twin(registry, ready, 'inference_pool_ready_pods', ['name']);
    const perEndpoint = new Gauge({
      name: 'llm_d_epp_per_endpoint_queue_size',
      help: 'Requests waiting in the model server queue of each endpoint of the pool.',
      labelNames: ['name', 'model_server_endpoint'] as const,
      registers: [registry],
      collect(this: Gauge<'name' | 'model_server_endpoint'>) {
        this.reset();
        for (const e of known()) this.labels(poolName, e.name).set(e.metrics.waitingQueueSize);
      },
    });
    twin(registry, perEndpoint, 'inference_pool_per_pod_queue_size', ['name', ['model_server_pod', 'model_server_endpoint']]);
    const unreachable = new Gauge({
      name: 'llm_d_epp_unreachable_endpoints',
      help: 'Endpoints out of routing because their metrics cannot be scraped (not in llm-d).',
      labelNames: ['name'] as const,
      registers: [registry],
      collect(this: Gauge<'name'>) {
        let n = 0;
        for (const e of endpoints()) if (!e.reachable) n++;
        this.labels(poolName).set(n);
      },
    });
    twin(registry, unreachable, 'inference_pool_unreachable_endpoints', ['name']);
  }

  /**
   * Gauges and counters of the ext_proc transport (not in llm-d, whose grpc-go server has no such
   * limits to report), read from `transport` whenever Prometheus scrapes.
   */
  attachTransport(transport: TransportStats): void {
    new Gauge({
      name: 'llm_d_epp_extproc_connections',
      help: 'Open HTTP/2 connections to the ext_proc port.',
      registers: [this.registry],
      collect(this: Gauge) {
        this.set(transport.connections);
      },
    });
    new Gauge({
      name: 'llm_d_epp_extproc_streams',
      help: 'Live ext_proc streams over all connections.',
      registers: [this.registry],
      collect(this: Gauge) {
        this.set(transport.activeStreams);
      },
    });
    new Gauge({
      name: 'llm_d_epp_extproc_buffered_bytes',
      help: 'Bytes held for sending to the data plane: socket queues and output waiting for its flow-control window.',
      registers: [this.registry],
      collect(this: Gauge) {
        this.set(transport.bufferedBytes);
      },
    });
    new Counter({
      name: 'llm_d_epp_extproc_streams_refused_total',
      help: 'Streams refused with REFUSED_STREAM: over the concurrency limit, over the output limit, or after GOAWAY.',
      registers: [this.registry],
      collect(this: Counter) {
        this.reset();
        this.inc(transport.streamsRefused);
      },
    });
    new Counter({
      name: 'llm_d_epp_extproc_connection_closes_total',
      help: 'Closed ext_proc connections by reason (peer-closed, peer-goaway, drained, protocol-error, rapid-reset, ping-flood, settings-flood, glitch-flood, header-flood, keepalive-timeout, socket-error, not-http2, internal-error, tls-handshake).',
      labelNames: ['reason'] as const,
      registers: [this.registry],
      collect(this: Counter<'reason'>) {
        this.reset();
        for (const [reason, n] of transport.closesByReason) this.labels(reason).inc(n);
      },
    });
  }

  /** The counters of one P/D profile handler; registered with the first handler, as llm-d does. */
  disaggMetricsFor(plugin: TypedName): DisaggMetrics {
    const d = (this.#disagg ??= this.#registerDisagg());
    const name = plugin.name;
    const type = plugin.type;
    const model = (m: string): string => (m === '' ? UNKNOWN_MODEL : m);
    return {
      disaggDecision: (m, decision) => d.decision.labels(name, type, model(m), decision).inc(),
      pdDecision: (m, decision) => d.pd.labels(name, type, model(m), decision).inc(),
      disaggSkipped: (m, reason) => d.skipped.labels(name, type, model(m), reason).inc(),
    };
  }

  #registerDisagg(): { decision: HotCounter<string>; pd: HotCounter<string>; skipped: HotCounter<string> } {
    const counter = (name: string, help: string, last: string, legacy: string): HotCounter<string> =>
      this.#twinned(
        new HotCounter({
          name: CANONICAL_PREFIX + name,
          help,
          labelNames: ['plugin_name', 'plugin_type', 'model_name', last],
          registry: this.registry,
          bounded: { model_name: this.#models },
        }),
        { name: legacy, labels: ['model_name', last] },
      );
    return {
      decision: counter(
        'disagg_decision_total',
        'Disaggregation routing decisions (decode-only, prefill-decode, encode-decode, encode-prefill-decode), by profile handler and target model.',
        'decision_type',
        'llm_d_inference_scheduler_disagg_decision_total',
      ),
      pd: counter(
        'pd_decision_total',
        'Prefill/decode decisions of the deprecated pd-profile-handler (decode-only, prefill-decode), by target model.',
        'decision_type',
        'llm_d_inference_scheduler_pd_decision_total',
      ),
      skipped: counter(
        'disagg_skipped_total',
        'Requests kept decode-only although the decider found them worth disaggregating, by reason (prefill-saturated: every prefill endpoint was over its queue or KV threshold). Not in llm-d.',
        'reason',
        'llm_d_inference_scheduler_disagg_skipped_total',
      ),
    };
  }

  observePlugin(extensionPoint: string, plugin: TypedName, ms: number): void {
    // Keyed by the plugin's TypedName object (one per plugin instance), then the extension point:
    // no string building per request.
    let byPoint = this.#pluginSeries.get(plugin);
    if (byPoint === undefined) {
      byPoint = new Map();
      this.#pluginSeries.set(plugin, byPoint);
    }
    let series = byPoint.get(extensionPoint);
    if (series === undefined) {
      series = this.pluginDuration.labels(extensionPoint, plugin.type, plugin.name);
      byPoint.set(extensionPoint, series);
    }
    series.observe(ms / 1000);
  }

  observeSchedulerE2e(ms: number): void {
    this.#e2e.observe(ms / 1000);
  }

  observeSchedulerAttempt(targetModel: string, target: Endpoint | undefined, failed: boolean): void {
    if (failed || target === undefined) {
      this.schedulerAttempts.labels(failed ? 'failure' : 'success', targetModel, '', '', '').inc();
      return;
    }
    let byModel = this.#attempts.get(target);
    if (byModel === undefined) {
      byModel = new Map();
      this.#attempts.set(target, byModel);
    }
    let series = byModel.get(targetModel);
    if (series === undefined) {
      series = this.schedulerAttempts.labels('success', targetModel, target.name, this.#namespace, String(target.port));
      // Raw names are cached only while few: a flood of client-chosen models must not grow this map.
      if (byModel.size < 64) byModel.set(targetModel, series);
    }
    series.inc();
  }

  /** `llm_d_epp_request_processing_duration_seconds`, in milliseconds. */
  observeRequestProcessing(ms: number): void {
    this.#requestProcessing.observe(ms / 1000);
  }

  /** `llm_d_epp_response_processing_duration_seconds`, in milliseconds. */
  observeResponseProcessing(ms: number): void {
    this.#responseProcessing.observe(ms / 1000);
  }
}

/** Mean and sample standard deviation of `pick` over `list` (non-empty), each rounded to 2 decimals. */
function summary(list: readonly Endpoint[], pick: (e: Endpoint) => number): { mean: number; stddev: number } {
  let sum = 0;
  for (const e of list) sum += pick(e);
  const mean = sum / list.length;
  let ss = 0;
  for (const e of list) ss += (pick(e) - mean) ** 2;
  return { mean: round2(mean), stddev: round2(Math.sqrt(ss / Math.max(1, list.length - 1))) };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

