/**
 * `grpc.health.v1.Health` on our gRPC server (the ext_proc port with `--health-checking`), with the
 * same answers as the grpc-js handlers on the health port: Check and List from a status function,
 * Watch UNIMPLEMENTED (as in the reference).
 */
import { service as healthDefinition } from 'grpc-health-check';
import type { GrpcCallHandler, GrpcMethod, GrpcServerCall } from '../grpc/grpc-server-call.js';
import { GRPC_UNIMPLEMENTED } from '../grpc/grpc-status.js';

export type HealthStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

interface MethodDefinition {
  readonly path: string;
  readonly requestDeserialize: (bytes: Buffer) => unknown;
  readonly responseSerialize: (value: unknown) => Buffer;
}

const definitions = healthDefinition as unknown as Record<'Check' | 'Watch' | 'List', MethodDefinition>;

/** A unary call: the request is kept, answered when the client half-closes. */
class UnaryHealthCall implements GrpcCallHandler<unknown> {
  #request: unknown;
  constructor(
    private readonly call: GrpcServerCall<unknown, unknown>,
    private readonly answer: (request: unknown) => unknown,
  ) {}
  onMessage(message: unknown): void {
    this.#request = message;
  }
  onHalfClose(): void {
    this.call.send(this.answer(this.#request));
    this.call.end();
  }
  onCancel(): void {}
}

/** Check, Watch and List; `statusOf(service)` answers Check, `names` are what List reports. */
export function healthMethods(statusOf: (service: string) => HealthStatus, names: readonly string[]): GrpcMethod<unknown, unknown>[] {
  const method = (name: 'Check' | 'Watch' | 'List', start: (call: GrpcServerCall<unknown, unknown>) => GrpcCallHandler<unknown>): GrpcMethod<unknown, unknown> => {
    const d = definitions[name];
    return { path: d.path, deserialize: d.requestDeserialize, serialize: d.responseSerialize, start };
  };
  return [
    method('Check', (call) => new UnaryHealthCall(call, (request) => ({ status: statusOf((request as { service?: string } | undefined)?.service ?? '') }))),
    method('List', (call) => new UnaryHealthCall(call, () => ({ statuses: Object.fromEntries(names.map((n) => [n, { status: statusOf(n) }])) }))),
    method('Watch', (call) => {
      call.end(GRPC_UNIMPLEMENTED, 'Watch is not implemented');
      return { onMessage() {}, onHalfClose() {}, onCancel() {} };
    }),
  ];
}
