/**
 * Closed-loop ext_proc load: `concurrency` workers, each running one request at a time the way Envoy
 * drives a FULL_DUPLEX_STREAMED request phase — open a `Process` stream, send request_headers, send
 * the JSON body (one request_body message with end_of_stream, or `chunkBytes` pieces), wait for the
 * final StreamedBodyResponse with end_of_stream, then half-close. Latency runs from opening the stream
 * to that last chunk. Every answer is verified (destination header present and equal to the
 * `envoy.lb` metadata, body echoed byte for byte); failures are counted, never retried.
 */
import { Client, credentials, type ClientDuplexStream, type StatusObject } from '@grpc/grpc-js';
import { connect as http2Connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { PROCESS_METHOD, type ProcessingRequest, type ProcessingResponse__Output } from '../../src/extproc/proto.js';

const DESTINATION_HEADER = 'x-gateway-destination-endpoint';
const METADATA_NAMESPACE = 'envoy.lb';

/**
 * Request bodies: `{"model":"bench-model","prompt":"<promptBytes of text>","max_tokens":16}`, the
 * prompt distinct per request (a unique prefix plus a window into a large varied word corpus).
 */
export class BodyFactory {
  readonly #corpus: string;
  constructor(readonly promptBytes: number) {
    const words = [
      'the', 'model', 'server', 'routes', 'tokens', 'across', 'eight', 'replicas', 'while', 'queue', 'depth', 'grows',
      'cache', 'prefix', 'hit', 'latency', 'budget', 'gateway', 'envoy', 'stream', 'picker', 'scores', 'each', 'pod',
      'prompt', 'completion', 'kubernetes', 'inference', 'pool', 'objective', 'fairness', 'weight', 'lora', 'adapter',
      'decode', 'prefill', 'batch', 'scheduler', 'filter', 'plugin', 'profile', 'metric', 'scrape', 'interval', 'ready',
    ];
    let seed = 0x2545f491;
    const rand = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 0x1_0000_0000;
    };
    const parts: string[] = [];
    let length = 0;
    const target = 256 * 1024 + promptBytes;
    while (length < target) {
      const w = words[Math.floor(rand() * words.length)] ?? 'x';
      const n = Math.floor(rand() * 1000);
      const piece = rand() < 0.15 ? `${w}${n}` : w;
      parts.push(piece);
      length += piece.length + 1;
    }
    this.#corpus = parts.join(' ');
  }

  body(seq: number, tag: string): Buffer {
    const prefix = `${tag}-${seq}: `;
    const need = Math.max(0, this.promptBytes - prefix.length);
    const span = this.#corpus.length - need;
    const offset = (seq * 7919) % Math.max(1, span);
    const prompt = (prefix + this.#corpus.slice(offset, offset + need)).slice(0, this.promptBytes);
    return Buffer.from(`{"model":"bench-model","prompt":"${prompt}","max_tokens":16}`, 'utf8');
  }
}

export interface RequestSpec {
  readonly requestId: string;
  readonly body: Buffer;
  /** 0 = the whole body in one request_body message. */
  readonly chunkBytes: number;
  readonly timeoutMs: number;
  /** If set, the destination must be one of these. */
  readonly destinations?: ReadonlySet<string>;
}

export type Outcome = { readonly ok: true; readonly latencyMs: number } | { readonly ok: false; readonly reason: string };

/** A set of connections to one ext_proc server that runs request phases. */
export interface ExtProcPool {
  readonly size: number;
  /** Runs one request phase on a new stream. Never rejects. */
  request(spec: RequestSpec): Promise<Outcome>;
  close(): void;
}

export type ClientKind = 'http2' | 'grpc-js';

export function createPool(kind: ClientKind, host: string, port: number, connections: number): ExtProcPool {
  return kind === 'grpc-js' ? new GrpcJsPool(`${host}:${port}`, connections) : new Http2Pool(host, port, connections);
}

/** The messages Envoy sends for one request phase: request_headers, then the body in `chunkBytes` pieces. */
function requestMessages(spec: RequestSpec): ProcessingRequest[] {
  const out: ProcessingRequest[] = [
    {
      request_headers: {
        headers: {
          headers: [
            { key: ':method', raw_value: Buffer.from('POST') },
            { key: ':path', raw_value: Buffer.from('/v1/completions') },
            { key: ':authority', raw_value: Buffer.from('bench.local') },
            { key: 'content-type', raw_value: Buffer.from('application/json') },
            { key: 'content-length', raw_value: Buffer.from(String(spec.body.length)) },
            { key: 'x-request-id', raw_value: Buffer.from(spec.requestId) },
          ],
        },
        end_of_stream: false,
      },
    },
  ];
  const size = spec.chunkBytes > 0 ? spec.chunkBytes : spec.body.length;
  let offset = 0;
  do {
    const end = Math.min(offset + size, spec.body.length);
    out.push({ request_body: { body: spec.body.subarray(offset, end), end_of_stream: end >= spec.body.length } });
    offset = end;
  } while (offset < spec.body.length);
  return out;
}

function headerValue(raw: Buffer | undefined, value: string | undefined): string {
  return raw !== undefined && raw.length > 0 ? raw.toString('latin1') : (value ?? '');
}

/**
 * Verifies one request phase's answers as they arrive: a header response whose destination header
 * equals the `envoy.lb` metadata (and is a known endpoint), route cache cleared, then body chunks that
 * reassemble to exactly the body sent, the last with end_of_stream.
 */
class AnswerCheck {
  #destination: string | undefined;
  readonly #parts: Buffer[] = [];
  #bytes = 0;

  constructor(
    private readonly spec: RequestSpec,
    private readonly t0: number,
  ) {}

  /** undefined = more to come; an Outcome once the answer is complete or wrong. */
  push(msg: ProcessingResponse__Output): Outcome | undefined {
    const fail = (reason: string): Outcome => ({ ok: false, reason });
    if (msg.immediate_response !== undefined) {
      return fail(`immediate_response ${String(msg.immediate_response.status?.code)}: ${msg.immediate_response.body?.toString('utf8') ?? ''}`);
    }
    if (msg.request_headers !== undefined) {
      if (this.#destination !== undefined) return fail('two header responses');
      const common = msg.request_headers.response;
      const h = (common?.header_mutation?.set_headers ?? []).find((o) => o.header?.key === DESTINATION_HEADER);
      const fromHeader = h === undefined ? '' : headerValue(h.header?.raw_value, h.header?.value);
      const fromMeta = msg.dynamic_metadata?.fields?.[METADATA_NAMESPACE]?.structValue?.fields?.[DESTINATION_HEADER]?.stringValue;
      if (fromHeader === '') return fail('no destination header');
      if (fromMeta !== fromHeader) return fail(`destination header ${fromHeader} != metadata ${String(fromMeta)}`);
      if (common?.clear_route_cache !== true) return fail('clear_route_cache not set');
      if (this.spec.destinations !== undefined && !this.spec.destinations.has(fromHeader)) return fail(`unknown destination ${fromHeader}`);
      this.#destination = fromHeader;
      return undefined;
    }
    const streamed = msg.request_body?.response?.body_mutation?.streamed_response;
    if (streamed === undefined) return fail(`unexpected response ${String(msg.response)}`);
    if (this.#destination === undefined) return fail('body before the header response');
    if (streamed.body !== undefined && streamed.body.length > 0) {
      this.#parts.push(streamed.body);
      this.#bytes += streamed.body.length;
    }
    if (streamed.end_of_stream !== true) return undefined;
    const latencyMs = performance.now() - this.t0;
    const echoed = this.#parts.length === 1 ? (this.#parts[0] as Buffer) : Buffer.concat(this.#parts, this.#bytes);
    if (echoed.length !== this.spec.body.length) return fail(`echoed ${echoed.length} bytes, sent ${this.spec.body.length}`);
    if (!echoed.equals(this.spec.body)) return fail('echoed body differs');
    return { ok: true, latencyMs };
  }
}

const serialize = (v: ProcessingRequest): Buffer => PROCESS_METHOD.requestSerialize(v);
const deserialize = (b: Buffer): ProcessingResponse__Output => PROCESS_METHOD.responseDeserialize(b) as ProcessingResponse__Output;

/**
 * Raw HTTP/2 client speaking gRPC framing by hand (5-byte length prefix, protobuf via the same
 * protobufjs codec). Several times cheaper per request than a grpc-js client, so on a small machine
 * the servers under test, not the load generator, set the pace — closer to Envoy's C++ client.
 */
export class Http2Pool implements ExtProcPool {
  readonly #sessions: (ClientHttp2Session | undefined)[];
  #next = 0;
  #closed = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
    connections: number,
  ) {
    this.#sessions = Array.from({ length: Math.max(1, connections) }, () => undefined);
  }

  get size(): number {
    return this.#sessions.length;
  }

  #session(): ClientHttp2Session {
    const i = this.#next++ % this.#sessions.length;
    const existing = this.#sessions[i];
    if (existing !== undefined && !existing.closed && !existing.destroyed) return existing;
    const s = http2Connect(`http://${this.host}:${this.port}`, {
      createConnection: () => netConnect({ host: this.host, port: this.port, noDelay: true }),
      settings: { enablePush: false, initialWindowSize: 4 * 1024 * 1024 },
      maxSessionMemory: 64,
    });
    s.on('error', () => undefined); // surfaced on the streams
    s.on('close', () => {
      if (this.#sessions[i] === s) this.#sessions[i] = undefined;
    });
    this.#sessions[i] = s;
    return s;
  }

  request(spec: RequestSpec): Promise<Outcome> {
    if (this.#closed) return Promise.resolve({ ok: false, reason: 'pool closed' });
    return new Promise<Outcome>((resolve) => {
      const t0 = performance.now();
      const check = new AnswerCheck(spec, t0);
      let outcome: Outcome | undefined;
      let grpcStatus: string | undefined;
      let grpcMessage = '';
      let finished = false;
      let pending: Buffer | undefined;
      const stream = this.#session().request(
        { ':method': 'POST', ':path': PROCESS_METHOD.path, ':scheme': 'http', ':authority': `${this.host}:${this.port}`, 'content-type': 'application/grpc', te: 'trailers' },
        { endStream: false },
      );
      const done = (): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        if (outcome?.ok === true && grpcStatus !== '0') outcome = { ok: false, reason: `grpc-status ${String(grpcStatus)} ${grpcMessage} after the answer` };
        resolve(outcome ?? { ok: false, reason: `stream closed before the final body chunk (grpc-status ${String(grpcStatus)} ${grpcMessage})` });
      };
      const cancel = (): void => {
        if (!stream.closed && !stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
      };
      const timer = setTimeout(() => {
        outcome ??= { ok: false, reason: `timeout after ${spec.timeoutMs} ms` };
        cancel();
        done();
      }, spec.timeoutMs);
      const status = (h: IncomingHttpHeaders): void => {
        const s = h['grpc-status'];
        if (s !== undefined) {
          grpcStatus = String(s);
          grpcMessage = decodeURIComponent(String(h['grpc-message'] ?? ''));
        }
      };
      stream.on('response', (h) => {
        if (h[':status'] !== 200) outcome ??= { ok: false, reason: `HTTP ${String(h[':status'])}` };
        status(h);
      });
      stream.on('trailers', status);
      stream.on('data', (chunk: Buffer) => {
        let buf = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
        while (buf.length >= 5) {
          const len = buf.readUInt32BE(1);
          if (buf.length < 5 + len) break;
          const msg = buf.subarray(5, 5 + len);
          buf = buf.subarray(5 + len);
          if (outcome !== undefined) continue;
          let result: Outcome | undefined;
          try {
            result = check.push(deserialize(msg));
          } catch (err) {
            result = { ok: false, reason: `undecodable response: ${err instanceof Error ? err.message : String(err)}` };
          }
          if (result === undefined) continue;
          outcome = result;
          if (result.ok) stream.end(); // half-close, as Envoy does at the end of the request phase
          else cancel();
        }
        pending = buf.length > 0 ? buf : undefined;
      });
      stream.on('error', (err: Error) => {
        outcome ??= { ok: false, reason: `stream error: ${err.message}` };
      });
      stream.on('close', done);
      for (const m of requestMessages(spec)) {
        const payload = serialize(m);
        const framed = Buffer.allocUnsafe(5 + payload.length);
        framed[0] = 0;
        framed.writeUInt32BE(payload.length, 1);
        payload.copy(framed, 5);
        stream.write(framed);
      }
    });
  }

  close(): void {
    this.#closed = true;
    for (const s of this.#sessions) s?.close();
  }
}

/** grpc-js channels (each its own HTTP/2 connection); streams spread round-robin over them. */
export class GrpcJsPool implements ExtProcPool {
  readonly #clients: Client[];
  #next = 0;

  constructor(address: string, channels: number) {
    this.#clients = Array.from(
      { length: Math.max(1, channels) },
      (_, i) =>
        new Client(address, credentials.createInsecure(), {
          // Each channel gets its own connection (grpc-js otherwise shares one subchannel per target).
          'grpc.use_local_subchannel_pool': 1,
          'grpc.max_receive_message_length': -1,
          'grpc.max_send_message_length': -1,
          'grpc.keepalive_time_ms': 30_000,
          'grpc.keepalive_timeout_ms': 10_000,
          'bench.channel': i,
        }),
    );
  }

  get size(): number {
    return this.#clients.length;
  }

  request(spec: RequestSpec): Promise<Outcome> {
    const client = this.#clients[this.#next++ % this.#clients.length] as Client;
    return new Promise<Outcome>((resolve) => {
      const t0 = performance.now();
      const check = new AnswerCheck(spec, t0);
      let outcome: Outcome | undefined;
      let finished = false;
      const call: ClientDuplexStream<ProcessingRequest, ProcessingResponse__Output> = client.makeBidiStreamRequest(PROCESS_METHOD.path, serialize, deserialize);
      const done = (code: number | undefined, details: string): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        if (outcome?.ok === true && code !== undefined && code !== 0) outcome = { ok: false, reason: `grpc-status ${code} ${details} after the answer` };
        resolve(outcome ?? { ok: false, reason: `stream closed before the final body chunk (grpc-status ${String(code)} ${details})` });
      };
      const timer = setTimeout(() => {
        outcome ??= { ok: false, reason: `timeout after ${spec.timeoutMs} ms` };
        call.cancel();
        done(undefined, 'timeout');
      }, spec.timeoutMs);
      call.on('data', (msg: ProcessingResponse__Output) => {
        if (outcome !== undefined) return;
        const result = check.push(msg);
        if (result === undefined) return;
        outcome = result;
        if (result.ok) call.end();
        else call.cancel();
      });
      call.on('error', (err: Error) => {
        outcome ??= { ok: false, reason: `stream error: ${err.message}` };
      });
      // Messages are delivered before the status; a failed call may still have one in flight.
      call.on('status', (st: StatusObject) => (outcome === undefined ? setImmediate(() => done(st.code, st.details)) : done(st.code, st.details)));
      for (const m of requestMessages(spec)) call.write(m);
    });
  }

  close(): void {
    for (const c of this.#clients) c.close();
  }
}

export interface RoundOptions {
  readonly concurrency: number;
  readonly maxRequests: number;
  readonly maxDurationMs: number;
  readonly chunkBytes: number;
  readonly timeoutMs: number;
  /** Tag in request ids and prompts, so every request of the whole run is distinct. */
  readonly tag: string;
  readonly destinations?: ReadonlySet<string>;
}

export interface RoundResult {
  readonly ok: number;
  readonly errors: number;
  readonly durationMs: number;
  /** Latencies of the successful requests, ms, in completion order. */
  readonly latencies: Float64Array;
  /** Up to five distinct failure reasons with counts. */
  readonly errorReasons: Record<string, number>;
}

/** Runs one closed-loop round: stops at `maxRequests` issued or `maxDurationMs` elapsed. */
export async function runRound(pool: ExtProcPool, bodies: BodyFactory, options: RoundOptions): Promise<RoundResult> {
  const latencies = new Float64Array(options.maxRequests);
  let issued = 0;
  let ok = 0;
  let errors = 0;
  const errorReasons: Record<string, number> = {};
  const start = performance.now();
  const deadline = start + options.maxDurationMs;
  const worker = async (): Promise<void> => {
    while (issued < options.maxRequests && performance.now() < deadline) {
      const seq = issued++;
      const spec: RequestSpec = {
        requestId: `${options.tag}-${seq}`,
        body: bodies.body(seq, options.tag),
        chunkBytes: options.chunkBytes,
        timeoutMs: options.timeoutMs,
        ...(options.destinations === undefined ? {} : { destinations: options.destinations }),
      };
      const outcome = await pool.request(spec);
      if (outcome.ok) latencies[ok++] = outcome.latencyMs;
      else {
        errors++;
        const key = outcome.reason.slice(0, 160);
        if (key in errorReasons || Object.keys(errorReasons).length < 5) errorReasons[key] = (errorReasons[key] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, () => worker()));
  return { ok, errors, durationMs: performance.now() - start, latencies: latencies.slice(0, ok), errorReasons };
}
