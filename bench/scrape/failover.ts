/**
 * How fast a dying replica stops receiving picks. Two replicas serve identical metrics; requests are
 * routed continuously through the real picker (in-process, real gRPC, real scraping at 50 ms); then
 * one replica either dies (its port refuses connections) or hangs (accepts, never answers /metrics).
 * Reported: the time from the fault to the last request routed to that replica, over several trials.
 *
 * Usage: npx tsx bench/scrape/failover.ts [--trials 5]
 */
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { startPicker } from '../../src/app.js';
import { silentLogger } from '../../src/observability/logger.js';
import { listen } from '../../src/util/net.js';
import { RawExtProcClient, requestBody, requestHeaders } from '../../test/helpers/raw-extproc-client.js';

const { values } = parseArgs({ options: { trials: { type: 'string', default: '5' } } });
const trials = Math.min(20, Number(values.trials));
const PAGE = 'vllm:num_requests_waiting{engine="0"} 0.0\nvllm:num_requests_running{engine="0"} 1.0\nvllm:kv_cache_usage_perc{engine="0"} 0.2\n';

/** A replica's /metrics: answers, or (after hang()) accepts and never answers. */
async function replica(host: string): Promise<{ port: number; kill: () => void; hang: () => void }> {
  let hanging = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => {
    if (!hanging) res.end(PAGE);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const port = await listen(server, host, 0);
  return {
    port,
    kill: () => {
      server.close();
      for (const s of sockets) s.destroy();
    },
    hang: () => {
      hanging = true;
    },
  };
}

async function trial(mode: 'dies' | 'hangs', n: number): Promise<number> {
  const a = await replica(`127.0.3.${2 * n + 1}`);
  const b = await replica(`127.0.3.${2 * n + 2}`);
  const picker = await startPicker({
    host: '127.0.0.1', grpcPort: 0, grpcHealthPort: 0, metricsPort: -1, secureServing: false, certPath: '', config: 'default',
    discovery: { endpoints: [{ name: 'a', address: `127.0.3.${2 * n + 1}`, port: a.port, labels: {} }, { name: 'b', address: `127.0.3.${2 * n + 2}`, port: b.port, labels: {} }] },
    maxRequestBodyBytes: 1 << 20, decisionTimeoutMs: 5000, requestBodyMode: 'full-duplex', disableSubsetFilter: false, healthChecking: false,
    refreshMetricsIntervalMs: 50, metricsStalenessMs: 2000, poolName: 'bench', logger: silentLogger(),
  });
  const client = new RawExtProcClient(`127.0.0.1:${picker.grpcPort}`);
  const dead = `127.0.3.${2 * n + 1}:${a.port}`;
  const route = async (): Promise<string> => {
    const s = client.open();
    s.send(requestHeaders({ ':path': '/v1/completions' }));
    s.send(requestBody('{"model":"m","prompt":"p"}', true));
    await s.until((x) => x.responses.length >= 1, 5000);
    s.halfClose();
    return s.responses[0]?.msg.request_headers?.response?.header_mutation?.set_headers?.[0]?.header?.raw_value?.toString() ?? '';
  };
  try {
    while (!picker.datastore.snapshot.endpoints.every((e) => e.metrics.known)) await new Promise((r) => setTimeout(r, 10));
    for (let i = 0; i < 50; i++) await route(); // both replicas in rotation
    const t0 = performance.now();
    if (mode === 'dies') a.kill();
    else a.hang();
    let lastDeadPick = 0;
    // Route every ~2 ms for 4 s (bounded), noting the last request that still went to the faulty replica.
    while (performance.now() - t0 < 4000) {
      if ((await route()) === dead) lastDeadPick = performance.now() - t0;
      await new Promise((r) => setTimeout(r, 2));
    }
    return lastDeadPick;
  } finally {
    client.close();
    await picker.shutdown(500);
    a.kill();
    b.kill();
  }
}

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? NaN;
process.stdout.write(`## failover: 2 replicas, scrape every 50 ms, staleness 2 s, ${trials} trials each, node ${process.version}\n\n`);
process.stdout.write('| fault | last pick of the faulty replica after the fault (ms), per trial | median | max |\n|---|---|---|---|\n');
for (const mode of ['dies', 'hangs'] as const) {
  const results: number[] = [];
  for (let i = 0; i < trials; i++) results.push(await trial(mode, i + (mode === 'hangs' ? 50 : 0)));
  process.stdout.write(`| replica ${mode} | ${results.map((r) => r.toFixed(0)).join(', ')} | ${median(results).toFixed(0)} | ${Math.max(...results).toFixed(0)} |\n`);
}
