import { request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, it, expect } from 'vitest';
import { startMockVllm, type MockVllmOptions, type MockVllmServer } from '../../src/mockvllm/server.js';

const MODEL = 'Qwen/Qwen2.5-3B-Instruct';
const LIMIT = 64 * 1024 * 1024;
const servers: MockVllmServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(extra: Partial<MockVllmOptions> = {}): Promise<MockVllmServer> {
  const server = await startMockVllm({ host: '127.0.0.1', port: 0, model: MODEL, podName: 'pod-b', profile: 'none', ...extra });
  servers.push(server);
  return server;
}

function expectIdentity(headers: { get(name: string): string | null } | IncomingHttpHeaders, server: MockVllmServer): void {
  const get = (name: string): unknown => ('get' in headers && typeof headers.get === 'function' ? headers.get(name) : (headers as IncomingHttpHeaders)[name]);
  expect(get('x-inference-pod')).toBe('pod-b');
  expect(get('x-inference-port')).toBe(String(server.port));
}

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
}

/**
 * POSTs a body of `chunks` × `chunk` bytes with chunked encoding (or with `declaredLength` as
 * content-length), resolving as soon as response headers arrive, whatever happens to the upload.
 */
function upload(server: MockVllmServer, chunk: Buffer, chunks: number, declaredLength?: number): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const headers = declaredLength !== undefined ? { 'content-length': String(declaredLength) } : { 'transfer-encoding': 'chunked' };
    const req = request(`${server.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } });
    req.on('response', (res) => {
      answered = true;
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
      res.resume();
      req.destroy();
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    let sent = 0;
    const pump = (): void => {
      while (!answered && sent < chunks) {
        sent++;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered && declaredLength === undefined) req.end();
    };
    pump();
  });
}

describe('plain endpoints', () => {
  it('GET /health answers 200 with an empty body', async () => {
    const server = await start();
    const res = await fetch(`${server.url}/health`);
    expect(res.status).toBe(200);
    expectIdentity(res.headers, server);
    expect(await res.text()).toBe('');
  });

  it('GET /v1/models lists the base model then loaded adapters', async () => {
    const server = await start({ loras: [{ name: 'sql-lora', path: '/adapters/sql' }] });
    const res = await fetch(`${server.url}/v1/models`);
    expect(res.status).toBe(200);
    expectIdentity(res.headers, server);
    const body = (await res.json()) as { object: string; data: Record<string, unknown>[] };
    expect(body.object).toBe('list');
    expect(body.data[0]).toMatchObject({ id: MODEL, object: 'model', owned_by: 'vllm', root: MODEL, parent: null, max_model_len: 2048 });
    expect(body.data[1]).toMatchObject({ id: 'sql-lora', object: 'model', owned_by: 'vllm', root: '/adapters/sql', parent: MODEL });
  });

  it('answers an unknown path with 404 and a wrong method with 405, identity headers included', async () => {
    const server = await start();
    const missing = await fetch(`${server.url}/v2/nothing`);
    expect(missing.status).toBe(404);
    expectIdentity(missing.headers, server);
    expect(await missing.json()).toEqual({ detail: 'Not Found' });
    const wrong = await fetch(`${server.url}/v1/completions`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expectIdentity(wrong.headers, server);
  });

  it('uses POD_NAME when no pod name is given, else mock-vllm-<port>', async () => {
    const saved = process.env.POD_NAME;
    try {
      process.env.POD_NAME = 'from-env';
      const a = await startMockVllm({ host: '127.0.0.1', port: 0, model: MODEL, profile: 'none' });
      servers.push(a);
      expect((await fetch(`${a.url}/health`)).headers.get('x-inference-pod')).toBe('from-env');
      delete process.env.POD_NAME;
      const b = await startMockVllm({ host: '127.0.0.1', port: 0, model: MODEL, profile: 'none' });
      servers.push(b);
      expect((await fetch(`${b.url}/health`)).headers.get('x-inference-pod')).toBe(`mock-vllm-${b.port}`);
    } finally {
      if (saved === undefined) delete process.env.POD_NAME;
      else process.env.POD_NAME = saved;
    }
  });
});

describe('LoRA adapter endpoints', () => {
  it('loads and unloads adapters, which then become (un)servable', async () => {
    const server = await start();
    const post = (path: string, body: unknown): Promise<Response> =>
      fetch(`${server.url}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    const ask = (): Promise<Response> => post('/v1/completions', { model: 'tweet-lora', prompt: 'x', max_tokens: 1 });

    expect((await ask()).status).toBe(404);
    const loaded = await post('/v1/load_lora_adapter', { lora_name: 'tweet-lora', lora_path: '/a/tweet' });
    expect(loaded.status).toBe(200);
    expect(await loaded.text()).toMatch(/tweet-lora/);
    expect((await ask()).status).toBe(200);
    const again = await post('/v1/load_lora_adapter', { lora_name: 'tweet-lora', lora_path: '/a/tweet' });
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ object: 'error', type: 'BadRequestError', code: 400 });
    expect((await post('/v1/load_lora_adapter', { lora_name: 'x' })).status).toBe(400);

    expect((await post('/v1/unload_lora_adapter', { lora_name: 'tweet-lora' })).status).toBe(200);
    expect((await ask()).status).toBe(404);
    const gone = await post('/v1/unload_lora_adapter', { lora_name: 'tweet-lora' });
    expect(gone.status).toBe(404);
    expect(await gone.json()).toMatchObject({ object: 'error', type: 'NotFoundError', code: 404 });
  });
});

describe('hostile input', () => {
  it('answers a declared body over 64 MiB with 413 before reading it', async () => {
    const server = await start();
    const res = await upload(server, Buffer.from('{"prompt":"'), 1, LIMIT + 1);
    expect(res.status).toBe(413);
    expectIdentity(res.headers, server);
  });

  it('answers a chunked body that grows past 64 MiB with 413', async () => {
    const server = await start();
    const res = await upload(server, Buffer.alloc(1024 * 1024, 0x61), 80);
    expect(res.status).toBe(413);
    expectIdentity(res.headers, server);
    // The server keeps serving.
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  it('answers malformed HTTP with 400 carrying the identity headers', async () => {
    const server = await start();
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => (text += d));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toContain('x-inference-pod: pod-b\r\n');
    expect(raw).toContain(`x-inference-port: ${server.port}\r\n`);
  });

  it('close() resolves while a request is still generating', async () => {
    let reached!: () => void;
    const held = new Promise<void>((r) => (reached = r));
    const server = await startMockVllm({
      host: '127.0.0.1',
      port: 0,
      model: MODEL,
      profile: 'none',
      tokenPacer: (_step, signal) =>
        new Promise<void>((resolve) => {
          reached();
          signal.addEventListener('abort', () => resolve(), { once: true });
        }),
    });
    const pending = fetch(`${server.url}/v1/completions`, { method: 'POST', body: '{"prompt":"x"}' }).then(
      (r) => r.status,
      () => 'disconnected',
    );
    await held;
    await server.close();
    expect(await pending).toBe('disconnected');
  });
});
