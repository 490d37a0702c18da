/**
 * `epp gateway`: a local HTTP front door that plays Envoy's part in front of the picker. Every HTTP
 * request becomes one ext_proc `Process` stream driven as Envoy's ext_proc filter drives it
 * (FULL_DUPLEX_STREAMED bodies, or BUFFERED request bodies), and is then proxied to the endpoint the
 * picker chose, like Envoy's ORIGINAL_DST cluster. See `exchange.ts` for the per-request contract.
 */
import { Agent, createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { extractModel, MODEL_NAME_HEADER } from '../bbr/model.js';
import { closeServer, listen } from '../util/net.js';
import { silentLogger, type Logger } from '../observability/logger.js';
import { createExtProcClient } from './extproc-client.js';
import { Exchange, type ExchangeSettings } from './exchange.js';
import { HeaderList, requestHasBody } from './header-list.js';
import { LOCAL_REPLY, sendLocalReply } from './local-reply.js';
import { CATCH_ALL_MODEL, indexRoutes, modelNotFoundBody, type PoolRoute } from './model-routes.js';
import { replayRequest } from './replayed-request.js';
import { GatewayCounters, type GatewayStats } from './stats.js';

/** How the gateway is started. Only `host`, `port` and `epp` (or `pools`) are required. */
export interface GatewayOptions {
  /** Address to listen on (the CLI defaults to 127.0.0.1). */
  host: string;
  /** Port to listen on; 0 picks a free one (read it back from {@link GatewayServer.port}). */
  port: number;
  /** The picker's ext_proc address, `host:port` (one pool); '' or absent when `pools` is given. */
  epp?: string;
  /**
   * Several pools chosen by the body's `model` (see model-routes.ts): each request's body is read
   * first, its model copied into `X-Gateway-Model-Name` (as `epp bbr` would), and the request goes
   * through the matching pool's picker; no match → 404. Mutually exclusive with `epp`.
   */
  pools?: readonly PoolRoute[];
  /** Largest body read to find the model when routing by model, then 413; default 32 MiB. */
  routeBodyLimitBytes?: number;
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
  const epp = (options.epp ?? '').trim();
  const pools = options.pools ?? [];
  if (epp === '' && pools.length === 0) throw new RangeError('the picker address (epp) is empty');
  if (epp !== '' && pools.length > 0) throw new RangeError('epp and pools are mutually exclusive');
  const routes = indexRoutes(pools);
  const logger = options.logger ?? silentLogger();
  const stats = new GatewayCounters();
  const agent = new Agent({ keepAlive: true, scheduling: 'lifo' });
  const base = {
    agent,
    stats,
    logger,
    requestBodyMode: options.requestBodyMode ?? 'full-duplex',
    failureModeAllow: options.failureModeAllow ?? false,
    processorTimeoutMs: options.processorTimeoutMs ?? 30_000,
    bufferLimitBytes: options.bufferLimitBytes ?? 1024 * 1024,
    upstreamTimeouts: { connectMs: options.connectTimeoutMs ?? 5_000, idleMs: options.idleTimeoutMs ?? 300_000 },
  } as const;
  const clients = new Map<string, ReturnType<typeof createExtProcClient>>();
  const clientFor = (address: string, tls: boolean): ReturnType<typeof createExtProcClient> => {
    const key = `${tls ? 'tls' : 'plain'}|${address}`;
    let client = clients.get(key);
    if (client === undefined) {
      client = createExtProcClient(address, { tls });
      clients.set(key, client);
    }
    return client;
  };
  const single: ExchangeSettings | undefined = epp === '' ? undefined : { ...base, client: clientFor(epp, options.eppTls ?? false) };
  const byModel = new Map<string, ExchangeSettings>();
  for (const [model, route] of routes) byModel.set(model, { ...base, client: clientFor(route.epp, route.eppTls ?? options.eppTls ?? false) });
  const routeBodyLimit = options.routeBodyLimitBytes ?? 32 * 1024 * 1024;
  const exchanges = new Set<Exchange>();
  const reading = new Set<ServerResponse>();
  let closing: Promise<void> | undefined;

  const startExchange = (exchangeSettings: ExchangeSettings, req: IncomingMessage, res: ServerResponse): void => {
    let exchange: Exchange;
    try {
      exchange = new Exchange(exchangeSettings, req, res, (done) => exchanges.delete(done));
    } catch (err) {
      logger.error({ err }, 'could not open an ext_proc stream');
      res.writeHead(500, { 'content-type': 'text/plain', connection: 'close' }).end('gateway internal error');
      return;
    }
    exchanges.add(exchange);
    exchange.start();
  };

  /** Reads the body, picks the pool by model (as BBR + an HTTPRoute would) and replays the request to its picker. */
  const routeByModel = (req: IncomingMessage, res: ServerResponse): void => {
    reading.add(res);
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      reading.delete(res);
      return true;
    };
    req.on('error', () => undefined);
    res.on('close', () => finish());
    const route = (): void => {
      if (!finish() || closing !== undefined) return;
      const body = Buffer.concat(chunks, size);
      const extraction = body.length > 0 ? extractModel(body) : ({ kind: 'missing' } as const);
      const model = extraction.kind === 'model' ? extraction.model : undefined;
      const chosen = (model === undefined ? undefined : byModel.get(model)) ?? byModel.get(CATCH_ALL_MODEL);
      if (chosen === undefined) {
        stats.requests++;
        stats.noRoute++;
        logger.debug({ model }, 'no route for the model');
        sendLocalReply(req, res, 404, modelNotFoundBody(model), jsonHeaders());
        return;
      }
      // BBR owns the header: set from the body, or removed.
      const headers = new Map([[MODEL_NAME_HEADER, model ?? '']]);
      startExchange(chosen, replayRequest(req, body, headers), res);
    };
    if (!requestHasBody(req.headers)) {
      req.resume();
      route();
      return;
    }
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > routeBodyLimit) {
        finish();
        chunks.length = 0;
        stats.requests++;
        sendLocalReply(req, res, 413, LOCAL_REPLY.payloadTooLarge);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', route);
  };

  const server = createServer((req, res) => {
    if (closing !== undefined) {
      res.destroy();
      return;
    }
    if (single !== undefined) startExchange(single, req, res);
    else routeByModel(req, res);
  });
  // Envoy's stream_idle_timeout also covers the client side: a client that stops reading (or
  // sending) for this long loses its connection, which cancels the stream and the upstream request.
  if (base.upstreamTimeouts.idleMs > 0) server.setTimeout(base.upstreamTimeouts.idleMs);

  let port: number;
  try {
    port = await listen(server, options.host, options.port);
  } catch (err) {
    for (const c of clients.values()) c.close();
    agent.destroy();
    throw err;
  }
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${host}:${port}`;

  const shutdown = async (): Promise<void> => {
    const stopped = closeServer(server);
    for (const res of [...reading]) res.destroy();
    for (const exchange of [...exchanges]) exchange.abort();
    await stopped;
    for (const c of clients.values()) c.close();
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

function jsonHeaders(): HeaderList {
  const headers = new HeaderList();
  headers.add('content-type', 'application/json');
  return headers;
}
