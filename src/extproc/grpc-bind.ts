/** Binding a grpc-js server to `host:port` (IPv6 hosts bracketed). */
import type { Server, ServerCredentials } from '@grpc/grpc-js';

/** `host:port`, with an IPv6 host in brackets. */
export function grpcAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Binds `server` to `host:port` (0 = any free port); resolves with the bound port. */
export function bindServer(server: Server, host: string, port: number, credentials: ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(grpcAddress(host, port), credentials, (err, bound) => (err === null ? resolve(bound) : reject(err)));
  });
}
