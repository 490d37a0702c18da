/**
 * A frame-level HTTP/2 client for ext_proc, written for the fault suite: every frame is ours to send
 * (a reset at any point, DATA the server never asked for, a window never granted), flow control is
 * honoured both ways unless a scenario turns it off, and it keeps no per-frame history, so it can
 * drive 100 k streams. Used where node:http2's client would get in the way: it hangs in
 * `Http2Session::SendPendingData` when a stream is reset while the server has already reset others
 * mid-write (nodejs/node#52952 shape), and it cannot stop granting window or reading.
 */
import { connect, type Socket } from 'node:net';
import {
  CANCEL,
  CLIENT_PREFACE,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW_SIZE,
  FLAG_ACK,
  FLAG_END_HEADERS,
  FLAG_END_STREAM,
  FLAG_PADDED,
  FRAME_CONTINUATION,
  FRAME_DATA,
  FRAME_GOAWAY,
  FRAME_HEADERS,
  FRAME_PING,
  FRAME_RST_STREAM,
  FRAME_SETTINGS,
  FRAME_WINDOW_UPDATE,
  MAX_WINDOW_SIZE,
  SETTINGS_INITIAL_WINDOW_SIZE,
  SETTINGS_MAX_FRAME_SIZE,
  writeFrameHeader,
} from '../../../src/h2/constants.js';
import { HeaderList, HpackDecoder } from '../../../src/h2/hpack-decoder.js';
import { encodeHeaderBlock } from '../../../src/h2/hpack-encoder.js';
import { PROCESS_PATH } from '../../../src/extproc/service.js';
import type { GoawayRecord } from './extproc-client.js';
import { ConnectionPool } from './connection-pool.js';
import { StreamRecord } from './stream-record.js';

export interface FrameClientOptions {
  readonly port: number;
  readonly host?: string;
  /** Answer the server's PINGs (a dead peer does not). Default true. */
  readonly answerPings?: boolean;
  /** Return receive window as responses are read (a slow reader does not). Default true. */
  readonly grantWindow?: boolean;
  /** Receive window we advertise per stream. Default 4 MiB. */
  readonly initialWindowSize?: number;
}

const REQUEST_BLOCK = (authority: string): Buffer =>
  encodeHeaderBlock([
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', PROCESS_PATH],
    [':authority', authority],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
  ]);

/** One HTTP/2 connection to an ext_proc server, frame by frame. */
export class FrameConnection {
  readonly goaways: GoawayRecord[] = [];
  closed = false;
  closedByUs = false;
  streamsOpened = 0;
  /** Called as each GOAWAY arrives, before the frames after it are read (to race a drain). */
  onGoaway: ((goaway: GoawayRecord) => void) | undefined;
  readonly #socket: Socket;
  readonly #options: FrameClientOptions;
  readonly #streams = new Map<number, FrameStream>();
  readonly #decoder = new HpackDecoder(4096);
  readonly #headers = new HeaderList();
  readonly #requestBlock: Buffer;
  #nextId = 1;
  #buf: Buffer = Buffer.alloc(0);
  #peerMaxFrame = DEFAULT_MAX_FRAME_SIZE;
  #peerInitialWindow = DEFAULT_WINDOW_SIZE;
  #connSendWindow = DEFAULT_WINDOW_SIZE;
  #connRecvUnacked = 0;
  /** A header block spread over CONTINUATION frames. */
  #block: { id: number; flags: number; parts: Buffer[] } | undefined;
  #onSettings: (() => void) | undefined;

