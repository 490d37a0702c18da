/**
 * `grpc.health.v1.Health` with the reference EPP's service-name semantics. Without leader election
 * every service name — `""`, `liveness`, `readiness`, the ext_proc service, and unknown names such as
 * the chart's `inference-extension` — is SERVING iff the picker is live (discovery synced and not
 * draining). `Watch` is unimplemented, as in the reference; `List` reports the well-known names.
 */
import { status, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { service as healthServiceDefinition } from 'grpc-health-check';
import { KNOWN_HEALTH_SERVICES, type HealthState } from './health-state.js';

export { healthServiceDefinition };

export function createHealthHandlers(state: HealthState): UntypedServiceImplementation {
  return {
    Check(_call: ServerUnaryCall<{ service?: string }, unknown>, callback: sendUnaryData<{ status: string }>): void {
      callback(null, { status: state.status() });
    },
    Watch(call: ServerWritableStream<unknown, unknown>): void {
      call.emit('error', { code: status.UNIMPLEMENTED, details: 'Watch is not implemented' });
    },
    List(_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<{ statuses: Record<string, { status: string }> }>): void {
      const s = state.status();
      callback(null, { statuses: Object.fromEntries(KNOWN_HEALTH_SERVICES.map((name) => [name, { status: s }])) });
    },
  };
}
