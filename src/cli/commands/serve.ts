/** `epp serve`: the ext_proc endpoint picker, with llm-d's flags and defaults. */
import { startPicker, type PickerOptions } from '../../app.js';
import { loadConfig, type ConfigSource } from '../../config/load-config.js';
import { ConfigError } from '../../config/decode.js';
import { defaultPoolNamespace } from '../../kube/pool-namespace.js';
import { LabelSelectorError, parseLabelSelector, type LabelSelector } from '../../kube/label-selector.js';
import { poolResource } from '../../kube/pool-spec.js';
import { createLogger } from '../../observability/logger.js';
import { tlsPolicy, TlsPolicyError, type TlsPolicy } from '../../extproc/tls-policy.js';
import { parseByteSize } from '../byte-size.js';
import { untilSignal, type Command } from '../command.js';
import { UsageError, type Flags, type FlagSpec } from '../flags.js';

/**
 * The reference's flags this build accepts so its charts' arguments work unchanged, but does not act
 * on (Go runtime, zap logging, OTLP tracing, metrics authentication). A non-default value is logged.
 */
const IGNORED_FLAGS: readonly (FlagSpec & { readonly why: string })[] = [
  { name: 'metrics-endpoint-auth', kind: 'bool', default: true, help: 'accepted; /metrics is not authenticated here (restrict it with a NetworkPolicy)', why: '/metrics has no authentication in this build' },
  { name: 'enable-pprof', kind: 'bool', default: true, help: 'accepted; there are no Go pprof handlers', why: 'no pprof handlers' },
  { name: 'tracing', kind: 'bool', default: true, help: 'accepted; OTLP tracing is not implemented', why: 'tracing is not implemented' },
  { name: 'refresh-prometheus-metrics-interval', kind: 'duration', default: 5000, help: 'accepted; pool gauges are computed on each /metrics scrape', why: 'pool gauges are computed per scrape' },
  { name: 'zap-encoder', kind: 'string', default: '', help: 'accepted; logs are always JSON (pino)', why: 'logs are always JSON' },
  { name: 'zap-log-level', kind: 'string', default: '', help: 'accepted; use -v', why: 'use -v for verbosity' },
  { name: 'zap-devel', kind: 'bool', default: false, help: 'accepted; ignored', why: 'ignored' },
  { name: 'zap-stacktrace-level', kind: 'string', default: '', help: 'accepted; ignored', why: 'ignored' },
  { name: 'zap-time-encoding', kind: 'string', default: '', help: 'accepted; ignored', why: 'ignored' },
  { name: 'model-server-metrics-port', kind: 'int', default: 0, help: 'deprecated and ignored: endpoints are scraped on their own port', why: 'scraping uses each endpoint\'s port' },
  { name: 'model-server-metrics-scheme', kind: 'string', default: 'http', help: 'deprecated: set metrics-data-source parameters.scheme', why: 'use metrics-data-source parameters' },
  { name: 'model-server-metrics-path', kind: 'string', default: '/metrics', help: 'deprecated: set metrics-data-source parameters.path', why: 'use metrics-data-source parameters' },
  { name: 'model-server-metrics-https-insecure-skip-verify', kind: 'bool', default: true, help: 'deprecated: set metrics-data-source parameters', why: 'use metrics-data-source parameters' },
];

/** Metric-name flags the reference keeps but rejects when set (engine mappings moved to the config). */
const REJECTED_FLAGS: readonly string[] = [
  'total-queued-requests-metric',
  'total-running-requests-metric',
  'kv-cache-usage-percentage-metric',
  'lora-info-metric',
  'cache-info-metric',
];

const COMPAT_FLAGS: readonly FlagSpec[] = [
  ...IGNORED_FLAGS.map(({ why: _why, ...spec }) => spec),
  ...REJECTED_FLAGS.map((name): FlagSpec => ({ name, kind: 'string', default: '', help: 'deprecated: rejected when set; use core-metrics-extractor parameters.engineConfigs' })),
];

