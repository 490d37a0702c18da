/**
 * The picker's protocol benchmark: the real picker (`epp serve`, a child process) against a null
 * ext_proc server (also a child process, same grpc-js) under the same closed-loop ext_proc load,
 * alternating null/picker rounds so drift on the machine hits both alike.
 *
 *   npx tsx bench/extproc/run.ts [--concurrency 32,1] [--prompt-bytes 4096] [--endpoints 8]
 *     [--requests 20000] [--duration-seconds 10] [--warmup-requests 2000] [--rounds 3]
 *     [--chunk-bytes 0] [--client http2|grpc-js] [--channels N] [--quiet-wait-seconds S]
 *     [--json OUT] [--profile-picker DIR] [--profile-null DIR] [--picker-arg=--flag=value]
 *
 * See bench/README.md for what the numbers mean.
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatUsage, parseFlags, UsageError, type FlagSpec } from '../../src/cli/flags.js';
import { Child, freePort, setClockTicks, systemCpu, waitForHealth } from './children.js';
import { BodyFactory, createPool, runRound, type ClientKind, type ExtProcPool, type RoundResult } from './load.js';
import { newestProfile, summarizeProfile, type ProfileSummary } from './profile.js';
import { fmt, median, mergeSorted, summarize, table, type LatencySummary } from './stats.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const FLAGS: readonly FlagSpec[] = [
  { name: 'concurrency', kind: 'list', default: ['32', '1'], help: 'closed-loop workers; a list runs one scenario each' },
  { name: 'prompt-bytes', kind: 'int', default: 4096, help: 'prompt length in bytes' },
  { name: 'endpoints', kind: 'int', default: 8, help: 'endpoints in the picker endpoints file (127.0.0.x:8000)' },
  { name: 'requests', kind: 'int', default: 20_000, help: 'most requests per measured round' },
  { name: 'duration-seconds', kind: 'string', default: '10', help: 'longest measured round, seconds' },
  { name: 'warmup-requests', kind: 'int', default: 2000, help: 'unmeasured requests before every round (3× before a scenario\'s first round)' },
  { name: 'rounds', kind: 'int', default: 3, help: 'measured rounds per target (alternating null, picker)' },
  { name: 'chunk-bytes', kind: 'int', default: 0, help: 'split the body into request_body messages of this size (0 = one message)' },
  { name: 'client', kind: 'string', default: 'http2', help: 'load generator client: http2 (raw HTTP/2 with gRPC framing) | grpc-js' },
  { name: 'channels', kind: 'int', default: 0, help: 'connections (HTTP/2 sessions or grpc-js channels) per target (0 = ceil(concurrency/8))' },
  { name: 'request-timeout', kind: 'duration', default: 10_000, help: 'a request not answered within this counts as an error' },
  { name: 'quiet-wait-seconds', kind: 'string', default: '0', help: 'before each measured round, wait up to this long for other processes to use < 0.2 cores (shared machines)' },
  { name: 'json', kind: 'string', default: '', help: 'write the results as JSON to this file' },
  { name: 'profile-picker', kind: 'string', default: '', help: 'run the picker child with --cpu-prof into DIR and print its top self-time functions' },
  { name: 'profile-null', kind: 'string', default: '', help: 'same for the null server' },
  { name: 'null-transport', kind: 'string', default: 'h2', help: 'the null server\'s transport: h2 (the picker\'s own, the honest floor) | grpc-js (to see what the transport costs)' },
  { name: 'code', kind: 'string', default: 'compiled', help: 'compiled (the picker from dist/ as the container image runs it, after `npm run build`; the null server bundled by esbuild) | source (both through tsx, whose transformed sources and source maps add to each heap)' },
  { name: 'picker-launcher', kind: 'string', default: 'auto', help: 'epp (bin/epp.js serve) | direct (bench/extproc/serve-child.ts) | auto (epp, else direct)' },
  { name: 'picker-arg', kind: 'list', default: [], help: 'extra `epp serve` argument for the picker (repeatable; commas split), e.g. --picker-arg=--config-file=cfg.yaml' },
  { name: 'help', kind: 'bool', default: false, help: 'show this help' },
];

type TargetName = 'null' | 'picker';
const TARGETS: readonly TargetName[] = ['null', 'picker'];

interface Options {
  readonly concurrencies: readonly number[];
  readonly promptBytes: number;
  readonly endpoints: number;
  readonly requests: number;
  readonly durationMs: number;
  readonly warmupRequests: number;
  readonly rounds: number;
  readonly chunkBytes: number;
  readonly client: ClientKind;
  readonly channels: number;
  readonly timeoutMs: number;
  readonly quietWaitMs: number;
  readonly json: string;
  readonly profilePicker: string;
  readonly profileNull: string;
  readonly nullTransport: 'h2' | 'grpc-js';
  readonly launcher: 'auto' | 'epp' | 'direct';
  readonly code: 'compiled' | 'source';
  readonly pickerArgs: readonly string[];
}

function positiveInt(name: string, v: number, min = 1): number {
  if (!Number.isInteger(v) || v < min) throw new UsageError(`--${name} must be an integer ≥ ${min}`);
  return v;
}

function parseOptions(argv: readonly string[]): Options | undefined {
  const { values, positional } = parseFlags(FLAGS, argv);
  if (values.help === true) {
    const usage = formatUsage('bench-extproc', 'The picker against a null ext_proc server, alternating rounds (see bench/README.md).', FLAGS);
    process.stdout.write(usage.replace(/^Usage: .*\n/, 'Usage: npx tsx bench/extproc/run.ts [flags]\n'));
    return undefined;
  }
  if (positional.length > 0) throw new UsageError(`unexpected argument: ${positional.join(' ')}`);
  const list = (values.concurrency as readonly string[]).map((c) => positiveInt('concurrency', Number(c)));
  if (list.length === 0) throw new UsageError('--concurrency needs at least one value');
  const duration = Number(values['duration-seconds']);
  if (!(duration > 0) || duration > 300) throw new UsageError('--duration-seconds must be in (0, 300]');
  const quiet = Number(values['quiet-wait-seconds']);
  if (!(quiet >= 0) || quiet > 120) throw new UsageError('--quiet-wait-seconds must be in [0, 120]');
  const launcher = String(values['picker-launcher']);
  if (launcher !== 'auto' && launcher !== 'epp' && launcher !== 'direct') throw new UsageError('--picker-launcher must be auto, epp or direct');
  const code = String(values.code);
  if (code !== 'compiled' && code !== 'source') throw new UsageError('--code must be compiled or source');
  const client = String(values.client);
  if (client !== 'http2' && client !== 'grpc-js') throw new UsageError('--client must be http2 or grpc-js');
  const endpoints = positiveInt('endpoints', Number(values.endpoints));
  if (endpoints > 254) throw new UsageError('--endpoints must be at most 254');
  return {
    concurrencies: list,
    promptBytes: positiveInt('prompt-bytes', Number(values['prompt-bytes'])),
    endpoints,
    requests: positiveInt('requests', Number(values.requests)),
    durationMs: duration * 1000,
    warmupRequests: positiveInt('warmup-requests', Number(values['warmup-requests']), 0),
    rounds: positiveInt('rounds', Number(values.rounds)),
    chunkBytes: positiveInt('chunk-bytes', Number(values['chunk-bytes']), 0),
    client,
    channels: positiveInt('channels', Number(values.channels), 0),
    timeoutMs: positiveInt('request-timeout', Number(values['request-timeout'])),
    quietWaitMs: quiet * 1000,
    json: String(values.json),
    profilePicker: String(values['profile-picker']),
    profileNull: String(values['profile-null']),
    nullTransport: values['null-transport'] === 'grpc-js' ? 'grpc-js' : 'h2',
    launcher,
    code,
    pickerArgs: values['picker-arg'] as readonly string[],
  };
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function profArgs(dir: string): string[] {
  if (dir === '') return [];
  mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', '--cpu-prof-dir', dir];
}

interface Started {
  readonly child: Child;
  readonly port: number;
  readonly address: string;
  readonly launcher: string;
}

/** Where `--code compiled` puts the bundled null server (bench/out is not tracked). */
const COMPILED_NULL = 'bench/out/null-server.mjs';

