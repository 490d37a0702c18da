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
import { FailureInjector, type FailureType } from './failure-injection.js';
import { handleRequest, type MockState } from './router.js';

export type { FakeMetrics } from './fake-metrics.js';
export { parseFakeMetrics } from './fake-metrics.js';
export type { TokenPacer, TokenStep } from './generate.js';
export type { EngineClock } from './engine-pacer.js';
export { FAILURE_TYPES, type FailureType } from './failure-injection.js';

/**
 * The engine profile a mock runs when none is named: Qwen2.5-3B-Instruct on a T4, the default
 * `--model` and the seeds' own deployment (~33 tokens/s per request, 2,048-token context), so an
 * unconfigured mock paces tokens, queues and caches prefixes like the replicas it stands in for.
 */
export const DEFAULT_MOCK_PROFILE = 'qwen2.5-3b-t4';

/**
 * The profile name that runs no engine at all: every token at once, running = open HTTP requests,
 * nothing ever waiting, no prefix cache (`cached_tokens` absent). For tests that hold requests with a
 * {@link TokenPacer} or pin `/metrics` with `fakeMetrics` and want nothing else moving.
 */
export const NO_ENGINE_PROFILE = 'none';

/** Most DP ranks one mock serves (llm-d-inference-sim's limit; GIE allows up to 8 target ports). */
export const MAX_DATA_PARALLEL_SIZE = 8;

/** How to run a mock vLLM server. */
export interface MockVllmOptions {
  /** Bind address, e.g. `127.0.0.1` or `0.0.0.0`. */
  host: string;
  /**
   * TCP port of rank 0; rank i listens on `port + i`. 0 picks an ephemeral port for rank 0 (and
   * consecutive ones after it; read them back from {@link MockVllmServer.ranks}).
   */
  port: number;
  /** The served model name: requests must name it (or a loaded LoRA adapter). */
  model: string;
  /** `x-inference-pod` value (the same on every rank); default `process.env.POD_NAME ?? mock-vllm-<port>`. */
  podName?: string;
  /** Pins what `/metrics` reports for running, waiting, KV usage and LoRA info. */
  fakeMetrics?: FakeMetrics;
  /**
   * `max_lora` in `vllm:lora_requests_info` and, with an engine, its LoRA slots (overriding the
   * profile's). Default: the profile's, or 1 without an engine.
   */
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
   * tokens, queues requests and fills the queue, KV, prefix-cache and latency metrics; `instant`
   * keeps all of that with zero latency; {@link NO_ENGINE_PROFILE} (`none`) runs no engine. Default
   * {@link DEFAULT_MOCK_PROFILE}.
   */
  profile?: string;
  /** Limits overriding the profile's (e.g. `maxNumSeqs`, `numGpuBlocks`, `blockSize`); needs an engine. */
  profileOverrides?: Partial<EngineProfile>;
  /** With an engine: requests allowed to wait beyond the running batch, per rank; more get 429. Default unbounded. */
  maxWaitingQueueLength?: number;
  /** With an engine: the engines' wall clock and timers (tests inject fake ones). */
  engineClock?: EngineClock;
  /**
   * Data-parallel ranks (vLLM external-LB DP, as llm-d-inference-sim does it): rank i is a separate
   * HTTP server on `port + i` with its own engine, KV cache, LoRA registry and `/metrics` labelled
   * `engine="i"`. Default 1, at most {@link MAX_DATA_PARALLEL_SIZE}.
   */
  dataParallelSize?: number;
  /** Percentage (integer 0–100) of generation requests answered with an injected error. Default 0. */
  failureInjectionRate?: number;
  /** The injected errors to draw from; default (or empty) all of them. */
  failureTypes?: readonly FailureType[];
  /** Seeds failure injection (rank i uses `seed + i`); default: from the clock. */
  seed?: number;
  /** Default: silent. */
  logger?: Logger;
}

/** One DP rank's listener. */
export interface MockVllmRank {
  readonly rank: number;
  /** Base URL of this rank. */
  readonly url: string;
  readonly port: number;
}

/** A running mock server. `close()` stops every rank and drops open connections (in-flight requests abort). */
export interface MockVllmServer {
  /** Base URL of rank 0 (a wildcard bind address is replaced by loopback). */
  readonly url: string;
  /** The bind address as given. */
  readonly host: string;
  /** Rank 0's bound port (the real one when 0 was asked for). */
  readonly port: number;
  /** Every rank, in rank order (one entry without data parallelism). */
  readonly ranks: readonly MockVllmRank[];
  close(): Promise<void>;
}

/** Thrown when the ranks' consecutive ports cannot all be bound. */
export class PortRangeError extends Error {
  override readonly name = 'PortRangeError';
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

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close((err) => (err === undefined ? resolve() : reject(err)));
    server.closeAllConnections();
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

/** The profile the options ask for, or undefined for no engine; throws on unusable engine options. */
function engineProfileOf(options: MockVllmOptions): EngineProfile | undefined {
  const name = options.profile ?? DEFAULT_MOCK_PROFILE;
  if (name === NO_ENGINE_PROFILE) {
    if (options.profileOverrides !== undefined || options.maxWaitingQueueLength !== undefined || options.engineClock !== undefined) {
      throw new Error(`engine options need a profile (not "${NO_ENGINE_PROFILE}")`);
    }
    return undefined;
  }
  const limit = options.maxWaitingQueueLength;
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) throw new Error(`maxWaitingQueueLength must be a non-negative integer, got ${limit}`);
  const loras = options.maxLoras === undefined ? {} : { maxLoras: options.maxLoras };
  return withOverrides(engineProfile(name), { ...loras, ...options.profileOverrides });
}

