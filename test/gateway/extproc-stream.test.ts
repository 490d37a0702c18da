import { Server, ServerCredentials, status as GrpcStatus, type ServerDuplexStream } from '@grpc/grpc-js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EXTERNAL_PROCESSOR_SERVICE, type ExternalProcessorClientType, type ProcessingRequest__Output, type ProcessingResponse } from '../../src/extproc/proto.js';
import { createExtProcClient } from '../../src/gateway/extproc-client.js';
import { ExtProcStream, ExtProcStreamError } from '../../src/gateway/extproc-stream.js';

type Call = ServerDuplexStream<ProcessingRequest__Output, ProcessingResponse>;

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** A processor whose behaviour per stream is `script`; returns a client connected to it. */
async function processor(script: (call: Call) => void): Promise<ExternalProcessorClientType> {
  const server = new Server();
  server.addService(EXTERNAL_PROCESSOR_SERVICE, { Process: (call: Call) => script(call) });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  const client = createExtProcClient(`127.0.0.1:${port}`);
  cleanups.push(() => server.forceShutdown(), () => client.close());
  return client;
}

/** A headers response whose set_headers echo the request's `:path`, to tell responses apart. */
function echo(request: ProcessingRequest__Output): ProcessingResponse {
  const path = request.request_headers?.headers?.headers?.find((h) => h.key === ':path')?.raw_value ?? Buffer.alloc(0);
  return { request_headers: { response: { header_mutation: { set_headers: [{ header: { key: 'x-echo', raw_value: path } }] } } } };
}

function headers(path: string): { request_headers: { headers: { headers: { key: string; raw_value: Buffer }[] } } } {
  return { request_headers: { headers: { headers: [{ key: ':path', raw_value: Buffer.from(path) }] } } };
}

function echoed(response: { request_headers?: { response?: { header_mutation?: { set_headers?: { header?: { raw_value?: Buffer } }[] } } } } | undefined): string | undefined {
  return response?.request_headers?.response?.header_mutation?.set_headers?.[0]?.header?.raw_value?.toString();
}

describe('ExtProcStream', () => {
  it('sends in order, yields responses in order, and ends cleanly', async () => {
    const client = await processor((call) => {
      call.on('data', (m: ProcessingRequest__Output) => call.write(echo(m)));
      call.on('end', () => call.end());
    });
    const stream = ExtProcStream.open(client);
    for (const path of ['/a', '/b', '/c']) void stream.send(headers(path));
    expect(echoed(await stream.next())).toBe('/a');
    expect(echoed(await stream.next())).toBe('/b');
    expect(echoed(await stream.next())).toBe('/c');
    stream.end();
    expect(await stream.next()).toBeUndefined();
    expect((await stream.closed).code).toBe(GrpcStatus.OK);
    expect(stream.ended).toBe(true);
  });

  it('delivers every response sent before the server closed the stream', async () => {
    const client = await processor((call) => {
      call.once('data', (m: ProcessingRequest__Output) => {
        for (let i = 0; i < 3; i++) call.write(echo(m));
        call.end();
      });
    });
    const stream = ExtProcStream.open(client);
    await stream.send(headers('/x'));
    const seen: (string | undefined)[] = [];
    for await (const response of stream) seen.push(echoed(response));
    expect(seen).toEqual(['/x', '/x', '/x']);
  });

  it('rejects with kind status, after earlier responses, when the server fails the stream', async () => {
    const client = await processor((call) => {
      call.once('data', (m: ProcessingRequest__Output) => {
        call.write(echo(m));
        call.emit('error', { code: GrpcStatus.RESOURCE_EXHAUSTED, details: 'body too large' });
      });
    });
    const stream = ExtProcStream.open(client);
    await stream.send(headers('/big'));
    expect(echoed(await stream.next())).toBe('/big');
    const failure = await stream.next().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ExtProcStreamError);
    expect(failure).toMatchObject({ kind: 'status', status: { code: GrpcStatus.RESOURCE_EXHAUSTED, details: 'body too large' } });
  });

  it('times out a wait without closing the stream', async () => {
    let call: Call | undefined;
    const client = await processor((c) => {
      call = c;
      c.on('error', () => undefined);
    });
    const stream = ExtProcStream.open(client);
    await stream.send(headers('/slow'));
    await expect(stream.next(20)).rejects.toMatchObject({ kind: 'timeout' });
    // On a loaded machine the server may see the stream only after the wait has timed out.
    await vi.waitFor(() => expect(call).toBeDefined());
    call?.write(echo({ request_headers: { headers: { headers: [{ key: ':path', raw_value: Buffer.from('/late') }] } } }));
    expect(echoed(await stream.next(5_000))).toBe('/late');
    stream.cancel();
  });

  it('cancels: the server sees CANCELLED, waits reject and sends are refused', async () => {
    let received!: () => void;
    let cancelled!: () => void;
    const arrived = new Promise<void>((resolve) => (received = resolve));
    const seenByServer = new Promise<void>((resolve) => (cancelled = resolve));
    const client = await processor((call) => {
      call.on('data', () => received());
      call.on('cancelled', () => cancelled());
      call.on('error', () => undefined);
    });
    const stream = ExtProcStream.open(client);
    await stream.send(headers('/c'));
    const pending = stream.next();
    await arrived;
    stream.cancel();
    await expect(pending).rejects.toMatchObject({ kind: 'status', status: { code: GrpcStatus.CANCELLED } });
    await seenByServer;
    await expect(stream.send(headers('/after'))).rejects.toMatchObject({ kind: 'closed' });
  });

  it('refuses sends after end()', async () => {
    const client = await processor((call) => {
      call.resume();
      call.on('end', () => call.end());
    });
    const stream = ExtProcStream.open(client);
    stream.end();
    await expect(stream.send(headers('/late'))).rejects.toMatchObject({ kind: 'closed' });
    expect(await stream.next()).toBeUndefined();
  });

  it('holds back a fast server without losing or reordering responses', async () => {
    const total = 300;
    const client = await processor((call) => {
      call.once('data', () => {
        for (let i = 0; i < total; i++) {
          call.write({ request_body: { response: { body_mutation: { streamed_response: { body: Buffer.from(String(i)), end_of_stream: i === total - 1 } } } } });
        }
        call.end();
      });
    });
    const stream = ExtProcStream.open(client, { maxBuffered: 8 });
    await stream.send(headers('/many'));
    const bodies: string[] = [];
    for await (const response of stream) bodies.push(response.request_body?.response?.body_mutation?.streamed_response?.body?.toString() ?? '');
    expect(bodies).toEqual(Array.from({ length: total }, (_, i) => String(i)));
  });

  it('reports an unreachable server as UNAVAILABLE', async () => {
    const client = createExtProcClient('127.0.0.1:1');
    cleanups.push(() => client.close());
    const stream = ExtProcStream.open(client);
    void stream.send(headers('/nowhere'));
    await expect(stream.next()).rejects.toMatchObject({ kind: 'status', status: { code: GrpcStatus.UNAVAILABLE } });
  });
});
