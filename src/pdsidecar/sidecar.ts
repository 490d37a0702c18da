/**
 * `epp pd-sidecar`: the decode pod's routing sidecar for P/D disaggregation (llm-d's
 * `pkg/sidecar/proxy`, `nixlv2` connector). It listens in front of the local vLLM and, for a
 * generation request carrying `x-prefiller-host-port` (set by the picker's disaggregation handler):
 *
 * 1. sends the prefill leg to that `host:port`, same path, with `kv_transfer_params
 *    {do_remote_decode: true}`, `stream: false`, token limits 1 (bounded by `prefillTimeoutMs`);
 * 2. sends the decode leg to the local vLLM with the client's body plus the returned
 *    `kv_transfer_params`, streaming its answer back as it arrives, with
 *    `usage.prompt_tokens_details.cached_tokens` set to the prefill leg's;
 * 3. when the prefill leg fails with a status other than 400–451, cannot connect, times out or
 *    answers no JSON, it logs a warning and serves the request as a plain local decode; a 400–451
 *    is answered to the client as it is.
 *
 * With `x-kv-cache-source-host-port` naming a peer and P2P pulls enabled (`--enable-p2p-pull`), the
 * prefill leg (or, without a prefiller, the local decode) also gets `kv_transfer_params.remote_kv_source`
 * so vLLM pulls that cached prefix over the OffloadingConnector P2P tier; otherwise the header is
 * ignored. Either leg may be HTTPS (`--enable-tls`), verified unless `--tls-insecure-skip-verify`.
 *
 * Everything else (no header, other paths: `/v1/models`, `/metrics`, `/health`, …) is proxied to
 * the local vLLM unchanged, streaming both ways. `x-prefiller-host-port` and
 * `x-kv-cache-source-host-port` are never forwarded. A client that disconnects aborts whichever
 * legs are open; every upstream wait is bounded (connect timeout, idle timeout, prefill timeout).
 */
import { randomUUID } from 'node:crypto';
import { Agent, createServer as createHttpServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent, createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { KV_CACHE_SOURCE_HEADER, PREFILLER_HOST_PORT_HEADER, REQUEST_ID_HEADER } from '../extproc/headers.js';
import type { KeyPair } from '../extproc/tls.js';
import type { Logger } from '../observability/logger.js';
import { boundedText } from '../util/bounded-text.js';
import { CachedTokensRewriter } from './cached-tokens.js';
import { cachedTokensOf, decodeLegBody, isClientError, isObject, prefillLegBody, remoteKvSource, tokenLimitFields } from './nixlv2.js';

/** The KV connectors of the reference; this build implements `nixlv2` only. */
export const KV_CONNECTOR_NIXLV2 = 'nixlv2';

/** How to run the sidecar. Durations are milliseconds. */
export interface PdSidecarOptions {
  /** Bind address. */
  readonly host: string;
  /** Listening port (0 = ephemeral). */
  readonly port: number;
  /** The local vLLM (decode) server. */
  readonly vllmHost: string;
  readonly vllmPort: number;
  /** Bound on connecting to either leg's server. */
  readonly connectTimeoutMs: number;
  /** Bound on the whole prefill leg (request, prefill, response). */
  readonly prefillTimeoutMs: number;
  /** Longest silence of an upstream socket (e.g. a stalled decode stream), then the request fails. */
  readonly idleTimeoutMs: number;
  /** Largest request body read for a P/D request (larger: 413); pass-through requests stream unbounded. */
  readonly maxRequestBodyBytes: number;
  /** TLS on the listener (the reference's `--secure-proxy`); undefined = plain HTTP. */
  readonly tls?: KeyPair;
  /** HTTPS to the prefiller / to the local model server (`--enable-tls`), and whether to skip verifying its certificate (`--tls-insecure-skip-verify`). */
  readonly prefillerTls?: LegTls;
  readonly decoderTls?: LegTls;
  /** Honour `x-kv-cache-source-host-port` (`--enable-p2p-pull`), pulling from that peer's P2P tier on `p2pConnectorPort`. */
  readonly p2pPull?: { readonly port: number };
  readonly logger: Logger;
}

/** HTTPS on one leg. */
export interface LegTls {
  readonly insecureSkipVerify: boolean;
}

/** A running sidecar. */
export interface PdSidecar {
  readonly url: string;
  readonly port: number;
  /** Stops listening and drops open connections (their legs abort). */
  close(): Promise<void>;
}

/** Thrown for an upstream that did not connect or went silent in time. */
export class UpstreamTimeoutError extends Error {
  override readonly name = 'UpstreamTimeoutError';
}

/** Thrown for a request or response body beyond its bound. */
export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

/** Most bytes of a prefill response read (it is one token plus `kv_transfer_params`). */
const MAX_PREFILL_RESPONSE_BYTES = 8 * 1024 * 1024;

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host', 'content-length', 'expect']);

interface Target {
  readonly host: string;
  readonly port: number;
  readonly tls?: LegTls | undefined;
}

/** `host:port` or `[v6]:port` (the first entry of a comma-separated list), or undefined when malformed. */
export function parseHostPort(value: string): Target | undefined {
  const first = (value.split(',')[0] ?? '').trim();
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(first);
  if (m === null) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65_535) return undefined;
  return { host: m[1] ?? m[2] ?? '', port };
}

