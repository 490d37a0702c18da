/**
 * One gRPC call on an HTTP/2 stream (PROTOCOL-HTTP2.md): splits the request bytes into
 * length-prefixed messages (a message within one read is decoded in place, a longer one assembled
 * with one copy), enforces the message size limit before buffering, decodes each message and hands it
 * to the method's handler; frames responses and ends the call with a status in trailers. Anything the
 * handler throws ends this call alone with INTERNAL.
 */
import { gunzipSync, inflateSync } from 'node:zlib';
import type { H2Stream, H2StreamHandler, StreamAbort } from '../h2/h2-stream.js';
import { encodeHeaderBlock } from '../h2/hpack-encoder.js';
import { GRPC_CANCELLED, GRPC_DEADLINE_EXCEEDED, GRPC_INTERNAL, GRPC_OK, GRPC_RESOURCE_EXHAUSTED, encodeGrpcMessage } from './grpc-status.js';

/** What a method implementation supplies for each call. */
export interface GrpcCallHandler<Req> {
  onMessage(message: Req): void;
  /** The client finished sending. */
  onHalfClose(): void;
  /** The call ended without the handler ending it (client reset, deadline, connection lost). At most once. */
  onCancel(): void;
}

/** A server method: its path, codec, and a factory for each call's handler. */
export interface GrpcMethod<Req, Res> {
  /** `/package.Service/Method`. */
  readonly path: string;
  readonly deserialize: (bytes: Buffer) => Req;
  readonly serialize: (message: Res) => Uint8Array;
  /**
   * Optional: a message's serialized form as a small head and a tail written after it without a
   * copy (a large bytes field that ends the message), or undefined to `serialize` it whole.
   */
  readonly serializeSplit?: (message: Res) => { readonly head: Buffer; readonly tail: Buffer } | undefined;
  start(call: GrpcServerCall<Req, Res>): GrpcCallHandler<Req>;
}

/** Compression a call's messages may use (`grpc-encoding`). */
export type GrpcEncoding = 'identity' | 'gzip' | 'deflate';

/** Timers for deadlines. */
export interface CallTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface CallOptions {
  readonly maxReceiveMessageBytes: number;
  /** Largest message `send` writes; a larger one ends the call with RESOURCE_EXHAUSTED instead. Undefined = no limit. */
  readonly maxSendMessageBytes?: number | undefined;
  readonly timers: CallTimers;
  /** Called once when the call is over, however it ended (for counters). */
  readonly onDone?: (status: number) => void;
}

export const RESPONSE_HEADERS_BLOCK = encodeHeaderBlock([
  [':status', '200'],
  ['content-type', 'application/grpc'],
]);
const OK_TRAILERS_BLOCK = encodeHeaderBlock([['grpc-status', '0']]);

/** Trailers (or a trailers-only response when `withHeaders`) carrying `status` and `message`. */
export function statusBlock(status: number, message: string, withHeaders: boolean, extra: readonly (readonly [string, string])[] = []): Buffer {
  const fields: (readonly [string, string])[] = withHeaders
    ? [
        [':status', '200'],
        ['content-type', 'application/grpc'],
      ]
    : [];
  fields.push(['grpc-status', String(status)]);
  if (message !== '') fields.push(['grpc-message', encodeGrpcMessage(message)]);
  fields.push(...extra);
  return encodeHeaderBlock(fields);
}

const EMPTY = Buffer.alloc(0);

export class GrpcServerCall<Req, Res> implements H2StreamHandler {
  readonly #stream: H2Stream;
  readonly #method: GrpcMethod<Req, Res>;
  readonly #options: CallOptions;
  readonly #encoding: GrpcEncoding;
  #handler: GrpcCallHandler<Req> | undefined;
  #done = false;
  #deadline: unknown;
  // Message framing: header bytes seen, the flag and length once known, the assembly buffer.
  #headerBytes = 0;
  #flag = 0;
  #length = 0;
  #assembly: Buffer | undefined;
  #assembled = 0;

