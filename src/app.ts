/**
 * The composition root of `epp serve`: builds the datastore, discovery, scheduler, director and
 * metrics, and runs the three listeners (ext_proc on `--grpc-port`, gRPC health on
 * `--grpc-health-port`, Prometheus on `--metrics-port`). Owns the lifecycle, including drain.
 */
import { registerBuiltins } from './builtins.js';
import { ConfigError } from './config/decode.js';
import { loadAndBuildScheduler } from './config/load-and-build.js';
import type { ConfigSource } from './config/load-config.js';
import { Datastore } from './datastore/datastore.js';
import type { EndpointSpec } from './datastore/endpoint.js';
import { Director } from './director/director.js';
import { EndpointsFileSource } from './discovery/endpoints-file.js';
import { extProcMethod, StreamTracker } from './extproc/service.js';
import type { BodyMode, Timers } from './extproc/session.js';
import { CertReloader } from './extproc/cert-reloader.js';
import { loadCertificate, selfSignedCertificate, type KeyPair } from './extproc/tls.js';
import type { TlsPolicy } from './extproc/tls-policy.js';
import { GrpcServer } from './grpc/grpc-server.js';
import { healthMethods } from './health/health-methods.js';
import { EXT_PROC_SERVICE_NAME, HealthState, KNOWN_HEALTH_SERVICES } from './health/health-state.js';
import { LogLimiter } from './observability/log-limiter.js';
import type { Logger } from './observability/logger.js';
import { GrpcStreamMetrics } from './observability/grpc-stream-metrics.js';
import { loadMetricsTls, startMetricsServer } from './observability/metrics-server.js';
import { EppMetrics } from './observability/metrics.js';
import type { PluginRegistry } from './plugin/registry.js';
import { PrefixCacheMetrics } from './prefix/prefix-metrics.js';
import { OpenAIParser, OPENAI_PARSER_TYPE, type RequestParser } from './request/request-parser.js';
import { ParserRegistry } from './request/parser-registry.js';
import { ApproxPrefixCacheProducer } from './scheduling/plugins/producers/approx-prefix-cache-producer.js';
import { MmEmbeddingsCacheProducer } from './scheduling/plugins/producers/mm-embeddings-cache-producer.js';
import { EncoderCacheMetrics } from './observability/encoder-cache-metrics.js';
import { CoreMetricsExtractor } from './scrape/data-layer-plugins.js';
import { HA_POPULATE_NON_LEADER_DATASTORE_GATE } from './config/feature-gates.js';
import { AttributeCollector } from './scrape/attribute-collector.js';
import { MetricsCollector, SYSTEM_CLOCK, type Clock } from './scrape/metrics-collector.js';
import { KeepAliveMetricsFetcher } from './scrape/metrics-http-client.js';
import type { MetricsFetcher } from './scrape/scrape-error.js';
import type { KubernetesDiscovery, KubernetesDiscoveryConfig } from './kube/kubernetes-discovery.js';
import { leaderHealthStatus } from './health/leader-health.js';
import { pickModelRewrite } from './kube/model-rewrites.js';
import { attachDisaggMetrics } from './scheduling/plugins/profile-handlers/disagg-profile-handler.js';

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
  /** Plugin types to build the config with (default: the built-ins); embedders and tests add their own. */
  readonly registry?: PluginRegistry;
  /** Load Alpha-stability plugins (`--allow-experimental-plugins`); default false. */
  readonly allowExperimentalPlugins?: boolean;
  /**
   * Exactly one discovery source: a watched file, a fixed list (demo, tests), Kubernetes
   * (InferencePool or standalone selector), or `configured`: the config's `dataLayer.discovery`.
   * A config that declares `dataLayer.discovery` takes precedence over Kubernetes flags, as in the
   * reference; with `endpointsFile` or a fixed list it is an error.
   */
  readonly discovery:
    | { readonly configured: true }
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
  /** `--enable-grpc-stream-metrics`: export llm-d's opt-in ext_proc stream metrics. */
  readonly enableGrpcStreamMetrics?: boolean;
  readonly fetcher?: MetricsFetcher;
  readonly random?: () => number;
  readonly timers?: Timers;
  /** Reuse a certificate (tests) instead of generating one. */
  readonly keyPair?: KeyPair;
  /** Send the primary profile's per-endpoint scores in `envoy.lb` metadata (`--emit-endpoint-scores`). */
  readonly emitEndpointScores?: boolean;
  /** Largest ext_proc message received (`--grpc-max-recv-msg-size`); default: the body limit plus 1 MiB. */
  readonly grpcMaxReceiveBytes?: number;
  /** Largest ext_proc message sent (`--grpc-max-send-msg-size`); default: no limit. */
  readonly grpcMaxSendBytes?: number;
  /** `--tls-min-version` / `--tls-cipher-suites` for the ext_proc port (and as a floor for /metrics TLS). */
  readonly tlsPolicy?: TlsPolicy;
  /** TLS on /metrics: `--metrics-cert-dir` (tls.crt, tls.key), `--metrics-client-ca-file` ('' = no client certificates). */
  readonly metricsTls?: { readonly certDir: string; readonly clientCaFile: string };
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