/** Rejects the retired metric-name flags and names every accepted-but-ignored flag set to a non-default value. */
export function compatibilityNotes(flags: Flags): string[] {
  for (const name of REJECTED_FLAGS) {
    if (flags.string(name) !== '') throw new UsageError(`--${name} is no longer supported: map engine metrics with core-metrics-extractor parameters.engineConfigs in the config file`);
  }
  const notes: string[] = [];
  for (const f of IGNORED_FLAGS) {
    const value = f.kind === 'bool' ? flags.bool(f.name) : f.kind === 'string' ? flags.string(f.name) : flags.number(f.name);
    if (value !== f.default) notes.push(`--${f.name}: ${f.why}`);
  }
  return notes;
}

const FLAGS: readonly FlagSpec[] = [
  { name: 'grpc-port', kind: 'port', default: 9002, help: 'ext_proc gRPC port' },
  { name: 'grpc-health-port', kind: 'port', default: 9003, help: 'gRPC health port (grpc.health.v1, plain text)' },
  { name: 'metrics-port', kind: 'port', default: 9090, help: 'Prometheus /metrics port' },
  { name: 'enable-grpc-stream-metrics', kind: 'bool', default: false, help: 'export the ext_proc stream metrics llm_d_epp_extproc_streams_inflight, _stream_duration_seconds and _streams_total{code}' },
  { name: 'bind-address', kind: 'string', default: '0.0.0.0', help: 'address the listeners bind to' },
  { name: 'secure-serving', kind: 'bool', default: true, help: 'serve ext_proc over TLS (self-signed unless --cert-path)' },
  { name: 'cert-path', kind: 'string', default: '', help: 'directory holding tls.crt and tls.key' },
  { name: 'enable-cert-reload', kind: 'bool', default: false, help: 'reload tls.crt and tls.key from --cert-path when they change (a pair that does not load keeps the current one)' },
  { name: 'tls-min-version', kind: 'string', default: '', help: 'minimum TLS version for secure serving: VersionTLS10 | VersionTLS11 | VersionTLS12 | VersionTLS13' },
  { name: 'tls-cipher-suites', kind: 'list', default: [], help: 'TLS cipher suites for secure serving (Go crypto/tls names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256); TLS 1.2 and below only' },
  { name: 'metrics-cert-dir', kind: 'string', default: '', help: 'directory with tls.crt and tls.key: serve /metrics over TLS (reloaded when they change)' },
  { name: 'metrics-client-ca-file', kind: 'string', default: '', help: 'PEM CA for /metrics: require a client certificate it signed (needs --metrics-cert-dir)' },
  { name: 'grpc-max-recv-msg-size', kind: 'string', default: '', help: 'largest ext_proc message received, e.g. 10MiB or 25MB (default: --max-request-body-bytes plus 1 MiB); larger gets RESOURCE_EXHAUSTED' },
  { name: 'grpc-max-send-msg-size', kind: 'string', default: '', help: 'largest ext_proc message sent, e.g. 10MiB (default: no limit); larger ends the stream with RESOURCE_EXHAUSTED' },
  { name: 'emit-endpoint-scores', kind: 'bool', default: false, help: "send the scheduler's per-endpoint scores in the envoy.lb metadata under x-gateway-destination-endpoint-scores" },
  { name: 'config-file', kind: 'string', default: '', help: 'EndpointPickerConfig YAML file' },
  { name: 'config-text', kind: 'string', default: '', help: 'EndpointPickerConfig YAML text' },
  { name: 'endpoints-file', kind: 'string', default: '', help: 'local discovery: YAML file listing endpoints, reloaded on change' },
  { name: 'allow-experimental-plugins', kind: 'bool', default: false, help: 'load plugins of Alpha stability (refused otherwise)' },
  { name: 'max-request-body-bytes', kind: 'int', default: 32 * 1024 * 1024, help: 'request bodies larger than this get 413' },
  { name: 'decision-timeout', kind: 'duration', default: 5000, help: 'a routing decision not made within this answers 503' },
  { name: 'request-body-mode', kind: 'string', default: 'full-duplex', help: 'body mode assumed when the data plane sends no protocol_config: full-duplex | buffered' },
  { name: 'refresh-metrics-interval', kind: 'duration', default: 50, help: 'how often each endpoint\'s /metrics is scraped' },
  { name: 'metrics-staleness-threshold', kind: 'duration', default: 2000, help: 'metrics older than this are unknown (treated as busy)' },
  { name: 'disable-endpoint-subset-filter', kind: 'bool', default: false, help: 'ignore the data plane subset hint' },
  { name: 'health-checking', kind: 'bool', default: false, help: 'also serve gRPC health on the ext_proc port' },
  { name: 'drain-timeout', kind: 'duration', default: 30_000, help: 'on SIGTERM: readiness goes NOT_SERVING and requests are still routed for this long; then new ones get 503 (rejected-shutting-down) and live streams get as long again to finish' },
  { name: 'pool-name', kind: 'string', default: '', help: 'InferencePool to serve (Kubernetes discovery)' },
  { name: 'pool-namespace', kind: 'string', default: '', help: 'namespace of the InferencePool (default: $NAMESPACE, else the service account namespace, else default)' },
  { name: 'pool-group', kind: 'string', default: 'inference.networking.k8s.io', help: 'API group of the InferencePool' },
  { name: 'endpoint-selector', kind: 'string', default: '', help: 'standalone Kubernetes discovery: pod label selector (Kubernetes syntax: k=v, k!=v, k in (a,b), k notin (a), k, !k; comma-joined)' },
  { name: 'endpoint-target-ports', kind: 'list', default: [], help: 'standalone Kubernetes discovery: target ports (1-8, comma-separated)' },
  { name: 'ha-enable-leader-election', kind: 'bool', default: false, help: 'active-passive HA: compete for a Lease; only the leader reports ready' },
  { name: 'v', kind: 'int', default: 2, help: 'log verbosity: 1 warn, 2 info, 3 verbose (a line per request), 4 debug (with profile and scores), 5 trace' },
  ...COMPAT_FLAGS,
];

