/**
 * Does the picker's memory settle under sustained load? Runs the real picker in-process (8 endpoints,
 * default profile, distinct 4 KB prompts — the prefix index fills to its LRU capacity and must then
 * stay flat) and reports heap used after a forced GC at checkpoints.
 *
 * Usage: node --expose-gc --import tsx bench/extproc/heap.ts [--requests 40000]
 */
import { parseArgs } from 'node:util';
import { startPicker } from '../../src/app.js';
import { silentLogger } from '../../src/observability/logger.js';
import { RawExtProcClient, requestBody, requestHeaders } from '../../test/helpers/raw-extproc-client.js';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '40000' } } });
const total = Math.min(200_000, Number(values.requests));
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const picker = await startPicker({
  host: '127.0.0.1', grpcPort: 0, grpcHealthPort: 0, metricsPort: -1, secureServing: false, certPath: '', config: 'default',
  discovery: { endpoints: Array.from({ length: 8 }, (_, i) => ({ name: `e${i}`, address: `127.0.4.${i + 1}`, port: 8000, labels: {} })) },
  maxRequestBodyBytes: 1 << 20, decisionTimeoutMs: 5000, requestBodyMode: 'full-duplex', disableSubsetFilter: false, healthChecking: false,
  refreshMetricsIntervalMs: 50, metricsStalenessMs: 2000, poolName: 'heap', logger: silentLogger(),
});
const client = new RawExtProcClient(`127.0.0.1:${picker.grpcPort}`);
const words = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor'.split(' ');
let sent = 0;
async function one(): Promise<void> {
  const n = sent++;
  let prompt = `request ${n} `;
  for (let i = 0; prompt.length < 4096; i++) prompt += `${words[(n * 7 + i) % words.length] ?? ''} `;
  const s = client.open();
  s.send(requestHeaders({ ':path': '/v1/completions' }));
  s.send(requestBody(JSON.stringify({ model: 'm', prompt }), true));
  await s.until((x) => x.responses.some((r) => r.msg.request_body?.response?.body_mutation?.streamed_response?.end_of_stream === true), 10_000);
  s.halfClose();
}
const rows: string[] = [];
const checkpoint = (): void => {
  gc();
  const m = process.memoryUsage();
  rows.push(`| ${sent} | ${(m.heapUsed / 1e6).toFixed(1)} | ${(m.arrayBuffers / 1e6).toFixed(1)} | ${(m.rss / 1e6).toFixed(1)} | ${picker.streams.active} |`);
};
checkpoint();
const step = total / 8;
while (sent < total) {
  const target = Math.min(total, sent + step);
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (sent < target) await one();
  }));
  await new Promise((r) => setTimeout(r, 200)); // let streams finish closing
  checkpoint();
}
client.close();
await picker.shutdown(1000);
process.stdout.write(`## picker heap under load (${total} requests, c=16, distinct 4 KB prompts, default profile), node ${process.version}\n\n| requests | heap used after GC (MB) | array buffers (MB) | RSS (MB) | live streams |\n|---|---|---|---|---|\n${rows.join('\n')}\n`);