function createEngine(profile: EngineProfile | undefined, options: MockVllmOptions): EngineDriver | undefined {
  if (profile === undefined) return undefined;
  const limit = options.maxWaitingQueueLength;
  return new EngineDriver(profile, {
    ...(options.engineClock === undefined ? {} : { clock: options.engineClock }),
    ...(limit === undefined ? {} : { maxWaitingQueueLength: limit }),
  });
}

/** One rank's HTTP server; its state is filled in once every port is bound (no request can arrive before). */
interface RankServer {
  readonly server: Server;
  readonly ready: { state?: MockState };
}

function createRankServer(): RankServer {
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
  return { server, ready };
}

const PORT_ATTEMPTS = 20;

/**
 * Binds `size` servers on consecutive ports from `port`. With port 0 the first port is ephemeral
 * and a collision on a later one retries from a new ephemeral port (bounded); with a fixed port a
 * collision fails.
 */
async function bindRanks(size: number, port: number, host: string): Promise<{ ranks: RankServer[]; ports: number[] }> {
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const ranks: RankServer[] = [];
    const ports: number[] = [];
    try {
      for (let i = 0; i < size; i++) {
        const rank = createRankServer();
        ranks.push(rank);
        const want = i === 0 ? port : (ports[0] ?? 0) + i;
        if (want > 65535) throw new PortRangeError(`rank ${i} would need port ${want}, beyond 65535`);
        ports.push(await listen(rank.server, want, host));
      }
      return { ranks, ports };
    } catch (err) {
      await Promise.all(ranks.map((r) => closeServer(r.server)));
      const retry = port === 0 && size > 1 && ((err as { code?: string }).code === 'EADDRINUSE' || err instanceof PortRangeError);
      if (!retry) throw err;
    }
  }
  throw new PortRangeError(`could not bind ${size} consecutive ports on ${host} in ${PORT_ATTEMPTS} attempts`);
}

function validate(options: MockVllmOptions): { size: number; seed: number } {
  if (options.maxLoras !== undefined && (!Number.isSafeInteger(options.maxLoras) || options.maxLoras < 1)) {
    throw new Error(`maxLoras must be a positive integer, got ${options.maxLoras}`);
  }
  if (options.model === '') throw new Error('model must not be empty');
  const size = options.dataParallelSize ?? 1;
  if (!Number.isInteger(size) || size < 1 || size > MAX_DATA_PARALLEL_SIZE) {
    throw new Error(`dataParallelSize must be an integer from 1 to ${MAX_DATA_PARALLEL_SIZE}, got ${size}`);
  }
  const seed = options.seed ?? Date.now();
  if (!Number.isSafeInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  return { size, seed };
}

/**
 * Starts an OpenAI-compatible mock of a vLLM server — one engine, or `dataParallelSize` ranks on
 * consecutive ports — and resolves once every rank is listening.
 */
export async function startMockVllm(options: MockVllmOptions): Promise<MockVllmServer> {
  const { size, seed } = validate(options);
  const profile = engineProfileOf(options);
  // Checked before anything listens, so a bad setting never leaves a port bound.
  const failures = (rank: number): FailureInjector | undefined =>
    (options.failureInjectionRate ?? 0) === 0 ? undefined : new FailureInjector(options.failureInjectionRate ?? 0, options.failureTypes ?? [], seed + rank);
  failures(0);
  const { ranks, ports } = await bindRanks(size, options.port, options.host);
  const port = ports[0] ?? options.port;
  const podName = options.podName ?? process.env.POD_NAME ?? `mock-vllm-${port}`;
  try {
    validateHeaderValue('x-inference-pod', podName);
  } catch (err) {
    await Promise.all(ranks.map((r) => closeServer(r.server)));
    throw new Error(`invalid pod name ${JSON.stringify(podName)}: not a valid header value`, { cause: err });
  }
  const baseLogger = options.logger ?? silentLogger();
  const engines: (EngineDriver | undefined)[] = [];
  const createdAt = Date.now() / 1000;
  ranks.forEach(({ server, ready }, rank) => {
    const logger = size === 1 ? baseLogger : baseLogger.child({ rank });
    const engine = createEngine(profile, options);
    engines.push(engine);
    ready.state = {
      model: options.model,
      podName,
      port: ports[rank] ?? port,
      rank,
      maxLoras: options.maxLoras ?? 1,
      fake: options.fakeMetrics,
      stats: new EngineStats(profile === undefined ? undefined : { blockSize: profile.blockSize, numGpuBlocks: profile.numGpuBlocks }),
      loras: new LoraRegistry([...(options.loras ?? []), ...fakeLoraAdapters(options.fakeMetrics)]),
      pacer: options.tokenPacer,
      engine,
      failures: failures(rank),
      logger,
      createdAt,
    };
    server.on('error', (err) => logger.error({ err }, 'mock-vllm server error'));
  });

  const host = clientHost(options.host);
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    host: options.host,
    port,
    ranks: ports.map((p, rank) => ({ rank, port: p, url: `http://${host}:${p}` })),
    close: () => {
      closing ??= (async () => {
        for (const engine of engines) engine?.close();
        await Promise.all(ranks.map((r) => closeServer(r.server)));
      })();
      return closing;
    },
  };
}