/** Parses `--endpoint-target-ports`: 1–8 unique ports. */
function targetPorts(values: readonly string[]): number[] {
  const ports = values.map((v) => v.trim()).filter((v) => v !== '');
  if (ports.length < 1 || ports.length > 8) throw new UsageError('--endpoint-target-ports needs 1 to 8 ports');
  const out = ports.map((p) => {
    const n = /^\d+$/.test(p) ? Number(p) : NaN;
    if (!(n >= 1 && n <= 65535)) throw new UsageError(`--endpoint-target-ports: invalid port "${p}"`);
    return n;
  });
  if (new Set(out).size !== out.length) throw new UsageError('--endpoint-target-ports: ports must be unique');
  return out;
}

/** The deployment a pod belongs to, from `POD_NAME` (`<deployment>-<replicaset hash>-<pod hash>`). */
function deploymentName(podName: string | undefined): string {
  const parts = (podName ?? '').split('-');
  return parts.length > 2 ? parts.slice(0, -2).join('-') : 'standalone';
}

/** Exactly one discovery source from the flags: an endpoints file, an InferencePool, or a standalone selector. */
export function discoverySource(flags: Flags): PickerOptions['discovery'] {
  const endpointsFile = flags.string('endpoints-file');
  const poolName = flags.string('pool-name');
  const selectorText = flags.string('endpoint-selector');
  const ports = flags.list('endpoint-target-ports');
  const chosen = [endpointsFile !== '', poolName !== '', selectorText !== ''].filter(Boolean).length;
  // Without a flag, the config must name a discovery plugin (dataLayer.discovery); startPicker checks it.
  if (chosen === 0) {
    if (ports.length > 0) throw new UsageError('a discovery source is required: --endpoint-target-ports needs --endpoint-selector');
    if (flags.bool('ha-enable-leader-election')) throw new UsageError('--ha-enable-leader-election needs Kubernetes discovery (--pool-name or --endpoint-selector)');
    return { configured: true };
  }
  if (chosen > 1) throw new UsageError('--pool-name, --endpoint-selector and --endpoints-file are mutually exclusive');
  if (selectorText === '' && ports.length > 0) throw new UsageError('--endpoint-target-ports needs --endpoint-selector');
  const leaderElection = flags.bool('ha-enable-leader-election');
  if (endpointsFile !== '') {
    if (leaderElection) throw new UsageError('--ha-enable-leader-election needs Kubernetes discovery (--pool-name or --endpoint-selector)');
    return { endpointsFile };
  }
  const namespace = flags.string('pool-namespace') !== '' ? flags.string('pool-namespace') : defaultPoolNamespace();
  if (poolName !== '') {
    const poolGroup = flags.string('pool-group');
    try {
      poolResource(poolGroup);
    } catch (err) {
      throw new UsageError(err instanceof Error ? err.message : String(err));
    }
    return { kubernetes: { namespace, pool: { poolName, poolGroup }, leaderElection } };
  }
  let selector: LabelSelector;
  try {
    selector = parseLabelSelector(selectorText);
  } catch (err) {
    // The reference's wording: invalid endpoint-selector "<text>": <labels.Parse error>.
    if (err instanceof LabelSelectorError) throw new UsageError(`invalid endpoint-selector ${JSON.stringify(selectorText)}: ${err.message}`);
    throw err;
  }
  // A blank selector parses as "everything"; every pod of the namespace is never what was meant.
  if (selector.length === 0) throw new UsageError('--endpoint-selector is blank: it would select every pod in the namespace');
  return {
    kubernetes: { namespace, pool: { selector, targetPorts: targetPorts(ports) }, leaderElection, leaseName: `epp-${namespace}-${deploymentName(process.env.POD_NAME)}.llm-d.ai` },
  };
}

