/**
 * The composition root of `epp serve`: builds the datastore, discovery, scheduler, director and
 * metrics, and runs the three listeners (ext_proc on `--grpc-port`, gRPC health on
 * `--grpc-health-port`, Prometheus on `--metrics-port`). Owns the lifecycle, including drain.
 */
import { registerBuiltins } from './builtins.js';
import { buildScheduler } from './config/build-scheduler.js';
import { ConfigError } from './config/decode.js';
import { loadConfig, type ConfigSource } from './config/load-config.js';
import { Datastore } from './datastore/datastore.js';
import type { EndpointSpec } from './datastore/endpoint.js';
import { Director } from './director/director.js';
import { EndpointsFileSource } from './discovery/endpoints-file.js';
import { extProcMethod, StreamTracker } from './extproc/service.js';
import type { BodyMode, Timers } from './extproc/session.js';
import { CertReloader } from './extproc/cert-reloader.js';
import { loadCertificate, selfSignedCertificate, type KeyPair } from './extproc/tls.js';
import { GrpcServer } from './grpc/grpc-server.js';
import { healthMethods } from './health/health-methods.js';
import { EXT_PROC_SERVICE_NAME, HealthState, KNOWN_HEALTH_SERVICES } from './health/health-state.js';
import { LogLimiter } from './observability/log-limiter.js';
import type { Logger } from './observability/logger.js';
import { startMetricsServer } from './observability/metrics-server.js';
import { EppMetrics } from './observability/metrics.js';
import type { Plugin } from './plugin/plugin.js';
import { PrefixCacheMetrics } from './prefix/prefix-metrics.js';
import { isRequestParser, OpenAIParser, OPENAI_PARSER_TYPE } from './request/request-parser.js';
import { ApproxPrefixCacheProducer } from './scheduling/plugins/approx-prefix-cache-producer.js';
import { UTILIZATION_DETECTOR_TYPE } from './scheduling/plugins/utilization-detector.js';
import { isSaturationDetector, type SaturationDetector } from './scheduling/saturation-detector.js';
import { CoreMetricsExtractor, MetricsDataSource, coreMetricsExtractorFactory, metricsDataSourceFactory } from './scrape/data-layer-plugins.js';
import { MetricsCollector, SYSTEM_CLOCK, type Clock } from './scrape/metrics-collector.js';
import type { MetricsFetcher } from './scrape/scrape-error.js';
import type { KubernetesDiscovery, KubernetesDiscoveryConfig } from './kube/kubernetes-discovery.js';
import { leaderHealthStatus } from './health/leader-health.js';
import { resolveModelRewrite } from './kube/model-rewrites.js';
import { attachDisaggMetrics } from './scheduling/plugins/disagg-profile-handler.js';

export interface PickerOptions {
  readonly host: string;
  readonly grpcPort: number;
  readonly grpcHealthPort: number;
  /** 0 = ephemeral; negative = no metrics listener. */
  readonly metricsPort: number;
  readonly secureServing: boolean;
  /** Directory with tls.crt/tls.key; '' = self-signed at start. */
  readonly certPath: string;
  /** Reload tls.crt/tls.key from `certPath` when they change (`--enable-cert-reload`). */
  readonly enableCertReload?: boolean;
  readonly config: ConfigSource;
  /** Exactly one discovery source: a watched file, a fixed list (demo, tests), or Kubernetes (InferencePool or standalone selector). */
  readonly discovery:
    | { readonly endpointsFile: string }
    | { readonly endpoints: readonly EndpointSpec[]; readonly objectives?: ReadonlyMap<string, number> }
    | { readonly kubernetes: KubernetesDiscoveryConfig };
  readonly maxRequestBodyBytes: number;
  readonly decisionTimeoutMs: number;
  readonly requestBodyMode: BodyMode;
  readonly disableSubsetFilter: boolean;
  /** Also register gRPC health on the ext_proc port (reference `--health-checking`). */
  readonly healthChecking: boolean;
  /** Scrape interval per endpoint (`--refresh-metrics-interval`). */
  readonly refreshMetricsIntervalMs: number;
  /** Metrics older than this are unknown (`--metrics-staleness-threshold`). */
  readonly metricsStalenessMs: number;
  /** Pool name for the pool gauges. */
  readonly poolName: string;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly fetcher?: MetricsFetcher;
  readonly random?: () => number;
  readonly timers?: Timers;
  /** Reuse a certificate (tests) instead of generating one. */
  readonly keyPair?: KeyPair;
}

