/**
 * `epp pd-sidecar` with the v0.10 flags, against capturing model servers on loopback: HTTPS legs
 * (`--enable-tls`, `--tls-insecure-skip-verify`), P2P prefix pulls from `x-kv-cache-source-host-port`
 * (`--enable-p2p-pull`), and W3C trace context passed on to both legs.
 */
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/observability/logger.js';
import { startPdSidecar, type PdSidecar, type PdSidecarOptions } from '../../src/pdsidecar/sidecar.js';

interface Seen {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
}

interface Capture {
  readonly host: string;
  readonly port: number;
  readonly seen: Seen[];
  close(): Promise<void>;
}

/** A model server that records each request and answers like vLLM (a prefill leg gets kv_transfer_params back). */
async function capture(host: string, tls?: { cert: string; key: string }): Promise<Capture> {
  const seen: Seen[] = [];
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      seen.push({ path: req.url ?? '', headers: req.headers, body });
      const kv = body.kv_transfer_params as Record<string, unknown> | undefined | null;
      const answer =
        kv?.do_remote_decode === true
          ? { choices: [{ text: 'x' }], kv_transfer_params: { do_remote_prefill: true, remote_engine_id: 'engine-p', remote_block_ids: [1, 2], remote_host: host, remote_port: 5600 }, usage: { prompt_tokens: 8, completion_tokens: 1, prompt_tokens_details: { cached_tokens: 4 } } }
          : { choices: [{ text: 'decoded' }], usage: { prompt_tokens: 8, completion_tokens: 2, prompt_tokens_details: null } };
      const text = JSON.stringify(answer);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
    });
  };
  const server: Server = tls === undefined ? createHttpServer(handle) : createHttpsServer(tls, handle);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    host,
    port: (server.address() as AddressInfo).port,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let pair: { cert: string; key: string };
const open: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  const pems = await generate([{ name: 'commonName', value: 'model-server' }], { keySize: 2048, algorithm: 'sha256' });
  pair = { cert: pems.cert, key: pems.private };
});

afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

afterAll(async () => {
  for (const o of open.splice(0)) await o.close();
});

async function sidecar(decode: Capture, over: Partial<PdSidecarOptions> = {}): Promise<PdSidecar> {
  const s = await startPdSidecar({
    host: '127.0.0.1',
    port: 0,
    vllmHost: decode.host,
    vllmPort: decode.port,
    connectTimeoutMs: 2000,
    prefillTimeoutMs: 5000,
    idleTimeoutMs: 5000,
    maxRequestBodyBytes: 1 << 20,
    logger: silentLogger(),
    ...over,
  });
  open.push(s);
  return s;
}

async function servers(prefillTls?: boolean, decodeTls?: boolean): Promise<{ prefill: Capture; decode: Capture }> {
  const prefill = await capture('127.0.0.151', prefillTls === true ? pair : undefined);
  const decode = await capture('127.0.0.152', decodeTls === true ? pair : undefined);
  open.push(prefill, decode);
  return { prefill, decode };
}

async function post(s: PdSidecar, headers: Record<string, string>, body: Record<string, unknown> = { model: 'm', prompt: 'hello', max_tokens: 5 }): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${s.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const TRACE = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'vendor=opaque' };

describe('--enable-tls / --tls-insecure-skip-verify', () => {
  it('reaches the prefiller and the local model server over HTTPS, passing trace context on both legs', async () => {
    const { prefill, decode } = await servers(true, true);
    const s = await sidecar(decode, { prefillerTls: { insecureSkipVerify: true }, decoderTls: { insecureSkipVerify: true } });
    const r = await post(s, { 'x-prefiller-host-port': `${prefill.host}:${prefill.port}`, ...TRACE });
    expect(r.status).toBe(200);
    expect(r.json.choices).toEqual([{ text: 'decoded' }]);
    expect(prefill.seen).toHaveLength(1);
    expect(decode.seen[0]?.body.kv_transfer_params).toMatchObject({ remote_engine_id: 'engine-p' });
    for (const leg of [prefill.seen[0], decode.seen[0]]) {
      expect(leg?.headers.traceparent).toBe(TRACE.traceparent);
      expect(leg?.headers.tracestate).toBe(TRACE.tracestate);
      expect(leg?.headers).not.toHaveProperty('x-prefiller-host-port');
    }
  });

  it('verifies the prefiller certificate unless told not to: an unverifiable prefiller falls back to local decode', async () => {
    const { prefill, decode } = await servers(true, false);
    const s = await sidecar(decode, { prefillerTls: { insecureSkipVerify: false } });
    const r = await post(s, { 'x-prefiller-host-port': `${prefill.host}:${prefill.port}` });
    expect(r.status).toBe(200);
    expect(prefill.seen).toHaveLength(0);
    expect(decode.seen[0]?.body).toEqual({ model: 'm', prompt: 'hello', max_tokens: 5 });
  });
});

describe('x-kv-cache-source-host-port', () => {
  it('with --enable-p2p-pull, the prefill leg pulls the cached prefix from the source', async () => {
    const { prefill, decode } = await servers();
    const s = await sidecar(decode, { p2pPull: { port: 7000 } });
    await post(s, { 'x-prefiller-host-port': `${prefill.host}:${prefill.port}`, 'x-kv-cache-source-host-port': '127.0.0.153:8000' });
    const kv = prefill.seen[0]?.body.kv_transfer_params as Record<string, unknown>;
    expect(kv).toMatchObject({ do_remote_decode: true, remote_kv_source: { remote_host: '127.0.0.153', remote_port: 7000 } });
    expect((kv.remote_kv_source as { kv_request_id: string }).kv_request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(prefill.seen[0]?.headers).not.toHaveProperty('x-kv-cache-source-host-port');
    expect(decode.seen[0]?.headers).not.toHaveProperty('x-kv-cache-source-host-port');
  });

  it('without a prefiller, the local decode gets kv_transfer_params with only the pull (the client copy is replaced)', async () => {
    const { decode } = await servers();
    const s = await sidecar(decode, { p2pPull: { port: 7000 } });
    await post(s, { 'x-kv-cache-source-host-port': '127.0.0.153:8000' }, { model: 'm', prompt: 'p', kv_transfer_params: { smuggled: true } });
    expect(decode.seen[0]?.body).toMatchObject({ model: 'm', prompt: 'p', kv_transfer_params: { remote_kv_source: { remote_host: '127.0.0.153', remote_port: 7000 } } });
    expect(decode.seen[0]?.body.kv_transfer_params).not.toHaveProperty('smuggled');
  });

  it('is ignored (and not forwarded) when the source is the prefiller itself, malformed, or P2P pulls are off', async () => {
    const { prefill, decode } = await servers();
    const on = await sidecar(decode, { p2pPull: { port: 7000 } });
    await post(on, { 'x-prefiller-host-port': `${prefill.host}:${prefill.port}`, 'x-kv-cache-source-host-port': `${prefill.host}:${prefill.port}` });
    expect(prefill.seen[0]?.body.kv_transfer_params).not.toHaveProperty('remote_kv_source');
    await post(on, { 'x-kv-cache-source-host-port': 'not a host' });
    expect(decode.seen[1]?.body).toEqual({ model: 'm', prompt: 'hello', max_tokens: 5 });
    const off = await sidecar(decode);
    await post(off, { 'x-kv-cache-source-host-port': '127.0.0.153:8000' });
    expect(decode.seen[2]?.body).toEqual({ model: 'm', prompt: 'hello', max_tokens: 5 });
    expect(decode.seen[2]?.headers).not.toHaveProperty('x-kv-cache-source-host-port');
  });
});