/**
 * For `--code compiled`: builds dist/ (the picker as shipped) and bundles the null server with the
 * same compiler settings' output language, so neither process pays for tsx at run time.
 */
function compile(): void {
  log('compiling: npm run build (dist/), esbuild bench/extproc/null-server.ts');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  mkdirSync(join(ROOT, 'bench/out'), { recursive: true });
  execFileSync(join(ROOT, 'node_modules/.bin/esbuild'), ['bench/extproc/null-server.ts', '--bundle', '--platform=node', '--format=esm', '--target=node20', '--packages=external', `--outfile=${COMPILED_NULL}`, '--log-level=warning'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
}

async function startNull(options: Options): Promise<Started> {
  const port = await freePort();
  const entry = options.code === 'compiled' ? [COMPILED_NULL] : ['--import', 'tsx', 'bench/extproc/null-server.ts'];
  const child = new Child('null-server', [...profArgs(options.profileNull), ...entry, '--port', String(port), '--transport', options.nullTransport], ROOT);
  await child.waitForStdout(/listening (\d+)/, 30_000);
  return { child, port, address: `127.0.0.1:${port}`, launcher: `node ${entry.join(' ')} --transport ${options.nullTransport}` };
}

async function startPickerChild(options: Options, endpointsFile: string, launcher: 'epp' | 'direct'): Promise<Started> {
  const [grpc, health, metrics] = [await freePort(), await freePort(), await freePort()];
  const serveArgs = [
    '--secure-serving=false',
    '--grpc-port', String(grpc),
    '--grpc-health-port', String(health),
    '--metrics-port', String(metrics),
    '--bind-address', '127.0.0.1',
    '--endpoints-file', endpointsFile,
    '--drain-timeout', '2s',
    '-v', '1',
    ...options.pickerArgs,
  ];
  const entry = launcher === 'direct' ? ['--import', 'tsx', 'bench/extproc/serve-child.ts'] : options.code === 'compiled' ? ['dist/cli/main.js', 'serve'] : ['bin/epp.js', 'serve'];
  const child = new Child('picker', [...profArgs(options.profilePicker), ...entry, ...serveArgs], ROOT);
  await waitForHealth(`127.0.0.1:${health}`, child, 30_000);
  const shown = `node ${entry.join(' ')}`;
  return { child, port: grpc, address: `127.0.0.1:${grpc}`, launcher: `${shown} ${serveArgs.join(' ')}` };
}

async function startPicker(options: Options, endpointsFile: string): Promise<Started & { note?: string }> {
  if (options.launcher !== 'auto') return startPickerChild(options, endpointsFile, options.launcher);
  try {
    return await startPickerChild(options, endpointsFile, 'epp');
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    if (!text.includes('ERR_MODULE_NOT_FOUND')) throw err;
    const missing = /Cannot find module '([^']+)'/.exec(text)?.[1] ?? 'a module';
    const note = `bin/epp.js could not start (${missing} missing in the tree); the picker ran through bench/extproc/serve-child.ts (same serve command)`;
    log(`NOTE: ${note}`);
    return { ...(await startPickerChild(options, endpointsFile, 'direct')), note };
  }
}

