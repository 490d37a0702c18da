/**
 * A promise-friendly handle on one ext_proc `Process` bidi stream, seen from the data plane (the side
 * Envoy plays): send `ProcessingRequest`s, await `ProcessingResponse`s one at a time, half-close, or
 * cancel. The gateway drives every HTTP request through one of these, and picker tests reuse it as an
 * "Envoy-like client".
 *
 * Usage:
 * ```ts
 * const stream = ExtProcStream.open(client);
 * await stream.send({ request_headers: { headers, end_of_stream: true } });
 * const reply = await stream.next(1000); // undefined once the server has closed the stream cleanly
 * stream.end();
 * const status = await stream.closed;
 * ```
 */
import { Metadata, status as GrpcStatus, type CallOptions, type ClientDuplexStream, type StatusObject } from '@grpc/grpc-js';
import type { ExternalProcessorClientType, ProcessingRequest, ProcessingResponse__Output } from '../extproc/proto.js';

/**
 * Why a stream operation failed:
 * - `timeout`: `next(timeoutMs)` saw no response in time (the stream itself is left open);
 * - `status`: the stream ended with a non-OK gRPC status (see `status`);
 * - `closed`: `send` after the stream ended or after `end()`.
 */
export type ExtProcStreamErrorKind = 'timeout' | 'status' | 'closed';

/** The only error an {@link ExtProcStream} method rejects with. */
export class ExtProcStreamError extends Error {
  override readonly name = 'ExtProcStreamError';
  constructor(
    readonly kind: ExtProcStreamErrorKind,
    message: string,
    /** The final gRPC status, when the stream has ended. */
    readonly status?: StatusObject,
  ) {
    super(message);
  }
}

/** Options for {@link ExtProcStream.open}. */
export interface ExtProcStreamOptions {
  /** gRPC deadline for the whole stream (a Date or epoch milliseconds); none by default. */
  readonly deadline?: Date | number;
  /** Call metadata to send with the stream. */
  readonly metadata?: Metadata;
  /**
   * Responses held before the wrapper stops reading from the call, so gRPC flow control pushes back
   * on a server that outruns the consumer. Default 64.
   */
  readonly maxBuffered?: number;
}

type ResponseStream = ClientDuplexStream<ProcessingRequest, ProcessingResponse__Output>;

interface Waiter {
  resolve: (value: ProcessingResponse__Output | undefined) => void;
  reject: (err: ExtProcStreamError) => void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * One open `Process` stream. Contract:
 * - `send` writes synchronously, so messages go out in call order whether or not the promises are
 *   awaited; the promise resolves at once, or after `drain` when the call's send buffer is full
 *   (await it for backpressure). It rejects with kind `closed` after `end()` or once the stream has
 *   ended; callers that do not await must attach a handler.
 * - `next` yields responses in arrival order, never loses one that arrived before the stream ended,
 *   resolves `undefined` once the server ended the stream with OK, and rejects with kind `status` when
 *   it ended with an error (a local `cancel()` ends it with CANCELLED).
 * - `closed` resolves (never rejects) with the final status.
 */
export class ExtProcStream implements AsyncIterable<ProcessingResponse__Output> {
  /** Resolves with the final gRPC status when the call ends, however it ends. */
  readonly closed: Promise<StatusObject>;

  private readonly queue: ProcessingResponse__Output[] = [];
  private readonly waiters: Waiter[] = [];
  private finalStatus: StatusObject | undefined;
  private readableEnded = false;
  private halfClosed = false;
  private paused = false;
  private resolveClosed!: (status: StatusObject) => void;

  /** Opens a `Process` stream on `client`; the call starts at once (no await needed). */
  static open(client: ExternalProcessorClientType, options: ExtProcStreamOptions = {}): ExtProcStream {
    const callOptions: CallOptions = options.deadline === undefined ? {} : { deadline: options.deadline };
    const call = client.Process(options.metadata ?? new Metadata(), callOptions);
    return new ExtProcStream(call, options.maxBuffered ?? 64);
  }

  private constructor(
    private readonly call: ResponseStream,
    private readonly maxBuffered: number,
  ) {
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    call.on('data', (message: ProcessingResponse__Output) => this.onMessage(message));
    call.on('end', () => {
      this.readableEnded = true;
      this.settleIfEnded();
    });
    // grpc-js emits 'error' for every non-OK status; the 'status' event carries the same facts, and
    // without a listener the emit would throw.
    call.on('error', () => undefined);
    call.on('status', (status: StatusObject) => {
      this.finalStatus = status;
      this.resolveClosed(status);
      this.settleIfEnded();
    });
  }

