/**
 * Listens for HTTP/2 connections (TLS with ALPN `h2`, or cleartext with prior knowledge) and runs an
 * H2Connection on each. Tracks live connections for drain and shutdown, counts how connections end,
 * and logs each abnormal close with its reason (rate-limited, so a misbehaving client cannot flood
 * the log). The certificate can be replaced while serving; new handshakes use the new one.
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type SecureContextOptions, type SecureVersion } from 'node:tls';
import type { Logger } from '../observability/logger.js';
import { LogLimiter } from '../observability/log-limiter.js';
import { DEFAULT_H2_LIMITS, H2Connection, type H2CloseInfo, type H2Limits, type H2RequestListener, type H2Timers } from './h2-connection.js';

export interface H2ServerOptions {
  readonly listener: H2RequestListener;
  readonly logger: Logger;
  /** Names the server in logs (`ext_proc`, `bbr`). */
  readonly label: string;
  readonly limits?: Partial<H2Limits>;
  /** PEM certificate and key: TLS with ALPN h2, optionally with a minimum version and TLS ≤ 1.2 ciphers. Undefined = cleartext. */
  readonly tls?: { readonly cert: string; readonly key: string; readonly minVersion?: SecureVersion; readonly ciphers?: string } | undefined;
  readonly timers?: H2Timers;
}

export const SYSTEM_H2_TIMERS: H2Timers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class H2Server {
  readonly #options: H2ServerOptions;
  readonly #limits: H2Limits;
  readonly #timers: H2Timers;
  readonly #server: NetServer | TlsServer;
  readonly #connections = new Set<H2Connection>();
  readonly #closes = new Map<string, number>();
  readonly #logLimiter: LogLimiter;
  #draining = false;
  #listening = false;
  #refusedClosed = 0;
  #idle: (() => void)[] = [];

  constructor(options: H2ServerOptions) {
    this.#options = options;
    this.#limits = { ...DEFAULT_H2_LIMITS, ...options.limits };
    this.#timers = options.timers ?? SYSTEM_H2_TIMERS;
    this.#logLimiter = new LogLimiter(10, 60_000, () => this.#timers.now());
    const onSocket = (socket: Socket): void => this.#accept(socket);
    if (options.tls === undefined) {
      this.#server = createNetServer({ noDelay: true }, onSocket);
    } else {
      const tls = createTlsServer({ ...options.tls, ALPNProtocols: ['h2'] });
      tls.on('secureConnection', onSocket);
      tls.on('tlsClientError', (err: Error) => this.#logClose('tls-handshake', err.message, false));
      this.#server = tls;
    }
    this.#server.on('error', (err: Error) => options.logger.error({ err: err.message }, `${options.label} listener error`));
  }

  /** Binds `host:port` (0 = any free port); resolves with the bound port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError);
        this.#listening = true;
        const address = this.#server.address();
        resolve(typeof address === 'object' && address !== null ? address.port : port);
      });
    });
  }

  /** Replaces the certificate for new TLS handshakes (no effect on a cleartext server). */
  setSecureContext(pair: SecureContextOptions): void {
    if ('setSecureContext' in this.#server) this.#server.setSecureContext(pair);
  }

  /** Live connections. */
  get connections(): number {
    return this.#connections.size;
  }

  /** Live streams over all connections. */
  get activeStreams(): number {
    let n = 0;
    for (const c of this.#connections) n += c.activeStreams;
    return n;
  }

  /** Bytes held for sending over all connections (socket queues and streams waiting for window). */
  get bufferedBytes(): number {
    let n = 0;
    for (const c of this.#connections) n += c.bufferedBytes;
    return n;
  }

  /** Streams refused over the server's life (REFUSED_STREAM: concurrency or output limits, GOAWAY). */
  get streamsRefused(): number {
    let n = this.#refusedClosed;
    for (const c of this.#connections) n += c.streamsRefused;
    return n;
  }

  /** Connections not being read because their peer is not taking what we send. */
  get pausedConnections(): number {
    let n = 0;
    for (const c of this.#connections) if (c.readPaused) n++;
    return n;
  }

  /** `drain` listeners over all sockets (one each: backpressure must not add listeners per write). */
  get drainListeners(): number {
    let n = 0;
    for (const c of this.#connections) n += c.drainListeners;
    return n;
  }

  /** How many connections ended, by reason (`peer-closed`, `rapid-reset`, `protocol-error`, …). */
  get closesByReason(): ReadonlyMap<string, number> {
    return this.#closes;
  }

  /**
   * Stops accepting connections and asks every live one to finish (double GOAWAY: streams already
   * sent by the peer are still served). Resolves when the last connection has closed.
   */
  drain(): Promise<void> {
    this.#draining = true;
    this.#stopListening();
    for (const c of this.#connections) c.drain();
    return this.#whenIdle();
  }

  /** Closes every connection at once (live streams are aborted) and stops listening. */
  close(): Promise<void> {
    this.#draining = true;
    this.#stopListening();
    for (const c of [...this.#connections]) c.close();
    return this.#whenIdle();
  }

  #stopListening(): void {
    if (!this.#listening) return;
    this.#listening = false;
    this.#server.close();
  }

  #whenIdle(): Promise<void> {
    if (this.#connections.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #accept(socket: Socket): void {
    if (this.#draining) {
      socket.destroy();
      return;
    }
    const connection: H2Connection = new H2Connection(socket, {
      limits: this.#limits,
      listener: this.#options.listener,
      timers: this.#timers,
      onClose: (info) => this.#closed(connection, info),
    });
    this.#connections.add(connection);
  }

  #closed(connection: H2Connection, info: H2CloseInfo): void {
    this.#connections.delete(connection);
    this.#refusedClosed += connection.streamsRefused;
    this.#closes.set(info.reason, (this.#closes.get(info.reason) ?? 0) + 1);
    this.#logClose(info.reason, info.detail, info.normal, connection.peer, info.streams, info.durationMs);
    if (this.#connections.size === 0 && this.#idle.length > 0) {
      const waiting = this.#idle;
      this.#idle = [];
      for (const resolve of waiting) resolve();
    }
  }

  #logClose(reason: string, detail: string, normal: boolean, peer?: string, streams?: number, durationMs?: number): void {
    const { logger, label } = this.#options;
    const fields = { reason, detail, peer, streams, durationMs: durationMs === undefined ? undefined : Math.round(durationMs) };
    if (normal) {
      if (logger.isLevelEnabled('debug')) logger.debug(fields, `${label} connection closed`);
      return;
    }
    const verdict = this.#logLimiter.allow(reason);
    if (!verdict.log) return;
    logger.warn(verdict.suppressed > 0 ? { ...fields, suppressed: verdict.suppressed } : fields, `${label} connection closed`);
  }
}
