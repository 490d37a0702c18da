/**
 * gRPC health with the reference EPP's leader-election semantics (used only with
 * `--ha-enable-leader-election`): `liveness` is always SERVING (a standby must not be restarted for
 * being a standby); `readiness`, `""` and the ext_proc service are SERVING only while the picker is
 * live (discovery synced, not draining) and this replica holds the lease; any other name answers
 * SERVICE_UNKNOWN. Served by `health-methods.ts` (`Watch` unimplemented; `List` reports the four known names).
 */
import { EXT_PROC_SERVICE_NAME } from './health-state.js';

type Status = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

/** The status of `service` under leader election. */
export function leaderHealthStatus(service: string, live: boolean, leader: boolean): Status {
  if (service === 'liveness') return 'SERVING';
  if (service === '' || service === 'readiness' || service === EXT_PROC_SERVICE_NAME) return live && leader ? 'SERVING' : 'NOT_SERVING';
  return 'SERVICE_UNKNOWN';
}
