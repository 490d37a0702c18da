/**
 * How the load test learns which replica served a request: the `x-inference-pod` response header when
 * the deployment sets it, else per-replica `/metrics` deltas (`--replica-metrics`), else not at all.
 */
import type { GenerationSpec, LoadClient, RequestOutcome } from './http-client.js';
import { creditedReplica, type ReplicaMetricsProbe, type WorkSnapshot } from './replica-metrics.js';

/** `header`: from the response; `metrics`: from `/metrics` deltas; `none`: unknown. */
export type IdentityMode = 'header' | 'metrics' | 'none';

/**
 * Sends a request and names its replica in `outcome.replica` when it can. `sequential` is true when
 * the stages that need identity must send one request at a time for the names to be sound.
 * `known` lists replica names given up front (so an unused replica still shows, with 0 requests).
 */
export interface ReplicaIdentity {
  readonly mode: IdentityMode;
  readonly sequential: boolean;
  readonly known: readonly string[];
  send(client: LoadClient, spec: GenerationSpec, signal: AbortSignal): Promise<RequestOutcome>;
}

/** The header (or nothing): the client already reads `x-inference-pod`. */
export function headerIdentity(mode: 'header' | 'none', known: readonly string[] = []): ReplicaIdentity {
  return { mode, sequential: false, known, send: (client, spec, signal) => client.send(spec, signal) };
}

/** Pauses between re-scrapes while a replica's counters lag; injected so tests never wait. */
export type Wait = (ms: number) => Promise<void>;

const realWait: Wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Metrics deltas: the snapshot after one request is the next one's "before"; when no counter moved
 * yet (vLLM updates its stats a little after the response), re-scrapes up to `retries` times,
 * `retryMs` apart. Requests it cannot credit keep `replica` undefined. Sound only when sequential.
 */
export function metricsIdentity(probe: ReplicaMetricsProbe, options: { retries?: number; retryMs?: number; wait?: Wait } = {}): ReplicaIdentity {
  const retries = options.retries ?? 5;
  const retryMs = options.retryMs ?? 20;
  const wait = options.wait ?? realWait;
  let last: WorkSnapshot | undefined;
  return {
    mode: 'metrics',
    sequential: true,
    known: probe.targets.map((t) => t.name),
    async send(client, spec, signal) {
      const before = last ?? (await probe.snapshot());
      const outcome = await client.send(spec, signal);
      let after = await probe.snapshot();
      let replica = creditedReplica(before, after);
      for (let i = 0; i < retries && replica === undefined && outcome.status !== 0; i++) {
        await wait(retryMs);
        after = await probe.snapshot();
        replica = creditedReplica(before, after);
      }
      last = after;
      return replica === undefined ? outcome : { ...outcome, replica };
    },
  };
}
