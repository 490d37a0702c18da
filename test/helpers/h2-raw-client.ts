/**
 * A frame-level HTTP/2 client for tests: writes any frame (valid or not), records every frame the
 * server sends, answers the server's SETTINGS (and optionally PINGs) like a real client would. Used
 * to play Envoy (resets after every answer), attackers (Rapid Reset, floods) and broken peers.
 */
import { connect, type Socket } from 'node:net';
import {
  CLIENT_PREFACE,
  FLAG_ACK,
  FLAG_END_HEADERS,
  FLAG_END_STREAM,
  FRAME_DATA,
  FRAME_HEADERS,
  FRAME_PING,
  FRAME_RST_STREAM,
  FRAME_SETTINGS,
  FRAME_WINDOW_UPDATE,
  writeFrameHeader,
} from '../../src/h2/constants.js';
import { HeaderList, HpackDecoder } from '../../src/h2/hpack-decoder.js';
import { encodeHeaderBlock } from '../../src/h2/hpack-encoder.js';

export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly id: number;
  readonly payload: Buffer;
}

export class RawH2Client {
  readonly frames: Frame[] = [];
  readonly socket: Socket;
  closed = false;
  #buf: Buffer = Buffer.alloc(0);
  #waiters: (() => void)[] = [];
  readonly #decoder = new HpackDecoder(4096);
  #nextId = 1;

  private constructor(socket: Socket, private readonly options: { answerPings: boolean; ackSettings: boolean }) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number, host = '127.0.0.1', options: { answerPings?: boolean; ackSettings?: boolean; settings?: readonly [number, number][] } = {}): Promise<RawH2Client> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host, () => {
        const client = new RawH2Client(socket, { answerPings: options.answerPings ?? true, ackSettings: options.ackSettings ?? true });
        socket.write(CLIENT_PREFACE);
        client.settings(options.settings ?? []);
        resolve(client);
      });
      socket.once('error', reject);
    });
  }

  /** A fresh client stream id (odd, increasing). */
  nextStreamId(): number {
    const id = this.#nextId;
    this.#nextId += 2;
    return id;
  }

  frame(type: number, flags: number, id: number, payload: Buffer = Buffer.alloc(0)): void {
    const out = Buffer.alloc(9 + payload.length);
    writeFrameHeader(out, 0, payload.length, type, flags, id);
    payload.copy(out, 9);
    if (!this.socket.destroyed) this.socket.write(out);
  }

  settings(entries: readonly [number, number][]): void {
    const p = Buffer.alloc(entries.length * 6);
    entries.forEach(([k, v], i) => {
      p.writeUInt16BE(k, i * 6);
      p.writeUInt32BE(v, i * 6 + 2);
    });
    this.frame(FRAME_SETTINGS, 0, 0, p);
  }

  headers(id: number, fields: readonly (readonly [string, string])[], endStream = false): void {
    this.frame(FRAME_HEADERS, FLAG_END_HEADERS | (endStream ? FLAG_END_STREAM : 0), id, encodeHeaderBlock(fields));
  }

  /** gRPC request headers for `path`. */
  grpcHeaders(id: number, path: string, extra: readonly (readonly [string, string])[] = [], endStream = false): void {
    this.headers(id, [[':method', 'POST'], [':scheme', 'http'], [':path', path], [':authority', 'test'], ['content-type', 'application/grpc'], ['te', 'trailers'], ...extra], endStream);
  }

  data(id: number, payload: Buffer, endStream = false): void {
    this.frame(FRAME_DATA, endStream ? FLAG_END_STREAM : 0, id, payload);
  }

  /** One length-prefixed gRPC message as DATA. */
  grpcMessage(id: number, message: Uint8Array, endStream = false): void {
    const p = Buffer.alloc(5 + message.length);
    p.writeUInt32BE(message.length, 1);
    p.set(message, 5);
    this.data(id, p, endStream);
  }

  rst(id: number, code: number): void {
    const p = Buffer.alloc(4);
    p.writeUInt32BE(code, 0);
    this.frame(FRAME_RST_STREAM, 0, id, p);
  }

  ping(payload = Buffer.alloc(8)): void {
    this.frame(FRAME_PING, 0, 0, payload);
  }

  windowUpdate(id: number, increment: number): void {
    const p = Buffer.alloc(4);
    p.writeUInt32BE(increment, 0);
    this.frame(FRAME_WINDOW_UPDATE, 0, id, p);
  }

  /** Frames received for `id` of `type`. */
  of(type: number, id?: number): Frame[] {
    return this.frames.filter((f) => f.type === type && (id === undefined || f.id === id));
  }

  /** Decodes a HEADERS frame's block (in arrival order only: the table is stateful). */
  decodeHeaders(frame: Frame): Map<string, string> {
    const list = new HeaderList();
    this.#decoder.decode(frame.payload, list, 1 << 20);
    const out = new Map<string, string>();
    for (let i = 0; i < list.count; i++) out.set(list.names[i] as string, list.values[i] as string);
    return out;
  }

  /** Resolves when `predicate` holds (checked on every frame and on close), or rejects after `timeoutMs`. */
  until(predicate: (c: RawH2Client) => boolean, timeoutMs = 5000): Promise<void> {
    if (predicate(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`condition not met within ${timeoutMs} ms (${this.frames.length} frames, closed=${String(this.closed)})`)), timeoutMs);
      const check = (): void => {
        if (predicate(this)) {
          clearTimeout(timer);
          resolve();
        } else {
          this.#waiters.push(check);
        }
      };
      this.#waiters.push(check);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    while (this.#buf.length >= 9) {
      const length = this.#buf.readUIntBE(0, 3);
      if (this.#buf.length < 9 + length) break;
      const frame: Frame = { type: this.#buf[3] as number, flags: this.#buf[4] as number, id: this.#buf.readUInt32BE(5) & 0x7fffffff, payload: Buffer.from(this.#buf.subarray(9, 9 + length)) };
      this.#buf = this.#buf.subarray(9 + length);
      this.frames.push(frame);
      if (frame.type === FRAME_SETTINGS && (frame.flags & FLAG_ACK) === 0 && this.options.ackSettings) this.frame(FRAME_SETTINGS, FLAG_ACK, 0);
      if (frame.type === FRAME_PING && (frame.flags & FLAG_ACK) === 0 && this.options.answerPings) this.frame(FRAME_PING, FLAG_ACK, 0, frame.payload);
    }
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