  /** The final status, once the call has ended. */
  get status(): StatusObject | undefined {
    return this.finalStatus;
  }

  /** True once the call has ended (status received). */
  get ended(): boolean {
    return this.finalStatus !== undefined;
  }

  /** Writes one request; see the class contract for ordering, backpressure and rejection. */
  send(request: ProcessingRequest): Promise<void> {
    if (this.finalStatus !== undefined) {
      return Promise.reject(new ExtProcStreamError('closed', `send on an ended stream (${describeStatus(this.finalStatus)})`, this.finalStatus));
    }
    if (this.halfClosed) return Promise.reject(new ExtProcStreamError('closed', 'send after end()'));
    if (this.call.write(request)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        this.call.off('drain', onDrain);
        this.call.off('status', onStatus);
      };
      const onDrain = (): void => {
        cleanup();
        resolve();
      };
      const onStatus = (status: StatusObject): void => {
        cleanup();
        reject(new ExtProcStreamError('closed', `stream ended before the send buffer drained (${describeStatus(status)})`, status));
      };
      this.call.on('drain', onDrain);
      this.call.on('status', onStatus);
    });
  }

  /**
   * The next response. Resolves `undefined` when the server closed the stream with OK and every
   * response has been taken. With `timeoutMs`, rejects with kind `timeout` if nothing arrives in time
   * (the stream stays open; the caller decides whether to cancel).
   */
  next(timeoutMs?: number): Promise<ProcessingResponse__Output | undefined> {
    const queued = this.queue.shift();
    if (queued !== undefined) {
      this.resumeIfDrained();
      return Promise.resolve(queued);
    }
    if (this.isTerminal()) return this.terminalResult();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined };
      if (timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => {
          const at = this.waiters.indexOf(waiter);
          if (at >= 0) this.waiters.splice(at, 1);
          reject(new ExtProcStreamError('timeout', `no ext_proc response within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.waiters.push(waiter);
      this.resumeIfDrained();
    });
  }

  /** Half-closes the request side (no more sends); responses can still arrive. Idempotent. */
  end(): void {
    if (this.halfClosed || this.finalStatus !== undefined) return;
    this.halfClosed = true;
    this.call.end();
  }

  /** Cancels the call (the server sees CANCELLED); pending `next` calls reject. Idempotent. */
  cancel(): void {
    if (this.finalStatus !== undefined) return;
    this.call.cancel();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ProcessingResponse__Output, void, undefined> {
    for (;;) {
      const message = await this.next();
      if (message === undefined) return;
      yield message;
    }
  }

  private onMessage(message: ProcessingResponse__Output): void {
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      clearTimeout(waiter.timer);
      waiter.resolve(message);
      return;
    }
    this.queue.push(message);
    if (this.queue.length >= this.maxBuffered && !this.paused) {
      this.paused = true;
      this.call.pause();
    }
  }

  private resumeIfDrained(): void {
    if (this.paused && this.queue.length < this.maxBuffered) {
      this.paused = false;
      this.call.resume();
    }
  }

  // grpc-js reports the status synchronously while messages may still sit in the readable buffer, so
  // the stream only counts as over once the readable side has ended too.
  private isTerminal(): boolean {
    return this.finalStatus !== undefined && this.readableEnded;
  }

  private terminalResult(): Promise<undefined> {
    const status = this.finalStatus;
    if (status === undefined || status.code === GrpcStatus.OK) return Promise.resolve(undefined);
    return Promise.reject(new ExtProcStreamError('status', `ext_proc stream ended: ${describeStatus(status)}`, status));
  }

  private settleIfEnded(): void {
    if (!this.isTerminal()) return;
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      this.terminalResult().then(waiter.resolve, waiter.reject);
    }
  }
}

/** `14 UNAVAILABLE: No connection established`-style text for logs and error messages. */
export function describeStatus(status: StatusObject): string {
  const name = GrpcStatus[status.code] ?? 'UNKNOWN';
  return `${status.code} ${name}${status.details ? `: ${status.details}` : ''}`;
}
