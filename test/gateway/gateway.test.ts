import { once } from 'node:events';
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { generate } from 'selfsigned';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EXTERNAL_PROCESSOR_SERVICE, type ProcessingRequest__Output, type ProcessingResponse } from '../../src/extproc/proto.js';
import { startGateway, type GatewayOptions, type GatewayServer } from '../../src/gateway/gateway.js';

// ---- fake picker ---------------------------------------------------------------------------------

const CHUNK = 62_000;

interface PickerBehaviour {
  /** Body mode the fake answers in; buffered puts the destination on the body response. */
  mode?: 'full-duplex' | 'buffered';
  /** Destination to set in header and metadata (undefined: set none). */
  destination?: string;
  /** Header value, when it should differ from the metadata. */
  headerDestination?: string;
  /** Answer with this ImmediateResponse once the request is complete. */
  immediate?: { status: number; body: string; headers?: Record<string, string> };
  /** Never answer anything. */
  hang?: boolean;
  /** In buffered mode, the body the upstream should get instead of the original. */
  rewriteBody?: (body: Buffer) => Buffer;
  /** Close the stream (OK) right after the request phase, as llm-d does for a parser Skip. */
  closeAfterRequest?: boolean;
  /** Extra request header mutations. */
  extraSetHeaders?: Record<string, string>;
  /** Answer request body chunks with a plain body mutation, which FULL_DUPLEX_STREAMED forbids. */
  nonStreamedBody?: boolean;
}

interface StreamRecord {
  readonly messages: ProcessingRequest__Output[];
  /** Resolves when the gateway half-closes the stream (grpc-js also reports this just before a cancellation). */
  readonly halfClosed: Promise<void>;
  /** Resolves when the gateway cancels the stream. */
  readonly cancelled: Promise<void>;
}

interface FakePicker {
  readonly address: string;
  readonly streams: StreamRecord[];
  behaviour: PickerBehaviour;
  close(): void;
}

function header(key: string, value: string): { header: { key: string; raw_value: Buffer } } {
  return { header: { key, raw_value: Buffer.from(value) } };
}

function lbMetadata(destination: string): ProcessingResponse['dynamic_metadata'] {
  return { fields: { 'envoy.lb': { structValue: { fields: { 'x-gateway-destination-endpoint': { stringValue: destination } } } } } };
}

