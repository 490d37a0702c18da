/**
 * The HTTP/2 + gRPC transport against real clients (grpc-js, node:http2) and a frame-level client
 * playing Envoy, attackers and broken peers. Loopback only.
 */
import { Client, credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import fc from 'fast-check';
import { connect as h2connect, constants as h2c } from 'node:http2';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  CANCEL,
  ENHANCE_YOUR_CALM,
  FLAG_END_HEADERS,
  FLAG_END_STREAM,
  FRAME_CONTINUATION,
  FRAME_DATA,
  FRAME_GOAWAY,
  FRAME_HEADERS,
  FRAME_PING,
  FRAME_RST_STREAM,
  FRAME_SETTINGS,
  FRAME_SIZE_ERROR,
  NO_ERROR,
  PROTOCOL_ERROR,
  REFUSED_STREAM,
  SETTINGS_INITIAL_WINDOW_SIZE,
} from '../../src/h2/constants.js';
import type { H2Limits, H2Timers } from '../../src/h2/h2-connection.js';
import { H2Server } from '../../src/h2/h2-server.js';
import { encodeHeaderBlock } from '../../src/h2/hpack-encoder.js';
import type { GrpcCallHandler, GrpcMethod, GrpcServerCall } from '../../src/grpc/grpc-server-call.js';
import { GrpcServer } from '../../src/grpc/grpc-server.js';
import { silentLogger } from '../../src/observability/logger.js';
import { RawH2Client, type Frame } from '../helpers/h2-raw-client.js';
import { ManualTimers } from '../helpers/manual-timers.js';

const identity = (b: Buffer): Buffer => b;

/** Echoes every message; ends OK when the client half-closes. `/test.Echo/Big` answers each message with `size` bytes. */
class EchoCall implements GrpcCallHandler<Buffer> {
  constructor(
    private readonly call: GrpcServerCall<Buffer, Buffer>,
    private readonly reply: (m: Buffer) => Buffer,
  ) {}
  onMessage(m: Buffer): void {
    this.call.send(this.reply(m));
  }
  onHalfClose(): void {
    this.call.end();
  }
  onCancel(): void {
    cancelled++;
  }
}

let cancelled = 0;
const echo: GrpcMethod<Buffer, Buffer> = { path: '/test.Echo/Echo', deserialize: identity, serialize: identity, start: (call) => new EchoCall(call, (m) => m) };
const big: GrpcMethod<Buffer, Buffer> = { path: '/test.Echo/Big', deserialize: identity, serialize: identity, start: (call) => new EchoCall(call, (m) => Buffer.alloc(m.readUInt32BE(0), 7)) };

