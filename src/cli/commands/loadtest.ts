/**
 * `epp loadtest`: the operator's benchmark of a live gateway (issue 8) — health, prefix routing,
 * distribution, throughput and latency stages against `--url`, optionally the same against
 * `--compare`, with a readable report on stdout, progress on stderr and `--json` output.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { systemClock } from '../../loadtest/clock.js';
import { comparisonRows, formatComparison } from '../../loadtest/compare.js';
import { LoadtestError } from '../../loadtest/errors.js';
import { jsonDocument } from '../../loadtest/json-output.js';
import { runLoadtest, type LoadtestOptions, type LoadtestResult } from '../../loadtest/loadtest.js';
import { createProgress, silentProgress } from '../../loadtest/progress.js';
import { parseReplicaMetricsTargets } from '../../loadtest/replica-metrics.js';
import { formatReport } from '../../loadtest/report.js';
import type { Command } from '../command.js';
import { UsageError, type Flags, type FlagSpec } from '../flags.js';

const FLAGS: readonly FlagSpec[] = [
  { name: 'url', kind: 'string', default: '', help: 'gateway base URL, e.g. http://127.0.0.1:8080 (required)' },
  { name: 'model', kind: 'string', default: '', help: 'model to request (default: the first one /v1/models lists)' },
  { name: 'requests', kind: 'int', default: 60, help: 'throughput-stage requests (N)' },
  { name: 'concurrency', kind: 'int', default: 8, help: 'requests in flight (C) in every stage' },
  { name: 'groups', kind: 'int', default: 4, help: 'prefix stage: groups sharing one system prompt (chat and completions alternate)' },
  { name: 'group-size', kind: 'int', default: 8, help: 'prefix stage: requests per group' },
  { name: 'system-prompt-tokens', kind: 'int', default: 1000, help: 'prefix stage: shared system prompt length (~4 characters a token)' },
  { name: 'distribution-requests', kind: 'int', default: 30, help: 'distribution stage: distinct prompts' },
  { name: 'latency-requests', kind: 'int', default: 0, help: 'latency stage: streaming requests (0 = --requests)' },
  { name: 'prompt-tokens', kind: 'int', default: 64, help: 'length of the distinct prompts of the distribution, throughput and latency stages' },
  { name: 'max-tokens', kind: 'int', default: 32, help: 'max_tokens of every generation request' },
  { name: 'timeout', kind: 'duration', default: 30_000, help: 'per-request timeout (headers and body)' },
  { name: 'stage-timeout', kind: 'duration', default: 60_000, help: 'a stage starts no request after this long and aborts the ones running' },
  { name: 'replica-metrics', kind: 'list', default: [], help: 'replica /metrics URLs ([NAME=]URL, repeatable): name replicas by counter deltas when responses carry no x-inference-pod header' },
  { name: 'compare', kind: 'string', default: '', help: 'second gateway URL to run the same stages against and compare' },
  { name: 'json', kind: 'string', default: '', help: 'also write the results as JSON to this file' },
  { name: 'quiet', kind: 'bool', default: false, help: 'no progress on stderr' },
];

function positive(flags: Flags, name: string): number {
  const v = flags.number(name);
  if (v < 1) throw new UsageError(`--${name} must be positive`);
  return v;
}

function baseUrl(text: string, flag: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--${flag} must be a URL like http://127.0.0.1:8080, not "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--${flag} must be http:// or https://`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** Reads and validates the flags into run options (the URL of the first run). */
export function loadtestOptions(flags: Flags, runId: string): LoadtestOptions {
  const url = flags.string('url');
  if (url === '') throw new UsageError('--url is required');
  const requests = positive(flags, 'requests');
  const latency = flags.number('latency-requests');
  if (latency < 0) throw new UsageError('--latency-requests must not be negative');
  const timeoutMs = flags.number('timeout');
  const stageTimeoutMs = flags.number('stage-timeout');
  if (timeoutMs <= 0 || stageTimeoutMs <= 0) throw new UsageError('--timeout and --stage-timeout must be positive');
  if (flags.number('system-prompt-tokens') < 0) throw new UsageError('--system-prompt-tokens must not be negative');
  let replicaMetrics;
  try {
    replicaMetrics = parseReplicaMetricsTargets(flags.list('replica-metrics'));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  return {
    url: baseUrl(url, 'url'),
    model: flags.string('model'),
    requests,
    concurrency: positive(flags, 'concurrency'),
    groups: positive(flags, 'groups'),
    groupSize: positive(flags, 'group-size'),
    systemPromptTokens: flags.number('system-prompt-tokens'),
    distributionRequests: positive(flags, 'distribution-requests'),
    latencyRequests: latency === 0 ? requests : latency,
    promptTokens: positive(flags, 'prompt-tokens'),
    maxTokens: positive(flags, 'max-tokens'),
    timeoutMs,
    stageTimeoutMs,
    replicaMetrics,
    runId,
  };
}

export const loadtestCommand: Command = {
  name: 'loadtest',
  summary: 'benchmark a live gateway: health, prefix routing, distribution, throughput, latency',
  flags: FLAGS,
  async run(flags) {
    const options = loadtestOptions(flags, randomBytes(4).toString('hex'));
    const compareUrl = flags.string('compare') === '' ? undefined : baseUrl(flags.string('compare'), 'compare');
    const progress = flags.bool('quiet') ? silentProgress : createProgress(process.stderr, systemClock);
    const deps = { clock: systemClock, progress };
    const results: LoadtestResult[] = [];
    for (const url of compareUrl === undefined ? [options.url] : [options.url, compareUrl]) {
      if (compareUrl !== undefined && !flags.bool('quiet')) process.stderr.write(`loadtest: ${url}\n`);
      const result = await runLoadtest({ ...options, url, runId: `${options.runId}${results.length === 0 ? '' : '-b'}` }, deps);
      process.stdout.write(formatReport(result));
      results.push(result);
      if (compareUrl !== undefined) process.stdout.write('\n');
    }
    const [a, b] = results;
    if (a === undefined) return;
    if (b !== undefined) process.stdout.write(formatComparison(a, b));
    const jsonPath = flags.string('json');
    if (jsonPath !== '') writeFileSync(jsonPath, b === undefined ? jsonDocument(a) : jsonDocument(a, b, comparisonRows(a, b)));
    const failed = results.filter((r) => !r.health.ok).map((r) => r.url);
    if (failed.length > 0) throw new LoadtestError(`health check failed at ${failed.join(' and ')}`);
  },
};
