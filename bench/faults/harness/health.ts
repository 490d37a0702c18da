/** grpc.health.v1 Check against the picker's health port. */
import { Client, credentials } from '@grpc/grpc-js';
import { healthServiceDefinition } from '../../../src/health/health-service.js';

interface Method {
  readonly path: string;
  readonly requestSerialize: (v: unknown) => Buffer;
  readonly responseDeserialize: (b: Buffer) => unknown;
}

const CHECK = healthServiceDefinition.Check as unknown as Method;

/** One persistent channel to a health port, so repeated checks time the answer, not a connection setup. */
export class HealthClient {
  readonly #client: Client;

  constructor(address: string) {
    this.#client = new Client(address, credentials.createInsecure());
  }

  /** The status name (`SERVING`, `NOT_SERVING`, …) or `error: …`; never rejects. */
  check(service = '', timeoutMs = 2000): Promise<string> {
    return new Promise((resolve) => {
      this.#client.makeUnaryRequest(CHECK.path, CHECK.requestSerialize, CHECK.responseDeserialize, { service }, { deadline: Date.now() + timeoutMs }, (err, res) => {
        resolve(err !== null ? `error: ${err.message}` : String((res as { status?: unknown } | undefined)?.status));
      });
    });
  }

  close(): void {
    this.#client.close();
  }
}

/** One check on a fresh channel; never rejects. */
export async function healthStatus(address: string, service = '', timeoutMs = 2000): Promise<string> {
  const c = new HealthClient(address);
  try {
    return await c.check(service, timeoutMs);
  } finally {
    c.close();
  }
}