const servers: { close(): Promise<void> }[] = [];
const clients: { close(): void }[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

async function startServer(options: { limits?: Partial<H2Limits>; timers?: H2Timers; maxReceiveMessageBytes?: number; acceptEncodings?: ('gzip' | 'deflate')[] } = {}): Promise<{ server: GrpcServer; port: number }> {
  const server = new GrpcServer({ logger: silentLogger(), label: 'test', maxReceiveMessageBytes: options.maxReceiveMessageBytes ?? 16 << 20, limits: options.limits, timers: options.timers, acceptEncodings: options.acceptEncodings });
  server.addMethod(echo);
  server.addMethod(big);
  const port = await server.listen('127.0.0.1', 0);
  servers.push(server);
  return { server, port };
}

async function raw(port: number, options?: Parameters<typeof RawH2Client.connect>[2]): Promise<RawH2Client> {
  const c = await RawH2Client.connect(port, '127.0.0.1', options);
  clients.push(c);
  return c;
}

function grpcMessage(bytes: Buffer): Buffer {
  const p = Buffer.alloc(5 + bytes.length);
  p.writeUInt32BE(bytes.length, 1);
  bytes.copy(p, 5);
  return p;
}

const goaway = (c: RawH2Client): Frame | undefined => c.of(FRAME_GOAWAY).at(-1);
const goawayCode = (c: RawH2Client): number | undefined => goaway(c)?.payload.readUInt32BE(4);

/** The grpc-status of the stream's trailers (or trailers-only response), decoding every HEADERS in order. */
function statuses(c: RawH2Client): Map<number, string> {
  const out = new Map<number, string>();
  for (const f of c.frames) {
    if (f.type !== FRAME_HEADERS) continue;
    const h = c.decodeHeaders(f);
    const s = h.get('grpc-status') ?? (h.get(':status') !== '200' ? `http ${h.get(':status') ?? '?'}` : undefined);
    if (s !== undefined) out.set(f.id, s);
  }
  return out;
}

function bidi(client: Client, path: string): ClientDuplexStream<Buffer, Buffer> {
  return client.makeBidiStreamRequest(path, identity, identity);
}

describe('interoperability', () => {
  it('serves grpc-js clients: 100 concurrent bidi streams, and 3 MB messages both ways through flow control', async () => {
    const { port } = await startServer();
    const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 << 20, 'grpc.max_send_message_length': 64 << 20 });
    clients.push(client);
    const one = (payload: Buffer): Promise<Buffer[]> =>
      new Promise((resolve, reject) => {
        const got: Buffer[] = [];
        const s = bidi(client, echo.path);
        s.on('data', (b: Buffer) => got.push(b));
        s.on('error', reject);
        s.on('status', (st: { code: number }) => (st.code === 0 ? resolve(got) : reject(new Error(`status ${st.code}`))));
        s.write(payload);
        s.write(payload);
        s.end();
      });
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => one(Buffer.from(`message ${i}`))));
    results.forEach((r, i) => expect(r.map(String)).toEqual([`message ${i}`, `message ${i}`]));
    const large = Buffer.alloc(3 << 20);
    for (let i = 0; i < large.length; i++) large[i] = i % 251;
    const [a, b] = await one(large);
    expect(a?.equals(large)).toBe(true);
    expect(b?.equals(large)).toBe(true);
  });

  it('decodes whatever node:http2 (nghttp2: dynamic table, Huffman) encodes', async () => {
    const seen: Map<string, string>[] = [];
    const h2 = new H2Server({
      logger: silentLogger(),
      label: 'test',
      listener: {
        onRequest(stream, headers) {
          const m = new Map<string, string>();
          for (let i = 0; i < headers.count; i++) m.set(headers.names[i] as string, headers.values[i] as string);
          seen.push(m);
          stream.sendHeaders(encodeHeaderBlock([[':status', '200']]), true);
        },
      },
    });
    const port = await h2.listen('127.0.0.1', 0);
    servers.push(h2);
    const session = h2connect(`http://127.0.0.1:${port}`);
    clients.push({ close: () => session.close() });
    const value = fc.string({ unit: fc.constantFrom(...'abcxyz0123456789-_ .:/;=%~!*'.split('')), maxLength: 60 });
    const cases = fc.sample(fc.dictionary(fc.constantFrom('x-a', 'x-b', 'x-request-id', 'user-agent', 'cookie-ish', 'x-long-header-name-for-the-table'), value), { numRuns: 300, seed: 42 });
    for (const extra of cases) {
      await new Promise<void>((resolve, reject) => {
        const req = session.request({ ':method': 'POST', ':path': '/p', ...extra }, { endStream: true });
        req.on('response', () => undefined);
        req.on('close', () => resolve());
        req.on('error', reject);
        req.resume();
      });
      const got = seen.at(-1) as Map<string, string>;
      expect(got.get(':path')).toBe('/p');
      for (const [k, v] of Object.entries(extra)) expect(got.get(k)).toBe(v);
    }
    expect(seen).toHaveLength(300);
  });
});