/** One full request against `pool`, retried until it succeeds (the target answers ext_proc). */
async function probe(name: string, pool: ExtProcPool, bodies: BodyFactory, child: Child): Promise<void> {
  const deadline = Date.now() + 15_000;
  let last = '';
  for (let i = 0; Date.now() < deadline; i++) {
    if (!child.running) throw new Error(`${name} exited\n${child.output()}`);
    const outcome = await pool.request({ requestId: `probe-${name}-${i}`, body: bodies.body(i, `probe-${name}`), chunkBytes: 0, timeoutMs: 2000 });
    if (outcome.ok) return;
    last = outcome.reason;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} does not answer ext_proc: ${last}\n${child.output()}`);
}

/**
 * Waits (at most `maxMs`) until the rest of the machine — everything but the bench and its two
 * children — uses under 0.2 cores over a 500 ms window. Returns the last window's other-CPU, cores.
 */
async function waitForQuiet(children: readonly Child[], maxMs: number): Promise<number> {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const sys0 = systemCpu();
    const own0 = children.reduce((n, c) => n + c.cpuMs(), 0);
    const self0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 500));
    const self = process.cpuUsage(self0);
    const own = children.reduce((n, c) => n + c.cpuMs(), 0) - own0 + (self.user + self.system) / 1000;
    const other = (systemCpu().busyMs - sys0.busyMs - own) / (performance.now() - t0);
    if (!(other >= 0.2) || Date.now() >= deadline) return other;
  }
}

interface MeasuredRound {
  readonly result: RoundResult;
  readonly reqPerSec: number;
  readonly serverCpuMs: number;
  readonly loadgenCpuMs: number;
  /** Machine-wide busy CPU not spent in the server under test or the load generator. */
  readonly otherCpuMs: number;
  readonly stealMs: number;
}

interface TargetSummary {
  readonly rounds: number;
  readonly reqPerSecMedian: number;
  readonly reqPerSecRounds: readonly number[];
  readonly latency: LatencySummary;
  readonly ok: number;
  readonly errors: number;
  readonly warmupErrors: number;
  readonly errorReasons: Record<string, number>;
  /** Server process CPU over the measured rounds, as a share of one core. */
  readonly serverCpuCores: number;
  readonly serverCpuUsPerRequest: number;
  readonly loadgenCpuCores: number;
  /** Everything else on the machine (the idle target, other processes), cores. */
  readonly otherCpuCores: number;
  readonly stealCores: number;
}

interface ScenarioResult {
  readonly concurrency: number;
  readonly channels: number;
  readonly targets: Record<TargetName, TargetSummary>;
  readonly reqPerSecRatio: number;
  readonly addedP50Ms: number;
  readonly serverCpuPerRequestRatio: number;
}

function summarizeTarget(rounds: readonly MeasuredRound[], warmupErrors: number): TargetSummary {
  const reasons: Record<string, number> = {};
  for (const r of rounds) for (const [k, v] of Object.entries(r.result.errorReasons)) reasons[k] = (reasons[k] ?? 0) + v;
  const ok = rounds.reduce((n, r) => n + r.result.ok, 0);
  const wall = rounds.reduce((n, r) => n + r.result.durationMs, 0);
  const serverCpu = rounds.reduce((n, r) => n + r.serverCpuMs, 0);
  const loadgenCpu = rounds.reduce((n, r) => n + r.loadgenCpuMs, 0);
  const otherCpu = rounds.reduce((n, r) => n + r.otherCpuMs, 0);
  const steal = rounds.reduce((n, r) => n + r.stealMs, 0);
  return {
    rounds: rounds.length,
    reqPerSecMedian: median(rounds.map((r) => r.reqPerSec)),
    reqPerSecRounds: rounds.map((r) => r.reqPerSec),
    latency: summarize(mergeSorted(rounds.map((r) => r.result.latencies))),
    ok,
    errors: rounds.reduce((n, r) => n + r.result.errors, 0),
    warmupErrors,
    errorReasons: reasons,
    serverCpuCores: serverCpu / wall,
    serverCpuUsPerRequest: (serverCpu * 1000) / ok,
    loadgenCpuCores: loadgenCpu / wall,
    otherCpuCores: otherCpu / wall,
    stealCores: steal / wall,
  };
}

async function runScenario(options: Options, concurrency: number, servers: Record<TargetName, Started>, destinations: Record<TargetName, ReadonlySet<string>>, bodies: BodyFactory): Promise<ScenarioResult> {
  const channels = options.channels > 0 ? options.channels : Math.ceil(concurrency / 8);
  const pools: Record<TargetName, ExtProcPool> = {
    null: createPool(options.client, '127.0.0.1', servers.null.port, channels),
    picker: createPool(options.client, '127.0.0.1', servers.picker.port, channels),
  };
  const measured: Record<TargetName, MeasuredRound[]> = { null: [], picker: [] };
  const warmupErrors: Record<TargetName, number> = { null: 0, picker: 0 };
  try {
    for (let round = 0; round < options.rounds; round++) {
      for (const target of TARGETS) {
        const base = { concurrency, chunkBytes: options.chunkBytes, timeoutMs: options.timeoutMs, destinations: destinations[target] };
        if (options.warmupRequests > 0) {
          const n = round === 0 ? 3 * options.warmupRequests : options.warmupRequests;
          const w = await runRound(pools[target], bodies, { ...base, maxRequests: n, maxDurationMs: Math.min(options.durationMs, 10_000), tag: `c${concurrency}-r${round}-${target}-warmup` });
          warmupErrors[target] += w.errors;
        }
        const child = servers[target].child;
        if (options.quietWaitMs > 0) {
          const other = await waitForQuiet([servers.null.child, servers.picker.child], options.quietWaitMs);
          if (other >= 0.2) log(`  (machine still busy: other processes use ${fmt(other)} cores; measuring anyway)`);
        }
        const cpu0 = child.cpuMs();
        const self0 = process.cpuUsage();
        const sys0 = systemCpu();
        const result = await runRound(pools[target], bodies, { ...base, maxRequests: options.requests, maxDurationMs: options.durationMs, tag: `c${concurrency}-r${round}-${target}` });
        const self = process.cpuUsage(self0);
        const sys = systemCpu();
        const serverCpuMs = child.cpuMs() - cpu0;
        const loadgenCpuMs = (self.user + self.system) / 1000;
        const m: MeasuredRound = {
          result,
          reqPerSec: (result.ok * 1000) / result.durationMs,
          serverCpuMs,
          loadgenCpuMs,
          otherCpuMs: Math.max(0, sys.busyMs - sys0.busyMs - serverCpuMs - loadgenCpuMs),
          stealMs: sys.stealMs - sys0.stealMs,
        };
        measured[target].push(m);
        log(
          `  c=${concurrency} round ${round + 1}/${options.rounds} ${target.padEnd(6)} ${fmt(m.reqPerSec, 0).padStart(6)} req/s  ` +
            `${result.ok} ok ${result.errors} errors in ${fmt(result.durationMs / 1000, 1)} s  ` +
            `server ${fmt(m.serverCpuMs / result.durationMs)} cores (${fmt((m.serverCpuMs * 1000) / Math.max(1, result.ok), 0)} µs/req), loadgen ${fmt(m.loadgenCpuMs / result.durationMs)}, ` +
            `other ${fmt(m.otherCpuMs / result.durationMs)}, steal ${fmt(m.stealMs / result.durationMs)}`,
        );
      }
    }
  } finally {
    pools.null.close();
    pools.picker.close();
  }
  const targets = { null: summarizeTarget(measured.null, warmupErrors.null), picker: summarizeTarget(measured.picker, warmupErrors.picker) };
  return {
    concurrency,
    channels,
    targets,
    reqPerSecRatio: targets.picker.reqPerSecMedian / targets.null.reqPerSecMedian,
    addedP50Ms: targets.picker.latency.p50Ms - targets.null.latency.p50Ms,
    serverCpuPerRequestRatio: targets.picker.serverCpuUsPerRequest / targets.null.serverCpuUsPerRequest,
  };
}

function report(options: Options, s: ScenarioResult): string {
  const header = ['target', 'req/s (median)', 'req/s per round', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'ok', 'errors', 'server CPU (cores)', 'server CPU µs/req', 'loadgen CPU (cores)', 'other CPU (cores)'];
  const rows = TARGETS.map((t) => {
    const x = s.targets[t];
    return [
      t,
      fmt(x.reqPerSecMedian, 0),
      x.reqPerSecRounds.map((v) => fmt(v, 0)).join(', '),
      fmt(x.latency.p50Ms, 3),
      fmt(x.latency.p90Ms, 3),
      fmt(x.latency.p99Ms, 3),
      fmt(x.latency.maxMs, 1),
      String(x.ok),
      String(x.errors + x.warmupErrors),
      fmt(x.serverCpuCores),
      fmt(x.serverCpuUsPerRequest, 0),
      fmt(x.loadgenCpuCores),
      fmt(x.otherCpuCores),
    ];
  });
  const lines = [
    `### concurrency ${s.concurrency} (prompt ${options.promptBytes} B, ${options.endpoints} endpoints, ${s.channels} ${options.client} connection(s) per target, ${options.rounds} rounds per target)`,
    '',
    table(header, rows),
    '',
  ];
  // The issue's targets: throughput at c=32 with 4 KB prompts and 8 endpoints; latency at c=1.
  const issueThroughput = s.concurrency === 32 && options.promptBytes === 4096 && options.endpoints === 8;
  const throughputGoal = issueThroughput ? ` (goal ≥ 0.80: ${s.reqPerSecRatio >= 0.8 ? 'MET' : 'NOT MET'})` : '';
  const latencyGoal = s.concurrency === 1 ? ` (goal ≤ 0.30 ms: ${s.addedP50Ms <= 0.3 ? 'MET' : 'NOT MET'})` : '';
  lines.push(`- picker/null req/s: ${fmt(s.reqPerSecRatio, 3)}${throughputGoal}`);
  lines.push(`- added p50 latency (picker p50 − null p50): ${fmt(s.addedP50Ms, 3)} ms${latencyGoal}`);
  lines.push(
    `- server CPU per request, picker/null: ${fmt(s.serverCpuPerRequestRatio, 2)}× ` +
      `(so with the server alone on a saturated core, picker/null req/s would be ≈ ${fmt(1 / s.serverCpuPerRequestRatio, 2)})`,
  );
  for (const t of TARGETS) {
    const reasons = Object.entries(s.targets[t].errorReasons);
    if (reasons.length > 0) lines.push(`- ${t} errors: ${reasons.map(([k, v]) => `${v}× ${k}`).join('; ')}`);
  }
  return lines.join('\n');
}

