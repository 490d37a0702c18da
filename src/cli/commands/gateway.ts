/** `epp gateway`: the local stand-in for Envoy in front of the picker (ext_proc FULL_DUPLEX_STREAMED). */
import { startGateway } from '../../gateway/gateway.js';
import { loadRoutesFile, parsePoolFlag, RoutesError, type PoolRoute } from '../../gateway/model-routes.js';
import { createLogger } from '../../observability/logger.js';
import { untilSignal, type Command } from '../command.js';
import { UsageError, type Flags, type FlagSpec } from '../flags.js';

const DEFAULT_EPP = '127.0.0.1:9002';

const FLAGS: readonly FlagSpec[] = [
  { name: 'host', kind: 'string', default: '127.0.0.1', help: 'address to listen on' },
  { name: 'port', kind: 'port', default: 8080, help: 'port to listen on (0 = any free port)' },
  { name: 'epp', kind: 'string', default: DEFAULT_EPP, help: 'the picker ext_proc address host:port (one pool)' },
  { name: 'pool', kind: 'list', default: [], help: "several pools by the body's model: MODEL=HOST:PORT, repeatable (MODEL * catches the rest); replaces --epp" },
  { name: 'routes-file', kind: 'string', default: '', help: 'several pools by model from a YAML file (routes: [{model, epp, eppTls}]); replaces --epp' },
  { name: 'epp-tls', kind: 'bool', default: false, help: 'TLS to the picker without certificate verification (for its self-signed certificate)' },
  { name: 'request-body-mode', kind: 'string', default: 'full-duplex', help: 'request body mode sent to the picker: full-duplex | buffered' },
  { name: 'failure-mode-allow', kind: 'bool', default: false, help: "Envoy failure_mode_allow: continue when the picker fails before seeing a body (undecided requests get 503)" },
  { name: 'processor-timeout', kind: 'duration', default: 30_000, help: 'longest picker silence while it owes an answer, then 504' },
  { name: 'connect-timeout', kind: 'duration', default: 5_000, help: 'bound on connecting to an endpoint, then 503' },
  { name: 'v', kind: 'int', default: 2, help: 'log verbosity: 0-1 warn, 2 info, 4 debug (one line per request), 5 trace' },
];

function bodyMode(flags: Flags): 'full-duplex' | 'buffered' {
  const mode = flags.string('request-body-mode');
  if (mode !== 'full-duplex' && mode !== 'buffered') throw new UsageError(`--request-body-mode must be full-duplex or buffered, not "${mode}"`);
  return mode;
}

/** The pools of `--pool` / `--routes-file` (none = single-pool mode). */
function poolRoutes(flags: Flags): PoolRoute[] {
  try {
    const routes = flags.list('pool').filter((p) => p.trim() !== '').map(parsePoolFlag);
    const file = flags.string('routes-file');
    if (file !== '') routes.push(...loadRoutesFile(file));
    return routes;
  } catch (err) {
    if (err instanceof RoutesError) throw new UsageError(err.message);
    throw err;
  }
}

function positive(flags: Flags, name: string): number {
  const value = flags.number(name);
  if (value <= 0) throw new UsageError(`--${name} must be positive`);
  return value;
}

export const gatewayCommand: Command = {
  name: 'gateway',
  summary: "run a local gateway that plays Envoy's part in front of the picker",
  flags: FLAGS,
  async run(flags) {
    const port = flags.number('port');
    if (port < 0 || port > 65_535) throw new UsageError(`--port must be between 0 and 65535, got ${port}`);
    const pools = poolRoutes(flags);
    const epp = pools.length > 0 ? '' : flags.string('epp');
    if (pools.length > 0 && flags.string('epp') !== DEFAULT_EPP) throw new UsageError('--epp cannot be combined with --pool or --routes-file');
    if (pools.length === 0 && epp === '') throw new UsageError('--epp must name the picker address host:port');
    const requestBodyMode = bodyMode(flags);
    const processorTimeoutMs = positive(flags, 'processor-timeout');
    const connectTimeoutMs = positive(flags, 'connect-timeout');
    const logger = createLogger(flags.number('v'), 'gateway');
    const gateway = await startGateway({
      host: flags.string('host'),
      port,
      epp,
      pools,
      eppTls: flags.bool('epp-tls'),
      requestBodyMode,
      failureModeAllow: flags.bool('failure-mode-allow'),
      processorTimeoutMs,
      connectTimeoutMs,
      logger,
    });
    logger.info({ url: gateway.url, ...(pools.length > 0 ? { pools } : { epp }), eppTls: flags.bool('epp-tls'), requestBodyMode }, 'gateway listening');
    const signal = await untilSignal();
    logger.info({ signal, routed: gateway.stats.routed, requests: gateway.stats.requests }, 'gateway shutting down');
    await gateway.close();
    logger.flush();
  },
};
