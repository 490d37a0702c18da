/**
 * The server side of one HTTP/2 connection (RFC 9113), written for a gRPC server whose one client is
 * a proxy such as Envoy: frames are parsed straight from the socket's reads (DATA payloads stream to
 * the stream's handler without being reassembled), responses are batched into one socket write per
 * read, and everything a peer can make the server do for free is bounded:
 *
 * - **Resets.** Envoy ends every ext_proc stream with RST_STREAM even on success, so resets of
 *   streams the server has answered, or that lived longer than `earlyResetWindowMs`, cost nothing.
 *   Only resets of young unanswered streams — the Rapid Reset attack (CVE-2023-44487) — draw on a
 *   token bucket; an empty bucket ends the connection with GOAWAY(ENHANCE_YOUR_CALM).
 * - **Pings, SETTINGS and "glitches"** (empty DATA, PRIORITY, frames for closed streams) draw on
 *   their own buckets. Frames the peer had in flight for a stream the server ended or refused while
 *   the peer was still sending (an early 413, a REFUSED_STREAM) are the RFC 9113 §5.1 race, not
 *   glitches: up to that stream's receive window they are dropped for free.
 * - **Header blocks** are capped compressed and decoded; **streams** beyond
 *   `maxConcurrentStreams` are refused (REFUSED_STREAM); **memory** held for a slow reader is bounded:
 *   a stream whose unsent output passes `streamOutputHighWater` gets no more receive window, and the
 *   socket is not read while its write queue is above `socketHighWater`.
 * - **Dead peers** are found by keepalive pings; a connection closes with a reason the server logs.
 */
import type { Socket } from 'node:net';
import {
  CANCEL,
  CLIENT_PREFACE,
  COMPRESSION_ERROR,
  DEFAULT_HEADER_TABLE_SIZE,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW_SIZE,
  ENHANCE_YOUR_CALM,
  FLAG_ACK,
  FLAG_END_HEADERS,
  FLAG_END_STREAM,
  FLAG_PADDED,
  FLAG_PRIORITY,
  FLOW_CONTROL_ERROR,
  FRAME_CONTINUATION,
  FRAME_DATA,
  FRAME_GOAWAY,
  FRAME_HEADER_BYTES,
  FRAME_HEADERS,
  FRAME_PING,
  FRAME_PRIORITY,
  FRAME_PUSH_PROMISE,
  FRAME_RST_STREAM,
  FRAME_SETTINGS,
  FRAME_SIZE_ERROR,
  FRAME_WINDOW_UPDATE,
  INTERNAL_ERROR,
  MAX_FRAME_SIZE_LIMIT,
  MAX_STREAM_ID,
  MAX_WINDOW_SIZE,
  NO_ERROR,
  PROTOCOL_ERROR,
  REFUSED_STREAM,
  SETTINGS_ENABLE_PUSH,
  SETTINGS_HEADER_TABLE_SIZE,
  SETTINGS_INITIAL_WINDOW_SIZE,
  SETTINGS_MAX_CONCURRENT_STREAMS,
  SETTINGS_MAX_FRAME_SIZE,
  SETTINGS_MAX_HEADER_LIST_SIZE,
  SETTINGS_TIMEOUT,
  STREAM_CLOSED,
  errorCodeName,
  writeFrameHeader,
} from './constants.js';
import { H2Stream } from './h2-stream.js';
import { HeaderList, HpackDecoder, HpackError } from './hpack-decoder.js';
import { OutputBuffer } from './output-buffer.js';
import { TokenBucket } from './token-bucket.js';

/** What the server allows a peer; every field bounds something a client controls. */
export interface H2Limits {
  /** Advertised; streams beyond it are refused. */
  readonly maxConcurrentStreams: number;
  /** Advertised receive window of each stream. */
  readonly initialWindowSize: number;
  /** Receive window of the connection (raised from 65,535 at start). */
  readonly connectionWindowSize: number;
  /** Advertised: the largest frame payload accepted. */
  readonly maxFrameSize: number;
  /** Advertised: a decoded header list larger than this is answered 431. */
  readonly maxHeaderListSize: number;
  /** A compressed header block (HEADERS + CONTINUATION) larger than this ends the connection. */
  readonly maxHeaderBlockBytes: number;
  /** Unsent output a stream may hold before its receive window stops being replenished. */
  readonly streamOutputHighWater: number;
  /** Socket write queue above which the socket is not read. */
  readonly socketHighWater: number;
  /**
   * Output waiting for the peer's flow-control window, over all streams, above which new streams
   * are refused (REFUSED_STREAM): a peer that stops granting window cannot make us hold more.
   */
  readonly blockedOutputHighWater: number;
  /** Resets of unanswered streams younger than this draw on the reset bucket. */
  readonly earlyResetWindowMs: number;
  readonly resetBurst: number;
  readonly resetRatePerSecond: number;
  readonly pingBurst: number;
  readonly pingRatePerSecond: number;
  readonly settingsBurst: number;
  readonly settingsRatePerSecond: number;
  readonly glitchBurst: number;
  readonly glitchRatePerSecond: number;
  /** Idle time before a keepalive PING; 0 = none. */
  readonly keepaliveTimeMs: number;
  /** A PING unanswered this long closes the connection. */
  readonly keepaliveTimeoutMs: number;
  /** Our SETTINGS unacknowledged this long ends the connection (SETTINGS_TIMEOUT). */
  readonly settingsTimeoutMs: number;
}

export const DEFAULT_H2_LIMITS: H2Limits = {
  maxConcurrentStreams: 10_000,
  initialWindowSize: 1024 * 1024,
  connectionWindowSize: 16 * 1024 * 1024,
  maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
  maxHeaderListSize: 64 * 1024,
  maxHeaderBlockBytes: 256 * 1024,
  streamOutputHighWater: 1024 * 1024,
  socketHighWater: 4 * 1024 * 1024,
  blockedOutputHighWater: 16 * 1024 * 1024,
  earlyResetWindowMs: 1000,
  resetBurst: 1000,
  resetRatePerSecond: 100,
  pingBurst: 1000,
  pingRatePerSecond: 100,
  settingsBurst: 100,
  settingsRatePerSecond: 10,
  glitchBurst: 1000,
  glitchRatePerSecond: 100,
  keepaliveTimeMs: 30_000,
  keepaliveTimeoutMs: 10_000,
  settingsTimeoutMs: 10_000,
};

