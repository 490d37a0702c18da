/**
 * gRPC health with the reference EPP's leader-election semantics (used only with
 * `--ha-enable-leader-election`): `liveness` is always SERVING (a standby must not be restarted for
 * being a standby); `readiness`, `""` and the ext_proc service are SERVING only while the picker is
 * live (discovery synced, not draining) and this replica holds the lease; any other name answers
 * SERVICE_UNKNOWN. `Watch` is unimplemented; `List` reports the four known names.
 */
import { status, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { EXT_PROC_SERVICE_NAME, type HealthState } from './health-service.js';

type Status = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

/** The status of `service` under leader election. */
export function leaderHealthStatus(service: string, live: boolean, leader: boolean): Status {
  if (service === 'liveness') return 'SERVING';
  if (service === '' || service === 'readiness' || service === EXT_PROC_SERVICE_NAME) return live && leader ? 'SERVING' : 'NOT_SERVING';
  return 'SERVICE_UNKNOWN';
}

/** Health handlers that also require leadership (see the module comment). */
export function createLeaderHealthHandlers(state: HealthState, isLeader: () => boolean): UntypedServiceImplementation {
  const of = (service: string): Status => leaderHealthStatus(service, state.status() === 'SERVING', isLeader());
  return {
    Check(call: ServerUnaryCall<{ service?: string }, unknown>, callback: sendUnaryData<{ status: string }>): void {
      callback(null, { status: of(call.request.service ?? '') });
    },
    Watch(call: ServerWritableStream<unknown, unknown>): void {
      call.emit('error', { code: status.UNIMPLEMENTED, details: 'Watch is not implemented' });
    },
    List(_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<{ statuses: Record<string, { status: string }> }>): void {
      const names = ['', 'liveness', 'readiness', EXT_PROC_SERVICE_NAME];
      callback(null, { statuses: Object.fromEntries(names.map((n) => [n, { status: of(n) }])) });
    },
  };
}