  private constructor(socket: Socket, options: FrameClientOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#requestBlock = REQUEST_BLOCK(`${options.host ?? '127.0.0.1'}:${options.port}`);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      for (const s of [...this.#streams.values()]) s.closedBy(undefined);
      this.#streams.clear();
    });
  }

  /** Connects and resolves once the server's SETTINGS (and with them its window) have arrived. */
  static connect(options: FrameClientOptions): Promise<FrameConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(options.port, options.host ?? '127.0.0.1', () => {
        socket.off('error', reject);
        const c = new FrameConnection(socket, options);
        const window = options.initialWindowSize ?? 4 * 1024 * 1024;
        const settings = Buffer.alloc(12);
        settings.writeUInt16BE(SETTINGS_INITIAL_WINDOW_SIZE, 0);
        settings.writeUInt32BE(window, 2);
        settings.writeUInt16BE(0x2, 6); // ENABLE_PUSH
        settings.writeUInt32BE(0, 8);
        socket.write(CLIENT_PREFACE);
        c.frame(FRAME_SETTINGS, 0, 0, settings);
        // The connection's receive window as large as it goes, once.
        if (options.grantWindow !== false) c.windowUpdate(0, MAX_WINDOW_SIZE - DEFAULT_WINDOW_SIZE);
        c.#onSettings = () => resolve(c);
        // A server that closes before its SETTINGS (not HTTP/2 here, a TLS port) refuses us.
        socket.once('close', () => reject(new Error('closed by the server before its SETTINGS')));
      });
      socket.once('error', reject);
    });
  }

  get usable(): boolean {
    return !this.closed && this.goaways.length === 0;
  }

  /** Bytes queued by all streams for want of the server's window. */
  get queuedBytes(): number {
    let n = 0;
    for (const s of this.#streams.values()) n += s.queuedBytes;
    return n;
  }

  /** Opens a `Process` stream (HEADERS, no END_STREAM). */
  open(): FrameStream {
    const id = this.#nextId;
    this.#nextId += 2;
    this.streamsOpened++;
    const s = new FrameStream(this, id, this.#peerInitialWindow);
    this.#streams.set(id, s);
    this.frame(FRAME_HEADERS, FLAG_END_HEADERS, id, this.#requestBlock);
    return s;
  }

  /** Writes one frame as given. */
  frame(type: number, flags: number, id: number, payload: Buffer = Buffer.alloc(0)): void {
    if (this.#socket.destroyed) return;
    const header = Buffer.allocUnsafe(9);
    writeFrameHeader(header, 0, payload.length, type, flags, id);
    this.#socket.write(payload.length === 0 ? header : Buffer.concat([header, payload]));
  }

  windowUpdate(id: number, increment: number): void {
    const p = Buffer.alloc(4);
    p.writeUInt32BE(increment, 0);
    this.frame(FRAME_WINDOW_UPDATE, 0, id, p);
  }

  rst(id: number, code: number): void {
    const p = Buffer.alloc(4);
    p.writeUInt32BE(code, 0);
    this.frame(FRAME_RST_STREAM, 0, id, p);
  }

  /** Stops reading the socket (the kernel buffers fill, then the server's writes back up). */
  pauseReading(): void {
    this.#socket.pause();
  }

  resumeReading(): void {
    this.#socket.resume();
  }

  close(): void {
    this.closedByUs = true;
    this.#socket.end();
  }

  destroy(): void {
    this.closedByUs = true;
    this.#socket.destroy();
  }

  waitClosed(timeoutMs: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.#socket.once('close', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  // ---- for FrameStream ----------------------------------------------------------------------

  /** Sends as much of `stream`'s queue as the windows allow. */
  pump(stream: FrameStream): void {
    while (stream.queue.length > 0) {
      const room = Math.min(stream.sendWindow, this.#connSendWindow, this.#peerMaxFrame);
      if (room <= 0) return;
      const head = stream.queue[0] as Buffer;
      const n = Math.min(head.length, room);
      const piece = head.subarray(0, n);
      if (n === head.length) stream.queue.shift();
      else stream.queue[0] = head.subarray(n);
      stream.queuedBytes -= n;
      stream.sendWindow -= n;
      this.#connSendWindow -= n;
      const last = stream.queue.length === 0 && stream.endAfterQueue;
      this.frame(FRAME_DATA, last ? FLAG_END_STREAM : 0, stream.id, piece);
    }
    if (stream.endAfterQueue && !stream.endSent) {
      stream.endSent = true;
      this.frame(FRAME_DATA, FLAG_END_STREAM, stream.id);
    }
  }

  forget(id: number): void {
    this.#streams.delete(id);
  }

  // ---- reading ------------------------------------------------------------------------------

  #onData(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    let pos = 0;
    while (this.#buf.length - pos >= 9) {
      const length = this.#buf.readUIntBE(pos, 3);
      if (this.#buf.length - pos < 9 + length) break;
      const type = this.#buf[pos + 3] as number;
      const flags = this.#buf[pos + 4] as number;
      const id = this.#buf.readUInt32BE(pos + 5) & 0x7fffffff;
      const payload = this.#buf.subarray(pos + 9, pos + 9 + length);
      pos += 9 + length;
      this.#frame(type, flags, id, payload);
    }
    this.#buf = pos === this.#buf.length ? Buffer.alloc(0) : Buffer.from(this.#buf.subarray(pos));
    if (this.#options.grantWindow !== false && this.#connRecvUnacked >= 1 << 20) {
      this.windowUpdate(0, this.#connRecvUnacked);
      this.#connRecvUnacked = 0;
    }
  }

  #frame(type: number, flags: number, id: number, payload: Buffer): void {
    switch (type) {
      case FRAME_DATA: {
        this.#connRecvUnacked += payload.length;
        const s = this.#streams.get(id);
        if (s === undefined) return;
        let body = payload;
        if ((flags & FLAG_PADDED) !== 0) body = payload.subarray(1, payload.length - (payload[0] ?? 0));
        s.data(body, payload.length, this.#options.grantWindow !== false);
        if ((flags & FLAG_END_STREAM) !== 0) s.remoteEnd();
        return;
      }
      case FRAME_HEADERS:
      case FRAME_CONTINUATION: {
        if (type === FRAME_HEADERS) this.#block = { id, flags, parts: [] };
        const block = this.#block;
        if (block === undefined) return;
        let fragment = payload;
        if (type === FRAME_HEADERS && (flags & FLAG_PADDED) !== 0) fragment = payload.subarray(1, payload.length - (payload[0] ?? 0));
        if (type === FRAME_HEADERS && (flags & 0x20) !== 0) fragment = fragment.subarray(5);
        block.parts.push(Buffer.from(fragment));
        if ((flags & FLAG_END_HEADERS) === 0) return;
        this.#block = undefined;
        this.#headers.clear();
        this.#decoder.decode(Buffer.concat(block.parts), this.#headers, 1 << 20);
        const s = this.#streams.get(block.id);
        if (s === undefined) return;
        s.headers(this.#headers);
        if ((block.flags & FLAG_END_STREAM) !== 0) s.remoteEnd();
        return;
      }
      case FRAME_RST_STREAM: {
        const s = this.#streams.get(id);
        if (s === undefined) return;
        s.closedBy(payload.readUInt32BE(0));
        return;
      }
      case FRAME_SETTINGS: {
        if ((flags & FLAG_ACK) !== 0) return;
        for (let at = 0; at + 6 <= payload.length; at += 6) {
          const key = payload.readUInt16BE(at);
          const value = payload.readUInt32BE(at + 2);
          if (key === SETTINGS_INITIAL_WINDOW_SIZE) {
            const delta = value - this.#peerInitialWindow;
            this.#peerInitialWindow = value;
            for (const s of this.#streams.values()) s.sendWindow += delta;
          } else if (key === SETTINGS_MAX_FRAME_SIZE) this.#peerMaxFrame = value;
        }
        this.frame(FRAME_SETTINGS, FLAG_ACK, 0);
        for (const s of this.#streams.values()) this.pump(s);
        // The server's first SETTINGS and its connection WINDOW_UPDATE come in one write.
        const ready = this.#onSettings;
        this.#onSettings = undefined;
        if (ready !== undefined) setImmediate(ready);
        return;
      }
      case FRAME_PING:
        if ((flags & FLAG_ACK) === 0 && this.#options.answerPings !== false) this.frame(FRAME_PING, FLAG_ACK, 0, payload);
        return;
      case FRAME_GOAWAY: {
        const g = { code: payload.readUInt32BE(4), lastStreamId: payload.readUInt32BE(0) & 0x7fffffff, at: performance.now() };
        this.goaways.push(g);
        this.onGoaway?.(g);
        return;
      }
      case FRAME_WINDOW_UPDATE: {
        const inc = payload.readUInt32BE(0) & 0x7fffffff;
        if (id === 0) {
          this.#connSendWindow += inc;
          for (const s of this.#streams.values()) if (s.queue.length > 0) this.pump(s);
        } else {
          const s = this.#streams.get(id);
          if (s === undefined) return;
          s.sendWindow += inc;
          this.pump(s);
        }
        return;
      }
      default:
        return;
    }
  }
}

/** One ext_proc stream over a FrameConnection. */
export class FrameStream extends StreamRecord {
  readonly queue: Buffer[] = [];
  queuedBytes = 0;
  endAfterQueue = false;
  endSent = false;
  #recvUnacked = 0;
  #remoteEnded = false;

  constructor(
    readonly connection: FrameConnection,
    readonly id: number,
    public sendWindow: number,
  ) {
    super();
  }

  sendFramed(bytes: Buffer): boolean {
    if (this.closed || this.halfClosed) return false;
    this.queue.push(bytes);
    this.queuedBytes += bytes.length;
    this.connection.pump(this);
    return true;
  }

  halfClose(): void {
    if (this.closed || this.halfClosed) return;
    this.halfClosed = true;
    this.endAfterQueue = true;
    this.connection.pump(this);
  }

  reset(code = CANCEL): void {
    if (this.closed) return;
    this.clientReset = true;
    this.connection.rst(this.id, code);
    this.closedBy(code);
  }

  // ---- from the connection ------------------------------------------------------------------

  data(body: Buffer, flowControlled: number, grant: boolean): void {
    this.onBody(body);
    if (!grant) return;
    this.#recvUnacked += flowControlled;
    if (this.#recvUnacked >= 256 * 1024 && !this.#remoteEnded) {
      this.connection.windowUpdate(this.id, this.#recvUnacked);
      this.#recvUnacked = 0;
    }
  }

  headers(list: HeaderList): void {
    const status = list.get(':status');
    if (status !== undefined) this.httpStatus = Number(status);
    const grpc = list.get('grpc-status');
    if (grpc !== undefined) this.onStatus(grpc, decodeURIComponent(list.get('grpc-message') ?? ''));
    this.wake();
  }

  remoteEnd(): void {
    this.#remoteEnded = true;
    // Both sides done once we have ended too; the server resets streams it ends before we do.
    if (this.halfClosed && this.queue.length === 0) this.closedBy(0);
    else this.wake();
  }

  closedBy(code: number | undefined): void {
    if (this.closed) return;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.connection.forget(this.id);
    this.onClosed(code);
  }
}

/** Several frame-level connections (ConnectionPool: round-robin over the usable ones). */
export class FramePool extends ConnectionPool<FrameStream, FrameConnection> {
  static async open(options: FrameClientOptions, size: number): Promise<FramePool> {
    const pool = new FramePool();
    await pool.connectAll(() => FrameConnection.connect(options), size);
    return pool;
  }
}