function handleStream(picker: FakePicker, call: ServerDuplexStream<ProcessingRequest__Output, ProcessingResponse>): void {
  let halfClosed!: () => void;
  let cancelled!: () => void;
  const record: StreamRecord = {
    messages: [],
    halfClosed: new Promise((resolve) => (halfClosed = resolve)),
    cancelled: new Promise((resolve) => (cancelled = resolve)),
  };
  picker.streams.push(record);
  const b = picker.behaviour;
  const body: Buffer[] = [];

  const routing = (length: number): Pick<ProcessingResponse, 'dynamic_metadata'> & { set: ReturnType<typeof header>[] } => {
    const set = Object.entries(b.extraSetHeaders ?? {}).map(([k, v]) => header(k, v));
    const headerValue = b.headerDestination ?? b.destination;
    if (headerValue !== undefined) set.push(header('x-gateway-destination-endpoint', headerValue));
    if (length > 0) set.push(header('Content-Length', String(length)));
    return { set, ...(b.destination !== undefined ? { dynamic_metadata: lbMetadata(b.destination) } : {}) };
  };

  const decide = (full: Buffer, headerOnly: boolean): void => {
    if (b.immediate !== undefined) {
      const set = Object.entries(b.immediate.headers ?? {}).map(([k, v]) => header(k, v));
      call.write({ immediate_response: { status: { code: b.immediate.status }, body: Buffer.from(b.immediate.body), headers: { set_headers: set } } });
      call.end();
      return;
    }
    const out = b.rewriteBody !== undefined ? b.rewriteBody(full) : full;
    const { set, dynamic_metadata } = routing(out.length);
    const metadata = dynamic_metadata ? { dynamic_metadata } : {};
    if (b.nonStreamedBody === true && !headerOnly) {
      call.write({ request_headers: { response: { header_mutation: { set_headers: set } } }, ...metadata });
      call.write({ request_body: { response: { body_mutation: { body: out } } } });
    } else if (b.mode === 'buffered' && !headerOnly) {
      call.write({ request_body: { response: { header_mutation: { set_headers: set }, body_mutation: { body: out } } }, ...metadata });
    } else {
      call.write({ request_headers: { response: { clear_route_cache: true, header_mutation: { set_headers: set } } }, ...metadata });
      // The body goes back re-chunked at 62,000 bytes, the last chunk flagged end_of_stream, as llm-d does.
      for (let at = 0; !headerOnly; at += CHUNK) {
        const last = at + CHUNK >= out.length;
        call.write({ request_body: { response: { body_mutation: { streamed_response: { body: out.subarray(at, at + CHUNK), end_of_stream: last } } } } });
        if (last) break;
      }
    }
    if (b.closeAfterRequest === true) call.end();
  };

  call.on('data', (m: ProcessingRequest__Output) => {
    record.messages.push(m);
    if (b.hang === true) return;
    switch (m.request) {
      case 'request_headers':
        if (m.request_headers?.end_of_stream === true) decide(Buffer.alloc(0), true);
        else if (b.mode === 'buffered') call.write({ request_headers: { response: {} } });
        return;
      case 'request_body':
        body.push(m.request_body?.body ?? Buffer.alloc(0));
        if (m.request_body?.end_of_stream === true) decide(Buffer.concat(body), false);
        return;
      case 'response_headers':
        call.write({ response_headers: { response: { header_mutation: { set_headers: [header('x-went-into-resp-headers', 'true')] } } } });
        return;
      case 'response_body':
        call.write({ response_body: { response: { body_mutation: { streamed_response: { body: m.response_body?.body ?? Buffer.alloc(0), end_of_stream: m.response_body?.end_of_stream ?? false } } } } });
        return;
      default:
        return;
    }
  });
  call.on('end', () => {
    halfClosed();
    call.end();
  });
  call.on('cancelled', () => cancelled());
  call.on('error', () => undefined);
}

async function startFakePicker(behaviour: PickerBehaviour, tls?: { key: string; cert: string }): Promise<FakePicker> {
  const server = new Server();
  const picker: FakePicker = { address: '', streams: [], behaviour, close: () => server.forceShutdown() };
  server.addService(EXTERNAL_PROCESSOR_SERVICE, {
    Process: (call: ServerDuplexStream<ProcessingRequest__Output, ProcessingResponse>) => handleStream(picker, call),
  });
  const creds = tls === undefined
    ? ServerCredentials.createInsecure()
    : ServerCredentials.createSsl(null, [{ private_key: Buffer.from(tls.key), cert_chain: Buffer.from(tls.cert) }], false);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', creds, (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  (picker as { address: string }).address = `127.0.0.1:${port}`;
  return picker;
}

// ---- fake upstream -------------------------------------------------------------------------------

interface UpstreamRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

interface FakeUpstream {
  readonly address: string;
  readonly requests: UpstreamRequest[];
  /** Requests whose body arrived; `handler` runs for each. */
  handler: UpstreamHandler;
  /** Raw requests as they arrive (before the body), for abort tests. */
  readonly arrivals: IncomingMessage[];
  readonly server: HttpServer;
}

const echoJson: UpstreamHandler = (req, res, body) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ method: req.method, bytes: body.length }));
};

async function startFakeUpstream(handler: UpstreamHandler = echoJson): Promise<FakeUpstream> {
  const upstream: FakeUpstream = { address: '', requests: [], arrivals: [], handler, server: createHttpServer() };
  upstream.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    upstream.arrivals.push(req);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      upstream.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      upstream.handler(req, res, body);
    });
  });
  upstream.server.listen(0, '127.0.0.1');
  await once(upstream.server, 'listening');
  const addr = upstream.server.address();
  (upstream as { address: string }).address = `127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`;
  return upstream;
}

