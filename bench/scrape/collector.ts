/**
 * What keeping 256 endpoints' metrics fresh costs the picker: the real MetricsCollector and HTTP
 * fetcher scrape N endpoints (served by a child process) every interval for a fixed time; the bench
 * reports the collector process's CPU (cores) and the scrapes completed per second, and, in the same
 * run, the same loop with the fetcher only (no parsing) as the floor of the HTTP work, and the
 * collector asking for only its families with `?name[]=…` (served filtered, as vLLM does).
 *
 * Usage: npx tsx bench/scrape/collector.ts [--endpoints 256] [--interval-ms 50] [--seconds 10] [--page FILE]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Endpoint } from '../../src/datastore/endpoint.js';
import { silentLogger } from '../../src/observability/logger.js';
import { BUILTIN_ENGINE_SPECS, compileEngineConfig, type EngineConfig } from '../../src/scrape/engine-config.js';
import { KeepAliveMetricsFetcher } from '../../src/scrape/metrics-http-client.js';
import type { FetchOptions, MetricsFetcher } from '../../src/scrape/scrape-error.js';
import { MetricsCollector, SYSTEM_CLOCK } from '../../src/scrape/metrics-collector.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values } = parseArgs({
  options: {
    endpoints: { type: 'string', default: '256' },
    'interval-ms': { type: 'string', default: '50' },
    seconds: { type: 'string', default: '10' },
    page: { type: 'string', default: `${root}test/fixtures/metrics/vllm-v1-dp2.txt` },
  },
});
const n = Number(values.endpoints);
const intervalMs = Number(values['interval-ms']);
const seconds = Math.min(60, Number(values.seconds));

/** Counts completed scrapes; optionally hides the body from the extractor (fetch-only floor). */
class CountingFetcher implements MetricsFetcher {
  ok = 0;
  failed = 0;
  constructor(
    private readonly inner: MetricsFetcher,
    private readonly fetchOnly: boolean,
  ) {}
  async fetch(url: URL, options: FetchOptions): Promise<string> {
    try {
      const text = await this.inner.fetch(url, options);
      this.ok++;
      return this.fetchOnly ? '' : text;
    } catch (err) {
      this.failed++;
      throw err;
    }
  }
  forget(url: URL): void {
    this.inner.forget(url);
  }
  close(): void {
    this.inner.close();
  }
}

const VLLM: EngineConfig = compileEngineConfig(BUILTIN_ENGINE_SPECS[0] ?? { name: 'vllm' });
// The fetch-only run must not parse: an engine that wants nothing makes extraction a no-op scan.
const NOTHING: EngineConfig = compileEngineConfig({ name: 'none' });

async function run(label: string, fetchOnly: boolean, nameFilter: boolean): Promise<{ label: string; cores: number; scrapesPerSec: number; failed: number; known: number }> {
  const endpoints = Array.from({ length: n }, (_, i) => new Endpoint(`e${i}`, `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`, 8000, {}));
  const fetcher = new CountingFetcher(new KeepAliveMetricsFetcher({ insecureSkipVerify: true }), fetchOnly);
  const collector = new MetricsCollector({
    intervalMs,
    stalenessMs: 2000,
    timeoutMs: 1000,
    maxBytes: 16 << 20,
    maxBackoffMs: 1000,
    scheme: 'http',
    path: '/metrics',
    nameFilter,
    fetcher,
    engineFor: () => (fetchOnly ? NOTHING : VLLM),
    clock: SYSTEM_CLOCK,
    logger: silentLogger(),
  });
  collector.sync(endpoints);
  await new Promise((r) => setTimeout(r, 1000)); // warm up connections and the JIT
  const cpu0 = process.cpuUsage();
  const ok0 = fetcher.ok;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const known = endpoints.filter((e) => e.metrics.known).length;
  collector.stop();
  return { label, cores: (cpu.user + cpu.system) / 1e6 / wall, scrapesPerSec: (fetcher.ok - ok0) / wall, failed: fetcher.failed, known };
}

const farm = spawn(process.execPath, ['--import', 'tsx', `${root}bench/scrape/metrics-farm.ts`, '--endpoints', String(n), '--page', values.page], { stdio: ['ignore', 'pipe', 'inherit'] });
try {
  const [first] = (await once(farm.stdout, 'data')) as [Buffer];
  if (!first.toString().includes('ready')) throw new Error(`farm did not start: ${first.toString()}`);
  const results = [];
  for (const round of [1, 2]) {
    results.push(await run(`full page: collector (round ${round})`, false, false));
    results.push(await run(`full page: fetch only (round ${round})`, true, false));
    results.push(await run(`name[] filter: collector (round ${round})`, false, true));
  }
  const target = (n * 1000) / intervalMs;
  process.stdout.write(`\n## scrape cost: ${n} endpoints every ${intervalMs} ms (target ${target} scrapes/s), ${seconds} s per run, node ${process.version}\n\n`);
  process.stdout.write('| run | collector CPU (cores) | scrapes/s | failed | endpoints known at end |\n|---|---|---|---|---|\n');
  for (const r of results) process.stdout.write(`| ${r.label} | ${r.cores.toFixed(3)} | ${r.scrapesPerSec.toFixed(0)} | ${r.failed} | ${r.known}/${n} |\n`);
} finally {
  farm.kill('SIGTERM');
}
