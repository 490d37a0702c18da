/**
 * Every metric the picker exports, on a private registry, with the reference EPP's names and labels
 * (existing dashboards and alerts keep working). Metrics updated per request are HotCounter /
 * HotGauge / HotHistogram (one cached series per label tuple); the rest are plain prom-client.
 *
 * Model-name labels (`model_name`, `target_model_name`) come from clients; they are bounded here, so
 * callers pass raw values: one BoundedLabel shared by both labels of every metric (as the reference's
 * `modelLabelLimiter`), names the operator configured pinned with `pinModelNames`.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Endpoint } from '../datastore/endpoint.js';
import { BoundedLabel } from './bounded-label.js';
import { HotCounter, HotGauge, HotHistogram, type GaugeSeries, type HistogramSeries } from './hot-metrics.js';
import type { TypedName } from '../plugin/plugin.js';

/** `decision_type` of the disaggregation counters (the reference's values). */
export type DisaggDecisionType = 'decode-only' | 'prefill-decode' | 'encode-decode' | 'encode-prefill-decode';

/**
 * What the P/D profile handlers report (kept narrow so tests can pass a fake). Empty model names are
 * reported as `unknown`, as in the reference.
 */
export interface DisaggMetrics {
  /** `llm_d_inference_scheduler_disagg_decision_total`: one per request whose decode profile found a target. */
  disaggDecision(model: string, decision: DisaggDecisionType): void;
  /** The deprecated `llm_d_inference_scheduler_pd_decision_total` (only `pd-profile-handler` reports it). */
  pdDecision(model: string, decision: 'decode-only' | 'prefill-decode'): void;
  /**
   * `llm_d_inference_scheduler_disagg_skipped_total` (not in the reference): requests the decider
   * kept decode-only although they qualified, by reason (`prefill-saturated`).
   */
  disaggSkipped(model: string, reason: string): void;
}

/** The in-flight gauge as the director drives it (kept narrow so tests can pass a fake). */
export interface RunningRequestsMetrics {
  /**
   * The `inference_objective_running_requests` series of a (raw) model name. Increment it when a
   * request is routed and decrement that same object when it ends: the pair then stays balanced
   * whatever the label bound admits or pins in between.
   */
  runningRequestsSeries(model: string): GaugeSeries;
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
}

const SCHEDULER_BUCKETS = [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1];
const TOKEN_BUCKETS = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288, 1048576];
const PROCESSING_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/** The model name the disaggregation counters report for an empty one, as the reference. */
const UNKNOWN_MODEL = 'unknown';

export class EppMetrics implements SchedulerMetrics, DisaggMetrics, RunningRequestsMetrics {
  readonly registry = new Registry();
  // Declared before the metrics that use it (fields initialise in order).
  readonly #models = new BoundedLabel();
  readonly #modelLabels = { model_name: this.#models, target_model_name: this.#models };

