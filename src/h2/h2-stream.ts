/**
 * One HTTP/2 request stream on the server side: its flow-control windows, what each side has closed,
 * and the DATA waiting for send window. The connection owns the wire; a stream only asks it to write
 * frames. Handlers see request bytes as they arrive and learn once how the stream ended.
 */
import type { H2Connection } from './h2-connection.js';

/** Why a stream ended without completing: the peer reset it, or the connection went away. */
export type StreamAbort = 'reset' | 'connection-closed';

/** What the layer above (gRPC) implements for each stream. */
export interface H2StreamHandler {
  /** Request body bytes, in order (a view into the read buffer: copy what must outlive the call). */
  onData(chunk: Buffer): void;
  /** The peer finished sending (END_STREAM). */
  onEnd(): void;
  /** The stream ended abnormally; nothing more will be delivered or written. Called at most once. */
  onAbort(reason: StreamAbort, code: number): void;
}

const NO_HANDLER: H2StreamHandler = {
  onData() {},
  onEnd() {},
  onAbort() {},
};

export class H2Stream {
  handler: H2StreamHandler = NO_HANDLER;
  /** The peer sent END_STREAM. */
  remoteClosed = false;
  /** We sent (or queued) END_STREAM; no more writes. */
  localClosed = false;
  /** Closed for good (both sides, or reset); the connection has forgotten it. */
  closed = false;
  /** Response headers have been written. */
  headersSent = false;
  /** The server has written at least one response frame (headers or RST): resets after this are free. */
  responded = false;

  /** What we may still send (peer's window for this stream). */
  sendWindow: number;
  /** What the peer may still send before our next WINDOW_UPDATE. */
  recvWindow: number;
  /** Bytes received and consumed but not yet returned to the peer. */
  recvUnacked = 0;

  /** DATA waiting for send window, in order; `endAfter` = END_STREAM once it is out. */
  queue: Buffer[] | undefined;
  queuedBytes = 0;
  /** Trailers to send once the queue is empty (they carry END_STREAM). */
  pendingTrailers: Buffer | undefined;
  /** RST_STREAM(NO_ERROR) follows the trailers because the peer has not finished sending. */
  resetAfterTrailers = false;

  constructor(
    readonly id: number,
    readonly connection: H2Connection,
    sendWindow: number,
    recvWindow: number,
    /** Clock time (ms) the stream opened. */
    readonly openedAt: number,
  ) {
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /** Writes response headers (`block` is an HPACK block); `endStream` for a headers-only response. */
  sendHeaders(block: Buffer, endStream: boolean): void {
    if (this.localClosed || this.closed) return;
    this.headersSent = true;
    this.responded = true;
    this.connection.writeHeaders(this, block, endStream);
  }

  /**
   * Writes `prefix` then `payload` as DATA (split into frames as the peer allows; held while the
   * flow-control windows are closed). Either may be empty.
   */
  sendData(prefix: Buffer | undefined, payload: Buffer | undefined): void {
    if (this.localClosed || this.closed) return;
    this.responded = true;
    this.connection.writeData(this, prefix, payload);
  }

  /** Ends the response with trailers (an HPACK block) after any queued DATA. */
  sendTrailers(block: Buffer): void {
    if (this.localClosed || this.closed) return;
    this.localClosed = true;
    this.responded = true;
    this.connection.writeTrailers(this, block);
  }

  /** Resets the stream (RST_STREAM with `code`); queued data is dropped. */
  reset(code: number): void {
    if (this.closed) return;
    this.responded = true;
    this.connection.resetStream(this, code);
  }

  /** True when this stream has nothing waiting for window. */
  get drained(): boolean {
    return this.queuedBytes === 0 && this.pendingTrailers === undefined;
  }
}