/** Timers, injected so tests drive keepalive and timeouts with fake timers. */
export interface H2Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Receives each new request stream; sets `stream.handler` or answers/resets the stream itself. */
export interface H2RequestListener {
  onRequest(stream: H2Stream, headers: HeaderList, endStream: boolean): void;
}

/** How a connection ended, for logs and counters. */
export interface H2CloseInfo {
  /** Short, stable reason: `peer-closed`, `peer-goaway`, `drained`, `protocol-error`, `rapid-reset`, … */
  readonly reason: string;
  /** Human-readable detail (the protocol violation, the error). */
  readonly detail: string;
  /** True for closes that are part of normal operation. */
  readonly normal: boolean;
  readonly streams: number;
  readonly durationMs: number;
}

const STATUS_431_BLOCK = Buffer.from([0x08, 0x03, 0x34, 0x33, 0x31]); // ":status: 431" literal, static name 8
const DRAIN_PING = Buffer.from('epp-gway');
const EMPTY = Buffer.alloc(0);
const KEEPALIVE_PING = Buffer.from('epp-kalv');
/** Streams remembered as closed early (a peer has far fewer in flight: they end within a round trip). */
const CLOSED_EARLY_MAX = 4096;

export class H2Connection {
  readonly #socket: Socket;
  readonly #limits: H2Limits;
  readonly #listener: H2RequestListener;
  readonly #timers: H2Timers;
  readonly #onClose: (info: H2CloseInfo) => void;
  readonly #openedAt: number;

  readonly #streams = new Map<number, H2Stream>();
  #lastStreamId = 0;
  #streamsServed = 0;
  #streamsRefused = 0;

  #prefaceLeft = CLIENT_PREFACE.length;
  #settingsSeen = false;
  #pending: Buffer | undefined;
  // A DATA frame being streamed to its stream's handler.
  #dataLeft = 0;
  #dataLength = 0;
  #dataPad = -1; // −1: the pad-length byte has not been read yet (PADDED frames)
  #dataFlags = 0;
  #dataStream: H2Stream | undefined;
  // A header block being assembled from HEADERS + CONTINUATION.
  #blockStreamId = 0;
  #blockFlags = 0;
  #blockParts: Buffer[] = [];
  #blockBytes = 0;

  readonly #decoder: HpackDecoder;
  readonly #headers = new HeaderList();
  readonly #out = new OutputBuffer();
  #flushScheduled = false;
  #inRead = false;
  #readPaused = false;

  #peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  #peerInitialWindow = DEFAULT_WINDOW_SIZE;
  #connSendWindow = DEFAULT_WINDOW_SIZE;
  #connRecvWindow = DEFAULT_WINDOW_SIZE;
  #connRecvUnacked = 0;
  /**
   * Streams the server closed while the peer could still be sending, with how many DATA bytes the peer
   * may still have in flight for each (its receive window then). Oldest first; bounded.
   */
  readonly #closedEarly = new Map<number, number>();
  /** Streams holding DATA that waits for window, and how many bytes they hold. */
  readonly #blocked = new Set<H2Stream>();
  #blockedBytes = 0;

  readonly #resetBucket: TokenBucket;
  readonly #pingBucket: TokenBucket;
  readonly #settingsBucket: TokenBucket;
  readonly #glitchBucket: TokenBucket;

  /** Last stream id we promised to process (set by a final GOAWAY). */
  #goawayLastId = MAX_STREAM_ID;
  #draining = false;
  #peerGoaway = false;
  #closing = false;
  #closed = false;
  #closeInfo: { reason: string; detail: string; normal: boolean } | undefined;

  #keepaliveTimer: unknown;
  #keepaliveTimeout: unknown;
  #settingsTimer: unknown;
  #drainTimer: unknown;
  #destroyTimer: unknown;
  #lastReadAt: number;