  readonly requestTotal = new HotCounter({
    name: 'inference_objective_request_total',
    help: 'Counter of inference objective requests broken out for each model and target model.',
    labelNames: ['model_name', 'target_model_name', 'priority'],
    registry: this.registry,
    bounded: this.#modelLabels,
  });
  readonly requestErrorTotal = new HotCounter({
    name: 'inference_objective_request_error_total',
    help: 'Counter of inference objective requests errors broken out for each model and target model.',
    labelNames: ['model_name', 'target_model_name', 'error_code'],
    registry: this.registry,
    bounded: this.#modelLabels,
  });
  /** Requests routed and not yet ended, by the model the client asked for (see `runningRequestsSeries`). */
  readonly runningRequests = new HotGauge({
    name: 'inference_objective_running_requests',
    help: 'Inference objective number of running requests in each model.',
    labelNames: ['model_name'],
    registry: this.registry,
    bounded: this.#modelLabels,
  });
  readonly schedulerE2e = new HotHistogram({
    name: 'inference_extension_scheduler_e2e_duration_seconds',
    help: 'End-to-end scheduling latency distribution in seconds.',
    labelNames: [],
    buckets: SCHEDULER_BUCKETS,
    registry: this.registry,
  });
  readonly pluginDuration = new HotHistogram({
    name: 'inference_extension_plugin_duration_seconds',
    help: 'Plugin processing latency distribution in seconds for each extension point, plugin type and plugin name.',
    labelNames: ['extension_point', 'plugin_type', 'plugin_name'],
    buckets: SCHEDULER_BUCKETS,
    registry: this.registry,
  });
  /**
   * The picker's own overhead per request: from the message that completed the request (body
   * end-of-stream, or headers for a body-less request) to the routing answer being written. Body
   * upload time is excluded; it is the client's, not the picker's.
   */
  readonly requestProcessing = new HotHistogram({
    name: 'llm_d_router_epp_request_processing_duration_seconds',
    help: 'Time the endpoint picker spent deciding a request, from its last request message to the routing answer, in seconds.',
    labelNames: ['outcome'],
    buckets: PROCESSING_BUCKETS,
    registry: this.registry,
  });
  readonly inputTokens = this.#tokenHistogram('inference_objective_input_tokens', 'input');
  readonly outputTokens = this.#tokenHistogram('inference_objective_output_tokens', 'output');
  readonly promptCachedTokens = this.#tokenHistogram('inference_objective_prompt_cached_tokens', 'prompt cached');
  readonly info = new Gauge({
    name: 'inference_extension_info',
    help: 'General information of the current build of Inference Extension.',
    labelNames: ['commit', 'build_ref'] as const,
    registers: [this.registry],
  });

  readonly pollErrors = new Counter({
    name: 'llm_d_inference_scheduler_datalayer_poll_errors_total',
    help: 'Total number of data source poll errors.',
    labelNames: ['source_type'] as const,
    registers: [this.registry],
  });
  readonly extractErrors = new Counter({
    name: 'llm_d_inference_scheduler_datalayer_extract_errors_total',
    help: 'Total number of extractor errors (required metric families missing from a scrape).',
    labelNames: ['source_type', 'extractor_type'] as const,
    registers: [this.registry],
  });

  /** Not in the reference: endpoints taken out of routing because they could not be scraped (see scheduling/reachable-candidates.ts). */
  readonly endpointUnreachableTotal = new Counter({
    name: 'llm_d_inference_scheduler_endpoint_unreachable_total',
    help: 'Times an endpoint was taken out of routing because its metrics could not be scraped, by reason (refused, timeout, network, http-status, too-large, garbage, stale).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly disaggDecisionTotal = new HotCounter({
    name: 'llm_d_inference_scheduler_disagg_decision_total',
    help: 'Total number of disaggregation routing decisions made',
    labelNames: ['model_name', 'decision_type'],
    registry: this.registry,
    bounded: this.#modelLabels,
  });
  readonly pdDecisionTotal = new HotCounter({
    name: 'llm_d_inference_scheduler_pd_decision_total',
    help: 'Total number of P/D disaggregation decisions made (deprecated: use llm_d_inference_scheduler_disagg_decision_total)',
    labelNames: ['model_name', 'decision_type'],
    registry: this.registry,
    bounded: this.#modelLabels,
  });
  readonly disaggSkippedTotal = new HotCounter({
    name: 'llm_d_inference_scheduler_disagg_skipped_total',
    help: 'Requests kept decode-only although the decider found them worth disaggregating, by reason (prefill-saturated: every prefill endpoint was over its queue or KV threshold)',
    labelNames: ['model_name', 'reason'],
    registry: this.registry,
    bounded: this.#modelLabels,
  });

  readonly #pluginSeries = new Map<TypedName, Map<string, HistogramSeries>>();
  readonly #e2e = this.schedulerE2e.labels();
  readonly #routed = this.requestProcessing.labels('routed');
  readonly #rejected = this.requestProcessing.labels('rejected');

