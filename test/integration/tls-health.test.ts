import { credentials, status } from '@grpc/grpc-js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { selfSignedCertificate } from '../../src/extproc/tls.js';
import { createLogger } from '../../src/observability/logger.js';
import { healthCheck, healthWatchCode } from '../helpers/health-client.js';
import { startTestPicker, writeEndpointsFile } from '../helpers/picker.js';
import { RawExtProcClient, requestBody, requestHeaders } from '../helpers/raw-extproc-client.js';

const FILE = 'endpoints:\n  - {address: 127.0.0.21, port: 8000}\n';
const tlsNoVerify = (): ReturnType<typeof credentials.createSsl> => credentials.createSsl(null, null, null, { rejectUnauthorized: false });

async function routeOnce(address: string, creds = credentials.createInsecure()): Promise<string> {
  const client = new RawExtProcClient(address, creds);
  try {
    const s = client.open();
    s.send(requestHeaders({ ':path': '/v1/completions' }));
    s.send(requestBody('{"model":"m","prompt":"p"}', true));
    await s.until((x) => x.responses.length > 0 || x.ended, 5000);
    s.halfClose();
    return s.error !== undefined ? `error ${s.error.code}` : (s.responses[0]?.msg.request_headers?.response?.header_mutation?.set_headers?.[0]?.header?.raw_value?.toString() ?? 'none');
  } finally {
    client.close();
  }
}

describe('TLS', () => {
  it('serves TLS with a self-signed certificate made at start; gateways connect without verification', async () => {
    const picker = await startTestPicker({ secureServing: true, discovery: { endpointsFile: writeEndpointsFile(FILE) } });
    try {
      expect(await routeOnce(`127.0.0.1:${picker.grpcPort}`, tlsNoVerify())).toBe('127.0.0.21:8000');
      expect(await routeOnce(`127.0.0.1:${picker.grpcPort}`)).toBe(`error ${status.UNAVAILABLE}`);
    } finally {
      await picker.shutdown(1000);
    }
  });

  it('loads tls.crt and tls.key from --cert-path', async () => {
    const pair = await selfSignedCertificate(2048);
    const dir = mkdtempSync(join(tmpdir(), 'epp-cert-'));
    writeFileSync(join(dir, 'tls.crt'), pair.cert);
    writeFileSync(join(dir, 'tls.key'), pair.key);
    const picker = await startTestPicker({ secureServing: true, certPath: dir, discovery: { endpointsFile: writeEndpointsFile(FILE) } });
    try {
      // Trusting exactly that certificate proves it is the one served.
      const creds = credentials.createSsl(Buffer.from(pair.cert), null, null, { checkServerIdentity: () => undefined });
      expect(await routeOnce(`127.0.0.1:${picker.grpcPort}`, creds)).toBe('127.0.0.21:8000');
    } finally {
      await picker.shutdown(1000);
    }
  });

  it('reloads a rotated certificate for new handshakes, and keeps the current one when the new pair does not load (--enable-cert-reload)', async () => {
    const [a, b] = await Promise.all([selfSignedCertificate(2048), selfSignedCertificate(2048)]);
    const dir = mkdtempSync(join(tmpdir(), 'epp-cert-'));
    writeFileSync(join(dir, 'tls.crt'), a.cert);
    writeFileSync(join(dir, 'tls.key'), a.key);
    const lines: string[] = [];
    const logger = createLogger(2, 'test', { write: (line: string) => lines.push(line) });
    const picker = await startTestPicker({ secureServing: true, certPath: dir, enableCertReload: true, logger, discovery: { endpointsFile: writeEndpointsFile(FILE) } });
    const trusting = (pair: { cert: string }) => credentials.createSsl(Buffer.from(pair.cert), null, null, { checkServerIdentity: () => undefined });
    const address = `127.0.0.1:${picker.grpcPort}`;
    try {
      expect(await routeOnce(address, trusting(a))).toBe('127.0.0.21:8000');
      expect(await routeOnce(address, trusting(b))).toMatch(/^error/);
      writeFileSync(join(dir, 'tls.key'), b.key);
      writeFileSync(join(dir, 'tls.crt'), b.cert);
      await vi.waitFor(() => expect(lines.some((l) => l.includes('certificate reloaded'))).toBe(true), { timeout: 5000 });
      expect(await routeOnce(address, trusting(b))).toBe('127.0.0.21:8000');
      writeFileSync(join(dir, 'tls.crt'), 'not a certificate');
      await vi.waitFor(() => expect(lines.some((l) => l.includes('certificate reload failed'))).toBe(true), { timeout: 5000 });
      expect(await routeOnce(address, trusting(b))).toBe('127.0.0.21:8000');
    } finally {
      await picker.shutdown(1000);
    }
  });

  it('fails start-up clearly when --cert-path has no certificate', async () => {
    await expect(startTestPicker({ secureServing: true, certPath: '/nonexistent', discovery: { endpointsFile: writeEndpointsFile(FILE) } })).rejects.toThrow(/tls\.crt/);
  });
});

describe('gRPC health', () => {
  it('reports SERVING for every service name when live, NOT_SERVING once draining; Watch is unimplemented', async () => {
    const picker = await startTestPicker({ healthChecking: true, discovery: { endpointsFile: writeEndpointsFile(FILE) } });
    const health = `127.0.0.1:${picker.grpcHealthPort}`;
    try {
      for (const name of ['', 'liveness', 'readiness', 'inference-extension', 'envoy.service.ext_proc.v3.ExternalProcessor']) {
        expect(await healthCheck(health, name)).toBe('SERVING');
      }
      expect(await healthCheck(`127.0.0.1:${picker.grpcPort}`, 'envoy.service.ext_proc.v3.ExternalProcessor')).toBe('SERVING');
      expect(await healthWatchCode(health)).toBe(status.UNIMPLEMENTED);
      // A live stream keeps the server draining, so readiness can be observed meanwhile.
      const client = new RawExtProcClient(`127.0.0.1:${picker.grpcPort}`);
      const s = client.open();
      s.send(requestHeaders({ ':path': '/v1/completions' }));
      await vi.waitFor(() => expect(picker.streams.active).toBe(1));
      const stopped = picker.shutdown(5000);
      expect(await healthCheck(health, 'readiness')).toBe('NOT_SERVING');
      s.send(requestBody('{"model":"m","prompt":"p"}', true));
      await s.until((x) => x.responses.length === 2);
      expect(s.responses[0]?.msg.request_headers?.response?.header_mutation?.set_headers?.[0]?.header?.raw_value?.toString()).toBe('127.0.0.21:8000');
      s.halfClose();
      await stopped;
      client.close();
    } finally {
      await picker.shutdown(1000);
    }
  });
});
