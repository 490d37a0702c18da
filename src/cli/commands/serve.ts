/** `epp serve`: the ext_proc endpoint picker, with llm-d's flags and defaults. */
import { startPicker } from '../../app.js';
import type { ConfigSource } from '../../config/load-config.js';
import { createLogger } from '../../observability/logger.js';
import { untilSignal, type Command } from '../command.js';
import { UsageError, type Flags, type FlagSpec } from '../flags.js';

const FLAGS: readonly FlagSpec[] = [
  { name: 'grpc-port', kind: 'int', default: 9002, help: 'ext_proc gRPC port' },
  { name: 'grpc-health-port', kind: 'int', default: 9003, help: 'gRPC health port (grpc.health.v1, plain text)' },
  { name: 'metrics-port', kind: 'int', default: 9090, help: 'Prometheus /metrics port' },
  { name: 'bind-address', kind: 'string', default: '0.0.0.0', help: 'address the listeners bind to' },
  { name: 'secure-serving', kind: 'bool', default: true, help: 'serve ext_proc over TLS (self-signed unless --cert-path)' },
  { name: 'cert-path', kind: 'string', default: '', help: 'directory holding tls.crt and tls.key' },
  { name: 'config-file', kind: 'string', default: '', help: 'EndpointPickerConfig YAML file' },
  { name: 'config-text', kind: 'string', default: '', help: 'EndpointPickerConfig YAML text' },
  { name: 'endpoints-file', kind: 'string', default: '', help: 'local discovery: YAML file listing endpoints, reloaded on change' },
  { name: 'max-request-body-bytes', kind: 'int', default: 32 * 1024 * 1024, help: 'request bodies larger than this get 413' },
  { name: 'decision-timeout', kind: 'duration', default: 5000, help: 'a routing decision not made within this answers 503' },
  { name: 'request-body-mode', kind: 'string', default: 'full-duplex', help: 'body mode assumed when the data plane sends no protocol_config: full-duplex | buffered' },
  { name: 'refresh-metrics-interval', kind: 'duration', default: 50, help: 'how often each endpoint\'s /metrics is scraped' },
  { name: 'metrics-staleness-threshold', kind: 'duration', default: 2000, help: 'metrics older than this are unknown (treated as busy)' },
  { name: 'disable-endpoint-subset-filter', kind: 'bool', default: false, help: 'ignore the data plane subset hint' },
  { name: 'health-checking', kind: 'bool', default: false, help: 'also serve gRPC health on the ext_proc port' },
  { name: 'drain-timeout', kind: 'duration', default: 30_000, help: 'on SIGTERM, how long live streams may finish before the server stops' },
  { name: 'pool-name', kind: 'string', default: '', help: 'InferencePool to serve (Kubernetes discovery)' },
  { name: 'pool-namespace', kind: 'string', default: '', help: 'namespace of the InferencePool' },
  { name: 'pool-group', kind: 'string', default: 'inference.networking.k8s.io', help: 'API group of the InferencePool' },
  { name: 'endpoint-selector', kind: 'string', default: '', help: 'standalone Kubernetes discovery: pod label selector k=v,k2=v2' },
  { name: 'endpoint-target-ports', kind: 'list', default: [], help: 'standalone Kubernetes discovery: target ports' },
  { name: 'v', kind: 'int', default: 2, help: 'log verbosity: 1 warn, 2 info, 3 debug (per request), 4 trace' },
];

/** Validates flag combinations and turns them into the config source and discovery. */
function configSource(flags: Flags): ConfigSource {
  const file = flags.string('config-file');
  const text = flags.string('config-text');
  if (file !== '' && text !== '') throw new UsageError('--config-file and --config-text are mutually exclusive');
  return file !== '' ? { file } : text !== '' ? { text } : 'default';
}

function positiveDuration(flags: Flags, name: string): number {
  const ms = flags.number(name);
  if (ms <= 0) throw new UsageError(`--${name} must be positive`);
  return ms;
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the ext_proc endpoint picker',
  flags: FLAGS,
  async run(flags) {
    const endpointsFile = flags.string('endpoints-file');
    if (flags.string('pool-name') !== '' || flags.string('endpoint-selector') !== '') {
      throw new UsageError('Kubernetes discovery (--pool-name, --endpoint-selector) is not available in this build yet; use --endpoints-file');
    }
    if (endpointsFile === '') throw new UsageError('a discovery source is required: --endpoints-file FILE');
    const mode = flags.string('request-body-mode');
    if (mode !== 'full-duplex' && mode !== 'buffered') throw new UsageError(`--request-body-mode must be full-duplex or buffered, not "${mode}"`);
    const maxBody = flags.number('max-request-body-bytes');
    if (maxBody < 1) throw new UsageError('--max-request-body-bytes must be positive');
    const logger = createLogger(flags.number('v'));
    const picker = await startPicker({
      host: flags.string('bind-address'),
      grpcPort: flags.number('grpc-port'),
      grpcHealthPort: flags.number('grpc-health-port'),
      metricsPort: flags.number('metrics-port'),
      secureServing: flags.bool('secure-serving'),
      certPath: flags.string('cert-path'),
      config: configSource(flags),
      discovery: { endpointsFile },
      maxRequestBodyBytes: maxBody,
      decisionTimeoutMs: flags.number('decision-timeout'),
      requestBodyMode: mode,
      disableSubsetFilter: flags.bool('disable-endpoint-subset-filter'),
      healthChecking: flags.bool('health-checking'),
      refreshMetricsIntervalMs: positiveDuration(flags, 'refresh-metrics-interval'),
      metricsStalenessMs: positiveDuration(flags, 'metrics-staleness-threshold'),
      poolName: 'local',
      logger,
    });
    const signal = await untilSignal();
    logger.info({ signal }, 'draining');
    await picker.shutdown(flags.number('drain-timeout'));
    logger.flush();
  },
};
