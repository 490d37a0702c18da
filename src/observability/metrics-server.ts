import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import { listen, closeServer } from '../util/net.js';

/** Serves `GET /metrics` (Prometheus text) on its own port, as the reference does on 9090. */
export async function startMetricsServer(registry: Registry, host: string, port: number): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && !req.url?.startsWith('/metrics?'))) {
      res.writeHead(404).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500).end(`${err instanceof Error ? err.message : String(err)}\n`),
    );
  });
  const bound = await listen(server, host, port);
  return { server, port: bound, close: () => closeServer(server) };
}
