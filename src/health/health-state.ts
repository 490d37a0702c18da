/**
 * The picker's health as gRPC health reports it: live (discovery synced) and not draining. No gRPC
 * library here: the picker serves it on its own transport (`health-methods.ts`), `epp bbr` through
 * grpc-js (`health-service.ts`).
 */

export const EXT_PROC_SERVICE_NAME = 'envoy.service.ext_proc.v3.ExternalProcessor';
/** The service names List reports. */
export const KNOWN_HEALTH_SERVICES: readonly string[] = ['', 'liveness', 'readiness', EXT_PROC_SERVICE_NAME];

type ServingStatus = 'SERVING' | 'NOT_SERVING';

/** Live state as the health service reports it. */
export class HealthState {
  #live: () => boolean;
  #draining = false;

  constructor(live: () => boolean) {
    this.#live = live;
  }

  /** Readiness goes NOT_SERVING at once when draining starts. */
  startDraining(): void {
    this.#draining = true;
  }

  status(): ServingStatus {
    return !this.#draining && this.#live() ? 'SERVING' : 'NOT_SERVING';
  }
}
