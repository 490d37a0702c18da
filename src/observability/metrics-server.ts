import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { join } from 'node:path';
import type { SecureVersion } from 'node:tls';
import type { Registry } from 'prom-client';
import { listen, closeServer } from '../util/net.js';

/**
 * TLS on `/metrics` (`--metrics-cert-dir`, `--metrics-client-ca-file`): `tls.crt`/`tls.key` from the
 * directory; with a client CA, only clients presenting a certificate it signed complete the handshake.
 * TLS 1.2 at least, as the reference's metrics server.
 */
export interface MetricsTls {
  readonly cert: string;
  readonly key: string;
  /** PEM CA bundle; set = mutual TLS required. */
  readonly clientCa?: string;
  /** Raises the floor above TLS 1.2 (`--tls-min-version`), never lowers it. */
  readonly minVersion?: SecureVersion;
  /** OpenSSL cipher list for TLS ≤ 1.2 (`--tls-cipher-suites`). */
  readonly ciphers?: string;
}

/** A metrics listener: its port, and `setCertificate` to swap the pair for new handshakes (TLS only). */
export interface MetricsServer {
  readonly server: Server | HttpsServer;
  readonly port: number;
  readonly secure: boolean;
  setCertificate(pair: { readonly cert: string; readonly key: string }): void;
  close(): Promise<void>;
}

/** Reads `dir/tls.crt`, `dir/tls.key` and the optional client CA file; throws with the file that could not be read. */
export function loadMetricsTls(certDir: string, clientCaFile: string): MetricsTls {
  const read = (path: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new Error(`metrics TLS: cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  };
  const cert = read(join(certDir, 'tls.crt'));
  const key = read(join(certDir, 'tls.key'));
  if (clientCaFile === '') return { cert, key };
  const clientCa = read(clientCaFile);
  if (!clientCa.includes('-----BEGIN CERTIFICATE-----')) throw new Error(`metrics TLS: no CA certificate in ${clientCaFile}`);
  return { cert, key, clientCa };
}

const TLS_ORDER: readonly SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

function secureOptions(tls: MetricsTls, pair: { readonly cert: string; readonly key: string }) {
  const floor: SecureVersion = tls.minVersion !== undefined && TLS_ORDER.indexOf(tls.minVersion) > TLS_ORDER.indexOf('TLSv1.2') ? tls.minVersion : 'TLSv1.2';
  return {
    cert: pair.cert,
    key: pair.key,
    minVersion: floor,
    ...(tls.ciphers === undefined ? {} : { ciphers: tls.ciphers }),
    ...(tls.clientCa === undefined ? {} : { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true }),
  };
}

/** Serves `GET /metrics` (Prometheus text) on its own port, as the reference does on 9090; over TLS when `tls` is given. */
export async function startMetricsServer(registry: Registry, host: string, port: number, tls?: MetricsTls): Promise<MetricsServer> {
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && !req.url?.startsWith('/metrics?'))) {
      res.writeHead(404).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500).end(`${err instanceof Error ? err.message : String(err)}\n`),
    );
  };
  const server = tls === undefined ? createServer(handle) : createHttpsServer(secureOptions(tls, tls), handle);
  const bound = await listen(server, host, port);
  return {
    server,
    port: bound,
    secure: tls !== undefined,
    setCertificate: (pair) => {
      if (tls !== undefined) (server as HttpsServer).setSecureContext(secureOptions(tls, pair));
    },
    close: () => closeServer(server),
  };
}
