/**
 * The v0.10 security and size flags against a running picker, with certificates generated here:
 * TLS and mutual TLS on /metrics (`--metrics-cert-dir`, `--metrics-client-ca-file`), a TLS floor and
 * cipher suites on ext_proc (`--tls-min-version`, `--tls-cipher-suites`), and the gRPC message limits
 * (`--grpc-max-recv-msg-size`, `--grpc-max-send-msg-size`) ending a stream with RESOURCE_EXHAUSTED.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type ConnectionOptions } from 'node:tls';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PickerServer } from '../../src/app.js';
import { tlsPolicy } from '../../src/extproc/tls-policy.js';
import { startTestPicker, writeEndpointsFile } from '../helpers/picker.js';
import { RawExtProcClient, requestBody, requestHeaders } from '../helpers/raw-extproc-client.js';

const FILE = 'endpoints:\n  - {name: a, address: 127.0.0.171, port: 8000}\n';

interface Pki {
  readonly ca: string;
  readonly caKey: string;
  readonly server: { cert: string; key: string };
  readonly client: { cert: string; key: string };
  readonly rogue: { cert: string; key: string };
}

async function makePki(): Promise<Pki> {
  const ca = await generate([{ name: 'commonName', value: 'test-ca' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }],
    clientCertificate: { cn: 'prometheus' },
  });
  const server = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    ca: { key: ca.private, cert: ca.cert },
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] }, { name: 'extKeyUsage', serverAuth: true }],
  });
  const rogue = await generate([{ name: 'commonName', value: 'rogue-ca' }], { keySize: 2048, algorithm: 'sha256', clientCertificate: { cn: 'intruder' } });
  return {
    ca: ca.cert,
    caKey: ca.private,
    server: { cert: server.cert, key: server.private },
    client: { cert: ca.clientcert ?? '', key: ca.clientprivate ?? '' },
    rogue: { cert: rogue.clientcert ?? '', key: rogue.clientprivate ?? '' },
  };
}

function certDir(pair: { cert: string; key: string }): string {
  const dir = mkdtempSync(join(tmpdir(), 'epp-metrics-tls-'));
  writeFileSync(join(dir, 'tls.crt'), pair.cert);
  writeFileSync(join(dir, 'tls.key'), pair.key);
  return dir;
}

/** GET /metrics over HTTPS; resolves with the status, or rejects with the handshake error. */
function scrape(port: number, options: { ca: string; cert?: string; key?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path: '/metrics', ...options, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A TLS handshake with the ext_proc port; resolves with the negotiated protocol and cipher, or rejects. */
function handshake(port: number, options: ConnectionOptions): Promise<{ protocol: string | null; cipher: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['h2'], servername: 'localhost', ...options }, () => {
      const result = { protocol: socket.getProtocol(), cipher: socket.getCipher().name };
      socket.end();
      resolve(result);
    });
    socket.on('error', reject);
  });
}

let pki: Pki;
const pickers: PickerServer[] = [];
const clients: RawExtProcClient[] = [];

beforeAll(async () => {
  pki = await makePki();
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const p of pickers) await p.shutdown(500);
});

async function picker(over: Parameters<typeof startTestPicker>[0] extends infer O ? Partial<O> : never): Promise<PickerServer> {
  const p = await startTestPicker({ discovery: { endpointsFile: writeEndpointsFile(FILE) }, ...over });
  pickers.push(p);
  return p;
}

