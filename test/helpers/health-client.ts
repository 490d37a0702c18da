import { Client, credentials } from '@grpc/grpc-js';
import { healthServiceDefinition } from '../../src/health/health-service.js';

interface Method {
  readonly path: string;
  readonly requestSerialize: (v: unknown) => Buffer;
  readonly responseDeserialize: (b: Buffer) => unknown;
}

/** Calls grpc.health.v1.Health/Check for `service` and resolves with the status name or the gRPC error code. */
export function healthCheck(address: string, service: string): Promise<string> {
  const method = healthServiceDefinition.Check as unknown as Method;
  const client = new Client(address, credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, { service }, (err, res) => {
      client.close();
      resolve(err !== null ? `code ${err.code}` : String((res as { status?: unknown } | undefined)?.status));
    });
  });
}

/** Opens Health/Watch and resolves with the gRPC status code it ends with. */
export function healthWatchCode(address: string): Promise<number> {
  const method = healthServiceDefinition.Watch as unknown as Method;
  const client = new Client(address, credentials.createInsecure());
  return new Promise((resolve) => {
    const call = client.makeServerStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, { service: '' });
    call.on('data', () => undefined);
    call.on('error', (err: { code: number }) => {
      client.close();
      resolve(err.code);
    });
  });
}
