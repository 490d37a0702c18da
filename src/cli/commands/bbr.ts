/** `epp bbr`: the body-based-routing ext_proc server (sets `X-Gateway-Model-Name` from the body's model). */
import { startBbr } from '../../bbr/server.js';
import { createLogger } from '../../observability/logger.js';
import { untilSignal, type Command } from '../command.js';
import { UsageError, type FlagSpec } from '../flags.js';

const FLAGS: readonly FlagSpec[] = [
  { name: 'grpc-port', kind: 'port', default: 9004, help: 'ext_proc gRPC port (GIE bbr default)' },
  { name: 'grpc-health-port', kind: 'port', default: 9005, help: 'gRPC health port (grpc.health.v1, plain text)' },
  { name: 'metrics-port', kind: 'port', default: 9090, help: 'Prometheus /metrics port' },
  { name: 'bind-address', kind: 'string', default: '0.0.0.0', help: 'address the listeners bind to' },
  { name: 'secure-serving', kind: 'bool', default: true, help: 'serve ext_proc over TLS (self-signed unless --cert-path)' },
  { name: 'cert-path', kind: 'string', default: '', help: 'directory holding tls.crt and tls.key' },
  { name: 'max-request-body-bytes', kind: 'int', default: 32 * 1024 * 1024, help: 'request bodies larger than this get 413' },
  { name: 'request-body-mode', kind: 'string', default: 'full-duplex', help: 'body mode assumed when the data plane sends no protocol_config: full-duplex | buffered' },
  { name: 'streaming', kind: 'bool', default: true, help: "GIE bbr's flag: --streaming=false is --request-body-mode=buffered" },
  { name: 'health-checking', kind: 'bool', default: false, help: 'also serve gRPC health on the ext_proc port' },
  { name: 'drain-timeout', kind: 'duration', default: 30_000, help: 'on SIGTERM, how long live streams may finish before the server stops' },
  { name: 'v', kind: 'int', default: 2, help: 'log verbosity: 1 warn, 2 info, 4 debug (per request), 5 trace' },
];

export const bbrCommand: Command = {
  name: 'bbr',
  summary: 'run the body-based router (model in the body -> X-Gateway-Model-Name)',
  flags: FLAGS,
  async run(flags) {
    const mode = flags.string('request-body-mode');
    if (mode !== 'full-duplex' && mode !== 'buffered') throw new UsageError(`--request-body-mode must be full-duplex or buffered, not "${mode}"`);
    const maxBody = flags.number('max-request-body-bytes');
    if (maxBody < 1) throw new UsageError('--max-request-body-bytes must be positive');
    const logger = createLogger(flags.number('v'), 'bbr');
    const server = await startBbr({
      host: flags.string('bind-address'),
      grpcPort: flags.number('grpc-port'),
      grpcHealthPort: flags.number('grpc-health-port'),
      metricsPort: flags.number('metrics-port'),
      secureServing: flags.bool('secure-serving'),
      certPath: flags.string('cert-path'),
      maxRequestBodyBytes: maxBody,
      requestBodyMode: flags.bool('streaming') ? mode : 'buffered',
      healthChecking: flags.bool('health-checking'),
      logger,
    });
    const signal = await untilSignal();
    logger.info({ signal }, 'draining');
    await server.shutdown(flags.number('drain-timeout'));
    logger.flush();
  },
};
