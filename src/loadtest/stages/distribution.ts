/** Stage 3, distribution: distinct prompts (no shared prefix); requests per replica and balance. */
import { generationBody } from '../http-client.js';
import { stageDeadline } from '../pool.js';
import { countOutcomes, type StageContext, type StageCounts } from '../stage-context.js';
import { sendAll } from '../stage-runner.js';
import { balance } from '../stats.js';

/**
 * `perReplica`: successful, attributed requests per replica, listing with 0 every replica known
 * beforehand (given or seen in earlier stages) that got none. `balance`: max/mean over those
 * replicas (1 = even; NaN when nothing was attributed). `unattributed`: successful requests whose
 * replica is unknown.
 */
export interface DistributionResult {
  readonly counts: StageCounts;
  readonly perReplica: Readonly<Record<string, number>>;
  readonly balance: number;
  readonly unattributed: number;
}

/** Runs `requests` distinct completions at `concurrency`; `knownReplicas` are listed even when unused. */
export async function runDistribution(ctx: StageContext, requests: number, concurrency: number, knownReplicas: readonly string[]): Promise<DistributionResult> {
  const specs = Array.from({ length: requests }, (_, i) => generationBody(ctx.model, '/v1/completions', { user: ctx.prompts.distinct('distribution', i, ctx.promptTokens) }, ctx.maxTokens, false));
  const deadline = stageDeadline(ctx.stageTimeoutMs);
  const started = ctx.clock.now();
  ctx.progress.begin('distribution', requests);
  try {
    const { outcomes, notStarted } = await sendAll(ctx, specs, concurrency, deadline.signal, true);
    const per = new Map<string, number>(knownReplicas.map((r) => [r, 0]));
    let unattributed = 0;
    for (const o of outcomes) {
      if (!o.ok) continue;
      if (o.replica === undefined) unattributed++;
      else per.set(o.replica, (per.get(o.replica) ?? 0) + 1);
    }
    const sorted = [...per].sort((a, b) => a[0].localeCompare(b[0]));
    const attributed = sorted.reduce((a, [, n]) => a + n, 0);
    return {
      counts: countOutcomes(requests, outcomes, notStarted, ctx.clock.now() - started),
      perReplica: Object.fromEntries(sorted),
      balance: attributed === 0 ? Number.NaN : balance(sorted.map(([, n]) => n)),
      unattributed,
    };
  } finally {
    ctx.progress.end();
    deadline.dispose();
  }
}
