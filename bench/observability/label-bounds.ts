/**
 * What client-chosen model names cost the picker's metrics: N requests, each with a distinct model
 * name and rewrite header of `--bytes` bytes (the fault harness's case: 300 × 1 MB), recorded on the
 * real EppMetrics as the ext_proc session and the director record them; then heap used after a forced
 * GC, and the size and render time of the /metrics page (the registry's text). Also the page at the
 * caps: 1000 distinct names of 256 bytes (the longest admitted) and of 40 bytes (typical), each its
 * own target, and 1000 names of 256 bytes in 2000 distinct (model, target) pairs (the series cap).
 *
 * Usage: node --expose-gc --import tsx bench/observability/label-bounds.ts [--requests 300] [--bytes 1048576] [--no-rewrite] [--bounds-only]
 * (`--bounds-only`: the N requests only, not the pages at the caps.)
 */
import { parseArgs } from 'node:util';
import { EppMetrics } from '../../src/observability/metrics.js';
import { RequestHistogram } from '../../src/observability/request-metrics.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '300' },
    bytes: { type: 'string', default: String(1 << 20) },
    rewrite: { type: 'boolean', default: true },
    'bounds-only': { type: 'boolean', default: false },
  },
  allowNegative: true,
});
const requests = Number(values.requests);
const bytes = Number(values.bytes);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

/** A distinct, flat string of `size` bytes. */
function name(i: number, tag: string, size: number): string {
  const b = Buffer.alloc(size, 0x61);
  b.write(`${tag}-${i}-`, 'latin1');
  return b.toString('latin1');
}

/** One request's metric updates, as session.ts and director.ts make them (one series tuple per request). */
function record(m: EppMetrics, model: string, target: string): void {
  const s = m.requestSeries(model, target, 'default-flow', 0);
  s.requests.inc();
  s.observe(RequestHistogram.InputTokens, 100);
  s.observe(RequestHistogram.OutputTokens, 50);
  s.observe(RequestHistogram.CachedTokens, 10);
  s.running.inc();
  s.running.dec();
}

async function page(m: EppMetrics): Promise<string> {
  const t0 = performance.now();
  try {
    const text = await m.registry.metrics();
    return `${(text.length / 1024).toFixed(1)} KB, rendered in ${(performance.now() - t0).toFixed(1)} ms`;
  } catch (err) {
    return `failed: ${err instanceof Error ? err.message : String(err)}`;
  }
}

const mb = (n: number): string => `${(n / (1 << 20)).toFixed(1)} MB`;

// As the harness sent them: a distinct model each, with (`--rewrite`, the default) or without a
// distinct x-gateway-model-name-rewrite header each.
{
  const m = new EppMetrics();
  record(m, 'warm', 'warm');
  await m.registry.metrics();
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < requests; i++) {
    const model = name(i, 'model', bytes);
    record(m, model, values.rewrite ? name(i, 'rewrite', bytes) : model);
  }
  gc();
  const after = process.memoryUsage().heapUsed;
  const what = values.rewrite ? 'model and rewrite names' : 'model names, no rewrite';
  process.stdout.write(`${requests} requests, distinct ${bytes}-byte ${what}: heap used ${mb(before)} → ${mb(after)} (${after >= before ? '+' : '−'}${mb(Math.abs(after - before))})\n`);
  process.stdout.write(`  /metrics ${await page(m)}\n`);
}
if (values['bounds-only']) process.exit(0);

for (const size of [256, 40]) {
  const m = new EppMetrics();
  for (let i = 0; i < 1000; i++) {
    const n = name(i, 'm', size);
    record(m, n, n);
  }
  process.stdout.write(`1000 distinct ${size}-byte names (model = target): /metrics ${await page(m)}\n`);
}

{
  const m = new EppMetrics();
  const names = Array.from({ length: 1000 }, (_, i) => name(i, 'm', 256));
  for (let i = 0; i < 2000; i++) record(m, names[i % 1000] ?? '', names[(i + Math.floor(i / 1000)) % 1000] ?? '');
  process.stdout.write(`1000 distinct 256-byte names in 2000 (model, target) pairs: /metrics ${await page(m)}\n`);
}
