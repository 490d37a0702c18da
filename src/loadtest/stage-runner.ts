/** Sends a stage's requests through the pool, the replica identity and the progress display. */
import type { GenerationSpec, RequestOutcome } from './http-client.js';
import { runPool } from './pool.js';
import type { StageContext } from './stage-context.js';

/** Outcomes of the requests started (in `specs` order) and how many never started. */
export interface StageRequests {
  readonly outcomes: readonly RequestOutcome[];
  readonly notStarted: number;
}

/**
 * Sends `specs` at `concurrency` (1 when the replica identity needs sequential requests and
 * `needsIdentity`), advancing the progress display per request; starts nothing once `signal` aborts.
 */
export async function sendAll(ctx: StageContext, specs: readonly GenerationSpec[], concurrency: number, signal: AbortSignal, needsIdentity: boolean): Promise<StageRequests> {
  const c = needsIdentity && ctx.identity.sequential ? 1 : concurrency;
  const { results, notStarted } = await runPool(
    specs.length,
    c,
    signal,
    (i, s) => {
      const spec = specs[i];
      if (spec === undefined) throw new Error(`no request ${i}`);
      return needsIdentity ? ctx.identity.send(ctx.client, spec, s) : ctx.client.send(spec, s);
    },
    (o) => ctx.progress.advance(!o.ok),
  );
  return { outcomes: results, notStarted };
}
