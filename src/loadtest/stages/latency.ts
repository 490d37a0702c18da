/**
 * Stage 5, latency profile: streaming requests (`stream_options.include_usage`) at concurrency C;
 * quantiles of end-to-end latency, time to first token and inter-token latency.
 */
import { generationBody } from '../http-client.js';
import { stageDeadline } from '../pool.js';
import { countOutcomes, type StageContext, type StageCounts } from '../stage-context.js';
import { sendAll } from '../stage-runner.js';
import { quantiles, type Quantiles } from '../stats.js';

/** Quantiles over successful requests: `itlMs` pools every gap between token events of every request. */
export interface LatencyResult {
  readonly counts: StageCounts;
  readonly concurrency: number;
  readonly e2eMs: Quantiles;
  readonly ttftMs: Quantiles;
  readonly itlMs: Quantiles;
}

/** Runs the latency stage. */
export async function runLatency(ctx: StageContext, requests: number, concurrency: number): Promise<LatencyResult> {
  const specs = Array.from({ length: requests }, (_, i) =>
    generationBody(ctx.model, i % 2 === 0 ? '/v1/chat/completions' : '/v1/completions', { user: ctx.prompts.distinct('latency', i, ctx.promptTokens) }, ctx.maxTokens, true),
  );
  const deadline = stageDeadline(ctx.stageTimeoutMs);
  const started = ctx.clock.now();
  ctx.progress.begin('latency', requests);
  try {
    const { outcomes, notStarted } = await sendAll(ctx, specs, concurrency, deadline.signal, false);
    const ok = outcomes.filter((o) => o.ok);
    return {
      counts: countOutcomes(requests, outcomes, notStarted, ctx.clock.now() - started),
      concurrency,
      e2eMs: quantiles(ok.map((o) => o.latencyMs)),
      ttftMs: quantiles(ok.map((o) => o.ttftMs ?? Number.NaN)),
      itlMs: quantiles(ok.flatMap((o) => o.itlMs)),
    };
  } finally {
    ctx.progress.end();
    deadline.dispose();
  }
}