/** Starts the picker. Throws (with every problem listed) on an invalid config or endpoints file. */
export async function startPicker(options: PickerOptions): Promise<PickerServer> {
  const { logger } = options;
  const random = options.random ?? Math.random;
  const metrics = new EppMetrics({ defaultMetrics: true, namespace: 'kubernetes' in options.discovery ? options.discovery.kubernetes.namespace : '' });
  const registry = options.registry ?? registerBuiltins();
  const clock = options.clock ?? SYSTEM_CLOCK;
  const context = { random, now: () => clock.now() };
  const built = loadAndBuildScheduler(options.config, registry, context, metrics, { allowExperimentalPlugins: options.allowExperimentalPlugins ?? false });
  const { scheduler, plugins, saturationDetector } = built;
  for (const warning of built.warnings) logger.warn(`config: ${warning}`);
  if (built.discovery !== undefined && ('endpointsFile' in options.discovery || 'endpoints' in options.discovery)) {
    throw new ConfigError('EndpointPickerConfig', ['dataLayer.discovery: cannot be combined with --endpoints-file (or a fixed endpoint list): use one discovery source']);
  }
  if (built.discovery === undefined && 'configured' in options.discovery) {
    throw new ConfigError('EndpointPickerConfig', [
      'a discovery source is required: dataLayer.discovery.pluginRef naming a file-discovery plugin, or --pool-name NAME, --endpoint-selector k=v with --endpoint-target-ports, or --endpoints-file FILE',
    ]);
  }
  if (built.discovery !== undefined && 'kubernetes' in options.discovery) logger.warn('config: dataLayer.discovery selects file discovery; Kubernetes discovery flags are not acted on (as in the reference)');
  const pluginList = [...plugins.values()];
  attachDisaggMetrics(pluginList, metrics);
  // Each request goes to the parser claiming its path, as the reference's parser registry does.
  let parser: RequestParser = new OpenAIParser(OPENAI_PARSER_TYPE);
  if (built.parsers.length > 0) {
    const parserRegistry = new ParserRegistry(built.parsers);
    for (const skipped of parserRegistry.skipped) logger.warn(`config: requestHandler.parsers: ${skipped} is skipped`);
    parser = parserRegistry;
  }
  // The configured metrics source scrapes; every extractor configured for it reads the engine type.
  // As the reference: no source, or a source without extractors (the loader warns), collects no metrics.
  const binding = built.dataSources.find((b) => b.extractors.length > 0);
  const extractor = binding?.extractors[0] ?? new CoreMetricsExtractor('core-metrics-extractor', { defaultEngine: 'vllm', engineConfigs: [] });
  if (binding === undefined) logger.info('no data source with an extractor configured; metrics collection is disabled');
  const datastore = new Datastore();
  // Prefix indexes report their metrics and drop endpoints that leave the pool.
  const prefixProducers = pluginList.filter((p): p is ApproxPrefixCacheProducer => p instanceof ApproxPrefixCacheProducer);
  if (prefixProducers.length > 0) {
    const prefixMetrics = new PrefixCacheMetrics(metrics.registry);
    for (const p of prefixProducers) p.attachMetrics(prefixMetrics.forPlugin(p.typedName, p.index));
    datastore.onChange((snapshot) => {
      for (const p of prefixProducers) p.retainOnly(snapshot.endpoints);
    });
  }
  // Likewise the multimodal encoder-cache LRUs.
  const mmProducers = pluginList.filter((p): p is MmEmbeddingsCacheProducer => p instanceof MmEmbeddingsCacheProducer);
  if (mmProducers.length > 0) {
    const encoderMetrics = new EncoderCacheMetrics(metrics.registry);
    for (const p of mmProducers) p.attachMetrics(encoderMetrics.forPlugin(p.typedName));
    datastore.onChange((snapshot) => {
      for (const p of mmProducers) p.retainOnly(snapshot.endpoints);
    });
  }
  const source = binding?.source;
  const scrapeIntervalMs = source?.intervalMs(options.refreshMetricsIntervalMs) ?? options.refreshMetricsIntervalMs;
  const collector = new MetricsCollector({
    intervalMs: scrapeIntervalMs,
    // A source scraped less often than the staleness threshold must not go stale between its scrapes.
    stalenessMs: Math.max(options.metricsStalenessMs, 2 * scrapeIntervalMs),
    timeoutMs: source?.parameters.timeout ?? 1000,
    maxBytes: source?.parameters.maxResponseBytes ?? 16 * MIB,
    maxBackoffMs: Math.max(options.refreshMetricsIntervalMs, 1000),
    scheme: source?.parameters.scheme ?? 'http',
    path: source?.parameters.path ?? '/metrics',
    port: source?.parameters.port,
    nameFilter: source?.parameters.nameFilter ?? true,
    fetcher: options.fetcher ?? source?.createFetcher() ?? new KeepAliveMetricsFetcher({ insecureSkipVerify: true }),
    engineFor: (e) => extractor.engineFor(e),
    clock,
    logger,
    metrics: metrics.collectorMetrics(),
  });
  if (binding !== undefined) datastore.onChange((snapshot) => collector.sync(snapshot.endpoints));
  // Every other configured source (dcgm-data-source, …) scrapes on its own period into endpoint attributes.
  const attributeCollectors = built.attributeSources.map((b) => {
    const intervalMs = b.source.intervalMs(options.refreshMetricsIntervalMs);
    const c = new AttributeCollector({
      source: b.source,
      extractors: b.extractors,
      intervalMs,
      stalenessMs: Math.max(options.metricsStalenessMs, 2 * intervalMs),
      maxBackoffMs: Math.max(intervalMs, 1000),
      fetcher: options.fetcher ?? b.source.createFetcher(),
      clock,
      logger,
      metrics: metrics.collectorMetrics(b.source.typedName.type, b.extractors[0]?.typedName.type),
    });
    datastore.onChange((snapshot) => c.sync(snapshot.endpoints));
    return c;
  });
  metrics.attachPool(options.poolName, () => datastore.snapshot.endpoints);
  let fileSource: { close(): void } | undefined;
  let kube: KubernetesDiscovery | undefined;
  if (built.discovery !== undefined) {
    built.discovery.start((specs) => datastore.setEndpoints(specs), logger);
    logger.info({ path: built.discovery.path, watchFile: built.discovery.watchFile }, 'file discovery: InferenceObjective and InferenceModelRewrite resources are not watched (every request has priority 0)');
    fileSource = built.discovery;
  } else if ('endpointsFile' in options.discovery) {
    const endpointsFile = new EndpointsFileSource({
      path: options.discovery.endpointsFile,
      logger,
      onEndpoints: (specs, objectives) => {
        datastore.setObjectives(objectives);
        datastore.setEndpoints(specs);
      },
    });
    endpointsFile.start();
    fileSource = endpointsFile;
  } else if ('kubernetes' in options.discovery) {
    // haPopulateNonLeaderDatastore=false: a standby's datastore stays empty until it leads (the
    // reference's standby runs no reconcilers); it still counts as synced so liveness holds. On by
    // default: a standby keeps its datastore populated and routes what reaches it.
    const gated = options.discovery.kubernetes.leaderElection === true && built.featureGates.get(HA_POPULATE_NON_LEADER_DATASTORE_GATE) === false;
    let leading = false;
    let latestSpecs: EndpointSpec[] | undefined;
    let latestObjectives: ReadonlyMap<string, number> = new Map();
    const publish = (): void => {
      const populate = !gated || leading;
      datastore.setObjectives(populate ? latestObjectives : new Map());
      if (latestSpecs !== undefined) datastore.setEndpoints(populate ? latestSpecs : []);
    };
    // Imported here: the Kubernetes client library is most of a picker's heap, and every full
    // collection marks it (bench/README "extproc"), so pickers that do not watch Kubernetes skip it.
    const { KubernetesDiscovery } = await import('./kube/kubernetes-discovery.js');
    kube = new KubernetesDiscovery({
      ...options.discovery.kubernetes,
      logger,
      onEndpoints: (specs) => {
        latestSpecs = specs;
        if (!gated || leading) datastore.setEndpoints(specs);
        else publish();
      },
      onObjectives: (objectives) => {
        latestObjectives = objectives;
        if (!gated || leading) datastore.setObjectives(objectives);
      },
      onConfiguredModels: (names) => metrics.pinModelNames(names),
      onLeaderChange: (leader) => {
        leading = leader;
        if (gated) publish();
      },
    });
    kube.start();
  } else if ('endpoints' in options.discovery) {
    datastore.setObjectives(options.discovery.objectives ?? new Map());
    datastore.setEndpoints(options.discovery.endpoints);
  }

  const rewriteRules = kube;
  const director = new Director(datastore, scheduler, {
    disableSubsetFilter: options.disableSubsetFilter,
    random,
    metrics,
    logger,
    // Scores are copied per request only when something will read them.
    recordScores: options.emitEndpointScores === true || logger.isLevelEnabled('debug'),
    ...(saturationDetector === undefined ? {} : { saturationDetector }),
    ...(rewriteRules === undefined
      ? {}
      : {
          modelRewrite: (model: string) => {
            const rewrite = pickModelRewrite(rewriteRules.modelRewriteRules, model, random);
            if (rewrite !== undefined) metrics.modelRewriteDecision(rewrite.rewriteName, model, rewrite.target);
            return rewrite?.target;
          },
        }),
  });
  // Kubernetes discovery un-syncs when its pool is deleted; the datastore never does.
  const health = new HealthState(() => datastore.synced && (kube === undefined || kube.synced));
  const leaderElector = kube?.leaderElection === true ? kube : undefined;
  const streams = new StreamTracker(options.enableGrpcStreamMetrics === true ? new GrpcStreamMetrics(metrics.registry) : undefined);
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
    const policy = options.tlsPolicy ?? {};
    extProcServer = new GrpcServer({
      logger,
      label: 'ext_proc',
      maxReceiveMessageBytes: options.grpcMaxReceiveBytes ?? options.maxRequestBodyBytes + MIB,
      ...(options.grpcMaxSendBytes === undefined ? {} : { maxSendMessageBytes: options.grpcMaxSendBytes }),
      tls: keyPair === undefined ? undefined : { ...keyPair, ...policy },
    });
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
          emitEndpointScores: options.emitEndpointScores === true,
        },
        streams,
      ),
    );
    if (options.healthChecking) for (const m of healthMethods(healthStatus, KNOWN_HEALTH_SERVICES)) extProcServer.addMethod(m);
    const grpcPort = await extProcServer.listen(options.host, options.grpcPort);
    const extProc = extProcServer;
    metrics.attachTransport(extProc.transport);
    if (keyPair !== undefined && options.certPath !== '' && options.enableCertReload === true) {
      const reloader = new CertReloader({ dir: options.certPath, apply: (pair) => extProc.setSecureContext({ ...pair, ...policy }), logger });
      reloader.start();
      started.push({ close: () => Promise.resolve(reloader.close()) });
    }
    const grpcHealthPort = await healthServer.listen(options.host, options.grpcHealthPort);
    let metricsPort = -1;
    if (options.metricsPort >= 0) {
      const mt = options.metricsTls;
      const tls = mt === undefined ? undefined : { ...loadMetricsTls(mt.certDir, mt.clientCaFile), ...policy };
      const m = await startMetricsServer(metrics.registry, options.host, options.metricsPort, tls);
      metricsPort = m.port;
      started.push(m);
      if (mt !== undefined) {
        // The reference's metrics server watches its certificate directory; so does this one.
        const reloader = new CertReloader({ dir: mt.certDir, apply: (pair) => m.setCertificate(pair), logger });
        reloader.start();
        started.push({ close: () => Promise.resolve(reloader.close()) });
      }
    }
    logger.info(
      { grpcPort, grpcHealthPort, metricsPort, metricsTls: options.metricsTls !== undefined, secureServing: options.secureServing, endpoints: datastore.snapshot.endpoints.length, service: EXT_PROC_SERVICE_NAME },
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
        for (const c of attributeCollectors) c.stop();
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
    for (const c of attributeCollectors) c.stop();
    void extProcServer?.close();
    void healthServer.close();
    for (const s of started) await s.close();
    throw err;
  }
}
