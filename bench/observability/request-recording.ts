/**
 * CPU per request of the metric recording alone, as the director, scheduler and ext_proc session make
 * it (request tuple lookup, request counter, running gauge inc/dec, request size, processing time,
 * scheduler attempt, and at the response: tokens, duration, TTFT, NTPOT, response size, response
 * processing), over a mix of 3 models × 4 fairness ids × 2 priorities. The deprecated twins add
 * nothing here by construction (they are rendered when /metrics is scraped); `--page` also times a
 * scrape at that point. Reports the minimum over rounds.
 *
 *   npx tsx bench/observability/request-recording.ts [--requests 200000] [--rounds 5] [--page]
 */
import { parseArgs } from 'node:util';
import { Endpoint } from '../../src/datastore/endpoint.js';
import { EppMetrics } from '../../src/observability/metrics.js';
import { RequestHistogram } from '../../src/observability/request-metrics.js';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '200000' }, rounds: { type: 'string', default: '5' }, page: { type: 'boolean', default: false } } });
const requests = Number(values.requests);
const rounds = Number(values.rounds);

const metrics = new EppMetrics({ namespace: 'ns' });
metrics.attachPool('pool', () => []);
const endpoints = Array.from({ length: 8 }, (_, i) => new Endpoint(`e${i}`, `10.0.0.${i + 1}`, 8000, {}));
const models = ['llama-3-8b', 'qwen3-32b', 'mistral-7b'];
const tenants = ['default-flow', 'team-a', 'team-b', 'team-c'];

function oneRequest(i: number): void {
  const model = models[i % 3] as string;
  const series = metrics.requestSeries(model, model, tenants[i % 4] as string, i % 2);
  series.running.inc();
  metrics.observeSchedulerAttempt(model, endpoints[i % 8], false);
  series.requests.inc();
  series.observe(RequestHistogram.RequestSize, 4096);
  metrics.observeRequestProcessing(0.8);
  series.observe(RequestHistogram.InputTokens, 1000);
  series.observe(RequestHistogram.OutputTokens, 200);
  series.observe(RequestHistogram.CachedTokens, 512);
  series.observe(RequestHistogram.ResponseSize, 2000);
  series.observe(RequestHistogram.Duration, 1.2);
  series.observe(RequestHistogram.Ntpot, 0.006);
  series.observe(RequestHistogram.TtftNonStreaming, 0.3);
  metrics.observeResponseProcessing(0.05);
  series.running.dec();
}

let best = Infinity;
for (let r = 0; r < rounds; r++) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < requests; i++) oneRequest(i);
  best = Math.min(best, Number(process.hrtime.bigint() - t0) / requests);
}
process.stdout.write(`metric recording per request (min of ${rounds} rounds of ${requests}): ${(best / 1000).toFixed(3)} µs\n`);
if (values.page) {
  const t0 = performance.now();
  const text = await metrics.registry.metrics();
  process.stdout.write(`/metrics page: ${(text.length / 1024).toFixed(1)} KB in ${(performance.now() - t0).toFixed(1)} ms\n`);
}
