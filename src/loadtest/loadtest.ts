/**
 * One load-test run against one URL: health, prefix routing, distribution, throughput and latency,
 * in that order, each bounded in requests and time.
 */
import type { Clock } from './clock.js';
import { LoadClient } from './http-client.js';
import { headerIdentity, metricsIdentity, type IdentityMode, type ReplicaIdentity } from './identity.js';
import type { Progress } from './progress.js';
import { PromptFactory } from './prompts.js';
import { ReplicaMetricsProbe, type ReplicaMetricsTarget } from './replica-metrics.js';
import type { StageContext } from './stage-context.js';
import { runDistribution, type DistributionResult } from './stages/distribution.js';
import { runHealth, type HealthResult } from './stages/health.js';
import { runLatency, type LatencyResult } from './stages/latency.js';
import { runPrefix, type PrefixResult } from './stages/prefix.js';
import { runThroughput, type ThroughputResult } from './stages/throughput.js';

/** What to run. Counts must be positive integers (the CLI validates them). */
export interface LoadtestOptions {
  readonly url: string;
  /** Empty: the first model `/v1/models` lists. */
  readonly model: string;
  /** Throughput-stage requests (N). */
  readonly requests: number;
  /** Concurrency of every stage (C), except where replica identity needs one request at a time. */
  readonly concurrency: number;
  readonly groups: number;
  readonly groupSize: number;
  readonly systemPromptTokens: number;
  readonly distributionRequests: number;
  readonly latencyRequests: number;
  readonly promptTokens: number;
  readonly maxTokens: number;
  readonly timeoutMs: number;
  readonly stageTimeoutMs: number;
  /** Replicas whose `/metrics` deltas name the serving replica when responses carry no header. */
  readonly replicaMetrics: readonly ReplicaMetricsTarget[];
  /** Makes this run's prompts unique (so an earlier run's cache never helps). */
  readonly runId: string;
}

/** What a run needs from outside: time, progress display, and (tests) a `fetch`. */
export interface LoadtestDeps {
  readonly clock: Clock;
  readonly progress: Progress;
  readonly fetch?: typeof fetch;
}

/**
 * A finished run. When health fails, the later stages are absent (not run). `identity` says how
 * replicas were named: from the `x-inference-pod` header, from `/metrics` deltas, or not at all
 * (then affinity and distribution are unknown).
 */
export interface LoadtestResult {
  readonly url: string;
  readonly model: string;
  readonly identity: IdentityMode;
  readonly elapsedMs: number;
  readonly health: HealthResult;
  readonly prefix?: PrefixResult;
  readonly distribution?: DistributionResult;
  readonly throughput?: ThroughputResult;
  readonly latency?: LatencyResult;
}

function chooseIdentity(options: LoadtestOptions, health: HealthResult, deps: LoadtestDeps): ReplicaIdentity {
  const known = options.replicaMetrics.map((t) => t.name);
  if (health.replica !== undefined) return headerIdentity('header', known);
  if (options.replicaMetrics.length > 0) return metricsIdentity(new ReplicaMetricsProbe(options.replicaMetrics, Math.min(options.timeoutMs, 5000), deps.fetch));
  return headerIdentity('none');
}

/**
 * Runs every stage against `options.url`. Throws `LoadtestError` when nothing answers there or no
 * model can be found; a failed health check returns a result with only `health` filled in.
 */
export async function runLoadtest(options: LoadtestOptions, deps: LoadtestDeps): Promise<LoadtestResult> {
  const { clock, progress } = deps;
  const started = clock.now();
  const client = new LoadClient({ baseUrl: options.url.replace(/\/+$/, ''), timeoutMs: options.timeoutMs, clock, ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }) });
  const health = await runHealth(client, options.model, progress, Math.min(options.timeoutMs, 10_000));
  const identity = chooseIdentity(options, health, deps);
  const base = { url: options.url, model: health.model, identity: identity.mode, health };
  if (!health.ok) return { ...base, elapsedMs: clock.now() - started };
  const ctx: StageContext = {
    client,
    identity,
    model: health.model,
    prompts: new PromptFactory(options.runId),
    progress,
    clock,
    stageTimeoutMs: options.stageTimeoutMs,
    maxTokens: options.maxTokens,
    promptTokens: options.promptTokens,
  };
  const prefix = await runPrefix(ctx, { groups: options.groups, groupSize: options.groupSize, systemPromptTokens: options.systemPromptTokens, concurrency: options.concurrency });
  const seen = new Set<string>(identity.known);
  if (health.replica !== undefined) seen.add(health.replica);
  for (const g of prefix.groups) for (const r of Object.keys(g.replicas)) seen.add(r);
  const distribution = await runDistribution(ctx, options.distributionRequests, options.concurrency, [...seen]);
  const throughput = await runThroughput(ctx, options.requests, options.concurrency);
  const latency = await runLatency(ctx, options.latencyRequests, options.concurrency);
  return { ...base, elapsedMs: clock.now() - started, prefix, distribution, throughput, latency };
}
