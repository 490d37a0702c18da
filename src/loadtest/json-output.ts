/**
 * The `--json` document: exactly the keys (`health`, `prefixAffinity`, `prefixTtftMs`,
 * `distribution`, `balance`, `throughput`, `latencyMs`, `ttftMs`, `itlMs`), plus `url`, `model`,
 * `identity`, `elapsedMs`, per-stage request accounting under `stages`, and with `--compare` the
 * other run under `compare` and the A/B ratios under `ratios`. Unmeasured values are `null`.
 */
import type { ComparisonRow } from './compare.js';
import type { LoadtestResult } from './loadtest.js';
import type { StageCounts } from './stage-context.js';
import type { Quantiles } from './stats.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function num(v: number | undefined): number | null {
  return v !== undefined && Number.isFinite(v) ? v : null;
}

function q(v: Quantiles | undefined): { [key: string]: Json } {
  return { p50: num(v?.p50), p95: num(v?.p95), p99: num(v?.p99) };
}

function counts(c: StageCounts | undefined): Json {
  if (c === undefined) return null;
  return { planned: c.planned, sent: c.sent, ok: c.ok, notStarted: c.notStarted, errors: { ...c.errors }, elapsedMs: c.elapsedMs };
}

/** The JSON object for one run. */
export function resultJson(r: LoadtestResult): { [key: string]: Json } {
  return {
    url: r.url,
    model: r.model,
    identity: r.identity,
    elapsedMs: r.elapsedMs,
    health: { ok: r.health.ok, models: [...r.health.models], problems: [...r.health.problems] },
    prefixAffinity: num(r.prefix?.affinity),
    prefixTtftMs: { first: num(r.prefix?.ttftFirstMs), later: num(r.prefix?.ttftLaterMs) },
    distribution: r.distribution === undefined ? {} : { ...r.distribution.perReplica },
    balance: num(r.distribution?.balance),
    throughput: { requestsPerSec: num(r.throughput?.requestsPerSec), outputTokensPerSec: num(r.throughput?.outputTokensPerSec) },
    latencyMs: q(r.latency?.e2eMs),
    ttftMs: q(r.latency?.ttftMs),
    itlMs: q(r.latency?.itlMs),
    stages: {
      prefix:
        r.prefix === undefined
          ? null
          : {
              requests: counts(r.prefix.counts),
              unattributed: r.prefix.unattributed,
              cachedTokensLater: num(r.prefix.cachedTokensLater),
              groups: r.prefix.groups.map((g) => ({ group: g.group, api: g.api, replicas: { ...g.replicas }, topReplica: g.topReplica ?? null, topShare: num(g.topShare) })),
            },
      distribution: r.distribution === undefined ? null : { requests: counts(r.distribution.counts), unattributed: r.distribution.unattributed },
      throughput: r.throughput === undefined ? null : { requests: counts(r.throughput.counts), concurrency: r.throughput.concurrency, outputTokens: r.throughput.outputTokens },
      latency: r.latency === undefined ? null : { requests: counts(r.latency.counts), concurrency: r.latency.concurrency, samples: { e2e: r.latency.e2eMs.count, ttft: r.latency.ttftMs.count, itl: r.latency.itlMs.count } },
    },
  };
}

/** The whole `--json` file: one run, or with a comparison run and the ratio rows. */
export function jsonDocument(main: LoadtestResult, other?: LoadtestResult, rows?: readonly ComparisonRow[]): string {
  const doc = resultJson(main);
  if (other !== undefined) {
    doc.compare = resultJson(other);
    doc.ratios = Object.fromEntries((rows ?? []).map((r) => [r.key, num(r.ratio)]));
  }
  return `${JSON.stringify(doc, null, 2)}\n`;
}