function profileReport(label: string, p: ProfileSummary): string {
  const fnRows = p.functions.map((f) => [fmt(f.selfMs, 0), `${fmt(f.share * 100, 1)}%`, f.name, f.where]);
  const modRows = p.modules.slice(0, 10).map((m) => [fmt(m.selfMs, 0), `${fmt(m.share * 100, 1)}%`, m.name]);
  const inclRows = p.projectInclusive.slice(0, 15).map((f) => [fmt(f.selfMs, 0), `${fmt(f.share * 100, 1)}%`, f.name, f.where]);
  return [
    `### ${label} CPU profile (${p.file})`,
    '',
    `busy ${fmt(p.busyMs, 0)} ms of ${fmt(p.totalMs, 0)} ms sampled (idle ${fmt(p.idleMs, 0)} ms); shares are of busy time`,
    '',
    table(['self ms', 'share', 'function', 'location'], fnRows),
    '',
    table(['self ms', 'share', 'module'], modRows),
    ...(inclRows.length === 0 ? [] : ['', 'project code (src/), inclusive of callees:', '', table(['incl ms', 'share', 'function', 'file'], inclRows)]),
  ].join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const options = parseOptions(argv);
  if (options === undefined) return 0;
  try {
    setClockTicks(Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()));
  } catch {
    // keep the default of 100
  }
  const grpcJs = (JSON.parse(readFileSync(join(ROOT, 'node_modules/@grpc/grpc-js/package.json'), 'utf8')) as { version: string }).version;
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', node: process.version, grpcJs, platform: `${process.platform}-${process.arch}` };
  const started = Date.now();
  log(`machine: ${machine.cpus} cores (${machine.cpuModel}), node ${machine.node}, @grpc/grpc-js ${grpcJs}`);

  const tmp = mkdtempSync(join(tmpdir(), 'epp-bench-'));
  const endpointsFile = join(tmp, 'endpoints.yaml');
  const endpointList = Array.from({ length: options.endpoints }, (_, i) => `127.0.0.${i + 1}:8000`);
  writeFileSync(endpointsFile, `endpoints:\n${endpointList.map((e) => `  - address: ${e.split(':')[0] ?? ''}\n    port: 8000\n`).join('')}`);
  const destinations: Record<TargetName, ReadonlySet<string>> = { null: new Set(['127.0.0.1:8000']), picker: new Set(endpointList) };

  if (options.code === 'compiled') compile();
  const bodies = new BodyFactory(options.promptBytes);
  let nullServer: Started | undefined;
  let picker: (Started & { note?: string }) | undefined;
  const results: ScenarioResult[] = [];
  const profiles: { label: string; summary: ProfileSummary }[] = [];
  try {
    [nullServer, picker] = await Promise.all([startNull(options), startPicker(options, endpointsFile)]);
    log(`null server: ${nullServer.address} (pid ${nullServer.child.pid}); picker: ${picker.address} (pid ${picker.child.pid})`);
    const probePools = [createPool(options.client, '127.0.0.1', nullServer.port, 1), createPool(options.client, '127.0.0.1', picker.port, 1)] as const;
    try {
      await probe('null', probePools[0], bodies, nullServer.child);
      await probe('picker', probePools[1], bodies, picker.child);
    } finally {
      for (const p of probePools) p.close();
    }
    const servers = { null: nullServer, picker };
    for (const c of options.concurrencies) {
      log(`scenario: concurrency ${c}`);
      results.push(await runScenario(options, c, servers, destinations, bodies));
    }
  } finally {
    const grace = options.profilePicker !== '' || options.profileNull !== '' ? 20_000 : 5000;
    const stops = await Promise.all([nullServer?.child.stop(grace), picker?.child.stop(grace)]);
    if (stops.includes('killed')) log(`note: a child needed SIGKILL (null: ${String(stops[0])}, picker: ${String(stops[1])})`);
    rmSync(tmp, { recursive: true, force: true });
  }
  for (const [label, dir] of [['picker', options.profilePicker], ['null server', options.profileNull]] as const) {
    if (dir === '') continue;
    const file = newestProfile(dir);
    if (file === undefined) log(`no .cpuprofile in ${dir} (the ${label} did not exit cleanly?)`);
    else profiles.push({ label, summary: summarizeProfile(file, ROOT, 25) });
  }

  const elapsedS = (Date.now() - started) / 1000;
  const out: string[] = [
    `## extproc benchmark — ${machine.cpus} cores, node ${machine.node}, @grpc/grpc-js ${grpcJs}, ${fmt(elapsedS, 0)} s`,
    '',
    `picker: ${picker?.launcher ?? ''}`,
    ...(picker?.note === undefined ? [] : [`note: ${picker.note}`]),
    `null:   ${nullServer?.launcher ?? ''}`,
    `load:   ${options.client} client in the bench process, closed loop, ${options.requests} requests or ${options.durationMs / 1000} s per round (whichever first), ${options.warmupRequests} warmup requests before each round (${3 * options.warmupRequests} before the first), body ${options.chunkBytes > 0 ? `in ${options.chunkBytes}-byte chunks` : 'in one message'}`,
    '',
  ];
  for (const s of results) out.push(report(options, s), '');
  if (profiles.length > 0) {
    out.push('(profiled run: the profiler slows the profiled process; use the figures above only for the profile, not as results)', '');
    for (const p of profiles) out.push(profileReport(p.label, p.summary), '');
  }
  process.stdout.write(`${out.join('\n')}\n`);

  if (options.json !== '') {
    const json = {
      machine,
      elapsedSeconds: elapsedS,
      options: { ...options, concurrencies: [...options.concurrencies] },
      picker: { launcher: picker?.launcher, note: picker?.note },
      scenarios: results,
      profiles: profiles.map((p) => ({ label: p.label, ...p.summary })),
    };
    writeFileSync(options.json, `${JSON.stringify(json, null, 2)}\n`);
    log(`wrote ${options.json}`);
  }
  const errors = results.reduce((n, s) => n + s.targets.null.errors + s.targets.picker.errors, 0);
  return errors > 0 ? 1 : 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`bench extproc: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = err instanceof UsageError ? 2 : 1;
}