describe('Envoy-shaped streams and Rapid Reset', () => {
  it('answered streams that the client then resets cost nothing: 3,000 on one connection with a reset budget of 10', async () => {
    const { server, port } = await startServer({ limits: { resetBurst: 10, resetRatePerSecond: 1 } });
    const c = await raw(port);
    for (let batch = 0; batch < 30; batch++) {
      const ids = Array.from({ length: 100 }, () => c.nextStreamId());
      for (const id of ids) {
        c.grpcHeaders(id, echo.path);
        c.data(id, grpcMessage(Buffer.from(`r${id}`)));
      }
      await c.until((x) => ids.every((id) => x.of(FRAME_DATA, id).length > 0));
      // As Envoy does: never half-close, reset every stream once its answer is in.
      for (const id of ids) c.rst(id, CANCEL);
    }
    await vi.waitFor(() => expect(server.transport.activeStreams).toBe(0));
    expect(goaway(c)).toBeUndefined();
    expect(c.closed).toBe(false);
    expect(server.callsStarted).toBe(3000);
  });

  it('ends a connection that resets young unanswered streams faster than its budget (GOAWAY ENHANCE_YOUR_CALM)', async () => {
    const { server, port } = await startServer({ limits: { resetBurst: 20, resetRatePerSecond: 1 } });
    const c = await raw(port);
    for (let i = 0; i < 50 && !c.closed; i++) {
      const id = c.nextStreamId();
      c.grpcHeaders(id, echo.path);
      c.rst(id, CANCEL);
    }
    await c.until((x) => x.closed);
    expect(goawayCode(c)).toBe(ENHANCE_YOUR_CALM);
    await vi.waitFor(() => expect(server.transport.closesByReason.get('rapid-reset')).toBe(1));
    // Other connections are unaffected.
    const d = await raw(port);
    const id = d.nextStreamId();
    d.grpcHeaders(id, echo.path);
    d.grpcMessage(id, Buffer.from('still here'), true);
    await d.until((x) => statuses(x).get(id) === '0');
  });

  it('does not count resets of unanswered streams that lived longer than the early-reset window', async () => {
    const timers = new ManualTimers();
    const { server, port } = await startServer({ limits: { resetBurst: 5, resetRatePerSecond: 0, earlyResetWindowMs: 1000 }, timers });
    const c = await raw(port);
    const ids = Array.from({ length: 50 }, () => c.nextStreamId());
    for (const id of ids) c.grpcHeaders(id, echo.path);
    await vi.waitFor(() => expect(server.transport.activeStreams).toBe(50));
    timers.advance(1500);
    for (const id of ids) c.rst(id, CANCEL);
    const probe = c.nextStreamId();
    c.grpcHeaders(probe, echo.path);
    c.grpcMessage(probe, Buffer.from('x'), true);
    await c.until((x) => statuses(x).get(probe) === '0');
    expect(goaway(c)).toBeUndefined();
  });
});

