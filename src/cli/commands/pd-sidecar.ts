/** `epp pd-sidecar`: the decode pod's P/D routing sidecar (llm-d's `pd-sidecar`, nixlv2 connector). */
import { loadCertificate, selfSignedCertificate, type KeyPair } from '../../extproc/tls.js';
import { createLogger } from '../../observability/logger.js';
import { KV_CONNECTOR_NIXLV2, startPdSidecar, type PdSidecarOptions } from '../../pdsidecar/sidecar.js';
import { untilSignal, type Command } from '../command.js';
import { UsageError, type Flags, type FlagSpec } from '../flags.js';

const FLAGS: readonly FlagSpec[] = [
  { name: 'host', kind: 'string', default: '0.0.0.0', help: 'address to listen on' },
  { name: 'port', kind: 'port', default: 8000, help: 'port the sidecar listens on (0 = any free port)' },
  { name: 'vllm-port', kind: 'port', default: 8001, help: 'port the local (decode) vLLM listens on' },
  { name: 'vllm-host', kind: 'string', default: '127.0.0.1', help: 'address of the local (decode) vLLM' },
  { name: 'kv-connector', kind: 'string', default: KV_CONNECTOR_NIXLV2, help: 'P/D KV connector protocol; this build supports nixlv2 only' },
  { name: 'connector', kind: 'string', default: '', help: 'deprecated: use --kv-connector' },
  { name: 'data-parallel-size', kind: 'int', default: 1, help: 'vLLM data-parallel size; only 1 is supported (route to rank ports directly)' },
  { name: 'secure-proxy', kind: 'bool', default: true, help: 'serve TLS (self-signed certificate unless --cert-path), as the reference sidecar does by default' },
  { name: 'cert-path', kind: 'string', default: '', help: 'directory holding tls.crt and tls.key for --secure-proxy' },
  { name: 'connect-timeout', kind: 'duration', default: 5_000, help: 'bound on connecting to the prefiller or the local vLLM' },
  { name: 'prefill-timeout', kind: 'duration', default: 60_000, help: 'bound on the whole prefill leg; past it the request is decoded locally' },
  { name: 'idle-timeout', kind: 'duration', default: 300_000, help: 'longest silence of an upstream connection (e.g. a stalled stream) before the request fails' },
  { name: 'max-request-body-bytes', kind: 'int', default: 32 * 1024 * 1024, help: 'largest P/D request body read (larger: 413)' },
  { name: 'v', kind: 'int', default: 2, help: 'log verbosity: 0-1 warn, 2 info, 3 debug, 4+ trace' },
];

function port(flags: Flags, name: string, min: number): number {
  const v = flags.number(name);
  if (v < min || v > 65_535) throw new UsageError(`--${name} must be between ${min} and 65535, got ${v}`);
  return v;
}

function positive(flags: Flags, name: string): number {
  const v = flags.number(name);
  if (v <= 0) throw new UsageError(`--${name} must be positive`);
  return v;
}

/** The sidecar options the flags ask for (without logger and TLS material); throws UsageError. */
export function pdSidecarOptions(flags: Flags): Omit<PdSidecarOptions, 'logger' | 'tls'> {
  const connector = flags.string('connector') !== '' ? flags.string('connector') : flags.string('kv-connector');
  if (connector !== KV_CONNECTOR_NIXLV2) throw new UsageError(`--kv-connector: "${connector}" is not supported by this build (supported: ${KV_CONNECTOR_NIXLV2})`);
  if (flags.number('data-parallel-size') !== 1) throw new UsageError('--data-parallel-size: only 1 is supported by this build; expose each rank as its own endpoint');
  return {
    host: flags.string('host'),
    port: port(flags, 'port', 0),
    vllmHost: flags.string('vllm-host'),
    vllmPort: port(flags, 'vllm-port', 1),
    connectTimeoutMs: positive(flags, 'connect-timeout'),
    prefillTimeoutMs: positive(flags, 'prefill-timeout'),
    idleTimeoutMs: positive(flags, 'idle-timeout'),
    maxRequestBodyBytes: positive(flags, 'max-request-body-bytes'),
  };
}

export const pdSidecarCommand: Command = {
  name: 'pd-sidecar',
  summary: "run the decode pod's P/D routing sidecar: prefill on x-prefiller-host-port, then decode locally (nixlv2)",
  flags: FLAGS,
  async run(flags) {
    const options = pdSidecarOptions(flags);
    const logger = createLogger(flags.number('v'), 'pd-sidecar');
    let tls: KeyPair | undefined;
    if (flags.bool('secure-proxy')) tls = flags.string('cert-path') !== '' ? loadCertificate(flags.string('cert-path')) : await selfSignedCertificate(2048);
    const sidecar = await startPdSidecar({ ...options, logger, ...(tls === undefined ? {} : { tls }) });
    logger.info({ url: sidecar.url, vllm: `${options.vllmHost}:${options.vllmPort}`, connector: KV_CONNECTOR_NIXLV2, secureProxy: tls !== undefined }, 'pd-sidecar listening');
    logger.flush();
    const signal = await untilSignal();
    logger.info({ signal }, 'pd-sidecar shutting down');
    await sidecar.close();
    logger.flush();
  },
};
