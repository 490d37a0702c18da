/**
 * A minimal HTTP/1.1 client for one job: GET a metrics page, again and again, over one persistent
 * connection per endpoint. At 20 scrapes per second per endpoint, node:http's and undici's general
 * machinery cost ~75 µs a scrape (most of the collector's CPU); this costs a socket write, a header
 * scan and a body copy. It handles Content-Length, chunked and read-until-close bodies, enforces the
 * size cap while bytes arrive and a deadline per request, and retries once on a fresh connection
 * when a reused one turns out to have been closed by the server.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ScrapeError, type FetchOptions, type MetricsFetcher } from './scrape-error.js';

const CRLFCRLF = Buffer.from('\r\n\r\n');
const MAX_HEADER_BYTES = 64 * 1024;

interface Pending {
  readonly resolve: (text: string) => void;
  readonly reject: (err: ScrapeError) => void;
  readonly options: FetchOptions;
  readonly timer: NodeJS.Timeout;
  readonly reused: boolean;
  readonly retry: () => void;
}

/** One endpoint's connection and the request in flight on it (at most one). */
class Connection {
  #socket: Socket | undefined;
  #reused = false;
  #pending: Pending | undefined;
  #buffer: Buffer = Buffer.alloc(0);
  #headerDone = false;
  #contentLength = -1;
  #chunked = false;
  #closeAfter = false;
  #body: Buffer[] = [];
  #bodySize = 0;
  #chunkRemaining = -1; // chunked: bytes left in the current chunk (+2 for its CRLF); -1 = expecting a size line

  constructor(
    private readonly url: URL,
    private readonly tls: MetricsTlsOptions,
  ) {}

  fetch(request: Buffer, options: FetchOptions, allowRetry = true): Promise<string> {
    return new Promise((resolve, reject) => {
      if (this.#pending !== undefined) {
        reject(new ScrapeError('network', 'a scrape is already in flight on this connection'));
        return;
      }
      const socket = this.#socket ?? this.#open();
      const reused = this.#reused;
      this.#reused = true;
      const timer = setTimeout(() => this.#fail(new ScrapeError('timeout', `no complete answer within ${options.timeoutMs} ms`)), options.timeoutMs);
      const retry = (): void => {
        this.fetch(request, options, false).then(resolve, reject);
      };
      this.#pending = { resolve, reject, options, timer, reused: reused && allowRetry, retry };
      this.#resetResponse();
      socket.write(request);
    });
  }

  destroy(): void {
    this.#socket?.destroy();
    this.#socket = undefined;
  }

  #open(): Socket {
    const host = this.url.hostname.startsWith('[') ? this.url.hostname.slice(1, -1) : this.url.hostname;
    const port = Number(this.url.port || (this.url.protocol === 'https:' ? 443 : 80));
    const socket =
      this.url.protocol === 'https:'
        ? tlsConnect({
            host,
            port,
            rejectUnauthorized: !this.tls.insecureSkipVerify,
            ...(/^[\d.:]+$/.test(host) ? {} : { servername: host }),
            ...(this.tls.ca === undefined ? {} : { ca: this.tls.ca }),
            ...(this.tls.cert === undefined || this.tls.key === undefined ? {} : { cert: this.tls.cert, key: this.tls.key }),
          })
        : netConnect({ host, port });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(socket, chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (this.#socket === socket) this.#fail(new ScrapeError(err.code === 'ECONNREFUSED' ? 'refused' : 'network', err.message), socket);
    });
    socket.on('close', () => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      // A body delimited by the connection's end is complete now.
      if (this.#pending !== undefined && this.#headerDone && this.#contentLength < 0 && !this.#chunked) this.#complete();
      else this.#fail(new ScrapeError('network', 'connection closed before the response was complete'), socket);
    });
    this.#socket = socket;
    this.#reused = false;
    return socket;
  }