describe('limits on what a client controls', () => {
  it('refuses streams beyond the advertised concurrency with REFUSED_STREAM', async () => {
    const { port } = await startServer({ limits: { maxConcurrentStreams: 2 } });
    const c = await raw(port);
    const ids = [c.nextStreamId(), c.nextStreamId(), c.nextStreamId()];
    for (const id of ids) c.grpcHeaders(id, echo.path);
    await c.until((x) => x.of(FRAME_RST_STREAM, ids[2]).length === 1);
    expect(c.of(FRAME_RST_STREAM, ids[2])[0]?.payload.readUInt32BE(0)).toBe(REFUSED_STREAM);
    expect(c.of(FRAME_RST_STREAM, ids[0])).toHaveLength(0);
  });

  it('ends PING, SETTINGS, empty-frame and CONTINUATION floods with GOAWAY', async () => {
    const { server, port } = await startServer({ limits: { pingBurst: 5, pingRatePerSecond: 0, settingsBurst: 3, settingsRatePerSecond: 0, glitchBurst: 5, glitchRatePerSecond: 0, maxHeaderBlockBytes: 4096 } });
    const ping = await raw(port);
    for (let i = 0; i < 20; i++) ping.ping();
    await ping.until((x) => x.closed);
    expect(goawayCode(ping)).toBe(ENHANCE_YOUR_CALM);
    const settings = await raw(port);
    for (let i = 0; i < 20; i++) settings.settings([]);
    await settings.until((x) => x.closed);
    expect(goawayCode(settings)).toBe(ENHANCE_YOUR_CALM);
    const empty = await raw(port);
    const id = empty.nextStreamId();
    empty.grpcHeaders(id, echo.path);
    for (let i = 0; i < 20; i++) empty.data(id, Buffer.alloc(0));
    await empty.until((x) => x.closed);
    expect(goawayCode(empty)).toBe(ENHANCE_YOUR_CALM);
    const cont = await raw(port);
    cont.frame(FRAME_HEADERS, 0, cont.nextStreamId(), encodeHeaderBlock([[':method', 'POST']]));
    for (let i = 0; i < 100 && !cont.closed; i++) cont.frame(FRAME_CONTINUATION, 0, 1, Buffer.alloc(100, 0x82));
    await cont.until((x) => x.closed);
    expect(goawayCode(cont)).toBe(ENHANCE_YOUR_CALM);
    await vi.waitFor(() => expect([...server.transport.closesByReason.keys()].sort()).toEqual(['glitch-flood', 'header-flood', 'ping-flood', 'settings-flood']));
  });

  it('drops for free what the peer had in flight for streams it ended early or refused; later frames on closed streams are glitches', async () => {
    const { server, port } = await startServer({ limits: { glitchBurst: 5, glitchRatePerSecond: 0, maxConcurrentStreams: 4 }, maxReceiveMessageBytes: 8 });
    const c = await raw(port);
    // Each stream's first message is over the size limit: the server ends it (RESOURCE_EXHAUSTED)
    // while the client is still sending, as Envoy keeps streaming a body after an early 413.
    for (let i = 0; i < 40; i++) {
      const id = c.nextStreamId();
      c.grpcHeaders(id, echo.path);
      for (let k = 0; k < 4; k++) c.data(id, grpcMessage(Buffer.alloc(100, k)));
      c.frame(FRAME_HEADERS, FLAG_END_HEADERS | FLAG_END_STREAM, id, encodeHeaderBlock([['x-trailer', '1']]));
    }
    // More streams than the concurrency limit at once, each with DATA: refused, then their DATA.
    const burst = Array.from({ length: 20 }, () => c.nextStreamId());
    for (const id of burst) c.grpcHeaders(id, echo.path);
    for (const id of burst) c.data(id, grpcMessage(Buffer.from('x')));
    await c.until((x) => burst.every((id) => x.of(FRAME_RST_STREAM, id).length > 0 || x.of(FRAME_HEADERS, id).length > 0));
    expect(goaway(c)).toBeUndefined();
    // A stream the client itself reset is over for both sides: DATA after that is a glitch.
    const probe = c.nextStreamId();
    c.grpcHeaders(probe, echo.path);
    c.rst(probe, CANCEL);
    for (let i = 0; i < 10; i++) c.data(probe, Buffer.from('late'));
    await c.until((x) => x.closed);
    expect(goawayCode(c)).toBe(ENHANCE_YOUR_CALM);
    await vi.waitFor(() => expect(server.transport.closesByReason.get('glitch-flood')).toBe(1));
  });

  it('answers protocol violations with GOAWAY(PROTOCOL_ERROR or FRAME_SIZE_ERROR) and closes', async () => {
    const { port } = await startServer();
    const cases: [string, (c: RawH2Client) => void, number][] = [
      ['DATA on stream 0', (c) => c.frame(FRAME_DATA, 0, 0, Buffer.from('x')), PROTOCOL_ERROR],
      ['HEADERS on an even id', (c) => c.headers(2, [[':method', 'POST']]), PROTOCOL_ERROR],
      ['a frame over the advertised size', (c) => c.frame(FRAME_DATA, 0, 1, Buffer.alloc(20_000)), FRAME_SIZE_ERROR],
      ['RST_STREAM on an idle stream', (c) => c.rst(99, CANCEL), PROTOCOL_ERROR],
      ['PING of the wrong size', (c) => c.frame(FRAME_PING, 0, 0, Buffer.alloc(3)), FRAME_SIZE_ERROR],
      ['an undecodable header block', (c) => c.frame(FRAME_HEADERS, FLAG_END_HEADERS, 1, Buffer.from([0x80])), 0x9],
    ];
    for (const [name, act, code] of cases) {
      const c = await raw(port);
      act(c);
      await c.until((x) => x.closed);
      expect({ name, code: goawayCode(c) }).toEqual({ name, code });
    }
    // Not HTTP/2 at all: closed without a frame.
    const { connect } = await import('node:net');
    const sock = connect(port, '127.0.0.1');
    sock.resume();
    sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => sock.on('close', r));
  });
});

