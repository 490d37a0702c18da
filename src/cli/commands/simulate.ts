/**
 * `epp simulate`: replays a workload (a Mooncake trace or a synthetic shared-prefix workload) through
 * every given routing configuration on simulated vLLM replicas in virtual time, prints a comparison
 * table and optionally writes the results as JSON.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENGINE_PROFILES, engineProfile } from '../../engine/profiles.js';
import { BASELINE_CONFIGS } from '../../simulate/baselines.js';
import { runSimulation, type SimulationResult } from '../../simulate/simulator.js';
import { hitRateSvg, ttftCdfSvg } from '../../simulate/svg-plots.js';
import { loadMooncake } from '../../simulate/workload/mooncake.js';
import { AGENTIC_DEFAULTS, generateAgentic } from '../../simulate/workload/agentic.js';
import { generateSharedPrefix } from '../../simulate/workload/shared-prefix.js';
import type { WorkloadRequest } from '../../simulate/workload/workload-request.js';
import type { Command } from '../command.js';
import { UsageError, type Flags, type FlagSpec } from '../flags.js';

const FLAGS: readonly FlagSpec[] = [
  { name: 'workload', kind: 'string', default: '', help: 'Mooncake JSONL trace to replay' },
  { name: 'synthetic', kind: 'string', default: '', help: 'synthetic workload instead of --workload: shared-prefix | agentic' },
  { name: 'num-groups', kind: 'int', default: 8, help: 'shared-prefix: groups (one system prompt each)' },
  { name: 'prompts-per-group', kind: 'int', default: 16, help: 'shared-prefix: users per group' },
  { name: 'system-prompt-len', kind: 'int', default: 2048, help: 'shared-prefix: system prompt tokens' },
  { name: 'question-len', kind: 'int', default: 256, help: 'shared-prefix: question tokens' },
  { name: 'output-len', kind: 'int', default: 128, help: 'shared-prefix: output tokens' },
  { name: 'qps', kind: 'string', default: '10', help: 'shared-prefix: mean arrival rate (requests/s)' },
  { name: 'turns', kind: 'int', default: 1, help: 'shared-prefix: turns per user (multi-turn: each turn extends the previous prompt and answer)' },
  { name: 'tenants', kind: 'int', default: AGENTIC_DEFAULTS.tenants, help: 'agentic: tenants (one system prompt with tools each, Zipf popularity)' },
  { name: 'sessions', kind: 'int', default: AGENTIC_DEFAULTS.sessions, help: 'agentic: agent sessions (multi-turn, context growing by output and tool result)' },
  { name: 'session-rate', kind: 'string', default: String(AGENTIC_DEFAULTS.sessionRate), help: 'agentic: session starts per second' },
  { name: 'replicas', kind: 'int', default: 4, help: 'simulated vLLM replicas' },
  { name: 'prefill-replicas', kind: 'int', default: 0, help: 'P/D: label the first N replicas llm-d.ai/role=prefill, the rest decode (use a disaggregation config)' },
  { name: 'dp-group-size', kind: 'int', default: 1, help: 'data parallel × expert parallel: replicas form groups of N coupled ranks (dp-<g>-rank-<i>)' },
  { name: 'profile', kind: 'string', default: 'llama-8b-h100', help: `engine profile: ${[...ENGINE_PROFILES.keys()].join(' | ')}` },
  { name: 'rate-scale', kind: 'string', default: '1', help: 'arrival-rate multiplier (2 = twice as fast)' },
  { name: 'seed', kind: 'int', default: 0, help: 'seed of the workload and of routing randomness' },
  { name: 'config', kind: 'list', default: [], help: `configs to compare (repeatable): ${[...BASELINE_CONFIGS.keys()].join(' | ')} | a config file (default: all baselines)` },
  { name: 'scrape-interval', kind: 'duration', default: 50, help: 'virtual time between metrics scrapes' },
  { name: 'staleness', kind: 'duration', default: 2000, help: 'scraped metrics older than this are unknown' },
  { name: 'json', kind: 'string', default: '', help: 'also write the results to this JSON file' },
  { name: 'plots', kind: 'string', default: '', help: 'also write SVG plots (ttft-cdf.svg, hit-rate.svg) into this directory' },
  { name: 'limit', kind: 'int', default: 0, help: 'use only the first N requests (0 = all)' },
];

function positiveNumber(flags: Flags, name: string): number {
  const text = flags.string(name);
  const v = Number(text);
  if (text.trim() === '' || !(v > 0) || !Number.isFinite(v)) throw new UsageError(`--${name} must be a positive number, not "${text}"`);
  return v;
}

function positiveInt(flags: Flags, name: string): number {
  const v = flags.number(name);
  if (v < 1) throw new UsageError(`--${name} must be positive`);
  return v;
}

async function loadWorkload(flags: Flags): Promise<WorkloadRequest[]> {
  const file = flags.string('workload');
  const synthetic = flags.string('synthetic');
  const rateScale = positiveNumber(flags, 'rate-scale');
  const limit = flags.number('limit');
  if (limit < 0) throw new UsageError('--limit must not be negative');
  if ((file === '') === (synthetic === '')) throw new UsageError('give exactly one of --workload FILE and --synthetic shared-prefix|agentic');
  if (file !== '') return loadMooncake(file, { rateScale, ...(limit > 0 ? { limit } : {}) });
  if (synthetic === 'agentic') {
    const all = generateAgentic({
      tenants: positiveInt(flags, 'tenants'),
      sessions: positiveInt(flags, 'sessions'),
      sessionRate: positiveNumber(flags, 'session-rate') * rateScale,
      seed: flags.number('seed'),
    });
    return limit > 0 ? all.slice(0, limit) : all;
  }
  if (synthetic !== 'shared-prefix') throw new UsageError(`--synthetic must be shared-prefix or agentic, not "${synthetic}"`);
  const all = generateSharedPrefix({
    numGroups: positiveInt(flags, 'num-groups'),
    promptsPerGroup: positiveInt(flags, 'prompts-per-group'),
    systemPromptLen: flags.number('system-prompt-len'),
    questionLen: positiveInt(flags, 'question-len'),
    outputLen: flags.number('output-len'),
    qps: positiveNumber(flags, 'qps') * rateScale,
    turns: positiveInt(flags, 'turns'),
    seed: flags.number('seed'),
  });
  return limit > 0 ? all.slice(0, limit) : all;
}

function fmt(v: number, digits: number): string {
  return Number.isFinite(v) ? v.toFixed(digits) : '-';
}

/** Hot-spotting: uncached prompt tokens of the busiest replica over the mean (1 = even prefill work). */
export function loadSpread(r: SimulationResult): number {
  const work = r.perReplica.map((p) => p.promptTokens - p.cachedTokens);
  const mean = work.reduce((s, w) => s + w, 0) / Math.max(1, work.length);
  return mean > 0 ? Math.max(...work) / mean : Number.NaN;
}