function headerValue(v: string | string[] | undefined): string {
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

/** Request headers to forward upstream: hop-by-hop headers and the P/D header removed. */
function forwardHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || k === PREFILLER_HOST_PORT_HEADER || k === KV_CACHE_SOURCE_HEADER) continue;
    out[k] = v;
  }
  return out;
}

/** Response headers to relay to the client; `rewritten` drops the length (the body may change). */
function relayHeaders(headers: IncomingHttpHeaders, rewritten: boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || (HOP_BY_HOP.has(k) && !(k === 'content-length' && !rewritten))) continue;
    out[k] = v;
  }
  return out;
}

async function readAll(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) {
      stream.destroy();
      throw new BodyTooLargeError(`body larger than ${limit} bytes`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

function sendError(res: ServerResponse, status: number, message: string, type: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: { message, type, param: null, code: status } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

class Sidecar {
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 1024 });
  readonly #tlsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 1024 });
  readonly #vllm: Target;

  constructor(readonly options: PdSidecarOptions) {
    this.#vllm = { host: options.vllmHost, port: options.vllmPort, tls: options.decoderTls };
  }

  close(): void {
    this.#agent.destroy();
    this.#tlsAgent.destroy();
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const url = req.url ?? '/';
    const pathname = url.split('?', 1)[0] ?? '/';
    const prefiller = headerValue(req.headers[PREFILLER_HOST_PORT_HEADER]).trim();
    const limits = tokenLimitFields(pathname);
    const source = this.#kvCacheSource(req);
    try {
      if (prefiller !== '' && req.method === 'POST' && limits !== undefined) await this.#disaggregated(req, res, url, prefiller, limits, source, abort.signal);
      else if (source !== undefined && req.method === 'POST' && limits !== undefined) await this.#decodeWithSource(req, res, url, source, abort.signal);
      else await this.#passThrough(req, res, url, abort.signal);
    } catch (err) {
      if (abort.signal.aborted) return;
      this.options.logger.warn({ err, path: boundedText(pathname) }, 'pd-sidecar request failed');
      if (err instanceof UpstreamTimeoutError) sendError(res, 504, err.message, 'GatewayTimeout');
      else if (err instanceof BodyTooLargeError) sendError(res, 413, err.message, 'PayloadTooLarge');
      else sendError(res, 502, err instanceof Error ? err.message : String(err), 'BadGateway');
    }
  }

  /**
   * The peer named by `x-kv-cache-source-host-port` when P2P pulls are enabled and it is a valid
   * `host:port` other than this sidecar's own address; else undefined (the header is then ignored).
   */
  #kvCacheSource(req: IncomingMessage): Target | undefined {
    const raw = headerValue(req.headers[KV_CACHE_SOURCE_HEADER]).trim();
    if (raw === '' || this.options.p2pPull === undefined) return undefined;
    const target = parseHostPort(raw);
    if (target === undefined || raw.includes(',')) {
      this.options.logger.info({ value: boundedText(raw) }, 'pd-sidecar: ignoring malformed x-kv-cache-source-host-port');
      return undefined;
    }
    const own = req.socket.localAddress;
    if (own !== undefined && target.port === req.socket.localPort && sameHost(own, target.host)) return undefined;
    return target;
  }

  /** A decode-only generation request with a KV cache source: `kv_transfer_params` becomes just the P2P pull (the sidecar owns that field). */
  async #decodeWithSource(req: IncomingMessage, res: ServerResponse, url: string, source: Target, signal: AbortSignal): Promise<void> {
    const raw = await readAll(req, this.options.maxRequestBodyBytes);
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      body = undefined;
    }
    if (!isObject(body)) {
      sendError(res, 400, 'request body must be a JSON object', 'BadRequestError');
      return;
    }
    const pull = { remote_kv_source: remoteKvSource(randomUUID(), source.host, this.options.p2pPull?.port ?? 0) };
    const decode = Buffer.from(JSON.stringify({ ...body, kv_transfer_params: pull }), 'utf8');
    await this.#decode(res, url, { ...forwardHeaders(req.headers), 'content-type': 'application/json' }, decode, undefined, signal);
  }

  async #passThrough(req: IncomingMessage, res: ServerResponse, url: string, signal: AbortSignal): Promise<void> {
    const up = await this.#send(this.#vllm, req.method ?? 'GET', url, forwardHeaders(req.headers), req, signal);
    await this.#relay(up, res, undefined);
  }

  async #disaggregated(req: IncomingMessage, res: ServerResponse, url: string, prefiller: string, limits: readonly string[], source: Target | undefined, signal: AbortSignal): Promise<void> {
    const { logger } = this.options;
    const raw = await readAll(req, this.options.maxRequestBodyBytes);
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      body = undefined;
    }
    if (!isObject(body)) {
      sendError(res, 400, 'request body must be a JSON object', 'BadRequestError');
      return;
    }
    const headers = forwardHeaders(req.headers);
    const clientRequestId = headerValue(req.headers[REQUEST_ID_HEADER]);
    const requestId = clientRequestId === '' ? randomUUID() : clientRequestId;
    headers[REQUEST_ID_HEADER] = requestId;
    const parsed = parseHostPort(prefiller);
    const target = parsed === undefined ? undefined : { ...parsed, tls: this.options.prefillerTls };
    if (target === undefined) {
      logger.warn({ prefiller: boundedText(prefiller) }, 'pd-sidecar: malformed x-prefiller-host-port, decoding locally');
      await this.#decode(res, url, headers, raw, undefined, signal);
      return;
    }

    const prefillSignal = AbortSignal.any([signal, AbortSignal.timeout(this.options.prefillTimeoutMs)]);
    let prefill: { status: number; headers: IncomingHttpHeaders; body: Buffer };
    try {
      const leg = prefillLegBody(body, limits);
      // The prefiller pulls the cached prefix from the source, unless it is the source itself.
      if (source !== undefined && !(source.port === target.port && sameHost(source.host, target.host)) && isObject(leg.kv_transfer_params)) {
        leg.kv_transfer_params.remote_kv_source = remoteKvSource(randomUUID(), source.host, this.options.p2pPull?.port ?? 0);
      }
      const up = await this.#send(target, 'POST', url, { ...headers, 'content-type': 'application/json' }, Buffer.from(JSON.stringify(leg), 'utf8'), prefillSignal);
      prefill = { status: up.statusCode ?? 502, headers: up.headers, body: await readAll(up, MAX_PREFILL_RESPONSE_BYTES) };
    } catch (err) {
      if (signal.aborted) throw err;
      logger.warn({ err, prefiller: boundedText(prefiller), requestId: boundedText(requestId) }, 'pd-sidecar: prefill leg failed, falling back to local decode');
      await this.#decode(res, url, headers, raw, undefined, signal);
      return;
    }
    if (prefill.status < 200 || prefill.status >= 300) {
      if (isClientError(prefill.status)) {
        res.writeHead(prefill.status, relayHeaders(prefill.headers, false));
        res.end(prefill.body);
        return;
      }
      logger.warn({ status: prefill.status, prefiller: boundedText(prefiller), requestId: boundedText(requestId) }, 'pd-sidecar: prefill leg answered an error, falling back to local decode');
      await this.#decode(res, url, headers, raw, undefined, signal);
      return;
    }
    let answer: unknown;
    try {
      answer = JSON.parse(prefill.body.toString('utf8'));
    } catch {
      answer = undefined;
    }
    if (!isObject(answer)) {
      logger.warn({ prefiller: boundedText(prefiller) }, 'pd-sidecar: prefill leg answered no JSON object, falling back to local decode');
      await this.#decode(res, url, headers, raw, undefined, signal);
      return;
    }
    if (answer.kv_transfer_params === undefined) logger.warn({ prefiller: boundedText(prefiller) }, "pd-sidecar: prefill response has no 'kv_transfer_params'");
    // vLLM reports null details when nothing was cached.
    const cached = cachedTokensOf(answer) ?? 0;
    const decode = Buffer.from(JSON.stringify(decodeLegBody(body, answer.kv_transfer_params)), 'utf8');
    await this.#decode(res, url, { ...headers, 'content-type': 'application/json' }, decode, cached, signal);
  }

  /** Sends `body` to the local vLLM and relays the answer, rewriting cached tokens when `cached` is set. */
  async #decode(res: ServerResponse, url: string, headers: OutgoingHttpHeaders, body: Buffer, cached: number | undefined, signal: AbortSignal): Promise<void> {
    const up = await this.#send(this.#vllm, 'POST', url, headers, body, signal);
    await this.#relay(up, res, cached);
  }

  async #relay(up: IncomingMessage, res: ServerResponse, cached: number | undefined): Promise<void> {
    const rewrite = cached !== undefined && (up.statusCode ?? 500) < 300;
    res.writeHead(up.statusCode ?? 502, relayHeaders(up.headers, rewrite));
    if (rewrite) {
      const sse = headerValue(up.headers['content-type']).includes('text/event-stream');
      await pipeline(up, new CachedTokensRewriter(cached, sse), res);
    } else {
      await pipeline(up, res);
    }
  }

  /** One upstream request; resolves with its response (headers read). */
  #send(target: Target, method: string, path: string, headers: OutgoingHttpHeaders, body: Buffer | Readable, signal: AbortSignal): Promise<IncomingMessage> {
    const { connectTimeoutMs, idleTimeoutMs } = this.options;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const outHeaders = Buffer.isBuffer(body) ? { ...headers, 'content-length': body.length } : headers;
      const tls = target.tls;
      const req =
        tls === undefined
          ? httpRequest({ host: target.host, port: target.port, method, path, headers: outHeaders, agent: this.#agent, signal })
          : httpsRequest({
              host: target.host,
              port: target.port,
              method,
              path,
              headers: outHeaders,
              agent: this.#tlsAgent,
              signal,
              rejectUnauthorized: !tls.insecureSkipVerify,
              // No SNI for an IP address (RFC 6066); a name is sent as the server name.
              ...(isIP(target.host) === 0 ? { servername: target.host } : {}),
            });
      const connectTimer = setTimeout(() => req.destroy(new UpstreamTimeoutError(`no connection to ${target.host}:${target.port} within ${connectTimeoutMs} ms`)), connectTimeoutMs);
      const connected = (): void => clearTimeout(connectTimer);
      req.on('socket', (socket: Socket) => {
        if (socket.connecting) socket.once('connect', connected);
        else connected();
      });
      req.setTimeout(idleTimeoutMs, () => req.destroy(new UpstreamTimeoutError(`${target.host}:${target.port} silent for ${idleTimeoutMs} ms`)));
      req.once('error', (err) => {
        clearTimeout(connectTimer);
        reject(err);
      });
      req.once('response', (res) => {
        clearTimeout(connectTimer);
        resolve(res);
      });
      if (Buffer.isBuffer(body)) req.end(body);
      else body.pipe(req);
    });
  }
}

/** Whether two host strings name the same address (IPv4-mapped IPv6 folded). */
function sameHost(a: string, b: string): boolean {
  const norm = (h: string): string => h.replace(/^::ffff:/i, '').toLowerCase();
  return norm(a) === norm(b);
}

/** Starts the sidecar; resolves once it listens. */
export async function startPdSidecar(options: PdSidecarOptions): Promise<PdSidecar> {
  const sidecar = new Sidecar(options);
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    void sidecar.handle(req, res);
  };
  const server: Server = options.tls === undefined ? createHttpServer(onRequest) : createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, onRequest);
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host === '0.0.0.0' || options.host === '' ? '127.0.0.1' : options.host === '::' ? '::1' : options.host;
  const scheme = options.tls === undefined ? 'http' : 'https';
  return {
    url: `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        sidecar.close();
      }),
  };
}
