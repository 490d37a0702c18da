/** `epp pd-sidecar`: the decode pod's P/D routing sidecar (llm-d's `pd-sidecar` as of v0.10, nixlv2 connector). */
import { loadCertificate, selfSignedCertificate, type KeyPair } from '../../extproc/tls.js';
import { createLogger } from '../../observability/logger.js';
import { KV_CONNECTOR_NIXLV2, startPdSidecar, type LegTls, type PdSidecarOptions } from '../../pdsidecar/sidecar.js';
import { untilSignal, type Command } from '../command.js';
import { UsageError, type Flags, type FlagSpec } from '../flags.js';

/** The reference's default model server port behind the sidecar. */
const DEFAULT_MODEL_SERVER_PORT = 8200;

const FLAGS: readonly FlagSpec[] = [
  { name: 'host', kind: 'string', default: '0.0.0.0', help: 'address to listen on' },
  { name: 'port', kind: 'port', default: 8000, help: 'port the sidecar listens on (0 = any free port)' },
  { name: 'model-server-port', kind: 'port', default: DEFAULT_MODEL_SERVER_PORT, help: 'port the local (decode) model server listens on' },
  { name: 'vllm-port', kind: 'port', default: DEFAULT_MODEL_SERVER_PORT, help: 'deprecated: use --model-server-port (used only when that is not given)' },
  { name: 'vllm-host', kind: 'string', default: '127.0.0.1', help: 'address of the local (decode) model server' },
  { name: 'kv-connector', kind: 'string', default: KV_CONNECTOR_NIXLV2, help: 'P/D KV connector protocol; this build supports nixlv2 only' },
  { name: 'connector', kind: 'string', default: '', help: 'removed in llm-d v0.10: use --kv-connector' },
  { name: 'enable-tls', kind: 'list', default: [], help: 'stages reached over HTTPS: prefiller, decoder, encoder (repeat or comma-separate)' },
  { name: 'tls-insecure-skip-verify', kind: 'list', default: [], help: 'stages whose certificate is not verified: prefiller, decoder, encoder' },
  { name: 'enable-p2p-pull', kind: 'bool', default: false, help: 'honour x-kv-cache-source-host-port: vLLM pulls the cached prefix from that peer over the OffloadingConnector P2P tier (engines run MultiConnector(NixlConnector + OffloadingConnector))' },
  { name: 'p2p-connector-port', kind: 'port', default: 7777, help: "the peers' OffloadingConnector P2P tier port, sent as remote_port" },
  { name: 'data-parallel-size', kind: 'int', default: 1, help: 'vLLM data-parallel size; only 1 is supported (route to rank ports directly)' },
  { name: 'secure-proxy', kind: 'bool', default: true, help: 'serve TLS (self-signed certificate unless --cert-path), as the reference sidecar does by default' },
  { name: 'cert-path', kind: 'string', default: '', help: 'directory holding tls.crt and tls.key for --secure-proxy' },
  { name: 'connect-timeout', kind: 'duration', default: 5_000, help: 'bound on connecting to the prefiller or the local vLLM' },
  { name: 'prefill-timeout', kind: 'duration', default: 60_000, help: 'bound on the whole prefill leg; past it the request is decoded locally' },
  { name: 'idle-timeout', kind: 'duration', default: 300_000, help: 'longest silence of an upstream connection (e.g. a stalled stream) before the request fails' },
  { name: 'max-request-body-bytes', kind: 'int', default: 32 * 1024 * 1024, help: 'largest P/D request body read (larger: 413)' },
  { name: 'v', kind: 'int', default: 2, help: 'log verbosity: 0-1 warn, 2 info, 3 verbose, 4 debug, 5 trace' },
];

/** The TLS stages of the reference's sidecar; this build has no encode leg, so `encoder` is accepted and has no effect. */
const TLS_STAGES = ['prefiller', 'decoder', 'encoder'] as const;

function stages(flags: Flags, name: string): Set<string> {
  const out = new Set(flags.list(name));
  for (const s of out) if (!(TLS_STAGES as readonly string[]).includes(s)) throw new UsageError(`--${name} stages must be one of: ${TLS_STAGES.join(', ')}`);
  return out;
}

function legTls(tls: ReadonlySet<string>, skip: ReadonlySet<string>, stage: string): LegTls | undefined {
  return tls.has(stage) ? { insecureSkipVerify: skip.has(stage) } : undefined;
}

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
  if (flags.given('connector')) throw new UsageError('--connector was removed in llm-d v0.10: use --kv-connector');
  const connector = flags.string('kv-connector');
  if (connector !== KV_CONNECTOR_NIXLV2) throw new UsageError(`--kv-connector: "${connector}" is not supported by this build (supported: ${KV_CONNECTOR_NIXLV2})`);
  if (flags.number('data-parallel-size') !== 1) throw new UsageError('--data-parallel-size: only 1 is supported by this build; expose each rank as its own endpoint');
  const tls = stages(flags, 'enable-tls');
  const skip = stages(flags, 'tls-insecure-skip-verify');
  // As the reference: --model-server-port wins; the deprecated --vllm-port only when it alone is given.
  const modelServerPort = !flags.given('model-server-port') && flags.given('vllm-port') ? 'vllm-port' : 'model-server-port';
  const prefillerTls = legTls(tls, skip, 'prefiller');
  const decoderTls = legTls(tls, skip, 'decoder');
  return {
    host: flags.string('host'),
    port: port(flags, 'port', 0),
    vllmHost: flags.string('vllm-host'),
    vllmPort: port(flags, modelServerPort, 1),
    ...(prefillerTls === undefined ? {} : { prefillerTls }),
    ...(decoderTls === undefined ? {} : { decoderTls }),
    ...(flags.bool('enable-p2p-pull') ? { p2pPull: { port: port(flags, 'p2p-connector-port', 1) } } : {}),
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
    if (flags.given('vllm-port')) logger.warn('--vllm-port is deprecated: use --model-server-port');
    let tls: KeyPair | undefined;
    if (flags.bool('secure-proxy')) tls = flags.string('cert-path') !== '' ? loadCertificate(flags.string('cert-path')) : await selfSignedCertificate(2048);
    const sidecar = await startPdSidecar({ ...options, logger, ...(tls === undefined ? {} : { tls }) });
    logger.info(
      {
        url: sidecar.url,
        modelServer: `${options.vllmHost}:${options.vllmPort}`,
        connector: KV_CONNECTOR_NIXLV2,
        secureProxy: tls !== undefined,
        tlsToPrefiller: options.prefillerTls !== undefined,
        tlsToDecoder: options.decoderTls !== undefined,
        p2pPull: options.p2pPull !== undefined,
      },
      'pd-sidecar listening',
    );
    logger.flush();
    const signal = await untilSignal();
    logger.info({ signal }, 'pd-sidecar shutting down');
    await sidecar.close();
    logger.flush();
  },
};
