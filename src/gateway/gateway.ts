/**
 * `epp gateway`: a local HTTP front door that plays Envoy's part in front of the picker. Every HTTP
 * request becomes one ext_proc `Process` stream driven as Envoy's ext_proc filter drives it
 * (FULL_DUPLEX_STREAMED bodies, or BUFFERED request bodies), and is then proxied to the endpoint the
 * picker chose, like Envoy's ORIGINAL_DST cluster. See `exchange.ts` for the per-request contract.
 */
import { Agent, createServer } from 'node:http';
import { closeServer, listen } from '../util/net.js';
import { silentLogger, type Logger } from '../observability/logger.js';
import { createExtProcClient } from './extproc-client.js';
import { Exchange, type ExchangeSettings } from './exchange.js';
import { GatewayCounters, type GatewayStats } from './stats.js';

/** How the gateway is started. Only `host`, `port` and `epp` are required. */
export interface GatewayOptions {
  /** Address to listen on (the CLI defaults to 127.0.0.1). */
  host: string;
  /** Port to listen on; 0 picks a free one (read it back from {@link GatewayServer.port}). */
  port: number;
  /** The picker's ext_proc address, `host:port`. */
  epp: string;
  /** TLS to the picker without certificate verification (as Envoy/Istio configs do for its self-signed cert); default false. */
  eppTls?: boolean;
  /**
   * How request bodies go to the picker: `full-duplex` (FULL_DUPLEX_STREAMED, chunks as they arrive;
   * default) or `buffered` (BUFFERED: the whole body in one message after the headers response, up to
   * `bufferLimitBytes`). Response bodies are always FULL_DUPLEX_STREAMED.
   */
  requestBodyMode?: 'full-duplex' | 'buffered';
  /**
   * Envoy's `failure_mode_allow`: when the picker is unreachable, errs or times out before any body
   * byte reached it, continue without it instead of failing closed (500/504). There is no fallback
   * cluster here and the client's own destination header is never trusted, so a request whose route
   * was not yet decided gets 503 `no healthy upstream`; a response still being processed passes
   * through unmodified. Default false.
   */
  failureModeAllow?: boolean;
  /** Longest silence from the picker while it owes an answer, then 504 (fail closed); default 30 s. */
  processorTimeoutMs?: number;
  /** Bound on connecting to an endpoint, then 503; default 5 s (Envoy's connect_timeout default). */
  connectTimeoutMs?: number;
  /**
   * Bound on inactivity of the upstream socket (then 504, or a reset once the response started) and
   * of the client connection (then it is closed); default 5 min (Envoy's stream_idle_timeout); 0 disables.
   */
  idleTimeoutMs?: number;
  /** Largest request body held in `buffered` mode, then 413; default 1 MiB (Envoy's per-connection buffer limit). */
  bufferLimitBytes?: number;
  /** Logger; default silent. */
  logger?: Logger;
}

/** A running gateway. */
export interface GatewayServer {
  /** `http://host:port`, ready to use. */
  readonly url: string;
  /** The bound port. */
  readonly port: number;
  /** Live counters (see {@link GatewayStats}). */
  readonly stats: GatewayStats;
  /** Stops listening, resets in-flight requests, cancels their streams and closes the picker channel. Idempotent. */
  close(): Promise<void>;
}

/** Starts the gateway; resolves once it is listening. */
export async function startGateway(options: GatewayOptions): Promise<GatewayServer> {
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65_535) throw new RangeError(`invalid port ${options.port}`);
  if (options.epp.trim() === '') throw new RangeError('the picker address (epp) is empty');
  const logger = options.logger ?? silentLogger();
  const stats = new GatewayCounters();
  const client = createExtProcClient(options.epp, { tls: options.eppTls ?? false });
  const agent = new Agent({ keepAlive: true, scheduling: 'lifo' });
  const settings: ExchangeSettings = {
    client,
    agent,
    stats,
    logger,
    requestBodyMode: options.requestBodyMode ?? 'full-duplex',
    failureModeAllow: options.failureModeAllow ?? false,
    processorTimeoutMs: options.processorTimeoutMs ?? 30_000,
    bufferLimitBytes: options.bufferLimitBytes ?? 1024 * 1024,
    upstreamTimeouts: { connectMs: options.connectTimeoutMs ?? 5_000, idleMs: options.idleTimeoutMs ?? 300_000 },
  };
  const exchanges = new Set<Exchange>();
  let closing: Promise<void> | undefined;

  const server = createServer((req, res) => {
    if (closing !== undefined) {
      res.destroy();
      return;
    }
    let exchange: Exchange;
    try {
      exchange = new Exchange(settings, req, res, (done) => exchanges.delete(done));
    } catch (err) {
      logger.error({ err }, 'could not open an ext_proc stream');
      res.writeHead(500, { 'content-type': 'text/plain', connection: 'close' }).end('gateway internal error');
      return;
    }
    exchanges.add(exchange);
    exchange.start();
  });
  // Envoy's stream_idle_timeout also covers the client side: a client that stops reading (or
  // sending) for this long loses its connection, which cancels the stream and the upstream request.
  if (settings.upstreamTimeouts.idleMs > 0) server.setTimeout(settings.upstreamTimeouts.idleMs);

  let port: number;
  try {
    port = await listen(server, options.host, options.port);
  } catch (err) {
    client.close();
    agent.destroy();
    throw err;
  }
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${host}:${port}`;

  const shutdown = async (): Promise<void> => {
    const stopped = closeServer(server);
    for (const exchange of [...exchanges]) exchange.abort();
    await stopped;
    client.close();
    agent.destroy();
  };

  return {
    url,
    port,
    stats,
    close(): Promise<void> {
      closing ??= shutdown();
      return closing;
    },
  };
}