/** A loopback port with nothing listening on it. */
async function deadPort(): Promise<number> {
  const server = createNetServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// ---- client --------------------------------------------------------------------------------------

interface ClientResponse {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

function send(url: string, options: { method?: string; path?: string; headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${options.path ?? '/'}`, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

// ---- harness -------------------------------------------------------------------------------------

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(
  behaviour: PickerBehaviour = {},
  gatewayOptions: Partial<GatewayOptions> = {},
  handler?: UpstreamHandler,
): Promise<{ picker: FakePicker; upstream: FakeUpstream; gateway: GatewayServer }> {
  const upstream = await startFakeUpstream(handler);
  cleanups.push(() => new Promise<void>((resolve) => {
    upstream.server.close(() => resolve());
    upstream.server.closeAllConnections();
  }));
  const picker = await startFakePicker({ destination: upstream.address, ...behaviour });
  cleanups.push(() => picker.close());
  const gateway = await startGateway({ host: '127.0.0.1', port: 0, epp: picker.address, ...gatewayOptions });
  cleanups.push(() => gateway.close());
  return { picker, upstream, gateway };
}

function headerValue(m: ProcessingRequest__Output | undefined, key: string): string | undefined {
  return m?.request_headers?.headers?.headers?.find((h) => h.key === key)?.raw_value?.toString();
}

// ---- tests ---------------------------------------------------------------------------------------

describe('epp gateway (full duplex)', () => {
  it('proxies a 200 KB JSON POST with the body intact, routed by the picker', async () => {
    const { picker, upstream, gateway } = await setup();
    const prompt = 'x'.repeat(200_000);
    const body = Buffer.from(JSON.stringify({ model: 'm', prompt }));
    const res = await send(gateway.url, { method: 'POST', path: '/v1/completions', headers: { 'content-type': 'application/json', 'X-Custom': 'A' }, body });

    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toEqual({ method: 'POST', bytes: body.length });
    expect(res.headers['x-went-into-resp-headers']).toBe('true');

    const seen = upstream.requests[0];
    expect(seen?.body.equals(body)).toBe(true);
    expect(seen?.url).toBe('/v1/completions');
    expect(seen?.headers['content-length']).toBe(String(body.length));
    expect(seen?.headers['x-gateway-destination-endpoint']).toBe(upstream.address);
    expect(seen?.headers['x-custom']).toBe('A');
    expect(seen?.headers.host).toBe(new URL(gateway.url).host);

    const stream = picker.streams[0];
    const first = stream?.messages[0];
    expect(first?.protocol_config).toMatchObject({ request_body_mode: 'FULL_DUPLEX_STREAMED', response_body_mode: 'FULL_DUPLEX_STREAMED' });
    expect(first?.request_headers?.end_of_stream).toBeFalsy();
    expect(headerValue(first, ':method')).toBe('POST');
    expect(headerValue(first, ':path')).toBe('/v1/completions');
    expect(headerValue(first, ':authority')).toBe(new URL(gateway.url).host);
    expect(headerValue(first, ':scheme')).toBe('http');
    expect(headerValue(first, 'x-custom')).toBe('A');
    expect(headerValue(first, 'host')).toBeUndefined();
    const bodyMessages = stream?.messages.filter((m) => m.request === 'request_body') ?? [];
    expect(bodyMessages.length).toBeGreaterThan(1);
    expect(Buffer.concat(bodyMessages.map((m) => m.request_body?.body ?? Buffer.alloc(0))).equals(body)).toBe(true);
    expect(bodyMessages.at(-1)?.request_body?.end_of_stream).toBe(true);
    expect(stream?.messages.some((m) => m.request === 'response_headers' && m.response_headers?.headers?.headers?.some((h) => h.key === ':status'))).toBe(true);

    expect(gateway.stats).toMatchObject({ requests: 1, routed: 1, destinationAgreed: 1, clearRouteCache: 1, inFlight: 0 });
    expect(gateway.stats.routedByEndpoint.get(upstream.address)).toBe(1);
    await stream?.halfClosed;
  });

  it('sends a header-only GET with end_of_stream on the headers', async () => {
    const { picker, upstream, gateway } = await setup();
    const res = await send(gateway.url, { path: '/v1/models' });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toEqual({ method: 'GET', bytes: 0 });
    const messages = picker.streams[0]?.messages ?? [];
    expect(messages[0]?.request_headers?.end_of_stream).toBe(true);
    expect(messages.some((m) => m.request === 'request_body')).toBe(false);
    expect(upstream.requests[0]?.headers['content-length']).toBeUndefined();
    expect(upstream.requests[0]?.headers['transfer-encoding']).toBeUndefined();
  });

  it('streams an SSE response event by event', async () => {
    const events = ['data: {"token":"a"}\n\n', 'data: {"token":"b"}\n\n', 'data: [DONE]\n\n'];
    let next!: () => void;
    const sseHandler: UpstreamHandler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let i = 0;
      next = () => {
        const event = events[i++];
        if (event === undefined) res.end();
        else res.write(event);
      };
      next();
    };
    const { gateway } = await setup({}, {}, sseHandler);

    const received: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, agent: false }, (res) => {
        expect(res.headers['content-type']).toBe('text/event-stream');
        res.on('data', (chunk: Buffer) => {
          received.push(chunk.toString());
          // The next event is only produced after this one reached the client: nothing may buffer.
          next();
        });
        res.on('end', () => resolve());
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(JSON.stringify({ model: 'm', stream: true, messages: [] }));
    });
    await done;
    expect(received).toEqual(events);
  });

  it('carries a 1 MB response through the picker byte for byte', async () => {
    const payload = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) % 251;
    const { picker, gateway } = await setup({}, {}, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(payload.length) });
      res.end(payload);
    });
    const res = await send(gateway.url, { method: 'POST', body: '{"model":"m"}' });
    expect(res.status).toBe(200);
    expect(res.body.equals(payload)).toBe(true);
    const responseBodies = picker.streams[0]?.messages.filter((m) => m.request === 'response_body') ?? [];
    expect(responseBodies.length).toBeGreaterThan(2);
    expect(responseBodies.at(-1)?.response_body?.end_of_stream).toBe(true);
  });

  it('serves concurrent and sequential requests over pooled upstream connections', async () => {
    const { upstream, gateway } = await setup();
    const batch = (n: number): Promise<ClientResponse[]> =>
      Promise.all(Array.from({ length: n }, (_, i) => send(gateway.url, { method: 'POST', body: JSON.stringify({ model: 'm', i }) })));
    const statuses = [...(await batch(10)), ...(await batch(10)), ...(await batch(10))].map((r) => r.status);
    expect(statuses).toEqual(Array.from({ length: 30 }, () => 200));
    expect(upstream.requests).toHaveLength(30);
    expect(gateway.stats).toMatchObject({ requests: 30, routed: 30, inFlight: 0 });
  });

  it('fails closed with 500 when the picker breaks the full-duplex protocol', async () => {
    const { upstream, gateway } = await setup({ nonStreamedBody: true });
    const res = await send(gateway.url, { method: 'POST', body: '{"model":"m"}' });
    expect(res.status).toBe(500);
    expect(res.body.toString()).toMatch(/streamed_response/);
    expect(gateway.stats.processorErrors).toBe(1);
    // The upstream may have seen the request start (headers were routed) but never a complete body.
    expect(upstream.requests).toHaveLength(0);
  });

  it('resets the client connection when the upstream dies mid-response', async () => {
    const { gateway } = await setup({}, {}, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n', () => res.socket?.destroy());
    });
    const outcome = await new Promise<string>((resolve) => {
      const req = httpRequest(`${gateway.url}/`, { method: 'POST', agent: false }, (res) => {
        res.on('data', () => undefined);
        res.on('end', () => resolve('ended'));
        res.on('error', () => resolve('reset'));
        res.on('aborted', () => resolve('reset'));
      });
      req.on('error', () => resolve('reset'));
      req.end('{"model":"m"}');
    });
    expect(outcome).toBe('reset');
    await vi.waitFor(() => expect(gateway.stats).toMatchObject({ upstreamFailures: 1, inFlight: 0 }));
  });

  it('delivers an ImmediateResponse to the client and never calls the upstream', async () => {
    const { upstream, gateway } = await setup({
      immediate: { status: 400, body: 'inference error: BadRequest - model not found in request body', headers: { 'x-llm-d-request-dropped-reason': 'bad' } },
    });
    const res = await send(gateway.url, { method: 'POST', body: '{"prompt":"hi"}', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body.toString()).toBe('inference error: BadRequest - model not found in request body');
    expect(res.headers['x-llm-d-request-dropped-reason']).toBe('bad');
    expect(upstream.arrivals).toHaveLength(0);
    expect(gateway.stats.immediateResponses).toBe(1);
  });

  it('answers 503 no healthy upstream when the picker names no destination', async () => {
    const { upstream, gateway } = await setup({ destination: undefined });
    const res = await send(gateway.url, { method: 'POST', body: '{}' });
    expect(res.status).toBe(503);
    expect(res.body.toString()).toBe('no healthy upstream');
    expect(upstream.arrivals).toHaveLength(0);
    expect(gateway.stats.noHealthyUpstream).toBe(1);
  });

  it('never routes on the client-sent destination header', async () => {
    const { upstream, gateway } = await setup({ destination: undefined });
    const res = await send(gateway.url, { headers: { 'x-gateway-destination-endpoint': upstream.address } });
    expect(res.status).toBe(503);
    expect(gateway.stats.clientDestinationHeaders).toBe(1);
  });

  it('uses the first valid entry of a destination list, metadata over header', async () => {
    const { picker, upstream, gateway } = await setup();
    picker.behaviour = { destination: `bogus,127.0.0.1:0, ${upstream.address},127.0.0.1:1`, headerDestination: '127.0.0.1:1' };
    const res = await send(gateway.url);
    expect(res.status).toBe(200);
    expect(gateway.stats.destinationMismatch).toBe(1);
    expect(gateway.stats.routedByEndpoint.get(upstream.address)).toBe(1);

    picker.behaviour = { destination: 'not-an-ip:80,10.0.0.1,127.0.0.1:0' };
    expect((await send(gateway.url)).status).toBe(503);
  });

  it('ignores header mutations Envoy forbids and counts them', async () => {
    const { upstream, gateway } = await setup({ extraSetHeaders: { host: 'evil.example', 'x-envoy-original-path': '/x', 'x-added': 'yes' } });
    const res = await send(gateway.url);
    expect(res.status).toBe(200);
    expect(upstream.requests[0]?.headers.host).toBe(new URL(gateway.url).host);
    expect(upstream.requests[0]?.headers['x-envoy-original-path']).toBeUndefined();
    expect(upstream.requests[0]?.headers['x-added']).toBe('yes');
    expect(gateway.stats.rejectedHeaderMutations).toBe(2);
  });

  it('fails closed with 500 when the picker is unreachable', async () => {
    const upstream = await startFakeUpstream();
    cleanups.push(() => new Promise<void>((resolve) => upstream.server.close(() => resolve())));
    const gateway = await startGateway({ host: '127.0.0.1', port: 0, epp: `127.0.0.1:${await deadPort()}` });
    cleanups.push(() => gateway.close());
    const res = await send(gateway.url, { method: 'POST', body: '{"model":"m"}' });
    expect(res.status).toBe(500);
    expect(gateway.stats.processorErrors).toBe(1);
    expect(upstream.arrivals).toHaveLength(0);
  });

  it('answers 503 under failureModeAllow when the picker is unreachable (no fallback cluster)', async () => {
    const gateway = await startGateway({ host: '127.0.0.1', port: 0, epp: `127.0.0.1:${await deadPort()}`, failureModeAllow: true });
    cleanups.push(() => gateway.close());
    const res = await send(gateway.url);
    expect(res.status).toBe(503);
    expect(res.body.toString()).toBe('no healthy upstream');
    expect(gateway.stats.failureModeAllowed).toBe(1);
  });

  it('answers 504 when the picker stalls past the processor timeout', async () => {
    const { gateway } = await setup({ hang: true }, { processorTimeoutMs: 150 });
    const res = await send(gateway.url, { method: 'POST', body: '{"model":"m"}' });
    expect(res.status).toBe(504);
    expect(gateway.stats.processorTimeouts).toBe(1);
  });

  it('answers 503 upstream connect error when the endpoint is down', async () => {
    const dead = `127.0.0.1:${await deadPort()}`;
    const { gateway } = await setup({ destination: dead });
    const res = await send(gateway.url, { method: 'POST', body: '{"model":"m"}' });
    expect(res.status).toBe(503);
    expect(res.body.toString()).toMatch(/^upstream connect error or disconnect\/reset before headers/);
    expect(gateway.stats.upstreamFailures).toBe(1);
    expect(gateway.stats.routedByEndpoint.get(dead)).toBe(1);
  });

  it('passes the response through unmodified when the picker closes the stream after routing', async () => {
    const { gateway } = await setup({ closeAfterRequest: true });
    const res = await send(gateway.url, { method: 'POST', body: '{"model":"m"}' });
    expect(res.status).toBe(200);
    expect(res.headers['x-went-into-resp-headers']).toBeUndefined();
    expect(JSON.parse(res.body.toString())).toEqual({ method: 'POST', bytes: 13 });
  });

  it('cleans up the stream and the upstream request when the client aborts', async () => {
    const { picker, upstream, gateway } = await setup({}, {}, () => undefined);
    const client = httpRequest(`${gateway.url}/v1/completions`, { method: 'POST', agent: false });
    client.on('error', () => undefined);
    client.end('{"model":"m"}');
    const [upstreamReq] = (await once(upstream.server, 'request')) as [IncomingMessage];
    const upstreamClosed = once(upstreamReq, 'close');
    client.destroy();

    await upstreamClosed;
    await picker.streams[0]?.cancelled;
    await vi.waitFor(() => expect(gateway.stats).toMatchObject({ inFlight: 0, streamsActive: 0, clientAborts: 1 }));
  });

  it('speaks TLS to the picker without verifying its self-signed certificate', async () => {
    const pems = await generate([{ name: 'commonName', value: 'epp' }], { keySize: 2048, algorithm: 'sha256' });
    const upstream = await startFakeUpstream();
    cleanups.push(() => new Promise<void>((resolve) => upstream.server.close(() => resolve())));
    const picker = await startFakePicker({ destination: upstream.address }, { key: pems.private, cert: pems.cert });
    cleanups.push(() => picker.close());
    const gateway = await startGateway({ host: '127.0.0.1', port: 0, epp: picker.address, eppTls: true });
    cleanups.push(() => gateway.close());
    const res = await send(gateway.url);
    expect(res.status).toBe(200);
  });
});

describe('epp gateway (buffered request bodies)', () => {
  it('sends the whole body in one message after the headers response and applies the body response', async () => {
    const rewritten = Buffer.from('{"model":"target","prompt":"hi"}');
    const { picker, upstream, gateway } = await setup({ mode: 'buffered', rewriteBody: () => rewritten }, { requestBodyMode: 'buffered' });
    const original = Buffer.from(JSON.stringify({ model: 'alias', prompt: 'y'.repeat(100_000) }));
    const res = await send(gateway.url, { method: 'POST', body: original, headers: { 'content-type': 'application/json' } });

    expect(res.status).toBe(200);
    expect(upstream.requests[0]?.body.equals(rewritten)).toBe(true);
    expect(upstream.requests[0]?.headers['content-length']).toBe(String(rewritten.length));
    const messages = picker.streams[0]?.messages ?? [];
    expect(messages[0]?.protocol_config?.request_body_mode).toBe('BUFFERED');
    const bodies = messages.filter((m) => m.request === 'request_body');
    expect(bodies).toHaveLength(1);
    expect(bodies[0]?.request_body?.body?.equals(original)).toBe(true);
    expect(bodies[0]?.request_body?.end_of_stream).toBe(true);
  });

  it('answers 413 when the body passes the buffer limit', async () => {
    const { upstream, gateway } = await setup({ mode: 'buffered' }, { requestBodyMode: 'buffered', bufferLimitBytes: 1000 });
    const res = await send(gateway.url, { method: 'POST', body: Buffer.alloc(5000, 0x61) });
    expect(res.status).toBe(413);
    expect(upstream.arrivals).toHaveLength(0);
  });
});