describe('gRPC rules', () => {
  it('answers unknown methods, wrong methods and content types, unaccepted encodings and bad timeouts without running a handler', async () => {
    const { port } = await startServer();
    const c = await raw(port);
    const ids = Array.from({ length: 6 }, () => c.nextStreamId());
    c.grpcHeaders(ids[0] as number, '/no.Such/Method');
    c.headers(ids[1] as number, [[':method', 'GET'], [':scheme', 'http'], [':path', echo.path], ['content-type', 'application/grpc']]);
    c.headers(ids[2] as number, [[':method', 'POST'], [':scheme', 'http'], [':path', echo.path], ['content-type', 'text/plain']]);
    c.grpcHeaders(ids[3] as number, echo.path, [['grpc-encoding', 'gzip']]);
    c.grpcHeaders(ids[4] as number, echo.path, [['grpc-timeout', '1x']]);
    c.grpcHeaders(ids[5] as number, echo.path, [['grpc-timeout', '123456789S']]);
    await c.until((x) => statuses(x).size === 6);
    const s = statuses(c);
    expect(ids.map((id) => s.get(id))).toEqual(['12', 'http 405', 'http 415', '12', '13', '13']);
    const unaccepted = c.frames.filter((f) => f.type === FRAME_HEADERS && f.id === ids[3]);
    expect(unaccepted).toHaveLength(1);
  });

  it('enforces the message size before buffering the body, and refuses compressed messages unless accepted', async () => {
    const { port } = await startServer({ maxReceiveMessageBytes: 1024 });
    const c = await raw(port);
    const tooBig = c.nextStreamId();
    c.grpcHeaders(tooBig, echo.path);
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(100 << 20, 1);
    c.data(tooBig, prefix); // only the prefix of a 100 MB message
    const compressed = c.nextStreamId();
    c.grpcHeaders(compressed, echo.path);
    const flagged = grpcMessage(Buffer.from('x'));
    flagged[0] = 1;
    c.data(compressed, flagged, true);
    await c.until((x) => statuses(x).size === 2);
    expect(statuses(c).get(tooBig)).toBe('8');
    expect(statuses(c).get(compressed)).toBe('13');
  });

  it('accepts gzip when configured, with the decompressed size bounded', async () => {
    const { gzipSync } = await import('node:zlib');
    const { port } = await startServer({ maxReceiveMessageBytes: 1 << 20, acceptEncodings: ['gzip'] });
    const c = await raw(port);
    const ok = c.nextStreamId();
    c.grpcHeaders(ok, echo.path, [['grpc-encoding', 'gzip']]);
    const small = grpcMessage(gzipSync(Buffer.from('hello')));
    small[0] = 1;
    c.data(ok, small, true);
    const bomb = c.nextStreamId();
    c.grpcHeaders(bomb, echo.path, [['grpc-encoding', 'gzip']]);
    const zipped = grpcMessage(gzipSync(Buffer.alloc(30 << 20)));
    zipped[0] = 1;
    expect(zipped.length).toBeLessThan(64 * 1024);
    for (let at = 0; at < zipped.length; at += 16_000) c.data(bomb, zipped.subarray(at, Math.min(at + 16_000, zipped.length)), at + 16_000 >= zipped.length);
    await c.until((x) => statuses(x).size === 2);
    expect(statuses(c).get(ok)).toBe('0');
    expect(c.of(FRAME_DATA, ok).map((f) => f.payload.subarray(5).toString()).join('')).toBe('hello');
    expect(statuses(c).get(bomb)).toBe('8');
  });

  it('keeps deadlines longer than a timer can hold instead of expiring them at once; short ones end DEADLINE_EXCEEDED', async () => {
    const timers = new ManualTimers();
    const { port } = await startServer({ timers });
    const c = await raw(port);
    const long = c.nextStreamId();
    c.grpcHeaders(long, echo.path, [['grpc-timeout', '2147484S']]);
    const short = c.nextStreamId();
    c.grpcHeaders(short, echo.path, [['grpc-timeout', '50m']]);
    c.grpcMessage(long, Buffer.from('a'));
    await c.until((x) => x.of(FRAME_DATA, long).length === 1);
    timers.advance(60);
    await c.until((x) => statuses(x).get(short) === '4');
    c.grpcMessage(long, Buffer.from('b'), true);
    await c.until((x) => statuses(x).get(long) === '0');
  });
});

