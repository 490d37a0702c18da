import { createServer, validateHeaderValue, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { silentLogger, type Logger } from '../observability/logger.js';
import { engineProfile, withOverrides, type EngineProfile } from '../engine/profiles.js';
import { EngineDriver, type EngineClock } from './engine-pacer.js';
import { EngineStats } from './engine-stats.js';
import type { FakeMetrics } from './fake-metrics.js';
import type { TokenPacer } from './generate.js';
import { LoraRegistry } from './lora-registry.js';
import type { LoraAdapter } from './model-card.js';
import { handleRequest, type MockState } from './router.js';

export type { FakeMetrics } from './fake-metrics.js';
export { parseFakeMetrics } from './fake-metrics.js';
export type { TokenPacer, TokenStep } from './generate.js';
export type { EngineClock } from './engine-pacer.js';

/** How to run a mock vLLM server. */
export interface MockVllmOptions {
  /** Bind address, e.g. `127.0.0.1` or `0.0.0.0`. */
  host: string;
  /** TCP port; 0 picks an ephemeral one (read it back from {@link MockVllmServer.port}). */
  port: number;
  /** The served model name: requests must name it (or a loaded LoRA adapter). */
  model: string;
  /** `x-inference-pod` value; default `process.env.POD_NAME ?? mock-vllm-<port>`. */
  podName?: string;
  /** Pins what `/metrics` reports for running, waiting, KV usage and LoRA info. */
  fakeMetrics?: FakeMetrics;
  /** `max_lora` in `vllm:lora_requests_info`; default 1. */
  maxLoras?: number;
  /**
   * LoRA adapters loaded at start (like vLLM's `--lora-modules`). Adapters named in
   * `fakeMetrics.loras` are loaded too, so requests for them are accepted.
   */
  loras?: readonly LoraAdapter[];
  /** Decides when each generated token is ready; default: all at once. Tests use it to hold requests open. */
  tokenPacer?: TokenPacer;
  /**
   * Engine profile (`llama-8b-h100`, `qwen2.5-3b-t4`, `instant`) whose simulated vLLM replica paces
   * tokens, queues requests and fills the queue, KV and prefix-cache metrics. Default: no engine,
   * every token at once.
   */
  profile?: string;
  /** Limits overriding the profile's (e.g. `maxNumSeqs`, `numGpuBlocks`, `blockSize`); needs `profile`. */
  profileOverrides?: Partial<EngineProfile>;
  /** With `profile`: requests allowed to wait beyond the running batch; more get 429. Default unbounded. */
  maxWaitingQueueLength?: number;
  /** With `profile`: the engine's wall clock and timers (tests inject fake ones). */
  engineClock?: EngineClock;
  /** Default: silent. */
  logger?: Logger;
}

/** A running mock server. `close()` stops listening and drops open connections (in-flight requests abort). */
export interface MockVllmServer {
  /** Base URL a client can connect to (a wildcard bind address is replaced by loopback). */
  readonly url: string;
  /** The bind address as given. */
  readonly host: string;
  /** The bound port (the real one when 0 was asked for). */
  readonly port: number;
  close(): Promise<void>;
}

function clientHost(host: string): string {
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return h.includes(':') ? `[${h}]` : h;
}

function fakeLoraAdapters(fake: FakeMetrics | undefined): LoraAdapter[] {
  const names = (fake?.loras ?? []).flatMap((l) => [l.running ?? '', l.waiting ?? ''].flatMap((csv) => csv.split(',')));
  return [...new Set(names.map((n) => n.trim()).filter((n) => n !== ''))].map((name) => ({ name, path: name }));
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Answers a malformed HTTP request itself, so even that response carries the identity headers. */
function onClientError(state: () => MockState | undefined, err: Error & { code?: string }, socket: Socket): void {
  const s = state();
  if (err.code === 'ECONNRESET' || !socket.writable || s === undefined) {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
  socket.end(
    `HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\nx-inference-pod: ${s.podName}\r\nx-inference-port: ${s.port}\r\n\r\n`,
  );
}

function createEngine(options: MockVllmOptions): EngineDriver | undefined {
  if (options.profile === undefined) {
    if (options.profileOverrides !== undefined || options.maxWaitingQueueLength !== undefined) throw new Error('engine options need a profile');
    return undefined;
  }
  const limit = options.maxWaitingQueueLength;
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) throw new Error(`maxWaitingQueueLength must be a non-negative integer, got ${limit}`);
  const profile = withOverrides(engineProfile(options.profile), options.profileOverrides ?? {});
  return new EngineDriver(profile, {
    ...(options.engineClock === undefined ? {} : { clock: options.engineClock }),
    ...(limit === undefined ? {} : { maxWaitingQueueLength: limit }),
  });
}

/** Starts an OpenAI-compatible mock of a single-engine vLLM server; resolves once it is listening. */
export async function startMockVllm(options: MockVllmOptions): Promise<MockVllmServer> {
  const maxLoras = options.maxLoras ?? 1;
  if (!Number.isSafeInteger(maxLoras) || maxLoras < 1) throw new Error(`maxLoras must be a positive integer, got ${maxLoras}`);
  if (options.model === '') throw new Error('model must not be empty');
  const engine = createEngine(options);
  // Filled in once the port is known; a request cannot arrive before that.
  const ready: { state?: MockState } = {};
  const server = createServer((req, res) => {
    const state = ready.state;
    if (state === undefined) {
      res.destroy();
      return;
    }
    handleRequest(state, req, res).catch((err: unknown) => {
      state.logger.error({ err }, 'mock-vllm handler crashed');
      res.destroy();
    });
  });
  server.on('clientError', (err: Error & { code?: string }, socket: Socket) => onClientError(() => ready.state, err, socket));
  const port = await listen(server, options.port, options.host);
  const podName = options.podName ?? process.env.POD_NAME ?? `mock-vllm-${port}`;
  try {
    validateHeaderValue('x-inference-pod', podName);
  } catch (err) {
    server.close();
    throw new Error(`invalid pod name ${JSON.stringify(podName)}: not a valid header value`, { cause: err });
  }
  const logger = options.logger ?? silentLogger();
  ready.state = {
    model: options.model,
    podName,
    port,
    maxLoras,
    fake: options.fakeMetrics,
    stats: new EngineStats(engine === undefined ? undefined : { blockSize: engine.profile.blockSize, numGpuBlocks: engine.profile.numGpuBlocks }),
    loras: new LoraRegistry([...(options.loras ?? []), ...fakeLoraAdapters(options.fakeMetrics)]),
    pacer: options.tokenPacer,
    engine,
    logger,
    createdAt: Date.now() / 1000,
  };
  server.on('error', (err) => logger.error({ err }, 'mock-vllm server error'));

  let closing: Promise<void> | undefined;
  return {
    url: `http://${clientHost(options.host)}:${port}`,
    host: options.host,
    port,
    close: () => {
      closing ??= new Promise<void>((resolve, reject) => {
        engine?.close();
        server.close((err) => (err === undefined ? resolve() : reject(err)));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