/** Validates flag combinations and turns them into the config source and discovery. */
function configSource(flags: Flags): ConfigSource {
  const file = flags.string('config-file');
  const text = flags.string('config-text');
  if (file !== '' && text !== '') throw new UsageError('--config-file and --config-text are mutually exclusive');
  return file !== '' ? { file } : text !== '' ? { text } : 'default';
}

/** `--tls-min-version` and `--tls-cipher-suites`; bad names are usage errors. */
export function tlsPolicyFlags(flags: Flags): TlsPolicy {
  try {
    return tlsPolicy(flags.string('tls-min-version'), flags.list('tls-cipher-suites'));
  } catch (err) {
    if (err instanceof TlsPolicyError) throw new UsageError(err.message);
    throw err;
  }
}

/** `--metrics-cert-dir` / `--metrics-client-ca-file`, checked as the reference checks them. */
export function metricsTlsFlags(flags: Flags): { certDir: string; clientCaFile: string } | undefined {
  const certDir = flags.string('metrics-cert-dir');
  const clientCaFile = flags.string('metrics-client-ca-file');
  if (clientCaFile !== '' && certDir === '') throw new UsageError('--metrics-client-ca-file requires --metrics-cert-dir');
  if (certDir === '') return undefined;
  if (clientCaFile === '' && !flags.bool('metrics-endpoint-auth')) {
    throw new UsageError('--metrics-cert-dir enables metrics TLS without authentication; set --metrics-client-ca-file or --metrics-endpoint-auth');
  }
  return { certDir, clientCaFile };
}

/** A `--grpc-max-*-msg-size` value in bytes; undefined when unset (or 0, which the reference also treats as unset). */
export function grpcMessageSize(flags: Flags, name: string): number | undefined {
  const text = flags.string(name);
  if (text === '') return undefined;
  const bytes = parseByteSize(name, text);
  return bytes === 0 ? undefined : bytes;
}

function positiveDuration(flags: Flags, name: string): number {
  const ms = flags.number(name);
  if (ms <= 0) throw new UsageError(`--${name} must be positive`);
  return ms;
}

