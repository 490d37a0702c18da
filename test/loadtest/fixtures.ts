/** A hand-made load-test result for the report and JSON tests. */
import type { LoadtestResult } from '../../src/loadtest/loadtest.js';
import type { StageCounts } from '../../src/loadtest/stage-context.js';

function counts(planned: number, ok: number, errors: Record<string, number> = {}, notStarted = 0): StageCounts {
  const failed = Object.values(errors).reduce((a, b) => a + b, 0);
  return { planned, sent: ok + failed, ok, notStarted, errors, elapsedMs: 1500 };
}

/** A complete run; `scale` multiplies latencies so two results differ. */
export function sampleResult(url = 'http://gw:8080', scale = 1): LoadtestResult {
  return {
    url,
    model: 'm',
    identity: 'header',
    elapsedMs: 4200,
    health: { ok: true, model: 'm', models: ['m'], modelsStatus: 200, completionStatus: 200, completionLatencyMs: 3.2, replica: 'vllm-0', problems: [] },
    prefix: {
      counts: counts(8, 8),
      groups: [
        { group: 0, api: 'chat', replicas: { 'vllm-1': 4 }, topReplica: 'vllm-1', topShare: 1 },
        { group: 1, api: 'completions', replicas: { 'vllm-0': 3, 'vllm-2': 1 }, topReplica: 'vllm-0', topShare: 0.75 },
      ],
      affinity: 7 / 8,
      attributed: 8,
      unattributed: 0,
      ttftFirstMs: 250 * scale,
      ttftLaterMs: 70 * scale,
      cachedTokensLater: 960,
    },
    distribution: { counts: counts(9, 9), perReplica: { 'vllm-0': 3, 'vllm-1': 4, 'vllm-2': 2 }, balance: 4 / 3, unattributed: 0 },
    throughput: { counts: counts(10, 8, { 'HTTP 503': 2 }), concurrency: 4, requestsPerSec: 5.5 / scale, outputTokensPerSec: 176 / scale, outputTokens: 256 },
    latency: {
      counts: counts(10, 9, { timeout: 1 }, 0),
      concurrency: 4,
      e2eMs: { count: 9, p50: 100 * scale, p95: 180 * scale, p99: 190 * scale },
      ttftMs: { count: 9, p50: 20 * scale, p95: 40 * scale, p99: 45 * scale },
      itlMs: { count: 270, p50: 2.5 * scale, p95: 4 * scale, p99: Number.NaN },
    },
  };
}