  constructor(stream: H2Stream, method: GrpcMethod<Req, Res>, encoding: GrpcEncoding, options: CallOptions) {
    this.#stream = stream;
    this.#method = method;
    this.#encoding = encoding;
    this.#options = options;
  }

  /** Starts the call: the method's handler is created; `deadlineMs` (if any) bounds the call. */
  start(deadlineMs: number | undefined): void {
    if (deadlineMs !== undefined) {
      this.#deadline = this.#options.timers.setTimeout(() => {
        this.#deadline = undefined;
        if (this.#done) return;
        this.end(GRPC_DEADLINE_EXCEEDED, 'deadline exceeded');
        this.#cancelHandler();
      }, deadlineMs);
    }
    try {
      this.#handler = this.#method.start(this);
    } catch (err) {
      this.#internal(err);
    }
  }

  /** True once the call has ended (status sent, or cancelled). */
  get done(): boolean {
    return this.#done;
  }

  /** Sends one response message. Ignored after the call ended. */
  send(message: Res): void {
    if (this.#done) return;
    const stream = this.#stream;
    const split = this.#method.serializeSplit?.(message);
    if (split !== undefined) {
      const { head, tail } = split;
      if (this.#tooLargeToSend(head.length + tail.length)) return;
      if (!stream.headersSent) stream.sendHeaders(RESPONSE_HEADERS_BLOCK, false);
      // Prefix and head in one small write (copied by the stream), then the tail by reference.
      const prefixed = head.length + 5 <= SPLIT_SCRATCH.length ? SPLIT_SCRATCH.subarray(0, head.length + 5) : Buffer.allocUnsafe(head.length + 5);
      prefixed[0] = 0;
      prefixed.writeUInt32BE(head.length + tail.length, 1);
      head.copy(prefixed, 5);
      stream.sendData(prefixed, tail);
      return;
    }
    const payload = this.#method.serialize(message);
    const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    if (this.#tooLargeToSend(bytes.length)) return;
    if (!stream.headersSent) stream.sendHeaders(RESPONSE_HEADERS_BLOCK, false);
    PREFIX[0] = 0;
    PREFIX.writeUInt32BE(bytes.length, 1);
    stream.sendData(PREFIX, bytes);
  }

  /** Ends the call with `status` (OK by default) in trailers. */
  end(status = GRPC_OK, message = '', extra: readonly (readonly [string, string])[] = []): void {
    if (this.#done) return;
    this.#finish(status);
    const stream = this.#stream;
    if (status === GRPC_OK && message === '' && extra.length === 0) {
      if (!stream.headersSent) stream.sendHeaders(RESPONSE_HEADERS_BLOCK, false);
      stream.sendTrailers(OK_TRAILERS_BLOCK);
      return;
    }
    if (stream.headersSent) stream.sendTrailers(statusBlock(status, message, false, extra));
    else stream.sendHeaders(statusBlock(status, message, true, extra), true);
  }

  // ---- H2StreamHandler ----------------------------------------------------------------------

  onData(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length && !this.#done) {
      if (this.#headerBytes < 5) {
        const b = chunk[pos++] as number;
        if (this.#headerBytes === 0) {
          this.#flag = b;
          this.#length = 0;
        } else {
          this.#length = this.#length * 256 + b;
        }
        if (++this.#headerBytes < 5) continue;
        const max = this.#options.maxReceiveMessageBytes;
        if (this.#length > max) {
          this.end(GRPC_RESOURCE_EXHAUSTED, `Received message larger than max (${this.#length} vs ${max})`);
          this.#cancelHandler();
          return;
        }
        if (this.#length === 0) {
          this.#headerBytes = 0;
          this.#deliver(EMPTY);
        }
        continue;
      }
      const want = this.#length - this.#assembled;
      const take = Math.min(want, chunk.length - pos);
      if (this.#assembly === undefined && take === this.#length) {
        // The whole message is in this read: decode it in place.
        const bytes = chunk.subarray(pos, pos + take);
        pos += take;
        this.#headerBytes = 0;
        this.#deliver(bytes);
        continue;
      }
      const assembly = (this.#assembly ??= Buffer.allocUnsafe(this.#length));
      chunk.copy(assembly, this.#assembled, pos, pos + take);
      this.#assembled += take;
      pos += take;
      if (this.#assembled === this.#length) {
        this.#assembly = undefined;
        this.#assembled = 0;
        this.#headerBytes = 0;
        this.#deliver(assembly);
      }
    }
  }

  onEnd(): void {
    if (this.#done) return;
    if (this.#headerBytes !== 0) {
      this.end(GRPC_INTERNAL, 'the request ended inside a message');
      this.#cancelHandler();
      return;
    }
    try {
      this.#handler?.onHalfClose();
    } catch (err) {
      this.#internal(err);
    }
  }

  onAbort(_reason: StreamAbort, _code: number): void {
    if (this.#done) return;
    this.#finish(GRPC_CANCELLED);
    this.#cancelHandler();
  }

  // ---- internals ----------------------------------------------------------------------------

  /** Over the send limit: the call ends with RESOURCE_EXHAUSTED (grpc-go's wording) and the handler is cancelled. */
  #tooLargeToSend(length: number): boolean {
    const max = this.#options.maxSendMessageBytes;
    if (max === undefined || length <= max) return false;
    this.end(GRPC_RESOURCE_EXHAUSTED, `trying to send message larger than max (${length} vs. ${max})`);
    this.#cancelHandler();
    return true;
  }

  #deliver(raw: Buffer): void {
    let bytes = raw;
    if (this.#flag !== 0) {
      if (this.#encoding === 'identity') {
        this.end(GRPC_INTERNAL, 'compressed message without grpc-encoding');
        this.#cancelHandler();
        return;
      }
      try {
        const maxOutputLength = this.#options.maxReceiveMessageBytes;
        bytes = this.#encoding === 'gzip' ? gunzipSync(raw, { maxOutputLength }) : inflateSync(raw, { maxOutputLength });
      } catch (err) {
        const tooLarge = err instanceof RangeError || (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
        this.end(tooLarge ? GRPC_RESOURCE_EXHAUSTED : GRPC_INTERNAL, tooLarge ? 'decompressed message larger than max' : 'could not decompress the message');
        this.#cancelHandler();
        return;
      }
    }
    let message: Req;
    try {
      message = this.#method.deserialize(bytes);
    } catch (err) {
      this.end(GRPC_INTERNAL, `could not decode the request message: ${err instanceof Error ? err.message : String(err)}`);
      this.#cancelHandler();
      return;
    }
    try {
      this.#handler?.onMessage(message);
    } catch (err) {
      this.#internal(err);
    }
  }

  #internal(err: unknown): void {
    this.end(GRPC_INTERNAL, `internal error: ${err instanceof Error ? err.message : String(err)}`);
    this.#cancelHandler();
  }

  #cancelHandler(): void {
    const h = this.#handler;
    this.#handler = undefined;
    if (h === undefined) return;
    try {
      h.onCancel();
    } catch {
      // The call is over; nothing more can be done for it.
    }
  }

  #finish(status: number): void {
    this.#done = true;
    if (this.#deadline !== undefined) {
      this.#options.timers.clearTimeout(this.#deadline);
      this.#deadline = undefined;
    }
    this.#assembly = undefined;
    this.#options.onDone?.(status);
  }
}

// One shared prefix: the stream copies it before `sendData` returns (queued copies are its own).
const PREFIX = Buffer.alloc(5);
// The same for a prefix with a split message's head (heads are a few dozen bytes).
const SPLIT_SCRATCH = Buffer.alloc(256);