/** Whether the config declares `dataLayer.discovery`; an invalid config counts as declaring it, so the picker's start reports all its problems at once. */
function declaresDiscovery(source: ConfigSource): boolean {
  try {
    return loadConfig(source).dataLayer?.discovery !== undefined;
  } catch (err) {
    if (err instanceof ConfigError) return true;
    throw err;
  }
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the ext_proc endpoint picker',
  flags: FLAGS,
  async run(flags) {
    const discovery = discoverySource(flags);
    if ('configured' in discovery && !declaresDiscovery(configSource(flags))) {
      throw new UsageError('a discovery source is required: --pool-name NAME, --endpoint-selector k=v with --endpoint-target-ports, --endpoints-file FILE, or dataLayer.discovery in the config');
    }
    const mode = flags.string('request-body-mode');
    if (mode !== 'full-duplex' && mode !== 'buffered') throw new UsageError(`--request-body-mode must be full-duplex or buffered, not "${mode}"`);
    const maxBody = flags.number('max-request-body-bytes');
    if (maxBody < 1) throw new UsageError('--max-request-body-bytes must be positive');
    const notes = compatibilityNotes(flags);
    const policy = tlsPolicyFlags(flags);
    const metricsTls = metricsTlsFlags(flags);
    const grpcMaxReceiveBytes = grpcMessageSize(flags, 'grpc-max-recv-msg-size');
    const grpcMaxSendBytes = grpcMessageSize(flags, 'grpc-max-send-msg-size');
    const logger = createLogger(flags.number('v'));
    for (const note of notes) logger.warn(`flag accepted but not acted on: ${note}`);
    if (metricsTls !== undefined && metricsTls.clientCaFile === '') {
      logger.warn('--metrics-cert-dir without --metrics-client-ca-file: /metrics is served over TLS to any client (this build does not implement --metrics-endpoint-auth)');
    }
    if (grpcMaxReceiveBytes !== undefined && grpcMaxReceiveBytes < maxBody && mode === 'buffered') {
      logger.warn({ grpcMaxReceiveBytes, maxRequestBodyBytes: maxBody }, 'in buffered mode a whole body is one ext_proc message: bodies above --grpc-max-recv-msg-size fail with RESOURCE_EXHAUSTED before --max-request-body-bytes applies');
    }
    if (grpcMaxSendBytes !== undefined && grpcMaxSendBytes < 64 * 1024) {
      logger.warn({ grpcMaxSendBytes }, 'ext_proc body chunks are up to 62,000 bytes: a --grpc-max-send-msg-size below 64 KiB fails requests with bodies');
    }
    const picker = await startPicker({
      host: flags.string('bind-address'),
      grpcPort: flags.number('grpc-port'),
      grpcHealthPort: flags.number('grpc-health-port'),
      metricsPort: flags.number('metrics-port'),
      enableGrpcStreamMetrics: flags.bool('enable-grpc-stream-metrics'),
      secureServing: flags.bool('secure-serving'),
      certPath: flags.string('cert-path'),
      enableCertReload: flags.bool('enable-cert-reload'),
      tlsPolicy: policy,
      ...(metricsTls === undefined ? {} : { metricsTls }),
      ...(grpcMaxReceiveBytes === undefined ? {} : { grpcMaxReceiveBytes }),
      ...(grpcMaxSendBytes === undefined ? {} : { grpcMaxSendBytes }),
      emitEndpointScores: flags.bool('emit-endpoint-scores'),
      config: configSource(flags),
      allowExperimentalPlugins: flags.bool('allow-experimental-plugins'),
      discovery,
      maxRequestBodyBytes: maxBody,
      decisionTimeoutMs: flags.number('decision-timeout'),
      requestBodyMode: mode,
      disableSubsetFilter: flags.bool('disable-endpoint-subset-filter'),
      healthChecking: flags.bool('health-checking'),
      refreshMetricsIntervalMs: positiveDuration(flags, 'refresh-metrics-interval'),
      metricsStalenessMs: positiveDuration(flags, 'metrics-staleness-threshold'),
      poolName: flags.string('pool-name') !== '' ? flags.string('pool-name') : 'local',
      logger,
    });
    const signal = await untilSignal();
    logger.info({ signal }, 'draining');
    await picker.drain(flags.number('drain-timeout'));
    logger.flush();
  },
};
