import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { simulateCommand } from '../../../src/cli/commands/simulate.js';
import { Flags, parseFlags, UsageError } from '../../../src/cli/flags.js';

function run(argv: readonly string[]): Promise<void> {
  const { values, positional } = parseFlags(simulateCommand.flags, argv);
  return simulateCommand.run(new Flags(values), positional);
}

describe('epp simulate', () => {
  let dir: string;
  let stdout: string[];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'epp-simulate-'));
    stdout = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout.push(String(chunk));
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a synthetic workload over the given configs and writes the JSON shape', async () => {
    const out = join(dir, 'out.json');
    await run([
      '--synthetic', 'shared-prefix', '--num-groups', '3', '--prompts-per-group', '5', '--system-prompt-len', '512',
      '--question-len', '32', '--output-len', '8', '--qps', '50', '--turns', '1', '--replicas', '2', '--profile', 'llama-8b-h100',
      '--rate-scale', '2', '--seed', '4', '--config', 'random', '--config=llm-d-default', '--json', out, '--plots', join(dir, 'plots'),
    ]);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as { oracleHitRate: number; results: Record<string, unknown>[] };
    expect(typeof doc.oracleHitRate).toBe('number');
    expect(doc.results.map((r) => r.config)).toEqual(['random', 'llm-d-default']);
    for (const r of doc.results) {
      // The shape, plus diagnostics.
      expect(Object.keys(r)).toEqual(expect.arrayContaining(['config', 'hitRate', 'itlP50Ms', 'outputTokensPerSec', 'requests', 'ttftP50Ms', 'ttftP90Ms', 'ttftP99Ms']));
      expect(r.requests).toBe(15);
      expect(r.perReplica).toHaveLength(2);
    }
    expect(readFileSync(join(dir, 'plots', 'ttft-cdf.svg'), 'utf8')).toMatch(/^<svg[^]*<polyline[^]*<\/svg>\n$/);
    expect(readFileSync(join(dir, 'plots', 'hit-rate.svg'), 'utf8')).toMatch(/oracle/);
    expect(stdout.join('')).toMatch(/llm-d-default/);
    expect(stdout.join('')).toMatch(/oracle hit rate/);
  });

  it('generates an agentic workload', async () => {
    const out = join(dir, 'out.json');
    await run(['--synthetic', 'agentic', '--tenants', '3', '--sessions', '6', '--session-rate', '5', '--replicas', '2', '--config', 'prefill-cost', '--json', out]);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as { results: { requests: number; hitRate: number }[] };
    expect(doc.results[0]?.requests).toBeGreaterThanOrEqual(6);
    expect(doc.results[0]?.hitRate).toBeGreaterThan(0);
  });

  it('replays a Mooncake trace with --limit', async () => {
    const trace = join(dir, 'trace.jsonl');
    const lines = [0, 100, 200, 300].map((ts, i) => JSON.stringify({ timestamp: ts, input_length: 700 + i, output_length: 4, hash_ids: [1, 2 + i] }));
    writeFileSync(trace, `${lines.join('\n')}\n`);
    const out = join(dir, 'out.json');
    await run(['--workload', trace, '--limit', '3', '--replicas', '2', '--config', 'round-robin', '--json', out]);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as { results: { requests: number }[] };
    expect(doc.results[0]?.requests).toBe(3);
  });

  it.each([
    [[], /exactly one/],
    [['--synthetic', 'other'], /shared-prefix/],
    [['--synthetic', 'shared-prefix', '--profile', 'nope'], /unknown engine profile/],
    [['--synthetic', 'shared-prefix', '--rate-scale', '0'], /rate-scale/],
  ])('rejects %j with a usage error', async (argv, message) => {
    await expect(run(argv)).rejects.toThrow(UsageError);
    await expect(run(argv)).rejects.toThrow(message);
  });
});
