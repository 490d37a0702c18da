/**
 * The fake Envoy's transport: a raw node:http2 client speaking gRPC framing by hand with the
 * project's protobuf codec, one session per connection, many ext_proc streams per session. It plays
 * Envoy's habits — it never needs to half-close, and ends a stream with RST_STREAM(CANCEL) — and
 * records what the server did to each connection (GOAWAYs, closes) and each stream (responses,
 * grpc-status, resets).
 */
import { connect as http2Connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { PROCESS_PATH } from '../../../src/extproc/service.js';
import { ConnectionPool } from './connection-pool.js';
import { StreamRecord } from './stream-record.js';

export const NGHTTP2_CANCEL = constants.NGHTTP2_CANCEL;

export interface ConnectOptions {
  readonly host?: string;
  readonly port: number;
  /** TLS to the picker; gateways do not verify its self-signed certificate unless `ca` is given. */
  readonly tls?: { readonly ca?: string };
  /** Receive window per stream (bytes); Envoy's default is 256 KiB to 16 MiB. */
  readonly initialWindowSize?: number;
}

/** A GOAWAY the server sent. */
export interface GoawayRecord {
  readonly code: number;
  readonly lastStreamId: number;
  readonly at: number;
}

/** One HTTP/2 connection to an ext_proc server. */
export class FakeEnvoyConnection {
  readonly session: ClientHttp2Session;
  readonly goaways: GoawayRecord[] = [];
  readonly openedAt = performance.now();
  closed = false;
  /** We closed or destroyed the session ourselves. */
  closedByUs = false;
  closedAt = Number.NaN;
  error: string | undefined;
  streamsOpened = 0;
  readonly #authority: string;

  private constructor(session: ClientHttp2Session, authority: string) {
    this.session = session;
    this.#authority = authority;
    session.on('goaway', (code: number, lastStreamId: number) => this.goaways.push({ code, lastStreamId, at: performance.now() }));
    session.on('error', (err: Error) => {
      this.error ??= err.message;
    });
    session.on('close', () => {
      this.closed = true;
      this.closedAt = performance.now();
    });
  }

  /** Opens a session; resolves once connected (rejects if the connection or handshake fails). */
  static connect(options: ConnectOptions): Promise<FakeEnvoyConnection> {
    const host = options.host ?? '127.0.0.1';
    const settings = { enablePush: false, initialWindowSize: options.initialWindowSize ?? 4 * 1024 * 1024 };
    const session =
      options.tls === undefined
        ? http2Connect(`http://${host}:${options.port}`, { createConnection: () => netConnect({ host, port: options.port, noDelay: true }), settings, maxSessionMemory: 512 })
        : http2Connect(`https://${host}:${options.port}`, {
            settings,
            maxSessionMemory: 512,
            ...(options.tls.ca === undefined ? { rejectUnauthorized: false } : { ca: options.tls.ca, checkServerIdentity: () => undefined }),
          });
    const connection = new FakeEnvoyConnection(session, `${host}:${options.port}`);
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        session.destroy();
        reject(err);
      };
      session.once('error', onError);
      session.once('connect', () => {
        session.off('error', onError);
        resolve(connection);
      });
    });
  }

  /** True while new streams can be opened. */
  get usable(): boolean {
    return !this.closed && !this.session.closed && !this.session.destroyed && this.goaways.length === 0;
  }

  /** Opens a `Process` stream. */
  open(): FakeEnvoyStream {
    this.streamsOpened++;
    const stream = this.session.request(
      { ':method': 'POST', ':path': PROCESS_PATH, ':scheme': 'http', ':authority': this.#authority, 'content-type': 'application/grpc', te: 'trailers' },
      { endStream: false },
    );
    return new FakeEnvoyStream(stream);
  }

  destroy(): void {
    this.closedByUs = true;
    this.session.destroy();
  }
}

/** One ext_proc stream over node:http2. */
export class FakeEnvoyStream extends StreamRecord {
  readonly #stream: ClientHttp2Stream;

  constructor(stream: ClientHttp2Stream) {
    super();
    this.#stream = stream;
    const status = (h: IncomingHttpHeaders): void => {
      const s = h['grpc-status'];
      if (s !== undefined) this.onStatus(String(s), decodeURIComponent(String(h['grpc-message'] ?? '')));
    };
    stream.on('response', (h: IncomingHttpHeaders) => {
      this.httpStatus = Number(h[':status']);
      status(h);
      this.wake();
    });
    stream.on('trailers', (h: IncomingHttpHeaders) => {
      status(h);
      this.wake();
    });
    stream.on('data', (chunk: Buffer) => this.onBody(chunk));
    stream.on('error', (err: Error) => {
      this.error ??= err.message;
    });
    stream.on('close', () => this.onClosed(stream.rstCode));
  }

  sendFramed(bytes: Buffer): boolean {
    if (this.closed || this.halfClosed || this.#stream.destroyed) return false;
    this.#stream.write(bytes);
    return true;
  }

  halfClose(): void {
    if (this.closed || this.halfClosed) return;
    this.halfClosed = true;
    this.#stream.end();
  }

  reset(code = NGHTTP2_CANCEL): void {
    if (this.closed || this.#stream.destroyed) return;
    this.clientReset = true;
    this.#stream.close(code);
  }
}

/** Several node:http2 connections (ConnectionPool: round-robin over the usable ones). */
export class FakeEnvoyPool extends ConnectionPool<FakeEnvoyStream, FakeEnvoyConnection> {
  static async open(options: ConnectOptions, size: number): Promise<FakeEnvoyPool> {
    const pool = new FakeEnvoyPool();
    await pool.connectAll(() => FakeEnvoyConnection.connect(options), size);
    return pool;
  }
}
