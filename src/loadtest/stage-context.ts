/** What every stage runs with, and the request accounting every stage reports. */
import type { Clock } from './clock.js';
import { ErrorTally } from './errors.js';
import type { LoadClient, RequestOutcome } from './http-client.js';
import type { ReplicaIdentity } from './identity.js';
import type { Progress } from './progress.js';
import type { PromptFactory } from './prompts.js';

/** Shared by the stages of one run against one URL. */
export interface StageContext {
  readonly client: LoadClient;
  readonly identity: ReplicaIdentity;
  readonly model: string;
  readonly prompts: PromptFactory;
  readonly progress: Progress;
  readonly clock: Clock;
  /** Each stage stops starting requests, and aborts running ones, after this long. */
  readonly stageTimeoutMs: number;
  /** `max_tokens` of every generation request. */
  readonly maxTokens: number;
  /** Prompt size of distinct (non-shared) prompts, in tokens. */
  readonly promptTokens: number;
}

/**
 * A stage's requests: `planned` = `sent` + `notStarted` (not started because the stage deadline
 * passed); `ok` + the sum of `errors` = `sent`. `errors` counts failures by kind (`HTTP 503`,
 * `timeout`, `stage deadline`, …). `elapsedMs` is the stage's wall time.
 */
export interface StageCounts {
  readonly planned: number;
  readonly sent: number;
  readonly ok: number;
  readonly notStarted: number;
  readonly errors: Readonly<Record<string, number>>;
  readonly elapsedMs: number;
}

/** Tallies `outcomes` into {@link StageCounts}. */
export function countOutcomes(planned: number, outcomes: readonly RequestOutcome[], notStarted: number, elapsedMs: number): StageCounts {
  const tally = new ErrorTally();
  let ok = 0;
  for (const o of outcomes) {
    if (o.ok) ok++;
    else tally.add(o.error ?? 'unknown');
  }
  return { planned, sent: outcomes.length, ok, notStarted, errors: tally.toRecord(), elapsedMs };
}
