/**
 * A gRPC server on our own HTTP/2 transport (src/h2), for the ext_proc port. It exists because
 * Node's HTTP/2 (nghttp2 1.61 in Node 20) ends a connection with GOAWAY after 1,000 incoming stream
 * resets (refilled at 33/s) — and Envoy resets every ext_proc stream, even on success — with no
 * option to change it before Node 22; and because a transport that knows its one workload costs
 * less per request. See src/h2/h2-connection.ts for what is bounded and how.
 *
 * Requests are checked as PROTOCOL-HTTP2.md says: POST, `content-type: application/grpc…`, a known
 * `:path` (else UNIMPLEMENTED), `grpc-encoding` (compressed messages only when configured; else
 * UNIMPLEMENTED with `grpc-accept-encoding`), `grpc-timeout` (malformed → INTERNAL; longer than a
 * timer can hold → no deadline).
 */
import type { SecureContextOptions } from 'node:tls';
import type { H2ServerOptions } from '../h2/h2-server.js';
import type { H2Limits, H2RequestListener, H2Timers } from '../h2/h2-connection.js';
import { H2Server, SYSTEM_H2_TIMERS } from '../h2/h2-server.js';
import type { H2Stream } from '../h2/h2-stream.js';
import { encodeHeaderBlock } from '../h2/hpack-encoder.js';
import type { HeaderList } from '../h2/hpack-decoder.js';
import type { Logger } from '../observability/logger.js';
import { GrpcServerCall, statusBlock, type GrpcEncoding, type GrpcMethod } from './grpc-server-call.js';
import { GRPC_INTERNAL, GRPC_UNIMPLEMENTED } from './grpc-status.js';
import { parseGrpcTimeout } from './grpc-timeout.js';

export interface GrpcServerOptions {
  readonly logger: Logger;
  /** Names the server in logs. */
  readonly label: string;
  /** Largest request message accepted (RESOURCE_EXHAUSTED beyond, before it is buffered). */
  readonly maxReceiveMessageBytes: number;
  /** Largest response message sent: a larger one ends the call with RESOURCE_EXHAUSTED, as gRPC does. Default: no limit. */
  readonly maxSendMessageBytes?: number;
  /** Compressed request messages accepted; empty = identity only. */
  readonly acceptEncodings?: readonly Exclude<GrpcEncoding, 'identity'>[];
  readonly limits?: Partial<H2Limits>;
  readonly tls?: H2ServerOptions['tls'];
  readonly timers?: H2Timers;
}

const STATUS_405 = encodeHeaderBlock([[':status', '405']]);
const STATUS_415 = encodeHeaderBlock([[':status', '415']]);

export class GrpcServer implements H2RequestListener {
  readonly #methods = new Map<string, GrpcMethod<unknown, unknown>>();
  readonly #options: GrpcServerOptions;
  readonly #h2: H2Server;
  readonly #timers: H2Timers;
  readonly #accepted: ReadonlySet<string>;
  readonly #acceptHeader: string;
  #calls = 0;

  constructor(options: GrpcServerOptions) {
    this.#options = options;
    this.#timers = options.timers ?? SYSTEM_H2_TIMERS;
    this.#accepted = new Set(options.acceptEncodings ?? []);
    this.#acceptHeader = ['identity', ...this.#accepted].join(',');
    this.#h2 = new H2Server({ listener: this, logger: options.logger, label: options.label, limits: options.limits, tls: options.tls, timers: this.#timers });
  }

  /** Registers a method (before `listen`). */
  addMethod<Req, Res>(method: GrpcMethod<Req, Res>): void {
    this.#methods.set(method.path, method as unknown as GrpcMethod<unknown, unknown>);
  }

  listen(host: string, port: number): Promise<number> {
    return this.#h2.listen(host, port);
  }

  setSecureContext(pair: SecureContextOptions): void {
    this.#h2.setSecureContext(pair);
  }

  /** The HTTP/2 layer (connections, live streams, close reasons). */
  get transport(): H2Server {
    return this.#h2;
  }

  /** Calls started over the server's life. */
  get callsStarted(): number {
    return this.#calls;
  }

  /** Graceful: no new connections; live ones get GOAWAY and finish their streams. */
  drain(): Promise<void> {
    return this.#h2.drain();
  }

  /** Immediate: every connection closed, live calls cancelled. */
  close(): Promise<void> {
    return this.#h2.close();
  }

  onRequest(stream: H2Stream, headers: HeaderList, endStream: boolean): void {
    if (headers.get(':method') !== 'POST') {
      stream.sendHeaders(STATUS_405, true);
      return;
    }
    const contentType = headers.get('content-type');
    if (contentType === undefined || !contentType.startsWith('application/grpc')) {
      stream.sendHeaders(STATUS_415, true);
      return;
    }
    const method = this.#methods.get(headers.get(':path') ?? '');
    if (method === undefined) {
      stream.sendHeaders(statusBlock(GRPC_UNIMPLEMENTED, `unknown method ${headers.get(':path') ?? ''}`, true), true);
      return;
    }
    const encodingHeader = headers.get('grpc-encoding');
    let encoding: GrpcEncoding = 'identity';
    if (encodingHeader !== undefined && encodingHeader !== 'identity') {
      if (!this.#accepted.has(encodingHeader)) {
        stream.sendHeaders(statusBlock(GRPC_UNIMPLEMENTED, `grpc-encoding ${encodingHeader} is not accepted`, true, [['grpc-accept-encoding', this.#acceptHeader]]), true);
        return;
      }
      encoding = encodingHeader as GrpcEncoding;
    }
    const deadline = parseGrpcTimeout(headers.get('grpc-timeout'));
    if (Number.isNaN(deadline)) {
      stream.sendHeaders(statusBlock(GRPC_INTERNAL, 'malformed grpc-timeout', true), true);
      return;
    }
    this.#calls++;
    const call = new GrpcServerCall(stream, method, encoding, { maxReceiveMessageBytes: this.#options.maxReceiveMessageBytes, maxSendMessageBytes: this.#options.maxSendMessageBytes, timers: this.#timers });
    stream.handler = call;
    call.start(deadline);
    if (endStream) call.onEnd();
  }
}