/** The comparison table printed on stdout. */
export function formatResults(oracleHitRate: number, results: readonly SimulationResult[]): string {
  const header = ['config', 'requests', 'hit rate', 'TTFT p50 ms', 'TTFT p90 ms', 'TTFT p99 ms', 'ITL p50 ms', 'ITL p99 ms', 'output tok/s', 'load max/mean'];
  const rows = results.map((r) => [
    r.config,
    String(r.requests),
    fmt(r.hitRate, 4),
    fmt(r.ttftP50Ms, 1),
    fmt(r.ttftP90Ms, 1),
    fmt(r.ttftP99Ms, 1),
    fmt(r.itlP50Ms, 2),
    fmt(r.itlP99Ms, 1),
    fmt(r.outputTokensPerSec, 1),
    fmt(loadSpread(r), 2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return `${[line(header), ...rows.map(line)].join('\n')}\noracle hit rate (one infinite shared cache): ${fmt(oracleHitRate, 4)}\n`;
}

/** The JSON document `--json` writes (NaN latencies become null). */
export function resultsJson(oracleHitRate: number, results: readonly SimulationResult[]): string {
  const doc = {
    oracleHitRate,
    results: results.map((r) => ({
      config: r.config,
      requests: r.requests,
      hitRate: r.hitRate,
      ttftP50Ms: r.ttftP50Ms,
      ttftP90Ms: r.ttftP90Ms,
      ttftP99Ms: r.ttftP99Ms,
      itlP50Ms: r.itlP50Ms,
      itlP99Ms: r.itlP99Ms,
      outputTokensPerSec: r.outputTokensPerSec,
      completed: r.completed,
      rejected: r.rejected,
      failed: r.failed,
      preemptions: r.preemptions,
      loadSpread: loadSpread(r),
      perReplica: r.perReplica,
    })),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

export const simulateCommand: Command = {
  name: 'simulate',
  summary: 'compare routing configs on simulated vLLM replicas in virtual time',
  flags: FLAGS,
  async run(flags) {
    const replicas = positiveInt(flags, 'replicas');
    const profileName = flags.string('profile');
    try {
      engineProfile(profileName);
    } catch (err) {
      throw new UsageError(err instanceof Error ? err.message : String(err));
    }
    const scrapeIntervalMs = flags.number('scrape-interval');
    const stalenessMs = flags.number('staleness');
    if (scrapeIntervalMs <= 0 || stalenessMs <= 0) throw new UsageError('--scrape-interval and --staleness must be positive');
    const prefillReplicas = flags.number('prefill-replicas');
    if (prefillReplicas < 0 || prefillReplicas >= replicas) throw new UsageError('--prefill-replicas must be at least 0 and less than --replicas');
    const dpGroupSize = positiveInt(flags, 'dp-group-size');
    if (replicas % dpGroupSize !== 0) throw new UsageError('--dp-group-size must divide --replicas');
    const configs = flags.list('config').length > 0 ? flags.list('config') : [...BASELINE_CONFIGS.keys()];
    const workload = await loadWorkload(flags);
    const long = workload.length >= 2000;
    const results: SimulationResult[] = [];
    for (const config of configs) {
      const started = Date.now();
      if (long) process.stderr.write(`simulate: ${config}: ${workload.length} requests on ${replicas} × ${profileName}\n`);
      const result = runSimulation({
        workload,
        replicas,
        profile: profileName,
        config,
        scrapeIntervalMs,
        stalenessMs,
        prefillReplicas,
        dpGroupSize,
        seed: flags.number('seed'),
        progressEvery: 1000,
        ...(long ? { onProgress: (n: number) => process.stderr.write(`simulate: ${config}: ${n}/${workload.length} routed\n`) } : {}),
      });
      if (long) process.stderr.write(`simulate: ${config}: done in ${((Date.now() - started) / 1000).toFixed(1)} s wall\n`);
      results.push(result);
    }
    const oracle = results[0]?.oracleHitRate ?? 0;
    process.stdout.write(formatResults(oracle, results));
    const jsonPath = flags.string('json');
    if (jsonPath !== '') writeFileSync(jsonPath, resultsJson(oracle, results));
    const plots = flags.string('plots');
    if (plots !== '') {
      mkdirSync(plots, { recursive: true });
      const what = `${workload.length} requests, ${replicas} × ${profileName}`;
      writeFileSync(join(plots, 'ttft-cdf.svg'), ttftCdfSvg(results, `TTFT CDF (${what})`));
      writeFileSync(join(plots, 'hit-rate.svg'), hitRateSvg(oracle, results, `Prefix-cache hit rate (${what})`));
    }
  },
};
