/**
 * The fault suite's runner: each scenario group of reliability.md §6 at the plan's counts, against
 * the real picker, printing its figures and a pass/fail per plan row (see bench/README.md "faults").
 *
 *   npx tsx bench/faults/run.ts [--scenarios a,b,…] [--json out.json] [--soak-minutes 10]
 *     [--envoy-seconds 60] [--scale bench|ci] [--seed N]
 *
 * The CI subset (test/faults) runs the same scenario code at `ci` scale.
 */
import { cpus, loadavg } from 'node:os';
import { writeFileSync } from 'node:fs';
import { formatUsage, parseFlags, UsageError, type FlagSpec } from '../../src/cli/flags.js';
import { table } from '../extproc/stats.js';
import { figureText, renderResult, rowPassed, type ScenarioResult } from './harness/report.js';
import type { FaultScenario, ScenarioContext } from './harness/scenario.js';
import { bodiesScenario } from './scenarios/bodies.js';
import { concurrencyScenario } from './scenarios/concurrency.js';
import { cancellationScenario } from './scenarios/cancellation.js';
import { discoveryScenario } from './scenarios/discovery.js';
import { envoyResetsScenario } from './scenarios/envoy-resets.js';
import { headersScenario } from './scenarios/headers.js';
import { isolationScenario } from './scenarios/isolation.js';
import { keepaliveScenario } from './scenarios/keepalive.js';
import { lifecycleScenario } from './scenarios/lifecycle.js';
import { limitsScenario } from './scenarios/limits.js';
import { podFaultsScenario } from './scenarios/pod-faults.js';
import { protocolFuzzScenario } from './scenarios/protocol-fuzz.js';
import { responsesScenario } from './scenarios/responses.js';
import { soakScenario } from './scenarios/soak.js';
import { tlsScenario } from './scenarios/tls.js';

const SCENARIOS: readonly FaultScenario[] = [discoveryScenario, podFaultsScenario, bodiesScenario, headersScenario, cancellationScenario, protocolFuzzScenario, isolationScenario, limitsScenario, lifecycleScenario, tlsScenario, keepaliveScenario, responsesScenario, concurrencyScenario, soakScenario, envoyResetsScenario];

const FLAGS: readonly FlagSpec[] = [
  { name: 'scenarios', kind: 'list', default: [], help: `scenario groups to run (default: all): ${SCENARIOS.map((s) => s.id).join(', ')}` },
  { name: 'scale', kind: 'string', default: 'bench', help: 'bench (the plan\'s counts) | ci (the counts test/faults uses)' },
  { name: 'soak-minutes', kind: 'string', default: '10', help: 'soak length (row 30), minutes' },
  { name: 'envoy-seconds', kind: 'int', default: 60, help: 'Envoy-shaped run per connection layout, seconds' },
  { name: 'seed', kind: 'int', default: 20260818, help: 'seed of every random draw' },
  { name: 'json', kind: 'string', default: '', help: 'write every result as JSON to this file' },
  { name: 'help', kind: 'bool', default: false, help: 'show this help' },
];

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function main(argv: readonly string[]): Promise<number> {
  const { values, positional } = parseFlags(FLAGS, argv);
  if (values.help === true) {
    const usage = formatUsage('faults', 'The fault suite of reliability.md §6 against the real picker (see bench/README.md "faults").', FLAGS);
    process.stdout.write(usage.replace(/^Usage: .*\n/, 'Usage: npx tsx bench/faults/run.ts [flags]\n'));
    return 0;
  }
  if (positional.length > 0) throw new UsageError(`unexpected argument: ${positional.join(' ')}`);
  const wanted = values.scenarios as readonly string[];
  for (const w of wanted) if (!SCENARIOS.some((s) => s.id === w)) throw new UsageError(`unknown scenario "${w}" (known: ${SCENARIOS.map((s) => s.id).join(', ')})`);
  const scale = String(values.scale);
  if (scale !== 'bench' && scale !== 'ci') throw new UsageError('--scale must be bench or ci');
  const soakMinutes = Number(values['soak-minutes']);
  if (!(soakMinutes > 0 && soakMinutes <= 60)) throw new UsageError('--soak-minutes must be in (0, 60]');
  const envoySeconds = Number(values['envoy-seconds']);
  if (!(envoySeconds >= 1 && envoySeconds <= 600)) throw new UsageError('--envoy-seconds must be in [1, 600]');
  const ctx: ScenarioContext = { scale, seed: Number(values.seed), log, soakMinutes, envoySeconds };
  const chosen = wanted.length === 0 ? SCENARIOS : SCENARIOS.filter((s) => wanted.includes(s.id));

  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', node: process.version, platform: `${process.platform}-${process.arch}`, loadAverageAtStart: loadavg().map((v) => Math.round(v * 100) / 100) };
  log(`machine: ${machine.cpus} cores (${machine.cpuModel}), node ${machine.node}, load average ${machine.loadAverageAtStart.join(' ')}`);
  const results: ScenarioResult[] = [];
  for (const s of chosen) {
    log(`scenario ${s.id}: ${s.title}`);
    const r = await s.run(ctx);
    results.push(r);
    process.stdout.write(`${renderResult(r)}\n\n`);
  }
  const rows = results.flatMap((r) => r.rows.map((row) => [row.row, row.title.slice(0, 70), rowPassed(row) ? 'pass' : 'FAIL', figureText(row).slice(0, 400)]));
  process.stdout.write(`${table(['row', 'scenario', 'result', 'figures'], rows)}\n`);
  const loadAtEnd = loadavg().map((v) => Math.round(v * 100) / 100);
  process.stdout.write(`\nload average at start ${machine.loadAverageAtStart.join(' ')}, at end ${loadAtEnd.join(' ')}\n`);
  if (values.json !== '') {
    writeFileSync(String(values.json), `${JSON.stringify({ machine, loadAverageAtEnd: loadAtEnd, options: { scale, soakMinutes, envoySeconds, seed: ctx.seed }, results }, null, 2)}\n`);
    log(`wrote ${String(values.json)}`);
  }
  return results.every((r) => r.rows.every(rowPassed)) ? 0 : 1;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`faults: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = err instanceof UsageError ? 2 : 1;
}