describe('/metrics over TLS', () => {
  it('--metrics-client-ca-file: only a client certificate signed by that CA gets the metrics', async () => {
    const caFile = join(certDir(pki.server), 'client-ca.pem');
    writeFileSync(caFile, pki.ca);
    const p = await picker({ metricsTls: { certDir: certDir(pki.server), clientCaFile: caFile } });
    const ok = await scrape(p.metricsPort, { ca: pki.ca, ...pki.client });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('inference_pool_ready_pods');
    await expect(scrape(p.metricsPort, { ca: pki.ca })).rejects.toThrow();
    await expect(scrape(p.metricsPort, { ca: pki.ca, ...pki.rogue })).rejects.toThrow();
    // Plain HTTP on a TLS port gets no metrics.
    const plain = await new Promise<string>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port: p.metricsPort, path: '/metrics' }, (res) => resolve(`status ${res.statusCode ?? 0}`));
      req.on('error', (err) => resolve(`error ${err.message}`));
      req.end();
    });
    expect(plain).not.toBe('status 200');
  });

  it('--metrics-cert-dir alone: TLS with the directory certificate, TLS 1.2 at least', async () => {
    const p = await picker({ metricsTls: { certDir: certDir(pki.server), clientCaFile: '' } });
    expect((await scrape(p.metricsPort, { ca: pki.ca })).status).toBe(200);
    await expect(
      new Promise((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port: p.metricsPort, ca: pki.ca, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }, () => resolve(s.getProtocol()));
        s.on('error', reject);
      }),
    ).rejects.toThrow();
  });

  it('reloads the metrics certificate when the directory changes, as the reference\'s metrics server does', async () => {
    const dir = certDir(pki.server);
    const p = await picker({ metricsTls: { certDir: dir, clientCaFile: '' } });
    const servedCn = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port: p.metricsPort, ca: pki.ca, servername: 'localhost' }, () => {
          const cn = s.getPeerCertificate().subject.CN;
          s.end();
          resolve(Array.isArray(cn) ? cn.join(',') : (cn ?? ''));
        });
        s.on('error', reject);
      });
    expect(await servedCn()).toBe('localhost');
    const renewed = await generate([{ name: 'commonName', value: 'renewed' }], {
      keySize: 2048,
      algorithm: 'sha256',
      ca: { key: pki.caKey, cert: pki.ca },
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }] }],
    });
    writeFileSync(join(dir, 'tls.key'), renewed.private);
    writeFileSync(join(dir, 'tls.crt'), renewed.cert);
    await vi.waitFor(async () => expect(await servedCn()).toBe('renewed'), { timeout: 5000, interval: 100 });
  });

  it('refuses to start when the certificate directory lacks tls.crt', async () => {
    await expect(picker({ metricsTls: { certDir: mkdtempSync(join(tmpdir(), 'epp-empty-')), clientCaFile: '' } })).rejects.toThrow(/tls\.crt/);
  });
});

describe('ext_proc TLS policy', () => {
  it('--tls-min-version=VersionTLS13 refuses a TLS 1.2 client', async () => {
    const p = await picker({ secureServing: true, keyPair: pki.server, tlsPolicy: tlsPolicy('VersionTLS13', []) });
    expect((await handshake(p.grpcPort, {})).protocol).toBe('TLSv1.3');
    await expect(handshake(p.grpcPort, { maxVersion: 'TLSv1.2' })).rejects.toThrow();
  });

  it('--tls-cipher-suites limits TLS 1.2 to the listed suites', async () => {
    const p = await picker({ secureServing: true, keyPair: pki.server, tlsPolicy: tlsPolicy('', ['TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384']) });
    expect(await handshake(p.grpcPort, { maxVersion: 'TLSv1.2' })).toEqual({ protocol: 'TLSv1.2', cipher: 'ECDHE-RSA-AES256-GCM-SHA384' });
    await expect(handshake(p.grpcPort, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' })).rejects.toThrow();
  });
});

describe('gRPC message limits', () => {
  async function stream(p: PickerServer, body: string[]) {
    const client = new RawExtProcClient(`127.0.0.1:${p.grpcPort}`);
    clients.push(client);
    const s = client.open();
    s.send(requestHeaders({ ':method': 'POST', ':path': '/v1/completions' }));
    body.forEach((c, i) => s.send(requestBody(c, i === body.length - 1)));
    // Ended (a failure), or routed: the header answer and the forwarded body's last chunk arrived.
    await s.until((x) => x.ended || x.responses.some((r) => r.msg.request_body?.response?.body_mutation?.streamed_response?.end_of_stream === true));
    return s;
  }

  it('--grpc-max-recv-msg-size: a larger message ends the stream with RESOURCE_EXHAUSTED', async () => {
    const p = await picker({ grpcMaxReceiveBytes: 1024 });
    const s = await stream(p, [JSON.stringify({ model: 'm', prompt: 'x'.repeat(4096) })]);
    expect(s.error?.code).toBe(8);
    expect(s.error?.message).toMatch(/Received message larger than max \(\d+ vs 1024\)/);
  });

  it('--grpc-max-send-msg-size: an answer larger than the limit ends the stream with RESOURCE_EXHAUSTED', async () => {
    const p = await picker({ grpcMaxSendBytes: 2048 });
    const prompt = 'y'.repeat(8000);
    const body = JSON.stringify({ model: 'm', prompt });
    // Sent in 1 KB messages (under any receive limit); the forwarded body goes back as one larger message.
    const chunks = body.match(/[\s\S]{1,1000}/g) ?? [];
    const s = await stream(p, chunks);
    expect(s.error?.code).toBe(8);
    expect(s.error?.message).toMatch(/trying to send message larger than max \(\d+ vs\. 2048\)/);
    // Small answers still pass under the same limit.
    const small = await stream(p, [JSON.stringify({ model: 'm', prompt: 'hi' })]);
    expect(small.error).toBeUndefined();
    expect(small.responses[0]?.msg.request_headers).toBeDefined();
  });
});