export interface PickerServer {
  readonly grpcPort: number;
  readonly grpcHealthPort: number;
  readonly metricsPort: number;
  readonly datastore: Datastore;
  readonly metrics: EppMetrics;
  readonly health: HealthState;
  readonly streams: StreamTracker;
  /** The ext_proc server (its HTTP/2 transport: connections, close reasons). */
  readonly extProc: GrpcServer;
  /**
   * Stops as the reference does on SIGTERM: readiness goes NOT_SERVING at once, the picker keeps
   * routing for `windowMs` (so requests sent before the data plane noticed are served), then it
   * stops taking requests — GOAWAY on every connection, requests that still arrive get 503
   * `rejected-shutting-down` — and waits up to `windowMs` more for live streams before closing.
   */
  drain(windowMs: number): Promise<void>;
  /** `drain` with no window: stop taking requests now, give live streams up to `graceMs`. */
  shutdown(graceMs: number): Promise<void>;
}

const MIB = 1024 * 1024;

/**
 * The plugin a config section names, which must be of the right kind; without a reference, the first
 * listed plugin of that kind, else `fallback()` (the reference's auto-injected default).
 */
function resolvePlugin<T extends Plugin>(
  ref: string | undefined,
  plugins: ReadonlyMap<string, Plugin>,
  guard: (p: Plugin) => p is T,
  section: string,
  fallback: () => T | undefined,
): T | undefined {
  if (ref === undefined) return [...plugins.values()].find(guard) ?? fallback();
  const plugin = plugins.get(ref);
  if (plugin === undefined) throw new ConfigError('EndpointPickerConfig', [`${section}.pluginRef: no plugin named "${ref}"`]);
  if (!guard(plugin)) throw new ConfigError('EndpointPickerConfig', [`${section}.pluginRef: plugin "${ref}" (type ${plugin.typedName.type}) cannot serve as ${section}`]);
  return plugin;
}