  #resetResponse(): void {
    this.#buffer = Buffer.alloc(0);
    this.#headerDone = false;
    this.#contentLength = -1;
    this.#chunked = false;
    this.#closeAfter = false;
    this.#body = [];
    this.#bodySize = 0;
    this.#chunkRemaining = -1;
  }

  #onData(socket: Socket, chunk: Buffer): void {
    if (this.#pending === undefined) {
      socket.destroy(); // bytes nobody asked for: the stream is out of step
      return;
    }
    if (!this.#headerDone) {
      const data = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      const end = data.indexOf(CRLFCRLF);
      if (end < 0) {
        if (data.length > MAX_HEADER_BYTES) this.#fail(new ScrapeError('network', 'response headers too large'), socket);
        else this.#buffer = data;
        return;
      }
      this.#buffer = Buffer.alloc(0);
      if (!this.#parseHeaders(data.toString('latin1', 0, end))) return;
      this.#headerDone = true;
      chunk = data.subarray(end + 4);
    }
    if (this.#chunked) this.#onChunked(chunk);
    else this.#addBody(chunk);
    if (this.#pending !== undefined && this.#contentLength >= 0 && this.#bodySize >= this.#contentLength) this.#complete();
  }

  /** Returns false (after failing the request) when the response cannot be used. */
  #parseHeaders(head: string): boolean {
    const lines = head.split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (status === null) {
      this.#fail(new ScrapeError('network', 'not an HTTP/1.x response'));
      return false;
    }
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') this.#contentLength = Number.parseInt(value, 10);
      else if (name === 'transfer-encoding') this.#chunked = value.toLowerCase().includes('chunked');
      else if (name === 'connection') this.#closeAfter = value.toLowerCase() === 'close';
    }
    const max = this.#pending?.options.maxBytes ?? Infinity;
    if (status[1] !== '200') {
      // The body is not read: the connection cannot be reused reliably, so it is closed.
      this.#fail(new ScrapeError('http-status', `HTTP ${status[1]}`));
      return false;
    }
    if (this.#contentLength > max) {
      this.#fail(new ScrapeError('too-large', `body of ${this.#contentLength} bytes exceeds ${max}`));
      return false;
    }
    if (this.#chunked) this.#contentLength = -1;
    else if (this.#contentLength < 0 || !Number.isFinite(this.#contentLength)) {
      this.#contentLength = -1;
      this.#closeAfter = true; // delimited by the end of the connection
    }
    return true;
  }

  #addBody(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.#bodySize += bytes.length;
    const max = this.#pending?.options.maxBytes ?? Infinity;
    if (this.#bodySize > max) {
      this.#fail(new ScrapeError('too-large', `body exceeds ${max} bytes`));
      return;
    }
    this.#body.push(bytes);
  }

  #onChunked(input: Buffer): void {
    let data = this.#buffer.length === 0 ? input : Buffer.concat([this.#buffer, input]);
    this.#buffer = Buffer.alloc(0);
    while (data.length > 0 && this.#pending !== undefined) {
      if (this.#chunkRemaining < 0) {
        const eol = data.indexOf('\r\n');
        if (eol < 0) {
          if (data.length > 1024) this.#fail(new ScrapeError('network', 'malformed chunk size'));
          else this.#buffer = data;
          return;
        }
        const size = Number.parseInt(data.toString('latin1', 0, eol).split(';')[0] ?? '', 16);
        if (!Number.isFinite(size) || size < 0) {
          this.#fail(new ScrapeError('network', 'malformed chunk size'));
          return;
        }
        data = data.subarray(eol + 2);
        if (size === 0) {
          // Last chunk; trailers (if any) end with an empty line, which this client does not need.
          this.#complete();
          return;
        }
        this.#chunkRemaining = size + 2;
      }
      const take = Math.min(this.#chunkRemaining, data.length);
      const payload = Math.min(take, Math.max(0, this.#chunkRemaining - 2));
      this.#addBody(data.subarray(0, payload));
      this.#chunkRemaining -= take;
      data = data.subarray(take);
      if (this.#chunkRemaining === 0) this.#chunkRemaining = -1;
    }
  }

  #complete(): void {
    const p = this.#pending;
    if (p === undefined) return;
    this.#pending = undefined;
    clearTimeout(p.timer);
    const body = this.#body.length === 1 ? (this.#body[0] as Buffer) : Buffer.concat(this.#body, this.#bodySize);
    this.#body = [];
    if (this.#closeAfter || this.#chunked) {
      // chunked: trailing bytes of the terminator may still arrive; a fresh connection is simplest.
      if (this.#closeAfter) this.destroy();
    }
    p.resolve(body.toString('utf8'));
  }

  #fail(err: ScrapeError, socket?: Socket): void {
    const p = this.#pending;
    if (socket === undefined || socket === this.#socket) this.destroy();
    if (p === undefined) return;
    this.#pending = undefined;
    clearTimeout(p.timer);
    this.#body = [];
    // A reused keep-alive connection may have been closed by the server just before we wrote.
    if (p.reused && err.kind === 'network') p.retry();
    else p.reject(err);
  }
}

/**
 * TLS for https scrapes: `insecureSkipVerify` skips checking the server certificate; `ca` replaces the
 * system's roots; `cert` and `key` (together) are presented to servers that ask for a client
 * certificate (mTLS).
 */
export interface MetricsTlsOptions {
  readonly insecureSkipVerify: boolean;
  readonly ca?: Buffer | undefined;
  readonly cert?: Buffer | undefined;
  readonly key?: Buffer | undefined;
}

/** The MetricsFetcher the picker uses: one persistent connection per endpoint origin. */
export class KeepAliveMetricsFetcher implements MetricsFetcher {
  readonly #connections = new Map<string, Connection>();
  /** Request bytes by URL, built once. */
  readonly #requests = new Map<string, Buffer>();

  constructor(private readonly options: MetricsTlsOptions) {}

  fetch(url: URL, options: FetchOptions): Promise<string> {
    let c = this.#connections.get(url.origin);
    if (c === undefined) {
      c = new Connection(url, this.options);
      this.#connections.set(url.origin, c);
    }
    let request = this.#requests.get(url.href);
    if (request === undefined) {
      request = Buffer.from(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: text/plain\r\nUser-Agent: epp-metrics\r\n\r\n`, 'latin1');
      this.#requests.set(url.href, request);
    }
    return c.fetch(request, options);
  }

  /** Drops the connection of an endpoint that left the pool. */
  forget(url: URL): void {
    this.#connections.get(url.origin)?.destroy();
    this.#connections.delete(url.origin);
    for (const href of this.#requests.keys()) if (href.startsWith(url.origin)) this.#requests.delete(href);
  }

  close(): void {
    for (const c of this.#connections.values()) c.destroy();
    this.#connections.clear();
    this.#requests.clear();
  }
}