  constructor(socket: Socket, options: { limits: H2Limits; listener: H2RequestListener; timers: H2Timers; onClose: (info: H2CloseInfo) => void }) {
    this.#socket = socket;
    this.#limits = options.limits;
    this.#listener = options.listener;
    this.#timers = options.timers;
    this.#onClose = options.onClose;
    const now = (): number => options.timers.now();
    this.#openedAt = now();
    this.#lastReadAt = this.#openedAt;
    const l = this.#limits;
    this.#resetBucket = new TokenBucket(l.resetBurst, l.resetRatePerSecond, now);
    this.#pingBucket = new TokenBucket(l.pingBurst, l.pingRatePerSecond, now);
    this.#settingsBucket = new TokenBucket(l.settingsBurst, l.settingsRatePerSecond, now);
    this.#glitchBucket = new TokenBucket(l.glitchBurst, l.glitchRatePerSecond, now);
    this.#decoder = new HpackDecoder(DEFAULT_HEADER_TABLE_SIZE);

    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onRead(chunk));
    socket.on('drain', () => this.#onSocketDrain());
    socket.on('end', () => this.#onPeerEnd());
    socket.on('error', (err: Error) => this.#destroy('socket-error', err.message, false));
    socket.on('close', () => this.#onSocketClose());

    this.#sendSettings();
    this.#armKeepalive();
    this.#settingsTimer = this.#timers.setTimeout(() => this.#connectionError(SETTINGS_TIMEOUT, 'settings-timeout', 'SETTINGS not acknowledged'), l.settingsTimeoutMs);
  }

  /** Live streams. */
  get activeStreams(): number {
    return this.#streams.size;
  }

  /** Streams opened over the connection's life. */
  get streamsServed(): number {
    return this.#streamsServed;
  }

  /** Streams refused (REFUSED_STREAM): over the concurrency or output limits, or after GOAWAY. */
  get streamsRefused(): number {
    return this.#streamsRefused;
  }

  /** True while the socket is not read because the peer is not taking what we send. */
  get readPaused(): boolean {
    return this.#readPaused;
  }

  /** Bytes held for sending: the socket's queue and DATA waiting for window. */
  get bufferedBytes(): number {
    return this.#socket.writableLength + this.#out.length + this.#blockedBytes;
  }

  /** `drain` listeners on the socket (diagnostics: backpressure must not add one per write). */
  get drainListeners(): number {
    return this.#socket.listenerCount('drain');
  }

  /** The peer's address, for logs. */
  get peer(): string {
    return `${this.#socket.remoteAddress ?? '?'}:${this.#socket.remotePort ?? '?'}`;
  }

  /**
   * Graceful shutdown: GOAWAY announcing the end, then (after one PING round trip) the final GOAWAY
   * naming the last stream processed; live streams finish; the socket closes when none is left.
   */
  drain(): void {
    if (this.#closing || this.#draining) return;
    this.#draining = true;
    this.#writeGoaway(MAX_STREAM_ID, NO_ERROR, '');
    this.#writePing(DRAIN_PING, false);
    this.#drainTimer = this.#timers.setTimeout(() => this.#finalGoaway(), 1000);
    this.#scheduleFlush();
  }

  /** Closes at once: GOAWAY(code), every live stream aborted. */
  close(code = NO_ERROR, reason = 'server-closed', detail = ''): void {
    this.#connectionError(code, reason, detail, code === NO_ERROR);
  }

  // ---- reading ------------------------------------------------------------------------------

  #onRead(chunk: Buffer): void {
    if (this.#closing) return;
    this.#inRead = true;
    this.#lastReadAt = this.#timers.now();
    try {
      this.#consume(chunk);
    } catch (err) {
      // A handler above threw past its own guard, or a bug here: this connection alone ends.
      this.#connectionError(INTERNAL_ERROR, 'internal-error', err instanceof Error ? err.message : String(err), false);
    } finally {
      this.#inRead = false;
      this.#flush();
    }
  }

  #consume(chunk: Buffer): void {
    let buf = chunk;
    let pos = 0;
    if (this.#pending !== undefined) {
      buf = Buffer.concat([this.#pending, chunk]);
      this.#pending = undefined;
    }
    if (this.#prefaceLeft > 0) {
      const offset = CLIENT_PREFACE.length - this.#prefaceLeft;
      const n = Math.min(this.#prefaceLeft, buf.length);
      if (buf.compare(CLIENT_PREFACE, offset, offset + n, 0, n) !== 0) {
        this.#destroy('not-http2', 'the client did not send the HTTP/2 preface', false);
        return;
      }
      this.#prefaceLeft -= n;
      pos = n;
    }
    const maxFrame = this.#limits.maxFrameSize;
    while (pos < buf.length && !this.#closing) {
      if (this.#out.length + this.#socket.writableLength > this.#limits.socketHighWater) {
        // The answers to this read outgrow what the peer is taking: send them, and if the socket is
        // still backed up, keep the rest of the read until it drains (one read can hold many requests).
        this.#flush();
        if (this.#readPaused) {
          this.#pending = Buffer.from(buf.subarray(pos));
          return;
        }
      }
      if (this.#dataLeft > 0) {
        pos = this.#consumeData(buf, pos);
        continue;
      }
      if (buf.length - pos < FRAME_HEADER_BYTES) {
        this.#pending = Buffer.from(buf.subarray(pos));
        return;
      }
      const length = ((buf[pos] as number) << 16) | ((buf[pos + 1] as number) << 8) | (buf[pos + 2] as number);
      const type = buf[pos + 3] as number;
      const flags = buf[pos + 4] as number;
      const id = buf.readUInt32BE(pos + 5) & MAX_STREAM_ID;
      if (length > maxFrame) return this.#connectionError(FRAME_SIZE_ERROR, 'protocol-error', `frame of ${length} bytes exceeds the advertised ${maxFrame}`);
      if (!this.#settingsSeen && type !== FRAME_SETTINGS) return this.#connectionError(PROTOCOL_ERROR, 'protocol-error', 'first frame is not SETTINGS');
      if (this.#blockStreamId !== 0 && type !== FRAME_CONTINUATION) return this.#connectionError(PROTOCOL_ERROR, 'protocol-error', 'header block interrupted');
      if (type === FRAME_DATA) {
        pos += FRAME_HEADER_BYTES;
        this.#startData(length, flags, id);
        continue;
      }
      if (buf.length - pos - FRAME_HEADER_BYTES < length) {
        // Keep the partial frame (a copy: the read buffer may be large and is otherwise done with).
        this.#pending = Buffer.from(buf.subarray(pos));
        return;
      }
      const payload = buf.subarray(pos + FRAME_HEADER_BYTES, pos + FRAME_HEADER_BYTES + length);
      pos += FRAME_HEADER_BYTES + length;
      this.#frame(type, flags, id, payload);
    }
  }

  #frame(type: number, flags: number, id: number, payload: Buffer): void {
    switch (type) {
      case FRAME_HEADERS:
        return this.#onHeaders(flags, id, payload);
      case FRAME_CONTINUATION:
        return this.#onContinuation(flags, id, payload);
      case FRAME_RST_STREAM:
        return this.#onReset(id, payload);
      case FRAME_SETTINGS:
        return this.#onSettings(flags, id, payload);
      case FRAME_PING:
        return this.#onPing(flags, id, payload);
      case FRAME_GOAWAY:
        return this.#onGoaway(id, payload);
      case FRAME_WINDOW_UPDATE:
        return this.#onWindowUpdate(id, payload);
      case FRAME_PRIORITY:
        if (id === 0) return this.#connectionError(PROTOCOL_ERROR, 'protocol-error', 'PRIORITY on stream 0');
        if (payload.length !== 5) return this.#streamError(id, FRAME_SIZE_ERROR);
        return this.#glitch('PRIORITY frames');
      case FRAME_PUSH_PROMISE:
        return this.#connectionError(PROTOCOL_ERROR, 'protocol-error', 'PUSH_PROMISE from a client');
      default:
        // Unknown frame types are ignored (RFC 9113 §5.5).
        return;
    }
  }

  // ---- DATA ---------------------------------------------------------------------------------

  #startData(length: number, flags: number, id: number): void {
    if (id === 0) return this.#connectionError(PROTOCOL_ERROR, 'protocol-error', 'DATA on stream 0');
    if (length > this.#connRecvWindow) return this.#connectionError(FLOW_CONTROL_ERROR, 'protocol-error', 'DATA beyond the connection window');
    this.#connRecvWindow -= length;
    this.#connRecvUnacked += length;
    let stream = this.#streams.get(id);
    if (stream === undefined) {
      if (id > this.#lastStreamId) return this.#connectionError(PROTOCOL_ERROR, 'protocol-error', 'DATA on an idle stream');
      const inFlight = this.#closedEarly.get(id);
      if (inFlight !== undefined && length <= inFlight) {
        if ((flags & FLAG_END_STREAM) !== 0) this.#closedEarly.delete(id);
        else this.#closedEarly.set(id, inFlight - length);
      } else this.#glitch('DATA on closed streams');
    } else if (stream.remoteClosed) {
      this.#streamError(id, STREAM_CLOSED);
      stream = undefined;
    } else if (length > stream.recvWindow) {
      this.#streamError(id, FLOW_CONTROL_ERROR);
      stream = undefined;
    } else {
      stream.recvWindow -= length;
    }
    if (length === 0 && (flags & FLAG_END_STREAM) === 0) this.#glitch('empty DATA frames');
    if ((flags & FLAG_PADDED) !== 0 && length === 0) return this.#connectionError(PROTOCOL_ERROR, 'protocol-error', 'padded DATA without a pad length');
    this.#dataStream = stream;
    this.#dataLength = length;
    this.#dataLeft = length;
    this.#dataFlags = flags;
    this.#dataPad = (flags & FLAG_PADDED) !== 0 ? -1 : 0;
    if (length === 0) this.#endData();
  }

  /** Streams the next piece of the current DATA frame; returns the new read position. */
  #consumeData(buf: Buffer, pos: number): number {
    if (this.#dataPad < 0) {
      this.#dataPad = buf[pos] as number;
      pos++;
      this.#dataLeft--;
      if (this.#dataPad > this.#dataLeft) {
        this.#connectionError(PROTOCOL_ERROR, 'protocol-error', 'DATA padding exceeds the frame');
        return buf.length;
      }
      if (this.#dataLeft === 0) {
        this.#endData();
        return pos;
      }
    }
    const take = Math.min(buf.length - pos, this.#dataLeft);
    const content = Math.min(take, this.#dataLeft - this.#dataPad);
    const stream = this.#dataStream;
    if (content > 0 && stream !== undefined && !stream.closed && !stream.remoteClosed) stream.handler.onData(buf.subarray(pos, pos + content));
    this.#dataLeft -= take;
    pos += take;
    if (this.#dataLeft === 0) this.#endData();
    return pos;
  }

  #endData(): void {
    const stream = this.#dataStream;
    this.#dataStream = undefined;
    if (stream !== undefined && !stream.closed) {
      stream.recvUnacked += this.#dataLength;
      if ((this.#dataFlags & FLAG_END_STREAM) !== 0) {
        stream.remoteClosed = true;
        stream.handler.onEnd();
        if (stream.localClosed && stream.drained) this.#forget(stream);
      } else {
        this.#replenishStream(stream);
      }
    }
    this.#replenishConnection();
  }

  #replenishStream(stream: H2Stream): void {
    const half = this.#limits.initialWindowSize / 2;
    if (stream.recvUnacked < half || stream.remoteClosed || stream.closed) return;
    if (stream.queuedBytes > this.#limits.streamOutputHighWater) return; // the peer is not reading: stop its input
    this.#writeWindowUpdate(stream.id, stream.recvUnacked);
    stream.recvWindow += stream.recvUnacked;
    stream.recvUnacked = 0;
  }

  #replenishConnection(): void {
    if (this.#connRecvUnacked < this.#limits.connectionWindowSize / 2) return;
    this.#writeWindowUpdate(0, this.#connRecvUnacked);
    this.#connRecvWindow += this.#connRecvUnacked;
    this.#connRecvUnacked = 0;
  }

  // ---- HEADERS ------------------------------------------------------------------------------

  #onHeaders(flags: number, id: number, payload: Buffer): void {
    if (id === 0) return this.#connectionError(PROTOCOL_ERROR, 'protocol-error', 'HEADERS on stream 0');
    if ((id & 1) === 0) return this.#connectionError(PROTOCOL_ERROR, 'protocol-error', 'HEADERS on an even (server-initiated) stream id');
    let start = 0;
    let end = payload.length;
    if ((flags & FLAG_PADDED) !== 0) {
      if (payload.length < 1) return this.#connectionError(PROTOCOL_ERROR, 'protocol-error', 'padded HEADERS without a pad length');
      const pad = payload[0] as number;
      start = 1;
      end -= pad;
    }
    if ((flags & FLAG_PRIORITY) !== 0) start += 5;
    if (start > end) return this.#connectionError(PROTOCOL_ERROR, 'protocol-error', 'HEADERS padding exceeds the frame');
    const fragment = payload.subarray(start, end);
    if ((flags & FLAG_END_HEADERS) !== 0) {
      this.#headerBlock(id, flags, fragment);
      return;
    }
    this.#blockStreamId = id;
    this.#blockFlags = flags;
    this.#blockParts = [Buffer.from(fragment)];
    this.#blockBytes = fragment.length;
    if (this.#blockBytes > this.#limits.maxHeaderBlockBytes) this.#connectionError(ENHANCE_YOUR_CALM, 'header-flood', 'header block too large');
  }

  #onContinuation(flags: number, id: number, payload: Buffer): void {
    if (this.#blockStreamId === 0 || id !== this.#blockStreamId) return this.#connectionError(PROTOCOL_ERROR, 'protocol-error', 'unexpected CONTINUATION');
    this.#blockBytes += payload.length;
    if (this.#blockBytes > this.#limits.maxHeaderBlockBytes) return this.#connectionError(ENHANCE_YOUR_CALM, 'header-flood', 'header block too large (CONTINUATION flood)');
    if (payload.length === 0 && (flags & FLAG_END_HEADERS) === 0) this.#glitch('empty CONTINUATION frames');
    this.#blockParts.push(Buffer.from(payload));
    if ((flags & FLAG_END_HEADERS) === 0) return;
    const block = Buffer.concat(this.#blockParts, this.#blockBytes);
    const blockFlags = this.#blockFlags;
    this.#blockStreamId = 0;
    this.#blockParts = [];
    this.#blockBytes = 0;
    this.#headerBlock(id, blockFlags, block);
  }

  #headerBlock(id: number, flags: number, block: Buffer): void {
    const headers = this.#headers;
    try {
      // Always decoded, even for a stream about to be refused: the table must track the peer's.
      this.#decoder.decode(block, headers, this.#limits.maxHeaderListSize);
    } catch (err) {
      if (err instanceof HpackError) return this.#connectionError(COMPRESSION_ERROR, 'protocol-error', `HPACK: ${err.message}`);
      throw err;
    }
    const endStream = (flags & FLAG_END_STREAM) !== 0;
    const existing = this.#streams.get(id);
    if (existing !== undefined) {
      // Trailers: they must end the stream.
      if (existing.remoteClosed) return this.#streamError(id, STREAM_CLOSED);
      if (!endStream) return this.#streamError(id, PROTOCOL_ERROR);
      existing.remoteClosed = true;
      existing.handler.onEnd();
      if (existing.localClosed && existing.drained) this.#forget(existing);
      return;
    }
    if (id <= this.#lastStreamId) {
      // A stream we already closed: trailers the peer sent before it saw our end are expected.
      if (!this.#closedEarly.delete(id)) this.#glitch('HEADERS on closed streams');
      return;
    }
    this.#lastStreamId = id;
    if (id > this.#goawayLastId || this.#closing || this.#streams.size >= this.#limits.maxConcurrentStreams || this.#blockedBytes > this.#limits.blockedOutputHighWater) {
      this.#streamsRefused++;
      this.#writeReset(id, REFUSED_STREAM);
      if (!endStream) this.#rememberClosedEarly(id, this.#limits.initialWindowSize);
      return;
    }
    const stream = new H2Stream(id, this, this.#peerInitialWindow, this.#limits.initialWindowSize, this.#timers.now());
    this.#streams.set(id, stream);
    this.#streamsServed++;
    if (endStream) stream.remoteClosed = true;
    if (headers.tooLarge) {
      stream.sendHeaders(STATUS_431_BLOCK, true);
      return;
    }
    this.#listener.onRequest(stream, headers, endStream);
  }

  // ---- control frames -----------------------------------------------------------------------

  #onReset(id: number, payload: Buffer): void {
    if (payload.length !== 4) return this.#connectionError(FRAME_SIZE_ERROR, 'protocol-error', 'RST_STREAM of the wrong size');
    if (id === 0) return this.#connectionError(PROTOCOL_ERROR, 'protocol-error', 'RST_STREAM on stream 0');
    if (id > this.#lastStreamId) return this.#connectionError(PROTOCOL_ERROR, 'protocol-error', 'RST_STREAM on an idle stream');
    const stream = this.#streams.get(id);
    if (stream === undefined) {
      this.#closedEarly.delete(id);
      return; // already closed on our side: the normal end of an answered stream
    }
    stream.remoteClosed = true; // the peer sends nothing more on it
    const code = payload.readUInt32BE(0);
    // Free when the stream was answered or lived a while (Envoy resets every stream when done);
    // a young unanswered stream reset is what a Rapid Reset attack is made of.
    if (!stream.responded && this.#timers.now() - stream.openedAt < this.#limits.earlyResetWindowMs && !this.#resetBucket.take()) {
      this.#forget(stream);
      stream.handler.onAbort('reset', code);
      return this.#connectionError(ENHANCE_YOUR_CALM, 'rapid-reset', 'too many resets of unanswered streams');
    }
    this.#forget(stream);
    stream.handler.onAbort('reset', code);
  }

  #onSettings(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) return this.#connectionError(PROTOCOL_ERROR, 'protocol-error', 'SETTINGS on a stream');
    if ((flags & FLAG_ACK) !== 0) {
      if (payload.length !== 0) return this.#connectionError(FRAME_SIZE_ERROR, 'protocol-error', 'SETTINGS ACK with a payload');
      if (this.#settingsTimer !== undefined) {
        this.#timers.clearTimeout(this.#settingsTimer);
        this.#settingsTimer = undefined;
      }
      return;
    }
    if (payload.length % 6 !== 0) return this.#connectionError(FRAME_SIZE_ERROR, 'protocol-error', 'SETTINGS of the wrong size');
    if (this.#settingsSeen && !this.#settingsBucket.take()) return this.#connectionError(ENHANCE_YOUR_CALM, 'settings-flood', 'too many SETTINGS frames');
    this.#settingsSeen = true;
    for (let at = 0; at < payload.length; at += 6) {
      const key = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      switch (key) {
        case SETTINGS_ENABLE_PUSH:
          if (value > 1) return this.#connectionError(PROTOCOL_ERROR, 'protocol-error', 'invalid ENABLE_PUSH');
          break;
        case SETTINGS_INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW_SIZE) return this.#connectionError(FLOW_CONTROL_ERROR, 'protocol-error', 'INITIAL_WINDOW_SIZE too large');
          const delta = value - this.#peerInitialWindow;
          this.#peerInitialWindow = value;
          for (const s of this.#streams.values()) {
            s.sendWindow += delta;
            if (s.sendWindow > MAX_WINDOW_SIZE) return this.#connectionError(FLOW_CONTROL_ERROR, 'protocol-error', 'stream window overflow');
          }
          break;
        }
        case SETTINGS_MAX_FRAME_SIZE:
          if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_FRAME_SIZE_LIMIT) return this.#connectionError(PROTOCOL_ERROR, 'protocol-error', 'invalid MAX_FRAME_SIZE');
          this.#peerMaxFrameSize = value;
          break;
        default:
          // HEADER_TABLE_SIZE: our encoder never indexes, so any size suits it; the rest are advisory.
          break;
      }
    }
    const at = this.#out.reserve(FRAME_HEADER_BYTES);
    writeFrameHeader(this.#out.slab, at, 0, FRAME_SETTINGS, FLAG_ACK, 0);
    this.#pumpBlocked();
    this.#scheduleFlush();
  }

  #onPing(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) return this.#connectionError(PROTOCOL_ERROR, 'protocol-error', 'PING on a stream');
    if (payload.length !== 8) return this.#connectionError(FRAME_SIZE_ERROR, 'protocol-error', 'PING of the wrong size');
    if ((flags & FLAG_ACK) !== 0) {
      if (payload.equals(KEEPALIVE_PING) && this.#keepaliveTimeout !== undefined) {
        this.#timers.clearTimeout(this.#keepaliveTimeout);
        this.#keepaliveTimeout = undefined;
      } else if (payload.equals(DRAIN_PING) && this.#draining) {
        this.#finalGoaway();
      }
      return;
    }
    if (!this.#pingBucket.take()) return this.#connectionError(ENHANCE_YOUR_CALM, 'ping-flood', 'too many PING frames');
    this.#writePing(payload, true);
    this.#scheduleFlush();
  }

  #onGoaway(id: number, payload: Buffer): void {
    if (id !== 0) return this.#connectionError(PROTOCOL_ERROR, 'protocol-error', 'GOAWAY on a stream');
    if (payload.length < 8) return this.#connectionError(FRAME_SIZE_ERROR, 'protocol-error', 'GOAWAY too short');
    this.#peerGoaway = true;
    const code = payload.readUInt32BE(4);
    if (this.#streams.size === 0) this.#finish('peer-goaway', `peer sent GOAWAY(${errorCodeName(code)})`, code === NO_ERROR);
  }

  #onWindowUpdate(id: number, payload: Buffer): void {
    if (payload.length !== 4) return this.#connectionError(FRAME_SIZE_ERROR, 'protocol-error', 'WINDOW_UPDATE of the wrong size');
    const increment = payload.readUInt32BE(0) & MAX_WINDOW_SIZE;
    if (id === 0) {
      if (increment === 0) return this.#connectionError(PROTOCOL_ERROR, 'protocol-error', 'WINDOW_UPDATE of 0');
      this.#connSendWindow += increment;
      if (this.#connSendWindow > MAX_WINDOW_SIZE) return this.#connectionError(FLOW_CONTROL_ERROR, 'protocol-error', 'connection window overflow');
      this.#pumpBlocked();
      return;
    }
    const stream = this.#streams.get(id);
    if (stream === undefined) {
      if (id > this.#lastStreamId) return this.#connectionError(PROTOCOL_ERROR, 'protocol-error', 'WINDOW_UPDATE on an idle stream');
      return;
    }
    if (increment === 0) return this.#streamError(id, PROTOCOL_ERROR);
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW_SIZE) return this.#streamError(id, FLOW_CONTROL_ERROR);
    if (stream.queue !== undefined) this.#pump(stream);
  }

  // ---- writing (called by H2Stream) ---------------------------------------------------------

  /** HEADERS (+ CONTINUATION) for `stream`. */
  writeHeaders(stream: H2Stream, block: Buffer, endStream: boolean): void {
    this.#writeHeaderFrames(stream.id, block, endStream);
    if (endStream) {
      stream.localClosed = true;
      this.#afterLocalEnd(stream);
    }
    this.#scheduleFlush();
  }

  /** DATA for `stream`: sent now as far as the windows allow, the rest queued in order. */
  writeData(stream: H2Stream, prefix: Buffer | undefined, payload: Buffer | undefined): void {
    const a = prefix?.length ?? 0;
    const b = payload?.length ?? 0;
    if (a + b === 0) return;
    if (stream.queue === undefined && Math.min(stream.sendWindow, this.#connSendWindow) >= a + b) {
      this.#emitData(stream, prefix, a, payload, b);
    } else {
      const queue = (stream.queue ??= []);
      // The prefix may be the caller's scratch buffer: queue a copy.
      if (prefix !== undefined && a > 0) queue.push(Buffer.from(prefix));
      if (payload !== undefined && b > 0) queue.push(payload);
      stream.queuedBytes += a + b;
      this.#blockedBytes += a + b;
      this.#blocked.add(stream);
      this.#pump(stream);
    }
    this.#scheduleFlush();
  }

  /** Trailers (END_STREAM) after whatever DATA is queued. */
  writeTrailers(stream: H2Stream, block: Buffer): void {
    if (stream.queue !== undefined) {
      stream.pendingTrailers = block;
      return;
    }
    this.#writeHeaderFrames(stream.id, block, true);
    this.#afterLocalEnd(stream);
    this.#scheduleFlush();
  }

  resetStream(stream: H2Stream, code: number): void {
    this.#writeReset(stream.id, code);
    this.#forget(stream);
    this.#scheduleFlush();
  }

  /** Our side is done: the stream closes now if the peer's is too, else we reset it (NO_ERROR). */
  #afterLocalEnd(stream: H2Stream): void {
    if (!stream.remoteClosed) this.#writeReset(stream.id, NO_ERROR);
    this.#forget(stream);
  }

  #emitData(stream: H2Stream, a: Buffer | undefined, aLen: number, b: Buffer | undefined, bLen: number): void {
    const total = aLen + bLen;
    stream.sendWindow -= total;
    this.#connSendWindow -= total;
    const max = this.#peerMaxFrameSize;
    const out = this.#out;
    let aPos = 0;
    let bPos = 0;
    let left = total;
    while (left > 0) {
      const n = Math.min(left, max);
      const at = out.reserve(FRAME_HEADER_BYTES);
      writeFrameHeader(out.slab, at, n, FRAME_DATA, 0, stream.id);
      let need = n;
      if (a !== undefined && aPos < aLen) {
        const take = Math.min(need, aLen - aPos);
        out.append(a, aPos, aPos + take);
        aPos += take;
        need -= take;
      }
      if (need > 0 && b !== undefined) {
        out.append(b, bPos, bPos + need);
        bPos += need;
      }
      left -= n;
    }
  }

  /** Sends what the windows allow of `stream`'s queue, then its trailers when the queue is empty. */
  #pump(stream: H2Stream): void {
    const queue = stream.queue;
    if (queue === undefined) return;
    while (queue.length > 0) {
      const room = Math.min(stream.sendWindow, this.#connSendWindow);
      if (room <= 0) return;
      const head = queue[0] as Buffer;
      const n = Math.min(head.length, room);
      if (n === head.length) queue.shift();
      else queue[0] = head.subarray(n);
      stream.queuedBytes -= n;
      this.#blockedBytes -= n;
      this.#emitData(stream, undefined, 0, n === head.length ? head : head.subarray(0, n), n);
    }
    stream.queue = undefined;
    this.#blocked.delete(stream);
    // The peer may send again now that its stream is no longer piling up output.
    this.#replenishStream(stream);
    const trailers = stream.pendingTrailers;
    if (trailers !== undefined) {
      stream.pendingTrailers = undefined;
      this.#writeHeaderFrames(stream.id, trailers, true);
      this.#afterLocalEnd(stream);
    }
  }

  #pumpBlocked(): void {
    for (const s of this.#blocked) {
      if (this.#connSendWindow <= 0) break;
      this.#pump(s);
    }
  }

  #writeHeaderFrames(id: number, block: Buffer, endStream: boolean): void {
    const max = this.#peerMaxFrameSize;
    const out = this.#out;
    let pos = 0;
    let first = true;
    do {
      const n = Math.min(max, block.length - pos);
      const last = pos + n >= block.length;
      const type = first ? FRAME_HEADERS : FRAME_CONTINUATION;
      const flags = (first && endStream ? FLAG_END_STREAM : 0) | (last ? FLAG_END_HEADERS : 0);
      const at = out.reserve(FRAME_HEADER_BYTES);
      writeFrameHeader(out.slab, at, n, type, flags, id);
      out.append(block, pos, pos + n);
      pos += n;
      first = false;
    } while (pos < block.length);
  }

  #writeReset(id: number, code: number): void {
    const out = this.#out;
    const at = out.reserve(FRAME_HEADER_BYTES + 4);
    writeFrameHeader(out.slab, at, 4, FRAME_RST_STREAM, 0, id);
    out.slab.writeUInt32BE(code, at + FRAME_HEADER_BYTES);
    this.#scheduleFlush();
  }

  #writeWindowUpdate(id: number, increment: number): void {
    const out = this.#out;
    const at = out.reserve(FRAME_HEADER_BYTES + 4);
    writeFrameHeader(out.slab, at, 4, FRAME_WINDOW_UPDATE, 0, id);
    out.slab.writeUInt32BE(increment, at + FRAME_HEADER_BYTES);
    this.#scheduleFlush();
  }

  #writePing(payload: Buffer, ack: boolean): void {
    const out = this.#out;
    const at = out.reserve(FRAME_HEADER_BYTES + 8);
    writeFrameHeader(out.slab, at, 8, FRAME_PING, ack ? FLAG_ACK : 0, 0);
    payload.copy(out.slab, at + FRAME_HEADER_BYTES, 0, 8);
  }

  #writeGoaway(lastId: number, code: number, debug: string): void {
    const data = Buffer.from(debug.slice(0, 256), 'utf8');
    const out = this.#out;
    const at = out.reserve(FRAME_HEADER_BYTES + 8 + data.length);
    writeFrameHeader(out.slab, at, 8 + data.length, FRAME_GOAWAY, 0, 0);
    out.slab.writeUInt32BE(lastId, at + FRAME_HEADER_BYTES);
    out.slab.writeUInt32BE(code, at + FRAME_HEADER_BYTES + 4);
    data.copy(out.slab, at + FRAME_HEADER_BYTES + 8);
  }

  #sendSettings(): void {
    const l = this.#limits;
    const entries: [number, number][] = [
      [SETTINGS_HEADER_TABLE_SIZE, DEFAULT_HEADER_TABLE_SIZE],
      [SETTINGS_ENABLE_PUSH, 0],
      [SETTINGS_MAX_CONCURRENT_STREAMS, l.maxConcurrentStreams],
      [SETTINGS_INITIAL_WINDOW_SIZE, l.initialWindowSize],
      [SETTINGS_MAX_FRAME_SIZE, l.maxFrameSize],
      [SETTINGS_MAX_HEADER_LIST_SIZE, l.maxHeaderListSize],
    ];
    const out = this.#out;
    const at = out.reserve(FRAME_HEADER_BYTES + entries.length * 6);
    writeFrameHeader(out.slab, at, entries.length * 6, FRAME_SETTINGS, 0, 0);
    entries.forEach(([key, value], i) => {
      out.slab.writeUInt16BE(key, at + FRAME_HEADER_BYTES + i * 6);
      out.slab.writeUInt32BE(value, at + FRAME_HEADER_BYTES + i * 6 + 2);
    });
    this.#connRecvWindow = l.connectionWindowSize;
    if (l.connectionWindowSize > DEFAULT_WINDOW_SIZE) this.#writeWindowUpdate(0, l.connectionWindowSize - DEFAULT_WINDOW_SIZE);
    this.#scheduleFlush();
  }

  // ---- flushing and backpressure ------------------------------------------------------------

  #scheduleFlush(): void {
    if (this.#inRead || this.#flushScheduled) return;
    this.#flushScheduled = true;
    process.nextTick(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    if (this.#out.length === 0 || this.#closed) return;
    const list = this.#out.take();
    const socket = this.#socket;
    if (socket.destroyed) return;
    if (list.length === 1) {
      socket.write(list[0] as Buffer);
    } else {
      socket.cork();
      for (const b of list) socket.write(b);
      socket.uncork();
    }
    if (!this.#readPaused && socket.writableLength > this.#limits.socketHighWater) {
      // The peer is not reading what we send: stop reading what it sends until it catches up.
      this.#readPaused = true;
      socket.pause();
    }
  }

  #onSocketDrain(): void {
    if (!this.#readPaused || this.#closing) return;
    this.#readPaused = false;
    // Bytes read before the pause come first.
    if (this.#pending !== undefined) this.#onRead(EMPTY);
    if (!this.#readPaused) this.#socket.resume();
  }

  // ---- keepalive ----------------------------------------------------------------------------

  #armKeepalive(): void {
    const { keepaliveTimeMs } = this.#limits;
    if (keepaliveTimeMs <= 0 || this.#closing) return;
    this.#keepaliveTimer = this.#timers.setTimeout(() => this.#keepaliveTick(), keepaliveTimeMs);
  }

  #keepaliveTick(): void {
    this.#keepaliveTimer = undefined;
    if (this.#closing) return;
    const idle = this.#timers.now() - this.#lastReadAt;
    if (idle < this.#limits.keepaliveTimeMs) {
      this.#keepaliveTimer = this.#timers.setTimeout(() => this.#keepaliveTick(), this.#limits.keepaliveTimeMs - idle);
      return;
    }
    this.#writePing(KEEPALIVE_PING, false);
    this.#scheduleFlush();
    this.#keepaliveTimeout = this.#timers.setTimeout(() => {
      this.#keepaliveTimeout = undefined;
      this.#destroy('keepalive-timeout', `no PING answer within ${this.#limits.keepaliveTimeoutMs} ms`, false);
    }, this.#limits.keepaliveTimeoutMs);
    this.#armKeepalive();
  }

  // ---- errors and closing -------------------------------------------------------------------

  #glitch(what: string): void {
    if (!this.#glitchBucket.take()) this.#connectionError(ENHANCE_YOUR_CALM, 'glitch-flood', `too many ${what}`);
  }

  #streamError(id: number, code: number): void {
    this.#writeReset(id, code);
    const stream = this.#streams.get(id);
    if (stream === undefined) return;
    this.#forget(stream);
    stream.handler.onAbort('reset', code);
  }

  #forget(stream: H2Stream): void {
    if (stream.closed) return;
    stream.closed = true;
    if (!stream.remoteClosed) this.#rememberClosedEarly(stream.id, stream.recvWindow);
    stream.queue = undefined;
    this.#blockedBytes -= stream.queuedBytes;
    stream.queuedBytes = 0;
    stream.pendingTrailers = undefined;
    this.#blocked.delete(stream);
    this.#streams.delete(stream.id);
    if (this.#streams.size === 0) {
      if (this.#peerGoaway) this.#finish('peer-goaway', 'peer sent GOAWAY and its last stream ended', true);
      else if (this.#draining && this.#goawayLastId !== MAX_STREAM_ID) this.#finish('drained', 'drained', true);
    }
  }

  #rememberClosedEarly(id: number, window: number): void {
    if (this.#closedEarly.size >= CLOSED_EARLY_MAX) {
      const oldest = this.#closedEarly.keys().next();
      if (oldest.done !== true) this.#closedEarly.delete(oldest.value);
    }
    this.#closedEarly.set(id, window);
  }

  #finalGoaway(): void {
    if (this.#closing) return;
    if (this.#drainTimer !== undefined) {
      this.#timers.clearTimeout(this.#drainTimer);
      this.#drainTimer = undefined;
    }
    if (this.#goawayLastId !== MAX_STREAM_ID) return;
    this.#goawayLastId = this.#lastStreamId;
    this.#writeGoaway(this.#lastStreamId, NO_ERROR, '');
    this.#scheduleFlush();
    if (this.#streams.size === 0) this.#finish('drained', 'drained', true);
  }

  /** A connection error: GOAWAY with `code`, every stream aborted, then close. */
  #connectionError(code: number, reason: string, detail: string, normal = false): void {
    if (this.#closing) return;
    this.#writeGoaway(this.#lastStreamId, code, code === NO_ERROR ? '' : detail);
    this.#finish(reason, detail, normal);
  }

  /** Ends the connection after flushing what is queued; aborts whatever streams remain. */
  #finish(reason: string, detail: string, normal: boolean): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#closeInfo ??= { reason, detail, normal };
    this.#abortAll();
    this.#flush();
    this.#clearTimers();
    this.#socket.end();
    // A peer that never closes its side must not hold the socket.
    this.#destroyTimer = this.#timers.setTimeout(() => this.#socket.destroy(), 2000);
  }

  #destroy(reason: string, detail: string, normal: boolean): void {
    this.#closeInfo ??= { reason, detail, normal };
    this.#closing = true;
    this.#abortAll();
    this.#clearTimers();
    this.#socket.destroy();
  }

  #onPeerEnd(): void {
    // The peer half-closed the TCP connection: it will send nothing more.
    this.#closeInfo ??= { reason: 'peer-closed', detail: 'the peer closed the connection', normal: true };
    if (!this.#closing) this.#finish('peer-closed', 'the peer closed the connection', true);
  }

  #onSocketClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing = true;
    this.#closeInfo ??= { reason: 'peer-closed', detail: 'the connection closed', normal: true };
    this.#abortAll();
    this.#clearTimers();
    if (this.#destroyTimer !== undefined) this.#timers.clearTimeout(this.#destroyTimer);
    const info = this.#closeInfo;
    this.#onClose({ ...info, streams: this.#streamsServed, durationMs: this.#timers.now() - this.#openedAt });
  }

  #abortAll(): void {
    if (this.#streams.size === 0) return;
    const streams = [...this.#streams.values()];
    for (const s of streams) {
      this.#forget(s);
      s.handler.onAbort('connection-closed', CANCEL);
    }
  }

  #clearTimers(): void {
    for (const t of [this.#keepaliveTimer, this.#keepaliveTimeout, this.#settingsTimer, this.#drainTimer]) if (t !== undefined) this.#timers.clearTimeout(t);
    this.#keepaliveTimer = this.#keepaliveTimeout = this.#settingsTimer = this.#drainTimer = undefined;
  }
}