describe('flow control and slow readers', () => {
  it('holds responses while the client grants no window, and sends them as it does', async () => {
    const { port } = await startServer();
    const c = await raw(port, { settings: [[SETTINGS_INITIAL_WINDOW_SIZE, 1000]] });
    await c.until((x) => x.of(FRAME_SETTINGS).some((f) => (f.flags & 1) === 1));
    const id = c.nextStreamId();
    c.grpcHeaders(id, big.path);
    const ask = Buffer.alloc(4);
    ask.writeUInt32BE(100_000, 0);
    c.grpcMessage(id, ask, true);
    const received = (): number => c.of(FRAME_DATA, id).reduce((n, f) => n + f.payload.length, 0);
    await c.until(() => received() === 1000);
    c.windowUpdate(id, 200_000);
    // Still held: the connection window (65,535 by default) is now what limits it.
    await c.until(() => received() === 65_535);
    c.windowUpdate(0, 200_000);
    await c.until((x) => statuses(x).get(id) === '0');
    expect(received()).toBe(100_005);
  });

  it('refuses new streams while output waits for a peer that grants no window, and stops reading a peer that does not read', async () => {
    const { server, port } = await startServer({ limits: { socketHighWater: 256 * 1024, blockedOutputHighWater: 8 << 20 } });
    const c = await raw(port);
    await c.until((x) => x.of(FRAME_SETTINGS).length > 0);
    c.socket.pause(); // never read again
    const ask = Buffer.alloc(4);
    ask.writeUInt32BE(1 << 20, 0);
    for (let i = 0; i < 200; i++) {
      const id = c.nextStreamId();
      c.grpcHeaders(id, big.path);
      c.grpcMessage(id, ask, true);
    }
    // Far fewer than 200 MB of answers are ever made: past 8 MB waiting for window, streams are refused.
    await vi.waitFor(() => expect(server.transport.streamsRefused).toBeGreaterThan(150));
    expect(server.callsStarted).toBeLessThan(12);
    expect(server.transport.bufferedBytes).toBeLessThan(12 << 20);
    expect(server.transport.drainListeners).toBe(1);
    // A peer that grants window but does not read: the socket backs up and the server stops reading.
    const reader = await raw(port, { settings: [[SETTINGS_INITIAL_WINDOW_SIZE, 0x7fffffff]] });
    await reader.until((x) => x.of(FRAME_SETTINGS).length > 1);
    reader.windowUpdate(0, 0x7fffffff - 65_535);
    reader.socket.pause();
    const before = server.callsStarted;
    for (let i = 0; i < 200; i++) {
      const id = reader.nextStreamId();
      reader.grpcHeaders(id, big.path);
      reader.grpcMessage(id, ask, true);
    }
    await vi.waitFor(() => expect(server.transport.pausedConnections).toBe(1));
    // The kernel's socket buffers take several MB on loopback before the socket queue backs up.
    expect(server.callsStarted - before).toBeLessThan(60);
    expect(server.transport.drainListeners).toBe(2);
  });
});

