/** Stage 4, throughput: N non-streaming requests (chat and completions alternating) at concurrency C. */
import { generationBody } from '../http-client.js';
import { stageDeadline } from '../pool.js';
import { countOutcomes, type StageContext, type StageCounts } from '../stage-context.js';
import { sendAll } from '../stage-runner.js';

/**
 * Over the stage's wall time (first send to last answer): `requestsPerSec` counts successful
 * requests, `outputTokensPerSec` their output tokens; both NaN when nothing succeeded.
 */
export interface ThroughputResult {
  readonly counts: StageCounts;
  readonly concurrency: number;
  readonly requestsPerSec: number;
  readonly outputTokensPerSec: number;
  readonly outputTokens: number;
}

/** Runs the throughput stage. */
export async function runThroughput(ctx: StageContext, requests: number, concurrency: number): Promise<ThroughputResult> {
  const specs = Array.from({ length: requests }, (_, i) =>
    generationBody(ctx.model, i % 2 === 0 ? '/v1/completions' : '/v1/chat/completions', { user: ctx.prompts.distinct('throughput', i, ctx.promptTokens) }, ctx.maxTokens, false),
  );
  const deadline = stageDeadline(ctx.stageTimeoutMs);
  ctx.progress.begin('throughput', requests);
  const started = ctx.clock.now();
  try {
    const { outcomes, notStarted } = await sendAll(ctx, specs, concurrency, deadline.signal, false);
    const elapsedMs = ctx.clock.now() - started;
    const ok = outcomes.filter((o) => o.ok);
    const outputTokens = ok.reduce((a, o) => a + o.outputTokens, 0);
    const seconds = elapsedMs / 1000;
    return {
      counts: countOutcomes(requests, outcomes, notStarted, elapsedMs),
      concurrency,
      requestsPerSec: ok.length === 0 || seconds <= 0 ? Number.NaN : ok.length / seconds,
      outputTokensPerSec: ok.length === 0 || seconds <= 0 ? Number.NaN : outputTokens / seconds,
      outputTokens,
    };
  } finally {
    ctx.progress.end();
    deadline.dispose();
  }
}
