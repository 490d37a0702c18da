import { Endpoint, UNKNOWN_METRICS, type EndpointMetrics } from '../../src/datastore/endpoint.js';
import { CycleState } from '../../src/scheduling/cycle-state.js';
import type { SchedulingRequest } from '../../src/scheduling/types.js';

/** An endpoint `e<i>` at 10.0.0.<i+1>:8000 with the given metrics. */
export function endpoint(i: number, metrics: Partial<EndpointMetrics> = {}, labels: Record<string, string> = {}): Endpoint {
  const e = new Endpoint(`e${i}`, `10.0.0.${i + 1}`, 8000, labels);
  e.metrics = { ...UNKNOWN_METRICS, known: true, updatedAtMs: 1, ...metrics };
  return e;
}

export function schedulingRequest(overrides: Partial<SchedulingRequest> = {}): SchedulingRequest {
  return { requestId: 'r', targetModel: 'm', llm: undefined, headers: new Map(), state: new CycleState(), ...overrides };
}
