/**
 * What the fake Envoy records about one ext_proc stream, whichever client carries it (node:http2, or
 * the frame-level client): responses as they arrive, the final grpc-status, how it closed, and waits
 * on any of that. Subclasses write to the wire.
 */
import type { ProcessingRequest, ProcessingResponse__Output } from '../../../src/extproc/proto.js';
import { decodeResponse, encodeRequest, GrpcDeframer, grpcFrame } from './messages.js';

type Waiter = { readonly predicate: (s: StreamRecord) => boolean; readonly resolve: (ok: boolean) => void; readonly timer: NodeJS.Timeout };

export abstract class StreamRecord {
  readonly openedAt = performance.now();
  readonly responses: ProcessingResponse__Output[] = [];
  /** performance.now() of each response, parallel to `responses`. */
  readonly responseAt: number[] = [];
  httpStatus: number | undefined;
  grpcStatus: string | undefined;
  grpcMessage = '';
  /** Undecodable response messages. */
  decodeErrors = 0;
  closed = false;
  closedAt = Number.NaN;
  /** RST_STREAM code the stream closed with (0 or undefined = closed normally). */
  rstCode: number | undefined;
  /** We reset the stream ourselves. */
  clientReset = false;
  halfClosed = false;
  error: string | undefined;
  /** Called for every response, after it is recorded. */
  onResponse: ((msg: ProcessingResponse__Output, stream: StreamRecord) => void) | undefined;
  readonly #deframer = new GrpcDeframer();
  #waiters: Waiter[] = [];

  /** The server ended the stream with a grpc-status (trailers), as opposed to a reset. */
  get endedByServer(): boolean {
    return this.grpcStatus !== undefined;
  }

  /** Cut: closed by the server's reset or a lost connection, not by us and not by trailers. */
  get cut(): boolean {
    return this.closed && !this.clientReset && this.grpcStatus === undefined;
  }

  /** Sends one message; false once the stream can no longer be written. */
  send(msg: ProcessingRequest): boolean {
    return this.sendFramed(grpcFrame(encodeRequest(msg)));
  }

  /** Writes raw bytes into the request body (gRPC framing is the caller's). */
  abstract sendFramed(bytes: Buffer): boolean;
  /** Half-closes (END_STREAM): what grpc-js clients do; Envoy does not. */
  abstract halfClose(): void;
  /** RST_STREAM(code): how Envoy ends every ext_proc stream. */
  abstract reset(code?: number): void;

  /** Resolves true as soon as `predicate` holds (checked on every event), false after `timeoutMs` or once closed without it. */
  until(predicate: (s: this) => boolean, timeoutMs: number): Promise<boolean> {
    const p = predicate as (s: StreamRecord) => boolean;
    if (p(this)) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        predicate: p,
        resolve,
        timer: setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          resolve(p(this));
        }, timeoutMs),
      };
      this.#waiters.push(waiter);
    });
  }

  // ---- for subclasses ----------------------------------------------------------------------

  protected onBody(chunk: Buffer): void {
    this.#deframer.push(chunk, (payload) => {
      let msg: ProcessingResponse__Output;
      try {
        msg = decodeResponse(payload);
      } catch {
        this.decodeErrors++;
        return;
      }
      this.responses.push(msg);
      this.responseAt.push(performance.now());
      this.onResponse?.(msg, this);
    });
    this.wake();
  }

  protected onStatus(status: string | undefined, message: string | undefined): void {
    if (status === undefined) return;
    this.grpcStatus = status;
    this.grpcMessage = message ?? '';
  }

  protected onClosed(rstCode: number | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.closedAt = performance.now();
    this.rstCode = rstCode;
    this.wake();
  }

  protected wake(): void {
    if (this.#waiters.length === 0) return;
    const keep: Waiter[] = [];
    for (const w of this.#waiters) {
      if (w.predicate(this)) {
        clearTimeout(w.timer);
        w.resolve(true);
      } else if (this.closed) {
        // Nothing more will happen on a closed stream.
        clearTimeout(w.timer);
        w.resolve(false);
      } else keep.push(w);
    }
    this.#waiters = keep;
  }
}

/** Anything that opens ext_proc streams over some connections and counts what the server did to them. */
export interface StreamOpener {
  /** A new stream on a usable connection; undefined when none is usable. */
  open(): StreamRecord | undefined;
  /** GOAWAY frames received over every connection. */
  readonly goaways: number;
  /** Connections the server (or the network) closed. */
  readonly closes: number;
}