/** Starts the picker. Throws (with every problem listed) on an invalid config or endpoints file. */
export async function startPicker(options: PickerOptions): Promise<PickerServer> {
  const { logger } = options;
  const random = options.random ?? Math.random;
  const metrics = new EppMetrics({ defaultMetrics: true });
  const config = loadConfig(options.config);
  if (config.featureGates.includes('flowControl')) {
    logger.warn('feature gate flowControl: flow control (queueing, fairness) is not implemented in this build; legacy admission applies (sheddable requests get 429 when saturated)');
  }
  const registry = registerBuiltins();
  const clock = options.clock ?? SYSTEM_CLOCK;
  const context = { random, now: () => clock.now() };
  const { scheduler, plugins } = buildScheduler(config, registry, context, metrics);
  const pluginList = [...plugins.values()];
  attachDisaggMetrics(pluginList, metrics);
  // Injected with defaults when the config does not list them, as the reference does.
  const source = pluginList.find((p): p is MetricsDataSource => p instanceof MetricsDataSource) ?? (metricsDataSourceFactory('metrics-data-source', {}, { random }) as MetricsDataSource);
  const extractor = pluginList.find((p): p is CoreMetricsExtractor => p instanceof CoreMetricsExtractor) ?? (coreMetricsExtractorFactory('core-metrics-extractor', {}, { random }) as CoreMetricsExtractor);
  const parser = resolvePlugin(config.parser?.pluginRef, plugins, isRequestParser, 'parser', () => new OpenAIParser(OPENAI_PARSER_TYPE)) ?? new OpenAIParser(OPENAI_PARSER_TYPE);
  const saturationDetector = resolvePlugin(
    config.saturationDetector?.pluginRef,
    plugins,
    isSaturationDetector,
    'saturationDetector',
    () => registry.create(UTILIZATION_DETECTOR_TYPE, UTILIZATION_DETECTOR_TYPE, {}, context) as Plugin & SaturationDetector,
  );
  const datastore = new Datastore();
  // Prefix indexes report their metrics and drop endpoints that leave the pool.
  const prefixProducers = pluginList.filter((p): p is ApproxPrefixCacheProducer => p instanceof ApproxPrefixCacheProducer);
  if (prefixProducers.length > 0) {
    const prefixMetrics = new PrefixCacheMetrics(metrics.registry);
    for (const p of prefixProducers) p.attachMetrics(prefixMetrics);
    datastore.onChange((snapshot) => {
      for (const p of prefixProducers) p.retainOnly(snapshot.endpoints);
    });
  }
  const scrapeIntervalMs = source.intervalMs(options.refreshMetricsIntervalMs);
  const collector = new MetricsCollector({
    intervalMs: scrapeIntervalMs,
    // A source scraped less often than the staleness threshold must not go stale between its scrapes.
    stalenessMs: Math.max(options.metricsStalenessMs, 2 * scrapeIntervalMs),
    timeoutMs: source.parameters.timeout,
    maxBytes: source.parameters.maxResponseBytes,
    maxBackoffMs: Math.max(options.refreshMetricsIntervalMs, 1000),
    scheme: source.parameters.scheme,
    path: source.parameters.path,
    port: source.parameters.port,
    nameFilter: source.parameters.nameFilter,
    fetcher: options.fetcher ?? source.createFetcher(),
    engineFor: (e) => extractor.engineFor(e),
    clock,
    logger,
    metrics: metrics.collectorMetrics(),
  });
  datastore.onChange((snapshot) => collector.sync(snapshot.endpoints));
  metrics.attachPool(options.poolName, () => datastore.snapshot.endpoints);
  let fileSource: EndpointsFileSource | undefined;
  let kube: KubernetesDiscovery | undefined;
  if ('endpointsFile' in options.discovery) {
    fileSource = new EndpointsFileSource({
      path: options.discovery.endpointsFile,
      logger,
      onEndpoints: (specs, objectives) => {
        datastore.setObjectives(objectives);
        datastore.setEndpoints(specs);
      },
    });
    fileSource.start();
  } else if ('kubernetes' in options.discovery) {
    // Imported here: the Kubernetes client library is most of a picker's heap, and every full
    // collection marks it (bench/README "extproc"), so pickers that do not watch Kubernetes skip it.
    const { KubernetesDiscovery } = await import('./kube/kubernetes-discovery.js');
    kube = new KubernetesDiscovery({
      ...options.discovery.kubernetes,
      logger,
      onEndpoints: (specs) => datastore.setEndpoints(specs),
      onObjectives: (priorities) => datastore.setObjectives(priorities),
      onConfiguredModels: (names) => metrics.pinModelNames(names),
    });
    kube.start();
  } else {
    datastore.setObjectives(options.discovery.objectives ?? new Map());
    datastore.setEndpoints(options.discovery.endpoints);
  }

  const rewriteRules = kube;
  const director = new Director(datastore, scheduler, {
    disableSubsetFilter: options.disableSubsetFilter,
    random,
    metrics,
    ...(saturationDetector === undefined ? {} : { saturationDetector }),
    ...(rewriteRules === undefined ? {} : { modelRewrite: (model: string) => resolveModelRewrite(rewriteRules.modelRewriteRules, model, random) }),
  });
  // Kubernetes discovery un-syncs when its pool is deleted; the datastore never does.
  const health = new HealthState(() => datastore.synced && (kube === undefined || kube.synced));
  const leaderElector = kube?.leaderElection === true ? kube : undefined;
  const streams = new StreamTracker();
  let shuttingDown = false;
  const healthStatus = (service: string) =>
    leaderElector === undefined ? health.status() : leaderHealthStatus(service, health.status() === 'SERVING', leaderElector.leader);
  // The health port is served by the same transport as ext_proc (no grpc-js in the picker's heap).
  const healthServer = new GrpcServer({ logger, label: 'health', maxReceiveMessageBytes: 64 * 1024 });
  for (const m of healthMethods(healthStatus, KNOWN_HEALTH_SERVICES)) healthServer.addMethod(m);

  // Closed after the ext_proc and health servers: the certificate reloader and the metrics listener.
  const started: { close: () => Promise<void> }[] = [];
  let extProcServer: GrpcServer | undefined;
  try {
    const keyPair = options.secureServing ? (options.keyPair ?? (options.certPath !== '' ? loadCertificate(options.certPath) : await selfSignedCertificate())) : undefined;
    extProcServer = new GrpcServer({ logger, label: 'ext_proc', maxReceiveMessageBytes: options.maxRequestBodyBytes + MIB, tls: keyPair });
    extProcServer.addMethod(
      extProcMethod(
        {
          router: director,
          parser,
          metrics,
          logger,
          defaultBodyMode: options.requestBodyMode,
          maxRequestBodyBytes: options.maxRequestBodyBytes,
          decisionTimeoutMs: options.decisionTimeoutMs,
          timers: options.timers ?? { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
          shuttingDown: () => shuttingDown,
          rejectionLog: new LogLimiter(10, 60_000, () => performance.now()),
        },
        streams,
      ),
    );
    if (options.healthChecking) for (const m of healthMethods(healthStatus, KNOWN_HEALTH_SERVICES)) extProcServer.addMethod(m);
    const grpcPort = await extProcServer.listen(options.host, options.grpcPort);
    const extProc = extProcServer;
    metrics.attachTransport(extProc.transport);
    if (keyPair !== undefined && options.certPath !== '' && options.enableCertReload === true) {
      const reloader = new CertReloader({ dir: options.certPath, apply: (pair) => extProc.setSecureContext(pair), logger });
      reloader.start();
      started.push({ close: () => Promise.resolve(reloader.close()) });
    }
    const grpcHealthPort = await healthServer.listen(options.host, options.grpcHealthPort);
    let metricsPort = -1;
    if (options.metricsPort >= 0) {
      const m = await startMetricsServer(metrics.registry, options.host, options.metricsPort);
      metricsPort = m.port;
      started.push(m);
    }
    logger.info(
      { grpcPort, grpcHealthPort, metricsPort, secureServing: options.secureServing, endpoints: datastore.snapshot.endpoints.length, service: EXT_PROC_SERVICE_NAME },
      'endpoint picker serving',
    );

    let stopping: Promise<void> | undefined;
    const stop = (windowMs: number, graceMs: number): Promise<void> => {
      stopping ??= (async () => {
        health.startDraining();
        if (windowMs > 0) {
          logger.info({ drainTimeoutMs: windowMs }, 'draining: readiness NOT_SERVING, still routing');
          await new Promise((r) => setTimeout(r, windowMs));
        }
        // From here new requests are refused with 503 and connections are told to go away.
        shuttingDown = true;
        fileSource?.close();
        await kube?.close();
        const live = streams.active;
        const force = setTimeout(() => {
          logger.warn({ streams: streams.active }, 'drain: live streams did not finish in time; closing them');
          void extProc.close();
        }, graceMs);
        await extProc.drain();
        clearTimeout(force);
        collector.stop();
        await healthServer.close();
        for (const s of started) await s.close();
        logger.info({ streamsServed: streams.total, liveAtStop: live }, 'endpoint picker stopped');
      })();
      return stopping;
    };
    const drain = (windowMs: number): Promise<void> => stop(windowMs, windowMs);
    const shutdown = (graceMs: number): Promise<void> => stop(0, graceMs);
    return { grpcPort, grpcHealthPort, metricsPort, datastore, metrics, health, streams, extProc, drain, shutdown };
  } catch (err) {
    fileSource?.close();
    await kube?.close();
    collector.stop();
    void extProcServer?.close();
    void healthServer.close();
    for (const s of started) await s.close();
    throw err;
  }
}