describe('keepalive and drain', () => {
  it('pings an idle connection and closes it when the ping goes unanswered', async () => {
    const timers = new ManualTimers();
    const { server, port } = await startServer({ timers, limits: { keepaliveTimeMs: 1000, keepaliveTimeoutMs: 500 } });
    const c = await raw(port, { answerPings: false });
    await c.until((x) => x.of(FRAME_SETTINGS).length > 0);
    timers.advance(1000);
    await c.until((x) => x.of(FRAME_PING).length === 1);
    timers.advance(500);
    await c.until((x) => x.closed);
    await vi.waitFor(() => expect(server.transport.closesByReason.get('keepalive-timeout')).toBe(1));
  });

  it('drains: GOAWAY, then the final GOAWAY after a ping round trip; live streams finish; later streams are refused', async () => {
    const { server, port } = await startServer();
    const c = await raw(port);
    const live = c.nextStreamId();
    c.grpcHeaders(live, echo.path);
    c.grpcMessage(live, Buffer.from('x'));
    await c.until((x) => x.of(FRAME_DATA, live).length === 1);
    const drained = server.drain();
    await c.until((x) => x.of(FRAME_GOAWAY).length === 2);
    const [first, last] = c.of(FRAME_GOAWAY);
    expect(first?.payload.readUInt32BE(0)).toBe(0x7fffffff);
    expect(last?.payload.readUInt32BE(0)).toBe(live);
    expect(last?.payload.readUInt32BE(4)).toBe(NO_ERROR);
    const late = c.nextStreamId();
    c.grpcHeaders(late, echo.path);
    await c.until((x) => x.of(FRAME_RST_STREAM, late).length === 1);
    expect(c.of(FRAME_RST_STREAM, late)[0]?.payload.readUInt32BE(0)).toBe(REFUSED_STREAM);
    c.grpcMessage(live, Buffer.from('y'), true);
    await c.until((x) => statuses(x).get(live) === '0');
    await drained;
    await c.until((x) => x.closed);
  });
});

describe('stream ends', () => {
  it('tells the handler once when the client resets, and resets the client when the call ends first', async () => {
    const { port } = await startServer();
    const c = await raw(port);
    const before = cancelled;
    const a = c.nextStreamId();
    c.grpcHeaders(a, echo.path);
    c.grpcMessage(a, Buffer.from('x'));
    await c.until((x) => x.of(FRAME_DATA, a).length === 1);
    c.rst(a, CANCEL);
    c.rst(a, CANCEL);
    const b = c.nextStreamId();
    c.grpcHeaders(b, '/no.Such/Method');
    await c.until((x) => x.of(FRAME_RST_STREAM, b).length === 1);
    // The trailers-only answer came first, then RST_STREAM(NO_ERROR) because the client was still open.
    expect(c.of(FRAME_HEADERS, b)[0]?.flags ?? 0).toBe(FLAG_END_STREAM | FLAG_END_HEADERS);
    expect(c.of(FRAME_RST_STREAM, b)[0]?.payload.readUInt32BE(0)).toBe(NO_ERROR);
    expect(cancelled - before).toBe(1);
  });
});

describe('node:http2 client resets after answers (Envoy-shaped)', () => {
  it('serves 2,000 streams each reset by the client after its answer, on one session', async () => {
    const { server, port } = await startServer({ limits: { resetBurst: 5, resetRatePerSecond: 0 } });
    const session = h2connect(`http://127.0.0.1:${port}`);
    clients.push({ close: () => session.close() });
    let ok = 0;
    for (let batch = 0; batch < 20; batch++) {
      await Promise.all(
        Array.from(
          { length: 100 },
          () =>
            new Promise<void>((resolve, reject) => {
              const req = session.request({ ':method': 'POST', ':path': echo.path, 'content-type': 'application/grpc', te: 'trailers' });
              req.write(grpcMessage(Buffer.from('hi')));
              req.on('data', () => {
                ok++;
                req.close(h2c.NGHTTP2_CANCEL);
              });
              req.on('close', () => resolve());
              req.on('error', reject);
            }),
        ),
      );
    }
    expect(ok).toBe(2000);
    expect(session.closed || session.destroyed).toBe(false);
    expect(server.transport.connections).toBe(1);
  });
});