  #tokenHistogram(name: string, what: string): HotHistogram<'model_name' | 'target_model_name'> {
    return new HotHistogram({
      name,
      help: `Inference objective ${what} token count distribution for requests in each model.`,
      labelNames: ['model_name', 'target_model_name'],
      buckets: TOKEN_BUCKETS,
      registry: this.registry,
      bounded: this.#modelLabels,
    });
  }

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics === true) collectDefaultMetrics({ register: this.registry });
    this.info.labels(process.env.EPP_COMMIT ?? 'dev', process.env.EPP_BUILD_REF ?? 'dev').set(1);
    this.#models.pin(UNKNOWN_MODEL);
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

  runningRequestsSeries(model: string): GaugeSeries {
    return this.runningRequests.labels(model);
  }

  /** The data-layer counters bound to the built-in source and extractor. */
  collectorMetrics(): { pollError(): void; extractError(): void; endpointUnreachable(reason: string): void } {
    const poll = this.pollErrors.labels('metrics-data-source');
    const extract = this.extractErrors.labels('metrics-data-source', 'core-metrics-extractor');
    return { pollError: () => poll.inc(), extractError: () => extract.inc(), endpointUnreachable: (reason) => this.endpointUnreachableTotal.labels(reason).inc() };
  }

  /**
   * Registers the pool gauges, computed from the current endpoints whenever Prometheus scrapes
   * (no timer). Averages cover endpoints with known (fresh) metrics only.
   */
  attachPool(poolName: string, endpoints: () => readonly Endpoint[]): void {
    const known = (): Endpoint[] => endpoints().filter((e) => e.metrics.known);
    const average = (pick: (e: Endpoint) => number) =>
      function (this: Gauge<'name'>): void {
        const list = known();
        this.reset();
        if (list.length > 0) this.labels(poolName).set(list.reduce((a, e) => a + pick(e), 0) / list.length);
      };
    new Gauge({ name: 'inference_pool_average_kv_cache_utilization', help: 'The average kv cache utilization for an inference server pool.', labelNames: ['name'], registers: [this.registry], collect: average((e) => e.metrics.kvCacheUsage) });
    new Gauge({ name: 'inference_pool_average_queue_size', help: 'The average number of requests pending in the model server queue.', labelNames: ['name'], registers: [this.registry], collect: average((e) => e.metrics.waitingQueueSize) });
    new Gauge({ name: 'inference_pool_average_running_requests', help: 'The average number of requests currently being processed by model servers.', labelNames: ['name'], registers: [this.registry], collect: average((e) => e.metrics.runningRequestsSize) });
    new Gauge({
      name: 'inference_pool_ready_pods',
      help: 'The number of ready pods (endpoints) in the inference server pool.',
      labelNames: ['name'],
      registers: [this.registry],
      collect(this: Gauge<'name'>) {
        this.labels(poolName).set(endpoints().length);
      },
    });
    new Gauge({
      name: 'inference_pool_unreachable_endpoints',
      help: 'Endpoints out of routing because their metrics cannot be scraped (not in the reference).',
      labelNames: ['name'],
      registers: [this.registry],
      collect(this: Gauge<'name'>) {
        let n = 0;
        for (const e of endpoints()) if (!e.reachable) n++;
        this.labels(poolName).set(n);
      },
    });
    new Gauge({
      name: 'inference_pool_per_pod_queue_size',
      help: 'The total number of requests pending in the model server queue for each underlying pod.',
      labelNames: ['name', 'model_server_pod'],
      registers: [this.registry],
      collect(this: Gauge<'name' | 'model_server_pod'>) {
        this.reset();
        for (const e of known()) this.labels(poolName, e.name).set(e.metrics.waitingQueueSize);
      },
    });
  }

  /**
   * Gauges and counters of the ext_proc transport (not in the reference, whose grpc-go server has no
   * such limits to report), read from `transport` whenever Prometheus scrapes.
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

  disaggDecision(model: string, decision: DisaggDecisionType): void {
    this.disaggDecisionTotal.labels(model === '' ? UNKNOWN_MODEL : model, decision).inc();
  }

  pdDecision(model: string, decision: 'decode-only' | 'prefill-decode'): void {
    this.pdDecisionTotal.labels(model === '' ? UNKNOWN_MODEL : model, decision).inc();
  }

  disaggSkipped(model: string, reason: string): void {
    this.disaggSkippedTotal.labels(model === '' ? UNKNOWN_MODEL : model, reason).inc();
  }

  observeSchedulerE2e(ms: number): void {
    this.#e2e.observe(ms / 1000);
  }

  observeProcessing(ms: number, routed: boolean): void {
    (routed ? this.#routed : this.#rejected).observe(ms / 1000);
  }
}
